"""Course, organisation and learner insights: a fixed number of queries each, over the rollup
tables (`analytics.rollups`) and bounded aggregates of the domain tables that already hold the
facts (active enrollments and their completion dates, lesson completions, quizzes, due
dates). No insight reads raw activity events.

Every statement is built once, with its values bound at execution (`bindparam`), so
SQLAlchemy compiles it once; the insights benchmark's raw reference runs the same compiled
SQL. A statement that covers "the course" or "the organisation's courses" is built for both
scopes from one definition (`_Scope`). Days are UTC dates; see docs/analytics.md
("Insights") for the definitions (active learner, streak, ranges).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    and_,
    bindparam,
    case,
    cast,
    distinct,
    exists,
    func,
    select,
    union,
)
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.analytics.models import CourseDay, CourseLearner, LearnerDay, LessonLearner, QuizTotals
from studyhall.assessment.models import Assignment, Quiz, Submission
from studyhall.catalog.access import course_access
from studyhall.catalog.models import Course, CourseInstructor, Lesson, LessonType
from studyhall.catalog.policies import visible_condition
from studyhall.core.clock import utcnow
from studyhall.core.errors import InvalidInput, error_entry
from studyhall.identity import service as identity
from studyhall.identity.errors import InsufficientRole
from studyhall.identity.models import Organization, User
from studyhall.identity.policies import can_manage_organization
from studyhall.learning.models import Enrollment, EnrollmentStatus, LessonCompletion
from studyhall.learning.queries import AnySelect
from studyhall.media.models import LessonVideo, VideoStatus

#: Range of the daily series when the caller gives none: the 30 days ending today.
DEFAULT_RANGE_DAYS = 30
#: Longest range one request may ask for (a year and a day: leap years fit).
MAX_RANGE_DAYS = 366
#: Days a range may name: anything else is a 422 (and no date arithmetic overflows).
EARLIEST_DAY, LATEST_DAY = date(1970, 1, 1), date(9999, 1, 1)
#: "Active learners" windows, ending on the range's last day.
WEEK_DAYS, MONTH_DAYS = 7, 30
#: Assignments listed as upcoming: due within this many days from now.
UPCOMING_DAYS = 14
UPCOMING_LIMIT = 20


# -- ranges --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayRange:
    """Inclusive range of UTC days."""

    start: date
    end: date

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def window_start(self, days: int) -> date:
        return self.end - timedelta(days=days - 1)

    def params(self) -> dict[str, date]:
        """The range and the active-learner windows, as statement parameters."""
        return {
            "start": self.start,
            "end": self.end,
            "week_start": self.window_start(WEEK_DAYS),
            "month_start": self.window_start(MONTH_DAYS),
        }


def day_range(start: date | None, end: date | None) -> DayRange:
    """`from`/`to` as given, defaulting to the 30 days ending today (or ending at `to`, or
    starting at `from`); `from` after `to` or a span over MAX_RANGE_DAYS is a 422."""
    today = utcnow().date()
    for name, given in (("from", start), ("to", end)):
        if given is not None and not EARLIEST_DAY <= given <= LATEST_DAY:
            raise InvalidInput(
                f"`{name}` is out of range",
                errors=[
                    error_entry(
                        ["query", name], f"{name} must be from {EARLIEST_DAY} to {LATEST_DAY}", "value_error"
                    )
                ],
            )
    if end is None:
        end = today if start is None else min(today, start + timedelta(days=DEFAULT_RANGE_DAYS - 1))
        end = max(end, start) if start is not None else end
    if start is None:
        start = end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if start > end:
        raise InvalidInput(
            "`from` is after `to`",
            errors=[error_entry(["query", "from"], "from must not be after to", "value_error")],
        )
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput(
            f"The range spans more than {MAX_RANGE_DAYS} days",
            errors=[
                error_entry(["query", "to"], f"a range spans at most {MAX_RANGE_DAYS} days", "value_error")
            ],
        )
    return DayRange(start, end)


# -- figures that add up across courses ------------------------------------------------------


def _ratio(part: float, whole: float, digits: int = 4) -> float:
    return round(part / whole, digits) if whole else 0.0


@dataclass(slots=True)
class Figures:
    """Sums over active enrollments and graded quiz attempts, which add up across courses;
    the rates are derived from them."""

    enrolled: int = 0
    completed: int = 0
    days_to_complete_sum: float = 0.0
    lessons_done: int = 0
    lessons_possible: int = 0
    quiz_attempts: int = 0
    quiz_passed: int = 0
    quiz_score_sum: float = 0.0

    def add(self, other: Figures) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def completion_rate(self) -> float:
        return _ratio(self.completed, self.enrolled)

    @property
    def average_progress_percent(self) -> float:
        return round(100 * _ratio(self.lessons_done, self.lessons_possible, 6), 2)

    @property
    def average_days_to_complete(self) -> float | None:
        return round(self.days_to_complete_sum / self.completed, 2) if self.completed else None

    @property
    def quiz_pass_rate(self) -> float | None:
        return _ratio(self.quiz_passed, self.quiz_attempts) if self.quiz_attempts else None

    @property
    def average_score_percent(self) -> float | None:
        return round(self.quiz_score_sum / self.quiz_attempts, 2) if self.quiz_attempts else None


@dataclass(frozen=True, slots=True)
class ActiveLearners:
    week: int = 0
    month: int = 0


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date
    count: int


@dataclass(frozen=True, slots=True)
class LessonFunnel:
    lesson_id: uuid.UUID
    title: str
    reached: int
    completed: int


@dataclass(frozen=True, slots=True)
class QuizFigures:
    quiz_id: uuid.UUID
    title: str
    attempts: int
    pass_rate: float | None
    average_score_percent: float | None


@dataclass(frozen=True, slots=True)
class VideoFigures:
    lesson_id: uuid.UUID
    watch_ratio: float | None


@dataclass(frozen=True, slots=True)
class CourseAnalytics:
    """`GET /courses/{id}/analytics`."""

    course_id: uuid.UUID
    figures: Figures
    active: ActiveLearners
    enrollments_per_day: list[DayCount]
    lessons: list[LessonFunnel]
    quizzes: list[QuizFigures]
    videos: list[VideoFigures]


@dataclass(frozen=True, slots=True)
class CourseSummary:
    course_id: uuid.UUID
    title: str
    status: str
    figures: Figures
    active: ActiveLearners


@dataclass(frozen=True, slots=True)
class InstructorSummary:
    user_id: uuid.UUID
    full_name: str
    course_ids: list[uuid.UUID]
    figures: Figures
    active: ActiveLearners


@dataclass(frozen=True, slots=True)
class OrganizationAnalytics:
    """`GET /organizations/{id}/analytics`: the course figures over all the organisation's
    live courses, then per course and per instructor (owner or co-instructor)."""

    organization_id: uuid.UUID
    figures: Figures
    active: ActiveLearners
    enrollments_per_day: list[DayCount]
    courses: list[CourseSummary]
    instructors: list[InstructorSummary]


# -- statements -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Scope:
    """Which courses a statement covers: one (`:course_id`), or an organisation's live
    courses (`:organization_id`)."""

    name: str
    condition: Callable[[Any], ColumnElement[bool]]


_ORG_COURSES = select(Course.id).where(
    Course.organization_id == bindparam("organization_id"), Course.deleted_at.is_(None)
)
COURSE = _Scope("course", lambda column: column == bindparam("course_id"))
ORGANIZATION = _Scope("organization", lambda column: column.in_(_ORG_COURSES))


def _days_to_complete(dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.extract("epoch", Enrollment.completed_at - Enrollment.enrolled_at) / 86400.0
    return func.julianday(Enrollment.completed_at) - func.julianday(Enrollment.enrolled_at)


def _enrollment_figures(scope: _Scope, dialect: str) -> AnySelect:
    """Per course: active enrollments, how many completed, their summed days to complete."""
    return (
        select(
            Enrollment.course_id,
            func.count(),
            func.count(Enrollment.completed_at),
            func.coalesce(func.sum(_days_to_complete(dialect)), 0.0),
        )
        .where(scope.condition(Enrollment.course_id), Enrollment.status == EnrollmentStatus.ACTIVE)
        .group_by(Enrollment.course_id)
    )


def _lessons_done(scope: _Scope) -> AnySelect:
    """Per course: the lessons its actively enrolled students completed (at least once, per
    the rollups), each student's count capped at the course's current lesson count: the sum
    of their progress numerators, read from one row per learner."""
    done = CourseLearner.lessons_completed
    capped = case((done > Course.lesson_count, Course.lesson_count), else_=done)
    return (
        select(Enrollment.course_id, func.sum(capped))
        .join(
            CourseLearner,
            and_(
                CourseLearner.course_id == Enrollment.course_id, CourseLearner.user_id == Enrollment.user_id
            ),
        )
        .join(Course, Course.id == Enrollment.course_id)
        .where(scope.condition(Enrollment.course_id), Enrollment.status == EnrollmentStatus.ACTIVE)
        .group_by(Enrollment.course_id)
    )


def _enrollments_per_day(scope: _Scope) -> AnySelect:
    return (
        select(CourseDay.day, func.sum(CourseDay.enrollments))
        .where(
            scope.condition(CourseDay.course_id), CourseDay.day.between(bindparam("start"), bindparam("end"))
        )
        .group_by(CourseDay.day)
    )


def _active_columns() -> tuple[Any, Any]:
    week = func.count(distinct(case((LearnerDay.day >= bindparam("week_start"), LearnerDay.user_id))))
    return week, func.count(distinct(LearnerDay.user_id))


def _in_month_window() -> ColumnElement[bool]:
    return LearnerDay.day.between(bindparam("month_start"), bindparam("end"))


def _active_by_course(scope: _Scope) -> AnySelect:
    return (
        select(LearnerDay.course_id, *_active_columns())
        .where(scope.condition(LearnerDay.course_id), _in_month_window())
        .group_by(LearnerDay.course_id)
    )


#: The organisation's learners active in the 30-day window, with their last active day, per
#: course: one row per (course, learner), from which the 7- and 30-day counts per course,
#: across the organisation and per instructor are all taken (each learner counted once).
_ORG_ACTIVE_LEARNERS = (
    select(LearnerDay.course_id, LearnerDay.user_id, func.max(LearnerDay.day))
    .where(ORGANIZATION.condition(LearnerDay.course_id), _in_month_window())
    .group_by(LearnerDay.course_id, LearnerDay.user_id)
)


def _quiz_totals(scope: _Scope) -> AnySelect:
    return (
        select(
            QuizTotals.course_id,
            func.sum(QuizTotals.attempts),
            func.sum(QuizTotals.passed),
            func.sum(QuizTotals.score_sum),
        )
        .where(scope.condition(QuizTotals.course_id))
        .group_by(QuizTotals.course_id)
    )


def _lesson_funnel() -> AnySelect:
    """The course's current lessons in order with how many learners reached and completed
    each, and for videos the average share watched per viewer (capped at the whole video;
    null while the video's length is unknown or nobody watched)."""
    duration = func.coalesce(LessonVideo.duration_seconds, func.nullif(Lesson.duration_minutes * 60, 0))
    watched = LessonLearner.watched_seconds
    share = case(
        (watched <= 0, None),
        (duration.is_(None), None),
        (watched >= duration, 1.0),
        else_=watched / cast(duration, Float),
    )
    return (
        select(
            Lesson.id,
            Lesson.title,
            Lesson.type,
            func.count(LessonLearner.user_id),
            func.count(LessonLearner.completed_at),
            func.avg(share),
        )
        .select_from(Lesson)
        .outerjoin(LessonLearner, LessonLearner.lesson_id == Lesson.id)
        .outerjoin(
            LessonVideo, and_(LessonVideo.lesson_id == Lesson.id, LessonVideo.status == VideoStatus.READY)
        )
        .where(Lesson.course_id == bindparam("course_id"), Lesson.deleted_at.is_(None))
        .group_by(
            Lesson.id,
            Lesson.title,
            Lesson.type,
            Lesson.position,
            LessonVideo.duration_seconds,
            Lesson.duration_minutes,
        )
        .order_by(Lesson.position)
    )


_COURSE_QUIZZES = (
    select(Quiz.id, Quiz.title, QuizTotals.attempts, QuizTotals.passed, QuizTotals.score_sum)
    .join(Lesson, and_(Lesson.id == Quiz.lesson_id, Lesson.deleted_at.is_(None)))
    .outerjoin(QuizTotals, QuizTotals.quiz_id == Quiz.id)
    .where(Quiz.course_id == bindparam("course_id"))
    .order_by(Lesson.position)
)

_ORG_COURSE_LIST = (
    select(Course.id, Course.title, Course.status, Course.lesson_count)
    .where(Course.organization_id == bindparam("organization_id"), Course.deleted_at.is_(None))
    .order_by(Course.title, Course.id)
)


def _org_teaching() -> Any:
    """(course, instructor) pairs of the organisation's live courses: owners and
    co-instructors."""
    live_in_org = and_(Course.organization_id == bindparam("organization_id"), Course.deleted_at.is_(None))
    owners = select(Course.id.label("course_id"), Course.owner_id.label("user_id")).where(live_in_org)
    co_instructors = (
        select(CourseInstructor.course_id.label("course_id"), CourseInstructor.user_id.label("user_id"))
        .join(Course, Course.id == CourseInstructor.course_id)
        .where(live_in_org)
    )
    return union(owners, co_instructors).subquery("teaching")


_TEACHING = _org_teaching()
_ORG_INSTRUCTORS = (
    select(_TEACHING.c.course_id, User.id, User.full_name)
    .join(User, User.id == _TEACHING.c.user_id)
    .distinct()
    .order_by(User.full_name, User.id)
)


@dataclass(frozen=True, slots=True)
class Statements:
    """The insights' statements for one database."""

    course_enrollments: AnySelect
    course_lessons_done: AnySelect
    course_per_day: AnySelect
    course_active: AnySelect
    course_quiz_totals: AnySelect
    course_funnel: AnySelect
    course_quizzes: AnySelect
    org_courses: AnySelect
    org_instructors: AnySelect
    org_enrollments: AnySelect
    org_lessons_done: AnySelect
    org_per_day: AnySelect
    org_active_learners: AnySelect
    org_quizzes: AnySelect


def _statements(dialect: str) -> Statements:
    return Statements(
        course_enrollments=_enrollment_figures(COURSE, dialect),
        course_lessons_done=_lessons_done(COURSE),
        course_per_day=_enrollments_per_day(COURSE),
        course_active=_active_by_course(COURSE),
        course_quiz_totals=_quiz_totals(COURSE),
        course_funnel=_lesson_funnel(),
        course_quizzes=_COURSE_QUIZZES,
        org_courses=_ORG_COURSE_LIST,
        org_instructors=_ORG_INSTRUCTORS,
        org_enrollments=_enrollment_figures(ORGANIZATION, dialect),
        org_lessons_done=_lessons_done(ORGANIZATION),
        org_per_day=_enrollments_per_day(ORGANIZATION),
        org_active_learners=_ORG_ACTIVE_LEARNERS,
        org_quizzes=_quiz_totals(ORGANIZATION),
    )


STATEMENTS = {"postgresql": _statements("postgresql"), "sqlite": _statements("sqlite")}


def statements_for(session: AsyncSession) -> Statements:
    return STATEMENTS[session.get_bind().dialect.name]


# -- course and organisation -------------------------------------------------------------


async def _rows(session: AsyncSession, statement: AnySelect, params: dict[str, Any]) -> Sequence[Any]:
    rows: Sequence[Any] = (await session.execute(statement, params)).all()
    return rows


def _per_day(rows: Sequence[Any], days: DayRange) -> list[DayCount]:
    counts = {day: int(total or 0) for day, total in rows}
    return [DayCount(day, counts.get(day, 0)) for day in days.days()]


async def _figures_by_course(
    session: AsyncSession,
    statements: tuple[AnySelect, AnySelect, AnySelect],
    params: dict[str, Any],
    lesson_counts: dict[uuid.UUID, int],
) -> dict[uuid.UUID, Figures]:
    """Enrollment, progress and quiz sums per course (three grouped queries)."""
    enrollments, lessons_done, quizzes = statements
    figures = {course_id: Figures() for course_id in lesson_counts}
    for course_id, enrolled, completed, days in await _rows(session, enrollments, params):
        entry = figures.setdefault(course_id, Figures())
        entry.enrolled, entry.completed = int(enrolled), int(completed)
        entry.days_to_complete_sum = float(days or 0.0)
        entry.lessons_possible = int(enrolled) * lesson_counts.get(course_id, 0)
    for course_id, done in await _rows(session, lessons_done, params):
        figures.setdefault(course_id, Figures()).lessons_done = int(done)
    for course_id, attempts, passed, score_sum in await _rows(session, quizzes, params):
        entry = figures.setdefault(course_id, Figures())
        entry.quiz_attempts, entry.quiz_passed = int(attempts or 0), int(passed or 0)
        entry.quiz_score_sum = float(score_sum or 0.0)
    return figures


def _active_map(rows: Sequence[Any]) -> dict[uuid.UUID, ActiveLearners]:
    return {key: ActiveLearners(int(week), int(month)) for key, week, month in rows}


async def course_analytics(
    session: AsyncSession, user: User, course_id: uuid.UUID, days: DayRange
) -> CourseAnalytics:
    """For the course's staff (owner, co-instructors, its organisation's principal, admins):
    eight queries (two of them the access check)."""
    return await course_figures(session, await analysable_course(session, user, course_id), days)


async def analysable_course(session: AsyncSession, user: User, course_id: uuid.UUID) -> Course:
    """The course, when `user` is on its staff (`course_analytics`'s access rule)."""
    access = await course_access(session, user, course_id)
    access.require_staff("Course analytics are for the course's staff")
    return access.course


async def course_figures(session: AsyncSession, course: Course, days: DayRange) -> CourseAnalytics:
    """The course's analytics, for a caller already allowed to see them: six queries."""
    statements = statements_for(session)
    params: dict[str, Any] = {"course_id": course.id, **days.params()}
    figures = (
        await _figures_by_course(
            session,
            (statements.course_enrollments, statements.course_lessons_done, statements.course_quiz_totals),
            params,
            {course.id: course.lesson_count},
        )
    )[course.id]
    active = _active_map(await _rows(session, statements.course_active, params)).get(
        course.id, ActiveLearners()
    )
    per_day = _per_day(await _rows(session, statements.course_per_day, params), days)
    funnel = await _rows(session, statements.course_funnel, params)
    quizzes = await _rows(session, statements.course_quizzes, params)
    return CourseAnalytics(
        course_id=course.id,
        figures=figures,
        active=active,
        enrollments_per_day=per_day,
        lessons=[LessonFunnel(row[0], row[1], int(row[3]), int(row[4])) for row in funnel],
        quizzes=[_quiz_figures(*row) for row in quizzes],
        videos=[
            VideoFigures(row[0], None if row[5] is None else round(float(row[5]), 4))
            for row in funnel
            if row[2] == LessonType.VIDEO
        ],
    )


def _quiz_figures(
    quiz_id: uuid.UUID, title: str, attempts: int | None, passed: int | None, score_sum: float | None
) -> QuizFigures:
    totals = Figures(quiz_attempts=attempts or 0, quiz_passed=passed or 0, quiz_score_sum=score_sum or 0.0)
    return QuizFigures(
        quiz_id, title, totals.quiz_attempts, totals.quiz_pass_rate, totals.average_score_percent
    )


async def organization_analytics(
    session: AsyncSession, user: User, organization_id: uuid.UUID, days: DayRange
) -> OrganizationAnalytics:
    """For the organisation's principal and admins (members get 403, others 404): eight
    queries whatever the number of courses and instructors."""
    organization = await analysable_organization(session, user, organization_id)
    return await organization_figures(session, organization.id, days)


async def analysable_organization(
    session: AsyncSession, user: User, organization_id: uuid.UUID
) -> Organization:
    """The organisation, when `user` is its principal or an admin (members get 403, others 404)."""
    organization = await identity.get_visible_organization(session, user, organization_id)
    if not can_manage_organization(user, organization.id):
        raise InsufficientRole("Organization analytics are for its principal and admins")
    return organization


async def organization_figures(
    session: AsyncSession, organization_id: uuid.UUID, days: DayRange
) -> OrganizationAnalytics:
    """The organisation's analytics, for a caller already allowed to see them: seven queries
    whatever the number of courses and instructors."""
    statements = statements_for(session)
    params: dict[str, Any] = {"organization_id": organization_id, **days.params()}
    courses = await _rows(session, statements.org_courses, params)
    by_course = await _figures_by_course(
        session,
        (statements.org_enrollments, statements.org_lessons_done, statements.org_quizzes),
        params,
        {course_id: lesson_count for course_id, _title, _status, lesson_count in courses},
    )
    last_active = await _rows(session, statements.org_active_learners, params)
    per_day = _per_day(await _rows(session, statements.org_per_day, params), days)
    teaching = await _rows(session, statements.org_instructors, params)
    week_start = days.window_start(WEEK_DAYS)
    active_by_course = _active_learners(last_active, week_start, lambda course_id: [course_id])
    instructors_of: dict[uuid.UUID, list[uuid.UUID]] = {}
    for course_id, user_id, _name in teaching:
        instructors_of.setdefault(course_id, []).append(user_id)
    active_by_instructor = _active_learners(last_active, week_start, lambda c: instructors_of.get(c, []))
    organization_wide = _active_learners(last_active, week_start, lambda _c: [organization_id])
    total = Figures()
    for figures in by_course.values():
        total.add(figures)
    return OrganizationAnalytics(
        organization_id=organization_id,
        figures=total,
        active=organization_wide.get(organization_id, ActiveLearners()),
        enrollments_per_day=per_day,
        courses=[
            CourseSummary(
                course_id,
                title,
                status,
                by_course[course_id],
                active_by_course.get(course_id, ActiveLearners()),
            )
            for course_id, title, status, _lessons in courses
        ],
        instructors=_instructors(teaching, by_course, active_by_instructor),
    )


def _active_learners(
    last_active: Sequence[Any], week_start: date, groups_of: Callable[[uuid.UUID], list[uuid.UUID]]
) -> dict[uuid.UUID, ActiveLearners]:
    """Distinct active learners in each group (a course, an instructor, the organisation) of
    the (course, learner, last active day) rows of the 30-day window."""
    month: dict[uuid.UUID, set[uuid.UUID]] = {}
    week: dict[uuid.UUID, set[uuid.UUID]] = {}
    for course_id, user_id, last_day in last_active:
        for group in groups_of(course_id):
            month.setdefault(group, set()).add(user_id)
            if _as_date(last_day) >= week_start:
                week.setdefault(group, set()).add(user_id)
    return {group: ActiveLearners(len(week.get(group, ())), len(users)) for group, users in month.items()}


def _as_date(value: date | str) -> date:
    """`max()` of a date column comes back as text on SQLite."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def _instructors(
    teaching: Sequence[Any],
    by_course: dict[uuid.UUID, Figures],
    active: dict[uuid.UUID, ActiveLearners],
) -> list[InstructorSummary]:
    """Each instructor's courses' figures added up (their active learners counted once)."""
    summaries: dict[uuid.UUID, InstructorSummary] = {}
    for course_id, user_id, full_name in teaching:
        summary = summaries.get(user_id)
        if summary is None:
            summary = summaries[user_id] = InstructorSummary(
                user_id, full_name, [], Figures(), active.get(user_id, ActiveLearners())
            )
        summary.course_ids.append(course_id)
        summary.figures.add(by_course.get(course_id, Figures()))
    return list(summaries.values())


# -- the learner ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LearningDay:
    day: date
    learning_seconds: float
    lessons_completed: int
    active: bool


@dataclass(frozen=True, slots=True)
class UpcomingAssignment:
    assignment_id: uuid.UUID
    title: str
    course_id: uuid.UUID
    course_title: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Streaks:
    current: int
    longest: int


@dataclass(frozen=True, slots=True)
class LearnerAnalytics:
    """`GET /me/analytics`."""

    days: list[LearningDay]
    streaks: Streaks
    lessons_completed: int
    courses_completed: int
    upcoming: list[UpcomingAssignment] = field(default_factory=list)


_MY_DAYS = (
    select(LearnerDay.day, func.sum(LearnerDay.learning_seconds), func.sum(LearnerDay.lessons_completed))
    .where(
        LearnerDay.user_id == bindparam("user_id"),
        LearnerDay.day.between(bindparam("start"), bindparam("end")),
    )
    .group_by(LearnerDay.day)
)
_MY_ACTIVE_DAYS = (
    select(LearnerDay.day)
    .where(LearnerDay.user_id == bindparam("user_id"), LearnerDay.day <= bindparam("today"))
    .distinct()
    .order_by(LearnerDay.day)
)
_MY_COMPLETIONS = select(
    select(func.count())
    .select_from(LessonCompletion)
    .where(LessonCompletion.user_id == bindparam("user_id"))
    .scalar_subquery(),
    select(func.count())
    .select_from(Enrollment)
    .where(Enrollment.user_id == bindparam("user_id"), Enrollment.completed_at.is_not(None))
    .scalar_subquery(),
)


def streaks(active_days: Sequence[date], today: date) -> Streaks:
    """Runs of consecutive active days. The current streak ends today, or yesterday while
    today has no activity yet (a streak is not lost before the day is over)."""
    longest = run = 0
    previous: date | None = None
    for day in active_days:
        run = run + 1 if previous is not None and day - previous == timedelta(days=1) else 1
        longest = max(longest, run)
        previous = day
    current = run if previous is not None and (today - previous).days <= 1 else 0
    return Streaks(current=current, longest=longest)


def _upcoming(user: User) -> AnySelect:
    submitted = exists().where(Submission.assignment_id == Assignment.id, Submission.user_id == user.id)
    return (
        select(Assignment.id, Assignment.title, Course.id, Course.title, Assignment.due_at)
        .join(Course, Course.id == Assignment.course_id)
        .join(
            Enrollment,
            and_(
                Enrollment.course_id == Course.id,
                Enrollment.user_id == user.id,
                Enrollment.status == EnrollmentStatus.ACTIVE,
            ),
        )
        .where(
            Assignment.deleted_at.is_(None),
            Assignment.due_at.between(bindparam("now"), bindparam("until")),
            visible_condition(user),
            ~submitted,
        )
        .order_by(Assignment.due_at, Assignment.id)
        .limit(UPCOMING_LIMIT)
    )


async def learner_analytics(session: AsyncSession, user: User, days: DayRange) -> LearnerAnalytics:
    """The caller's own learning: four queries."""
    now = utcnow()
    params: dict[str, Any] = {"user_id": user.id, "start": days.start, "end": days.end, "today": now.date()}
    by_day = {
        day: (float(seconds or 0), int(done or 0))
        for day, seconds, done in await _rows(session, _MY_DAYS, params)
    }
    active_days = [day for (day,) in await _rows(session, _MY_ACTIVE_DAYS, params)]
    [(lessons, courses)] = await _rows(session, _MY_COMPLETIONS, params)
    upcoming = await _rows(
        session, _upcoming(user), {"now": now, "until": now + timedelta(days=UPCOMING_DAYS)}
    )
    return LearnerAnalytics(
        days=[
            LearningDay(day, round(by_day[day][0], 2), by_day[day][1], True)
            if day in by_day
            else LearningDay(day, 0.0, 0, False)
            for day in days.days()
        ],
        streaks=streaks(active_days, now.date()),
        lessons_completed=int(lessons or 0),
        courses_completed=int(courses or 0),
        upcoming=[UpcomingAssignment(*row) for row in upcoming],
    )
