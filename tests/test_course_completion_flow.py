"""End to end: a student completes a certificate-enabled course through the API while the
events are delivered by the real machinery, and every effect appears exactly once, also when
the events are delivered again.

- `embedded`: the API's own dispatcher handles the events (SQLite and PostgreSQL);
- `broker`: the API relays them to a real RabbitMQ and a `studyhall worker` process handles
  them, sharing the database, the file storage and the SMTP server with the API.

Mail goes over SMTP in both, to the test's SMTP server (tests/conftest.py `smtp_sink`).
"""

from __future__ import annotations

import io
import signal
from collections import Counter
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pypdf import PdfReader
from sqlalchemy import update

from studyhall.catalog.models import Course
from studyhall.certificates.models import Certificate
from studyhall.config import Settings
from studyhall.core.broker import Broker
from studyhall.core.clock import utcnow
from studyhall.core.events import OutboxEvent, OutboxStatus
from studyhall.identity.models import Role
from studyhall.learning.models import Enrollment
from tests.conftest import make_settings
from tests.factories import (
    API,
    Actor,
    SmtpSink,
    complete,
    count_rows,
    course_lessons,
    create_course,
    create_user,
    enroll,
    enrollment_row,
    rows,
    text_of,
)
from tests.transport import TEST_TRANSPORT_SETTINGS, EventTransport, eventually

STUDENT_NAME = "Zoë Ångström"
COURSE_TITLE = "Applied cryptography"
#: What one completion amounts to once every handler ran.
EXPECTED_NOTIFICATIONS = Counter({"course.completed": 1, "certificate.issued": 1})
#: Generous for a loaded machine; a healthy run takes a second or two.
EFFECT_TIMEOUT = 30.0


@pytest.fixture(params=["embedded", pytest.param("broker", marks=pytest.mark.postgresql_only)])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(
    mode: str, request: pytest.FixtureRequest, database_url: str, tmp_path: Path, smtp_sink: SmtpSink
) -> Settings:
    """An API with its delivery loop running: the dispatcher (embedded) or the relay (broker)."""
    if mode == "broker":
        transport: EventTransport = request.getfixturevalue("event_transport")
        return transport.settings(outbox_dispatcher_enabled=True, smtp_url=smtp_sink.url)
    return make_settings(
        database_url,
        tmp_path / "var",
        **TEST_TRANSPORT_SETTINGS,
        outbox_dispatcher_enabled=True,
        smtp_url=smtp_sink.url,
    )


@pytest.fixture
def worker(mode: str, request: pytest.FixtureRequest, smtp_sink: SmtpSink) -> EventTransport | None:
    """In broker mode, the transport with one `studyhall worker` running (on the app's
    DATA_DIR, as `event_transport.settings` has it, and the test's SMTP server)."""
    if mode != "broker":
        return None
    transport: EventTransport = request.getfixturevalue("event_transport")
    transport.start_worker(smtp_url=smtp_sink.url)
    return transport


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def notification_types(client: httpx.AsyncClient, actor: Actor) -> Counter[str]:
    response = await client.get(f"{API}/notifications", headers=actor.headers, params={"limit": 100})
    assert response.status_code == 200, response.text
    return Counter(item["type"] for item in response.json()["items"])


async def outbox_settled(app: FastAPI, done: str) -> bool:
    """Every outbox row went through the dispatcher (`done`) or the relay (`relayed`)."""
    statuses = {row.status for row in await rows(app, OutboxEvent)}
    return statuses == {done}


async def delivered(app: FastAPI, transport: EventTransport | None) -> None:
    """Wait until nothing is left to deliver: every outbox row handled (embedded) or relayed,
    and the work queue empty (broker)."""
    if transport is None:
        await eventually(lambda: outbox_settled(app, OutboxStatus.DONE), timeout=EFFECT_TIMEOUT)
        return
    await eventually(lambda: outbox_settled(app, OutboxStatus.RELAYED), timeout=EFFECT_TIMEOUT)
    broker = Broker(str(transport.broker_url), transport.namespace)
    try:

        async def queue_empty() -> bool:
            return (await broker.queue_depths())[broker.topology.work_queue] == 0

        await eventually(queue_empty, timeout=EFFECT_TIMEOUT)
    finally:
        await broker.close()


async def deliver_everything_again(app: FastAPI) -> int:
    """Make every outbox row due again, as a lease that expired or a relay that died between
    the broker's confirm and marking the row would: the same events (same ids) go out again."""
    async with app.state.database.sessionmaker() as session, session.begin():
        result = await session.execute(
            update(OutboxEvent).values(
                status=OutboxStatus.PENDING,
                available_at=utcnow(),
                claim_token=None,
                lease_expires_at=None,
                processed_at=None,
            )
        )
    (app.state.relay or app.state.dispatcher).wake()  # at once, not at the next poll
    return int(result.rowcount)  # type: ignore[attr-defined]


async def test_completing_a_course_takes_effect_exactly_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    smtp_sink: SmtpSink,
    worker: EventTransport | None,
) -> None:
    teacher = await create_user(app, Role.INSTRUCTOR, full_name="Ada Lovelace")
    student = await create_user(app, full_name=STUDENT_NAME)
    course = await create_course(app, teacher, title=COURSE_TITLE, lessons=3, certificate_enabled=True)

    await enroll(client, student, course)
    for lesson in await course_lessons(app, course):
        response = await complete(client, student, lesson)
        assert response.status_code == 200, response.text
    enrollment = await enrollment_row(app, student, course)
    assert enrollment is not None and enrollment.completed_at is not None

    async def every_effect_shows() -> bool:
        return (
            await count_rows(app, Certificate) == 1
            and await notification_types(client, student) == EXPECTED_NOTIFICATIONS
            and len(smtp_sink.messages) == 1
        )

    await eventually(every_effect_shows, timeout=EFFECT_TIMEOUT)
    await delivered(app, worker)
    certificate = await assert_effects_once(app, client, smtp_sink, student, teacher, course, enrollment)

    assert await deliver_everything_again(app) >= 3, "enrollment, completion, certificate (at least)"
    await delivered(app, worker)
    if worker is not None:  # it finishes the messages it holds before it exits
        [process] = worker.processes
        assert worker.stop(process, signal.SIGTERM) == 0
    again = await assert_effects_once(app, client, smtp_sink, student, teacher, course, enrollment)
    assert (again.id, again.verification_code) == (certificate.id, certificate.verification_code)


async def assert_effects_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    smtp_sink: SmtpSink,
    student: Actor,
    teacher: Actor,
    course: Course,
    enrollment: Enrollment,
) -> Certificate:
    """One certificate with its PDF, verifiable; one notification of each kind; one email."""
    [certificate] = await rows(app, Certificate)
    assert (certificate.enrollment_id, certificate.user_id) == (enrollment.id, student.user.id)
    code = certificate.verification_code

    text = pdf_text(await app.state.storage.read(certificate.pdf_key))
    assert STUDENT_NAME in text and code in text and COURSE_TITLE in text
    verified = await client.get(f"{API}/certificates/verify/{code}")
    assert verified.status_code == 200, verified.text
    assert verified.json()["valid"] is True
    assert verified.json()["student_name"] == STUDENT_NAME

    assert await notification_types(client, student) == EXPECTED_NOTIFICATIONS
    assert await notification_types(client, teacher) == Counter({"enrollment.created": 1})

    assert [m["Subject"] for m in smtp_sink.messages] == [f"Your certificate for {course.title}"]
    assert [rcpt for _, rcpt in smtp_sink.envelopes] == [[student.user.email]]
    [mail] = smtp_sink.messages
    assert f"/certificates/verify/{code}" in text_of(mail)
    return certificate
