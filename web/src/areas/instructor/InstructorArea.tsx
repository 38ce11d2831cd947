import { Link } from "react-router";
import { api } from "../../api/client";
import type { Course, Page } from "../../api/types";
import { Empty, Loading, PageTitle, ProblemAlert } from "../../components/states";
import { useApi } from "../../lib/useApi";

/** The instructor's courses, drafts included. */
export default function InstructorArea() {
  const courses = useApi(() => api.get<Page<Course>>("/courses", { params: { mine: true, limit: 100 } }).then((r) => r.data), "mine");
  return (
    <div>
      <PageTitle>My courses</PageTitle>
      <ProblemAlert problem={courses.error} onRetry={courses.reload} />
      {courses.loading ? (
        <Loading />
      ) : courses.data?.items.length === 0 ? (
        <Empty>You have no course yet.</Empty>
      ) : (
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
                  <Link className="link" to={`/courses/${course.slug}`}>{course.title}</Link>
                </td>
                <td>{course.status}</td>
                <td>{course.lesson_count}</td>
                <td>{course.enrollment_count}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
