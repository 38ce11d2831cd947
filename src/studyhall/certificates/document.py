"""What a certificate PDF shows, apart from how `pdf` lays it out (and without importing the
PDF library, which only rendering needs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class CertificateDocument:
    student_name: str
    course_title: str
    instructor_names: list[str]
    completed_at: datetime
    verification_code: str
    verification_url: str
