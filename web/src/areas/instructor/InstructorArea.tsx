import { Route, Routes } from "react-router";
import { NotFoundPage } from "../public/NotFoundPage";
import { CourseWorkspace } from "./CourseWorkspace";
import { LessonEditorPage } from "./LessonEditorPage";
import { MyCoursesPage } from "./MyCoursesPage";
import { NewCoursePage } from "./NewCoursePage";

/** The instructor area under /teach: my courses, and everything inside one of them. */
export default function InstructorArea() {
  return (
    <Routes>
      <Route index element={<MyCoursesPage />} />
      <Route path="new" element={<NewCoursePage />} />
      <Route path="courses/:courseId/lessons/:lessonId" element={<LessonEditorPage />} />
      <Route path="courses/:courseId/*" element={<CourseWorkspace />} />
      <Route path="*" element={<NotFoundPage />} />
    </Routes>
  );
}
