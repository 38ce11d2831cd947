"""Issuing: one certificate per completed enrollment, under repeated and concurrent delivery,
with its PDF, also after a crash at any point of the handler."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall import event_types
from studyhall.catalog.models import Course, CourseInstructor
from studyhall.certificates.codes import normalize_code
from studyhall.certificates.handlers import issue_certificate
from studyhall.certificates.models import Certificate
from studyhall.core.events import Event, HandlerRegistry, OutboxDispatcher, OutboxEvent, OutboxStatus
from studyhall.core.s3_storage import S3Storage
from studyhall.core.storage import Storage
from studyhall.identity.models import Role
from studyhall.learning.models import Enrollment
from studyhall.main import create_app
from tests.conftest import empty_tables, make_settings
from tests.factories import (
    API,
    Actor,
    AppFactory,
    FakeClock,
    client_for,
    complete,
    count_rows,
    course_completed_event,
    course_lessons,
    create_course,
    create_user,
    deliver,
    enroll,
    enrollment_row,
    events,
    fresh_row,
    rows,
)
from tests.servers import SeaweedServer

STUDENT_NAME = "Zoë Ångström-Łukasiewicz Ёлка"


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text()


async def complete_course_through_the_api(
    app: FastAPI, client: httpx.AsyncClient, student: Actor, course: Course
) -> Enrollment:
    await enroll(client, student, course)
    for lesson in await course_lessons(app, course):
        response = await complete(client, student, lesson)
        assert response.status_code == 200, response.text
    await app.state.dispatcher.drain()
    enrollment = await enrollment_row(app, student, course)
    assert enrollment is not None and enrollment.completed_at is not None
    return enrollment


@pytest.fixture
async def teacher(app: FastAPI) -> Actor:
    return await create_user(app, Role.INSTRUCTOR, full_name="Ada Lovelace")


@pytest.fixture
async def student(app: FastAPI) -> Actor:
    return await create_user(app, full_name=STUDENT_NAME)


@pytest.fixture
async def course(app: FastAPI, teacher: Actor) -> Course:
    course = await create_course(
        app, teacher, title="Introducción a la ciberseguridad", lessons=2, certificate_enabled=True
    )
    co_teacher = await create_user(app, Role.INSTRUCTOR, full_name="Grace Hopper")
    async with app.state.database.sessionmaker() as session, session.begin():
        session.add(CourseInstructor(course_id=course.id, user_id=co_teacher.user.id))
    return course


async def test_completing_a_course_issues_one_certificate_with_its_pdf(
    app: FastAPI, client: httpx.AsyncClient, student: Actor, course: Course
) -> None:
    enrollment = await complete_course_through_the_api(app, client, student, course)

    [certificate] = await rows(app, Certificate)
    assert (certificate.enrollment_id, certificate.user_id, certificate.course_id) == (
        enrollment.id,
        student.user.id,
        course.id,
    )
    assert certificate.student_name == STUDENT_NAME
    assert certificate.course_title == "Introducción a la ciberseguridad"
    assert certificate.instructor_names == ["Ada Lovelace", "Grace Hopper"]
    assert certificate.completed_at == enrollment.completed_at
    assert certificate.revoked_at is None
    assert normalize_code(certificate.verification_code) == certificate.verification_code
    assert await events(app, event_types.CERTIFICATE_ISSUED) == [
        {
            "certificate_id": str(certificate.id),
            "enrollment_id": str(enrollment.id),
            "user_id": student.id,
            "course_id": str(course.id),
            "verification_code": certificate.verification_code,
        }
    ]
    storage: Storage = app.state.storage
    assert await storage.exists(certificate.pdf_key), "the handler stored the PDF"

    listed = await client.get(f"{API}/certificates", headers=student.headers)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [str(certificate.id)]

    response = await client.get(f"{API}/certificates/{certificate.id}/pdf", headers=student.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content == await storage.read(certificate.pdf_key)
    text = pdf_text(response.content)
    for expected in (
        STUDENT_NAME,
        "Introducción a la ciberseguridad",
        "Ada Lovelace, Grace Hopper",
        f"Completed on {enrollment.completed_at:%d %B %Y}",
        certificate.verification_code,
        f"http://localhost:3000/certificates/verify/{certificate.verification_code}",
    ):
        assert expected in text


async def test_certificates_are_stored_and_served_from_s3(
    make_app: AppFactory,
    student: Actor,
    course: Course,
    s3_server: SeaweedServer,
    s3_bucket: str,
    s3_settings: dict[str, object],
) -> None:
    """The same service code on the S3 backend: the handler stores the PDF as an object in
    the bucket, the download reads it back, and a PDF lost from the bucket is rendered again."""
    app = await make_app(**s3_settings)
    assert isinstance(app.state.storage, S3Storage)
    async with client_for(app) as client:
        await complete_course_through_the_api(app, client, student, course)
        [certificate] = await rows(app, Certificate)
        stored = s3_server.client().get_object(Bucket=s3_bucket, Key=f"files/{certificate.pdf_key}")
        assert stored["ContentType"] == "application/pdf"
        pdf = stored["Body"].read()
        assert certificate.verification_code in pdf_text(pdf)

        response = await client.get(f"{API}/certificates/{certificate.id}/pdf", headers=student.headers)
        assert (response.status_code, response.content) == (200, pdf)

        s3_server.client().delete_object(Bucket=s3_bucket, Key=f"files/{certificate.pdf_key}")
        again = await client.get(f"{API}/certificates/{certificate.id}/pdf", headers=student.headers)
        assert again.status_code == 200 and certificate.verification_code in pdf_text(again.content)
        assert await app.state.storage.read(certificate.pdf_key) == again.content, "stored again"


async def test_the_running_dispatcher_issues_the_certificate(database_url: str, tmp_path: Path) -> None:
    """No draining by hand: the embedded dispatcher, woken by the commit, issues it."""
    app = create_app(make_settings(database_url, tmp_path / "var", outbox_dispatcher_enabled=True))
    async with app.router.lifespan_context(app):
        try:
            teacher = await create_user(app, Role.INSTRUCTOR)
            student = await create_user(app, full_name=STUDENT_NAME)
            course = await create_course(app, teacher, lessons=1, certificate_enabled=True)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                await enroll(client, student, course)
                [lesson] = await course_lessons(app, course)
                assert (await complete(client, student, lesson)).status_code == 200
                for _ in range(100):
                    listed = (await client.get(f"{API}/certificates", headers=student.headers)).json()
                    if listed["total"]:
                        break
                    await asyncio.sleep(0.05)
            assert listed["total"] == 1
            [certificate] = await rows(app, Certificate)
            assert await app.state.storage.exists(certificate.pdf_key)
        finally:
            await empty_tables(app.state.database.engine)


async def test_no_certificate_when_the_course_gives_none(
    app: FastAPI, client: httpx.AsyncClient, student: Actor, teacher: Actor
) -> None:
    course = await create_course(app, teacher, lessons=1, certificate_enabled=False)
    await complete_course_through_the_api(app, client, student, course)
    assert await events(app, event_types.COURSE_COMPLETED) != []
    assert await count_rows(app, Certificate) == 0
    assert await events(app, event_types.CERTIFICATE_ISSUED) == []
    assert (await client.get(f"{API}/certificates", headers=student.headers)).json()["total"] == 0


async def test_a_repeated_delivery_issues_nothing_more(
    app: FastAPI, client: httpx.AsyncClient, student: Actor, course: Course
) -> None:
    enrollment = await complete_course_through_the_api(app, client, student, course)
    [issued] = await rows(app, Certificate)
    pdf = await app.state.storage.read(issued.pdf_key)

    await deliver(app, issue_certificate, course_completed_event(enrollment))

    [again] = await rows(app, Certificate)
    assert (again.id, again.verification_code, again.issued_at) == (
        issued.id,
        issued.verification_code,
        issued.issued_at,
    )
    assert len(await events(app, event_types.CERTIFICATE_ISSUED)) == 1
    assert await app.state.storage.read(issued.pdf_key) == pdf, "the stored PDF is kept"


async def test_concurrent_deliveries_issue_one_certificate(
    app: FastAPI, client: httpx.AsyncClient, student: Actor, course: Course
) -> None:
    """Several workers handling the same event at once: the unique enrollment id lets one
    insert through; the others wait for it (PostgreSQL) or run after it (SQLite)."""
    await enroll(client, student, course)
    enrollment = await enrollment_row(app, student, course)
    assert enrollment is not None

    await asyncio.gather(
        *(deliver(app, issue_certificate, course_completed_event(enrollment)) for _ in range(5))
    )

    [certificate] = await rows(app, Certificate)
    assert certificate.enrollment_id == enrollment.id
    [issued] = await events(app, event_types.CERTIFICATE_ISSUED)
    assert issued["verification_code"] == certificate.verification_code
    assert await app.state.storage.exists(certificate.pdf_key)


async def test_the_same_event_twice_in_the_outbox_issues_one_certificate(
    app: FastAPI, client: httpx.AsyncClient, student: Actor, course: Course
) -> None:
    """The same `course.completed` written twice (a relay publishing twice), delivered by
    two dispatchers at once."""
    await enroll(client, student, course)
    enrollment = await enrollment_row(app, student, course)
    assert enrollment is not None
    payload = course_completed_event(enrollment).payload
    async with app.state.database.sessionmaker() as session, session.begin():
        for _ in range(2):
            session.add(OutboxEvent(event_type=event_types.COURSE_COMPLETED, payload=payload))
    first, second = (
        OutboxDispatcher(app.state.database.sessionmaker, app.state.dispatcher.handlers, batch_size=1)
        for _ in range(2)
    )

    await asyncio.gather(first.drain(), second.drain())

    assert await count_rows(app, Certificate) == 1
    assert len(await events(app, event_types.CERTIFICATE_ISSUED)) == 1
    statuses = await rows(app, OutboxEvent, OutboxEvent.event_type == event_types.COURSE_COMPLETED)
    assert {row.status for row in statuses} == {OutboxStatus.DONE}


async def test_a_redelivery_restores_a_missing_pdf(
    app: FastAPI, client: httpx.AsyncClient, student: Actor, course: Course
) -> None:
    """The certificate committed but its file is gone (a crash, another machine's disk):
    the next delivery renders it again, with the same code, and emits nothing."""
    enrollment = await complete_course_through_the_api(app, client, student, course)
    [certificate] = await rows(app, Certificate)
    storage: Storage = app.state.storage
    await storage.delete(certificate.pdf_key)

    await deliver(app, issue_certificate, course_completed_event(enrollment))

    assert certificate.verification_code in pdf_text(await storage.read(certificate.pdf_key))
    assert len(await events(app, event_types.CERTIFICATE_ISSUED)) == 1


async def test_a_download_renders_a_missing_pdf(
    app: FastAPI, client: httpx.AsyncClient, student: Actor, course: Course
) -> None:
    await complete_course_through_the_api(app, client, student, course)
    [certificate] = await rows(app, Certificate)
    storage: Storage = app.state.storage
    await storage.delete(certificate.pdf_key)

    response = await client.get(f"{API}/certificates/{certificate.id}/pdf", headers=student.headers)

    assert response.status_code == 200
    assert certificate.verification_code in pdf_text(response.content)
    assert await storage.read(certificate.pdf_key) == response.content, "stored for next time"


async def test_a_crash_after_storing_the_pdf_leaves_no_stale_file(
    app: FastAPI, client: httpx.AsyncClient, student: Actor, course: Course, clock: FakeClock
) -> None:
    """The PDF is stored, then the handler's transaction rolls back (here the process dies
    before the commit): the retry issues the certificate with a new code and overwrites the
    file the failed attempt left, so the PDF shows the code that verifies."""
    failures: list[str] = []

    async def issues_then_dies_once(event: Event, session: AsyncSession) -> None:
        await issue_certificate(event, session)
        if not failures:
            failures.append(event.type)
            raise RuntimeError("the worker died")

    registry = HandlerRegistry()
    registry.on(event_types.COURSE_COMPLETED)(issues_then_dies_once)
    dispatcher = OutboxDispatcher(app.state.database.sessionmaker, registry, backoff_base=2.0)
    await enroll(client, student, course)
    for lesson in await course_lessons(app, course):
        assert (await complete(client, student, lesson)).status_code == 200

    await dispatcher.drain()
    storage: Storage = app.state.storage
    assert failures == [event_types.COURSE_COMPLETED]
    assert await count_rows(app, Certificate) == 0, "the first attempt rolled back"
    [left_behind] = list((app.state.storage.root / "certificates").iterdir())

    clock.advance(seconds=10)
    await dispatcher.drain()

    [certificate] = await rows(app, Certificate)
    assert left_behind.name == f"{certificate.id}.pdf", "the same key, overwritten"
    assert certificate.verification_code in pdf_text(await storage.read(certificate.pdf_key))
    assert len(await events(app, event_types.CERTIFICATE_ISSUED)) == 1


async def test_the_certificate_keeps_what_it_said_when_things_are_renamed(
    app: FastAPI, client: httpx.AsyncClient, student: Actor, course: Course
) -> None:
    await complete_course_through_the_api(app, client, student, course)
    [certificate] = await rows(app, Certificate)
    async with app.state.database.sessionmaker() as session, session.begin():
        (await session.get(Course, course.id)).title = "Renamed"  # type: ignore[union-attr]
    await app.state.storage.delete(certificate.pdf_key)

    verified = await client.get(f"{API}/certificates/verify/{certificate.verification_code}")
    pdf = await client.get(f"{API}/certificates/{certificate.id}/pdf", headers=student.headers)

    assert verified.json()["course_title"] == "Introducción a la ciberseguridad"
    assert "Introducción a la ciberseguridad" in pdf_text(pdf.content)
    listed = (await client.get(f"{API}/certificates", headers=student.headers)).json()
    assert listed["items"][0]["course"]["title"] == "Renamed", "the list shows the course as it is"
    stored = await fresh_row(app, Certificate, certificate.id)
    assert stored.course_title == "Introducción a la ciberseguridad"


async def test_a_gone_enrollment_issues_nothing(
    app: FastAPI, client: httpx.AsyncClient, student: Actor, course: Course
) -> None:
    await enroll(client, student, course)
    enrollment = await enrollment_row(app, student, course)
    assert enrollment is not None
    event = course_completed_event(enrollment)
    async with app.state.database.sessionmaker() as session, session.begin():
        await session.delete(await session.get(Enrollment, enrollment.id))

    await deliver(app, issue_certificate, event)

    assert await count_rows(app, Certificate) == 0
    assert await events(app, event_types.CERTIFICATE_ISSUED) == []
