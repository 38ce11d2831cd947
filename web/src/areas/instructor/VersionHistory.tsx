import { useState } from "react";
import { api } from "../../api/client";
import type { Lesson, Page } from "../../api/types";
import { Empty, Loading, ProblemAlert } from "../../components/states";
import { useApi } from "../../lib/useApi";
import type { LessonVersion, LessonVersionSummary } from "./types";
import { useAction } from "./useAction";

/** A lesson's versions, newest first: open one to read it, restore it as a new version. */
export function VersionHistory({ lessonId, current, onRestored }: { lessonId: string; current: number; onRestored: (lesson: Lesson, version: number) => void }) {
  const versions = useApi(() => api.get<Page<LessonVersionSummary>>(`/lessons/${lessonId}/versions`, { params: { limit: 100 } }).then((r) => r.data), `${lessonId}:${current}`);
  const [open, setOpen] = useState<LessonVersion | null>(null);
  const action = useAction();
  const show = (version: number) =>
    action.run(async () => {
      const { data } = await api.get<LessonVersion>(`/lessons/${lessonId}/versions/${version}`);
      setOpen(data);
    });
  const restore = (version: number) =>
    action.run(async () => {
      const { data } = await api.post<Lesson>(`/lessons/${lessonId}/versions/${version}/restore`);
      setOpen(null);
      onRestored(data, version);
    });
  return (
    <section aria-labelledby="versions-heading" className="card space-y-2">
      <h2 id="versions-heading" className="text-lg font-semibold">Version history</h2>
      <ProblemAlert problem={versions.error ?? action.problem} onRetry={versions.error ? versions.reload : undefined} />
      {versions.loading ? (
        <Loading />
      ) : !versions.data?.items.length ? (
        <Empty>No version yet.</Empty>
      ) : (
        <ol className="space-y-1 text-sm">
          {versions.data.items.map((version) => (
            <li key={version.version} className="flex flex-wrap items-center justify-between gap-2 border-b border-slate-100 py-1">
              <span>
                <strong>v{version.version}</strong> {version.title} · {new Date(version.created_at).toLocaleString()}
                {version.version === current && " (current)"}
              </span>
              <span className="flex gap-1">
                <button type="button" className="btn-secondary" onClick={() => show(version.version)} aria-label={`View version ${version.version}`}>
                  View
                </button>
                {version.version !== current && (
                  <button type="button" className="btn-secondary" disabled={action.busy} onClick={() => restore(version.version)} aria-label={`Restore version ${version.version}`}>
                    Restore
                  </button>
                )}
              </span>
            </li>
          ))}
        </ol>
      )}
      {open && (
        <div className="rounded-md border border-slate-200 p-3" data-testid="version-content">
          <h3 className="mb-2 font-semibold">
            Version {open.version}: {open.title}
          </h3>
          <div className="lesson-content" dangerouslySetInnerHTML={{ __html: open.content_html }} />
        </div>
      )}
    </section>
  );
}
