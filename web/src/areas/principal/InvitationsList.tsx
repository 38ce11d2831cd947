import { useState } from "react";
import { api } from "../../api/client";
import { toProblem, type ApiProblem } from "../../api/problem";
import type { Invitation, Page } from "../../api/types";
import { Empty, Loading, ProblemAlert } from "../../components/states";
import { useApi } from "../../lib/useApi";

function statusOf(invitation: Invitation): string {
  if (invitation.accepted_at) return `Accepted ${new Date(invitation.accepted_at).toLocaleDateString()}`;
  if (invitation.revoked_at) return `Withdrawn ${new Date(invitation.revoked_at).toLocaleDateString()}`;
  return "Pending";
}

/** The organisation's invitations (pending ones by default) with a way to withdraw them.
 * `round` changes when a new invitation was sent, so the list reloads. */
export function InvitationsList({ organizationId, round }: { organizationId: string; round: number }) {
  const [all, setAll] = useState(false);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const invitations = useApi(
    () => api.get<Page<Invitation>>(`/organizations/${organizationId}/invitations`, { params: { pending: !all, limit: 100 } }).then((r) => r.data),
    `${organizationId}:${all}:${round}`,
  );
  const withdraw = async (invitation: Invitation) => {
    if (!window.confirm(`Withdraw the invitation to ${invitation.email}?`)) return;
    setProblem(null);
    try {
      await api.delete(`/organizations/${organizationId}/invitations/${invitation.id}`);
      invitations.reload();
    } catch (error) {
      setProblem(toProblem(error));
    }
  };
  return (
    <section aria-labelledby="invitations-title" className="space-y-3">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 id="invitations-title" className="text-xl font-semibold">Invitations</h2>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} />
          Show accepted and withdrawn ones too
        </label>
      </div>
      <ProblemAlert problem={invitations.error ?? problem} onRetry={invitations.error ? invitations.reload : undefined} />
      {invitations.loading ? (
        <Loading />
      ) : invitations.data?.items.length === 0 ? (
        <Empty>{all ? "No invitation yet." : "No pending invitation."}</Empty>
      ) : (
        <ul className="card divide-y divide-slate-100 p-0" aria-label="Invitations">
          {invitations.data?.items.map((invitation) => (
            <li key={invitation.id} className="flex flex-wrap items-center justify-between gap-2 p-2 text-sm">
              <span className="break-all">
                {invitation.email} <span className="text-slate-600">({invitation.role}) · {statusOf(invitation)}</span>
              </span>
              {!invitation.accepted_at && !invitation.revoked_at && (
                <button type="button" className="btn-secondary" aria-label={`Withdraw the invitation to ${invitation.email}`} onClick={() => void withdraw(invitation)}>
                  Withdraw
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
