import { useEffect, type ReactNode } from "react";
import { Link, NavLink, useNavigate } from "react-router";
import { signOut } from "../api/client";
import { isStaff, useAuth } from "../stores/auth";
import { connectNotifications, useNotifications } from "../stores/notifications";
import { NotificationBell } from "./NotificationBell";

const navClass = ({ isActive }: { isActive: boolean }) =>
  `rounded-md px-2 py-1 hover:bg-indigo-800 ${isActive ? "underline underline-offset-4" : ""}`;

export function Layout({ children }: { children: ReactNode }) {
  const user = useAuth((state) => state.user);
  const navigate = useNavigate();

  useEffect(() => {
    if (!user) return;
    useNotifications.getState().load().catch(() => undefined);
    return connectNotifications();
  }, [user]);

  const leave = async () => {
    await signOut().catch(() => undefined);
    navigate("/");
  };

  return (
    <div className="flex min-h-screen flex-col">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:bg-white focus:p-2">
        Skip to content
      </a>
      <header className="bg-indigo-700 text-white">
        <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-2 px-4 py-3">
          <Link to="/" className="mr-4 text-lg font-bold">
            StudyHall
          </Link>
          <nav aria-label="Main" className="flex flex-1 flex-wrap items-center gap-1 text-sm">
            <NavLink to="/" end className={navClass}>
              Catalog
            </NavLink>
            {user && (
              <>
                <NavLink to="/my/learning" className={navClass}>
                  My learning
                </NavLink>
                <NavLink to="/my/certificates" className={navClass}>
                  Certificates
                </NavLink>
                <NavLink to="/my/grades" className={navClass}>
                  Grades
                </NavLink>
              </>
            )}
            {isStaff(user) && (
              <NavLink to="/teach" className={navClass}>
                Teach
              </NavLink>
            )}
            {(user?.role === "principal" || user?.role === "admin") && (
              <NavLink to="/org" className={navClass}>
                Organisation
              </NavLink>
            )}
            {user?.role === "admin" && (
              <NavLink to="/manage" className={navClass}>
                Admin
              </NavLink>
            )}
          </nav>
          {user ? (
            <div className="flex items-center gap-2">
              <NotificationBell />
              <span className="hidden text-sm sm:inline">{user.full_name}</span>
              <button type="button" className="rounded-md border border-white/60 px-3 py-1 text-sm hover:bg-indigo-800" onClick={leave}>
                Sign out
              </button>
            </div>
          ) : (
            <div className="flex items-center gap-2 text-sm">
              <Link to="/sign-in" className="rounded-md px-2 py-1 hover:bg-indigo-800">
                Sign in
              </Link>
              <Link to="/sign-up" className="rounded-md bg-white px-3 py-1 font-medium text-indigo-800">
                Sign up
              </Link>
            </div>
          )}
        </div>
      </header>
      <main id="main" className="mx-auto w-full max-w-6xl flex-1 px-4 py-6">
        {children}
      </main>
      <footer className="border-t border-slate-200 py-4 text-center text-xs text-slate-600">
        StudyHall · <a className="link" href="/docs">API</a>
      </footer>
    </div>
  );
}
