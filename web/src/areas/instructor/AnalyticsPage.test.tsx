import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { beforeEach, describe, expect, it } from "vitest";
import type { CourseDetail } from "../../api/types";
import { useAuth } from "../../stores/auth";
import { fakeServer, problem } from "../../test/fakeServer";
import { AnalyticsPage } from "./AnalyticsPage";
import { CourseContext } from "./CourseWorkspace";

const course = { id: "course-1", slug: "planets", title: "Planets", lessons: [{ id: "video-1", title: "Orbits" }], modules: [] } as unknown as CourseDetail;

const figures = {
  course_id: "course-1",
  enrollments_total: 4,
  active_learners_7d: 3,
  active_learners_30d: 4,
  completion_rate: 0.25,
  average_progress_percent: 62.5,
  average_days_to_complete: 2.5,
  enrollments_per_day: [
    { date: "2026-11-24", count: 1 },
    { date: "2026-11-25", count: 3 },
  ],
  lessons: [{ lesson_id: "video-1", title: "Orbits", reached: 4, completed: 2 }],
  quizzes: [{ quiz_id: "quiz-1", title: "Checkpoint", attempts: 0, pass_rate: null, average_score_percent: null }],
  videos: [{ lesson_id: "video-1", watch_ratio: 0.8 }],
};

function renderPage() {
  render(
    <MemoryRouter>
      <CourseContext.Provider value={{ course, reload: () => undefined }}>
        <AnalyticsPage />
      </CourseContext.Provider>
    </MemoryRouter>,
  );
}

describe("course analytics", () => {
  beforeEach(() => useAuth.getState().setTokens({ access_token: "a", refresh_token: "r" }));

  it("draws the figures as charts that also say them in words", async () => {
    fakeServer(() => ({ status: 200, data: figures }));
    renderPage();
    expect(await screen.findByRole("img", { name: "Enrollments per day: 4 in total, at most 3 on one day" })).toBeInTheDocument();
    expect(screen.getByRole("img", { name: "Completion rate: 25 %" })).toBeInTheDocument();
    expect(screen.getByRole("img", { name: "Average progress: 63 %" })).toBeInTheDocument();
    expect(within(screen.getByRole("region", { name: "Key figures" })).getByText("2.5")).toBeInTheDocument();
    expect(screen.getByText("Reached: 4")).toBeInTheDocument();
    expect(screen.getByText("Completed: 2")).toBeInTheDocument();
    expect(screen.getByText("Pass rate: none yet")).toBeInTheDocument();
    expect(screen.getByText("Watched: 80 %")).toBeInTheDocument();
  });

  it("reads the figures again for another date range", async () => {
    const calls = fakeServer(() => ({ status: 200, data: calls.length > 1 ? { ...figures, enrollments_total: 7 } : figures }));
    renderPage();
    const enrollments = async () => (await screen.findByText("Enrollments")).previousElementSibling;
    expect(await enrollments()).toHaveTextContent("4");
    await userEvent.type(screen.getByLabelText("From"), "2026-11-01");
    await waitFor(async () => expect(await enrollments()).toHaveTextContent("7"));
    expect(calls.every((call) => call.url === "/courses/course-1/analytics")).toBe(true);
  });

  it("has an empty state before anyone enrolls", async () => {
    fakeServer(() => ({ status: 200, data: { ...figures, enrollments_total: 0 } }));
    renderPage();
    expect(await screen.findByText(/No learner yet/)).toBeInTheDocument();
  });

  it("shows the API's problem", async () => {
    fakeServer(() => problem(403, "not_course_staff", "Not course staff", "Only the course's staff see its analytics."));
    renderPage();
    expect(await screen.findByRole("alert")).toHaveTextContent("Only the course's staff see its analytics.");
  });
});
