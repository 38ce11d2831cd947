"""Rollup tables maintained incrementally from stored activity records.

Ingestion calls `apply_events` with every newly stored record (never a duplicate), in the
transaction that stores them. One call costs a fixed number of statements whatever the
batch size: one query resolving the lessons, quizzes and courses the records name, then one
multi-row upsert per rollup table (`INSERT ... ON CONFLICT DO UPDATE`, additive, so two
workers folding batches about the same course and day at once both count: PostgreSQL makes
the second upsert of a row wait for the first and add to what it left). Rows are upserted
in primary-key order, table after table, so concurrent batches take their row locks in the
same order and cannot deadlock each other.

`fold` is the pure part (records and what they name → rows to add), shared with the
benchmark, which folds a million synthetic records and bulk-loads the result.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Executable, Table, case, literal_column, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.analytics import records as types
from studyhall.analytics.models import CourseDay, CourseLearner, LearnerDay, LessonLearner, QuizTotals
from studyhall.analytics.records import ActivityRecord
from studyhall.assessment.models import AttemptStatus, Quiz
from studyhall.catalog.models import Course, Lesson, LessonType
from studyhall.core.db import per_dialect
from studyhall.learning.queries import AnySelect

#: One heartbeat record never adds more than this (a bad or replayed measurement stays small).
MAX_WATCHED_SECONDS_PER_RECORD = 3600.0

_course_days = cast(Table, CourseDay.__table__)
_learner_days = cast(Table, LearnerDay.__table__)
_lesson_learners = cast(Table, LessonLearner.__table__)
_quizzes = cast(Table, QuizTotals.__table__)
_course_learners = cast(Table, CourseLearner.__table__)


@dataclass(frozen=True, slots=True)
class LessonFacts:
    course_id: uuid.UUID
    #: Authored length of a non-video lesson, counted as learning time when it is completed;
    #: None for video lessons, whose learning time is the watched time the server measured.
    completion_seconds: float | None


@dataclass(slots=True)
class Catalog:
    """What the records of a batch name, as the catalog knows it: records naming anything
    else (a deleted course's id is still known; a made-up id is not) count nowhere."""

    lessons: dict[uuid.UUID, LessonFacts] = field(default_factory=dict)
    quiz_courses: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    courses: set[uuid.UUID] = field(default_factory=set)


@dataclass(slots=True)
class Rollup:
    """Rows to add to each rollup table, keyed by primary key."""

    course_days: dict[tuple[uuid.UUID, date], dict[str, Any]] = field(default_factory=dict)
    learner_days: dict[tuple[uuid.UUID, date, uuid.UUID], dict[str, Any]] = field(default_factory=dict)
    lesson_learners: dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]] = field(default_factory=dict)
    quizzes: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    #: Filled from the lesson learners' upsert (`first_completions`), not by `fold`.
    course_learners: dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]] = field(default_factory=dict)

    def course_day(self, course_id: uuid.UUID, day: date) -> dict[str, Any]:
        key = (course_id, day)
        row = self.course_days.get(key)
        if row is None:
            row = self.course_days[key] = {
                "course_id": course_id,
                "day": day,
                "enrollments": 0,
                "completions": 0,
                "lessons_completed": 0,
                "learning_seconds": 0.0,
                "events": 0,
            }
        return row

    def learner_day(self, user_id: uuid.UUID, day: date, course_id: uuid.UUID) -> dict[str, Any]:
        key = (user_id, day, course_id)
        row = self.learner_days.get(key)
        if row is None:
            row = self.learner_days[key] = {
                "user_id": user_id,
                "day": day,
                "course_id": course_id,
                "learning_seconds": 0.0,
                "lessons_completed": 0,
                "events": 0,
            }
        return row

    def lesson_learner(
        self, lesson_id: uuid.UUID, user_id: uuid.UUID, course_id: uuid.UUID, at: datetime
    ) -> dict[str, Any]:
        key = (lesson_id, user_id)
        row = self.lesson_learners.get(key)
        if row is None:
            row = self.lesson_learners[key] = {
                "lesson_id": lesson_id,
                "user_id": user_id,
                "course_id": course_id,
                "reached_at": at,
                "completed_at": None,
                "watched_seconds": 0.0,
                "completions": 0,
            }
        elif at < row["reached_at"]:
            row["reached_at"] = at
        return row

    def course_learner(self, course_id: uuid.UUID, user_id: uuid.UUID) -> dict[str, Any]:
        key = (course_id, user_id)
        row = self.course_learners.get(key)
        if row is None:
            row = self.course_learners[key] = {
                "course_id": course_id,
                "user_id": user_id,
                "lessons_completed": 0,
            }
        return row

    def quiz(self, quiz_id: uuid.UUID, course_id: uuid.UUID) -> dict[str, Any]:
        row = self.quizzes.get(quiz_id)
        if row is None:
            row = self.quizzes[quiz_id] = {
                "quiz_id": quiz_id,
                "course_id": course_id,
                "attempts": 0,
                "passed": 0,
                "score_sum": 0.0,
            }
        return row


# -- reading what the records name -------------------------------------------------------


def uuid_or_none(value: object) -> uuid.UUID | None:
    if value is None:  # most records name no lesson, quiz or course in their data
        return None
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def lesson_id_of(record: ActivityRecord) -> uuid.UUID | None:
    return record.lesson_id or uuid_or_none(record.data.get("lesson_id"))


def quiz_id_of(record: ActivityRecord) -> uuid.UUID | None:
    return uuid_or_none(record.data.get("quiz_id"))


def course_id_of(record: ActivityRecord) -> uuid.UUID | None:
    return record.course_id or uuid_or_none(record.data.get("course_id"))


def _number(value: object, low: float, high: float) -> float:
    """A measured value from a record's data, clamped; 0 when it is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return min(max(float(value), low), high)


async def resolve(session: AsyncSession, records: Sequence[ActivityRecord]) -> Catalog:
    """The lessons, quizzes and courses the records name, in one query (a UNION of three
    lookups by primary key)."""
    lesson_ids = {i for r in records if (i := lesson_id_of(r)) is not None}
    quiz_ids = {i for r in records if (i := quiz_id_of(r)) is not None}
    course_ids = {i for r in records if (i := course_id_of(r)) is not None}
    parts: list[AnySelect] = []
    if lesson_ids:
        parts.append(
            select(
                literal_column("'lesson'").label("kind"),
                Lesson.id,
                Lesson.course_id,
                Lesson.type,
                Lesson.duration_minutes,
            ).where(Lesson.id.in_(lesson_ids))
        )
    if quiz_ids:
        parts.append(
            select(
                literal_column("'quiz'"), Quiz.id, Quiz.course_id, literal_column("NULL"), literal_column("0")
            ).where(Quiz.id.in_(quiz_ids))
        )
    if course_ids:
        parts.append(
            select(
                literal_column("'course'"), Course.id, Course.id, literal_column("NULL"), literal_column("0")
            ).where(Course.id.in_(course_ids))
        )
    catalog = Catalog()
    if not parts:
        return catalog
    statement: Executable = parts[0] if len(parts) == 1 else union_all(*parts)
    rows: Sequence[Any] = (await session.execute(statement)).all()
    for kind, raw_id, raw_course_id, lesson_type, minutes in rows:
        row_id, course_id = _as_uuid(raw_id), _as_uuid(raw_course_id)
        if kind == "lesson":
            seconds = None if lesson_type == LessonType.VIDEO else float(minutes or 0) * 60
            catalog.lessons[row_id] = LessonFacts(course_id, seconds)
        elif kind == "quiz":
            catalog.quiz_courses[row_id] = course_id
        else:
            catalog.courses.add(row_id)
    return catalog


def _as_uuid(value: object) -> uuid.UUID:
    """Ids of a UNION come back untyped on SQLite (hex text)."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


# -- folding records into rows -------------------------------------------------------------


def fold(records: Iterable[ActivityRecord], catalog: Catalog, rollup: Rollup | None = None) -> Rollup:
    """Adds each record's contribution to `rollup` (a new one by default).

    A record counts in a course when what it names resolves to one: its lesson's course,
    else its quiz's, else its own `course_id` when that course exists. Records of no course
    (page views, searches) count nowhere."""
    rollup = rollup or Rollup()
    for record in records:
        _fold_one(record, catalog, rollup)
    return rollup


def _fold_one(record: ActivityRecord, catalog: Catalog, rollup: Rollup) -> None:
    lesson_id = lesson_id_of(record)
    lesson = catalog.lessons.get(lesson_id) if lesson_id is not None else None
    quiz_id = quiz_id_of(record)
    quiz_course = catalog.quiz_courses.get(quiz_id) if quiz_id is not None else None
    claimed_course = course_id_of(record)
    course_id = (
        lesson.course_id
        if lesson is not None
        else quiz_course
        if quiz_course is not None
        else claimed_course
        if claimed_course in catalog.courses
        else None
    )
    if course_id is None:
        return
    at = record.occurred_at
    day = at.date()
    course_day = rollup.course_day(course_id, day)
    learner_day = rollup.learner_day(record.user_id, day, course_id)
    course_day["events"] += 1
    learner_day["events"] += 1
    kind = record.event_type
    if kind == types.ENROLLED:
        course_day["enrollments"] += 1
    elif kind == types.COURSE_COMPLETED:
        course_day["completions"] += 1
    elif kind == types.QUIZ_GRADED and quiz_id is not None and quiz_course is not None:
        _fold_quiz_result(rollup.quiz(quiz_id, quiz_course), record.data)
    if lesson is None or lesson_id is None:
        return
    learner = rollup.lesson_learner(lesson_id, record.user_id, lesson.course_id, at)
    if kind == types.LESSON_COMPLETED:
        course_day["lessons_completed"] += 1
        learner_day["lessons_completed"] += 1
        learner["completions"] += 1
        if learner["completed_at"] is None or at < learner["completed_at"]:
            learner["completed_at"] = at
        if lesson.completion_seconds:
            course_day["learning_seconds"] += lesson.completion_seconds
            learner_day["learning_seconds"] += lesson.completion_seconds
    elif kind == types.VIDEO_WATCHED:
        watched = _number(record.data.get("watched_seconds"), 0.0, MAX_WATCHED_SECONDS_PER_RECORD)
        learner["watched_seconds"] += watched
        course_day["learning_seconds"] += watched
        learner_day["learning_seconds"] += watched


def _quiz_result(data: dict[str, Any], prefix: str = "") -> tuple[int, int, float]:
    """What one attempt result adds to its quiz's totals (attempts, passed, score): nothing
    while it awaits review, else one attempt with its score."""
    if data.get(f"{prefix}status") == AttemptStatus.PENDING_REVIEW:
        return 0, 0, 0.0
    passed = 1 if data.get(f"{prefix}passed") is True else 0
    return 1, passed, _number(data.get(f"{prefix}score_percent"), 0.0, 100.0)


def _fold_quiz_result(quiz: dict[str, Any], data: dict[str, Any]) -> None:
    """Adds an attempt's result; a staff grade (`previous_status` present) also takes out
    the result it replaces, so an attempt counts once, with its latest result, in whatever
    order the records arrive (the differences add up the same)."""
    attempts, passed, score = _quiz_result(data)
    if "previous_status" in data:
        before = _quiz_result(data, "previous_")
        attempts, passed, score = attempts - before[0], passed - before[1], score - before[2]
    quiz["attempts"] += attempts
    quiz["passed"] += passed
    quiz["score_sum"] += score


# -- upserting the rows --------------------------------------------------------------------


def _adding(table: Table, keys: tuple[str, ...]) -> dict[str, Any]:
    """`INSERT ... ON CONFLICT (keys) DO UPDATE SET column = column + excluded.column` for
    every other column of `table`, per dialect."""

    def build(insert: Any) -> Any:
        statement = insert(table)
        return statement.on_conflict_do_update(
            index_elements=list(keys),
            set_={
                column.name: column + statement.excluded[column.name]
                for column in table.columns
                if column.name not in keys
            },
        )

    return per_dialect(build)


def _earliest(current: Any, new: Any) -> Any:
    """The earlier of two timestamps, either of which may be NULL (portable: SQLite's
    two-argument `min` is NULL when either is)."""
    return case(
        (current.is_(None), new),
        (new.is_(None), current),
        (new < current, new),
        else_=current,
    )


def _lesson_learner_upsert(insert: Any) -> Any:
    statement = insert(_lesson_learners)
    table, new = _lesson_learners.c, statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["lesson_id", "user_id"],
        set_={
            "reached_at": _earliest(table.reached_at, new.reached_at),
            "completed_at": _earliest(table.completed_at, new.completed_at),
            "watched_seconds": table.watched_seconds + new.watched_seconds,
            "completions": table.completions + new.completions,
        },
    ).returning(table.lesson_id, table.user_id, table.course_id, table.completions)


def _quiz_upsert(insert: Any) -> Any:
    statement = insert(_quizzes)
    table, new = _quizzes.c, statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["quiz_id"],
        set_={
            "attempts": table.attempts + new.attempts,
            "passed": table.passed + new.passed,
            "score_sum": table.score_sum + new.score_sum,
        },
    )


_UPSERT_COURSE_DAYS = _adding(_course_days, ("course_id", "day"))
_UPSERT_LEARNER_DAYS = _adding(_learner_days, ("user_id", "day", "course_id"))
_UPSERT_LESSON_LEARNERS = per_dialect(_lesson_learner_upsert)
_UPSERT_QUIZZES = per_dialect(_quiz_upsert)
_UPSERT_COURSE_LEARNERS = _adding(_course_learners, ("course_id", "user_id"))


def _sorted_rows(rows: dict[Any, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        rows[key]
        for key in sorted(rows, key=lambda k: tuple(map(str, k)) if isinstance(k, tuple) else str(k))
    ]


async def write(session: AsyncSession, rollup: Rollup) -> None:
    """One upsert per table with rows (executed for all its rows at once), tables and rows
    in a fixed order. The lesson learners' upsert returns each row's completion count: the
    pairs whose count is exactly what this batch added were completed for the first time,
    and add a lesson to their learner's `CourseLearner` row (exact under concurrent workers:
    the second upsert of a row waits for the first and sees its count)."""
    dialect = session.get_bind().dialect.name
    tables: list[tuple[dict[str, Any], dict[Any, dict[str, Any]]]] = [
        (_UPSERT_COURSE_DAYS, rollup.course_days),
        (_UPSERT_LEARNER_DAYS, rollup.learner_days),
    ]
    for statements, rows in tables:
        if rows:
            await session.execute(statements[dialect], _sorted_rows(rows))
    if rollup.lesson_learners:
        counted = await session.execute(
            _UPSERT_LESSON_LEARNERS[dialect], _sorted_rows(rollup.lesson_learners)
        )
        first_completions(rollup, counted.all())
    tables = [(_UPSERT_COURSE_LEARNERS, rollup.course_learners), (_UPSERT_QUIZZES, rollup.quizzes)]
    for statements, rows in tables:
        if rows:
            await session.execute(statements[dialect], _sorted_rows(rows))


def first_completions(rollup: Rollup, counted: Sequence[Any]) -> None:
    """Adds to `rollup.course_learners` the lessons whose completion count (as stored after
    the upsert, or as folded when nothing was stored before) equals what this batch added."""
    for lesson_id, user_id, course_id, completions in counted:
        added = rollup.lesson_learners[(_as_uuid(lesson_id), _as_uuid(user_id))]["completions"]
        if added and completions == added:
            rollup.course_learner(_as_uuid(course_id), _as_uuid(user_id))["lessons_completed"] += 1


async def apply_events(session: AsyncSession, records: Sequence[ActivityRecord]) -> None:
    """Fold newly stored (never duplicate) records into the rollups, in the caller's
    transaction: one lookup query, then at most one upsert per rollup table."""
    if not records:
        return
    await write(session, fold(records, await resolve(session, records)))
