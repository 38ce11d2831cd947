import { useParams } from "react-router";
import { api } from "../../api/client";
import type { CertificateVerification } from "../../api/types";
import { Loading, PageTitle, ProblemAlert } from "../../components/states";
import { useApi } from "../../lib/useApi";

export function CertificateVerifyPage() {
  const { code = "" } = useParams();
  const check = useApi(
    () => api.get<CertificateVerification>(`/certificates/verify/${encodeURIComponent(code)}`).then((r) => r.data),
    code,
  );
  return (
    <div className="mx-auto max-w-xl">
      <PageTitle>Certificate verification</PageTitle>
      {check.loading ? (
        <Loading label="Checking the certificate…" />
      ) : check.error ? (
        <ProblemAlert problem={check.error} onRetry={check.reload} />
      ) : (
        check.data && (
          <div className="card" data-testid="verification">
            <p className={`mb-3 text-lg font-bold ${check.data.valid ? "text-green-800" : "text-red-800"}`}>
              {check.data.valid ? "✓ Valid certificate" : "✗ This certificate was revoked"}
            </p>
            <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1">
              <dt className="font-medium">Student</dt>
              <dd>{check.data.student_name}</dd>
              <dt className="font-medium">Course</dt>
              <dd>{check.data.course_title}</dd>
              <dt className="font-medium">Issued</dt>
              <dd>{new Date(check.data.issued_at).toLocaleDateString()}</dd>
              {check.data.revoked_at && (
                <>
                  <dt className="font-medium">Revoked</dt>
                  <dd>{new Date(check.data.revoked_at).toLocaleDateString()}</dd>
                </>
              )}
              <dt className="font-medium">Code</dt>
              <dd className="break-all font-mono text-sm">{code}</dd>
            </dl>
          </div>
        )
      )}
    </div>
  );
}
