"""Verification codes, the permission rules and the PDF, on their own."""

from __future__ import annotations

import io
import math
import re
import uuid
from datetime import UTC, datetime

import segno
from pypdf import PdfReader

from studyhall.catalog.models import Course
from studyhall.certificates import codes, policies
from studyhall.certificates.document import CertificateDocument
from studyhall.certificates.models import Certificate
from studyhall.certificates.pdf import render_pdf
from studyhall.identity.models import Role, User

URL = "https://school.example/certificates/verify/7K3QF-M2XHD-9TNBW-RC4VE"


# -- codes -----------------------------------------------------------------------------------


def test_codes_are_grouped_unambiguous_and_carry_at_least_80_bits() -> None:
    assert len(codes.ALPHABET) == 32 and not set("ILOU") & set(codes.ALPHABET)
    assert codes.LENGTH * math.log2(len(codes.ALPHABET)) >= 80
    issued = [codes.new_code() for _ in range(2000)]
    assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){3}", code) for code in issued)
    assert len(set(issued)) == len(issued)
    assert set("".join(issued).replace("-", "")) == set(codes.ALPHABET), "every symbol is used"


def test_normalizing_reads_codes_as_people_type_them() -> None:
    code = "7K3QF-M2XHD-9TNBW-RC4V0"
    for typed in (
        code,
        code.lower(),
        code.replace("-", ""),
        " 7k3qf m2xhd 9tnbw rc4v0 ",
        "7K3QF-M2XHD-9TNBW-RC4VO",  # O for 0
    ):
        assert codes.normalize_code(typed) == code, typed
    assert codes.normalize_code("lI000-00000-00000-00000") == "11000-00000-00000-00000"
    for impossible in ("", "7K3QF", code + "X", "UUUUU-UUUUU-UUUUU-UUUUU", "7K3QF-M2XHD-9TNBW-RC4V!"):
        assert codes.normalize_code(impossible) is None, impossible


# -- policies --------------------------------------------------------------------------------


def _user(role: Role, organization_id: uuid.UUID | None = None) -> User:
    return User(id=uuid.uuid4(), role=role, organization_id=organization_id)


def test_who_may_download_and_revoke() -> None:
    school = uuid.uuid4()
    owner, co_teacher = _user(Role.INSTRUCTOR, school), _user(Role.INSTRUCTOR, school)
    student = _user(Role.STUDENT, school)
    course = Course(id=uuid.uuid4(), owner_id=owner.id, organization_id=school)
    certificate = Certificate(id=uuid.uuid4(), user_id=student.id, course_id=course.id)
    principal, other_principal = _user(Role.PRINCIPAL, school), _user(Role.PRINCIPAL, uuid.uuid4())
    admin, classmate = _user(Role.ADMIN), _user(Role.STUDENT, school)

    def download(user: User) -> bool:
        return policies.can_download(user, certificate, course, {co_teacher.id})

    assert [download(u) for u in (student, owner, co_teacher, principal, admin)] == [True] * 5
    assert [download(u) for u in (classmate, other_principal)] == [False, False]
    assert [policies.can_revoke(u, course) for u in (admin, principal)] == [True, True]
    assert [policies.can_revoke(u, course) for u in (student, owner, co_teacher, other_principal)] == [
        False
    ] * 4
    unaffiliated = Course(id=uuid.uuid4(), owner_id=owner.id, organization_id=None)
    assert not policies.can_revoke(principal, unaffiliated)
    assert policies.can_revoke(admin, unaffiliated)


# -- the PDF ---------------------------------------------------------------------------------


def _document(**changes: object) -> CertificateDocument:
    values: dict[str, object] = {
        "student_name": "Zoë Ångström",
        "course_title": "SQL Fundamentals",
        "instructor_names": ["Ada Lovelace"],
        "completed_at": datetime(2026, 11, 26, 9, 30, tzinfo=UTC),
        "verification_code": "7K3QF-M2XHD-9TNBW-RC4VE",
        "verification_url": URL,
    }
    values.update(changes)
    return CertificateDocument(**values)  # type: ignore[arg-type]


def _page(data: bytes) -> tuple[str, bytes]:
    reader = PdfReader(io.BytesIO(data))
    [page] = reader.pages
    return page.extract_text(), page.get_contents().get_data()  # type: ignore[union-attr]


def _dark_runs(url: str) -> int:
    """Runs of dark modules, row by row, of the QR code of `url`."""
    runs = 0
    for row in segno.make(url, error="m", micro=False).matrix_iter(scale=1, border=0):
        cells = list(row)
        runs += sum(1 for i, dark in enumerate(cells) if dark and (i == 0 or not cells[i - 1]))
    return runs


def test_the_pdf_shows_everything_and_draws_the_qr_code_of_the_url() -> None:
    text, content = _page(render_pdf(_document(instructor_names=["Ada Lovelace", "Grace Hopper"])))
    for expected in (
        "Certificate of Completion",
        "Zoë Ångström",
        "SQL Fundamentals",
        "Instructors: Ada Lovelace, Grace Hopper",
        "Completed on 26 November 2026",
        "Verification code: 7K3QF-M2XHD-9TNBW-RC4VE",
        URL,
    ):
        assert expected in text
    filled = len(re.findall(rb" re f\b", content))
    assert filled == _dark_runs(URL), "one filled rectangle per run of dark QR modules"
    assert _dark_runs(URL) != _dark_runs(URL + "X")


def test_the_pdf_copes_with_any_name_and_a_long_title() -> None:
    title = "Introducción a la ciberseguridad: " + "una asignatura muy larga " * 6
    text, _ = _page(
        render_pdf(
            _document(student_name="Ἀριστοτέλης Ёлкин 山田太郎", course_title=title, instructor_names=[])
        )
    )
    assert "Ἀριστοτέλης Ёлкин" in text, "Greek and Cyrillic are in the font"
    assert "Instructor" not in text
    assert "una asignatura muy larga" in text
