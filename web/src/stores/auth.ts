import { create } from "zustand";
import type { TokenPair, User } from "../api/types";

/** Where the refresh token survives a page reload: the tab's session storage, gone when the
 * tab closes and never shared with other tabs (each tab is its own API session, so two tabs
 * never race to rotate one token). The access token lives in memory only. */
export const REFRESH_TOKEN_KEY = "studyhall.refresh_token";

export type AuthStatus = "booting" | "anonymous" | "signed-in";

interface AuthState {
  accessToken: string | null;
  refreshToken: string | null;
  user: User | null;
  status: AuthStatus;
  setTokens: (pair: Pick<TokenPair, "access_token" | "refresh_token">) => void;
  setUser: (user: User) => void;
  /** Forgets everything: tokens, the user, the stored refresh token. */
  clear: () => void;
}

function storedRefreshToken(): string | null {
  try {
    return sessionStorage.getItem(REFRESH_TOKEN_KEY);
  } catch {
    return null;
  }
}

export const useAuth = create<AuthState>()((set) => ({
  accessToken: null,
  refreshToken: storedRefreshToken(),
  user: null,
  status: storedRefreshToken() ? "booting" : "anonymous",
  setTokens: ({ access_token, refresh_token }) => {
    sessionStorage.setItem(REFRESH_TOKEN_KEY, refresh_token);
    set({ accessToken: access_token, refreshToken: refresh_token });
  },
  setUser: (user) => set({ user, status: "signed-in" }),
  clear: () => {
    sessionStorage.removeItem(REFRESH_TOKEN_KEY);
    set({ accessToken: null, refreshToken: null, user: null, status: "anonymous" });
  },
}));

export const isStaff = (user: User | null) =>
  user !== null && ["instructor", "principal", "admin"].includes(user.role);
