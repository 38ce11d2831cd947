import { useState } from "react";
import { Link, Navigate, useParams } from "react-router";
import { api } from "../../api/client";
import { toProblem, type ApiProblem } from "../../api/problem";
import type { CourseDetail, CourseProgress, Lesson, LessonOutline, QuizForStudent } from "../../api/types";
import { Loading, ProblemAlert, ProgressBar } from "../../components/states";
import { useApi } from "../../lib/useApi";
import { LESSON_TYPE_LABEL } from "../public/CoursePage";
import { AssignmentPanel } from "./AssignmentPanel";
import { QuizPlayer } from "./QuizPlayer";
import { VideoLesson } from "./VideoLesson";

const SELF_COMPLETED = new Set(["text", "video", "file"]);

function Outline({ course, lessons, current, progress }: { course: CourseDetail; lessons: LessonOutline[]; current: string; progress: CourseProgress }) {
  const done = new Set(progress.lessons.filter((item) => item.is_completed).map((item) => item.lesson_id));
  return (
    <nav aria-label="Course outline" className="card h-fit">
      <h2 className="mb-2 font-semibold">{course.title}</h2>
      <ProgressBar percent={progress.progress_percent} label="Course progress" />
      <ol className="mt-3 space-y-1 text-sm">
        {lessons.map((lesson) => (
          <li key={lesson.id}>
            <Link
              to={`/my/courses/${course.slug}/${lesson.id}`}
              aria-current={lesson.id === current ? "page" : undefined}
              className={`flex justify-between gap-2 rounded px-2 py-1 hover:bg-slate-100 ${lesson.id === current ? "bg-indigo-50 font-semibold" : ""}`}
            >
              <span>{lesson.title}</span>
              <span className="shrink-0 text-slate-600">
                {done.has(lesson.id) ? (
                  <>
                    <span aria-hidden="true">✓</span>
                    <span className="sr-only">completed</span>
                  </>
                ) : (
                  LESSON_TYPE_LABEL[lesson.type]
                )}
              </span>
            </Link>
          </li>
        ))}
      </ol>
      <p className="mt-3 flex flex-wrap gap-3 border-t border-slate-200 pt-3 text-sm">
        <Link className="link" to={`/my/courses/${course.slug}/discussion`}>Discussion</Link>
        <Link className="link" to={`/my/courses/${course.slug}/chat`}>Chat</Link>
        <Link className="link" to={`/my/grades#course-${course.id}`}>Grades</Link>
      </p>
    </nav>
  );
}

function LessonBody({ lesson, resumeAt, onProgress }: { lesson: Lesson; resumeAt: number; onProgress: () => void }) {
  const quiz = useApi(
    () => (lesson.type === "quiz" ? api.get<QuizForStudent>(`/lessons/${lesson.id}/quiz`).then((r) => r.data) : Promise.resolve(null)),
    `${lesson.id}:quiz`,
  );
  return (
    <div className="space-y-4">
      {lesson.type === "video" && <VideoLesson lessonId={lesson.id} resumeAt={resumeAt} onCompleted={onProgress} />}
      {lesson.content_html && (
        // Rendered and sanitised by the API (Markdown → HTML through an allow-list).
        <div className="lesson-content" dangerouslySetInnerHTML={{ __html: lesson.content_html }} />
      )}
      {lesson.type === "file" && lesson.file && (
        <p>
          <a className="btn-secondary" href={lesson.file.download_url} download={lesson.file.filename}>
            Download {lesson.file.filename} ({Math.ceil(lesson.file.size_bytes / 1024)} KB)
          </a>
        </p>
      )}
      {lesson.type === "quiz" && (quiz.loading ? <Loading /> : quiz.error ? <ProblemAlert problem={quiz.error} /> : quiz.data && <QuizPlayer quiz={quiz.data} onSubmitted={onProgress} />)}
      {lesson.type === "assignment" && <AssignmentPanel courseId={lesson.course_id} lessonId={lesson.id} onSubmitted={onProgress} />}
    </div>
  );
}

export function CoursePlayerPage() {
  const { slug = "", lessonId } = useParams();
  const course = useApi(async () => {
    const { data } = await api.get<CourseDetail>(`/courses/${encodeURIComponent(slug)}`);
    return data;
  }, slug);
  const progress = useApi(
    () => (course.data ? api.get<CourseProgress>(`/courses/${course.data.id}/progress`).then((r) => r.data) : new Promise<never>(() => undefined)),
    course.data?.id ?? "",
  );
  const lessons = course.data?.lessons ?? [];
  const firstOpen = lessons.find((item) => !progress.data?.lessons.some((p) => p.lesson_id === item.id && p.is_completed));
  const currentId = lessonId ?? firstOpen?.id ?? lessons[0]?.id ?? "";
  const lesson = useApi(() => (currentId ? api.get<Lesson>(`/lessons/${currentId}`).then((r) => r.data) : Promise.resolve(null)), currentId);
  const [completing, setCompleting] = useState(false);
  const [problem, setProblem] = useState<ApiProblem | null>(null);

  if (course.loading || (progress.loading && !progress.data)) return <Loading />;
  if (course.error || !course.data) return <ProblemAlert problem={course.error} onRetry={course.reload} />;
  if (progress.error || !progress.data) return <ProblemAlert problem={progress.error} onRetry={progress.reload} />;
  if (lessons.length === 0) return <p>This course has no lessons yet.</p>;
  // Pin the lesson in the address, so completing it does not move the page on.
  if (!lessonId) return <Navigate replace to={`/my/courses/${course.data.slug}/${currentId}`} />;

  const state = progress.data.lessons.find((item) => item.lesson_id === currentId);
  const index = lessons.findIndex((item) => item.id === currentId);
  const next = lessons[index + 1];
  const complete = async () => {
    setCompleting(true);
    setProblem(null);
    try {
      await api.post(`/lessons/${currentId}/complete`);
      progress.reload();
    } catch (error) {
      setProblem(toProblem(error));
    } finally {
      setCompleting(false);
    }
  };

  return (
    <div className="grid gap-6 lg:grid-cols-[18rem_1fr]">
      <Outline course={course.data} lessons={lessons} current={currentId} progress={progress.data} />
      <article className="min-w-0 space-y-4">
        {progress.data.completed_at && (
          <p role="status" className="rounded-md border border-green-300 bg-green-50 p-3 text-green-900">
            <span aria-hidden="true">✓ </span>You completed this course.
            {course.data.certificate_enabled && (
              <>
                {" "}Your certificate will be in <Link className="link" to="/my/certificates">My certificates</Link>.
              </>
            )}
          </p>
        )}
        {lesson.loading ? (
          <Loading />
        ) : lesson.error || !lesson.data ? (
          <ProblemAlert problem={lesson.error} onRetry={lesson.reload} />
        ) : (
          <>
            <h1 className="text-2xl font-bold">{lesson.data.title}</h1>
            <LessonBody key={lesson.data.id} lesson={lesson.data} resumeAt={state?.position_seconds ?? 0} onProgress={progress.reload} />
            <ProblemAlert problem={problem} />
            <div className="flex flex-wrap items-center gap-3 border-t border-slate-200 pt-4">
              {SELF_COMPLETED.has(lesson.data.type) &&
                (state?.is_completed ? (
                  <p role="status">
                    <span aria-hidden="true">✓ </span>Lesson completed
                  </p>
                ) : (
                  <button type="button" className="btn" disabled={completing} onClick={complete}>
                    {completing ? "Saving…" : "Mark as complete"}
                  </button>
                ))}
              {next && (
                <Link className="btn-secondary" to={`/my/courses/${course.data.slug}/${next.id}`}>
                  Next: {next.title}
                </Link>
              )}
            </div>
          </>
        )}
      </article>
    </div>
  );
}
