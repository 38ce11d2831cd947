import { useEffect, useId, useState } from "react";
import { api } from "../../api/client";
import { toProblem, type ApiProblem } from "../../api/problem";
import { Loading, ProblemAlert } from "../../components/states";

/** Waits this long after the last keystroke before asking for a new preview. */
const PREVIEW_DELAY_MS = 300;

/** The API's rendering of `content`: the same sanitised HTML learners get. */
export async function renderPreview(content: string): Promise<string> {
  const { data } = await api.post<{ content_html: string }>("/markdown/preview", { content });
  return data.content_html;
}

function Preview({ value }: { value: string }) {
  const [html, setHtml] = useState<string | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  useEffect(() => {
    let current = true;
    const timer = setTimeout(() => {
      renderPreview(value).then(
        (rendered) => {
          if (!current) return;
          setHtml(rendered);
          setProblem(null);
        },
        (error: unknown) => current && setProblem(toProblem(error)),
      );
    }, PREVIEW_DELAY_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [value]);
  if (problem) return <ProblemAlert problem={problem} />;
  if (html === null) return <Loading label="Rendering the preview…" />;
  if (!html) return <p className="text-slate-600">Nothing to preview yet.</p>;
  // Rendered and sanitised by the API (Markdown → HTML through an allow-list).
  return <div className="lesson-content" dangerouslySetInnerHTML={{ __html: html }} />;
}

/** Markdown with a Write / Preview switch; the preview is rendered by the API. */
export function MarkdownEditor({ label, value, onChange }: { label: string; value: string; onChange: (value: string) => void }) {
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
        {mode === "preview" && <Preview value={value} />}
      </div>
    </div>
  );
}
