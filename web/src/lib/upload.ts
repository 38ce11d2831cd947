import axios from "axios";
import { api } from "../api/client";
import type { FileInfo, UploadTicket } from "../api/types";

/** Uploads go straight to object storage with the presigned URL: no bearer token, no API
 * interceptors, and XHR's upload progress events. */
export const storage = axios.create();

export type FilePurpose = "avatar" | "lesson_material" | "submission" | "certificate_asset";

/** Percent of `loaded` over `total`, whole and within 0-100 (total is 0 for empty files). */
export function percentOf(loaded: number, total: number): number {
  if (total <= 0) return 100;
  return Math.min(100, Math.max(0, Math.round((loaded / total) * 100)));
}

/** The presigned flow: ask the API for an upload ticket, PUT the bytes to storage reporting
 * progress, then confirm so the file becomes `ready`. Returns the ready file. */
export async function uploadFile(file: File, purpose: FilePurpose, onProgress: (percent: number) => void): Promise<FileInfo> {
  const contentType = file.type || "application/octet-stream";
  const { data: ticket } = await api.post<UploadTicket>("/files/uploads", {
    filename: file.name,
    content_type: contentType,
    size_bytes: file.size,
    purpose,
  });
  onProgress(0);
  await storage.request({
    url: ticket.upload_url,
    method: ticket.method,
    data: file,
    headers: { "Content-Type": contentType, ...ticket.headers },
    onUploadProgress: (event) => onProgress(percentOf(event.loaded, event.total ?? file.size)),
  });
  onProgress(100);
  const { data: ready } = await api.post<FileInfo>(`/files/${ticket.file_id}/complete`);
  return ready;
}
