import { API_BASE, acceptTokens, api } from "../api/client";
import type { TokenPair, User } from "../api/types";

/** The tab's secret for one provider sign-in, and where to go afterwards. sessionStorage:
 * only this tab can finish the sign-in it started. */
export const VERIFIER_KEY = "studyhall.oauth_verifier";
export const NEXT_KEY = "studyhall.oauth_next";

function base64url(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** base64url(SHA-256(verifier)), as PKCE's S256 and as the API checks it. */
export async function challengeOf(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** Where `authorize` starts: a fresh verifier is kept in this tab, its challenge goes along. */
export async function providerSignInUrl(provider: string, next: string): Promise<string> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  sessionStorage.setItem(VERIFIER_KEY, verifier);
  sessionStorage.setItem(NEXT_KEY, next);
  const challenge = await challengeOf(verifier);
  return `${API_BASE}/auth/oauth/${encodeURIComponent(provider)}/authorize?app_challenge=${challenge}`;
}

export class ProviderSignInError extends Error {
  constructor(public code: string) {
    super(code);
  }
}

/** The outcome the callback put in the fragment: `code=...` or `error=...`. */
export function readFragment(hash: string): { code?: string; error?: string } {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  return { code: params.get("code") ?? undefined, error: params.get("error") ?? undefined };
}

const finishing = new Map<string, Promise<{ user: User; next: string }>>();

/** Exchanges the one-time code with this tab's verifier for a session. The verifier is
 * forgotten at once; the same code is exchanged once even if asked twice (effects may run
 * twice in development). */
export function finishProviderSignIn(code: string): Promise<{ user: User; next: string }> {
  let pending = finishing.get(code);
  if (!pending) {
    const verifier = sessionStorage.getItem(VERIFIER_KEY);
    const next = sessionStorage.getItem(NEXT_KEY) ?? "/my/learning";
    sessionStorage.removeItem(VERIFIER_KEY);
    sessionStorage.removeItem(NEXT_KEY);
    pending = verifier
      ? api.post<TokenPair>("/auth/oauth/exchange", { code, verifier }).then(async ({ data }) => ({ user: await acceptTokens(data), next }))
      : Promise.reject(new ProviderSignInError("oauth_code_invalid"));
    finishing.set(code, pending);
  }
  return pending;
}
