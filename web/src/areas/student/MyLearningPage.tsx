import { useState } from "react";
import { Link, useSearchParams } from "react-router";
import { api } from "../../api/client";
import { toProblem, type ApiProblem } from "../../api/problem";
import type { ContinueItem, MyEnrollment, Page } from "../../api/types";
import { Empty, Loading, PageTitle, ProblemAlert, ProgressBar } from "../../components/states";
import { useApi } from "../../lib/useApi";
import { useAuth } from "../../stores/auth";

function VerifyEmailBanner() {
  const [state, setState] = useState<"idle" | "sent" | ApiProblem>("idle");
  const resend = () =>
    api.post("/auth/verify-email/request").then(
      () => setState("sent"),
      (error: unknown) => setState(toProblem(error)),
    );
  return (
    <div className="mb-4 rounded-md border border-amber-300 bg-amber-50 p-3" role="note">
      <p>
        <strong>Please verify your email address.</strong> We sent you a link.
      </p>
      {state === "sent" ? (
        <p role="status">A new link is on its way.</p>
      ) : (
        <button type="button" className="btn-secondary mt-2" onClick={resend}>
          Send the link again
        </button>
      )}
      {typeof state === "object" && <ProblemAlert problem={state} />}
    </div>
  );
}

export function MyLearningPage() {
  const user = useAuth((state) => state.user);
  const [params] = useSearchParams();
  const data = useApi(async () => {
    const [enrollments, next] = await Promise.all([
      api.get<Page<MyEnrollment>>("/enrollments/me", { params: { limit: 100 } }),
      api.get<Page<ContinueItem>>("/me/continue", { params: { limit: 100 } }),
    ]);
    return { enrollments: enrollments.data.items, next: next.data.items };
  }, "my-learning");

  return (
    <div>
      <PageTitle>My learning</PageTitle>
      {params.get("welcome") && <p className="mb-3" role="status">Welcome to StudyHall, {user?.full_name}!</p>}
      {user && !user.email_verified && <VerifyEmailBanner />}
      <ProblemAlert problem={data.error} onRetry={data.reload} />
      {data.loading ? (
        <Loading />
      ) : data.data && data.data.enrollments.length === 0 ? (
        <Empty>
          You are not enrolled in any course yet. <Link className="link" to="/">Find one in the catalog</Link>.
        </Empty>
      ) : (
        <ul className="grid gap-4 md:grid-cols-2">
          {data.data?.enrollments.map((enrollment) => {
            const next = data.data?.next.find((item) => item.course.id === enrollment.course_id);
            const target = `/my/courses/${enrollment.course.slug}${next ? `/${next.lesson.id}` : ""}`;
            return (
              <li key={enrollment.id} className="card space-y-3">
                <h2 className="text-lg font-semibold">{enrollment.course.title}</h2>
                <ProgressBar percent={enrollment.progress_percent} label={`${enrollment.completed_lessons} of ${enrollment.total_lessons} lessons`} />
                {enrollment.completed_at ? (
                  <p className="text-sm">
                    <span aria-hidden="true">✓ </span>Completed on {new Date(enrollment.completed_at).toLocaleDateString()}
                  </p>
                ) : (
                  next && <p className="text-sm text-slate-700">Next: {next.lesson.title}</p>
                )}
                <Link className="btn" to={target} aria-label={`${enrollment.completed_at ? "Review" : "Continue"} ${enrollment.course.title}`}>
                  {enrollment.completed_at ? "Review" : "Continue"}
                </Link>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
