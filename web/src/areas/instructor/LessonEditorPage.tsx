import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import { api } from "../../api/client";
import { toProblem } from "../../api/problem";
import type { Lesson } from "../../api/types";
import { Field } from "../../components/Field";
import { Loading, PageTitle, ProblemAlert } from "../../components/states";
import { useApi } from "../../lib/useApi";
import { LESSON_TYPE_LABEL } from "../public/CoursePage";
import { MarkdownEditor } from "./MarkdownEditor";
import { QuizBuilder } from "./QuizBuilder";
import { loadCourse } from "./CourseWorkspace";
import { CheckField, SelectField } from "./Select";
import type { Module, QuizForStaff } from "./types";
import { UploadField } from "./UploadField";
import { uploadLessonMaterial, uploadLessonVideo } from "./uploads";
import { useAction } from "./useAction";
import { VersionHistory } from "./VersionHistory";

function LessonForm({ lesson, modules, onSaved }: { lesson: Lesson; modules: Module[]; onSaved: (lesson: Lesson) => void }) {
  const [title, setTitle] = useState(lesson.title);
  const [moduleId, setModuleId] = useState(lesson.module_id ?? "");
  const [content, setContent] = useState(lesson.content);
  const [duration, setDuration] = useState(lesson.duration_minutes);
  const [preview, setPreview] = useState(lesson.is_preview);
  const action = useAction();
  const save = (event: FormEvent) => {
    event.preventDefault();
    void action.run(async () => {
      const { data } = await api.patch<Lesson>(`/lessons/${lesson.id}`, { title, content, duration_minutes: duration, is_preview: preview, module_id: moduleId || null });
      onSaved(data);
    });
  };
  return (
    <form onSubmit={save} className="card" aria-label="Lesson">
      <Field label="Lesson title" required value={title} onChange={(e) => setTitle(e.target.value)} />
      <MarkdownEditor label={lesson.type === "text" ? "Content" : "Introduction"} value={content} onChange={setContent} />
      <div className="grid gap-x-4 sm:grid-cols-3">
        <SelectField label="Module" value={moduleId} onChange={(e) => setModuleId(e.target.value)}>
          <option value="">No module</option>
          {modules.map((module) => (
            <option key={module.id} value={module.id}>
              {module.title}
            </option>
          ))}
        </SelectField>
        <Field label="Duration (minutes)" type="number" min={0} value={duration} onChange={(e) => setDuration(Number(e.target.value))} />
        <div className="self-end">
          <CheckField label="Free preview (visible without enrolling)" checked={preview} onChange={setPreview} />
        </div>
      </div>
      <ProblemAlert problem={action.problem} />
      <button type="submit" className="btn" disabled={action.busy}>
        {action.busy ? "Saving…" : "Save lesson"}
      </button>
    </form>
  );
}

function Material({ lesson, reload }: { lesson: Lesson; reload: () => void }) {
  if (lesson.type === "video") {
    return (
      <section aria-labelledby="video-heading" className="card">
        <h2 id="video-heading" className="mb-2 text-lg font-semibold">Video</h2>
        <p className="mb-2 text-sm" data-testid="video-status">
          {lesson.video ? `Status: ${lesson.video.status.replace("_", " ")}${lesson.video.error ? ` (${lesson.video.error})` : ""}` : "No video uploaded yet."}
        </p>
        <UploadField label="Upload a video" accept="video/*" upload={(file, onProgress) => uploadLessonVideo(lesson.id, file, onProgress)} onDone={reload} />
        <button type="button" className="btn-secondary" onClick={reload}>
          Check the video status
        </button>
      </section>
    );
  }
  if (lesson.type === "file") {
    const attach = async (file: File, onProgress: (percent: number) => void) => {
      const fileId = await uploadLessonMaterial(file, onProgress);
      await api.patch(`/lessons/${lesson.id}`, { file_id: fileId });
    };
    return (
      <section aria-labelledby="file-heading" className="card">
        <h2 id="file-heading" className="mb-2 text-lg font-semibold">File</h2>
        <p className="mb-2 text-sm" data-testid="lesson-file">
          {lesson.file ? (
            <a className="link" href={lesson.file.download_url} download={lesson.file.filename}>
              {lesson.file.filename} ({Math.ceil(lesson.file.size_bytes / 1024)} KB)
            </a>
          ) : (
            "No file attached yet."
          )}
        </p>
        <UploadField label="Upload a file" upload={attach} onDone={reload} />
      </section>
    );
  }
  return null;
}

function QuizSection({ lesson }: { lesson: Lesson }) {
  const quiz = useApi(
    () =>
      api.get<QuizForStaff>(`/lessons/${lesson.id}/quiz`).then(
        (r) => r.data,
        (error: unknown) => {
          // No quiz yet: the builder starts from a blank one.
          if (toProblem(error).status === 404) return null;
          throw error;
        },
      ),
    `${lesson.id}:quiz`,
  );
  if (quiz.loading) return <Loading label="Loading the quiz…" />;
  if (quiz.error) return <ProblemAlert problem={quiz.error} onRetry={quiz.reload} />;
  return <QuizBuilder lessonId={lesson.id} quiz={quiz.data} lessonTitle={lesson.title} />;
}

/** One lesson: title, Markdown content with preview, its video, file or quiz, and its versions. */
export function LessonEditorPage() {
  const { courseId = "", lessonId = "" } = useParams();
  const lesson = useApi(() => api.get<Lesson>(`/lessons/${lessonId}`).then((r) => r.data), lessonId);
  const course = useApi(() => loadCourse(courseId), courseId);
  const [notice, setNotice] = useState<string | null>(null);
  // The lesson a save or restore answered, shown until the reload catches up, so the form
  // never shows the text from before the change.
  const [latest, setLatest] = useState<Lesson | null>(null);
  const changed = (updated: Lesson, message: string) => {
    setLatest(updated);
    setNotice(message);
    lesson.reload();
  };
  if (lesson.loading && !lesson.data) return <Loading />;
  if (!lesson.data) return <ProblemAlert problem={lesson.error} onRetry={lesson.reload} />;
  const data = latest && latest.id === lesson.data.id && latest.version > lesson.data.version ? latest : lesson.data;
  return (
    <div className="space-y-4">
      <p className="text-sm">
        <Link className="link" to={`/teach/courses/${courseId}`}>Back to the course</Link>
      </p>
      <PageTitle>
        {data.title} <span className="text-base font-normal text-slate-600">({LESSON_TYPE_LABEL[data.type]}, version {data.version})</span>
      </PageTitle>
      <ProblemAlert problem={lesson.error} onRetry={lesson.reload} />
      <div className="grid gap-4 lg:grid-cols-[1fr_22rem]">
        <div className="min-w-0 space-y-4">
          {notice && (
            <p role="status" className="text-green-800">
              <span aria-hidden="true">✓ </span>
              {notice}
            </p>
          )}
          <LessonForm key={`${data.id}:${data.version}`} lesson={data} modules={course.data?.modules ?? []} onSaved={(saved) => changed(saved, `Saved (version ${saved.version}).`)} />
          <Material lesson={data} reload={lesson.reload} />
          {data.type === "quiz" && <QuizSection lesson={data} />}
          {data.type === "assignment" && (
            <p className="card">
              Learners hand in work through an assignment linked to this lesson. <Link className="link" to={`/teach/courses/${courseId}/assignments`}>Manage assignments</Link>
            </p>
          )}
        </div>
        <VersionHistory lessonId={data.id} current={data.version} onRestored={(restored, version) => changed(restored, `Version ${version} restored as the current text.`)} />
      </div>
    </div>
  );
}
