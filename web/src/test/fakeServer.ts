import type { AxiosAdapter, AxiosResponse, InternalAxiosRequestConfig } from "axios";
import { api, bare } from "../api/client";

export interface Call {
  method: string;
  url: string;
  authorization: string | undefined;
  body: unknown;
}

type Handler = (call: Call) => { status: number; data?: unknown } | Promise<{ status: number; data?: unknown }>;

/** Answers the app's HTTP clients from `handler` at the adapter boundary (no network), and
 * records every call. */
export function fakeServer(handler: Handler): Call[] {
  const calls: Call[] = [];
  const adapter: AxiosAdapter = async (config: InternalAxiosRequestConfig) => {
    const call: Call = {
      method: (config.method ?? "get").toUpperCase(),
      url: config.url ?? "",
      authorization: config.headers.Authorization as string | undefined,
      body: typeof config.data === "string" ? JSON.parse(config.data) : config.data,
    };
    calls.push(call);
    const { status, data } = await handler(call);
    const response: AxiosResponse = { data, status, statusText: String(status), headers: {}, config };
    if (status >= 400) {
      const error = Object.assign(new Error(`status ${status}`), { isAxiosError: true, config, response });
      throw error;
    }
    return response;
  };
  api.defaults.adapter = adapter;
  bare.defaults.adapter = adapter;
  return calls;
}

export function problem(status: number, code: string, title = "Problem", detail = "Details.") {
  return { status, data: { type: `/docs/errors#${code}`, title, status, detail, code } };
}
