"""Request and response models of the certificates API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from studyhall.certificates.models import Certificate
from studyhall.certificates.service import CertificateWithCourse

#: Longest verification code accepted in a path: the grouped form is 23 characters; room
#: for spaces someone pasted along, but nothing unbounded.
CODE_MAX_LENGTH = 64


class CertificateCourse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    title: str


class CertificateRead(BaseModel):
    id: uuid.UUID
    course: CertificateCourse
    issued_at: datetime
    verification_code: str = Field(examples=["7K3QF-M2XHD-9TNBW-RC4VE"])
    revoked_at: datetime | None = Field(description="Set once the certificate is revoked")
    revocation_reason: str | None

    @classmethod
    def of(cls, item: CertificateWithCourse) -> CertificateRead:
        certificate = item.certificate
        return cls(
            id=certificate.id,
            course=CertificateCourse.model_validate(item.course),
            issued_at=certificate.issued_at,
            verification_code=certificate.verification_code,
            revoked_at=certificate.revoked_at,
            revocation_reason=certificate.revocation_reason,
        )


class CertificateVerification(BaseModel):
    """What anyone holding the code learns: whether it is valid, whose and for what."""

    valid: bool = Field(description="False once the certificate is revoked")
    student_name: str
    course_title: str
    issued_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, certificate: Certificate) -> CertificateVerification:
        return cls(
            valid=certificate.revoked_at is None,
            student_name=certificate.student_name,
            course_title=certificate.course_title,
            issued_at=certificate.issued_at,
            revoked_at=certificate.revoked_at,
        )


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
