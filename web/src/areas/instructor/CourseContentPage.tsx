import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { api } from "../../api/client";
import type { LessonOutline } from "../../api/types";
import { Field } from "../../components/Field";
import { Empty, ProblemAlert } from "../../components/states";
import { LESSON_TYPE_LABEL } from "../public/CoursePage";
import { useCourse } from "./CourseWorkspace";
import { ReorderList } from "./ReorderList";
import { SelectField } from "./Select";
import type { LessonType, Module } from "./types";
import { useAction } from "./useAction";

interface Deleted {
  kind: "module" | "lesson";
  id: string;
  title: string;
}

const LESSON_TYPES: LessonType[] = ["text", "video", "file", "quiz", "assignment"];

function ModuleForm({ onAdd, busy }: { onAdd: (title: string) => Promise<boolean | undefined>; busy: boolean }) {
  const [title, setTitle] = useState("");
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (await onAdd(title)) setTitle("");
  };
  return (
    <form onSubmit={submit} className="flex flex-wrap items-end gap-2">
      <div className="min-w-48 flex-1">
        <Field label="New module title" required value={title} onChange={(e) => setTitle(e.target.value)} />
      </div>
      <button type="submit" className="btn mb-3" disabled={busy}>
        Add module
      </button>
    </form>
  );
}

function LessonForm({ modules, onAdd, busy }: { modules: Module[]; onAdd: (body: { title: string; type: LessonType; module_id: string | null }) => Promise<boolean | undefined>; busy: boolean }) {
  const [title, setTitle] = useState("");
  const [type, setType] = useState<LessonType>("text");
  const [moduleId, setModuleId] = useState("");
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (await onAdd({ title, type, module_id: moduleId || null })) setTitle("");
  };
  return (
    <form onSubmit={submit} className="grid items-end gap-x-2 sm:grid-cols-[1fr_10rem_12rem_auto]">
      <Field label="New lesson title" required value={title} onChange={(e) => setTitle(e.target.value)} />
      <SelectField label="Lesson type" value={type} onChange={(e) => setType(e.target.value as LessonType)}>
        {LESSON_TYPES.map((item) => (
          <option key={item} value={item}>
            {LESSON_TYPE_LABEL[item]}
          </option>
        ))}
      </SelectField>
      <SelectField label="In module" value={moduleId} onChange={(e) => setModuleId(e.target.value)}>
        <option value="">No module</option>
        {modules.map((module) => (
          <option key={module.id} value={module.id}>
            {module.title}
          </option>
        ))}
      </SelectField>
      <button type="submit" className="btn mb-3" disabled={busy}>
        Add lesson
      </button>
    </form>
  );
}

function ModuleTitle({ module, onRename, busy }: { module: Module; onRename: (title: string) => Promise<boolean | undefined>; busy: boolean }) {
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(module.title);
  if (!editing)
    return (
      <div className="flex flex-wrap items-center gap-2">
        <span className="font-medium">{module.title}</span>
        <button type="button" className="btn-secondary" onClick={() => setEditing(true)} aria-label={`Rename ${module.title}`}>
          Rename
        </button>
      </div>
    );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (await onRename(title)) setEditing(false);
  };
  return (
    <form onSubmit={submit} className="flex flex-wrap items-end gap-2">
      <Field label="Module title" required value={title} onChange={(e) => setTitle(e.target.value)} />
      <button type="submit" className="btn-secondary mb-3" disabled={busy}>
        Save
      </button>
      <button type="button" className="btn-secondary mb-3" onClick={() => setEditing(false)}>
        Cancel
      </button>
    </form>
  );
}

/** The course editor's outline: modules and lessons, added, renamed, moved, deleted and
 * restored. */
export function CourseContentPage() {
  const { course, reload } = useCourse();
  const action = useAction();
  const [deleted, setDeleted] = useState<Deleted[]>([]);
  // The order shown while a reorder is on its way, so the list does not jump back.
  const [pendingLessons, setPendingLessons] = useState<LessonOutline[] | null>(null);
  const [pendingModules, setPendingModules] = useState<Module[] | null>(null);
  const modules = pendingModules ?? course.modules;
  const lessons = pendingLessons ?? course.lessons;
  const moduleTitle = new Map(course.modules.map((module) => [module.id, module.title]));

  /** Runs a change, then reads the course again; true when it went through. */
  const change = (work: () => Promise<unknown>) =>
    action.run(async () => {
      try {
        await work();
        return true;
      } finally {
        setPendingLessons(null);
        setPendingModules(null);
        reload();
      }
    });

  const remove = (item: Deleted) =>
    change(async () => {
      await api.delete(item.kind === "module" ? `/modules/${item.id}` : `/lessons/${item.id}`);
      setDeleted((current) => [item, ...current]);
    });
  const restore = (item: Deleted) =>
    change(async () => {
      await api.post(item.kind === "module" ? `/modules/${item.id}/restore` : `/lessons/${item.id}/restore`);
      setDeleted((current) => current.filter((entry) => entry.id !== item.id));
    });

  return (
    <div className="space-y-6">
      <ProblemAlert problem={action.problem} />
      <section aria-labelledby="modules-heading" className="card space-y-3">
        <h2 id="modules-heading" className="text-lg font-semibold">Modules</h2>
        {modules.length === 0 ? (
          <Empty>No module yet. Modules group lessons into weeks or chapters.</Empty>
        ) : (
          <ReorderList
            items={modules}
            label="Modules"
            keyOf={(module) => module.id}
            nameOf={(module) => module.title}
            disabled={action.busy}
            onReorder={(next, { item, to }) => {
              setPendingModules(next);
              void change(() => api.patch(`/modules/${item.id}`, { order: to }));
            }}
            render={(module) => (
              <div className="flex flex-wrap items-center justify-between gap-2">
                <ModuleTitle module={module} busy={action.busy} onRename={(title) => change(() => api.patch(`/modules/${module.id}`, { title }))} />
                <button type="button" className="btn-secondary" disabled={action.busy} onClick={() => remove({ kind: "module", id: module.id, title: module.title })} aria-label={`Delete module ${module.title}`}>
                  Delete
                </button>
              </div>
            )}
          />
        )}
        <ModuleForm busy={action.busy} onAdd={(title) => change(() => api.post(`/courses/${course.id}/modules`, { title }))} />
      </section>

      <section aria-labelledby="lessons-heading" className="card space-y-3">
        <h2 id="lessons-heading" className="text-lg font-semibold">Lessons</h2>
        <p className="text-sm text-slate-600">Drag a lesson, or use its arrows, to change the order learners follow.</p>
        {lessons.length === 0 ? (
          <Empty>No lesson yet. A course needs at least one lesson before it can be published.</Empty>
        ) : (
          <ReorderList
            items={lessons}
            label="Lessons"
            keyOf={(lesson) => lesson.id}
            nameOf={(lesson) => lesson.title}
            disabled={action.busy}
            onReorder={(next) => {
              setPendingLessons(next);
              void change(() => api.put(`/courses/${course.id}/lessons/order`, { lesson_ids: next.map((lesson) => lesson.id) }));
            }}
            render={(lesson) => (
              <div className="flex flex-wrap items-center justify-between gap-2">
                <div>
                  <Link className="link font-medium" to={`/teach/courses/${course.id}/lessons/${lesson.id}`}>
                    {lesson.title}
                  </Link>
                  <span className="ml-2 text-sm text-slate-600">
                    {LESSON_TYPE_LABEL[lesson.type]}
                    {lesson.module_id && moduleTitle.has(lesson.module_id) ? ` · ${moduleTitle.get(lesson.module_id)}` : ""}
                  </span>
                </div>
                <button type="button" className="btn-secondary" disabled={action.busy} onClick={() => remove({ kind: "lesson", id: lesson.id, title: lesson.title })} aria-label={`Delete lesson ${lesson.title}`}>
                  Delete
                </button>
              </div>
            )}
          />
        )}
        <LessonForm modules={course.modules} busy={action.busy} onAdd={(body) => change(() => api.post(`/courses/${course.id}/lessons`, body))} />
      </section>

      {deleted.length > 0 && (
        <section aria-labelledby="deleted-heading" className="card space-y-2">
          <h2 id="deleted-heading" className="text-lg font-semibold">Deleted just now</h2>
          <ul className="space-y-1">
            {deleted.map((item) => (
              <li key={item.id} className="flex items-center justify-between gap-2">
                <span>
                  {item.kind === "module" ? "Module" : "Lesson"} “{item.title}”
                </span>
                <button type="button" className="btn-secondary" disabled={action.busy} onClick={() => restore(item)}>
                  Restore {item.title}
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
