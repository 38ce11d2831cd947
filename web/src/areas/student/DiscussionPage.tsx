import { useState } from "react";
import { Link, useParams } from "react-router";
import { api } from "../../api/client";
import type { Comment, Page, Post } from "../../api/types";
import { Field } from "../../components/Field";
import { Pagination } from "../../components/Pagination";
import { Empty, Loading, ProblemAlert } from "../../components/states";
import { useApi } from "../../lib/useApi";
import { useSubmit } from "../../lib/useSubmit";
import { useAuth } from "../../stores/auth";
import { authorLabel, useCourse } from "./courseHooks";

const PAGE_SIZE = 20;

function Comments({ post }: { post: Post }) {
  const me = useAuth((state) => state.user);
  const comments = useApi(() => api.get<Page<Comment>>(`/posts/${post.id}/comments`, { params: { limit: 100 } }).then((r) => r.data), post.id);
  const [body, setBody] = useState("");
  const reply = useSubmit(async () => {
    await api.post<Comment>(`/posts/${post.id}/comments`, { body });
    setBody("");
    comments.reload();
  });
  const inputId = `reply-${post.id}`;
  return (
    <div className="mt-3 space-y-2 border-t border-slate-200 pt-3">
      {comments.loading ? (
        <Loading />
      ) : comments.error ? (
        <ProblemAlert problem={comments.error} onRetry={comments.reload} />
      ) : comments.data?.items.length === 0 ? (
        <p className="text-sm text-slate-600">No comments yet.</p>
      ) : (
        <ul aria-label="Comments" className="space-y-2">
          {comments.data?.items.map((comment) => (
            <li key={comment.id} className={`rounded bg-slate-50 p-2 text-sm ${comment.parent_id ? "ml-6" : ""}`}>
              <p className="text-xs text-slate-600">
                {authorLabel(comment.author_id, me?.id)} · {new Date(comment.created_at).toLocaleString()}
              </p>
              {/* Rendered and sanitised by the API. */}
              <div className="lesson-content" dangerouslySetInnerHTML={{ __html: comment.body_html }} />
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={reply.submit} className="space-y-2">
        <ProblemAlert problem={reply.problem} />
        <label htmlFor={inputId} className="block text-sm font-medium">
          Your comment
        </label>
        <textarea id={inputId} className="input min-h-16" value={body} onChange={(e) => setBody(e.target.value)} />
        <button type="submit" className="btn-secondary" disabled={reply.pending || !body.trim()}>
          Comment
        </button>
      </form>
    </div>
  );
}

function PostItem({ post }: { post: Post }) {
  const me = useAuth((state) => state.user);
  const [open, setOpen] = useState(false);
  return (
    <li className="card">
      <h2 className="text-lg font-semibold">
        {post.kind === "announcement" && <span className="mr-2 rounded bg-amber-100 px-1 text-xs font-medium">Announcement</span>}
        {post.title}
      </h2>
      <p className="text-xs text-slate-600">
        {authorLabel(post.author_id, me?.id)} · {new Date(post.created_at).toLocaleString()}
      </p>
      {/* Rendered and sanitised by the API. */}
      <div className="lesson-content mt-2" dangerouslySetInnerHTML={{ __html: post.body_html }} />
      <button type="button" className="link mt-2 text-sm" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? "Hide comments" : "Show comments"}
      </button>
      {open && <Comments post={post} />}
    </li>
  );
}

function NewPost({ courseId, onPosted }: { courseId: string; onPosted: () => void }) {
  const [title, setTitle] = useState("");
  const [body, setBody] = useState("");
  const create = useSubmit(async () => {
    await api.post<Post>("/posts", { title, body, course_id: courseId, kind: "discussion" });
    setTitle("");
    setBody("");
    onPosted();
  });
  return (
    <form onSubmit={create.submit} className="card">
      <h2 className="mb-2 font-semibold">Start a discussion</h2>
      <ProblemAlert problem={create.problem} />
      <Field label="Title" required value={title} onChange={(e) => setTitle(e.target.value)} />
      <label htmlFor="post-body" className="mb-1 block text-sm font-medium">
        Message (Markdown)
      </label>
      <textarea id="post-body" className="input mb-3 min-h-24" required value={body} onChange={(e) => setBody(e.target.value)} />
      <button type="submit" className="btn" disabled={create.pending || !title.trim() || !body.trim()}>
        {create.pending ? "Posting…" : "Post"}
      </button>
    </form>
  );
}

/** A course's discussion: its posts (announcements included), their comments, new posts. */
export function DiscussionPage() {
  const { slug = "" } = useParams();
  const course = useCourse(slug);
  const [offset, setOffset] = useState(0);
  const courseId = course.data?.id;
  const posts = useApi(
    () => (courseId ? api.get<Page<Post>>("/posts", { params: { course_id: courseId, limit: PAGE_SIZE, offset } }).then((r) => r.data) : new Promise<never>(() => undefined)),
    `${courseId ?? ""}:${offset}`,
  );
  if (course.loading) return <Loading />;
  if (course.error || !course.data) return <ProblemAlert problem={course.error} onRetry={course.reload} />;
  return (
    <div className="mx-auto max-w-3xl space-y-4">
      <p className="text-sm">
        <Link className="link" to={`/my/courses/${course.data.slug}`}>← {course.data.title}</Link>
      </p>
      <h1 className="text-2xl font-bold">Discussion</h1>
      <NewPost
        courseId={course.data.id}
        onPosted={() => {
          setOffset(0);
          posts.reload();
        }}
      />
      {posts.loading ? (
        <Loading />
      ) : posts.error || !posts.data ? (
        <ProblemAlert problem={posts.error} onRetry={posts.reload} />
      ) : posts.data.items.length === 0 ? (
        <Empty>No posts yet. Start the first discussion.</Empty>
      ) : (
        <>
          <ul className="space-y-3">
            {posts.data.items.map((post) => <PostItem key={post.id} post={post} />)}
          </ul>
          <Pagination total={posts.data.total} limit={posts.data.limit} offset={posts.data.offset} onChange={setOffset} />
        </>
      )}
    </div>
  );
}
