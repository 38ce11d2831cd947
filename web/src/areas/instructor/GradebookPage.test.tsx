import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { CourseDetail } from "../../api/types";
import { useAuth } from "../../stores/auth";
import { fakeServer, problem, type Call } from "../../test/fakeServer";
import { CourseContext } from "./CourseWorkspace";
import { GradebookPage } from "./GradebookPage";

const course = { id: "course-1", slug: "planets", title: "Planets", lessons: [], modules: [] } as unknown as CourseDetail;
const page = (items: unknown[]) => ({ status: 200, data: { items, total: items.length, limit: 100, offset: 0 } });

function gradebook(essay: number | null) {
  return {
    course_id: "course-1",
    items: [
      { id: "quiz-1", kind: "quiz", title: "Checkpoint", max_points: 100 },
      { id: "essay-1", kind: "assignment", title: "Essay", max_points: 10 },
    ],
    students: [{ user_id: "u1", full_name: "Linus Pauling", email: "linus@example.com", scores: [75, essay] }],
  };
}

const submission = { id: "s1", assignment_id: "essay-1", user_id: "u1", text: "Saturn has rings.", file_ids: [], status: "submitted", submitted_at: "2026-11-26T08:00:00Z", is_late: true, revision: 1, points: null, feedback: null, graded_at: null };
const attempt = {
  id: "a1",
  quiz_id: "quiz-1",
  user_id: "u1",
  number: 1,
  status: "pending_review",
  questions: [{ id: "q-text", type: "text", text: "Why is Pluto not a planet?", points: 3, options: [] }],
  results: [{ question_id: "q-text", type: "text", max_points: 3, selected_option_ids: [], text_answer: "It has not cleared its orbit.", points_awarded: null, is_correct: null, correct_option_ids: [] }],
};

function serve(graded: { essay: boolean; attempt: boolean }) {
  return fakeServer((call: Call) => {
    if (call.method === "POST" && call.url === "/submissions/s1/grade") graded.essay = true;
    if (call.method === "POST" && call.url === "/attempts/a1/grade") graded.attempt = true;
    if (call.method === "POST") return { status: 200, data: {} };
    if (call.url === "/courses/course-1/gradebook") return { status: 200, data: gradebook(graded.essay ? 8 : null) };
    if (call.url === "/assignments/essay-1/submissions") return page(graded.essay ? [{ ...submission, status: "graded" }] : [submission]);
    if (call.url === "/quizzes/quiz-1/attempts") return page(graded.attempt ? [{ ...attempt, status: "graded" }] : [attempt]);
    if (call.url === "/attempts/a1") return { status: 200, data: attempt };
    return problem(404, "not_found");
  });
}

function renderPage() {
  render(
    <MemoryRouter>
      <CourseContext.Provider value={{ course, reload: () => undefined }}>
        <GradebookPage />
      </CourseContext.Provider>
    </MemoryRouter>,
  );
}

describe("the gradebook", () => {
  beforeEach(() => useAuth.getState().setTokens({ access_token: "a", refresh_token: "r" }));
  afterEach(() => vi.restoreAllMocks());

  it("shows scores and grades a submission by hand", async () => {
    const calls = serve({ essay: false, attempt: true });
    renderPage();
    const table = await screen.findByTestId("gradebook");
    const row = within(table).getByRole("row", { name: /Linus Pauling/ });
    expect(row).toHaveTextContent("75 %");
    expect(row).toHaveTextContent("–");

    const form = await screen.findByRole("form", { name: "Grade Linus Pauling's submission" });
    expect(form).toHaveTextContent("Saturn has rings.");
    expect(form).toHaveTextContent("(late)");
    await userEvent.type(within(form).getByLabelText("Points for Linus Pauling (of 10)"), "8");
    await userEvent.type(within(form).getByLabelText("Feedback for Linus Pauling"), "Good.");
    await userEvent.click(within(form).getByRole("button", { name: "Save grade" }));

    await waitFor(() => expect(within(screen.getByTestId("gradebook")).getByRole("row", { name: /Linus Pauling/ })).toHaveTextContent("8 / 10"));
    expect(calls.find((call) => call.url === "/submissions/s1/grade")?.body).toEqual({ points: 8, feedback: "Good." });
    expect(await screen.findByText("Nothing is waiting for a grade.")).toBeInTheDocument();
  }, 15_000);

  it("grades a quiz attempt's text answers", async () => {
    const calls = serve({ essay: true, attempt: false });
    renderPage();
    const form = await screen.findByRole("form", { name: "Grade Linus Pauling's attempt 1" });
    expect(form).toHaveTextContent("Why is Pluto not a planet?");
    expect(form).toHaveTextContent("It has not cleared its orbit.");
    await userEvent.type(within(form).getByLabelText("Points (of 3)"), "2.5");
    await userEvent.click(within(form).getByRole("button", { name: "Save grade" }));
    await waitFor(() => expect(screen.queryByRole("form", { name: /attempt 1/ })).not.toBeInTheDocument());
    expect(calls.find((call) => call.url === "/attempts/a1/grade")?.body).toEqual({ "q-text": 2.5 });
  });

  it("shows the API's problem when a grade is refused", async () => {
    fakeServer((call) => {
      if (call.method === "POST") return problem(422, "invalid_grade", "Invalid grade", "At most 10 points.");
      if (call.url === "/courses/course-1/gradebook") return { status: 200, data: gradebook(null) };
      if (call.url === "/assignments/essay-1/submissions") return page([submission]);
      return page([]);
    });
    renderPage();
    const form = await screen.findByRole("form", { name: "Grade Linus Pauling's submission" });
    await userEvent.type(within(form).getByLabelText("Points for Linus Pauling (of 10)"), "9");
    await userEvent.click(within(form).getByRole("button", { name: "Save grade" }));
    const alert = await within(form).findByRole("alert");
    expect(alert).toHaveTextContent("Invalid grade");
    expect(alert).toHaveTextContent("At most 10 points.");
  });

  it("exports the CSV as a download named after the course", async () => {
    const csv = "student,email,Checkpoint (%),Essay (points)\r\nLinus Pauling,linus@example.com,75,\r\n";
    let books = 0;
    // The page reads the gradebook as JSON first; the export is the second read.
    fakeServer((call) => {
      if (call.url !== "/courses/course-1/gradebook") return page([]);
      books += 1;
      return { status: 200, data: books === 1 ? gradebook(null) : csv };
    });
    const blobs: Blob[] = [];
    // jsdom has no object URLs.
    Object.assign(URL, {
      createObjectURL: (blob: Blob) => {
        blobs.push(blob);
        return "blob:gradebook";
      },
      revokeObjectURL: () => undefined,
    });
    const clicked: string[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push(this.download);
    });
    renderPage();
    await userEvent.click(await screen.findByRole("button", { name: "Export CSV" }));
    expect(await screen.findByText("Gradebook exported.")).toBeInTheDocument();
    expect(clicked).toEqual(["gradebook-planets.csv"]);
    expect(await blobs[0].text()).toBe(csv);
  });
});
