"""Test data factories: users, organisations and their tokens, written straight to the DB."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select, update

from studyhall.assessment import scoring
from studyhall.assessment.models import Assignment, Quiz, QuizAttempt
from studyhall.assessment.schemas import QuestionIn
from studyhall.catalog.access import recount_lessons
from studyhall.catalog.models import Course, Lesson
from studyhall.core.clock import utcnow
from studyhall.core.security import access_token_claims, hash_opaque_token, new_opaque_token
from studyhall.identity.models import AuthSession, Organization, Role, User
from studyhall.learning.models import Enrollment, LessonCompletion

_sequence = itertools.count(1)
DEFAULT_PASSWORD = "correct horse battery staple"


@dataclass
class Actor:
    """A user plus ready-made `Authorization` headers."""

    user: User
    token: str
    password: str = DEFAULT_PASSWORD

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

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
    password: str = DEFAULT_PASSWORD,
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


def right_answers(attempt: QuizAttempt) -> dict[str, list[str]]:
    """The `answers` body that scores 100 % on a choice-only attempt."""
    return {
        q["id"]: [option["id"] for option in q["options"] if option["is_correct"]] for q in attempt.questions
    }


async def create_assignment(app: FastAPI, course: Course, author: Actor, **fields: object) -> Assignment:
    async with app.state.database.sessionmaker() as session, session.begin():
        assignment = Assignment(
            course_id=course.id, author_id=author.user.id, title="Essay", max_points=10, **fields
        )
        session.add(assignment)
    return assignment


class FakeClock:
    """A controllable "now", one second ahead of the real one so rows written just before
    a test step count as past."""

    def __init__(self) -> None:
        self.now = utcnow() + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
