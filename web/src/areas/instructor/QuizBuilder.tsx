import { useState, type FormEvent } from "react";
import { api } from "../../api/client";
import { Field } from "../../components/Field";
import { ProblemAlert } from "../../components/states";
import { moved } from "./ReorderList";
import { CheckField, SelectField, TextAreaField } from "./Select";
import type { QuestionType, QuizForStaff, QuizIn, ShowAnswers } from "./types";
import { useAction } from "./useAction";

interface DraftOption {
  key: string;
  id: string | null;
  text: string;
  is_correct: boolean;
}

interface DraftQuestion {
  key: string;
  id: string | null;
  type: QuestionType;
  text: string;
  points: number;
  options: DraftOption[];
}

/** The builder's working copy. Limits are text so "no limit" can be an empty box. */
export interface QuizDraft {
  title: string;
  passing_score: number;
  max_attempts: string;
  time_limit_minutes: string;
  shuffle_questions: boolean;
  show_answers: ShowAnswers;
  questions: DraftQuestion[];
}

let counter = 0;
const newKey = () => `new-${++counter}`;

const blankOption = (): DraftOption => ({ key: newKey(), id: null, text: "", is_correct: false });

export function blankQuestion(type: QuestionType = "single_choice"): DraftQuestion {
  return { key: newKey(), id: null, type, text: "", points: 1, options: type === "text" ? [] : [blankOption(), blankOption()] };
}

export function draftOf(quiz: QuizForStaff | null, title: string): QuizDraft {
  if (!quiz) {
    return { title, passing_score: 70, max_attempts: "", time_limit_minutes: "", shuffle_questions: false, show_answers: "after_last_attempt", questions: [blankQuestion()] };
  }
  return {
    title: quiz.title,
    passing_score: quiz.passing_score,
    max_attempts: quiz.max_attempts === null ? "" : String(quiz.max_attempts),
    time_limit_minutes: quiz.time_limit_minutes === null ? "" : String(quiz.time_limit_minutes),
    shuffle_questions: quiz.shuffle_questions,
    show_answers: quiz.show_answers,
    questions: quiz.questions.map((question) => ({
      key: question.id,
      id: question.id,
      type: question.type,
      text: question.text,
      points: question.points,
      options: question.options.map((option) => ({ key: option.id, id: option.id, text: option.text, is_correct: option.is_correct })),
    })),
  };
}

const limit = (text: string) => (text.trim() === "" ? null : Number(text));

/** The body of `PUT /lessons/{id}/quiz`: ids kept for what existed, so attempts stay linked. */
export function quizBody(draft: QuizDraft): QuizIn {
  return {
    title: draft.title,
    passing_score: draft.passing_score,
    max_attempts: limit(draft.max_attempts),
    time_limit_minutes: limit(draft.time_limit_minutes),
    shuffle_questions: draft.shuffle_questions,
    show_answers: draft.show_answers,
    questions: draft.questions.map((question) => ({
      ...(question.id ? { id: question.id } : {}),
      type: question.type,
      text: question.text,
      points: question.points,
      options: question.type === "text" ? [] : question.options.map((option) => ({ ...(option.id ? { id: option.id } : {}), text: option.text, is_correct: option.is_correct })),
    })),
  };
}

/** What the API would refuse, said before sending, question by question. */
export function draftProblems(draft: QuizDraft): string[] {
  const problems: string[] = [];
  if (draft.questions.length === 0) problems.push("Add at least one question.");
  draft.questions.forEach((question, index) => {
    const name = `Question ${index + 1}`;
    if (!question.text.trim()) problems.push(`${name} has no text.`);
    if (question.type === "text") return;
    if (question.options.length < 2) problems.push(`${name} needs at least two options.`);
    if (question.options.some((option) => !option.text.trim())) problems.push(`${name} has an empty option.`);
    const correct = question.options.filter((option) => option.is_correct).length;
    if (question.type === "single_choice" && correct !== 1) problems.push(`${name} needs exactly one correct option.`);
    if (question.type === "multiple_choice" && correct < 1) problems.push(`${name} needs at least one correct option.`);
  });
  return problems;
}

const TYPE_LABEL: Record<QuestionType, string> = {
  single_choice: "Single choice",
  multiple_choice: "Multiple choice",
  text: "Text answer (graded by hand)",
};

function QuestionEditor({ question, index, count, onChange, onMove, onRemove }: { question: DraftQuestion; index: number; count: number; onChange: (question: DraftQuestion) => void; onMove: (to: number) => void; onRemove: () => void }) {
  const name = `Question ${index + 1}`;
  const set = (fields: Partial<DraftQuestion>) => onChange({ ...question, ...fields });
  const setOption = (key: string, fields: Partial<DraftOption>) =>
    set({
      options: question.options.map((option) =>
        option.key === key ? { ...option, ...fields } : question.type === "single_choice" && fields.is_correct ? { ...option, is_correct: false } : option,
      ),
    });
  const changeType = (type: QuestionType) => {
    if (type === "text") return set({ type, options: [] });
    const options = question.options.length ? question.options : [blankOption(), blankOption()];
    // A single-choice question keeps at most its first correct option.
    const firstCorrect = options.findIndex((option) => option.is_correct);
    set({ type, options: type === "single_choice" ? options.map((option, at) => ({ ...option, is_correct: at === firstCorrect })) : options });
  };
  return (
    <fieldset className="rounded-md border border-slate-300 p-3" data-testid="quiz-question">
      <legend className="px-1 font-semibold">{name}</legend>
      <div className="grid gap-x-3 sm:grid-cols-[1fr_8rem]">
        <SelectField label={`${name} type`} value={question.type} onChange={(e) => changeType(e.target.value as QuestionType)}>
          {Object.entries(TYPE_LABEL).map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </SelectField>
        <Field label={`${name} points`} type="number" min={0} step="any" required value={question.points} onChange={(e) => set({ points: Number(e.target.value) })} />
      </div>
      <TextAreaField label={`${name} text`} rows={2} required value={question.text} onChange={(e) => set({ text: e.target.value })} />
      {question.type !== "text" && (
        <div className="space-y-2">
          <p className="text-sm font-medium">{question.type === "single_choice" ? "Options (mark the one correct answer)" : "Options (mark every correct answer)"}</p>
          {question.options.map((option, at) => (
            <div key={option.key} className="flex flex-wrap items-center gap-2">
              <label className="flex items-center gap-1 text-sm">
                <input
                  type={question.type === "single_choice" ? "radio" : "checkbox"}
                  name={`${question.key}-correct`}
                  checked={option.is_correct}
                  onChange={(e) => setOption(option.key, { is_correct: e.target.checked })}
                />
                Correct
                <span className="sr-only">: {name} option {at + 1}</span>
              </label>
              <input
                className="input flex-1"
                aria-label={`${name} option ${at + 1}`}
                required
                value={option.text}
                onChange={(e) => setOption(option.key, { text: e.target.value })}
              />
              <button type="button" className="btn-secondary" onClick={() => set({ options: question.options.filter((item) => item.key !== option.key) })} aria-label={`Remove ${name} option ${at + 1}`}>
                Remove
              </button>
            </div>
          ))}
          <button type="button" className="btn-secondary" onClick={() => set({ options: [...question.options, blankOption()] })}>
            Add option to {name.toLowerCase()}
          </button>
        </div>
      )}
      <div className="mt-3 flex flex-wrap gap-2 border-t border-slate-200 pt-2">
        <button type="button" className="btn-secondary" disabled={index === 0} onClick={() => onMove(index - 1)} aria-label={`Move ${name.toLowerCase()} up`}>
          ↑ Up
        </button>
        <button type="button" className="btn-secondary" disabled={index === count - 1} onClick={() => onMove(index + 1)} aria-label={`Move ${name.toLowerCase()} down`}>
          ↓ Down
        </button>
        <button type="button" className="btn-secondary" onClick={onRemove} aria-label={`Remove ${name.toLowerCase()}`}>
          Remove question
        </button>
      </div>
    </fieldset>
  );
}

/** Builds a quiz lesson's quiz: its settings and questions of every type, saved as a whole. */
export function QuizBuilder({ lessonId, quiz, lessonTitle, onSaved }: { lessonId: string; quiz: QuizForStaff | null; lessonTitle: string; onSaved?: (quiz: QuizForStaff) => void }) {
  const [draft, setDraft] = useState(() => draftOf(quiz, lessonTitle));
  const [warnings, setWarnings] = useState<string[]>([]);
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const set = (fields: Partial<QuizDraft>) => {
    setSaved(false);
    setDraft((current) => ({ ...current, ...fields }));
  };
  const setQuestions = (questions: DraftQuestion[]) => set({ questions });

  const save = async (event: FormEvent) => {
    event.preventDefault();
    const problems = draftProblems(draft);
    setWarnings(problems);
    if (problems.length) return;
    await action.run(async () => {
      const { data } = await api.put<QuizForStaff>(`/lessons/${lessonId}/quiz`, quizBody(draft));
      setDraft(draftOf(data, lessonTitle));
      setSaved(true);
      onSaved?.(data);
    });
  };

  return (
    <form onSubmit={save} className="card space-y-4" aria-label="Quiz builder">
      <h2 className="text-lg font-semibold">Quiz</h2>
      <div className="grid gap-x-4 sm:grid-cols-2">
        <Field label="Quiz title" required value={draft.title} onChange={(e) => set({ title: e.target.value })} />
        <Field label="Passing score (%)" type="number" min={0} max={100} required value={draft.passing_score} onChange={(e) => set({ passing_score: Number(e.target.value) })} />
        <Field label="Maximum attempts" hint="Empty: unlimited" type="number" min={1} value={draft.max_attempts} onChange={(e) => set({ max_attempts: e.target.value })} />
        <Field label="Time limit (minutes)" hint="Empty: no time limit" type="number" min={1} value={draft.time_limit_minutes} onChange={(e) => set({ time_limit_minutes: e.target.value })} />
        <SelectField label="Show the answers" value={draft.show_answers} onChange={(e) => set({ show_answers: e.target.value as ShowAnswers })}>
          <option value="after_each_attempt">After each attempt</option>
          <option value="after_last_attempt">After the last attempt (or a pass)</option>
          <option value="never">Never</option>
        </SelectField>
        <div className="self-end">
          <CheckField label="Shuffle the questions for each attempt" checked={draft.shuffle_questions} onChange={(checked) => set({ shuffle_questions: checked })} />
        </div>
      </div>
      {draft.questions.map((question, index) => (
        <QuestionEditor
          key={question.key}
          question={question}
          index={index}
          count={draft.questions.length}
          onChange={(next) => setQuestions(draft.questions.map((item) => (item.key === question.key ? next : item)))}
          onMove={(to) => setQuestions(moved(draft.questions, index, to))}
          onRemove={() => setQuestions(draft.questions.filter((item) => item.key !== question.key))}
        />
      ))}
      <div className="flex flex-wrap gap-2">
        <button type="button" className="btn-secondary" onClick={() => setQuestions([...draft.questions, blankQuestion("single_choice")])}>
          Add single-choice question
        </button>
        <button type="button" className="btn-secondary" onClick={() => setQuestions([...draft.questions, blankQuestion("multiple_choice")])}>
          Add multiple-choice question
        </button>
        <button type="button" className="btn-secondary" onClick={() => setQuestions([...draft.questions, blankQuestion("text")])}>
          Add text question
        </button>
      </div>
      {warnings.length > 0 && (
        <div role="alert" className="rounded-md border border-red-300 bg-red-50 p-3 text-red-900">
          <p className="font-semibold">
            <span aria-hidden="true">⚠ </span>The quiz is not ready to save
          </p>
          <ul className="list-disc pl-5 text-sm">
            {warnings.map((warning) => (
              <li key={warning}>{warning}</li>
            ))}
          </ul>
        </div>
      )}
      <ProblemAlert problem={action.problem} />
      {saved && (
        <p role="status" className="text-green-800">
          <span aria-hidden="true">✓ </span>Quiz saved.
        </p>
      )}
      <button type="submit" className="btn" disabled={action.busy}>
        {action.busy ? "Saving…" : "Save quiz"}
      </button>
    </form>
  );
}
