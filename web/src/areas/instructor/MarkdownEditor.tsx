import { useId, useState } from "react";

/** Markdown with a Write / Preview switch. The preview is the API's sanitised HTML of the
 * saved text (`savedHtml`), so it shows exactly what learners get. */
export function MarkdownEditor({ label, value, onChange, savedValue, savedHtml }: { label: string; value: string; onChange: (value: string) => void; savedValue: string; savedHtml: string }) {
  const id = useId();
  const [mode, setMode] = useState<"write" | "preview">("write");
  const tab = (name: "write" | "preview", text: string) => (
    <button
      type="button"
      role="tab"
      aria-selected={mode === name}
      aria-controls={`${id}-${name}`}
      className={`rounded-t-md px-3 py-1 text-sm ${mode === name ? "bg-slate-100 font-semibold" : "hover:bg-slate-50"}`}
      onClick={() => setMode(name)}
    >
      {text}
    </button>
  );
  return (
    <div className="mb-3">
      <div className="flex items-end justify-between">
        <label htmlFor={id} className="mb-1 block text-sm font-medium">
          {label}
        </label>
        <div role="tablist" aria-label={`${label} view`} className="flex gap-1">
          {tab("write", "Write")}
          {tab("preview", "Preview")}
        </div>
      </div>
      <div id={`${id}-write`} role="tabpanel" hidden={mode !== "write"}>
        <textarea id={id} className="input font-mono text-sm" rows={14} value={value} onChange={(event) => onChange(event.target.value)} />
        <p className="mt-1 text-xs text-slate-600">Markdown: # heading, **bold**, *italic*, - lists, [links](https://…), `code`.</p>
      </div>
      <div id={`${id}-preview`} role="tabpanel" hidden={mode !== "preview"} className="min-h-40 rounded-md border border-slate-200 p-3" data-testid="markdown-preview">
        {value !== savedValue && (
          <p role="status" className="mb-2 rounded bg-amber-50 p-2 text-sm text-amber-900">
            <span aria-hidden="true">ℹ </span>Unsaved changes: the preview shows the last saved text. Save to see them rendered.
          </p>
        )}
        {savedHtml ? (
          // Rendered and sanitised by the API (Markdown → HTML through an allow-list).
          <div className="lesson-content" dangerouslySetInnerHTML={{ __html: savedHtml }} />
        ) : (
          <p className="text-slate-600">Nothing to preview yet.</p>
        )}
      </div>
    </div>
  );
}
