import { PageTitle } from "../../components/states";

export default function AdminArea() {
  return (
    <div>
      <PageTitle>Administration</PageTitle>
      <p>
        Users, organisations, courses, events and the audit log are managed in the{" "}
        <a className="link" href="/admin">admin panel</a>.
      </p>
    </div>
  );
}
