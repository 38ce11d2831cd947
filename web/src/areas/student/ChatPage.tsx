import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import { toProblem, type ApiProblem } from "../../api/problem";
import { Empty, Loading, ProblemAlert } from "../../components/states";
import { useAuth } from "../../stores/auth";
import { connectChat, useChat } from "../../stores/chat";
import { authorLabel, useCourse } from "./courseHooks";

const STATUS_TEXT = { idle: "", connecting: "Connecting…", live: "● Live", offline: "Reconnecting…", closed: "Closed: you are not a member of this course" };

function ChatRoom({ courseId }: { courseId: string }) {
  const me = useAuth((state) => state.user);
  const { messages, nextBefore, loading, problem, status, loadOlder } = useChat();
  const [body, setBody] = useState("");
  const [sendProblem, setSendProblem] = useState<ApiProblem | null>(null);
  const [sending, setSending] = useState(false);
  const end = useRef<HTMLLIElement>(null);

  useEffect(() => {
    void useChat.getState().open(courseId);
    const stop = connectChat(courseId);
    return () => {
      stop();
      useChat.getState().reset();
    };
  }, [courseId]);

  const newest = messages.at(-1)?.id;
  useEffect(() => {
    // A block body: newer browsers' scrollIntoView returns a promise, which is no cleanup.
    void end.current?.scrollIntoView?.({ block: "nearest" });
  }, [newest]);

  const send = async (event: FormEvent) => {
    event.preventDefault();
    if (!body.trim()) return;
    setSending(true);
    setSendProblem(null);
    try {
      await useChat.getState().send(body.trim());
      setBody("");
    } catch (error) {
      setSendProblem(toProblem(error));
    } finally {
      setSending(false);
    }
  };

  return (
    <div className="card flex flex-col gap-3">
      <p className="text-sm text-slate-700" role="status" data-testid="chat-status">{STATUS_TEXT[status]}</p>
      <ProblemAlert problem={problem} onRetry={() => void useChat.getState().open(courseId)} />
      {nextBefore && (
        <button type="button" className="btn-secondary self-center" disabled={loading} onClick={() => void loadOlder()}>
          Load older messages
        </button>
      )}
      {loading && messages.length === 0 ? (
        <Loading />
      ) : messages.length === 0 ? (
        <Empty>No messages yet. Say hello!</Empty>
      ) : (
        <ol aria-label="Messages" aria-live="polite" className="max-h-[60vh] space-y-2 overflow-y-auto">
          {messages.map((message) => (
            <li key={message.id} className={`rounded-md p-2 ${message.author_id === me?.id ? "bg-indigo-50" : "bg-slate-50"}`}>
              <p className="text-xs text-slate-600">
                {authorLabel(message.author_id, me?.id)} · <time dateTime={message.created_at}>{new Date(message.created_at).toLocaleTimeString()}</time>
              </p>
              <p className="whitespace-pre-wrap break-words">{message.body}</p>
            </li>
          ))}
          <li ref={end} aria-hidden="true" />
        </ol>
      )}
      <form onSubmit={send} className="flex gap-2">
        <label htmlFor="chat-body" className="sr-only">
          Message
        </label>
        <input id="chat-body" className="input flex-1" value={body} maxLength={2000} onChange={(e) => setBody(e.target.value)} placeholder="Write a message" />
        <button type="submit" className="btn" disabled={sending || !body.trim()}>
          Send
        </button>
      </form>
      <ProblemAlert problem={sendProblem} />
    </div>
  );
}

/** A course's chat: the history over REST, new messages live over the chat socket. */
export function ChatPage() {
  const { slug = "" } = useParams();
  const course = useCourse(slug);
  if (course.loading) return <Loading />;
  if (course.error || !course.data) return <ProblemAlert problem={course.error} onRetry={course.reload} />;
  return (
    <div className="mx-auto max-w-3xl space-y-3">
      <p className="text-sm">
        <Link className="link" to={`/my/courses/${course.data.slug}`}>← {course.data.title}</Link>
      </p>
      <h1 className="text-2xl font-bold">Chat</h1>
      <ChatRoom courseId={course.data.id} />
    </div>
  );
}
