import { useId, useState } from "react";
import { toProblem, type ApiProblem } from "../../api/problem";
import { ProblemAlert, ProgressBar } from "../../components/states";

/** A file picker that runs `upload` with a progress bar, and says how it ended. */
export function UploadField({ label, accept, upload, onDone }: { label: string; accept?: string; upload: (file: File, onProgress: (percent: number) => void) => Promise<unknown>; onDone: () => void }) {
  const id = useId();
  const [percent, setPercent] = useState<number | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const pick = async (file: File | undefined) => {
    if (!file) return;
    setProblem(null);
    setDone(null);
    setPercent(0);
    try {
      await upload(file, setPercent);
      setDone(file.name);
      onDone();
    } catch (error) {
      setProblem(toProblem(error));
    } finally {
      setPercent(null);
    }
  };
  return (
    <div className="mb-3 space-y-2">
      <label htmlFor={id} className="block text-sm font-medium">
        {label}
      </label>
      <input id={id} type="file" accept={accept} disabled={percent !== null} onChange={(event) => void pick(event.target.files?.[0])} />
      {percent !== null && <ProgressBar percent={percent} label="Uploading" />}
      {done && (
        <p role="status" className="text-green-800">
          <span aria-hidden="true">✓ </span>Uploaded {done}.
        </p>
      )}
      <ProblemAlert problem={problem} />
    </div>
  );
}
