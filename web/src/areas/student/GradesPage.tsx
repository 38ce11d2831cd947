import { Link } from "react-router";
import { api } from "../../api/client";
import type { MyEnrollment, MyGradeItem, MyGrades, Page } from "../../api/types";
import { Empty, Loading, PageTitle, ProblemAlert } from "../../components/states";
import { useApi } from "../../lib/useApi";

const STATUS_LABEL: Record<MyGradeItem["status"], string> = {
  not_started: "Not started",
  in_progress: "In progress",
  pending_review: "Waiting for review",
  submitted: "Handed in",
  graded: "Graded",
};

function score(item: MyGradeItem): string {
  if (item.points === null || item.points === undefined) return "—";
  const percent = item.score_percent === null || item.score_percent === undefined ? "" : ` (${Math.round(item.score_percent)} %)`;
  return `${item.points} / ${item.max_points}${percent}`;
}

function CourseGrades({ enrollment, grades }: { enrollment: MyEnrollment; grades: MyGrades }) {
  return (
    <section id={`course-${enrollment.course_id}`} className="card" aria-labelledby={`grades-${enrollment.course_id}`}>
      <div className="mb-2 flex flex-wrap items-baseline justify-between gap-2">
        <h2 id={`grades-${enrollment.course_id}`} className="text-lg font-semibold">
          <Link className="link" to={`/my/courses/${enrollment.course.slug}`}>{enrollment.course.title}</Link>
        </h2>
        <p className="text-sm">Overall: {grades.overall_percent === null ? "no grade yet" : `${Math.round(grades.overall_percent)} %`}</p>
      </div>
      {grades.items.length === 0 ? (
        <p className="text-sm text-slate-600">This course has no quiz or assignment.</p>
      ) : (
        <div className="overflow-x-auto">
          <table className="w-full text-left text-sm">
            <thead>
              <tr className="border-b border-slate-200">
                <th scope="col" className="py-1 pr-3">Work</th>
                <th scope="col" className="py-1 pr-3">Status</th>
                <th scope="col" className="py-1 pr-3">Score</th>
                <th scope="col" className="py-1">Feedback</th>
              </tr>
            </thead>
            <tbody>
              {grades.items.map((item) => (
                <tr key={item.id} className="border-b border-slate-100 align-top">
                  <td className="py-1 pr-3">
                    {item.title} <span className="text-slate-600">({item.kind})</span>
                  </td>
                  <td className="py-1 pr-3">
                    {STATUS_LABEL[item.status]}
                    {item.passed === true && " · passed"}
                    {item.passed === false && " · not passed"}
                  </td>
                  <td className="py-1 pr-3">{score(item)}</td>
                  <td className="whitespace-pre-wrap py-1">{item.feedback ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** My grades: every enrolled course's quizzes and assignments, with scores and feedback. */
export function GradesPage() {
  const data = useApi(async () => {
    const { data: enrollments } = await api.get<Page<MyEnrollment>>("/enrollments/me", { params: { limit: 100 } });
    const grades = await Promise.all(enrollments.items.map((item) => api.get<MyGrades>(`/courses/${item.course_id}/grades/me`).then((r) => r.data)));
    return enrollments.items.map((enrollment, index) => ({ enrollment, grades: grades[index] }));
  }, "my-grades");
  return (
    <div>
      <PageTitle>My grades</PageTitle>
      <ProblemAlert problem={data.error} onRetry={data.reload} />
      {data.loading ? (
        <Loading />
      ) : data.data && data.data.length === 0 ? (
        <Empty>
          Grades appear here once you are enrolled in a course. <Link className="link" to="/">Find one in the catalog</Link>.
        </Empty>
      ) : (
        <div className="space-y-4">
          {data.data?.map(({ enrollment, grades }) => <CourseGrades key={enrollment.id} enrollment={enrollment} grades={grades} />)}
        </div>
      )}
    </div>
  );
}
