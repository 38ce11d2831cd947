import { useEffect, useRef, useState, type ReactNode } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { api, signIn } from "../../api/client";
import { ApiProblem, toProblem } from "../../api/problem";
import { Field } from "../../components/Field";
import { Loading, PageTitle, ProblemAlert } from "../../components/states";
import { ProviderSignInError, finishProviderSignIn, providerSignInUrl, readFragment } from "../../lib/providerSignIn";
import { useApi } from "../../lib/useApi";
import { useSubmit } from "../../lib/useSubmit";

function AuthCard({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div className="mx-auto max-w-md">
      <PageTitle>{title}</PageTitle>
      <div className="card">{children}</div>
    </div>
  );
}

/** Only paths inside this app: `?next=https://elsewhere` must not send anyone away. */
function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/my/learning";
}

interface Providers {
  items: { name: string; label: string }[];
}

/** Off to the provider: the web app's flow (a verifier kept in this tab, its challenge sent),
 * so the sign-in comes back to /oauth/finish with a one-time code. */
async function startProvider(name: string) {
  const next = safeNext(new URLSearchParams(location.search).get("next"));
  location.assign(await providerSignInUrl(name, next));
}

function ProviderButtons() {
  const providers = useApi(() => api.get<Providers>("/auth/oauth/providers").then((r) => r.data), "providers");
  const items = providers.data?.items ?? [];
  if (items.length === 0) return null;
  return (
    <div className="mt-4 border-t border-slate-200 pt-4">
      <p className="mb-2 text-sm text-slate-600">Or continue with</p>
      <div className="flex flex-col gap-2">
        {items.map((provider) => (
          <button key={provider.name} type="button" className="btn-secondary" onClick={() => void startProvider(provider.name)}>
            Sign in with {provider.label}
          </button>
        ))}
      </div>
    </div>
  );
}

export function SignInPage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const { pending, problem, submit } = useSubmit(async () => {
    await signIn(email, password);
    navigate(safeNext(params.get("next")), { replace: true });
  });
  return (
    <AuthCard title="Sign in">
      <form onSubmit={submit} noValidate>
        <ProblemAlert problem={problem} />
        <Field label="Email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <Field label="Password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        <button type="submit" className="btn w-full" disabled={pending}>
          {pending ? "Signing in…" : "Sign in"}
        </button>
      </form>
      <p className="mt-3 text-sm">
        <Link className="link" to="/forgot-password">Forgot your password?</Link> · New here?{" "}
        <Link className="link" to="/sign-up">Create an account</Link>
      </p>
      <ProviderButtons />
    </AuthCard>
  );
}

export function SignUpPage() {
  const navigate = useNavigate();
  const [fullName, setFullName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const { pending, problem, submit } = useSubmit(async () => {
    await api.post("/auth/register", { full_name: fullName, email, password });
    await signIn(email, password);
    navigate("/my/learning?welcome=1", { replace: true });
  });
  return (
    <AuthCard title="Create your account">
      <form onSubmit={submit} noValidate>
        <ProblemAlert problem={problem} />
        <Field label="Full name" autoComplete="name" required value={fullName} onChange={(e) => setFullName(e.target.value)} />
        <Field label="Email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <Field
          label="Password"
          type="password"
          autoComplete="new-password"
          required
          hint="At least 10 characters, not only digits, not your email address."
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <button type="submit" className="btn w-full" disabled={pending}>
          {pending ? "Creating…" : "Sign up"}
        </button>
      </form>
      <p className="mt-3 text-sm">
        Already have an account? <Link className="link" to="/sign-in">Sign in</Link>
      </p>
      <ProviderButtons />
    </AuthCard>
  );
}

export function ForgotPasswordPage() {
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState(false);
  const { pending, problem, submit } = useSubmit(async () => {
    await api.post("/auth/password-reset/request", { email });
    setSent(true);
  });
  return (
    <AuthCard title="Forgot your password?">
      {sent ? (
        <p role="status">If an account exists for {email}, we sent it a link to choose a new password. It works for one hour.</p>
      ) : (
        <form onSubmit={submit} noValidate>
          <ProblemAlert problem={problem} />
          <Field label="Email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
          <button type="submit" className="btn w-full" disabled={pending}>
            Send the link
          </button>
        </form>
      )}
    </AuthCard>
  );
}

export function ResetPasswordPage() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const [password, setPassword] = useState("");
  const [done, setDone] = useState(false);
  const { pending, problem, submit } = useSubmit(async () => {
    await api.post("/auth/password-reset/confirm", { token, new_password: password });
    setDone(true);
  });
  if (!token) {
    return (
      <AuthCard title="Choose a new password">
        <p role="alert">This link has no token. Ask for a new one on <Link className="link" to="/forgot-password">Forgot your password?</Link></p>
      </AuthCard>
    );
  }
  return (
    <AuthCard title="Choose a new password">
      {done ? (
        <p role="status">
          Your password was changed and every session signed out. <Link className="link" to="/sign-in">Sign in</Link>
        </p>
      ) : (
        <form onSubmit={submit} noValidate>
          <ProblemAlert problem={problem} />
          <Field label="New password" type="password" autoComplete="new-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
          <button type="submit" className="btn w-full" disabled={pending}>
            Set the password
          </button>
        </form>
      )}
    </AuthCard>
  );
}

export function VerifyEmailPage() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const [state, setState] = useState<"pending" | "done" | ApiProblem>("pending");
  const sent = useRef(false);
  useEffect(() => {
    // The token is single-use: confirm it once, even when effects run twice.
    if (!token || sent.current) return;
    sent.current = true;
    api.post("/auth/verify-email/confirm", { token }).then(
      () => setState("done"),
      (error: unknown) => setState(toProblem(error)),
    );
  }, [token]);
  return (
    <AuthCard title="Verify your email">
      {!token ? (
        <p role="alert">This link has no token.</p>
      ) : state === "pending" ? (
        <Loading label="Verifying…" />
      ) : state === "done" ? (
        <p role="status">
          Your email address is verified. <Link className="link" to="/my/learning">Go to my learning</Link>
        </p>
      ) : (
        <ProblemAlert problem={state} />
      )}
    </AuthCard>
  );
}

const PROVIDER_ERRORS: Record<string, string> = {
  oauth_denied: "The provider did not sign you in.",
  oauth_email_unverified: "The provider did not confirm a verified email address.",
  account_disabled: "This account is deactivated.",
  oauth_code_invalid: "This sign-in expired or was already used, or was started in another tab.",
};

/** Where a provider sign-in comes back: the callback put a one-time code (or an error code)
 * in the fragment; the code is exchanged, with this tab's verifier, for a session. */
export function ProviderFinishPage() {
  const navigate = useNavigate();
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  useEffect(() => {
    const { code, error } = readFragment(location.hash);
    // The code leaves the address bar (and the history) at once.
    history.replaceState(null, "", location.pathname);
    const fail = (found: string) =>
      setProblem(new ApiProblem({ status: 400, code: found, title: "Sign-in did not finish", detail: PROVIDER_ERRORS[found] ?? `The sign-in failed (${found}).` }));
    if (!code) {
      fail(error ?? "oauth_code_invalid");
      return;
    }
    finishProviderSignIn(code).then(
      ({ next }) => navigate(safeNext(next), { replace: true }),
      (failure: unknown) => (failure instanceof ProviderSignInError ? fail(failure.code) : setProblem(toProblem(failure))),
    );
  }, [navigate]);
  return (
    <AuthCard title="Signing you in">
      {problem ? (
        <>
          <ProblemAlert problem={problem} />
          <p className="mt-3 text-sm">
            <Link className="link" to="/sign-in">Back to sign in</Link>
          </p>
        </>
      ) : (
        <Loading label="Finishing sign-in…" />
      )}
    </AuthCard>
  );
}
