import { Link, Route, Routes } from "react-router";
import { PageTitle } from "../../components/states";
import { NotFoundPage } from "../public/NotFoundPage";
import { AuditLogPage } from "./AuditLogPage";

function AdminHome() {
  return (
    <div>
      <PageTitle>Administration</PageTitle>
      <p>
        Users, organisations, courses, events and the audit log are managed in the{" "}
        <a className="link" href="/admin">admin panel</a>.
      </p>
      <ul className="mt-4 list-disc space-y-1 pl-5">
        <li>
          <Link className="link" to="/manage/audit-log">Audit log</Link>: who did what, when and from where.
        </li>
        <li>
          <Link className="link" to="/org">Organisations</Link>: members, invitations and analytics.
        </li>
      </ul>
    </div>
  );
}

export default function AdminArea() {
  return (
    <Routes>
      <Route index element={<AdminHome />} />
      <Route path="audit-log" element={<AuditLogPage />} />
      <Route path="*" element={<NotFoundPage />} />
    </Routes>
  );
}
