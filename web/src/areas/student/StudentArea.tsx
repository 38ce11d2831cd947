import { Route, Routes } from "react-router";
import { NotFoundPage } from "../public/NotFoundPage";
import { CertificatesPage } from "./CertificatesPage";
import { CoursePlayerPage } from "./CoursePlayerPage";
import { MyLearningPage } from "./MyLearningPage";

export default function StudentArea() {
  return (
    <Routes>
      <Route path="learning" element={<MyLearningPage />} />
      <Route path="certificates" element={<CertificatesPage />} />
      <Route path="courses/:slug" element={<CoursePlayerPage />} />
      <Route path="courses/:slug/:lessonId" element={<CoursePlayerPage />} />
      <Route path="*" element={<NotFoundPage />} />
    </Routes>
  );
}
