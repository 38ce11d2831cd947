import { useState, type FormEvent } from "react";
import { api } from "../../api/client";
import type { Page } from "../../api/types";
import { Field } from "../../components/Field";
import { Empty, Loading, ProblemAlert } from "../../components/states";
import { useApi } from "../../lib/useApi";
import { useCourse } from "./CourseWorkspace";
import { SelectField, TextAreaField } from "./Select";
import type { Assignment } from "./types";
import { useAction } from "./useAction";

interface AssignmentDraft {
  title: string;
  instructions: string;
  due_at: string;
  max_points: number;
  lesson_id: string;
}

/** `datetime-local` works in local time without a zone; the API takes UTC instants. */
export function toLocalInput(iso: string | null): string {
  if (!iso) return "";
  const date = new Date(iso);
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

const draftOf = (assignment?: Assignment): AssignmentDraft => ({
  title: assignment?.title ?? "",
  instructions: assignment?.instructions ?? "",
  due_at: toLocalInput(assignment?.due_at ?? null),
  max_points: assignment?.max_points ?? 10,
  lesson_id: assignment?.lesson_id ?? "",
});

const bodyOf = (draft: AssignmentDraft) => ({
  title: draft.title,
  instructions: draft.instructions,
  due_at: draft.due_at ? new Date(draft.due_at).toISOString() : null,
  max_points: draft.max_points,
  lesson_id: draft.lesson_id || null,
});

function AssignmentForm({ initial, submitLabel, onSubmit, onCancel }: { initial: AssignmentDraft; submitLabel: string; onSubmit: (draft: AssignmentDraft) => Promise<boolean>; onCancel?: () => void }) {
  const { course } = useCourse();
  const [draft, setDraft] = useState(initial);
  const set = (fields: Partial<AssignmentDraft>) => setDraft((current) => ({ ...current, ...fields }));
  const lessons = course.lessons.filter((lesson) => lesson.type === "assignment");
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (await onSubmit(draft)) setDraft(initial);
  };
  return (
    <form onSubmit={submit} className="grid gap-x-4 sm:grid-cols-2" aria-label={submitLabel}>
      <Field label="Assignment title" required value={draft.title} onChange={(e) => set({ title: e.target.value })} />
      <Field label="Maximum points" type="number" min={0} step="any" required value={draft.max_points} onChange={(e) => set({ max_points: Number(e.target.value) })} />
      <div className="sm:col-span-2">
        <TextAreaField label="Instructions" value={draft.instructions} onChange={(e) => set({ instructions: e.target.value })} />
      </div>
      <Field label="Due (your local time)" hint="Empty: no due date" type="datetime-local" value={draft.due_at} onChange={(e) => set({ due_at: e.target.value })} />
      <SelectField label="Linked lesson" value={draft.lesson_id} onChange={(e) => set({ lesson_id: e.target.value })}>
        <option value="">None</option>
        {lessons.map((lesson) => (
          <option key={lesson.id} value={lesson.id}>
            {lesson.title}
          </option>
        ))}
      </SelectField>
      <div className="flex gap-2 sm:col-span-2">
        <button type="submit" className="btn">
          {submitLabel}
        </button>
        {onCancel && (
          <button type="button" className="btn-secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}

/** The course's assignments: create, edit, delete. */
export function AssignmentsPage() {
  const { course } = useCourse();
  const assignments = useApi(() => api.get<Page<Assignment>>(`/courses/${course.id}/assignments`, { params: { limit: 100 } }).then((r) => r.data), course.id);
  const [editing, setEditing] = useState<string | null>(null);
  const action = useAction();
  const save = async (work: () => Promise<unknown>) => {
    const done = await action.run(async () => {
      await work();
      return true;
    });
    if (done) {
      setEditing(null);
      assignments.reload();
    }
    return done === true;
  };
  return (
    <div className="space-y-6">
      <ProblemAlert problem={action.problem} />
      <section aria-labelledby="assignments-heading" className="card space-y-3">
        <h2 id="assignments-heading" className="text-lg font-semibold">Assignments</h2>
        <ProblemAlert problem={assignments.error} onRetry={assignments.reload} />
        {assignments.loading ? (
          <Loading />
        ) : !assignments.data?.items.length ? (
          <Empty>No assignment yet.</Empty>
        ) : (
          <ul className="space-y-3">
            {assignments.data.items.map((assignment) => (
              <li key={assignment.id} className="rounded-md border border-slate-200 p-3">
                {editing === assignment.id ? (
                  <AssignmentForm initial={draftOf(assignment)} submitLabel={`Save ${assignment.title}`} onCancel={() => setEditing(null)} onSubmit={(draft) => save(() => api.patch(`/assignments/${assignment.id}`, bodyOf(draft)))} />
                ) : (
                  <div className="flex flex-wrap items-start justify-between gap-2">
                    <div>
                      <h3 className="font-semibold">{assignment.title}</h3>
                      <p className="text-sm text-slate-700">
                        {assignment.max_points} points · {assignment.due_at ? `due ${new Date(assignment.due_at).toLocaleString()}` : "no due date"}
                      </p>
                      {assignment.instructions && <p className="mt-1 whitespace-pre-line text-sm">{assignment.instructions}</p>}
                    </div>
                    <div className="flex gap-2">
                      <button type="button" className="btn-secondary" onClick={() => setEditing(assignment.id)} aria-label={`Edit ${assignment.title}`}>
                        Edit
                      </button>
                      <button
                        type="button"
                        className="btn-secondary"
                        disabled={action.busy}
                        aria-label={`Delete ${assignment.title}`}
                        onClick={() => window.confirm(`Delete "${assignment.title}"?`) && void save(() => api.delete(`/assignments/${assignment.id}`))}
                      >
                        Delete
                      </button>
                    </div>
                  </div>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="new-assignment-heading" className="card">
        <h2 id="new-assignment-heading" className="mb-2 text-lg font-semibold">New assignment</h2>
        <AssignmentForm initial={draftOf()} submitLabel="Create assignment" onSubmit={(draft) => save(() => api.post(`/courses/${course.id}/assignments`, bodyOf(draft)))} />
      </section>
    </div>
  );
}
