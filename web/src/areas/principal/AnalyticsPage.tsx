import { useState } from "react";
import { api } from "../../api/client";
import type { OrganizationAnalytics } from "../../api/types";
import { ColumnChart, PercentBars, Stat } from "../../components/charts";
import { Empty, Loading, ProblemAlert } from "../../components/states";
import { useApi } from "../../lib/useApi";

const percent = (share: number | null) => (share === null ? "—" : `${Math.round(share * 100)} %`);

function daysAgo(days: number): string {
  const date = new Date(Date.now() - days * 86_400_000);
  return date.toISOString().slice(0, 10);
}

/** The organisation's learning at a glance: headline figures, enrollments per day, and the
 * same figures per course and per instructor. */
export function AnalyticsPage({ organizationId }: { organizationId: string }) {
  const [from, setFrom] = useState(daysAgo(30));
  const [to, setTo] = useState(daysAgo(0));
  const analytics = useApi(
    () => api.get<OrganizationAnalytics>(`/organizations/${organizationId}/analytics`, { params: { from: from || undefined, to: to || undefined } }).then((r) => r.data),
    `${organizationId}:${from}:${to}`,
  );
  const data = analytics.data;
  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end gap-3">
        <div>
          <label htmlFor="analytics-from" className="mb-1 block text-sm font-medium">From</label>
          <input id="analytics-from" type="date" className="input" value={from} onChange={(e) => setFrom(e.target.value)} />
        </div>
        <div>
          <label htmlFor="analytics-to" className="mb-1 block text-sm font-medium">To</label>
          <input id="analytics-to" type="date" className="input" value={to} onChange={(e) => setTo(e.target.value)} />
        </div>
      </div>
      <ProblemAlert problem={analytics.error} onRetry={analytics.reload} />
      {analytics.loading ? (
        <Loading />
      ) : (
        data && (
          <>
            <div className="grid grid-cols-2 gap-3 md:grid-cols-4" data-testid="analytics-summary">
              <Stat label="Enrollments" value={String(data.enrollments_total)} />
              <Stat label="Active learners (7 days)" value={String(data.active_learners_7d)} />
              <Stat label="Completion rate" value={percent(data.completion_rate)} />
              <Stat label="Average progress" value={`${Math.round(data.average_progress_percent)} %`} />
            </div>
            <div className="card">
              <ColumnChart title="Enrollments per day" points={data.enrollments_per_day.map((day) => ({ label: day.date, value: day.count }))} />
            </div>
            {data.courses.length === 0 ? (
              <Empty>The organisation has no course yet.</Empty>
            ) : (
              <div className="grid gap-4 md:grid-cols-2">
                <div className="card">
                  <PercentBars title="Average progress per course" points={data.courses.map((course) => ({ label: course.title, value: course.average_progress_percent }))} />
                </div>
                <div className="card">
                  <PercentBars title="Completion rate per instructor" points={data.instructors.map((person) => ({ label: person.full_name, value: person.completion_rate * 100 }))} />
                </div>
              </div>
            )}
            <div className="card overflow-x-auto">
              <h2 className="mb-2 font-semibold">Courses</h2>
              <table className="w-full text-left text-sm">
                <thead>
                  <tr className="border-b border-slate-200">
                    <th scope="col" className="py-1 pr-3">Course</th>
                    <th scope="col" className="py-1 pr-3">Status</th>
                    <th scope="col" className="py-1 pr-3">Enrollments</th>
                    <th scope="col" className="py-1 pr-3">Active (30 days)</th>
                    <th scope="col" className="py-1 pr-3">Completion</th>
                    <th scope="col" className="py-1">Quiz pass rate</th>
                  </tr>
                </thead>
                <tbody>
                  {data.courses.map((course) => (
                    <tr key={course.course_id} className="border-b border-slate-100">
                      <td className="py-1 pr-3">{course.title}</td>
                      <td className="py-1 pr-3">{course.status}</td>
                      <td className="py-1 pr-3">{course.enrollments_total}</td>
                      <td className="py-1 pr-3">{course.active_learners_30d}</td>
                      <td className="py-1 pr-3">{percent(course.completion_rate)}</td>
                      <td className="py-1">{percent(course.quiz_pass_rate)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )
      )}
    </div>
  );
}
