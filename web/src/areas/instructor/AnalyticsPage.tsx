import { useState } from "react";
import { api } from "../../api/client";
import { Field } from "../../components/Field";
import { Empty, Loading, ProblemAlert } from "../../components/states";
import { useApi } from "../../lib/useApi";
import { BarList, ColumnChart, Ring } from "./charts";
import { useCourse } from "./CourseWorkspace";
import type { CourseAnalytics } from "./types";

const percent = (value: number) => `${Math.round(value)} %`;

function Figure({ label, value }: { label: string; value: string | number }) {
  return (
    <div className="rounded-md border border-slate-200 p-3">
      <p className="text-2xl font-bold">{value}</p>
      <p className="text-sm text-slate-700">{label}</p>
    </div>
  );
}

/** The course's analytics as charts, over an optional date range. */
export function AnalyticsPage() {
  const { course } = useCourse();
  const [range, setRange] = useState({ from: "", to: "" });
  const params = { ...(range.from ? { from: range.from } : {}), ...(range.to ? { to: range.to } : {}) };
  const figures = useApi(() => api.get<CourseAnalytics>(`/courses/${course.id}/analytics`, { params }).then((r) => r.data), `${course.id}:${range.from}:${range.to}`);
  const data = figures.data;
  const lessonNames = new Map(course.lessons.map((lesson) => [lesson.id, lesson.title]));
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap gap-3">
        <Field label="From" type="date" value={range.from} onChange={(e) => setRange((current) => ({ ...current, from: e.target.value }))} />
        <Field label="To" type="date" value={range.to} onChange={(e) => setRange((current) => ({ ...current, to: e.target.value }))} />
      </div>
      <ProblemAlert problem={figures.error} onRetry={figures.reload} />
      {figures.loading && !data ? (
        <Loading />
      ) : !data ? null : data.enrollments_total === 0 ? (
        <Empty>No learner yet: the charts fill in once people enroll.</Empty>
      ) : (
        <>
          <section aria-label="Key figures" className="grid grid-cols-2 gap-3 md:grid-cols-4">
            <Figure label="Enrollments" value={data.enrollments_total} />
            <Figure label="Active in 7 days" value={data.active_learners_7d} />
            <Figure label="Active in 30 days" value={data.active_learners_30d} />
            <Figure label="Average days to complete" value={data.average_days_to_complete === null ? "–" : data.average_days_to_complete.toFixed(1)} />
          </section>
          <section aria-label="Completion" className="card flex flex-wrap justify-around gap-4">
            <Ring label="Completion rate" share={data.completion_rate} />
            <Ring label="Average progress" share={data.average_progress_percent / 100} />
          </section>
          <section className="card">
            <ColumnChart title="Enrollments per day" points={data.enrollments_per_day.map((day) => ({ label: day.date, value: day.count }))} />
          </section>
          {data.lessons.length > 0 && (
            <section className="card">
              <BarList
                title="Lesson funnel: learners who reached and completed each lesson"
                max={data.enrollments_total}
                format={(value) => String(value)}
                rows={data.lessons.map((lesson) => ({ label: lesson.title, values: [{ name: "Reached", value: lesson.reached }, { name: "Completed", value: lesson.completed }] }))}
              />
            </section>
          )}
          {data.quizzes.length > 0 && (
            <section className="card">
              <BarList
                title="Quizzes: pass rate and average score"
                max={100}
                format={percent}
                rows={data.quizzes.map((quiz) => ({
                  label: `${quiz.title} (${quiz.attempts} attempts)`,
                  values: [
                    { name: "Pass rate", value: quiz.pass_rate === null ? null : quiz.pass_rate * 100 },
                    { name: "Average score", value: quiz.average_score_percent },
                  ],
                }))}
              />
            </section>
          )}
          {data.videos.length > 0 && (
            <section className="card">
              <BarList
                title="Videos: share watched on average"
                max={100}
                format={percent}
                rows={data.videos.map((video) => ({ label: lessonNames.get(video.lesson_id) ?? "Video", values: [{ name: "Watched", value: video.watch_ratio === null ? null : video.watch_ratio * 100 }] }))}
              />
            </section>
          )}
        </>
      )}
    </div>
  );
}
