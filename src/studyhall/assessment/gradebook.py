"""The gradebook (students × quizzes and assignments, computed in SQL; JSON or CSV) and a
student's own grades. Both are results (dataclasses below) that the router presents."""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, and_, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.assessment import scoring
from studyhall.assessment.models import (
    Assignment,
    AttemptStatus,
    GradedKind,
    GradeStatus,
    Quiz,
    QuizAttempt,
    Submission,
    SubmissionStatus,
)
from studyhall.catalog.access import course_access
from studyhall.catalog.models import Lesson
from studyhall.identity.models import User
from studyhall.learning.models import Enrollment, EnrollmentStatus

#: Spreadsheet programs run cells starting with these as formulas.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_ROWS_PER_CHUNK = 200


@dataclass(frozen=True, slots=True)
class GradedItem:
    """A gradebook column: a quiz (scored in percent, so out of 100) or an assignment."""

    id: uuid.UUID
    kind: GradedKind
    title: str
    max_points: float


@dataclass(frozen=True, slots=True)
class StudentScores:
    """A gradebook row: one score per column, in column order; None: nothing graded yet."""

    user_id: uuid.UUID
    full_name: str
    email: str
    scores: list[float | None]


@dataclass(frozen=True, slots=True)
class CourseGradebook:
    course_id: uuid.UUID
    items: list[GradedItem]
    students: list[StudentScores]


@dataclass(frozen=True, slots=True)
class ItemGrade:
    """Where one student stands on one quiz or assignment; the scores are set once graded."""

    kind: GradedKind
    id: uuid.UUID
    title: str
    status: GradeStatus
    max_points: float
    score_percent: float | None = None
    points: float | None = None
    passed: bool | None = None
    feedback: str | None = None
    graded_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CourseGrades:
    """A student's grades in one course; `overall_percent` is None while nothing is graded."""

    course_id: uuid.UUID
    items: list[ItemGrade]
    overall_percent: float | None


def _live_quizzes(course_id: uuid.UUID, *columns: Any) -> Select[Any]:
    """Quizzes of the course's current lessons, in lesson order."""
    return (
        select(*columns)
        .select_from(Quiz)
        .join(Lesson, Lesson.id == Quiz.lesson_id)
        .where(Quiz.course_id == course_id, Lesson.deleted_at.is_(None))
        .order_by(Lesson.position)
    )


def _live_assignments(course_id: uuid.UUID, *columns: Any) -> Select[Any]:
    """The course's current assignments, by due date (undated last)."""
    return (
        select(*columns)
        .where(Assignment.course_id == course_id, Assignment.deleted_at.is_(None))
        .order_by(Assignment.due_at.is_(None), Assignment.due_at, Assignment.created_at)
    )


async def _items(session: AsyncSession, course_id: uuid.UUID) -> list[GradedItem]:
    quizzes = await session.execute(_live_quizzes(course_id, Quiz.id, Quiz.title))
    assignments = await session.execute(
        _live_assignments(course_id, Assignment.id, Assignment.title, Assignment.max_points)
    )
    return [GradedItem(id=i, kind="quiz", title=t, max_points=100.0) for i, t in quizzes.all()] + [
        GradedItem(id=i, kind="assignment", title=t, max_points=m) for i, t, m in assignments.all()
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


async def course_gradebook(session: AsyncSession, user: User, course_id: uuid.UUID) -> CourseGradebook:
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
        StudentScores(
            user_id=user_id,
            full_name=name,
            email=email,
            scores=[scores.get((user_id.hex, key)) for key in item_keys],
        )
        for user_id, name, email in students.all()
    ]
    return CourseGradebook(course_id=course_id, items=items, students=rows)


# -- a student's own grades -------------------------------------------------------------


async def my_grades(session: AsyncSession, user: User, course_id: uuid.UUID) -> CourseGrades:
    """The caller's grades in a course, for enrolled students: seven queries whatever the
    number of items and attempts. Only the caller's own rows are read, and no answer key."""
    access = await course_access(session, user, course_id)
    access.require_student("Grades are for enrolled students; course staff read the gradebook")
    quizzes = await session.execute(_live_quizzes(course_id, Quiz.id, Quiz.title, Quiz.questions))
    assignments = await session.execute(
        _live_assignments(course_id, Assignment.id, Assignment.title, Assignment.max_points)
    )
    attempts = await session.execute(
        select(
            QuizAttempt.quiz_id,
            QuizAttempt.number,
            QuizAttempt.status,
            QuizAttempt.score_percent,
            QuizAttempt.points,
            QuizAttempt.max_points,
            QuizAttempt.passed,
            QuizAttempt.graded_at,
        ).where(QuizAttempt.course_id == course_id, QuizAttempt.user_id == user.id)
    )
    submissions = await session.execute(
        select(
            Submission.assignment_id,
            Submission.status,
            Submission.points,
            Submission.feedback,
            Submission.graded_at,
        ).where(Submission.course_id == course_id, Submission.user_id == user.id)
    )
    attempts_by_quiz: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for attempt in attempts.all():
        attempts_by_quiz[attempt.quiz_id].append(attempt)
    submission_by_assignment = {row.assignment_id: row for row in submissions.all()}
    items = [
        _quiz_grade(quiz_id, title, scoring.max_points(questions), attempts_by_quiz[quiz_id])
        for quiz_id, title, questions in quizzes.all()
    ] + [
        _assignment_grade(assignment_id, title, max_points, submission_by_assignment.get(assignment_id))
        for assignment_id, title, max_points in assignments.all()
    ]
    return CourseGrades(course_id=course_id, items=items, overall_percent=_overall_percent(items))


def _quiz_grade(quiz_id: uuid.UUID, title: str, max_points: float, attempts: Sequence[Any]) -> ItemGrade:
    """The best graded attempt counts (the gradebook's score); else the latest one awaiting
    review; else the quiz is in progress (an open or expired attempt) or not started."""
    graded = [a for a in attempts if a.status == AttemptStatus.GRADED]
    if graded:
        best = max(graded, key=lambda a: (a.score_percent or 0.0, a.number))
        return ItemGrade(
            kind="quiz",
            id=quiz_id,
            title=title,
            status="graded",
            score_percent=best.score_percent,
            points=best.points,
            max_points=best.max_points,
            passed=best.passed,
            graded_at=best.graded_at,
        )
    pending = [a for a in attempts if a.status == AttemptStatus.PENDING_REVIEW]
    if pending:
        latest = max(pending, key=lambda a: a.number)
        return ItemGrade(
            kind="quiz", id=quiz_id, title=title, status="pending_review", max_points=latest.max_points
        )
    status: GradeStatus = "in_progress" if attempts else "not_started"
    return ItemGrade(kind="quiz", id=quiz_id, title=title, status=status, max_points=max_points)


def _assignment_grade(
    assignment_id: uuid.UUID, title: str, max_points: float, submission: Any | None
) -> ItemGrade:
    if submission is None or submission.status != SubmissionStatus.GRADED:
        status: GradeStatus = "not_started" if submission is None else "submitted"
        return ItemGrade(
            kind="assignment", id=assignment_id, title=title, status=status, max_points=max_points
        )
    return ItemGrade(
        kind="assignment",
        id=assignment_id,
        title=title,
        status="graded",
        score_percent=scoring.percent(submission.points, max_points),
        points=submission.points,
        max_points=max_points,
        feedback=submission.feedback,
        graded_at=submission.graded_at,
    )


def _overall_percent(items: list[ItemGrade]) -> float | None:
    """Points-weighted over graded items: a 50-point essay weighs ten times a 5-point quiz."""
    graded = [item for item in items if item.status == "graded" and item.points is not None]
    if not graded:
        return None
    return scoring.percent(
        sum(item.points or 0.0 for item in graded), sum(item.max_points for item in graded)
    )


def safe_cell(value: object) -> object:
    """Neutralise spreadsheet formula injection in text cells."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def gradebook_csv(book: CourseGradebook) -> Iterator[str]:
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


async def overall_percent_by_course(
    session: AsyncSession, user_id: uuid.UUID, course_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, float | None]:
    """A student's `overall_percent` (as `my_grades` computes it: the best graded attempt of
    each quiz of a current lesson and the graded submissions of current assignments,
    points-weighted) in each of `course_ids`; None where nothing is graded. Two queries
    whatever the number of courses (transcripts and skills)."""
    if not course_ids:
        return {}
    attempts = await session.execute(
        select(
            QuizAttempt.course_id,
            QuizAttempt.quiz_id,
            QuizAttempt.number,
            QuizAttempt.score_percent,
            QuizAttempt.points,
            QuizAttempt.max_points,
        )
        .join(Lesson, and_(Lesson.id == QuizAttempt.lesson_id, Lesson.deleted_at.is_(None)))
        .where(
            QuizAttempt.user_id == user_id,
            QuizAttempt.course_id.in_(course_ids),
            QuizAttempt.status == AttemptStatus.GRADED,
        )
    )
    graded_work = await session.execute(
        select(Submission.course_id, Submission.points, Assignment.max_points)
        .join(Assignment, and_(Assignment.id == Submission.assignment_id, Assignment.deleted_at.is_(None)))
        .where(
            Submission.user_id == user_id,
            Submission.course_id.in_(course_ids),
            Submission.status == SubmissionStatus.GRADED,
        )
    )
    best: dict[tuple[uuid.UUID, uuid.UUID], Any] = {}
    for attempt in attempts.all():
        key = (attempt.course_id, attempt.quiz_id)
        kept = best.get(key)
        if kept is None or (attempt.score_percent or 0.0, attempt.number) > (
            kept.score_percent or 0.0,
            kept.number,
        ):
            best[key] = attempt
    items: dict[uuid.UUID, list[ItemGrade]] = defaultdict(list)
    for (course_id, quiz_id), attempt in best.items():
        items[course_id].append(
            ItemGrade("quiz", quiz_id, "", "graded", attempt.max_points, points=attempt.points)
        )
    for course_id, points, max_points in graded_work.all():
        items[course_id].append(ItemGrade("assignment", course_id, "", "graded", max_points, points=points))
    return {course_id: _overall_percent(items[course_id]) for course_id in course_ids}
