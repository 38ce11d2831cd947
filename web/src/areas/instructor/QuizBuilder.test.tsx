import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { useAuth } from "../../stores/auth";
import { fakeServer, problem } from "../../test/fakeServer";
import { draftOf, draftProblems, QuizBuilder, quizBody } from "./QuizBuilder";
import type { QuizForStaff } from "./types";

const saved = {
  id: "quiz-1",
  lesson_id: "lesson-1",
  course_id: "course-1",
  title: "Planets",
  passing_score: 60,
  max_attempts: 3,
  time_limit_minutes: null,
  shuffle_questions: true,
  show_answers: "never",
  revision: 2,
  updated_at: "2026-11-26T08:00:00Z",
  view: "staff",
  questions: [
    {
      id: "q1",
      type: "single_choice",
      text: "Largest planet?",
      points: 2,
      options: [
        { id: "o1", text: "Jupiter", is_correct: true },
        { id: "o2", text: "Mars", is_correct: false },
      ],
    },
  ],
} as QuizForStaff;

const label = (text: string) => screen.getByLabelText(text, { exact: true });

/** Types by pasting: one input event instead of one per character, fast on a busy machine. */
async function fill(element: HTMLElement, text: string) {
  await userEvent.clear(element);
  await userEvent.click(element);
  await userEvent.paste(text);
}

describe("the quiz builder", () => {
  beforeEach(() => useAuth.getState().setTokens({ access_token: "a", refresh_token: "r" }));

  it("builds a new quiz with every question type and its settings", async () => {
    const calls = fakeServer((call) => ({ status: 201, data: { ...saved, ...(call.body as object), questions: [] } }));
    const onSaved = vi.fn();
    render(<QuizBuilder lessonId="lesson-1" quiz={null} lessonTitle="Checkpoint" onSaved={onSaved} />);

    expect(label("Quiz title")).toHaveValue("Checkpoint");
    await fill(label("Passing score (%)"), "50");
    await fill(label("Maximum attempts"), "2");
    await fill(label("Time limit (minutes)"), "15");
    await userEvent.selectOptions(label("Show the answers"), "after_each_attempt");
    await userEvent.click(label("Shuffle the questions for each attempt"));

    await fill(label("Question 1 text"), "Largest planet?");
    await fill(label("Question 1 option 1"), "Jupiter");
    await fill(label("Question 1 option 2"), "Mars");
    await userEvent.click(label("Correct: Question 1 option 1"));

    await userEvent.click(screen.getByRole("button", { name: "Add multiple-choice question" }));
    await fill(label("Question 2 text"), "Gas giants?");
    await fill(label("Question 2 option 1"), "Saturn");
    await fill(label("Question 2 option 2"), "Neptune");
    await userEvent.click(screen.getByRole("button", { name: "Add option to question 2" }));
    await fill(label("Question 2 option 3"), "Venus");
    await userEvent.click(label("Correct: Question 2 option 1"));
    await userEvent.click(label("Correct: Question 2 option 2"));

    await userEvent.click(screen.getByRole("button", { name: "Add text question" }));
    await fill(label("Question 3 text"), "Why?");
    await fill(label("Question 3 points"), "3");
    // The text question goes first.
    await userEvent.click(screen.getByRole("button", { name: "Move question 3 up" }));
    await userEvent.click(screen.getByRole("button", { name: "Move question 2 up" }));

    await userEvent.click(screen.getByRole("button", { name: "Save quiz" }));
    expect(await screen.findByText("Quiz saved.")).toBeInTheDocument();
    expect(calls).toHaveLength(1);
    expect(calls[0].method).toBe("PUT");
    expect(calls[0].url).toBe("/lessons/lesson-1/quiz");
    expect(calls[0].body).toEqual({
      title: "Checkpoint",
      passing_score: 50,
      max_attempts: 2,
      time_limit_minutes: 15,
      shuffle_questions: true,
      show_answers: "after_each_attempt",
      questions: [
        { type: "text", text: "Why?", points: 3, options: [] },
        {
          type: "single_choice",
          text: "Largest planet?",
          points: 1,
          options: [
            { text: "Jupiter", is_correct: true },
            { text: "Mars", is_correct: false },
          ],
        },
        {
          type: "multiple_choice",
          text: "Gas giants?",
          points: 1,
          options: [
            { text: "Saturn", is_correct: true },
            { text: "Neptune", is_correct: true },
            { text: "Venus", is_correct: false },
          ],
        },
      ],
    });
    expect(onSaved).toHaveBeenCalledOnce();
  }, 20_000);

  it("keeps one correct option on a single-choice question", async () => {
    fakeServer(() => ({ status: 200, data: saved }));
    render(<QuizBuilder lessonId="lesson-1" quiz={saved} lessonTitle="Checkpoint" />);
    await userEvent.click(label("Correct: Question 1 option 2"));
    expect(label("Correct: Question 1 option 1")).not.toBeChecked();
    expect(label("Correct: Question 1 option 2")).toBeChecked();
  });

  it("edits a saved quiz keeping its question and option ids, and empty limits mean none", async () => {
    const calls = fakeServer(() => ({ status: 200, data: saved }));
    render(<QuizBuilder lessonId="lesson-1" quiz={saved} lessonTitle="Checkpoint" />);
    expect(label("Show the answers")).toHaveValue("never");
    expect(label("Shuffle the questions for each attempt")).toBeChecked();
    await userEvent.clear(label("Maximum attempts"));
    await fill(label("Question 1 text"), "Biggest planet?");
    await userEvent.click(screen.getByRole("button", { name: "Save quiz" }));
    await screen.findByText("Quiz saved.");
    const body = calls[0].body as ReturnType<typeof quizBody>;
    expect(body.max_attempts).toBeNull();
    expect(body.time_limit_minutes).toBeNull();
    expect(body.questions[0]).toEqual({
      id: "q1",
      type: "single_choice",
      text: "Biggest planet?",
      points: 2,
      options: [
        { id: "o1", text: "Jupiter", is_correct: true },
        { id: "o2", text: "Mars", is_correct: false },
      ],
    });
  });

  it("turning a question into a text question drops its options", async () => {
    fakeServer(() => ({ status: 200, data: saved }));
    render(<QuizBuilder lessonId="lesson-1" quiz={saved} lessonTitle="Checkpoint" />);
    await userEvent.selectOptions(label("Question 1 type"), "text");
    expect(screen.queryByLabelText("Question 1 option 1", { exact: true })).not.toBeInTheDocument();
  });

  it("says what is missing before sending anything", async () => {
    const calls = fakeServer(() => ({ status: 200, data: saved }));
    render(<QuizBuilder lessonId="lesson-1" quiz={null} lessonTitle="Checkpoint" />);
    await fill(label("Question 1 text"), "Largest planet?");
    await fill(label("Question 1 option 1"), "Jupiter");
    await fill(label("Question 1 option 2"), "Mars");
    await userEvent.click(screen.getByRole("button", { name: "Save quiz" }));
    const alert = await screen.findByRole("alert");
    expect(within(alert).getByText("Question 1 needs exactly one correct option.")).toBeInTheDocument();
    expect(calls).toHaveLength(0);
  });

  it("shows the API's problem when it refuses the quiz", async () => {
    fakeServer(() => problem(409, "lesson_not_quiz", "Not a quiz lesson", "Only quiz lessons have a quiz."));
    render(<QuizBuilder lessonId="lesson-1" quiz={saved} lessonTitle="Checkpoint" />);
    await userEvent.click(screen.getByRole("button", { name: "Save quiz" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Not a quiz lesson");
    expect(alert).toHaveTextContent("Only quiz lessons have a quiz.");
    expect(screen.queryByText("Quiz saved.")).not.toBeInTheDocument();
  });
});

describe("draft checks", () => {
  it("flags empty texts, missing options and wrong numbers of correct answers", () => {
    const draft = draftOf(null, "Quiz");
    draft.questions[0].type = "multiple_choice";
    expect(draftProblems(draft)).toEqual(["Question 1 has no text.", "Question 1 has an empty option.", "Question 1 needs at least one correct option."]);
    expect(draftProblems({ ...draft, questions: [] })).toEqual(["Add at least one question."]);
  });
});
