import { useState } from "react";
import { Link } from "react-router";
import { api } from "../../api/client";
import { toProblem, type ApiProblem } from "../../api/problem";
import type { Certificate, Page } from "../../api/types";
import { Empty, Loading, PageTitle, ProblemAlert } from "../../components/states";
import { useApi } from "../../lib/useApi";

/** The PDF needs the bearer token, so it is fetched and handed to the browser as a file. */
async function downloadPdf(certificate: Certificate) {
  const { data } = await api.get<Blob>(`/certificates/${certificate.id}/pdf`, { responseType: "blob" });
  const url = URL.createObjectURL(data);
  const link = document.createElement("a");
  link.href = url;
  link.download = `certificate-${certificate.course.slug}.pdf`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function CertificatesPage() {
  const certificates = useApi(() => api.get<Page<Certificate>>("/certificates", { params: { limit: 100 } }).then((r) => r.data), "certificates");
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [downloading, setDownloading] = useState<string | null>(null);
  const download = async (certificate: Certificate) => {
    setDownloading(certificate.id);
    setProblem(null);
    try {
      await downloadPdf(certificate);
    } catch (error) {
      setProblem(toProblem(error));
    } finally {
      setDownloading(null);
    }
  };
  return (
    <div>
      <PageTitle>My certificates</PageTitle>
      <ProblemAlert problem={certificates.error ?? problem} onRetry={certificates.error ? certificates.reload : undefined} />
      {certificates.loading ? (
        <Loading />
      ) : certificates.data && certificates.data.items.length === 0 ? (
        <Empty>Complete a course that offers a certificate and it will appear here.</Empty>
      ) : (
        <ul className="space-y-3">
          {certificates.data?.items.map((certificate) => (
            <li key={certificate.id} className="card flex flex-wrap items-center justify-between gap-3">
              <div>
                <h2 className="font-semibold">{certificate.course.title}</h2>
                <p className="text-sm text-slate-700">
                  Issued {new Date(certificate.issued_at).toLocaleDateString()}
                  {certificate.revoked_at && " · Revoked"}
                </p>
                <Link className="link text-sm" to={`/certificates/verify/${certificate.verification_code}`}>
                  Public verification page
                </Link>
              </div>
              <button type="button" className="btn" disabled={downloading === certificate.id} onClick={() => download(certificate)}>
                {downloading === certificate.id ? "Preparing…" : "Download PDF"}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
