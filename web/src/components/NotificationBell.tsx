import { useEffect, useRef, useState } from "react";
import { Link } from "react-router";
import { toProblem, type ApiProblem } from "../api/problem";
import { useNotifications } from "../stores/notifications";
import { ProblemAlert } from "./states";

/** The bell: the unread count (kept live by the notification socket) and the latest ones. */
export function NotificationBell() {
  const { unread, latest, markAllRead } = useNotifications();
  const [open, setOpen] = useState(false);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const panel = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const close = (event: KeyboardEvent) => event.key === "Escape" && setOpen(false);
    document.addEventListener("keydown", close);
    return () => document.removeEventListener("keydown", close);
  }, [open]);

  const readAll = () => markAllRead().catch((error: unknown) => setProblem(toProblem(error)));
  const label = unread === 1 ? "1 unread notification" : `${unread} unread notifications`;
  return (
    <div className="relative">
      <button
        type="button"
        className="relative rounded-md p-2 hover:bg-indigo-800"
        aria-expanded={open}
        aria-controls="notification-panel"
        aria-label={`Notifications: ${label}`}
        onClick={() => setOpen(!open)}
      >
        <svg aria-hidden="true" viewBox="0 0 24 24" className="h-6 w-6 fill-current">
          <path d="M12 22a2.5 2.5 0 0 0 2.5-2.5h-5A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.8V3a1.5 1.5 0 0 0-3 0v1.2A7 7 0 0 0 5 11v5l-2 2v1h18v-1z" />
        </svg>
        {unread > 0 && (
          <span data-testid="unread-count" className="absolute -right-1 -top-1 rounded-full bg-amber-400 px-1.5 text-xs font-bold text-slate-900">
            {unread}
          </span>
        )}
      </button>
      {open && (
        <div
          id="notification-panel"
          ref={panel}
          className="absolute right-0 z-20 mt-2 w-80 max-w-[90vw] rounded-lg border border-slate-200 bg-white p-3 text-slate-900 shadow-lg"
        >
          <div className="mb-2 flex items-center justify-between">
            <h2 className="font-semibold">Notifications</h2>
            {unread > 0 && (
              <button type="button" className="btn-secondary" onClick={readAll}>
                Mark all read
              </button>
            )}
          </div>
          <ProblemAlert problem={problem} />
          {latest.length === 0 ? (
            <p className="text-sm text-slate-600">Nothing yet.</p>
          ) : (
            <ul className="max-h-96 space-y-2 overflow-y-auto">
              {latest.map((item) => (
                <li key={item.id} className="rounded border border-slate-100 p-2 text-sm">
                  <p className="font-medium">
                    {!item.read_at && <span className="mr-1 rounded bg-amber-100 px-1 text-xs">New</span>}
                    {item.title}
                  </p>
                  <p className="text-slate-700">{item.body}</p>
                </li>
              ))}
            </ul>
          )}
          <Link className="link mt-2 block text-sm" to="/my/certificates" onClick={() => setOpen(false)}>
            My certificates
          </Link>
          <Link className="link mt-1 block text-sm" to="/my/notifications" onClick={() => setOpen(false)}>
            Notification preferences
          </Link>
        </div>
      )}
    </div>
  );
}
