import { useCallback, useState, type FormEvent, type ReactNode } from "react";
import { api } from "../../api/client";
import { toProblem, type ApiProblem } from "../../api/problem";
import type { Page } from "../../api/types";
import { Field } from "../../components/Field";
import { Empty, Loading, ProblemAlert, ProgressBar } from "../../components/states";
import { useApi } from "../../lib/useApi";
import { useCourse } from "./CourseWorkspace";
import { TextAreaField } from "./Select";
import type { AttemptDetail, AttemptSummary, FileRead, Gradebook, QuestionResultWithKey, Submission } from "./types";
import { useAction } from "./useAction";

type Names = Map<string, string>;
type GradebookEntry = Gradebook["items"][number];

/** The submission's files, as links to short-lived download URLs. */
function SubmissionFiles({ fileIds }: { fileIds: string[] }) {
  const files = useApi(() => Promise.all(fileIds.map((id) => api.get<FileRead>(`/files/${id}`).then((r) => r.data))), fileIds.join(","));
  if (files.loading) return <Loading label="Loading the files…" />;
  if (!files.data) return <ProblemAlert problem={files.error} onRetry={files.reload} />;
  return (
    <ul className="my-2 text-sm">
      {files.data.map((file) => (
        <li key={file.id}>
          {file.download_url ? (
            <a className="link" href={file.download_url} download={file.filename}>
              {file.filename}
            </a>
          ) : (
            file.filename
          )}{" "}
          ({Math.ceil(file.size_bytes / 1024)} KB)
        </li>
      ))}
    </ul>
  );
}

function SubmissionGrader({ submission, maxPoints, name, onGraded }: { submission: Submission; maxPoints: number; name: string; onGraded: () => void }) {
  const [points, setPoints] = useState("");
  const [feedback, setFeedback] = useState("");
  const action = useAction();
  const grade = (event: FormEvent) => {
    event.preventDefault();
    void action.run(async () => {
      await api.post(`/submissions/${submission.id}/grade`, { points: Number(points), feedback });
      onGraded();
    });
  };
  return (
    <form onSubmit={grade} className="rounded-md border border-slate-200 p-3" aria-label={`Grade ${name}'s submission`}>
      <p className="text-sm text-slate-700">
        {name} · submitted {new Date(submission.submitted_at).toLocaleString()}
        {submission.is_late && <strong className="ml-1">(late)</strong>}
      </p>
      {submission.text && <p className="my-2 whitespace-pre-line rounded bg-slate-50 p-2">{submission.text}</p>}
      {submission.file_ids.length > 0 && <SubmissionFiles fileIds={submission.file_ids} />}
      <div className="grid gap-x-3 sm:grid-cols-[10rem_1fr]">
        <Field label={`Points for ${name} (of ${maxPoints})`} type="number" min={0} max={maxPoints} step="any" required value={points} onChange={(e) => setPoints(e.target.value)} />
        <TextAreaField label={`Feedback for ${name}`} rows={2} value={feedback} onChange={(e) => setFeedback(e.target.value)} />
      </div>
      <ProblemAlert problem={action.problem} />
      <button type="submit" className="btn" disabled={action.busy}>
        Save grade
      </button>
    </form>
  );
}

interface QueueProps {
  item: GradebookEntry;
  names: Names;
  onGraded: () => void;
  /** How many pieces of work wait for a grade in this item, once known. */
  onCount: (itemId: string, count: number) => void;
}

interface WorkQueueProps<T> extends QueueProps {
  /** The item's work: submissions or attempts, one page of up to 100. */
  path: string;
  /** Whether a piece of work waits for a grade. */
  waiting: (work: T) => boolean;
  heading: string;
  what: string;
  grader: (work: T, graded: () => void) => ReactNode;
}

/** The pieces of one item's work that wait for a grade, each with its grading form. */
function WorkQueue<T extends { id: string }>({ item, onGraded, onCount, path, waiting, heading, what, grader }: WorkQueueProps<T>) {
  const work = useApi(async () => {
    const { data } = await api.get<Page<T>>(path, { params: { limit: 100 } });
    onCount(item.id, data.items.filter(waiting).length);
    return data;
  }, item.id);
  if (work.loading && !work.data) return <Loading label={`Loading ${what} for ${item.title}…`} />;
  if (work.error) return <ProblemAlert problem={work.error} onRetry={work.reload} />;
  const open = work.data?.items.filter(waiting) ?? [];
  if (!open.length) return null;
  const graded = () => {
    work.reload();
    onGraded();
  };
  return (
    <div className="space-y-2">
      <h3 className="font-semibold">{heading}</h3>
      {open.map((piece) => grader(piece, graded))}
    </div>
  );
}

function AssignmentQueue(props: QueueProps) {
  const { item, names } = props;
  return (
    <WorkQueue<Submission>
      {...props}
      path={`/assignments/${item.id}/submissions`}
      waiting={(submission) => submission.status === "submitted"}
      heading={item.title}
      what="submissions"
      grader={(submission, graded) => (
        <SubmissionGrader key={submission.id} submission={submission} maxPoints={item.max_points} name={names.get(submission.user_id) ?? "A learner"} onGraded={graded} />
      )}
    />
  );
}

function AttemptGrader({ attemptId, name, onGraded }: { attemptId: string; name: string; onGraded: () => void }) {
  const attempt = useApi(() => api.get<AttemptDetail>(`/attempts/${attemptId}`).then((r) => r.data), attemptId);
  const [points, setPoints] = useState<Record<string, string>>({});
  const action = useAction();
  if (attempt.loading) return <Loading />;
  if (!attempt.data) return <ProblemAlert problem={attempt.error} onRetry={attempt.reload} />;
  const questions = new Map(attempt.data.questions.map((question) => [question.id, question.text]));
  const texts = ((attempt.data.results ?? []) as QuestionResultWithKey[]).filter((result) => result.type === "text" && result.text_answer);
  const grade = (event: FormEvent) => {
    event.preventDefault();
    void action.run(async () => {
      await api.post(`/attempts/${attemptId}/grade`, Object.fromEntries(texts.map((result) => [result.question_id, Number(points[result.question_id] ?? 0)])));
      onGraded();
    });
  };
  return (
    <form onSubmit={grade} className="rounded-md border border-slate-200 p-3" aria-label={`Grade ${name}'s attempt ${attempt.data.number}`}>
      <p className="text-sm text-slate-700">
        {name} · attempt {attempt.data.number}
      </p>
      {texts.map((result) => (
        <div key={result.question_id} className="mt-2">
          <p className="font-medium">{questions.get(result.question_id)}</p>
          <p className="my-1 whitespace-pre-line rounded bg-slate-50 p-2">{result.text_answer}</p>
          <Field
            label={`Points (of ${result.max_points})`}
            type="number"
            min={0}
            max={result.max_points}
            step="any"
            required
            value={points[result.question_id] ?? ""}
            onChange={(e) => setPoints((current) => ({ ...current, [result.question_id]: e.target.value }))}
          />
        </div>
      ))}
      <ProblemAlert problem={action.problem} />
      <button type="submit" className="btn" disabled={action.busy}>
        Save grade
      </button>
    </form>
  );
}

function QuizQueue(props: QueueProps) {
  const { item, names } = props;
  return (
    <WorkQueue<AttemptSummary>
      {...props}
      path={`/quizzes/${item.id}/attempts`}
      waiting={(attempt) => attempt.status === "pending_review"}
      heading={`${item.title}: text answers to grade`}
      what="attempts"
      grader={(attempt, graded) => (
        <AttemptGrader key={attempt.id} attemptId={attempt.id} name={names.get(attempt.user_id) ?? "A learner"} onGraded={graded} />
      )}
    />
  );
}

/** Downloads the gradebook as CSV, showing how much has arrived (the API streams it, so
 * the total is known only when it says so). */
function CsvExport({ courseId, slug }: { courseId: string; slug: string }) {
  const [progress, setProgress] = useState<{ loaded: number; total: number | null } | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [done, setDone] = useState(false);
  const download = async () => {
    setProblem(null);
    setDone(false);
    setProgress({ loaded: 0, total: null });
    try {
      const { data } = await api.get<string>(`/courses/${courseId}/gradebook`, {
        params: { format: "csv" },
        headers: { Accept: "text/csv" },
        onDownloadProgress: (event) => setProgress({ loaded: event.loaded, total: event.total ?? null }),
      });
      const url = URL.createObjectURL(new Blob([data], { type: "text/csv" }));
      const link = document.createElement("a");
      link.href = url;
      link.download = `gradebook-${slug}.csv`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setDone(true);
    } catch (error) {
      setProblem(toProblem(error));
    } finally {
      setProgress(null);
    }
  };
  return (
    <div className="space-y-2">
      <button type="button" className="btn-secondary" disabled={progress !== null} onClick={() => void download()}>
        Export CSV
      </button>
      {progress &&
        (progress.total ? (
          <ProgressBar percent={(100 * progress.loaded) / progress.total} label="Exporting the gradebook" />
        ) : (
          <p role="status">Exporting the gradebook… {Math.ceil(progress.loaded / 1024)} KB received</p>
        ))}
      {done && (
        <p role="status" className="text-green-800">
          <span aria-hidden="true">✓ </span>Gradebook exported.
        </p>
      )}
      <ProblemAlert problem={problem} />
    </div>
  );
}

function formatScore(score: number | null | undefined, item: GradebookEntry) {
  if (score === null || score === undefined) return "–";
  return item.kind === "quiz" ? `${Math.round(score)} %` : `${score} / ${item.max_points}`;
}

/** Students × quizzes and assignments, the work waiting for a grade, and the CSV export. */
export function GradebookPage() {
  const { course } = useCourse();
  const book = useApi(() => api.get<Gradebook>(`/courses/${course.id}/gradebook`).then((r) => r.data), course.id);
  const [waiting, setWaiting] = useState<Record<string, number>>({});
  const onCount = useCallback((itemId: string, count: number) => setWaiting((current) => ({ ...current, [itemId]: count })), []);
  if (book.loading && !book.data) return <Loading />;
  if (!book.data) return <ProblemAlert problem={book.error} onRetry={book.reload} />;
  const { items, students } = book.data;
  const names: Names = new Map(students.map((student) => [student.user_id, student.full_name]));
  return (
    <div className="space-y-6">
      <section aria-labelledby="gradebook-heading" className="card space-y-3">
        <div className="flex flex-wrap items-center justify-between gap-2">
          <h2 id="gradebook-heading" className="text-lg font-semibold">Gradebook</h2>
          <CsvExport courseId={course.id} slug={course.slug} />
        </div>
        <ProblemAlert problem={book.error} onRetry={book.reload} />
        {students.length === 0 || items.length === 0 ? (
          <Empty>{items.length === 0 ? "No quiz or assignment to grade yet." : "Nobody is enrolled yet."}</Empty>
        ) : (
          <div className="overflow-x-auto">
            <table className="w-full border-collapse text-left text-sm" data-testid="gradebook">
              <caption className="sr-only">Scores per learner: quizzes in percent (best graded attempt), assignments in points</caption>
              <thead>
                <tr className="border-b border-slate-300">
                  <th scope="col" className="py-2">Learner</th>
                  {items.map((item) => (
                    <th key={item.id} scope="col" className="px-2">
                      {item.title} <span className="font-normal text-slate-600">({item.kind})</span>
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {students.map((student) => (
                  <tr key={student.user_id} className="border-b border-slate-200">
                    <th scope="row" className="py-2 text-left font-normal">
                      {student.full_name}
                      <span className="block text-xs text-slate-600">{student.email}</span>
                    </th>
                    {items.map((item, index) => (
                      <td key={item.id} className="px-2">
                        {formatScore(student.scores[index], item)}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section aria-labelledby="to-grade-heading" className="card space-y-4">
        <h2 id="to-grade-heading" className="text-lg font-semibold">Waiting for a grade</h2>
        <p className="text-sm text-slate-600">Submitted assignments and quiz text answers appear here until graded.</p>
        {items.every((item) => waiting[item.id] === 0) && <Empty>Nothing is waiting for a grade.</Empty>}
        {items.map((item) =>
          item.kind === "assignment" ? (
            <AssignmentQueue key={item.id} item={item} names={names} onGraded={book.reload} onCount={onCount} />
          ) : (
            <QuizQueue key={item.id} item={item} names={names} onGraded={book.reload} onCount={onCount} />
          ),
        )}
      </section>
    </div>
  );
}
