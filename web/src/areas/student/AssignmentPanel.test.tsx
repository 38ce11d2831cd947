import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { AxiosAdapter } from "axios";
import { describe, expect, it } from "vitest";
import { storage } from "../../lib/upload";
import { fakeServer } from "../../test/fakeServer";
import { AssignmentPanel } from "./AssignmentPanel";

const assignment = { id: "a1", course_id: "c1", lesson_id: "l1", title: "Essay", instructions: "Write.", due_at: null, max_points: 10, attachment_file_ids: [] };
const ticket = { file_id: "f1", upload_url: "http://storage.example/f1", method: "PUT", headers: { "Content-Type": "text/plain" }, expires_at: "2026-11-26T11:00:00Z" };

function submission(status: "submitted" | "graded") {
  return { id: "s1", assignment_id: "a1", user_id: "u1", text: "Mine", file_ids: ["f1"], status, submitted_at: "2026-11-26T10:00:00Z", is_late: false, revision: 1, points: status === "graded" ? 8 : null, feedback: status === "graded" ? "Good." : null, graded_at: null };
}

describe("AssignmentPanel", () => {
  it("uploads the file with a progress bar, then hands in its id", async () => {
    let handedIn: unknown = null;
    fakeServer(({ method, url, body }) => {
      if (url === "/courses/c1/assignments") return { status: 200, data: { items: [assignment], total: 1, limit: 100, offset: 0 } };
      if (url === "/assignments/a1/submissions" && method === "GET") return { status: 200, data: { items: handedIn ? [submission("submitted")] : [], total: 0, limit: 1, offset: 0 } };
      if (url === "/files/uploads") return { status: 201, data: ticket };
      if (url === "/files/f1/complete") return { status: 200, data: { id: "f1", status: "ready" } };
      handedIn = body;
      return { status: 201, data: submission("submitted") };
    });
    let release = () => undefined as void;
    const adapter: AxiosAdapter = (config) =>
      new Promise((resolve) => {
        config.onUploadProgress?.({ loaded: 4, total: 10, bytes: 4, lengthComputable: true });
        release = () => resolve({ data: "", status: 200, statusText: "OK", headers: {}, config });
      });
    storage.defaults.adapter = adapter;
    render(<AssignmentPanel courseId="c1" lessonId="l1" onSubmitted={() => undefined} />);

    await userEvent.upload(await screen.findByLabelText("Files"), new File(["0123456789"], "essay.txt", { type: "text/plain" }));
    await userEvent.click(screen.getByRole("button", { name: "Hand in" }));
    const bar = await screen.findByRole("progressbar", { name: "Uploading essay.txt" });
    expect(bar).toHaveAttribute("aria-valuenow", "40");
    release();

    await waitFor(() => expect(handedIn).toEqual({ text: null, file_ids: ["f1"] }));
    expect(await screen.findByText(/Waiting for your instructor's grade/)).toBeInTheDocument();
  });

  it("shows the grade and feedback and no form once graded", async () => {
    fakeServer(({ url }) =>
      url === "/courses/c1/assignments"
        ? { status: 200, data: { items: [assignment], total: 1, limit: 100, offset: 0 } }
        : { status: 200, data: { items: [submission("graded")], total: 1, limit: 1, offset: 0 } },
    );
    render(<AssignmentPanel courseId="c1" lessonId="l1" onSubmitted={() => undefined} />);
    expect(await screen.findByText("Graded: 8 of 10 points", { exact: false })).toBeInTheDocument();
    expect(screen.getByText("Feedback: Good.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Hand in" })).not.toBeInTheDocument();
  });
});
