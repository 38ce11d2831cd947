import { isAxiosError } from "axios";
import type { Problem } from "./types";

export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
}

/** Every failed API call ends up as one of these: the server's problem document, or one
 * made up for failures that never reached it. */
export class ApiProblem extends Error {
  readonly title: string;
  readonly detail: string;
  readonly status: number;
  readonly code: string;
  readonly errors: ValidationIssue[];
  /** The whole document, for codes that add fields (`attempt_in_progress` carries `attempt`). */
  readonly body: Record<string, unknown>;

  constructor(problem: Pick<Problem, "title" | "detail" | "status" | "code"> & { errors?: ValidationIssue[] | null }) {
    super(`${problem.title}: ${problem.detail}`);
    this.title = problem.title;
    this.detail = problem.detail;
    this.status = problem.status;
    this.code = problem.code;
    this.errors = problem.errors ?? [];
    this.body = { ...problem };
  }
}

function isProblem(data: unknown): data is Problem {
  return typeof data === "object" && data !== null && "title" in data && "code" in data;
}

export function toProblem(error: unknown): ApiProblem {
  if (error instanceof ApiProblem) return error;
  if (isAxiosError(error)) {
    const data = error.response?.data;
    if (isProblem(data)) return new ApiProblem(data);
    if (error.response) {
      return new ApiProblem({
        title: error.response.statusText || "Request failed",
        detail: `The server answered ${error.response.status}.`,
        status: error.response.status,
        code: "http_error",
      });
    }
    return new ApiProblem({
      title: "Network error",
      detail: "The server could not be reached. Check your connection and try again.",
      status: 0,
      code: "network_error",
    });
  }
  return new ApiProblem({
    title: "Something went wrong",
    detail: error instanceof Error ? error.message : String(error),
    status: 0,
    code: "client_error",
  });
}
