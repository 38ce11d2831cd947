"""Learning services: enrollment, completion, video positions and progress.

Concurrency is the database's job here:

- Enrolling is `INSERT ... ON CONFLICT DO NOTHING` on the (user, course) unique constraint,
  then a conditional `UPDATE` that re-activates an unenrolled row; whoever finds neither
  is told `already_enrolled`.
- Completing a lesson locks the enrollment row (`SELECT ... FOR UPDATE` on PostgreSQL; the
  write lock serialises writers on SQLite), inserts the completion with `ON CONFLICT DO
  NOTHING` and then counts in SQL, so concurrent completions of the last lessons set
  `completed_at` and emit `course.completed` exactly once.
- Progress is computed on read: completions of current (non-deleted) lessons over
  `courses.lesson_count`, which the catalog keeps exact. Adding, deleting or restoring a
  lesson changes every enrollment's progress without touching enrollment rows.

Access: routes resolve the caller's `CourseAccess`/`LessonAccess` through the catalog's one
access rule (`catalog.access`, which imports this module to ask about enrollments) and pass it
in; a course the caller cannot see never reaches these functions. Lists of the caller's
courses filter with the same rule in SQL (`catalog.policies.visible_condition`).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Select, Table, and_, bindparam, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall import event_types
from studyhall.catalog.errors import NotEnrolled
from studyhall.catalog.models import Course, CourseStatus, Lesson, LessonType
from studyhall.catalog.policies import visible_condition
from studyhall.core.clock import utcnow
from studyhall.core.db import dialect_insert, for_session, per_dialect
from studyhall.core.errors import InvalidInput, error_entry
from studyhall.core.events import emit
from studyhall.core.pagination import PageParams
from studyhall.identity.models import User
from studyhall.learning.errors import (
    AlreadyEnrolled,
    CompletedByActivity,
    CourseNotPublished,
    EnrollmentNotFound,
    LessonNotVideo,
    PaymentRequired,
)
from studyhall.learning.models import Enrollment, EnrollmentStatus, LessonCompletion, VideoPosition
from studyhall.media.queries import known_duration

if TYPE_CHECKING:  # catalog.access imports this module (see the module docstring)
    from studyhall.catalog.access import CourseAccess, LessonAccess, LessonContext

#: A video watched to at least this fraction of its duration completes its lesson.
VIDEO_COMPLETION_RATIO = 0.9
#: Lessons that complete only through their activity, never by hand (nor un-marked by hand):
#: their completion stands for a passed attempt or a submission.
COMPLETED_BY_ACTIVITY = {
    LessonType.QUIZ: "passing its quiz",
    LessonType.ASSIGNMENT: "submitting its assignment",
}
#: Players may report a position a little past the duration the provider measured (rounding,
#: container and stream lengths differ by a frame or two).
DURATION_SLACK_SECONDS = 1.0
#: Heartbeats refresh `last_activity_at` at most this often (they stay one small write).
ACTIVITY_RESOLUTION = timedelta(seconds=60)
#: The fastest playback speed players offer: watched time between two heartbeats is at most
#: the time between them times this (`video.watched`).
MAX_PLAYBACK_RATE = 2.0


@dataclass(frozen=True, slots=True)
class CourseProgress:
    completed_lessons: int
    total_lessons: int

    @property
    def progress_percent(self) -> float:
        if self.total_lessons == 0:
            return 0.0
        return round(100.0 * min(self.completed_lessons, self.total_lessons) / self.total_lessons, 2)


@dataclass(frozen=True, slots=True)
class EnrollmentProgress:
    """An enrollment with its progress (and, in lists, its course or student)."""

    enrollment: Enrollment
    progress: CourseProgress
    course: Course | None = None
    student: User | None = None


@dataclass(frozen=True, slots=True)
class LessonProgress:
    lesson_id: uuid.UUID
    is_completed: bool
    completed_at: datetime | None
    position_seconds: float | None


@dataclass(frozen=True, slots=True)
class DetailedProgress:
    enrollment: Enrollment
    progress: CourseProgress
    lessons: list[LessonProgress]


@dataclass(frozen=True, slots=True)
class VideoHeartbeat:
    lesson_id: uuid.UUID
    position_seconds: float
    duration_seconds: float
    is_completed: bool
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NextLesson:
    enrollment: Enrollment
    course: Course
    progress: CourseProgress
    lesson: Lesson
    position_seconds: float | None


# -- helpers -----------------------------------------------------------------------------


# The hot paths (complete, heartbeat) use Core statements on the tables, built once with their
# values bound at execution: SQLAlchemy computes a statement's cache key once per statement
# object and skips the ORM's per-execution compile state for plain columns.
_courses = cast(Table, Course.__table__)
_lessons = cast(Table, Lesson.__table__)
_enrollments = cast(Table, Enrollment.__table__)
_completions = cast(Table, LessonCompletion.__table__)
_positions = cast(Table, VideoPosition.__table__)


def _completed_count(user_id: Any, course_id: Any) -> Any:
    """Completions of current lessons, as a scalar subquery (the primary key and the
    (user_id, course_id) index serve it)."""
    return (
        select(func.count())
        .select_from(_completions.join(_lessons, _lessons.c.id == _completions.c.lesson_id))
        .where(
            _completions.c.user_id == user_id,
            _completions.c.course_id == course_id,
            _lessons.c.deleted_at.is_(None),
        )
        .scalar_subquery()
    )


_COUNT_PROGRESS = select(
    _completed_count(bindparam("user_id"), bindparam("course_id")),
    select(_courses.c.lesson_count).where(_courses.c.id == bindparam("course_id")).scalar_subquery(),
)


async def _count_progress(session: AsyncSession, user_id: uuid.UUID, course_id: uuid.UUID) -> CourseProgress:
    result = await session.execute(_COUNT_PROGRESS, {"user_id": user_id, "course_id": course_id})
    done, lessons = result.one()
    return CourseProgress(completed_lessons=int(done or 0), total_lessons=int(lessons or 0))


async def _active_enrollment(session: AsyncSession, user_id: uuid.UUID, course_id: uuid.UUID) -> Enrollment:
    enrollment = await session.scalar(_active_enrollment_query(user_id, course_id))
    if enrollment is None:
        raise NotEnrolled()
    return enrollment


def _active_enrollment_query(user_id: uuid.UUID, course_id: uuid.UUID) -> Select[Enrollment]:
    return select(Enrollment).where(
        Enrollment.user_id == user_id,
        Enrollment.course_id == course_id,
        Enrollment.status == EnrollmentStatus.ACTIVE,
    )


def _check_learnable(context: LessonAccess) -> None:
    """Lessons are completable only in published courses (students cannot even see the
    others; their staff get this)."""
    if context.course.course.status != CourseStatus.PUBLISHED:
        raise CourseNotPublished("Lessons of an unpublished course cannot be completed")


def _check_marked_by_hand(context: LessonAccess) -> None:
    activity = COMPLETED_BY_ACTIVITY.get(LessonType(context.lesson.type))
    if activity is not None:
        raise CompletedByActivity(f"This lesson completes by {activity}")


async def _adjust_enrollment_count(session: AsyncSession, course_id: uuid.UUID, delta: int) -> None:
    await session.execute(
        update(Course)
        .where(Course.id == course_id)
        .values(enrollment_count=Course.enrollment_count + delta)
        .execution_options(synchronize_session=False)
    )


# -- payments seam -----------------------------------------------------------------------


async def has_paid_for_course(session: AsyncSession, user_id: uuid.UUID, course: Course) -> bool:
    """Whether the user holds a completed payment for a paid course.

    There is no payment provider yet, so nobody has paid and paid courses
    (`price_cents > 0`) answer `402 payment_required`. The payments domain replaces this
    with a lookup of the user's completed order for the course.
    """
    return False


# -- enrollment --------------------------------------------------------------------------


async def enroll(
    session: AsyncSession, user: User, context: CourseAccess, *, now: datetime | None = None
) -> EnrollmentProgress:
    """Enroll (or re-enroll, keeping earlier completions) in a published, visible course."""
    now = now or utcnow()
    course = context.course
    if course.status != CourseStatus.PUBLISHED:
        raise CourseNotPublished("Only published courses take enrollments")
    if course.price_cents > 0 and not await has_paid_for_course(session, user.id, course):
        raise PaymentRequired("This course needs a completed payment before enrolling")

    inserted = await session.scalar(
        dialect_insert(session, Enrollment)
        .values(
            id=uuid.uuid4(),
            user_id=user.id,
            course_id=course.id,
            status=EnrollmentStatus.ACTIVE,
            enrolled_at=now,
        )
        .on_conflict_do_nothing(index_elements=["user_id", "course_id"])
        .returning(Enrollment.id)
    )
    enrollment_id = inserted
    if enrollment_id is None:
        # A row exists: re-activate it only if it is unenrolled (row-locked by the UPDATE).
        enrollment_id = await session.scalar(
            update(Enrollment)
            .where(
                Enrollment.user_id == user.id,
                Enrollment.course_id == course.id,
                Enrollment.status == EnrollmentStatus.UNENROLLED,
            )
            .values(status=EnrollmentStatus.ACTIVE, enrolled_at=now, unenrolled_at=None)
            .returning(Enrollment.id)
            .execution_options(synchronize_session=False)
        )
        if enrollment_id is None:
            raise AlreadyEnrolled("You are already enrolled in this course")
    await _adjust_enrollment_count(session, course.id, +1)
    emit(
        session,
        event_types.ENROLLMENT_CREATED,
        {"enrollment_id": enrollment_id, "course_id": course.id, "user_id": user.id},
    )
    enrollment = await session.scalar(
        select(Enrollment).where(Enrollment.id == enrollment_id).execution_options(populate_existing=True)
    )
    assert enrollment is not None
    return EnrollmentProgress(enrollment, await _count_progress(session, user.id, course.id), course=course)


async def unenroll(
    session: AsyncSession, user: User, context: CourseAccess, *, now: datetime | None = None
) -> None:
    """Leave a course; completions stay, so enrolling again restores progress."""
    now = now or utcnow()
    left = await session.scalar(
        update(Enrollment)
        .where(
            Enrollment.user_id == user.id,
            Enrollment.course_id == context.course.id,
            Enrollment.status == EnrollmentStatus.ACTIVE,
        )
        .values(status=EnrollmentStatus.UNENROLLED, unenrolled_at=now)
        .returning(Enrollment.id)
        .execution_options(synchronize_session=False)
    )
    if left is None:
        raise EnrollmentNotFound("You are not enrolled in this course")
    await _adjust_enrollment_count(session, context.course.id, -1)


async def my_enrollments(
    session: AsyncSession, user: User, params: PageParams
) -> tuple[list[EnrollmentProgress], int]:
    """The caller's active enrollments in courses they may see now, newest first, with
    progress (an enrollment in a course since unpublished, archived, deleted or moved out of
    their organisation is left out, like everything else inside that course)."""
    conditions = (
        Enrollment.user_id == user.id,
        Enrollment.status == EnrollmentStatus.ACTIVE,
        visible_condition(user),
    )
    total = await session.scalar(
        select(func.count())
        .select_from(Enrollment)
        .join(Course, Course.id == Enrollment.course_id)
        .where(*conditions)
    )
    rows = await session.execute(
        select(Enrollment, Course, _completed_count(Enrollment.user_id, Enrollment.course_id))
        .join(Course, Course.id == Enrollment.course_id)
        .where(*conditions)
        .order_by(Enrollment.enrolled_at.desc(), Enrollment.id)
        .limit(params.limit)
        .offset(params.offset)
    )
    items = [
        EnrollmentProgress(
            enrollment,
            CourseProgress(completed_lessons=int(done), total_lessons=course.lesson_count),
            course=course,
        )
        for enrollment, course, done in rows.all()
    ]
    return items, int(total or 0)


async def course_roster(
    session: AsyncSession, context: CourseAccess, params: PageParams
) -> tuple[list[EnrollmentProgress], int]:
    """Active students of a course with their progress: one aggregate query per page."""
    context.require_staff("Only course staff, the principal and admins see the roster")
    course = context.course
    active = (Enrollment.course_id == course.id, Enrollment.status == EnrollmentStatus.ACTIVE)
    total = await session.scalar(select(func.count()).select_from(Enrollment).where(*active))
    page = (
        select(Enrollment.id)
        .where(*active)
        .order_by(Enrollment.enrolled_at, Enrollment.id)
        .limit(params.limit)
        .offset(params.offset)
        .subquery()
    )
    rows = await session.execute(
        select(Enrollment, User, func.count(Lesson.id))
        .join(page, page.c.id == Enrollment.id)
        .join(User, User.id == Enrollment.user_id)
        .outerjoin(
            LessonCompletion,
            and_(
                LessonCompletion.user_id == Enrollment.user_id,
                LessonCompletion.course_id == Enrollment.course_id,
            ),
        )
        .outerjoin(Lesson, and_(Lesson.id == LessonCompletion.lesson_id, Lesson.deleted_at.is_(None)))
        .group_by(Enrollment.id, User.id)
        .order_by(Enrollment.enrolled_at, Enrollment.id)
    )
    items = [
        EnrollmentProgress(
            enrollment,
            CourseProgress(completed_lessons=int(done), total_lessons=course.lesson_count),
            student=student,
        )
        for enrollment, student, done in rows.all()
    ]
    return items, int(total or 0)


# -- progress ----------------------------------------------------------------------------


async def progress_for_courses(
    session: AsyncSession, user_id: uuid.UUID, course_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, CourseProgress]:
    """The caller's progress in each course they are actively enrolled in, in one query.

    Courses the user is not enrolled in are absent from the result. Progress counts only
    current (non-deleted) lessons, so adding or deleting a lesson changes it at once.
    """
    if not course_ids:
        return {}
    completed = (
        select(LessonCompletion.course_id, func.count().label("done"))
        .join(Lesson, Lesson.id == LessonCompletion.lesson_id)
        .where(
            LessonCompletion.user_id == user_id,
            LessonCompletion.course_id.in_(course_ids),
            Lesson.deleted_at.is_(None),
        )
        .group_by(LessonCompletion.course_id)
        .subquery()
    )
    rows = await session.execute(
        select(Enrollment.course_id, Course.lesson_count, func.coalesce(completed.c.done, 0))
        .join(Course, Course.id == Enrollment.course_id)
        .outerjoin(completed, completed.c.course_id == Enrollment.course_id)
        .where(
            Enrollment.user_id == user_id,
            Enrollment.course_id.in_(course_ids),
            Enrollment.status == EnrollmentStatus.ACTIVE,
        )
    )
    return {
        course_id: CourseProgress(completed_lessons=int(done), total_lessons=int(total))
        for course_id, total, done in rows.all()
    }


async def is_actively_enrolled(session: AsyncSession, user_id: uuid.UUID, course_id: uuid.UUID) -> bool:
    found = await session.scalar(
        _active_enrollment_query(user_id, course_id).with_only_columns(Enrollment.id)
    )
    return found is not None


async def completed_lesson_ids(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    course_id: uuid.UUID | None = None,
    lesson_id: uuid.UUID | None = None,
) -> set[uuid.UUID]:
    """The lessons (of one course, or just one lesson) the user has completed."""
    statement = select(LessonCompletion.lesson_id).where(LessonCompletion.user_id == user_id)
    if course_id is not None:
        statement = statement.where(LessonCompletion.course_id == course_id)
    if lesson_id is not None:
        statement = statement.where(LessonCompletion.lesson_id == lesson_id)
    return set((await session.scalars(statement)).all())


async def course_progress(session: AsyncSession, user: User, context: CourseAccess) -> DetailedProgress:
    """The caller's progress in one course, lesson by lesson (two queries)."""
    course = context.course
    enrollment = await _active_enrollment(session, user.id, course.id)
    rows = await session.execute(
        select(Lesson.id, LessonCompletion.completed_at, VideoPosition.position_seconds)
        .outerjoin(
            LessonCompletion,
            and_(LessonCompletion.lesson_id == Lesson.id, LessonCompletion.user_id == user.id),
        )
        .outerjoin(
            VideoPosition,
            and_(VideoPosition.lesson_id == Lesson.id, VideoPosition.user_id == user.id),
        )
        .where(Lesson.course_id == course.id, Lesson.deleted_at.is_(None))
        .order_by(Lesson.position, Lesson.id)
    )
    lessons = [
        LessonProgress(
            lesson_id=lesson_id,
            is_completed=completed_at is not None,
            completed_at=completed_at,
            position_seconds=position,
        )
        for lesson_id, completed_at, position in rows.all()
    ]
    progress = CourseProgress(
        completed_lessons=sum(1 for lesson in lessons if lesson.is_completed), total_lessons=len(lessons)
    )
    return DetailedProgress(enrollment, progress, lessons)


# -- completion --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompletionState:
    """An enrollment's state after one of its lessons was marked or un-marked."""

    course_id: uuid.UUID
    completed_at: datetime | None
    last_activity_at: datetime | None
    progress: CourseProgress


#: Marking (or un-marking) a lesson, in four statements: lock the enrollment, write the
#: completion, count, stamp the enrollment. The lock makes concurrent completions of one
#: enrollment run one after the other, so the last lesson sets `completed_at` and emits
#: `course.completed` exactly once.
_LOCK_ACTIVE_ENROLLMENT = (
    select(_enrollments.c.id, _enrollments.c.completed_at, _enrollments.c.completion_emitted_at)
    .where(
        _enrollments.c.user_id == bindparam("user_id"),
        _enrollments.c.course_id == bindparam("course_id"),
        _enrollments.c.status == EnrollmentStatus.ACTIVE,
    )
    .with_for_update()
)
_INSERT_COMPLETION = per_dialect(
    lambda insert: (
        insert(_completions)
        .values(
            user_id=bindparam("user_id"),
            lesson_id=bindparam("lesson_id"),
            course_id=bindparam("course_id"),
            completed_at=bindparam("now"),
        )
        .on_conflict_do_nothing(index_elements=["user_id", "lesson_id"])
        .returning(_completions.c.lesson_id)
    )
)
_DELETE_COMPLETION = delete(_completions).where(
    _completions.c.user_id == bindparam("user_id"), _completions.c.lesson_id == bindparam("lesson_id")
)
_STAMP_ENROLLMENT = (
    update(_enrollments)
    .where(_enrollments.c.id == bindparam("enrollment_id"))
    .values(
        last_activity_at=bindparam("now"),
        completed_at=bindparam("new_completed_at"),
        completion_emitted_at=bindparam("new_emitted_at"),
    )
)


async def _lock_active_enrollment(
    session: AsyncSession, user_id: uuid.UUID, course_id: uuid.UUID
) -> tuple[uuid.UUID, datetime | None, datetime | None]:
    """(id, completed_at, completion_emitted_at) of the active enrollment, locked until
    commit; `NotEnrolled` when there is none."""
    result = await session.execute(_LOCK_ACTIVE_ENROLLMENT, {"user_id": user_id, "course_id": course_id})
    locked = result.first()
    if locked is None:
        raise NotEnrolled()
    enrollment_id, completed_at, emitted_at = locked
    return enrollment_id, completed_at, emitted_at


async def _stamp_enrollment(
    session: AsyncSession,
    enrollment_id: uuid.UUID,
    now: datetime,
    completed_at: datetime | None,
    emitted_at: datetime | None,
) -> None:
    await session.execute(
        _STAMP_ENROLLMENT,
        {
            "enrollment_id": enrollment_id,
            "now": now,
            "new_completed_at": completed_at,
            "new_emitted_at": emitted_at,
        },
    )


async def _complete(
    session: AsyncSession, user_id: uuid.UUID, lesson: Lesson, now: datetime
) -> CompletionState:
    course_id = lesson.course_id
    enrollment_id, completed_at, emitted_at = await _lock_active_enrollment(session, user_id, course_id)
    inserted = await session.scalar(
        for_session(session, _INSERT_COMPLETION),
        {"user_id": user_id, "lesson_id": lesson.id, "course_id": course_id, "now": now},
    )
    if inserted is not None:
        emit(
            session,
            event_types.LESSON_COMPLETED,
            {"user_id": user_id, "lesson_id": lesson.id, "course_id": course_id, "completed_at": now},
        )
    progress = await _count_progress(session, user_id, course_id)
    finished = progress.total_lessons > 0 and progress.completed_lessons >= progress.total_lessons
    if finished and completed_at is None:
        completed_at = now
        if emitted_at is None:
            emitted_at = now
            emit(
                session,
                event_types.COURSE_COMPLETED,
                {
                    "enrollment_id": enrollment_id,
                    "course_id": course_id,
                    "user_id": user_id,
                    "completed_at": now,
                },
            )
    await _stamp_enrollment(session, enrollment_id, now, completed_at, emitted_at)
    return CompletionState(course_id, completed_at, now, progress)


async def record_lesson_completion(
    session: AsyncSession,
    user_id: uuid.UUID,
    context: LessonContext,
    *,
    now: datetime | None = None,
) -> None:
    """Mark a lesson complete for an actively enrolled student (idempotent).

    Raises `NotEnrolled` otherwise. Updates `last_activity_at`; when this completes the
    last current lesson, sets `completed_at` and emits `course.completed` (at most once per
    enrollment, ever). Other domains (a passed quiz) call this; access checks on the lesson
    are the caller's.
    """
    await _complete(session, user_id, context.lesson, now or utcnow())


async def complete_lesson(
    session: AsyncSession, user: User, context: LessonAccess, *, now: datetime | None = None
) -> CompletionState:
    """`POST /lessons/{id}/complete`: access checks, then the shared completion path."""
    _check_learnable(context)
    _check_marked_by_hand(context)
    return await _complete(session, user.id, context.lesson, now or utcnow())


async def uncomplete_lesson(
    session: AsyncSession, user: User, context: LessonAccess, *, now: datetime | None = None
) -> CompletionState:
    """Un-mark a lesson (idempotent). Clears `completed_at` when the course is no longer
    complete; `course.completed` is never emitted a second time for the enrollment."""
    now = now or utcnow()
    _check_learnable(context)
    _check_marked_by_hand(context)
    course_id = context.course.course.id
    enrollment_id, completed_at, emitted_at = await _lock_active_enrollment(session, user.id, course_id)
    await session.execute(_DELETE_COMPLETION, {"user_id": user.id, "lesson_id": context.lesson.id})
    progress = await _count_progress(session, user.id, course_id)
    if completed_at is not None and progress.completed_lessons < progress.total_lessons:
        completed_at = None
    await _stamp_enrollment(session, enrollment_id, now, completed_at, emitted_at)
    return CompletionState(course_id, completed_at, now, progress)


# -- video -------------------------------------------------------------------------------

_UPSERT_POSITION = per_dialect(
    lambda insert: (
        upsert := insert(_positions).values(
            user_id=bindparam("user_id"),
            lesson_id=bindparam("lesson_id"),
            position_seconds=bindparam("position_seconds"),
            duration_seconds=bindparam("duration_seconds"),
            updated_at=bindparam("now"),
        )
    ).on_conflict_do_update(
        index_elements=["user_id", "lesson_id"],
        set_={
            "position_seconds": upsert.excluded.position_seconds,
            "duration_seconds": upsert.excluded.duration_seconds,
            "updated_at": upsert.excluded.updated_at,
        },
    )
)
_PREVIOUS_POSITION = select(_positions.c.position_seconds, _positions.c.updated_at).where(
    _positions.c.user_id == bindparam("user_id"), _positions.c.lesson_id == bindparam("lesson_id")
)
_TOUCH_ENROLLMENT = (
    update(_enrollments)
    .where(_enrollments.c.id == bindparam("enrollment_id"))
    .values(last_activity_at=bindparam("now"))
)


async def save_video_position(
    session: AsyncSession,
    user: User,
    context: LessonAccess,
    position_seconds: float,
    duration_seconds: float,
    *,
    now: datetime | None = None,
) -> VideoHeartbeat:
    """A video heartbeat: one upsert of the position (the lesson's access lookup already read
    the enrollment and the completion); progress is recomputed only when the position reaches
    90 % of the duration and completes the lesson. A heartbeat that moved forward since the
    previous one emits `video.watched` with the seconds watched (activity analytics)."""
    now = now or utcnow()
    _check_learnable(context)
    if context.lesson.type != LessonType.VIDEO:
        raise LessonNotVideo("Positions are saved only for video lessons")
    enrollment = context.enrollment
    if enrollment is None:
        raise NotEnrolled()
    lesson_id = context.lesson.id
    duration_seconds = _checked_duration(
        position_seconds, duration_seconds, await known_duration(session, lesson_id)
    )
    previous = (
        await session.execute(_PREVIOUS_POSITION, {"user_id": user.id, "lesson_id": lesson_id})
    ).first()
    watched = _watched_seconds(previous, position_seconds, now)
    if watched > 0:
        emit(
            session,
            event_types.VIDEO_WATCHED,
            {
                "user_id": user.id,
                "lesson_id": lesson_id,
                "course_id": context.lesson.course_id,
                "position_seconds": position_seconds,
                "duration_seconds": duration_seconds,
                "watched_seconds": watched,
                "at": now,
            },
        )
    await session.execute(
        for_session(session, _UPSERT_POSITION),
        {
            "user_id": user.id,
            "lesson_id": lesson_id,
            "position_seconds": position_seconds,
            "duration_seconds": duration_seconds,
            "now": now,
        },
    )
    is_completed = context.lesson_completed
    if position_seconds >= VIDEO_COMPLETION_RATIO * duration_seconds and not is_completed:
        await _complete(session, user.id, context.lesson, now)
        is_completed = True
    elif enrollment.last_activity_at is None or now - enrollment.last_activity_at >= ACTIVITY_RESOLUTION:
        await session.execute(_TOUCH_ENROLLMENT, {"enrollment_id": enrollment.id, "now": now})
    return VideoHeartbeat(
        lesson_id=lesson_id,
        position_seconds=position_seconds,
        duration_seconds=duration_seconds,
        is_completed=is_completed,
        updated_at=now,
    )


def _watched_seconds(previous: tuple[Any, ...] | None, position_seconds: float, now: datetime) -> float:
    """Seconds of video watched since the previous heartbeat: how far the position moved
    forward, at most the time that passed at the fastest playback speed (a seek forward is
    not watching). The first heartbeat of a video counts nothing."""
    if previous is None:
        return 0.0
    last_position, last_at = float(previous[0]), previous[1]
    elapsed = max(0.0, (now - last_at).total_seconds())
    return float(round(min(max(0.0, position_seconds - last_position), elapsed * MAX_PLAYBACK_RATE), 3))


def _checked_duration(position_seconds: float, claimed: float, known: float | None) -> float:
    """The video's duration as the provider measured it, when known, rather than the player's
    claim (which decides the 90 % completion); a position past it is refused like one past
    the claimed duration."""
    if known is None:
        return claimed
    if position_seconds > known + DURATION_SLACK_SECONDS:
        raise InvalidInput(
            "position_seconds is past the end of the video",
            errors=[
                error_entry(
                    ["body", "position_seconds"],
                    f"position_seconds must not exceed the video's duration ({known:g} s)",
                    "less_than_equal",
                )
            ],
        )
    return max(known, position_seconds)


# -- continue learning -------------------------------------------------------------------


async def continue_learning(
    session: AsyncSession, user: User, params: PageParams
) -> tuple[list[NextLesson], int]:
    """For each active, uncompleted enrollment in a published course the caller may see,
    with a lesson left, the first current lesson (by order) not completed yet: four queries
    per page."""
    remaining = (
        exists()
        .where(
            Lesson.course_id == Enrollment.course_id,
            Lesson.deleted_at.is_(None),
            ~exists().where(LessonCompletion.user_id == user.id, LessonCompletion.lesson_id == Lesson.id),
        )
        .correlate(Enrollment)
    )
    conditions = (
        Enrollment.user_id == user.id,
        Enrollment.status == EnrollmentStatus.ACTIVE,
        Enrollment.completed_at.is_(None),
        visible_condition(user),
        Course.status == CourseStatus.PUBLISHED,
        remaining,
    )
    total = await session.scalar(
        select(func.count())
        .select_from(Enrollment)
        .join(Course, Course.id == Enrollment.course_id)
        .where(*conditions)
    )
    rows: Sequence[Any] = (
        await session.execute(
            select(Enrollment, Course)
            .join(Course, Course.id == Enrollment.course_id)
            .where(*conditions)
            .order_by(
                Enrollment.last_activity_at.desc().nulls_last(),
                Enrollment.enrolled_at.desc(),
                Enrollment.id,
            )
            .limit(params.limit)
            .offset(params.offset)
        )
    ).all()
    if not rows:
        return [], int(total or 0)
    course_ids = [course.id for _, course in rows]
    ranked = (
        select(
            Lesson.id.label("lesson_id"),
            func.row_number()
            .over(partition_by=Lesson.course_id, order_by=(Lesson.position, Lesson.id))
            .label("rank"),
        )
        .where(
            Lesson.course_id.in_(course_ids),
            Lesson.deleted_at.is_(None),
            ~exists().where(LessonCompletion.user_id == user.id, LessonCompletion.lesson_id == Lesson.id),
        )
        .subquery()
    )
    next_rows = await session.execute(
        select(Lesson, VideoPosition.position_seconds)
        .join(ranked, and_(ranked.c.lesson_id == Lesson.id, ranked.c.rank == 1))
        .outerjoin(
            VideoPosition,
            and_(VideoPosition.lesson_id == Lesson.id, VideoPosition.user_id == user.id),
        )
    )
    next_by_course = {lesson.course_id: (lesson, position) for lesson, position in next_rows.all()}
    progress = await progress_for_courses(session, user.id, course_ids)
    items = []
    for enrollment, course in rows:
        if course.id not in next_by_course:  # its last lesson was completed meanwhile
            continue
        lesson, position = next_by_course[course.id]
        items.append(
            NextLesson(
                enrollment=enrollment,
                course=course,
                progress=progress.get(course.id, CourseProgress(0, course.lesson_count)),
                lesson=lesson,
                position_seconds=position,
            )
        )
    return items, int(total or 0)


async def completed_enrollments(session: AsyncSession, user_id: uuid.UUID) -> list[tuple[Enrollment, Course]]:
    """The user's completed enrollments (unenrolled since or not) in courses that are not
    deleted, with their course, oldest completion first: one query (transcripts, skills)."""
    rows = await session.execute(
        select(Enrollment, Course)
        .join(Course, Course.id == Enrollment.course_id)
        .where(
            Enrollment.user_id == user_id,
            Enrollment.completed_at.is_not(None),
            Course.deleted_at.is_(None),
        )
        .order_by(Enrollment.completed_at, Course.title, Course.id)
    )
    return [(enrollment, course) for enrollment, course in rows.all()]
