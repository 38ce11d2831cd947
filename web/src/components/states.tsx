import type { ReactNode } from "react";
import type { ApiProblem } from "../api/problem";

/** An API error as its problem document says it: title, detail, and the fields at fault. */
export function ProblemAlert({ problem, onRetry }: { problem: ApiProblem | null; onRetry?: () => void }) {
  if (!problem) return null;
  return (
    <div role="alert" className="rounded-md border border-red-300 bg-red-50 p-3 text-red-900">
      <p className="font-semibold">
        <span aria-hidden="true">⚠ </span>
        {problem.title}
      </p>
      <p className="text-sm">{problem.detail}</p>
      {problem.errors.length > 0 && (
        <ul className="mt-1 list-disc pl-5 text-sm">
          {problem.errors.map((issue, index) => (
            <li key={index}>
              {issue.loc.filter((part) => part !== "body").join(".")}: {issue.msg}
            </li>
          ))}
        </ul>
      )}
      {onRetry && (
        <button type="button" className="btn-secondary mt-2" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <p role="status" aria-live="polite" className="py-8 text-center text-slate-600">
      <span className="mr-2 inline-block h-4 w-4 animate-spin rounded-full border-2 border-indigo-600 border-t-transparent align-[-2px]" aria-hidden="true" />
      {label}
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="rounded-md border border-dashed border-slate-300 p-6 text-center text-slate-600">{children}</div>;
}

/** A progress bar that also says its value in words, never by colour alone. */
export function ProgressBar({ percent, label }: { percent: number; label: string }) {
  const value = Math.round(percent);
  return (
    <div>
      <div className="flex justify-between text-sm">
        <span>{label}</span>
        <span>{value} %</span>
      </div>
      <div
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={value}
        className="mt-1 h-2 w-full overflow-hidden rounded bg-slate-200"
      >
        <div className="h-full bg-indigo-600" style={{ width: `${value}%` }} />
      </div>
    </div>
  );
}

export function PageTitle({ children }: { children: ReactNode }) {
  return <h1 className="mb-4 text-2xl font-bold">{children}</h1>;
}
