import { useState } from "react";
import { api } from "../../api/client";
import { toProblem, type ApiProblem } from "../../api/problem";
import type { NotificationPreferences } from "../../api/types";
import { Loading, PageTitle, ProblemAlert } from "../../components/states";
import { useApi } from "../../lib/useApi";

/** Words for the notification types the API knows; an unknown one shows its own name. */
const TYPE_LABEL: Record<string, string> = {
  "enrollment.created": "Someone enrolls in my course",
  "quiz.graded": "A quiz of mine is graded",
  "submission.graded": "An assignment of mine is graded",
  "course.completed": "I complete a course",
  "certificate.issued": "A certificate is issued to me",
  "post.created": "A new discussion post in my courses",
  "announcement.posted": "An announcement in my courses",
  "comment.created": "A comment on my posts",
};

type Channel = "in_app" | "email";

export function NotificationPreferencesPage() {
  const saved = useApi(() => api.get<NotificationPreferences>("/me/notification-preferences").then((r) => r.data), "preferences");
  // The edits so far; until the first one, what the API answered.
  const [edited, setDraft] = useState<NotificationPreferences | null>(null);
  const draft = edited ?? saved.data;
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [state, setState] = useState<"idle" | "saving" | "saved">("idle");

  if (saved.loading) return <Loading />;
  if (saved.error || !draft) return <ProblemAlert problem={saved.error} onRetry={saved.reload} />;

  const toggle = (type: string, channel: Channel) => {
    setState("idle");
    setDraft({ ...draft, [type]: { ...draft[type], [channel]: !draft[type][channel] } });
  };
  const save = async () => {
    setState("saving");
    setProblem(null);
    try {
      const { data } = await api.put<NotificationPreferences>("/me/notification-preferences", draft);
      setDraft(data);
      setState("saved");
    } catch (error) {
      setProblem(toProblem(error));
      setState("idle");
    }
  };

  return (
    <div className="max-w-2xl">
      <PageTitle>Notification preferences</PageTitle>
      <ProblemAlert problem={problem} />
      <div className="card overflow-x-auto">
        <table className="w-full text-left text-sm">
          <thead>
            <tr className="border-b border-slate-200">
              <th scope="col" className="py-2 pr-3">When</th>
              <th scope="col" className="py-2 pr-3 text-center">In the app</th>
              <th scope="col" className="py-2 text-center">By email</th>
            </tr>
          </thead>
          <tbody>
            {Object.keys(draft).map((type) => (
              <tr key={type} className="border-b border-slate-100">
                <th scope="row" className="py-2 pr-3 font-normal">{TYPE_LABEL[type] ?? type}</th>
                {(["in_app", "email"] as const).map((channel) => (
                  <td key={channel} className="py-2 text-center">
                    <input
                      type="checkbox"
                      className="h-4 w-4"
                      aria-label={`${TYPE_LABEL[type] ?? type}: ${channel === "email" ? "by email" : "in the app"}`}
                      checked={draft[type][channel]}
                      onChange={() => toggle(type, channel)}
                    />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="mt-4 flex items-center gap-3">
        <button type="button" className="btn" disabled={state === "saving"} onClick={save}>
          {state === "saving" ? "Saving…" : "Save preferences"}
        </button>
        {state === "saved" && <p role="status"><span aria-hidden="true">✓ </span>Saved.</p>}
      </div>
    </div>
  );
}
