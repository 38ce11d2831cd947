import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { useAuth } from "../../stores/auth";
import { fakeServer, problem } from "../../test/fakeServer";
import { UploadField } from "./UploadField";
import { uploadLessonMaterial, uploadLessonVideo } from "./uploads";

const STORAGE = "http://files.example/storage/uploads/lesson_material/f1?signature=abc";
const ticket = { file_id: "f1", upload_url: STORAGE, method: "PUT", headers: { "Content-Type": "application/pdf" }, expires_at: "2026-11-26T09:00:00Z" };
const handout = () => new File(["%PDF-1.4 tiny"], "handout.pdf", { type: "application/pdf" });

describe("the presigned upload flow", () => {
  beforeEach(() => useAuth.getState().setTokens({ access_token: "token", refresh_token: "r" }));

  it("asks for a ticket, sends the bytes to storage without the bearer token, and confirms", async () => {
    const calls = fakeServer((call) => (call.url === "/files/uploads" ? { status: 201, data: ticket } : { status: call.method === "PUT" ? 204 : 200, data: {} }));
    const progress = vi.fn();
    const file = handout();
    expect(await uploadLessonMaterial(file, progress)).toBe("f1");
    expect(calls.map((call) => [call.method, call.url])).toEqual([
      ["POST", "/files/uploads"],
      ["PUT", STORAGE],
      ["POST", "/files/f1/complete"],
    ]);
    expect(calls[0].body).toEqual({ filename: "handout.pdf", content_type: "application/pdf", size_bytes: file.size, purpose: "lesson_material" });
    expect(calls[0].authorization).toBe("Bearer token");
    expect(calls[1].authorization).toBeUndefined();
    expect(calls[1].body).toBe(file);
    expect(progress).toHaveBeenLastCalledWith(100);
  });

  it("confirms a video only with the local provider: Mux learns of the upload itself", async () => {
    for (const provider of ["local", "mux"]) {
      const calls = fakeServer((call) =>
        call.url.endsWith("/video/upload") ? { status: 201, data: { provider, upload_id: "v1", upload_url: "https://up.example/v1", method: "PUT", headers: {}, expires_at: null } } : { status: 200, data: {} },
      );
      await uploadLessonVideo("lesson-1", new File(["mp4"], "clip.mp4", { type: "video/mp4" }), () => undefined);
      expect(calls.map((call) => call.url)).toEqual(provider === "local" ? ["/lessons/lesson-1/video/upload", "https://up.example/v1", "/files/v1/complete"] : ["/lessons/lesson-1/video/upload", "https://up.example/v1"]);
    }
  });
});

describe("the upload field", () => {
  it("shows progress, then the file uploaded", async () => {
    let finish: () => void = () => undefined;
    const onDone = vi.fn();
    render(
      <UploadField
        label="Upload a file"
        upload={(_file, onProgress) => {
          onProgress(40);
          return new Promise<void>((resolve) => (finish = resolve));
        }}
        onDone={onDone}
      />,
    );
    await userEvent.upload(screen.getByLabelText("Upload a file"), handout());
    expect(await screen.findByRole("progressbar", { name: "Uploading" })).toHaveAttribute("aria-valuenow", "40");
    finish();
    expect(await screen.findByText("Uploaded handout.pdf.")).toBeInTheDocument();
    expect(screen.queryByRole("progressbar")).not.toBeInTheDocument();
    expect(onDone).toHaveBeenCalledOnce();
  });

  it("shows the API's problem when the upload is refused", async () => {
    useAuth.getState().setTokens({ access_token: "token", refresh_token: "r" });
    fakeServer(() => problem(415, "unsupported_file_type", "Unsupported file type", "This purpose takes documents only."));
    const onDone = vi.fn();
    render(<UploadField label="Upload a file" upload={uploadLessonMaterial} onDone={onDone} />);
    await userEvent.upload(screen.getByLabelText("Upload a file"), handout());
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Unsupported file type");
    expect(alert).toHaveTextContent("This purpose takes documents only.");
    expect(onDone).not.toHaveBeenCalled();
  });
});
