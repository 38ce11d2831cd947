import { useCallback, useEffect, useRef, useState } from "react";
import { api } from "../../api/client";
import { toProblem, type ApiProblem } from "../../api/problem";
import type { AttemptResult, AttemptStarted, AttemptSummary, Page, QuizForStudent } from "../../api/types";
import { Loading, ProblemAlert } from "../../components/states";
import { useApi } from "../../lib/useApi";

type Answers = Record<string, string[] | string>;

/** Seconds left before `deadline`, never below zero. */
export function secondsLeft(deadline: string, now: number = Date.now()): number {
  return Math.max(0, Math.floor((new Date(deadline).getTime() - now) / 1000));
}

export function formatClock(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${String(seconds % 60).padStart(2, "0")}`;
}

function Timer({ deadline, onExpired }: { deadline: string; onExpired: () => void }) {
  const [left, setLeft] = useState(() => secondsLeft(deadline));
  useEffect(() => {
    const tick = setInterval(() => setLeft(secondsLeft(deadline)), 1000);
    return () => clearInterval(tick);
  }, [deadline]);
  useEffect(() => {
    if (left === 0) onExpired();
  }, [left, onExpired]);
  return (
    <p className={`font-mono text-lg ${left < 60 ? "font-bold text-red-800" : ""}`}>
      <span className="sr-only">Time left: </span>
      <span role="timer" aria-live="off">{formatClock(left)}</span>
      {left < 60 && <span role="status"> Less than a minute left</span>}
    </p>
  );
}

function QuestionField({ question, value, onChange }: { question: AttemptStarted["questions"][number]; value: string[] | string | undefined; onChange: (value: string[] | string) => void }) {
  if (question.type === "text") {
    return (
      <div>
        <label htmlFor={`q-${question.id}`} className="sr-only">Your answer</label>
        <textarea id={`q-${question.id}`} className="input" rows={3} value={typeof value === "string" ? value : ""} onChange={(e) => onChange(e.target.value)} />
      </div>
    );
  }
  const selected = Array.isArray(value) ? value : [];
  const multiple = question.type === "multiple_choice";
  return (
    <div className="space-y-1">
      {question.options.map((option) => (
        <label key={option.id} className="flex items-center gap-2 rounded border border-slate-200 px-3 py-2 hover:bg-slate-50">
          <input
            type={multiple ? "checkbox" : "radio"}
            name={`q-${question.id}`}
            checked={selected.includes(option.id)}
            onChange={(e) =>
              onChange(multiple ? (e.target.checked ? [...selected, option.id] : selected.filter((id) => id !== option.id)) : [option.id])
            }
          />
          {option.text}
        </label>
      ))}
    </div>
  );
}

function Results({ attempt, result }: { attempt: AttemptStarted; result: AttemptResult }) {
  return (
    <div className="space-y-3" data-testid="quiz-result">
      <p role="status" className="text-lg font-semibold">
        {result.status === "pending_review"
          ? "Submitted: some answers wait for your instructor's review."
          : result.passed
            ? `Passed with ${Math.round(result.score_percent ?? 0)} %`
            : `Not passed: ${Math.round(result.score_percent ?? 0)} %`}
      </p>
      <p className="text-sm text-slate-700">
        {result.points} of {result.max_points} points
      </p>
      {result.answers_shown ? (
        <ol className="space-y-2">
          {result.results.map((item, index) => {
            const question = attempt.questions.find((q) => q.id === item.question_id);
            const keyed = "correct_option_ids" in item ? item : null;
            return (
              <li key={item.question_id} className="rounded border border-slate-200 p-2">
                <p className="font-medium">
                  {index + 1}. {question?.text}{" "}
                  {keyed && keyed.is_correct !== null && <span>{keyed.is_correct ? "✓ Correct" : "✗ Incorrect"}</span>}
                </p>
                {question?.options.length ? (
                  <ul className="ml-4 text-sm">
                    {question.options.map((option) => (
                      <li key={option.id}>
                        {option.text}
                        {item.selected_option_ids?.includes(option.id) && " (your answer)"}
                        {keyed?.correct_option_ids.includes(option.id) && " (correct answer)"}
                      </li>
                    ))}
                  </ul>
                ) : (
                  <p className="ml-4 text-sm">Your answer: {item.text_answer}</p>
                )}
              </li>
            );
          })}
        </ol>
      ) : (
        <p className="text-sm text-slate-700">The correct answers are shown once you pass or have no attempt left.</p>
      )}
    </div>
  );
}

/** A quiz: the attempts left, an attempt with its timer, and the results as far as the
 * quiz's `show_answers` lets the student see them. */
export function QuizPlayer({ quiz, onSubmitted }: { quiz: QuizForStudent; onSubmitted?: (result: AttemptResult) => void }) {
  const history = useApi(() => api.get<Page<AttemptSummary>>(`/quizzes/${quiz.id}/attempts`, { params: { limit: 100 } }).then((r) => r.data), `${quiz.id}`);
  const [attempt, setAttempt] = useState<AttemptStarted | null>(null);
  const [answers, setAnswers] = useState<Answers>({});
  const [result, setResult] = useState<AttemptResult | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [pending, setPending] = useState(false);
  const submitting = useRef(false);

  const used = history.data?.total ?? 0;
  // The attempt just graded counts at once, not only once the history has reloaded.
  const passed = Boolean(result?.passed) || (history.data?.items.some((item) => item.passed) ?? false);
  const left = quiz.max_attempts === null ? null : Math.max(0, quiz.max_attempts - used);

  const start = async () => {
    // The last attempt's form goes at once: nobody answers it while the new one starts.
    setProblem(null);
    setResult(null);
    setAttempt(null);
    setAnswers({});
    setPending(true);
    try {
      const { data } = await api.post<AttemptStarted>(`/quizzes/${quiz.id}/attempts`);
      setAttempt(data);
    } catch (error) {
      const found = toProblem(error);
      // An attempt is already open (another tab, a reload): resume it.
      if (found.code === "attempt_in_progress" && found.body.attempt) setAttempt(found.body.attempt as AttemptStarted);
      else setProblem(found);
    } finally {
      setPending(false);
    }
  };

  const submit = useCallback(async () => {
    if (!attempt || submitting.current) return;
    submitting.current = true;
    setPending(true);
    setProblem(null);
    try {
      const { data } = await api.post<AttemptResult>(`/attempts/${attempt.id}/submit`, { answers });
      setResult(data);
      onSubmitted?.(data);
      history.reload();
    } catch (error) {
      setProblem(toProblem(error));
    } finally {
      submitting.current = false;
      setPending(false);
    }
  }, [attempt, answers, onSubmitted, history]);

  if (history.loading && !history.data) return <Loading />;
  return (
    <section aria-labelledby="quiz-title" className="space-y-4">
      <h2 id="quiz-title" className="text-xl font-semibold">{quiz.title}</h2>
      <ul className="text-sm text-slate-700">
        <li>Pass mark: {quiz.passing_score} %</li>
        <li>Attempts: {quiz.max_attempts === null ? `${used} used (no limit)` : `${used} of ${quiz.max_attempts} used`}</li>
        {quiz.time_limit_minutes !== null && <li>Time limit: {quiz.time_limit_minutes} minutes</li>}
      </ul>
      <ProblemAlert problem={history.error ?? problem} />
      {result && attempt && <Results attempt={attempt} result={result} />}
      {attempt && !result ? (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void submit();
          }}
          className="space-y-4"
        >
          {attempt.deadline_at && <Timer deadline={attempt.deadline_at} onExpired={submit} />}
          {attempt.questions.map((question, index) => (
            <fieldset key={question.id} className="card">
              <legend className="px-1 font-medium">
                {index + 1}. {question.text} <span className="text-sm text-slate-600">({question.points} points)</span>
              </legend>
              <QuestionField question={question} value={answers[question.id]} onChange={(value) => setAnswers({ ...answers, [question.id]: value })} />
            </fieldset>
          ))}
          <button type="submit" className="btn" disabled={pending}>
            {pending ? "Submitting…" : "Submit answers"}
          </button>
        </form>
      ) : passed && !result ? (
        <p role="status">✓ You passed this quiz.</p>
      ) : left === 0 ? (
        <p role="status">You have no attempt left.</p>
      ) : (
        !passed && (
          <button type="button" className="btn" disabled={pending} onClick={start}>
            {used === 0 ? "Start the quiz" : "Try again"}
          </button>
        )
      )}
    </section>
  );
}
