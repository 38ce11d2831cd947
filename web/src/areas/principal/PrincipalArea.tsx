import { Link, NavLink, Navigate, Route, Routes, useParams } from "react-router";
import { api } from "../../api/client";
import type { Organization, Page } from "../../api/types";
import { Empty, Loading, PageTitle, ProblemAlert } from "../../components/states";
import { useApi } from "../../lib/useApi";
import { useAuth } from "../../stores/auth";
import { NotFoundPage } from "../public/NotFoundPage";
import { AnalyticsPage } from "./AnalyticsPage";
import { MembersPage } from "./MembersPage";

const tabClass = ({ isActive }: { isActive: boolean }) => `rounded-md px-3 py-1 ${isActive ? "bg-indigo-100 font-semibold" : "hover:bg-slate-100"}`;

/** The organisation's name and the tabs of its pages. */
function OrganizationPages() {
  const { orgId = "" } = useParams();
  const organization = useApi(() => api.get<Organization>(`/organizations/${orgId}`).then((r) => r.data), orgId);
  if (organization.loading) return <Loading />;
  if (organization.error || !organization.data) return <ProblemAlert problem={organization.error} onRetry={organization.reload} />;
  return (
    <div>
      <PageTitle>{organization.data.name}</PageTitle>
      <nav aria-label="Organisation" className="mb-4 flex flex-wrap gap-2 text-sm">
        <NavLink to={`/org/${orgId}/members`} className={tabClass}>Members</NavLink>
        <NavLink to={`/org/${orgId}/analytics`} className={tabClass}>Analytics</NavLink>
      </nav>
      <Routes>
        <Route index element={<Navigate replace to={`/org/${orgId}/members`} />} />
        <Route path="members" element={<MembersPage organizationId={orgId} />} />
        <Route path="analytics" element={<AnalyticsPage organizationId={orgId} />} />
        <Route path="*" element={<NotFoundPage />} />
      </Routes>
    </div>
  );
}

/** `/org`: a principal goes to their organisation; an admin picks one. */
function OrganizationIndex() {
  const user = useAuth((state) => state.user);
  const organizations = useApi(() => api.get<Page<Organization>>("/organizations", { params: { limit: 100 } }).then((r) => r.data), "organizations");
  if (user?.organization_id && user.role !== "admin") return <Navigate replace to={`/org/${user.organization_id}/members`} />;
  return (
    <div>
      <PageTitle>Organisations</PageTitle>
      <ProblemAlert problem={organizations.error} onRetry={organizations.reload} />
      {organizations.loading ? (
        <Loading />
      ) : organizations.data?.items.length === 0 ? (
        <Empty>You do not belong to an organisation.</Empty>
      ) : (
        <ul className="space-y-2">
          {organizations.data?.items.map((organization) => (
            <li key={organization.id}>
              <Link className="link" to={`/org/${organization.id}/members`}>{organization.name}</Link>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export default function PrincipalArea() {
  return (
    <Routes>
      <Route index element={<OrganizationIndex />} />
      <Route path=":orgId/*" element={<OrganizationPages />} />
    </Routes>
  );
}
