import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { QuizForStudent } from "../../api/types";
import { useAuth } from "../../stores/auth";
import { fakeServer, problem } from "../../test/fakeServer";
import { QuizPlayer, formatClock, secondsLeft } from "./QuizPlayer";

const quiz = {
  id: "quiz-1",
  lesson_id: "lesson-1",
  course_id: "course-1",
  title: "Checkpoint",
  passing_score: 50,
  max_attempts: 2,
  time_limit_minutes: null,
  shuffle_questions: false,
  show_answers: "after_each_attempt",
  revision: 1,
  updated_at: "2026-11-26T08:00:00Z",
  view: "student",
  questions: [],
} as unknown as QuizForStudent;

const question = {
  id: "q1",
  type: "single_choice",
  text: "2 + 2?",
  points: 1,
  options: [
    { id: "o3", text: "3" },
    { id: "o4", text: "4" },
  ],
};

const attempt = { id: "attempt-1", quiz_id: "quiz-1", number: 1, status: "in_progress", started_at: "2026-11-26T08:00:00Z", deadline_at: null, questions: [question] };

function result(passed: boolean, answersShown: boolean) {
  const item = { question_id: "q1", type: "single_choice", max_points: 1, selected_option_ids: [passed ? "o4" : "o3"], text_answer: null };
  return {
    id: "attempt-1",
    quiz_id: "quiz-1",
    number: 1,
    status: "graded",
    score_percent: passed ? 100 : 0,
    points: passed ? 1 : 0,
    max_points: 1,
    passed,
    submitted_at: "2026-11-26T08:01:00Z",
    answers_shown: answersShown,
    results: [answersShown ? { ...item, points_awarded: passed ? 1 : 0, is_correct: passed, correct_option_ids: ["o4"] } : item],
  };
}

function history(items: unknown[]) {
  return { status: 200, data: { items, total: items.length, limit: 100, offset: 0 } };
}

describe("the quiz player", () => {
  beforeEach(() => useAuth.getState().setTokens({ access_token: "a", refresh_token: "r" }));
  afterEach(() => vi.useRealTimers());

  it("starts an attempt, submits the chosen answer and shows the key when allowed", async () => {
    const attempts: unknown[] = [];
    const calls = fakeServer((call) => {
      if (call.method === "GET") return history(attempts);
      if (call.url === "/quizzes/quiz-1/attempts") return { status: 201, data: attempt };
      attempts.push({ id: "attempt-1", passed: true });
      return { status: 200, data: result(true, true) };
    });
    const submitted = vi.fn();
    render(<QuizPlayer quiz={quiz} onSubmitted={submitted} />);

    expect(await screen.findByText("Attempts: 0 of 2 used")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Start the quiz" }));
    await userEvent.click(await screen.findByRole("radio", { name: "4" }));
    await userEvent.click(screen.getByRole("button", { name: "Submit answers" }));

    expect(await screen.findByText("Passed with 100 %")).toBeInTheDocument();
    expect(screen.getByText(/✓ Correct/)).toBeInTheDocument();
    expect(screen.getByText(/\(correct answer\)/)).toBeInTheDocument();
    expect(calls.find((call) => call.url === "/attempts/attempt-1/submit")?.body).toEqual({ answers: { q1: ["o4"] } });
    expect(submitted).toHaveBeenCalledOnce();
    await waitFor(() => expect(screen.getByText("Attempts: 1 of 2 used")).toBeInTheDocument());
  });

  it("offers no other attempt after a pass, even before the history has caught up", async () => {
    fakeServer((call) => {
      if (call.method === "GET") return history([]); // a history that lags behind
      if (call.url === "/quizzes/quiz-1/attempts") return { status: 201, data: attempt };
      return { status: 200, data: result(true, true) };
    });
    render(<QuizPlayer quiz={quiz} />);

    await userEvent.click(await screen.findByRole("button", { name: "Start the quiz" }));
    await userEvent.click(await screen.findByRole("radio", { name: "4" }));
    await userEvent.click(screen.getByRole("button", { name: "Submit answers" }));

    expect(await screen.findByText("Passed with 100 %")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Try again|Start the quiz/ })).not.toBeInTheDocument();
  });

  it("keeps the answers hidden until show_answers allows, and offers another attempt", async () => {
    const attempts: unknown[] = [];
    fakeServer((call) => {
      if (call.method === "GET") return history(attempts);
      if (call.url === "/quizzes/quiz-1/attempts") return { status: 201, data: attempt };
      attempts.push({ id: "attempt-1", passed: false });
      return { status: 200, data: result(false, false) };
    });
    render(<QuizPlayer quiz={quiz} />);
    await userEvent.click(await screen.findByRole("button", { name: "Start the quiz" }));
    await userEvent.click(await screen.findByRole("radio", { name: "3" }));
    await userEvent.click(screen.getByRole("button", { name: "Submit answers" }));

    expect(await screen.findByText("Not passed: 0 %")).toBeInTheDocument();
    expect(screen.queryByText(/\(correct answer\)/)).not.toBeInTheDocument();
    expect(screen.queryByText(/✓ Correct|✗ Incorrect/)).not.toBeInTheDocument();
    expect(screen.getByText(/shown once you pass or have no attempt left/)).toBeInTheDocument();
    expect(await screen.findByRole("button", { name: "Try again" })).toBeInTheDocument();
  });

  it("says so when every attempt is used", async () => {
    fakeServer(() => history([{ id: "x1", passed: false }, { id: "x2", passed: false }]));
    render(<QuizPlayer quiz={quiz} />);
    expect(await screen.findByText("You have no attempt left.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Start|Try again/ })).not.toBeInTheDocument();
  });

  it("shows the API's problem when starting is refused", async () => {
    fakeServer((call) => (call.method === "GET" ? history([]) : problem(409, "quiz_attempts_exhausted", "No attempts left", "You used all 2 attempts.")));
    render(<QuizPlayer quiz={quiz} />);
    await userEvent.click(await screen.findByRole("button", { name: "Start the quiz" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("No attempts left");
    expect(alert).toHaveTextContent("You used all 2 attempts.");
  });

  it("resumes the attempt already in progress", async () => {
    fakeServer((call) =>
      call.method === "GET" ? history([]) : { status: 409, data: { ...problem(409, "attempt_in_progress").data, attempt } },
    );
    render(<QuizPlayer quiz={quiz} />);
    await userEvent.click(await screen.findByRole("button", { name: "Start the quiz" }));
    expect(await screen.findByRole("radio", { name: "4" })).toBeInTheDocument();
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });

  it("counts down to the deadline and submits by itself when time is up", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const deadline = new Date(Date.now() + 3000).toISOString();
    const calls = fakeServer((call) => {
      if (call.method === "GET") return history([]);
      if (call.url === "/quizzes/quiz-1/attempts") return { status: 201, data: { ...attempt, deadline_at: deadline } };
      return { status: 200, data: result(false, false) };
    });
    render(<QuizPlayer quiz={{ ...quiz, time_limit_minutes: 1 }} />);
    await userEvent.click(await screen.findByRole("button", { name: "Start the quiz" }));
    expect(await screen.findByRole("timer")).toHaveTextContent(/0:0[23]/);
    await act(async () => {
      vi.advanceTimersByTime(4000);
    });
    await waitFor(() => expect(calls.some((call) => call.url === "/attempts/attempt-1/submit")).toBe(true));
    expect(await screen.findByText("Not passed: 0 %")).toBeInTheDocument();
  });
});

describe("the timer's arithmetic", () => {
  it("formats minutes and seconds and never goes below zero", () => {
    expect(formatClock(125)).toBe("2:05");
    expect(secondsLeft("2026-11-26T08:00:10Z", Date.parse("2026-11-26T08:00:00Z"))).toBe(10);
    expect(secondsLeft("2026-11-26T08:00:00Z", Date.parse("2026-11-26T08:01:00Z"))).toBe(0);
  });
});
