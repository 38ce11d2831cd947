import type { ReactNode } from "react";
import { Navigate, useLocation } from "react-router";
import { useAuth } from "../stores/auth";
import { Loading } from "./states";

/** Pages for signed-in people: others are sent to sign in, and come back afterwards. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const status = useAuth((state) => state.status);
  const location = useLocation();
  if (status === "booting") return <Loading />;
  if (status === "anonymous") {
    const next = encodeURIComponent(location.pathname + location.search);
    return <Navigate to={`/sign-in?next=${next}`} replace />;
  }
  return <>{children}</>;
}
