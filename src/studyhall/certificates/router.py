"""Certificate endpoints: mine, the PDF, public verification, revocation."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Path, Response

from studyhall.certificates import service
from studyhall.certificates.schemas import (
    CODE_MAX_LENGTH,
    CertificateRead,
    CertificateVerification,
    RevokeRequest,
)
from studyhall.core.deps import SessionDep, SettingsDep, StorageDep
from studyhall.core.openapi import error_responses
from studyhall.core.pagination import Page, PageParamsDep
from studyhall.core.routing import DomainRouter
from studyhall.identity.deps import ClientInfoDep, CurrentUser, RateLimiterDep

router = DomainRouter(prefix="/certificates", tags=["certificates"])

_NOT_FOUND = "`certificate_not_found`: no such certificate the caller may see"


@router.get(
    "",
    summary="My certificates",
    description=(
        "The caller's certificates, newest first, revoked ones included (`revoked_at` set). "
        "A certificate is issued when the caller completes a course with certificates enabled."
    ),
    responses=error_responses(401, 422),
)
async def my_certificates(
    user: CurrentUser, session: SessionDep, params: PageParamsDep
) -> Page[CertificateRead]:
    items, total = await service.my_certificates(session, user, params)
    return Page[CertificateRead].of([CertificateRead.of(item) for item in items], total, params)


@router.get(
    "/verify/{code}",
    summary="Verify a certificate",
    description=(
        "Public: anyone holding a verification code learns whether the certificate is valid, "
        "whose it is and for which course. Codes are read in any letter case, with or without "
        "dashes. A revoked certificate answers `valid: false` with `revoked_at`. Rate limited "
        "per client IP (`RATE_LIMIT_CERTIFICATE_VERIFY`)."
    ),
    responses=error_responses(
        404, 422, 429, status_404="`certificate_not_found`: no certificate has this code"
    ),
)
async def verify_certificate(
    code: Annotated[str, Path(max_length=CODE_MAX_LENGTH)],
    session: SessionDep,
    limiter: RateLimiterDep,
    settings: SettingsDep,
    client: ClientInfoDep,
) -> CertificateVerification:
    await limiter.hit("certificate-verify-ip", settings.rate_limit_certificate_verify, client.ip or "unknown")
    return CertificateVerification.of(await service.verify(session, code))


@router.get(
    "/{certificate_id}/pdf",
    summary="Download a certificate",
    description=(
        "The certificate as a PDF, for its owner, the course's staff and admins; anyone else "
        "gets `404`. A revoked certificate's PDF is still served: verification tells it is "
        "revoked."
    ),
    response_class=Response,
    responses={
        200: {
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The PDF",
        },
        **error_responses(401, 404, 422, status_404=_NOT_FOUND),
    },
)
async def certificate_pdf(
    certificate_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> Response:
    certificate = await service.certificate_for_download(session, user, certificate_id)
    data = await service.read_pdf(storage, certificate, settings.app_url)
    return Response(
        content=data,
        media_type=service.PDF_CONTENT_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="certificate-{certificate.verification_code}.pdf"',
            "Cache-Control": "private, no-cache",
        },
    )


@router.post(
    "/{certificate_id}/revoke",
    summary="Revoke a certificate",
    description=(
        "Admins and the principal of the course's organisation revoke a certificate with a "
        "reason; verification then answers `valid: false`. Its owner and the course's "
        "instructors get `403`, anyone else `404`. Emits `certificate.revoked`."
    ),
    responses=error_responses(
        401,
        403,
        404,
        409,
        422,
        status_403="`cannot_revoke_certificate`: the caller may see the certificate, not revoke it",
        status_404=_NOT_FOUND,
        status_409="`certificate_already_revoked`",
    ),
)
async def revoke_certificate(
    certificate_id: uuid.UUID, body: RevokeRequest, user: CurrentUser, session: SessionDep
) -> CertificateRead:
    return CertificateRead.of(await service.revoke(session, user, certificate_id, body.reason))
