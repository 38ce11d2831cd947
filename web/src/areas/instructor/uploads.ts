import { api, bare } from "../../api/client";
import type { UploadTicket, VideoUploadTicket } from "./types";

export type OnProgress = (percent: number) => void;

/** Sends the bytes straight to the presigned URL, with exactly the ticket's method and
 * headers. It goes through `bare`: the storage gets no bearer token. */
export async function sendToStorage(ticket: { upload_url: string; method: string; headers: Record<string, string> }, file: File, onProgress: OnProgress) {
  await bare.request({
    url: ticket.upload_url,
    method: ticket.method,
    headers: ticket.headers,
    data: file,
    onUploadProgress: (event) => onProgress(event.total ? (100 * event.loaded) / event.total : 0),
  });
  onProgress(100);
}

function contentTypeOf(file: File) {
  return file.type || "application/octet-stream";
}

/** The presigned flow for a lesson's material: ticket, bytes, confirmation. Returns the file id. */
export async function uploadLessonMaterial(file: File, onProgress: OnProgress): Promise<string> {
  const { data: ticket } = await api.post<UploadTicket>("/files/uploads", {
    filename: file.name,
    content_type: contentTypeOf(file),
    size_bytes: file.size,
    purpose: "lesson_material",
  });
  await sendToStorage(ticket, file, onProgress);
  await api.post(`/files/${ticket.file_id}/complete`);
  return ticket.file_id;
}

/** A lesson's video: a direct upload at the provider. The local provider stores it as a file,
 * confirmed like any other; Mux learns of the upload itself. */
export async function uploadLessonVideo(lessonId: string, file: File, onProgress: OnProgress): Promise<void> {
  const { data: ticket } = await api.post<VideoUploadTicket>(`/lessons/${lessonId}/video/upload`, {
    filename: file.name,
    content_type: contentTypeOf(file),
    size_bytes: file.size,
  });
  await sendToStorage(ticket, file, onProgress);
  if (ticket.provider === "local") await api.post(`/files/${ticket.upload_id}/complete`);
}
