import { api } from "../../api/client";
import type { CourseDetail } from "../../api/types";
import { useApi } from "../../lib/useApi";

/** The course a `/my/courses/:slug/...` page is about. */
export function useCourse(slug: string) {
  return useApi(() => api.get<CourseDetail>(`/courses/${encodeURIComponent(slug)}`).then((r) => r.data), slug);
}

/** Who wrote something, as far as a student may know: the API gives only ids. */
export function authorLabel(authorId: string, myId: string | undefined): string {
  return authorId === myId ? "You" : "A member of the course";
}
