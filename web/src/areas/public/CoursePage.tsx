import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { api } from "../../api/client";
import { toProblem, type ApiProblem } from "../../api/problem";
import type { CourseDetail } from "../../api/types";
import { Loading, PageTitle, ProblemAlert, ProgressBar } from "../../components/states";
import { useApi } from "../../lib/useApi";
import { useAuth } from "../../stores/auth";
import { price } from "./CatalogPage";

export const LESSON_TYPE_LABEL: Record<string, string> = {
  text: "Reading",
  video: "Video",
  file: "Download",
  quiz: "Quiz",
  assignment: "Assignment",
};

export function CoursePage() {
  const { slug = "" } = useParams();
  const navigate = useNavigate();
  const user = useAuth((state) => state.user);
  const course = useApi(() => api.get<CourseDetail>(`/courses/${encodeURIComponent(slug)}`).then((r) => r.data), `${slug}:${user?.id}`);
  const [pending, setPending] = useState(false);
  const [problem, setProblem] = useState<ApiProblem | null>(null);

  if (course.loading && !course.data) return <Loading />;
  if (course.error || !course.data) return <ProblemAlert problem={course.error} onRetry={course.reload} />;
  const detail = course.data;

  const enroll = async () => {
    setPending(true);
    setProblem(null);
    try {
      await api.post(`/courses/${detail.id}/enroll`);
      navigate(`/my/courses/${detail.slug}`);
    } catch (error) {
      setProblem(toProblem(error));
      setPending(false);
    }
  };

  return (
    <article className="grid gap-6 lg:grid-cols-[2fr_1fr]">
      <div>
        <PageTitle>{detail.title}</PageTitle>
        {detail.subtitle && <p className="mb-3 text-lg text-slate-700">{detail.subtitle}</p>}
        <p className="mb-4 whitespace-pre-line">{detail.description}</p>
        <h2 className="mb-2 text-xl font-semibold">Course outline</h2>
        <ol className="space-y-1">
          {detail.lessons.map((lesson) => (
            <li key={lesson.id} className="flex justify-between rounded border border-slate-200 bg-white px-3 py-2 text-sm">
              <span>
                {lesson.title}
                {lesson.is_preview && <span className="ml-2 rounded bg-slate-100 px-1 text-xs">Preview</span>}
              </span>
              <span className="text-slate-600">
                {LESSON_TYPE_LABEL[lesson.type] ?? lesson.type}
                {lesson.is_completed && " · Done"}
              </span>
            </li>
          ))}
        </ol>
      </div>
      <aside className="card h-fit space-y-3">
        <p className="text-2xl font-bold">{price(detail)}</p>
        <p className="text-sm text-slate-700">
          {detail.level} · {detail.lesson_count} lessons · {detail.enrollment_count} learners
          {detail.certificate_enabled && " · Certificate"}
        </p>
        <ProblemAlert problem={problem} />
        {detail.is_enrolled ? (
          <>
            <ProgressBar percent={detail.progress_percent ?? 0} label="Your progress" />
            <Link className="btn w-full" to={`/my/courses/${detail.slug}`}>
              Continue learning
            </Link>
          </>
        ) : user ? (
          <button type="button" className="btn w-full" disabled={pending} onClick={enroll}>
            {pending ? "Enrolling…" : "Enroll"}
          </button>
        ) : (
          <Link className="btn w-full" to={`/sign-in?next=${encodeURIComponent(`/courses/${detail.slug}`)}`}>
            Sign in to enroll
          </Link>
        )}
      </aside>
    </article>
  );
}
