"""Issuing, listing, verifying and revoking certificates, and their PDFs.

Issuing is `INSERT ... ON CONFLICT (enrollment_id) DO NOTHING`: duplicate deliveries of
`course.completed` and concurrent workers end with one row, and only the insert that really
inserted emits `certificate.issued`. The PDF is stored under a key derived from the
certificate id, which is itself derived from the enrollment, so every attempt writes the same
key; a certificate whose PDF is missing (a crash between storing and committing, a lost file)
gets it rendered again, by the next delivery or by the first download.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall import event_types
from studyhall.analytics import audit
from studyhall.catalog.access import instructor_ids_of
from studyhall.catalog.models import Course, CourseInstructor
from studyhall.certificates import policies
from studyhall.certificates.codes import new_code, normalize_code
from studyhall.certificates.document import CertificateDocument
from studyhall.certificates.errors import (
    CannotRevokeCertificate,
    CertificateAlreadyRevoked,
    CertificateNotFound,
)
from studyhall.certificates.models import Certificate
from studyhall.core.clock import utcnow
from studyhall.core.db import dialect_insert
from studyhall.core.events import emit
from studyhall.core.pagination import PageParams
from studyhall.core.storage import Storage, StoredObjectNotFound
from studyhall.identity.models import User
from studyhall.learning.models import Enrollment

#: Certificate ids are uuid5(this, enrollment id): one id per enrollment, known before insert.
CERTIFICATE_ID_NAMESPACE = uuid.UUID("6f1d3c0e-5b7a-4f3e-9a51-2c8e4d7b9f10")
PDF_CONTENT_TYPE = "application/pdf"


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    certificate: Certificate
    #: False when the certificate existed already (a repeated delivery).
    newly_issued: bool


@dataclass(frozen=True, slots=True)
class CertificateWithCourse:
    certificate: Certificate
    course: Course


def certificate_id_for(enrollment_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(CERTIFICATE_ID_NAMESPACE, str(enrollment_id))


def verification_url(app_url: str, code: str) -> str:
    return f"{app_url.rstrip('/')}/certificates/verify/{code}"


# -- issuing -------------------------------------------------------------------------------


async def issue_for_enrollment(
    session: AsyncSession, enrollment_id: uuid.UUID, completed_at: datetime | None = None
) -> IssuedCertificate | None:
    """The enrollment's certificate, issued now unless it exists; None when its course gives
    none (`certificate_enabled` off) or the enrollment is gone."""
    found = (
        await session.execute(
            select(Enrollment, Course, User)
            .join(Course, Course.id == Enrollment.course_id)
            .join(User, User.id == Enrollment.user_id)
            .where(Enrollment.id == enrollment_id)
        )
    ).one_or_none()
    if found is None or not found.Course.certificate_enabled:
        return None
    enrollment, course, student = found
    certificate_id = certificate_id_for(enrollment.id)
    inserted = await session.scalar(
        dialect_insert(session, Certificate)
        .values(
            id=certificate_id,
            enrollment_id=enrollment.id,
            user_id=student.id,
            course_id=course.id,
            verification_code=new_code(),
            student_name=student.full_name,
            course_title=course.title,
            instructor_names=await _instructor_names(session, course),
            completed_at=completed_at or enrollment.completed_at or utcnow(),
            issued_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["enrollment_id"])
        .returning(Certificate.id)
    )
    certificate = await session.scalar(
        select(Certificate).where(Certificate.id == certificate_id).execution_options(populate_existing=True)
    )
    assert certificate is not None  # inserted now, or by an earlier delivery
    if inserted is not None:
        emit(
            session,
            event_types.CERTIFICATE_ISSUED,
            {
                "certificate_id": certificate.id,
                "enrollment_id": certificate.enrollment_id,
                "user_id": certificate.user_id,
                "course_id": certificate.course_id,
                "verification_code": certificate.verification_code,
            },
        )
    return IssuedCertificate(certificate, newly_issued=inserted is not None)


async def _instructor_names(session: AsyncSession, course: Course) -> list[str]:
    """The owner first, then the co-instructors in the order they joined."""
    co_instructors = select(CourseInstructor.user_id).where(CourseInstructor.course_id == course.id)
    rows = await session.execute(
        select(User.id, User.full_name, CourseInstructor.added_at)
        .outerjoin(
            CourseInstructor,
            (CourseInstructor.user_id == User.id) & (CourseInstructor.course_id == course.id),
        )
        .where(or_(User.id == course.owner_id, User.id.in_(co_instructors)))
    )
    ordered = sorted(rows.all(), key=lambda row: (row.id != course.owner_id, row.added_at or utcnow()))
    return [row.full_name for row in ordered]


# -- the PDF -------------------------------------------------------------------------------


async def render_certificate(certificate: Certificate, app_url: str) -> bytes:
    document = CertificateDocument(
        student_name=certificate.student_name,
        course_title=certificate.course_title,
        instructor_names=list(certificate.instructor_names),
        completed_at=certificate.completed_at,
        verification_code=certificate.verification_code,
        verification_url=verification_url(app_url, certificate.verification_code),
    )
    # fpdf2 (with fontTools) takes a second or more to import: only processes that render a
    # certificate pay for it, not every API process and CLI command that imports this module.
    from studyhall.certificates.pdf import render_pdf

    return await asyncio.to_thread(render_pdf, document)


async def store_pdf(storage: Storage, certificate: Certificate, app_url: str) -> bytes:
    data = await render_certificate(certificate, app_url)
    await storage.put(certificate.pdf_key, data, content_type=PDF_CONTENT_TYPE)
    return data


async def ensure_pdf(storage: Storage, certificate: Certificate, app_url: str) -> None:
    """Store the PDF unless it is there already (a repeated delivery re-renders a lost one)."""
    if not await storage.exists(certificate.pdf_key):
        await store_pdf(storage, certificate, app_url)


async def read_pdf(storage: Storage, certificate: Certificate, app_url: str) -> bytes:
    """The stored PDF, rendered and stored first if it is missing."""
    try:
        return await storage.read(certificate.pdf_key)
    except StoredObjectNotFound:
        return await store_pdf(storage, certificate, app_url)


# -- reading -------------------------------------------------------------------------------


def _with_course() -> Select[Certificate, Course]:
    return select(Certificate, Course).join(Course, Course.id == Certificate.course_id)


async def my_certificates(
    session: AsyncSession, user: User, params: PageParams
) -> tuple[list[CertificateWithCourse], int]:
    """The caller's certificates, newest first, revoked ones included."""
    mine = Certificate.user_id == user.id
    total = await session.scalar(select(func.count()).select_from(Certificate).where(mine))
    rows = await session.execute(
        _with_course()
        .where(mine)
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        .limit(params.limit)
        .offset(params.offset)
    )
    return [CertificateWithCourse(*row) for row in rows.all()], int(total or 0)


async def _load(session: AsyncSession, certificate_id: uuid.UUID) -> CertificateWithCourse:
    found = (await session.execute(_with_course().where(Certificate.id == certificate_id))).one_or_none()
    if found is None:
        raise CertificateNotFound()
    return CertificateWithCourse(*found)


async def certificate_for_download(
    session: AsyncSession, user: User, certificate_id: uuid.UUID
) -> Certificate:
    """`CertificateNotFound` for anyone who may not download it: they may not know it exists."""
    found = await _load(session, certificate_id)
    instructor_ids = await instructor_ids_of(session, found.course.id)
    if not policies.can_download(user, found.certificate, found.course, instructor_ids):
        raise CertificateNotFound()
    return found.certificate


async def verify(session: AsyncSession, code: str) -> Certificate:
    normalized = normalize_code(code)
    if normalized is None:
        raise CertificateNotFound("No certificate has this verification code")
    certificate = await session.scalar(select(Certificate).where(Certificate.verification_code == normalized))
    if certificate is None:
        raise CertificateNotFound("No certificate has this verification code")
    return certificate


async def revoke(
    session: AsyncSession, user: User, certificate_id: uuid.UUID, reason: str
) -> CertificateWithCourse:
    """Admins and the course's principal revoke; others who can see the certificate (its
    owner, the course's instructors) get `CannotRevokeCertificate`, the rest
    `CertificateNotFound`. Revoking is one conditional UPDATE, so of two concurrent revocations
    one wins and the other is `CertificateAlreadyRevoked`."""
    found = await _load(session, certificate_id)
    certificate, course = found.certificate, found.course
    if not policies.can_revoke(user, course):
        instructor_ids = await instructor_ids_of(session, course.id)
        if policies.can_download(user, certificate, course, instructor_ids):
            raise CannotRevokeCertificate()
        raise CertificateNotFound()
    now = utcnow()
    revoked = await session.scalar(
        update(Certificate)
        .where(Certificate.id == certificate.id, Certificate.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by=user.id, revocation_reason=reason)
        .returning(Certificate.id)
    )
    if revoked is None:
        raise CertificateAlreadyRevoked()
    await session.refresh(certificate)
    audit.record(
        session,
        audit.CERTIFICATE_REVOKED,
        actor=user,
        resource_type="certificate",
        resource_id=certificate.id,
        organization_id=course.organization_id,
        changes={"revoked_at": [None, now], "revocation_reason": [None, reason]},
    )
    emit(
        session,
        event_types.CERTIFICATE_REVOKED,
        {
            "certificate_id": certificate.id,
            "enrollment_id": certificate.enrollment_id,
            "user_id": certificate.user_id,
            "course_id": certificate.course_id,
            "by": user.id,
        },
    )
    return found


async def certificates_by_course(
    session: AsyncSession, user_id: uuid.UUID, course_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Certificate]:
    """The student's certificate in each of `course_ids` that has one (revoked ones too), in
    one query (transcripts and skills)."""
    if not course_ids:
        return {}
    rows = await session.scalars(
        select(Certificate).where(Certificate.user_id == user_id, Certificate.course_id.in_(course_ids))
    )
    return {certificate.course_id: certificate for certificate in rows.all()}
