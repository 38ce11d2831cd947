import axios, { type AxiosError, type InternalAxiosRequestConfig } from "axios";
import { useAuth } from "../stores/auth";
import { toProblem } from "./problem";
import type { TokenPair, User } from "./types";

export const API_BASE = "/api/v1";

/** The app's one HTTP client: adds the bearer token, refreshes it once on a 401 and retries,
 * and turns every failure into an ApiProblem (the server's problem document). */
export const api = axios.create({ baseURL: API_BASE, headers: { Accept: "application/json" } });

/** Refreshing goes around `api`'s interceptors, so a failed refresh never triggers another. */
export const bare = axios.create({ baseURL: API_BASE });

type RetriableConfig = InternalAxiosRequestConfig & { _retried?: boolean };

/** Routes where a 401 means "wrong credentials or token", never "refresh and retry". */
const NO_REFRESH = ["/auth/login", "/auth/refresh", "/auth/logout", "/auth/register", "/auth/token", "/auth/oauth/exchange"];

let refreshing: Promise<string | null> | null = null;

async function rotate(): Promise<string | null> {
  const { refreshToken, setTokens, clear } = useAuth.getState();
  if (!refreshToken) return null;
  try {
    const { data } = await bare.post<TokenPair>("/auth/refresh", { refresh_token: refreshToken });
    setTokens(data);
    return data.access_token;
  } catch (error) {
    // The token was rotated, reused, revoked or expired: this session is over. A network
    // failure keeps it, so the next request can try again.
    if ((error as AxiosError).response) clear();
    return null;
  }
}

/** A new access token. Refresh tokens are single-use (the API revokes the whole session when
 * one is presented twice), so concurrent callers share one request in flight. */
export function refreshAccessToken(): Promise<string | null> {
  refreshing ??= rotate().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

api.interceptors.request.use((config) => {
  const token = useAuth.getState().accessToken;
  if (token && !config.headers.Authorization) config.headers.Authorization = `Bearer ${token}`;
  return config;
});

api.interceptors.response.use(
  (response) => response,
  async (error: AxiosError) => {
    const config = error.config as RetriableConfig | undefined;
    const url = config?.url ?? "";
    if (error.response?.status === 401 && config && !config._retried && !NO_REFRESH.some((p) => url.startsWith(p))) {
      config._retried = true;
      const sentWith = config.headers.Authorization;
      const current = useAuth.getState().accessToken;
      // A refresh finished while this request was under way: retry with its token.
      const token = current && sentWith !== `Bearer ${current}` ? current : await refreshAccessToken();
      if (token) {
        config.headers.Authorization = `Bearer ${token}`;
        return api.request(config);
      }
    }
    throw toProblem(error);
  },
);

export async function signIn(email: string, password: string): Promise<User> {
  const { data } = await api.post<TokenPair>("/auth/login", { email, password });
  return acceptTokens(data);
}

/** Stores a token pair (sign-in, sign-up) and loads who it belongs to. */
export async function acceptTokens(pair: TokenPair): Promise<User> {
  useAuth.getState().setTokens(pair);
  const { data: user } = await api.get<User>("/auth/me");
  useAuth.getState().setUser(user);
  return user;
}

/** Ends the session at the API (its refresh and access tokens stop working at once), then
 * forgets it here whatever the API answered. */
export async function signOut(): Promise<void> {
  const { refreshToken, clear } = useAuth.getState();
  try {
    if (refreshToken) await bare.post("/auth/logout", { refresh_token: refreshToken });
  } finally {
    clear();
  }
}

/** At start: a refresh token kept from before the reload becomes a session again. */
export async function restoreSession(): Promise<void> {
  const auth = useAuth.getState();
  if (!auth.refreshToken) {
    auth.clear();
    return;
  }
  const token = await refreshAccessToken();
  if (!token) {
    useAuth.getState().clear();
    return;
  }
  try {
    const { data } = await api.get<User>("/auth/me");
    useAuth.getState().setUser(data);
  } catch {
    useAuth.getState().clear();
  }
}
