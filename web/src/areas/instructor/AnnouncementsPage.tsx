import { useState, type FormEvent } from "react";
import { api } from "../../api/client";
import type { Page } from "../../api/types";
import { Field } from "../../components/Field";
import { Empty, Loading, ProblemAlert } from "../../components/states";
import { useApi } from "../../lib/useApi";
import { useCourse } from "./CourseWorkspace";
import { TextAreaField } from "./Select";
import type { Post } from "./types";
import { useAction } from "./useAction";

/** The course's announcements: post one (learners are notified), read the past ones. */
export function AnnouncementsPage() {
  const { course } = useCourse();
  const posts = useApi(() => api.get<Page<Post>>("/posts", { params: { course_id: course.id, kind: "announcement", limit: 50 } }).then((r) => r.data), course.id);
  const [title, setTitle] = useState("");
  const [body, setBody] = useState("");
  const action = useAction();
  const post = (event: FormEvent) => {
    event.preventDefault();
    void action.run(async () => {
      await api.post("/posts", { title, body, course_id: course.id, kind: "announcement" });
      setTitle("");
      setBody("");
      posts.reload();
    });
  };
  return (
    <div className="space-y-6">
      <form onSubmit={post} className="card" aria-label="New announcement">
        <h2 className="mb-2 text-lg font-semibold">New announcement</h2>
        <Field label="Announcement title" required value={title} onChange={(e) => setTitle(e.target.value)} />
        <TextAreaField label="Message (Markdown)" required value={body} onChange={(e) => setBody(e.target.value)} />
        <ProblemAlert problem={action.problem} />
        <button type="submit" className="btn" disabled={action.busy}>
          Post announcement
        </button>
      </form>
      <section aria-labelledby="announcements-heading" className="space-y-3">
        <h2 id="announcements-heading" className="text-lg font-semibold">Announcements</h2>
        <ProblemAlert problem={posts.error} onRetry={posts.reload} />
        {posts.loading && !posts.data ? (
          <Loading />
        ) : !posts.data?.items.length ? (
          <Empty>No announcement yet.</Empty>
        ) : (
          posts.data.items.map((item) => (
            <article key={item.id} className="card">
              <h3 className="font-semibold">{item.title}</h3>
              <p className="text-xs text-slate-600">{new Date(item.created_at).toLocaleString()}</p>
              {/* Rendered and sanitised by the API. */}
              <div className="lesson-content mt-2" dangerouslySetInnerHTML={{ __html: item.body_html }} />
            </article>
          ))
        )}
      </section>
    </div>
  );
}
