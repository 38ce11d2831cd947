import { beforeEach, describe, expect, it } from "vitest";
import type { User } from "../api/types";
import { REFRESH_TOKEN_KEY, isStaff, useAuth } from "./auth";

const user = { id: "u1", email: "ada@example.com", full_name: "Ada", role: "student" } as User;

describe("auth store", () => {
  beforeEach(() => useAuth.getState().clear());

  it("keeps the access token in memory and only the refresh token in session storage", () => {
    useAuth.getState().setTokens({ access_token: "access-1", refresh_token: "refresh-1" });
    expect(useAuth.getState().accessToken).toBe("access-1");
    expect(sessionStorage.getItem(REFRESH_TOKEN_KEY)).toBe("refresh-1");
    expect(JSON.stringify({ ...sessionStorage })).not.toContain("access-1");
    expect(JSON.stringify({ ...localStorage })).not.toContain("refresh-1");
  });

  it("replaces the stored refresh token when it rotates", () => {
    useAuth.getState().setTokens({ access_token: "a1", refresh_token: "r1" });
    useAuth.getState().setTokens({ access_token: "a2", refresh_token: "r2" });
    expect(sessionStorage.getItem(REFRESH_TOKEN_KEY)).toBe("r2");
    expect(useAuth.getState().refreshToken).toBe("r2");
  });

  it("is signed in once it knows the user, and forgets everything on clear", () => {
    useAuth.getState().setTokens({ access_token: "a1", refresh_token: "r1" });
    useAuth.getState().setUser(user);
    expect(useAuth.getState().status).toBe("signed-in");
    useAuth.getState().clear();
    expect(useAuth.getState()).toMatchObject({ accessToken: null, refreshToken: null, user: null, status: "anonymous" });
    expect(sessionStorage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
  });

  it("tells staff from students", () => {
    expect(isStaff(null)).toBe(false);
    expect(isStaff(user)).toBe(false);
    expect(isStaff({ ...user, role: "instructor" })).toBe(true);
    expect(isStaff({ ...user, role: "admin" })).toBe(true);
  });
});
