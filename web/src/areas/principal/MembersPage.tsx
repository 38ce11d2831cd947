import { useState } from "react";
import { api } from "../../api/client";
import { toProblem, type ApiProblem } from "../../api/problem";
import type { MemberAddResult, Page, Role, User } from "../../api/types";
import { Field } from "../../components/Field";
import { Pagination } from "../../components/Pagination";
import { Empty, Loading, ProblemAlert } from "../../components/states";
import { useApi } from "../../lib/useApi";
import { useSubmit } from "../../lib/useSubmit";
import { useAuth } from "../../stores/auth";
import { InvitationsList } from "./InvitationsList";

const PAGE_SIZE = 20;
const ROLES: Role[] = ["student", "instructor", "principal"];
const ROLE_LABEL: Record<Role, string> = { student: "Student", instructor: "Instructor", principal: "Principal", admin: "Admin" };

function InviteForm({ organizationId, onAdded }: { organizationId: string; onAdded: (result: MemberAddResult) => void }) {
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("student");
  const { pending, problem, submit } = useSubmit(async () => {
    const { data } = await api.post<MemberAddResult>(`/organizations/${organizationId}/members`, { email, role });
    setEmail("");
    onAdded(data);
  });
  return (
    <form onSubmit={submit} className="card" noValidate>
      <h2 className="mb-2 font-semibold">Add or invite someone</h2>
      <p className="mb-3 text-sm text-slate-700">Someone with an account joins at once; any other address gets an email invitation that applies when they sign up.</p>
      <ProblemAlert problem={problem} />
      <div className="grid gap-3 sm:grid-cols-[1fr_12rem]">
        <Field label="Email address" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <div className="mb-3">
          <label htmlFor="invite-role" className="mb-1 block text-sm font-medium">
            Role
          </label>
          <select id="invite-role" className="input" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((item) => (
              <option key={item} value={item}>{ROLE_LABEL[item]}</option>
            ))}
          </select>
        </div>
      </div>
      <button type="submit" className="btn" disabled={pending || !email.trim()}>
        {pending ? "Sending…" : "Add or invite"}
      </button>
    </form>
  );
}

/** The organisation's members (filterable, paginated), adding and inviting by email, and
 * removing someone from the organisation. */
export function MembersPage({ organizationId }: { organizationId: string }) {
  const me = useAuth((state) => state.user);
  const [query, setQuery] = useState("");
  const [role, setRole] = useState<Role | "">("");
  const [offset, setOffset] = useState(0);
  const [results, setResults] = useState<MemberAddResult[]>([]);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const members = useApi(
    () =>
      api
        .get<Page<User>>("/users", { params: { organization_id: organizationId, q: query || undefined, role: role || undefined, limit: PAGE_SIZE, offset } })
        .then((r) => r.data),
    `${organizationId}:${query}:${role}:${offset}`,
  );

  const remove = async (user: User) => {
    if (!window.confirm(`Remove ${user.full_name} from the organisation?`)) return;
    setProblem(null);
    try {
      await api.delete(`/organizations/${organizationId}/members/${user.id}`);
      members.reload();
    } catch (error) {
      setProblem(toProblem(error));
    }
  };

  return (
    <div className="space-y-4">
      <InviteForm
        organizationId={organizationId}
        onAdded={(result) => {
          setResults([result, ...results]);
          members.reload();
        }}
      />
      <InvitationsList organizationId={organizationId} round={results.length} />
      {results.length > 0 && (
        <section aria-labelledby="sent-title" className="card">
          <h2 id="sent-title" className="mb-2 font-semibold">Just now</h2>
          <ul className="space-y-1 text-sm" data-testid="invitations">
            {results.map((result, index) => (
              <li key={index} role="status">
                {result.status === "added"
                  ? `✓ ${result.user?.email} joined as ${ROLE_LABEL[result.user?.role ?? "student"]}.`
                  : `✉ Invitation sent to ${result.invitation?.email} (${ROLE_LABEL[result.invitation?.role ?? "student"]}).`}
              </li>
            ))}
          </ul>
        </section>
      )}
      <section aria-labelledby="members-title" className="space-y-3">
        <h2 id="members-title" className="text-xl font-semibold">Members</h2>
        <div className="flex flex-wrap items-end gap-3">
          <div>
            <label htmlFor="member-search" className="mb-1 block text-sm font-medium">Search by name or email</label>
            <input
              id="member-search"
              type="search"
              className="input"
              value={query}
              onChange={(e) => {
                setOffset(0);
                setQuery(e.target.value);
              }}
            />
          </div>
          <div>
            <label htmlFor="member-role" className="mb-1 block text-sm font-medium">Filter by role</label>
            <select
              id="member-role"
              className="input"
              value={role}
              onChange={(e) => {
                setOffset(0);
                setRole(e.target.value as Role | "");
              }}
            >
              <option value="">All roles</option>
              {ROLES.map((item) => (
                <option key={item} value={item}>{ROLE_LABEL[item]}</option>
              ))}
            </select>
          </div>
        </div>
        <ProblemAlert problem={members.error ?? problem} onRetry={members.error ? members.reload : undefined} />
        {members.loading ? (
          <Loading />
        ) : members.data?.items.length === 0 ? (
          <Empty>No member matches.</Empty>
        ) : (
          members.data && (
            <>
              <div className="card overflow-x-auto p-0">
                <table className="w-full text-left text-sm">
                  <thead>
                    <tr className="border-b border-slate-200">
                      <th scope="col" className="p-2">Name</th>
                      <th scope="col" className="p-2">Email</th>
                      <th scope="col" className="p-2">Role</th>
                      <th scope="col" className="p-2">Status</th>
                      <th scope="col" className="p-2"><span className="sr-only">Actions</span></th>
                    </tr>
                  </thead>
                  <tbody>
                    {members.data.items.map((user) => (
                      <tr key={user.id} className="border-b border-slate-100">
                        <td className="p-2">{user.full_name}</td>
                        <td className="break-all p-2">{user.email}</td>
                        <td className="p-2">{ROLE_LABEL[user.role]}</td>
                        <td className="p-2">{user.is_active ? "Active" : "Deactivated"}</td>
                        <td className="p-2 text-right">
                          {user.id !== me?.id && user.role !== "admin" && (
                            <button type="button" className="btn-secondary" aria-label={`Remove ${user.full_name}`} onClick={() => void remove(user)}>
                              Remove
                            </button>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <p className="text-sm text-slate-600">{members.data.total} members</p>
              <Pagination total={members.data.total} limit={members.data.limit} offset={members.data.offset} onChange={setOffset} />
            </>
          )
        )}
      </section>
    </div>
  );
}
