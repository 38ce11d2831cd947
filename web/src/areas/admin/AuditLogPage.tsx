import { useState, type FormEvent } from "react";
import { useSearchParams } from "react-router";
import { api } from "../../api/client";
import type { AuditLogEntry, Page } from "../../api/types";
import { Pagination } from "../../components/Pagination";
import { Empty, Loading, PageTitle, ProblemAlert } from "../../components/states";
import { useApi } from "../../lib/useApi";

const PAGE_SIZE = 25;
const RESOURCE_TYPES = ["user", "organization", "course", "module", "lesson", "post", "attempt", "submission", "certificate", "event"];
/** The filters, as the API names them; their values live in the address, so a filtered view
 * can be reloaded and shared. */
const TEXT_FILTERS = ["action", "actor_id", "resource_id"] as const;
const TIME_FILTERS = ["since", "until"] as const;

/** `datetime-local` (no zone, the viewer's clock) to the zoned ISO time the API requires. */
export function toZoned(local: string): string | undefined {
  if (!local) return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function Changes({ changes }: { changes: AuditLogEntry["changes"] }) {
  const fields = Object.entries(changes);
  if (fields.length === 0) return <span className="text-slate-500">—</span>;
  return (
    <ul>
      {fields.map(([field, [before, after]]) => (
        <li key={field}>
          <code>{field}</code>: {JSON.stringify(before)} → {JSON.stringify(after)}
        </li>
      ))}
    </ul>
  );
}

function Filters({ params, onApply }: { params: URLSearchParams; onApply: (next: URLSearchParams) => void }) {
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(params.entries()));
  const set = (name: string, value: string) => setValues({ ...values, [name]: value });
  const apply = (event: FormEvent) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [name, value] of Object.entries(values)) if (value.trim() && name !== "offset") next.set(name, value.trim());
    onApply(next);
  };
  const labels: Record<string, string> = { action: "Action", actor_id: "Actor id", resource_id: "Resource id", since: "Since", until: "Until" };
  return (
    <form onSubmit={apply} className="card mb-4 grid gap-3 sm:grid-cols-2 lg:grid-cols-3" aria-label="Filter the audit log">
      {TEXT_FILTERS.map((name) => (
        <div key={name}>
          <label htmlFor={`audit-${name}`} className="mb-1 block text-sm font-medium">{labels[name]}</label>
          <input id={`audit-${name}`} className="input" value={values[name] ?? ""} placeholder={name === "action" ? "e.g. user.role_changed" : ""} onChange={(e) => set(name, e.target.value)} />
        </div>
      ))}
      <div>
        <label htmlFor="audit-resource_type" className="mb-1 block text-sm font-medium">Resource type</label>
        <select id="audit-resource_type" className="input" value={values.resource_type ?? ""} onChange={(e) => set("resource_type", e.target.value)}>
          <option value="">Any</option>
          {RESOURCE_TYPES.map((type) => (
            <option key={type} value={type}>{type}</option>
          ))}
        </select>
      </div>
      {TIME_FILTERS.map((name) => (
        <div key={name}>
          <label htmlFor={`audit-${name}`} className="mb-1 block text-sm font-medium">{labels[name]}</label>
          <input id={`audit-${name}`} type="datetime-local" className="input" value={values[name] ?? ""} onChange={(e) => set(name, e.target.value)} />
        </div>
      ))}
      <div className="flex items-end gap-2">
        <button type="submit" className="btn">Apply filters</button>
        <button
          type="button"
          className="btn-secondary"
          onClick={() => {
            setValues({});
            onApply(new URLSearchParams());
          }}
        >
          Clear
        </button>
      </div>
    </form>
  );
}

/** The audit log, newest first: who did what to which resource, when and from where. */
export function AuditLogPage() {
  const [params, setParams] = useSearchParams();
  const offset = Number(params.get("offset") ?? 0) || 0;
  const entries = useApi(() => {
    const query: Record<string, string | number | undefined> = { limit: PAGE_SIZE, offset, resource_type: params.get("resource_type") ?? undefined };
    for (const name of TEXT_FILTERS) query[name] = params.get(name) ?? undefined;
    for (const name of TIME_FILTERS) query[name] = toZoned(params.get(name) ?? "");
    return api.get<Page<AuditLogEntry>>("/audit-logs", { params: query }).then((r) => r.data);
  }, params.toString());

  const goTo = (next: number) => {
    const copy = new URLSearchParams(params);
    copy.set("offset", String(next));
    setParams(copy);
  };

  return (
    <div>
      <PageTitle>Audit log</PageTitle>
      <Filters key={params.toString()} params={params} onApply={setParams} />
      <ProblemAlert problem={entries.error} onRetry={entries.reload} />
      {entries.loading ? (
        <Loading />
      ) : entries.data?.items.length === 0 ? (
        <Empty>No entry matches these filters.</Empty>
      ) : (
        entries.data && (
          <>
            <p className="mb-2 text-sm text-slate-600" role="status">{entries.data.total === 1 ? "1 entry" : `${entries.data.total} entries`}</p>
            <div className="card overflow-x-auto p-0">
              <table className="w-full text-left text-sm" data-testid="audit-log">
                <thead>
                  <tr className="border-b border-slate-200">
                    <th scope="col" className="p-2">When</th>
                    <th scope="col" className="p-2">Who</th>
                    <th scope="col" className="p-2">Action</th>
                    <th scope="col" className="p-2">Resource</th>
                    <th scope="col" className="p-2">Changes</th>
                    <th scope="col" className="p-2">From</th>
                  </tr>
                </thead>
                <tbody>
                  {entries.data.items.map((entry) => (
                    <tr key={entry.id} className="border-b border-slate-100 align-top">
                      <td className="whitespace-nowrap p-2"><time dateTime={entry.occurred_at}>{new Date(entry.occurred_at).toLocaleString()}</time></td>
                      <td className="break-all p-2">{entry.actor_email ?? entry.actor_id ?? "system"}</td>
                      <td className="p-2"><code>{entry.action}</code></td>
                      <td className="break-all p-2">
                        {entry.resource_type}
                        {entry.resource_id && <span className="block text-xs text-slate-600">{entry.resource_id}</span>}
                      </td>
                      <td className="p-2"><Changes changes={entry.changes} /></td>
                      <td className="p-2 text-xs">
                        {entry.ip ?? "—"}
                        {entry.request_id && <span className="block text-slate-600">request {entry.request_id}</span>}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pagination total={entries.data.total} limit={entries.data.limit} offset={entries.data.offset} onChange={goTo} />
          </>
        )
      )}
    </div>
  );
}
