import { useState, type FormEvent } from "react";
import { api } from "../../api/client";
import { toProblem, type ApiProblem } from "../../api/problem";
import type { Assignment, FileInfo, Page, Submission } from "../../api/types";
import { Empty, Loading, ProblemAlert, ProgressBar } from "../../components/states";
import { useApi } from "../../lib/useApi";
import { uploadFile } from "../../lib/upload";

/** The instructor's verdict on a submission, or where it stands until then. */
function SubmissionStatus({ submission, assignment }: { submission: Submission; assignment: Assignment }) {
  return (
    <div className="card space-y-1" data-testid="submission">
      <h3 className="font-semibold">Your submission</h3>
      <p className="text-sm text-slate-700">
        Version {submission.revision}, handed in {new Date(submission.submitted_at).toLocaleString()}
        {submission.is_late && " · late"}
      </p>
      {submission.text && <p className="whitespace-pre-wrap">{submission.text}</p>}
      {submission.file_ids.length > 0 && <p className="text-sm">{submission.file_ids.length} file(s) attached</p>}
      {submission.status === "graded" ? (
        <div role="status" className="rounded-md border border-green-300 bg-green-50 p-2">
          <p className="font-medium">
            <span aria-hidden="true">✓ </span>Graded: {submission.points} of {assignment.max_points} points
          </p>
          {submission.feedback && <p className="whitespace-pre-wrap text-sm">Feedback: {submission.feedback}</p>}
        </div>
      ) : (
        <p role="status" className="text-sm">Waiting for your instructor's grade. You may hand in again until then.</p>
      )}
    </div>
  );
}

function SubmissionForm({ assignment, onSubmitted }: { assignment: Assignment; onSubmitted: () => void }) {
  const [text, setText] = useState("");
  const [files, setFiles] = useState<File[]>([]);
  const [progress, setProgress] = useState<{ name: string; percent: number } | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [pending, setPending] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setPending(true);
    setProblem(null);
    try {
      const uploaded: FileInfo[] = [];
      for (const file of files) {
        uploaded.push(await uploadFile(file, "submission", (percent) => setProgress({ name: file.name, percent })));
      }
      await api.post<Submission>(`/assignments/${assignment.id}/submissions`, {
        text: text.trim() || null,
        file_ids: uploaded.map((file) => file.id),
      });
      setText("");
      setFiles([]);
      onSubmitted();
    } catch (error) {
      setProblem(toProblem(error));
    } finally {
      setPending(false);
      setProgress(null);
    }
  };

  return (
    <form onSubmit={submit} className="card space-y-3">
      <h3 className="font-semibold">Hand in</h3>
      <ProblemAlert problem={problem} />
      <div>
        <label htmlFor="submission-text" className="mb-1 block text-sm font-medium">
          Your answer
        </label>
        <textarea id="submission-text" className="input min-h-32" value={text} onChange={(e) => setText(e.target.value)} />
      </div>
      <div>
        <label htmlFor="submission-files" className="mb-1 block text-sm font-medium">
          Files
        </label>
        <input id="submission-files" type="file" multiple className="block w-full text-sm" onChange={(e) => setFiles(Array.from(e.target.files ?? []))} />
      </div>
      {progress && <ProgressBar percent={progress.percent} label={`Uploading ${progress.name}`} />}
      <button type="submit" className="btn" disabled={pending || (!text.trim() && files.length === 0)}>
        {pending ? "Handing in…" : "Hand in"}
      </button>
    </form>
  );
}

/** An assignment lesson: the instructions, the student's submission with its grade and
 * feedback, and the form to hand in (files go through the presigned upload flow). */
export function AssignmentPanel({ courseId, lessonId, onSubmitted }: { courseId: string; lessonId: string; onSubmitted: () => void }) {
  const assignment = useApi(async () => {
    const { data } = await api.get<Page<Assignment>>(`/courses/${courseId}/assignments`, { params: { limit: 100 } });
    return data.items.find((item) => item.lesson_id === lessonId) ?? null;
  }, `${courseId}:${lessonId}`);
  const submissions = useApi(
    () =>
      assignment.data
        ? api.get<Page<Submission>>(`/assignments/${assignment.data.id}/submissions`, { params: { limit: 1 } }).then((r) => r.data.items)
        : Promise.resolve([]),
    assignment.data?.id ?? "",
  );
  if (assignment.loading) return <Loading />;
  if (assignment.error) return <ProblemAlert problem={assignment.error} onRetry={assignment.reload} />;
  if (!assignment.data) return <Empty>Your instructor has not set this assignment up yet.</Empty>;
  const current = submissions.data?.[0];
  return (
    <section aria-labelledby="assignment-title" className="space-y-4">
      <h2 id="assignment-title" className="text-xl font-semibold">{assignment.data.title}</h2>
      <p className="text-sm text-slate-700">
        {assignment.data.max_points} points
        {assignment.data.due_at && ` · due ${new Date(assignment.data.due_at).toLocaleString()}`}
      </p>
      <p className="whitespace-pre-wrap">{assignment.data.instructions}</p>
      {submissions.loading ? (
        <Loading />
      ) : submissions.error ? (
        <ProblemAlert problem={submissions.error} onRetry={submissions.reload} />
      ) : (
        <>
          {current && <SubmissionStatus submission={current} assignment={assignment.data} />}
          {current?.status !== "graded" && (
            <SubmissionForm
              assignment={assignment.data}
              onSubmitted={() => {
                submissions.reload();
                onSubmitted();
              }}
            />
          )}
        </>
      )}
    </section>
  );
}
