import { beforeEach, describe, expect, it } from "vitest";
import { useAuth } from "../stores/auth";
import { api, signOut } from "./client";
import { ApiProblem } from "./problem";
import { fakeServer, problem } from "../test/fakeServer";

function signedIn(access = "old-access", refresh = "refresh-1") {
  useAuth.getState().setTokens({ access_token: access, refresh_token: refresh });
}

describe("the refresh interceptor", () => {
  beforeEach(() => useAuth.getState().clear());

  it("answers concurrent 401s with exactly one refresh, then retries each request with the new token", async () => {
    signedIn();
    let releaseRefresh: () => void = () => undefined;
    const refreshGate = new Promise<void>((resolve) => (releaseRefresh = resolve));
    const calls = fakeServer(async (call) => {
      if (call.url === "/auth/refresh") {
        await refreshGate;
        return { status: 200, data: { access_token: "new-access", refresh_token: "refresh-2", token_type: "bearer", expires_in: 900 } };
      }
      return call.authorization === "Bearer new-access" ? { status: 200, data: { url: call.url } } : problem(401, "invalid_token");
    });

    const requests = ["/a", "/b", "/c", "/d"].map((url) => api.get(url));
    await new Promise((resolve) => setTimeout(resolve, 10));
    releaseRefresh();
    const answers = await Promise.all(requests);

    expect(answers.map((answer) => answer.data.url)).toEqual(["/a", "/b", "/c", "/d"]);
    const refreshes = calls.filter((call) => call.url === "/auth/refresh");
    expect(refreshes).toHaveLength(1);
    expect(refreshes[0].body).toEqual({ refresh_token: "refresh-1" });
    expect(useAuth.getState()).toMatchObject({ accessToken: "new-access", refreshToken: "refresh-2" });
  });

  it("signs out when the refresh token was already rotated, and reports the original problem", async () => {
    signedIn();
    const calls = fakeServer((call) =>
      call.url === "/auth/refresh" ? problem(401, "refresh_token_reused", "Refresh token reused") : problem(401, "session_revoked", "Session revoked", "Sign in again."),
    );
    const failure = await api.get("/courses").catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiProblem);
    expect(failure).toMatchObject({ title: "Session revoked", detail: "Sign in again.", code: "session_revoked" });
    expect(calls.filter((call) => call.url === "/auth/refresh")).toHaveLength(1);
    expect(useAuth.getState()).toMatchObject({ accessToken: null, refreshToken: null, status: "anonymous" });
  });

  it("never refreshes for a failed sign-in", async () => {
    const calls = fakeServer(() => problem(401, "invalid_credentials", "Invalid credentials"));
    await expect(api.post("/auth/login", { email: "a@b.c", password: "x" })).rejects.toMatchObject({ code: "invalid_credentials" });
    expect(calls.map((call) => call.url)).toEqual(["/auth/login"]);
  });

  it("turns every failure into the problem document's title and detail", async () => {
    fakeServer(() => ({
      status: 422,
      data: { type: "t", title: "Validation failed", status: 422, detail: "1 field is invalid.", code: "validation_error", errors: [{ loc: ["body", "email"], msg: "not an email", type: "x" }] },
    }));
    const failure = (await api.post("/auth/register", {}).catch((error: unknown) => error)) as ApiProblem;
    expect([failure.title, failure.detail, failure.errors[0].msg]).toEqual(["Validation failed", "1 field is invalid.", "not an email"]);
  });

  it("retries with a token refreshed meanwhile instead of rotating again", async () => {
    signedIn("stale");
    const calls = fakeServer((call) => {
      if (call.url === "/slow") {
        useAuth.getState().setTokens({ access_token: "fresh", refresh_token: "refresh-2" });
        return problem(401, "invalid_token");
      }
      return { status: 200, data: call.authorization };
    });
    await api.get("/slow").catch(() => undefined);
    expect(calls.some((call) => call.url === "/auth/refresh")).toBe(false);
  });
});

describe("signing out", () => {
  it("revokes the session at the API and forgets the tokens", async () => {
    signedIn("a", "refresh-9");
    const calls = fakeServer(() => ({ status: 204 }));
    await signOut();
    expect(calls).toMatchObject([{ method: "POST", url: "/auth/logout", body: { refresh_token: "refresh-9" } }]);
    expect(useAuth.getState()).toMatchObject({ accessToken: null, refreshToken: null });
  });

  it("forgets the tokens even when the API cannot be reached", async () => {
    signedIn("a", "refresh-9");
    fakeServer(() => problem(503, "unavailable"));
    await signOut().catch(() => undefined);
    expect(useAuth.getState().refreshToken).toBeNull();
  });
});
