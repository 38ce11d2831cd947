import type { AxiosAdapter, InternalAxiosRequestConfig } from "axios";
import { describe, expect, it } from "vitest";
import { useAuth } from "../stores/auth";
import { fakeServer } from "../test/fakeServer";
import { percentOf, storage, uploadFile } from "./upload";

const ticket = {
  file_id: "f1",
  upload_url: "http://storage.example/bucket/f1?signature=abc",
  method: "PUT",
  headers: { "Content-Type": "text/plain" },
  expires_at: "2026-11-26T11:00:00Z",
};

describe("percentOf", () => {
  it("is a whole percent within 0-100, and 100 for an empty file", () => {
    expect(percentOf(1, 3)).toBe(33);
    expect(percentOf(5, 4)).toBe(100);
    expect(percentOf(0, 0)).toBe(100);
  });
});

describe("uploadFile", () => {
  it("asks for a ticket, PUTs the bytes to storage with progress and no bearer token, then confirms", async () => {
    useAuth.getState().setTokens({ access_token: "access-1", refresh_token: "refresh-1" });
    const calls = fakeServer(({ url }) =>
      url === "/files/uploads" ? { status: 201, data: ticket } : { status: 200, data: { id: "f1", status: "ready", filename: "essay.txt" } },
    );
    const puts: InternalAxiosRequestConfig[] = [];
    const adapter: AxiosAdapter = async (config) => {
      puts.push(config);
      config.onUploadProgress?.({ loaded: 5, total: 10, bytes: 5, lengthComputable: true });
      config.onUploadProgress?.({ loaded: 10, total: 10, bytes: 5, lengthComputable: true });
      return { data: "", status: 200, statusText: "OK", headers: {}, config };
    };
    storage.defaults.adapter = adapter;
    const file = new File(["0123456789"], "essay.txt", { type: "text/plain" });
    const seen: number[] = [];

    const ready = await uploadFile(file, "submission", (percent) => seen.push(percent));

    expect(ready).toMatchObject({ id: "f1", status: "ready" });
    expect(calls.map((call) => `${call.method} ${call.url}`)).toEqual(["POST /files/uploads", "POST /files/f1/complete"]);
    expect(calls[0].body).toEqual({ filename: "essay.txt", content_type: "text/plain", size_bytes: 10, purpose: "submission" });
    expect(puts).toHaveLength(1);
    expect(puts[0]).toMatchObject({ url: ticket.upload_url, method: "put", data: file });
    expect(puts[0].headers.Authorization).toBeUndefined();
    expect(seen).toEqual([0, 50, 100, 100]);
  });

  it("does not confirm a file whose upload failed", async () => {
    const calls = fakeServer(() => ({ status: 201, data: ticket }));
    storage.defaults.adapter = async (config) => {
      throw Object.assign(new Error("status 403"), { isAxiosError: true, config, response: { status: 403, data: "", headers: {}, config, statusText: "Forbidden" } });
    };
    await expect(uploadFile(new File(["x"], "a.txt", { type: "text/plain" }), "submission", () => undefined)).rejects.toThrow();
    expect(calls.map((call) => call.url)).toEqual(["/files/uploads"]);
  });
});
