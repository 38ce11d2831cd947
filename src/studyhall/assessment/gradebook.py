"""The gradebook: students × quizzes and assignments, computed in SQL, as JSON or CSV."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator

from sqlalchemy import String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.assessment.models import (
    Assignment,
    AttemptStatus,
    Quiz,
    QuizAttempt,
    Submission,
    SubmissionStatus,
)
from studyhall.assessment.schemas import Gradebook, GradebookItem, GradebookRow
from studyhall.catalog.access import course_access
from studyhall.catalog.models import Lesson
from studyhall.identity.models import User
from studyhall.learning.models import Enrollment, EnrollmentStatus

#: Spreadsheet programs run cells starting with these as formulas.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_ROWS_PER_CHUNK = 200


async def _items(session: AsyncSession, course_id: uuid.UUID) -> list[GradebookItem]:
    quizzes = await session.execute(
        select(Quiz.id, Quiz.title)
        .join(Lesson, Lesson.id == Quiz.lesson_id)
        .where(Quiz.course_id == course_id, Lesson.deleted_at.is_(None))
        .order_by(Lesson.position)
    )
    assignments = await session.execute(
        select(Assignment.id, Assignment.title, Assignment.max_points)
        .where(Assignment.course_id == course_id, Assignment.deleted_at.is_(None))
        .order_by(Assignment.due_at.is_(None), Assignment.due_at, Assignment.created_at)
    )
    return [GradebookItem(id=i, kind="quiz", title=t, max_points=100.0) for i, t in quizzes.all()] + [
        GradebookItem(id=i, kind="assignment", title=t, max_points=m) for i, t, m in assignments.all()
    ]


async def _scores(session: AsyncSession, course_id: uuid.UUID) -> dict[tuple[str, str], float]:
    """(student id, item id) → score. Ids come back as text: converting tens of thousands of
    UUIDs costs more than the aggregation itself."""
    best_attempts = await session.execute(
        select(
            cast(QuizAttempt.user_id, String),
            cast(QuizAttempt.quiz_id, String),
            func.max(QuizAttempt.score_percent),
        )
        .where(QuizAttempt.course_id == course_id, QuizAttempt.status == AttemptStatus.GRADED)
        .group_by(QuizAttempt.user_id, QuizAttempt.quiz_id)
    )
    graded_work = await session.execute(
        select(
            cast(Submission.user_id, String), cast(Submission.assignment_id, String), Submission.points
        ).where(Submission.course_id == course_id, Submission.status == SubmissionStatus.GRADED)
    )
    scores = {
        (_key(user), _key(item)): float(value)
        for user, item, value in best_attempts.all()
        if value is not None
    }
    scores.update(
        {
            (_key(user), _key(item)): float(value)
            for user, item, value in graded_work.all()
            if value is not None
        }
    )
    return scores


def _key(text_id: str) -> str:
    """SQLite stores UUIDs as 32 hex digits, PostgreSQL renders them with dashes."""
    return text_id.replace("-", "").lower()


async def build_gradebook(session: AsyncSession, user: User, course_id: uuid.UUID) -> Gradebook:
    """Five queries whatever the number of students and items."""
    (await course_access(session, user, course_id)).require_staff()
    items = await _items(session, course_id)
    students = await session.execute(
        select(User.id, User.full_name, User.email)
        .join(Enrollment, Enrollment.user_id == User.id)
        .where(Enrollment.course_id == course_id, Enrollment.status == EnrollmentStatus.ACTIVE)
        .order_by(User.full_name, User.email)
    )
    scores = await _scores(session, course_id)
    item_keys = [item.id.hex for item in items]
    rows = [
        GradebookRow.model_construct(
            user_id=user_id,
            full_name=name,
            email=email,
            scores=[scores.get((user_id.hex, key)) for key in item_keys],
        )
        for user_id, name, email in students.all()
    ]
    return Gradebook.model_construct(course_id=course_id, items=items, students=rows)


def gradebook_json(book: Gradebook) -> bytes:
    return book.model_dump_json().encode()


def safe_cell(value: object) -> object:
    """Neutralise spreadsheet formula injection in text cells."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def gradebook_csv(book: Gradebook) -> Iterator[str]:
    """One header line, then one line per student; RFC 4180 quoting by the csv module."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: list[object]) -> str:
        writer.writerow([safe_cell(cell) for cell in cells])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    unit = {"quiz": "%", "assignment": "points"}
    yield line(["student", "email", *(f"{item.title} ({unit[item.kind]})" for item in book.items)])
    chunk: list[str] = []
    for row in book.students:
        chunk.append(
            line([row.full_name, row.email, *("" if score is None else score for score in row.scores)])
        )
        if len(chunk) == CSV_ROWS_PER_CHUNK:
            yield "".join(chunk)
            chunk.clear()
    if chunk:
        yield "".join(chunk)
