import { Link } from "react-router";
import { api } from "../../api/client";
import type { Course, Page } from "../../api/types";
import { Empty, Loading, PageTitle, ProblemAlert } from "../../components/states";
import { useApi } from "../../lib/useApi";
import { useAction } from "./useAction";

function Trash({ onRestored }: { onRestored: () => void }) {
  const trash = useApi(() => api.get<Page<Course>>("/courses/trash", { params: { limit: 100 } }).then((r) => r.data), "trash");
  const action = useAction();
  if (trash.loading) return <Loading label="Loading the trash…" />;
  if (trash.error) return <ProblemAlert problem={trash.error} onRetry={trash.reload} />;
  if (!trash.data?.items.length) return <Empty>The trash is empty.</Empty>;
  const restore = (course: Course) =>
    action.run(async () => {
      await api.post(`/courses/${course.id}/restore`);
      trash.reload();
      onRestored();
    });
  return (
    <>
      <ProblemAlert problem={action.problem} />
      <ul className="space-y-2">
        {trash.data.items.map((course) => (
          <li key={course.id} className="flex items-center justify-between gap-2 rounded-md border border-slate-200 p-2">
            <span>{course.title}</span>
            <button type="button" className="btn-secondary" disabled={action.busy} onClick={() => restore(course)}>
              Restore {course.title}
            </button>
          </li>
        ))}
      </ul>
    </>
  );
}

/** The instructor's courses, drafts included, and the deleted ones they may restore. */
export function MyCoursesPage() {
  const courses = useApi(() => api.get<Page<Course>>("/courses", { params: { mine: true, limit: 100 } }).then((r) => r.data), "mine");
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <PageTitle>My courses</PageTitle>
        <Link className="btn" to="/teach/new">
          New course
        </Link>
      </div>
      <ProblemAlert problem={courses.error} onRetry={courses.reload} />
      {courses.loading ? (
        <Loading />
      ) : courses.data?.items.length === 0 ? (
        <Empty>You have no course yet.</Empty>
      ) : (
        <div className="overflow-x-auto">
          <table className="w-full border-collapse text-left text-sm">
            <caption className="sr-only">My courses</caption>
            <thead>
              <tr className="border-b border-slate-300">
                <th scope="col" className="py-2">Course</th>
                <th scope="col">Status</th>
                <th scope="col">Lessons</th>
                <th scope="col">Learners</th>
              </tr>
            </thead>
            <tbody>
              {courses.data?.items.map((course) => (
                <tr key={course.id} className="border-b border-slate-200">
                  <td className="py-2">
                    <Link className="link" to={`/teach/courses/${course.id}`}>{course.title}</Link>
                  </td>
                  <td>{course.status}</td>
                  <td>{course.lesson_count}</td>
                  <td>{course.enrollment_count}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <section aria-labelledby="trash-heading">
        <h2 id="trash-heading" className="mb-2 text-lg font-semibold">Trash</h2>
        <Trash onRestored={courses.reload} />
      </section>
    </div>
  );
}
