"""The tests' one helper library; a domain's conftest keeps only what no other domain needs.

- Rows written straight to the database (users with their tokens, organisations, courses,
  lessons, enrollments, quizzes, attempts, assignments, posts, comments), so a test sets up
  in a few lines what it does not test.
- The HTTP side: `API`, `assert_problem`, signing up and in, enrolling, completing a lesson,
  and `race`/`outcomes` for the same request fired many times at once.
- Reading state back: `fresh_row`, `rows`, `count_rows`, `events`, `count_statements`.
- Mail: `mails_in` (the embedded mailer's files), `text_of`/`html_of`, and `SmtpSink`, what
  the real SMTP server of the `smtp_sink` fixture received.
- `FakeClock`, which the `clock` fixture installs for the whole application.
- Memory: `Upload` (a body streamed in chunks, counting what was pulled) and `peak_memory`.
- Certificates: `course_completed_event`, `deliver` (one handler, its own transaction, as
  the dispatcher runs it) and `issue_certificate_directly`.
- Files: `create_file` (a row and its object, as an upload leaves them), `start_upload`,
  `put_bytes` (to a presigned upload URL) and `uploaded_file` (the whole upload flow).
- Video: `create_lesson_video` (a lesson's video at any status), `post_mux_webhook` (a
  delivery signed as Mux signs it) and `mp4_bytes` (a minimal MP4 of a given duration).
- Audit log and admin panel: `audit_entries` (what was recorded), `panel_client` (a browser
  of `/admin` over HTTPS), `panel_sign_in`, `csrf_of` (the token a panel page carries) and
  `panel_post` (a form submitted with it).
- Activity: `activity` (an activity record as ingestion makes it) and `apply_activity`
  (records folded into the rollups, as ingestion does).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import itertools
import json
import re
import struct
import threading
import time
import tracemalloc
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import event, func, select, update
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from studyhall import event_types
from studyhall.analytics import rollups
from studyhall.analytics.models import AuditLogEntry
from studyhall.analytics.records import ActivityRecord, ActivitySource
from studyhall.assessment import scoring
from studyhall.assessment.models import Assignment, Quiz, QuizAttempt
from studyhall.assessment.schemas import QuestionIn
from studyhall.catalog.access import recount_lessons
from studyhall.catalog.models import Course, CourseInstructor, Lesson, Module
from studyhall.certificates.handlers import issue_certificate
from studyhall.certificates.models import Certificate
from studyhall.cli import WEBSOCKET_SERVER_OPTIONS
from studyhall.community.models import ChatMessage, Comment, Post
from studyhall.core.clock import utcnow
from studyhall.core.events import Event, Handler, OutboxEvent
from studyhall.core.pubsub import wait_for_publishes
from studyhall.core.security import access_token_claims, hash_opaque_token, new_opaque_token
from studyhall.identity.models import AuthSession, Organization, Role, User
from studyhall.learning.models import Enrollment, LessonCompletion
from studyhall.media.models import File, FilePurpose, FileStatus, LessonVideo, VideoStatus, storage_key_for
from studyhall.media.mux import webhook_signature
from studyhall.notifications import realtime
from studyhall.notifications import service as notifications_service
from studyhall.notifications.models import Notification, NotificationType
from studyhall.notifications.service import Notice
from tests.servers import free_port

API = "/api/v1"
PASSWORD = "correct horse battery staple"
_sequence = itertools.count(1)
RowT = TypeVar("RowT")
ClassT = TypeVar("ClassT")
#: What the `make_app` fixture gives: builds an app on the test database with setting overrides.
AppFactory = Callable[..., Awaitable[FastAPI]]


# -- rows written straight to the database --------------------------------------------------


@dataclass
class Actor:
    """A user plus ready-made `Authorization` headers."""

    user: User
    token: str
    password: str = PASSWORD

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)

    @property
    def id(self) -> str:
        return str(self.user.id)


async def access_token_for(app: FastAPI, user: User, ttl: timedelta = timedelta(days=30)) -> str:
    """An access token of a new signed-in session (a live `auth_sessions` row, as a login
    writes), so revoking that session ends the token like a real one. It lives as long as the
    session, so tests that move the clock by days keep their callers signed in."""
    now = utcnow()
    async with app.state.database.sessionmaker() as session, session.begin():
        row = AuthSession(
            user_id=user.id,
            family_id=uuid.uuid4(),
            token_hash=hash_opaque_token(new_opaque_token()),
            created_at=now,
            last_used_at=now,
            expires_at=now + timedelta(days=30),
        )
        session.add(row)
    claims = access_token_claims(
        subject=user.id,
        session_id=row.family_id,
        role=user.role,
        organization_id=user.organization_id,
        generation=user.token_generation,
        ttl=ttl,
    )
    token: str = app.state.tokens.encode(claims)
    return token


async def create_organization(app: FastAPI, name: str | None = None) -> Organization:
    n = next(_sequence)
    async with app.state.database.sessionmaker() as session, session.begin():
        organization = Organization(name=name or f"Organization {n}", slug=f"org-{n}")
        session.add(organization)
    return organization


async def create_user(
    app: FastAPI,
    role: Role | str = Role.STUDENT,
    *,
    email: str | None = None,
    full_name: str | None = None,
    organization: Organization | None = None,
    password: str = PASSWORD,
    is_active: bool = True,
) -> Actor:
    n = next(_sequence)
    password_hash = await app.state.passwords.hash(password)
    async with app.state.database.sessionmaker() as session, session.begin():
        user = User(
            email=(email or f"user{n}@example.com").lower(),
            full_name=full_name or f"{Role(role).value.title()} {n}",
            password_hash=password_hash,
            role=Role(role).value,
            organization_id=organization.id if organization else None,
            is_active=is_active,
        )
        session.add(user)
    return Actor(user=user, token=await access_token_for(app, user), password=password)


async def create_course(
    app: FastAPI,
    owner: Actor,
    *,
    title: str | None = None,
    status: str = "published",
    visibility: str = "public",
    organization: Organization | None = None,
    lessons: int = 0,
    lesson_type: str = "text",
    certificate_enabled: bool = False,
    price_cents: int = 0,
    **fields: object,
) -> Course:
    """A course (published by default) with `lessons` lessons, written straight to the DB."""
    n = next(_sequence)
    async with app.state.database.sessionmaker() as session, session.begin():
        course = Course(
            slug=f"course-{n}",
            title=title or f"Course {n}",
            description=f"Description of course {n}",
            owner_id=owner.user.id,
            status=status,
            visibility=visibility,
            organization_id=organization.id if organization else owner.user.organization_id,
            certificate_enabled=certificate_enabled,
            price_cents=price_cents,
            published_at=utcnow() if status == "published" else None,
            **fields,
        )
        session.add(course)
        await session.flush()
        for position in range(lessons):
            session.add(_lesson(course, position, lesson_type))
        course.lesson_count = lessons
    return course


def _lesson(course: Course, position: int, lesson_type: str) -> Lesson:
    return Lesson(
        course_id=course.id,
        title=f"Lesson {position + 1}",
        type=lesson_type,
        content=f"# Lesson {position + 1}\n\nBody.",
        position=position,
    )


async def create_lesson(
    app: FastAPI, course: Course, *, lesson_type: str = "text", **fields: object
) -> Lesson:
    """Appends a lesson to the course and keeps `lesson_count` exact."""
    async with app.state.database.sessionmaker() as session, session.begin():
        position = await session.scalar(
            select(func.count())
            .select_from(Lesson)
            .where(Lesson.course_id == course.id, Lesson.deleted_at.is_(None))
        )
        lesson = _lesson(course, int(position or 0), lesson_type)
        for key, value in fields.items():
            setattr(lesson, key, value)
        session.add(lesson)
        await session.flush()
        await recount_lessons(session, course.id)
    return lesson


async def create_module(
    app: FastAPI, course: Course, *, title: str | None = None, position: int = 0
) -> Module:
    """A module of the course, written straight to the DB."""
    async with app.state.database.sessionmaker() as session, session.begin():
        module = Module(course_id=course.id, title=title or f"Module {next(_sequence)}", position=position)
        session.add(module)
    return module


async def add_co_instructor(app: FastAPI, course: Course, instructor: Actor) -> None:
    async with app.state.database.sessionmaker() as session, session.begin():
        session.add(CourseInstructor(course_id=course.id, user_id=instructor.user.id))


async def course_lessons(app: FastAPI, course: Course) -> list[Lesson]:
    async with app.state.database.sessionmaker() as session:
        rows = await session.scalars(
            select(Lesson)
            .where(Lesson.course_id == course.id, Lesson.deleted_at.is_(None))
            .order_by(Lesson.position)
        )
        return list(rows.all())


async def enroll_directly(app: FastAPI, actor: Actor, course: Course) -> None:
    """An active enrollment written straight to the DB (for tests of other domains),
    keeping `courses.enrollment_count` consistent."""
    async with app.state.database.sessionmaker() as session, session.begin():
        session.add(Enrollment(user_id=actor.user.id, course_id=course.id))
        await session.execute(
            update(Course).where(Course.id == course.id).values(enrollment_count=Course.enrollment_count + 1)
        )


async def complete_directly(app: FastAPI, actor: Actor, lesson: Lesson) -> None:
    """A lesson completion written straight to the DB (no progress bookkeeping)."""
    async with app.state.database.sessionmaker() as session, session.begin():
        session.add(LessonCompletion(user_id=actor.user.id, lesson_id=lesson.id, course_id=lesson.course_id))


#: One single-choice question; its correct option's text is "4".
ONE_QUESTION: dict[str, Any] = {
    "type": "single_choice",
    "text": "2 + 2 = ?",
    "points": 1,
    "options": [{"text": "3"}, {"text": "4", "is_correct": True}],
}


async def create_quiz(
    app: FastAPI, lesson: Lesson, *questions: dict[str, Any], passing_score: int = 50
) -> Quiz:
    """The quiz of a `quiz` lesson (by default `ONE_QUESTION`), stored as the API stores it."""
    stored = scoring.build_questions([QuestionIn.model_validate(q) for q in questions or (ONE_QUESTION,)])
    async with app.state.database.sessionmaker() as session, session.begin():
        quiz = Quiz(
            lesson_id=lesson.id,
            course_id=lesson.course_id,
            title="Checkpoint",
            passing_score=passing_score,
            questions=stored,
        )
        session.add(quiz)
    return quiz


async def start_attempt_directly(app: FastAPI, actor: Actor, quiz: Quiz) -> QuizAttempt:
    """An open attempt (number 1, no time limit) at the quiz."""
    attempt_id = uuid.uuid4()
    async with app.state.database.sessionmaker() as session, session.begin():
        attempt = QuizAttempt(
            id=attempt_id,
            quiz_id=quiz.id,
            user_id=actor.user.id,
            course_id=quiz.course_id,
            lesson_id=quiz.lesson_id,
            number=1,
            quiz_revision=quiz.revision,
            questions=scoring.attempt_questions(quiz.questions, shuffle=False, seed=attempt_id),
            passing_score=quiz.passing_score,
            max_points=scoring.max_points(quiz.questions),
        )
        session.add(attempt)
    return attempt


def right_answers(quiz: dict[str, Any] | QuizAttempt) -> dict[str, Any]:
    """The `answers` body that scores 100 %: the correct options of each choice question and a
    sound answer to each text question (full marks once graded). `quiz` is a stored attempt
    or a quiz as its staff read it (`GET /lessons/{id}/quiz`)."""
    questions = quiz["questions"] if isinstance(quiz, dict) else quiz.questions
    return {
        q["id"]: "A function that calls itself."
        if q["type"] == "text"
        else [option["id"] for option in q["options"] if option["is_correct"]]
        for q in questions
    }


async def create_assignment(app: FastAPI, course: Course, author: Actor, **fields: object) -> Assignment:
    async with app.state.database.sessionmaker() as session, session.begin():
        assignment = Assignment(
            course_id=course.id, author_id=author.user.id, **{"title": "Essay", "max_points": 10, **fields}
        )
        session.add(assignment)
    return assignment


async def set_course(app: FastAPI, course: Course, **values: object) -> None:
    """Change course columns behind the API's back (unpublish, archive, delete, move)."""
    async with app.state.database.sessionmaker() as session, session.begin():
        await session.execute(update(Course).where(Course.id == course.id).values(**values))


async def soft_delete_lesson(app: FastAPI, lesson: Lesson, *, restore: bool = False) -> None:
    """What the catalog does on lesson delete/restore: flag the row, recount in SQL."""
    async with app.state.database.sessionmaker() as session, session.begin():
        await session.execute(
            update(Lesson).where(Lesson.id == lesson.id).values(deleted_at=None if restore else utcnow())
        )
        await recount_lessons(session, lesson.course_id)


async def create_post(
    app: FastAPI,
    author: Actor,
    course: Course | None = None,
    *,
    kind: str = "discussion",
    title: str | None = None,
    body: str = "Some *thoughts*.",
    deleted: bool = False,
) -> Post:
    """A post written straight to the DB (no events): open, or in `course`."""
    n = next(_sequence)
    async with app.state.database.sessionmaker() as session, session.begin():
        post = Post(
            author_id=author.user.id,
            course_id=course.id if course else None,
            kind=kind,
            title=title or f"Post {n}",
            body=body,
            body_html=f"<p>{body}</p>",
            deleted_at=utcnow() if deleted else None,
        )
        session.add(post)
    return post


async def create_chat_message(
    app: FastAPI,
    author: Actor,
    course: Course,
    *,
    body: str = "Hello",
    created_at: datetime | None = None,
    deleted: bool = False,
) -> ChatMessage:
    """A chat message written straight to the DB (nothing pushed)."""
    async with app.state.database.sessionmaker() as session, session.begin():
        message = ChatMessage(
            course_id=course.id,
            author_id=author.user.id,
            body=body,
            created_at=created_at or utcnow(),
            deleted_at=utcnow() if deleted else None,
        )
        session.add(message)
    return message


async def create_comment(
    app: FastAPI, author: Actor, post: Post, *, parent: Comment | None = None, body: str = "Agreed."
) -> Comment:
    """A comment (or a reply to `parent`) written straight to the DB (no events)."""
    async with app.state.database.sessionmaker() as session, session.begin():
        comment = Comment(
            post_id=post.id,
            author_id=author.user.id,
            parent_id=parent.id if parent else None,
            body=body,
            body_html=f"<p>{body}</p>",
        )
        session.add(comment)
    return comment


async def create_notification(
    app: FastAPI, actor: Actor, *, title: str = "Something happened", read: bool = False, **fields: object
) -> Notification:
    """A notification of `actor`, as a handler would have made it (of a made-up event),
    created now by the clock."""
    async with app.state.database.sessionmaker() as session, session.begin():
        notification = Notification(
            user_id=actor.user.id,
            seq=await notifications_service.take_number(session, actor.user.id),
            type=fields.pop("type", "course.completed"),
            title=title,
            body=fields.pop("body", f"{title}."),
            data=fields.pop("data", {}),
            event_id=uuid.uuid4(),
            read_at=utcnow() if read else None,
            **fields,
        )
        session.add(notification)
    return notification


async def deliver_events(app: FastAPI) -> int:
    """Runs the handlers of every pending outbox event now (the dispatcher is off in tests)."""
    handled: int = await app.state.dispatcher.drain()
    return handled


def course_completed_event(enrollment: Enrollment, completed_at: datetime | None = None) -> Event:
    """The `course.completed` event learning emits for this enrollment, as a handler sees it."""
    return Event(
        id=uuid.uuid4(),
        type=event_types.COURSE_COMPLETED,
        payload={
            "enrollment_id": str(enrollment.id),
            "course_id": str(enrollment.course_id),
            "user_id": str(enrollment.user_id),
            "completed_at": (completed_at or utcnow()).isoformat(),
        },
        created_at=utcnow(),
        attempt=1,
    )


async def deliver(app: FastAPI, handler: Handler, event: Event) -> None:
    """Runs one handler in a transaction of its own, as the dispatcher and workers do."""
    async with app.state.database.sessionmaker() as session, session.begin():
        await handler(event, session)


async def issue_certificate_directly(app: FastAPI, student: Actor, course: Course) -> Certificate:
    """Enrolls the student, marks the enrollment completed and delivers `course.completed` to
    the certificates handler: the certificate (the course must have `certificate_enabled`)."""
    await enroll_directly(app, student, course)
    enrollment = await enrollment_row(app, student, course)
    assert enrollment is not None
    async with app.state.database.sessionmaker() as session, session.begin():
        await session.execute(
            update(Enrollment).where(Enrollment.id == enrollment.id).values(completed_at=utcnow())
        )
    await deliver(app, issue_certificate, course_completed_event(enrollment))
    [certificate] = await rows(app, Certificate, Certificate.enrollment_id == enrollment.id)
    return certificate


async def create_file(
    app: FastAPI,
    owner: Actor,
    *,
    purpose: FilePurpose | str = FilePurpose.LESSON_MATERIAL,
    content: bytes = b"%PDF-1.4 sample file",
    filename: str = "notes.pdf",
    content_type: str = "application/pdf",
    ready: bool = True,
) -> File:
    """A file of `owner` written straight to the database and storage: `ready` with its
    object stored, or `pending` with nothing stored yet."""
    file_id = uuid.uuid4()
    key = storage_key_for(FilePurpose(purpose), file_id)
    if ready:
        await app.state.storage.put(key, content, content_type=content_type)
    async with app.state.database.sessionmaker() as session, session.begin():
        file = File(
            id=file_id,
            owner_id=owner.user.id,
            purpose=FilePurpose(purpose),
            filename=filename,
            content_type=content_type,
            size_bytes=len(content),
            storage_key=key,
            status=FileStatus.READY if ready else FileStatus.PENDING,
            completed_at=utcnow() if ready else None,
        )
        session.add(file)
    return file


#: The chunk size of streamed test bodies (and of Starlette's file responses).
CHUNK = 64 * 1024


@dataclass
class Upload:
    """A body streamed from an async generator, counting what the server pulled from it."""

    total: int
    sent: int = 0

    async def chunks(self) -> AsyncIterator[bytes]:
        for piece in self.sync_chunks():
            yield piece

    def sync_chunks(self) -> Iterator[bytes]:
        block = b"x" * CHUNK
        while self.sent < self.total:
            piece = block[: min(CHUNK, self.total - self.sent)]
            self.sent += len(piece)
            yield piece


@contextmanager
def peak_memory() -> Iterator[dict[str, int]]:
    """The peak of Python allocations (every thread) above the level at the start."""
    result: dict[str, int] = {}
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        yield result
        result["peak"] = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()


class FakeClock:
    """A controllable "now", one second ahead of the real one so rows written just before
    a test step count as past."""

    def __init__(self) -> None:
        self.now = utcnow() + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# -- the HTTP side ---------------------------------------------------------------------------

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is the problem document of `code` (RFC 9457): its body for more checks."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_KEYS
    assert (body["status"], body["code"]) == (status, code)
    assert body["type"].endswith(code)
    return body


def client_for(app: FastAPI, ip: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def register(
    client: httpx.AsyncClient, email_address: str, password: str = PASSWORD, full_name: str = "Ada Lovelace"
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/auth/register", json={"email": email_address, "password": password, "full_name": full_name}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def login(client: httpx.AsyncClient, email_address: str, password: str = PASSWORD) -> dict[str, Any]:
    """Signs in through the API: the token pair."""
    response = await client.post(f"{API}/auth/login", json={"email": email_address, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def enroll(client: httpx.AsyncClient, actor: Actor, course: Course) -> dict[str, Any]:
    response = await client.post(f"{API}/courses/{course.id}/enroll", headers=actor.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def complete(client: httpx.AsyncClient, actor: Actor, lesson: Lesson) -> httpx.Response:
    return await client.post(f"{API}/lessons/{lesson.id}/complete", headers=actor.headers)


async def heartbeat(
    client: httpx.AsyncClient,
    actor: Actor,
    lesson_id: uuid.UUID,
    position: float,
    duration_seconds: float = 600.0,
) -> None:
    """A video heartbeat through the API (`PUT /lessons/{id}/position`), which must succeed."""
    response = await client.put(
        f"{API}/lessons/{lesson_id}/position",
        headers=actor.headers,
        json={"position_seconds": position, "duration_seconds": duration_seconds},
    )
    assert response.status_code == 200, response.text


async def race(requests: Iterable[Awaitable[httpx.Response]]) -> list[httpx.Response]:
    """The requests all in flight together (each on its own connection), answers in order."""
    return list(await asyncio.gather(*requests))


def outcomes(responses: list[httpx.Response]) -> Counter[tuple[int, str | None]]:
    """How many responses ended in each (status, problem `code`); `code` is None on success."""
    return Counter((r.status_code, r.json().get("code") if r.status_code >= 400 else None) for r in responses)


async def start_upload(
    client: httpx.AsyncClient,
    actor: Actor,
    content: bytes,
    *,
    purpose: str = "lesson_material",
    filename: str = "notes.pdf",
    content_type: str = "application/pdf",
) -> dict[str, Any]:
    """`POST /files/uploads` for `content`: the upload ticket."""
    response = await client.post(
        f"{API}/files/uploads",
        headers=actor.headers,
        json={
            "filename": filename,
            "content_type": content_type,
            "size_bytes": len(content),
            "purpose": purpose,
        },
    )
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


async def put_bytes(http: httpx.AsyncClient, ticket: dict[str, Any], content: bytes) -> httpx.Response:
    """Sends `content` to the ticket's presigned URL as a client would: its method, its
    headers, no credentials of ours."""
    return await http.request(
        ticket["method"], ticket["upload_url"], headers=ticket["headers"], content=content
    )


async def uploaded_file(
    client: httpx.AsyncClient, actor: Actor, content: bytes = b"%PDF-1.4 uploaded", **upload: str
) -> dict[str, Any]:
    """The whole upload flow (start, PUT, complete): the ready file as `complete` answers it."""
    ticket = await start_upload(client, actor, content, **upload)
    stored = await put_bytes(client, ticket, content)
    assert stored.status_code in (200, 201, 204), stored.text
    response = await client.post(f"{API}/files/{ticket['file_id']}/complete", headers=actor.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# -- GraphQL ---------------------------------------------------------------------------------

GRAPHQL = "/graphql"


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    actor: Actor | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POSTs an operation to `/graphql` (as `actor` when given): the response body."""
    response = await client.post(
        GRAPHQL,
        json={"query": query, "variables": variables or {}},
        headers={**(actor.headers if actor else {}), **(headers or {})},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def graphql_data(body: dict[str, Any]) -> dict[str, Any]:
    """The `data` of a response that has no errors."""
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


def assert_graphql_error(body: dict[str, Any], code: str, path: list[str] | None = None) -> dict[str, Any]:
    """The response's one error has `extensions.code` `code` (at `path`): that error."""
    errors = body.get("errors") or []
    assert [error["extensions"]["code"] for error in errors] == [code], errors
    error: dict[str, Any] = errors[0]
    if path is not None:
        assert error["path"] == path, error
    return error


# -- reading state back ----------------------------------------------------------------------


async def fresh_row(app: FastAPI, model: type[RowT], row_id: uuid.UUID | str) -> RowT:
    """The row as committed now, read in a session of its own."""
    async with app.state.database.sessionmaker() as session:
        row = await session.get(model, row_id if isinstance(row_id, uuid.UUID) else uuid.UUID(row_id))
        assert row is not None
        return row


async def rows(app: FastAPI, model: type[RowT], *where: Any) -> list[RowT]:
    async with app.state.database.sessionmaker() as session:
        return list((await session.scalars(select(model).where(*where))).all())


async def count_rows(app: FastAPI, model: Any, *where: Any) -> int:
    async with app.state.database.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def user_by_email(app: FastAPI, email: str) -> User:
    [user] = await rows(app, User, User.email == email)
    return user


async def events(app: FastAPI, event_type: str) -> list[dict[str, Any]]:
    """The payloads of the events of one type in the outbox, oldest first."""
    async with app.state.database.sessionmaker() as session:
        payloads = await session.scalars(
            select(OutboxEvent.payload)
            .where(OutboxEvent.event_type == event_type)
            .order_by(OutboxEvent.created_at)
        )
        return list(payloads.all())


async def outbox_events(app: FastAPI) -> list[tuple[str, dict[str, Any]]]:
    """Every event in the outbox as `(type, payload)`, oldest first."""
    async with app.state.database.sessionmaker() as session:
        found = await session.execute(
            select(OutboxEvent.event_type, OutboxEvent.payload).order_by(
                OutboxEvent.created_at, OutboxEvent.id
            )
        )
        return [(event_type, payload) for event_type, payload in found.all()]


async def enrollment_row(app: FastAPI, actor: Actor, course: Course) -> Enrollment | None:
    found = await rows(
        app, Enrollment, Enrollment.user_id == actor.user.id, Enrollment.course_id == course.id
    )
    return found[0] if found else None


async def completion_count(app: FastAPI, actor: Actor, course: Course) -> int:
    return await count_rows(
        app,
        LessonCompletion,
        LessonCompletion.user_id == actor.user.id,
        LessonCompletion.course_id == course.id,
    )


def subclasses_in_studyhall(base: type[ClassT]) -> list[type[ClassT]]:
    """Every subclass of `base`, at any depth, that StudyHall defines (not tests, not libraries);
    only those of modules imported so far."""
    found, pending = [], [base]
    while pending:
        for subclass in pending.pop().__subclasses__():
            pending.append(subclass)
            if subclass.__module__.startswith("studyhall."):
                found.append(subclass)
    return found


@contextmanager
def count_statements(app: FastAPI) -> Iterator[list[str]]:
    """The SQL statements the application sends inside the block, transaction control
    (SQLite's `BEGIN IMMEDIATE`) left out."""
    statements: list[str] = []
    engine = app.state.database.engine.sync_engine

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


# -- mail ------------------------------------------------------------------------------------


def parse_mail(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def mails_in(directory: Path) -> list[EmailMessage]:
    """The messages the embedded mailer wrote, oldest first."""
    if not directory.exists():
        return []
    return [parse_mail(path.read_bytes()) for path in sorted(directory.glob("*.eml"))]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


@dataclass
class SmtpSink:
    """Collects what a real SMTP server (aiosmtpd) received."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(parse_mail(envelope.original_content or envelope.content))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.envelopes.clear()


# -- video -----------------------------------------------------------------------------------

#: The webhook signing secret of the apps the video tests build.
MUX_WEBHOOK_SECRET = "whsec-test-secret"


async def create_lesson_video(
    app: FastAPI,
    lesson: Lesson,
    *,
    status: str = VideoStatus.WAITING_UPLOAD,
    provider: str = "mux",
    upload_id: str | None = None,
    **fields: object,
) -> LessonVideo:
    """A lesson's video as the upload route and the provider's reports would have left it."""
    async with app.state.database.sessionmaker() as session, session.begin():
        video = LessonVideo(
            lesson_id=lesson.id,
            provider=provider,
            status=status,
            upload_id=upload_id or f"upload-{uuid.uuid4().hex}",
            **fields,
        )
        session.add(video)
    return video


async def post_mux_webhook(
    client: httpx.AsyncClient,
    event: dict[str, Any] | bytes,
    *,
    secret: str = MUX_WEBHOOK_SECRET,
    timestamp: int | None = None,
    signature: str | None = None,
) -> httpx.Response:
    """Delivers `event` to `/webhooks/mux` signed as Mux signs (`t=<now>,v1=<HMAC of t.body>`),
    or with the `Mux-Signature` header given."""
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    if signature is None:
        timestamp = int(utcnow().timestamp()) if timestamp is None else timestamp
        signature = f"t={timestamp},v1={webhook_signature(secret, timestamp, body)}"
    return await client.post(
        "/webhooks/mux",
        content=body,
        headers={"Mux-Signature": signature, "Content-Type": "application/json"},
    )


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mp4_bytes(duration_seconds: float, *, media_bytes: int = 1024) -> bytes:
    """A minimal MP4 whose movie header (`moov/mvhd`) says `duration_seconds`, followed by
    `media_bytes` of media data: enough for a header reader, not for a player."""
    timescale = 1000
    mvhd = _box(
        b"mvhd",
        bytes(4) + struct.pack(">IIII", 0, 0, timescale, round(duration_seconds * timescale)) + bytes(80),
    )
    return (
        _box(b"ftyp", b"isom" + bytes(4) + b"isomiso2mp41")
        + _box(b"moov", mvhd)
        + _box(b"mdat", bytes(media_bytes))
    )


# -- a live server -----------------------------------------------------------------------


@asynccontextmanager
async def live_server(app: FastAPI) -> AsyncIterator[str]:
    """Serves `app` (its lifespan already entered) with uvicorn on a free port, in the test's
    event loop, logging as `studyhall serve` does; yields its `ws://` base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, lifespan="off", **WEBSOCKET_SERVER_OPTIONS
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


#: Long enough for a message to cross a live server; socket tests fail, not hang, past it.
WAIT = 5.0


async def receive(socket: ClientConnection) -> dict[str, Any]:
    """The socket's next message, as JSON."""
    message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), WAIT))
    return message


async def close_code(socket: ClientConnection) -> int | None:
    """The code the server closed the socket with (waits for it)."""
    with pytest.raises(ConnectionClosed):
        while True:
            await asyncio.wait_for(socket.recv(), WAIT)
    return socket.close_code


# -- notification sockets ----------------------------------------------------------------

Socket = ClientConnection


def notice(title: str = "Something happened") -> Notice:
    """What a handler tells one user (a completed course), to make notifications directly."""
    return Notice(
        type=NotificationType.COURSE_COMPLETED,
        title=title,
        body=f"{title}.",
        link="http://testserver/courses/x",
        action="Open",
        data={"course_id": str(uuid.uuid4())},
    )


async def notify(app: FastAPI, actor: Actor, title: str = "Something happened") -> Notification:
    """A notification made by the service in a committed transaction, as a handler does;
    waits until it is published."""
    event_id = uuid.uuid4()
    async with app.state.database.sessionmaker() as session, session.begin():
        assert await notifications_service.add_notification(session, actor.user.id, event_id, notice(title))
    await wait_for_publishes()
    [row] = await rows(app, Notification, Notification.event_id == event_id)
    return row


async def signed_in(url: str, actor: Actor, query: str = "") -> Socket:
    """`WS /ws/notifications` of the live server at `url`, signed in with `?token=`."""
    return await connect(f"{url}/ws/notifications?token={actor.token}{query}")


def assert_notification_message(message: dict[str, Any], row: Notification) -> None:
    """`message` is the socket's `notification.created` for `row`, numbered by its `seq`."""
    assert message == realtime.socket_message(row)
    assert message["type"] == "notification.created"
    assert message["id"] == row.seq
    assert message["data"]["id"] == str(row.id)


# -- the audit log and the admin panel ----------------------------------------------------------


async def audit_entries(app: FastAPI, action: str | None = None) -> list[AuditLogEntry]:
    """The audit log, oldest first (of one action when given)."""
    async with app.state.database.sessionmaker() as session:
        statement = select(AuditLogEntry).order_by(AuditLogEntry.occurred_at, AuditLogEntry.id)
        if action is not None:
            statement = statement.where(AuditLogEntry.action == action)
        return list((await session.scalars(statement)).all())


def panel_client(app: FastAPI) -> httpx.AsyncClient:
    """A browser of the admin panel: HTTPS (its cookie is `Secure`), cookies kept."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("203.0.113.7", 50000))
    return httpx.AsyncClient(
        transport=transport, base_url="https://testserver", headers={"User-Agent": "panel-test"}
    )


_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def csrf_of(page: httpx.Response) -> str:
    match = _CSRF_META.search(page.text)
    assert match, page.text[:500]
    return match.group(1)


async def panel_sign_in(
    http: httpx.AsyncClient, email_address: str, password: str = PASSWORD
) -> httpx.Response:
    """Fills in the panel's sign-in form as a browser does (its CSRF token included)."""
    form = await http.get("/admin/login")
    return await http.post(
        "/admin/login", data={"username": email_address, "password": password, "csrf_token": csrf_of(form)}
    )


async def panel_post(
    http: httpx.AsyncClient, page_url: str, data: dict[str, Any], action: str | None = None
) -> httpx.Response:
    """Submits the form of the page at `page_url` (to `action`, default the same URL) with
    the page's CSRF token, as its script adds it."""
    page = await http.get(page_url)
    assert page.status_code == 200, page.text[:500]
    return await http.post(action or page_url, data={**data, "csrf_token": csrf_of(page)})


# -- activity events (analytics ingestion) ----------------------------------------------------------


def activity_event(
    event_type: str = "page.viewed",
    *,
    event_id: str | None = None,
    timestamp: datetime | None = None,
    data: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One client activity event as `POST /events` takes it: `page.viewed` of `/` now (the
    faked clock's), with a new id, unless told otherwise."""
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "event_type": event_type,
        "timestamp": (timestamp or utcnow()).isoformat(),
        "data": {"path": "/"} if data is None else data,
        "metadata": metadata or {},
    }


async def post_events(client: httpx.AsyncClient, actor: Actor, batch: Any) -> httpx.Response:
    return await client.post(f"{API}/events", json=batch, headers=actor.headers)


# -- activity --------------------------------------------------------------------------------


def activity(
    event_type: str,
    actor: Actor,
    at: datetime,
    *,
    course: Course | None = None,
    lesson: Lesson | None = None,
    **data: Any,
) -> ActivityRecord:
    """An activity record as ingestion hands it to the rollups (a client event when its type
    is a client one, else a server event)."""
    server = event_type.startswith("server.")
    return ActivityRecord(
        event_id=f"outbox:{uuid.uuid4()}" if server else str(uuid.uuid4()),
        event_type=event_type,
        user_id=actor.user.id,
        occurred_at=at,
        source=ActivitySource.SERVER if server else ActivitySource.CLIENT,
        course_id=course.id if course is not None else None,
        lesson_id=lesson.id if lesson is not None else None,
        data=data,
    )


async def apply_activity(app: FastAPI, records: list[ActivityRecord]) -> None:
    """Folds the records into the rollups in a transaction of their own, as ingestion does
    when it stores them."""
    async with app.state.database.sessionmaker() as session, session.begin():
        await rollups.apply_events(session, records)


async def complete_enrollment_directly(app: FastAPI, actor: Actor, course: Course, at: datetime) -> None:
    """Marks the actor's enrollment in the course completed at `at` (no event, no certificate)."""
    async with app.state.database.sessionmaker() as session, session.begin():
        await session.execute(
            update(Enrollment)
            .where(Enrollment.user_id == actor.user.id, Enrollment.course_id == course.id)
            .values(completed_at=at)
        )


def iso(moment: datetime) -> str:
    """A UTC timestamp as the API writes it (`2026-11-22T10:00:00Z`)."""
    return moment.isoformat().replace("+00:00", "Z")


# -- a course built over HTTP, for a live server -----------------------------------------------

#: A real H.264 video (15 s) that browsers play: the demo's sample.
SAMPLE_VIDEO = Path(__file__).resolve().parents[1] / "src/studyhall/demo_content/media/sample-fractal.mp4"


def wait_until(check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.2) -> Any:
    """`check()`'s first truthy answer, polled until `timeout` (background work: events)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout}s: {check}")
        time.sleep(interval)


def published_course_over_http(http: httpx.Client, headers: dict[str, str]) -> dict[str, Any]:
    """Through the API, as course staff: a published course with a certificate and three
    lessons, a Markdown text, the sample video (uploaded and ready) and a one-question quiz.
    Returns the course as the API reads it."""
    course = (
        http.post(
            f"{API}/courses",
            headers=headers,
            json={
                "title": "Browser Basics",
                "subtitle": "Three short lessons and a quiz",
                "description": "Learn to find your way around a web browser.",
                "category": "computing",
                "level": "beginner",
                "certificate_enabled": True,
            },
        )
        .raise_for_status()
        .json()
    )
    course_id = course["id"]

    def lesson(title: str, lesson_type: str, content: str | None = None) -> str:
        body = {"title": title, "type": lesson_type, **({"content": content} if content else {})}
        created = http.post(f"{API}/courses/{course_id}/lessons", headers=headers, json=body)
        return str(created.raise_for_status().json()["id"])

    lesson("Tabs and windows", "text", "# Tabs\n\nOpen a **new tab** with `Ctrl+T`.")
    video_id = lesson("Watching the address bar", "video")
    quiz_lesson = lesson("Check your understanding", "quiz")
    content = SAMPLE_VIDEO.read_bytes()
    ticket = (
        http.post(
            f"{API}/lessons/{video_id}/video/upload",
            headers=headers,
            json={"filename": "address-bar.mp4", "content_type": "video/mp4", "size_bytes": len(content)},
        )
        .raise_for_status()
        .json()
    )
    http.request(
        ticket["method"], ticket["upload_url"], headers=ticket["headers"], content=content
    ).raise_for_status()
    http.post(f"{API}/files/{ticket['upload_id']}/complete", headers=headers).raise_for_status()
    wait_until(
        lambda: http.get(f"{API}/lessons/{video_id}", headers=headers).json()["video"]["status"] == "ready"
    )
    http.put(
        f"{API}/lessons/{quiz_lesson}/quiz",
        headers=headers,
        json={
            "title": "Browser check",
            "passing_score": 100,
            "max_attempts": 3,
            "time_limit_minutes": 10,
            "show_answers": "after_each_attempt",
            "questions": [
                {
                    "type": "single_choice",
                    "text": "Which keys open a new tab?",
                    "points": 1,
                    "options": [
                        {"text": "Ctrl+T", "is_correct": True},
                        {"text": "Ctrl+Q", "is_correct": False},
                    ],
                }
            ],
        },
    ).raise_for_status()
    http.post(f"{API}/courses/{course_id}/publish", headers=headers).raise_for_status()
    published: dict[str, Any] = (
        http.get(f"{API}/courses/{course_id}", headers=headers).raise_for_status().json()
    )
    assert published["status"] == "published" and published["slug"]
    return published


def headers_over_http(http: httpx.Client, email_address: str, password: str = PASSWORD) -> dict[str, str]:
    """Signs in over HTTP: the bearer header of a fresh session."""
    tokens = http.post(f"{API}/auth/login", json={"email": email_address, "password": password})
    return {"Authorization": f"Bearer {tokens.raise_for_status().json()['access_token']}"}


def user_over_http(
    http: httpx.Client, admin: dict[str, str], email_address: str, full_name: str, role: str = "student"
) -> dict[str, Any]:
    """Registers a user over HTTP and, for another role than `student`, has an admin set it."""
    user = (
        http.post(
            f"{API}/auth/register",
            json={"email": email_address, "password": PASSWORD, "full_name": full_name},
        )
        .raise_for_status()
        .json()
    )
    if role != "student":
        user = (
            http.patch(f"{API}/users/{user['id']}", headers=admin, json={"role": role})
            .raise_for_status()
            .json()
        )
    return dict(user)


def organization_over_http(
    http: httpx.Client, admin: dict[str, str], *, principal_email: str, student_email: str
) -> dict[str, Any]:
    """Through the API, as an admin: an organisation with a principal and a student (both
    registered, then added as members), and a published one-lesson course of the
    organisation's that the student is enrolled in. Returns the organisation."""
    organization = (
        http.post(
            f"{API}/organizations", headers=admin, json={"name": "Northwind School", "slug": "northwind"}
        )
        .raise_for_status()
        .json()
    )
    people = [(principal_email, "Pat Principal", "principal"), (student_email, "Sam Student", "student")]
    for email_address, full_name, role in people:
        body = {"email": email_address, "password": PASSWORD, "full_name": full_name}
        http.post(f"{API}/auth/register", json=body).raise_for_status()
        member = {"email": email_address, "role": role}
        http.post(
            f"{API}/organizations/{organization['id']}/members", headers=admin, json=member
        ).raise_for_status()
    principal = headers_over_http(http, principal_email)
    course = (
        http.post(
            f"{API}/courses",
            headers=principal,
            json={"title": "School Safety", "visibility": "organization", "level": "beginner"},
        )
        .raise_for_status()
        .json()
    )
    lesson = {"title": "Fire drills", "type": "text", "content": "Walk, do not run."}
    http.post(f"{API}/courses/{course['id']}/lessons", headers=principal, json=lesson).raise_for_status()
    http.post(f"{API}/courses/{course['id']}/publish", headers=principal).raise_for_status()
    student = headers_over_http(http, student_email)
    http.post(f"{API}/courses/{course['id']}/enroll", headers=student).raise_for_status()
    result: dict[str, Any] = organization
    return result


def assignment_course_over_http(http: httpx.Client, headers: dict[str, str]) -> dict[str, Any]:
    """Through the API, as course staff: a published course whose one lesson is an
    assignment worth 10 points. Returns the course as the API reads it, with `assignment`."""
    course = (
        http.post(f"{API}/courses", headers=headers, json={"title": "Essay Writing", "level": "beginner"})
        .raise_for_status()
        .json()
    )
    lesson = {"title": "Your first essay", "type": "assignment"}
    lesson_id = http.post(
        f"{API}/courses/{course['id']}/lessons", headers=headers, json=lesson
    ).raise_for_status()
    assignment = {
        "title": "An essay on tabs",
        "instructions": "Write half a page on browser tabs and attach it.",
        "max_points": 10,
        "lesson_id": lesson_id.json()["id"],
    }
    created = http.post(f"{API}/courses/{course['id']}/assignments", headers=headers, json=assignment)
    http.post(f"{API}/courses/{course['id']}/publish", headers=headers).raise_for_status()
    published: dict[str, Any] = (
        http.get(f"{API}/courses/{course['id']}", headers=headers).raise_for_status().json()
    )
    published["assignment"] = created.raise_for_status().json()
    return published
