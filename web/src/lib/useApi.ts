import { useCallback, useEffect, useState } from "react";
import { toProblem, type ApiProblem } from "../api/problem";

export interface ApiState<T> {
  data: T | null;
  error: ApiProblem | null;
  loading: boolean;
  reload: () => void;
}

/** Loads `load()` when `key` changes; exposes the loading, error and data states every page
 * renders. A late answer for an older key is dropped. */
export function useApi<T>(load: () => Promise<T>, key: string): ApiState<T> {
  const [state, setState] = useState<{ data: T | null; error: ApiProblem | null; loading: boolean }>({
    data: null,
    error: null,
    loading: true,
  });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setState((previous) => ({ ...previous, loading: true, error: null }));
    load().then(
      (data) => current && setState({ data, error: null, loading: false }),
      (error: unknown) => current && setState({ data: null, error: toProblem(error), loading: false }),
    );
    return () => {
      current = false;
    };
    // `load` is a new closure on every render; `key` says when it asks for something else.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, round]);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  return { ...state, reload };
}
