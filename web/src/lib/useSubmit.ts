import { useState, type FormEvent } from "react";
import { toProblem, type ApiProblem } from "../api/problem";

/** Runs a form's request, keeping its pending and problem states. */
export function useSubmit(action: () => Promise<void>) {
  const [pending, setPending] = useState(false);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setPending(true);
    setProblem(null);
    try {
      await action();
    } catch (error) {
      setProblem(toProblem(error));
    } finally {
      setPending(false);
    }
  };
  return { pending, problem, submit };
}
