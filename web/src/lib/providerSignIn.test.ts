import { beforeEach, describe, expect, it } from "vitest";
import { useAuth } from "../stores/auth";
import { fakeServer } from "../test/fakeServer";
import { NEXT_KEY, VERIFIER_KEY, challengeOf, finishProviderSignIn, providerSignInUrl, readFragment } from "./providerSignIn";

describe("provider sign-in in the web app", () => {
  beforeEach(() => {
    sessionStorage.clear();
    useAuth.getState().clear();
  });

  it("computes the S256 challenge of RFC 7636's example", async () => {
    expect(await challengeOf("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  });

  it("keeps a fresh verifier in this tab and sends only its challenge", async () => {
    const url = await providerSignInUrl("google", "/my/grades");
    const verifier = sessionStorage.getItem(VERIFIER_KEY) ?? "";
    expect(verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url).toBe(`/api/v1/auth/oauth/google/authorize?app_challenge=${await challengeOf(verifier)}`);
    expect(url).not.toContain(verifier);
    expect(sessionStorage.getItem(NEXT_KEY)).toBe("/my/grades");
    await providerSignInUrl("google", "/");
    expect(sessionStorage.getItem(VERIFIER_KEY)).not.toBe(verifier);
  });

  it("reads the callback's fragment", () => {
    expect(readFragment("#code=abc-123")).toEqual({ code: "abc-123", error: undefined });
    expect(readFragment("#error=oauth_denied")).toEqual({ code: undefined, error: "oauth_denied" });
  });

  it("exchanges the code once with the verifier, forgets the verifier, and signs in", async () => {
    await providerSignInUrl("google", "/my/grades");
    const verifier = sessionStorage.getItem(VERIFIER_KEY);
    const calls = fakeServer(({ url }) =>
      url === "/auth/oauth/exchange"
        ? { status: 200, data: { access_token: "a1", refresh_token: "r1", token_type: "bearer", expires_in: 900 } }
        : { status: 200, data: { id: "u1", full_name: "Ada", role: "student" } },
    );

    const [first, second] = await Promise.all([finishProviderSignIn("code-1"), finishProviderSignIn("code-1")]);

    expect(first).toBe(second);
    expect(first.next).toBe("/my/grades");
    expect(calls.filter((call) => call.url === "/auth/oauth/exchange")).toEqual([
      expect.objectContaining({ method: "POST", body: { code: "code-1", verifier } }),
    ]);
    expect(sessionStorage.getItem(VERIFIER_KEY)).toBeNull();
    expect(useAuth.getState()).toMatchObject({ accessToken: "a1", status: "signed-in" });
  });

  it("refuses a code this tab did not ask for, without calling the API", async () => {
    const calls = fakeServer(() => ({ status: 200, data: {} }));
    await expect(finishProviderSignIn("planted-code")).rejects.toMatchObject({ code: "oauth_code_invalid" });
    expect(calls).toEqual([]);
  });
});
