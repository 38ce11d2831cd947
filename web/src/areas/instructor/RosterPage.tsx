import { useState } from "react";
import { api } from "../../api/client";
import type { Page } from "../../api/types";
import { Pagination } from "../../components/Pagination";
import { Empty, Loading, ProblemAlert, ProgressBar } from "../../components/states";
import { useApi } from "../../lib/useApi";
import { useCourse } from "./CourseWorkspace";
import type { RosterEntry } from "./types";

const PAGE = 50;

/** Who is enrolled, and how far each learner is. */
export function RosterPage() {
  const { course } = useCourse();
  const [offset, setOffset] = useState(0);
  const roster = useApi(() => api.get<Page<RosterEntry>>(`/courses/${course.id}/enrollments`, { params: { limit: PAGE, offset } }).then((r) => r.data), `${course.id}:${offset}`);
  if (roster.loading && !roster.data) return <Loading />;
  if (roster.error) return <ProblemAlert problem={roster.error} onRetry={roster.reload} />;
  if (!roster.data?.items.length) return <Empty>Nobody is enrolled yet.</Empty>;
  return (
    <section aria-labelledby="roster-heading" className="card space-y-3">
      <h2 id="roster-heading" className="text-lg font-semibold">Roster ({roster.data.total})</h2>
      <div className="overflow-x-auto">
        <table className="w-full border-collapse text-left text-sm">
          <thead>
            <tr className="border-b border-slate-300">
              <th scope="col" className="py-2">Learner</th>
              <th scope="col">Email</th>
              <th scope="col">Enrolled</th>
              <th scope="col" className="min-w-40">Progress</th>
              <th scope="col">Last activity</th>
            </tr>
          </thead>
          <tbody>
            {roster.data.items.map((entry) => (
              <tr key={entry.enrollment_id} className="border-b border-slate-200">
                <td className="py-2">{entry.student.full_name}</td>
                <td>{entry.student.email}</td>
                <td>{new Date(entry.enrolled_at).toLocaleDateString()}</td>
                <td className="pr-2">
                  <ProgressBar percent={entry.progress_percent} label={`${entry.completed_lessons} of ${entry.total_lessons} lessons`} />
                </td>
                <td>{entry.last_activity_at ? new Date(entry.last_activity_at).toLocaleString() : "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Pagination total={roster.data.total} limit={PAGE} offset={offset} onChange={setOffset} />
    </section>
  );
}
