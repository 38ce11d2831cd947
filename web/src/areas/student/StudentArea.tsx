import { Route, Routes } from "react-router";
import { NotFoundPage } from "../public/NotFoundPage";
import { CertificatesPage } from "./CertificatesPage";
import { ChatPage } from "./ChatPage";
import { CoursePlayerPage } from "./CoursePlayerPage";
import { DiscussionPage } from "./DiscussionPage";
import { GradesPage } from "./GradesPage";
import { MyLearningPage } from "./MyLearningPage";
import { NotificationPreferencesPage } from "./NotificationPreferencesPage";

export default function StudentArea() {
  return (
    <Routes>
      <Route path="learning" element={<MyLearningPage />} />
      <Route path="certificates" element={<CertificatesPage />} />
      <Route path="grades" element={<GradesPage />} />
      <Route path="notifications" element={<NotificationPreferencesPage />} />
      <Route path="courses/:slug" element={<CoursePlayerPage />} />
      <Route path="courses/:slug/discussion" element={<DiscussionPage />} />
      <Route path="courses/:slug/chat" element={<ChatPage />} />
      <Route path="courses/:slug/:lessonId" element={<CoursePlayerPage />} />
      <Route path="*" element={<NotFoundPage />} />
    </Routes>
  );
}
