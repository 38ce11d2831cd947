"""Certificates of completion, one per enrollment."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.core.clock import utcnow
from studyhall.core.db import Base


class Certificate(Base):
    """What the certificate says is kept as it was on the day it was issued (the student's
    name, the course title, the instructors), so its PDF, rendered now or later, and the public
    verification agree with each other whatever is renamed afterwards."""

    __tablename__ = "certificates"
    __table_args__ = (
        #: "My certificates", newest first, without a sort.
        Index("ix_certificates_user_id_issued_at", "user_id", "issued_at"),
    )

    #: Derived from the enrollment (`certificate_id_for`), so every attempt to issue the same
    #: certificate writes its PDF under the same storage key.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    #: Unique: the database, not a check in Python, makes issuing happen once per enrollment.
    enrollment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    #: Grouped form (`XXXXX-XXXXX-XXXXX-XXXXX`), see `certificates.codes`.
    verification_code: Mapped[str] = mapped_column(String(32), unique=True)
    student_name: Mapped[str] = mapped_column(String(200))
    course_title: Mapped[str] = mapped_column(String(200))
    instructor_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    completed_at: Mapped[datetime]
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    revocation_reason: Mapped[str | None] = mapped_column(Text, default=None)

    @property
    def pdf_key(self) -> str:
        return pdf_key(self.id)


def pdf_key(certificate_id: uuid.UUID) -> str:
    """Where the certificate's PDF is stored."""
    return f"certificates/{certificate_id}.pdf"
