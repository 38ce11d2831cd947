import { createContext, useContext } from "react";
import { Link, NavLink, Route, Routes, useLocation, useNavigate, useParams } from "react-router";
import { api } from "../../api/client";
import type { CourseDetail } from "../../api/types";
import { Loading, ProblemAlert } from "../../components/states";
import { useApi } from "../../lib/useApi";
import { NotFoundPage } from "../public/NotFoundPage";
import { AnalyticsPage } from "./AnalyticsPage";
import { AnnouncementsPage } from "./AnnouncementsPage";
import { AssignmentsPage } from "./AssignmentsPage";
import { CourseContentPage } from "./CourseContentPage";
import { CourseSettingsPage } from "./CourseSettingsPage";
import { GradebookPage } from "./GradebookPage";
import { RosterPage } from "./RosterPage";
import { useAction } from "./useAction";

interface CourseContextValue {
  course: CourseDetail;
  reload: () => void;
}

export const CourseContext = createContext<CourseContextValue | null>(null);

/** The course the workspace's pages work on, and a way to read it again after a change. */
export function useCourse(): CourseContextValue {
  const value = useContext(CourseContext);
  if (!value) throw new Error("useCourse outside a course workspace");
  return value;
}

export function loadCourse(courseId: string) {
  return api.get<CourseDetail>(`/courses/${courseId}`).then((r) => r.data);
}

const TABS = [
  ["", "Content"],
  ["settings", "Settings"],
  ["assignments", "Assignments"],
  ["roster", "Roster"],
  ["gradebook", "Gradebook"],
  ["analytics", "Analytics"],
  ["announcements", "Announcements"],
] as const;

const tabClass = ({ isActive }: { isActive: boolean }) =>
  `whitespace-nowrap rounded-t-md border-b-2 px-3 py-2 text-sm ${isActive ? "border-indigo-700 font-semibold text-indigo-800" : "border-transparent hover:bg-slate-100"}`;

function StatusActions({ course, reload }: CourseContextValue) {
  const action = useAction();
  const navigate = useNavigate();
  const post = (verb: string) =>
    action.run(async () => {
      await api.post(`/courses/${course.id}/${verb}`);
      reload();
    });
  const remove = () =>
    action.run(async () => {
      if (!window.confirm(`Move "${course.title}" to the trash? You can restore it from My courses.`)) return;
      await api.delete(`/courses/${course.id}`);
      navigate("/teach");
    });
  return (
    <div className="space-y-2">
      <div className="flex flex-wrap items-center gap-2">
        {course.status === "published" ? (
          <button type="button" className="btn-secondary" disabled={action.busy} onClick={() => post("unpublish")}>
            Unpublish
          </button>
        ) : (
          <button type="button" className="btn" disabled={action.busy} onClick={() => post("publish")}>
            Publish
          </button>
        )}
        {course.status !== "archived" && (
          <button type="button" className="btn-secondary" disabled={action.busy} onClick={() => post("archive")}>
            Archive
          </button>
        )}
        <button type="button" className="btn-secondary" disabled={action.busy} onClick={remove}>
          Delete course
        </button>
      </div>
      <ProblemAlert problem={action.problem} />
    </div>
  );
}

/** One course: its header (status, publish), tabs, and the page of the current tab. */
export function CourseWorkspace() {
  const { courseId = "" } = useParams();
  const { pathname } = useLocation();
  // Read again on every tab: the counts in the header move as learners enroll (the API
  // answers 304 when nothing changed).
  const course = useApi(() => loadCourse(courseId), pathname);
  if (course.loading && !course.data) return <Loading />;
  if (!course.data) return <ProblemAlert problem={course.error} onRetry={course.reload} />;
  const value = { course: course.data, reload: course.reload };
  const base = `/teach/courses/${course.data.id}`;
  return (
    <CourseContext.Provider value={value}>
      <div className="space-y-4">
        <p className="text-sm">
          <Link className="link" to="/teach">My courses</Link>
        </p>
        <div className="flex flex-wrap items-start justify-between gap-3">
          <div>
            <h1 className="text-2xl font-bold">{course.data.title}</h1>
            <p className="text-sm text-slate-700">
              Status: <strong data-testid="course-status">{course.data.status}</strong> · {course.data.lesson_count} lessons · {course.data.enrollment_count} learners
              {course.data.status === "published" && (
                <>
                  {" "}· <Link className="link" to={`/courses/${course.data.slug}`}>Public page</Link>
                </>
              )}
            </p>
          </div>
          <StatusActions {...value} />
        </div>
        <ProblemAlert problem={course.error} onRetry={course.reload} />
        <nav aria-label="Course sections" className="flex gap-1 overflow-x-auto border-b border-slate-200">
          {TABS.map(([path, label]) => (
            <NavLink key={label} to={path ? `${base}/${path}` : base} end className={tabClass}>
              {label}
            </NavLink>
          ))}
        </nav>
        <Routes>
          <Route index element={<CourseContentPage />} />
          <Route path="settings" element={<CourseSettingsPage />} />
          <Route path="assignments" element={<AssignmentsPage />} />
          <Route path="roster" element={<RosterPage />} />
          <Route path="gradebook" element={<GradebookPage />} />
          <Route path="analytics" element={<AnalyticsPage />} />
          <Route path="announcements" element={<AnnouncementsPage />} />
          <Route path="*" element={<NotFoundPage />} />
        </Routes>
      </div>
    </CourseContext.Provider>
  );
}
