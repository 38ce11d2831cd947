import { lazy, Suspense, useEffect } from "react";
import { Route, Routes } from "react-router";
import { restoreSession } from "./api/client";
import { Layout } from "./components/Layout";
import { RequireAuth } from "./components/RequireAuth";
import { Loading } from "./components/states";

// One chunk per area: a visitor downloads only the public pages.
const PublicArea = lazy(() => import("./areas/public/PublicArea"));
const StudentArea = lazy(() => import("./areas/student/StudentArea"));
const InstructorArea = lazy(() => import("./areas/instructor/InstructorArea"));
const AdminArea = lazy(() => import("./areas/admin/AdminArea"));
const PrincipalArea = lazy(() => import("./areas/principal/PrincipalArea"));

export function App() {
  useEffect(() => {
    void restoreSession();
  }, []);
  return (
    <Layout>
      <Suspense fallback={<Loading />}>
        <Routes>
          <Route path="/my/*" element={<RequireAuth><StudentArea /></RequireAuth>} />
          <Route path="/teach/*" element={<RequireAuth><InstructorArea /></RequireAuth>} />
          <Route path="/manage/*" element={<RequireAuth><AdminArea /></RequireAuth>} />
          <Route path="/org/*" element={<RequireAuth><PrincipalArea /></RequireAuth>} />
          <Route path="*" element={<PublicArea />} />
        </Routes>
      </Suspense>
    </Layout>
  );
}
