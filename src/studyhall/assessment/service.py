"""Quizzes and attempts: authoring, taking, automatic and manual grading."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall import event_types
from studyhall.analytics import audit
from studyhall.assessment import scoring
from studyhall.assessment.access import attempt_course_access, quiz_access
from studyhall.assessment.completion import complete_activity_lesson
from studyhall.assessment.errors import (
    AttemptAlreadySubmitted,
    AttemptExpired,
    AttemptInProgress,
    AttemptNotFound,
    AttemptNotReviewable,
    NotAQuizLesson,
    QuizAttemptsExhausted,
    QuizNotFound,
)
from studyhall.assessment.models import AttemptStatus, Quiz, QuizAttempt, ShowAnswers
from studyhall.assessment.schemas import QuizIn
from studyhall.catalog.access import CourseRole, lesson_access, locked
from studyhall.catalog.models import LessonType
from studyhall.core.clock import utcnow
from studyhall.core.events import emit
from studyhall.core.pagination import PageParams, fetch_page
from studyhall.identity.models import User

#: Submissions this long after the deadline still count (network latency, clock skew).
SUBMIT_GRACE = timedelta(seconds=30)


# -- quizzes ---------------------------------------------------------------------------


async def _quiz_of_lesson(session: AsyncSession, lesson_id: uuid.UUID) -> Quiz | None:
    return await session.scalar(select(Quiz).where(Quiz.lesson_id == lesson_id))


async def put_quiz(
    session: AsyncSession, user: User, lesson_id: uuid.UUID, data: QuizIn
) -> tuple[Quiz, bool]:
    """Create or replace the quiz of a `quiz` lesson; (quiz, created). Past attempts keep
    their own copy of the questions, so replacing never changes them."""
    context = await lesson_access(session, user, lesson_id)
    context.course.require_staff()
    if context.lesson.type != LessonType.QUIZ:
        raise NotAQuizLesson()
    fields = {
        "title": data.title,
        "passing_score": data.passing_score,
        "max_attempts": data.max_attempts,
        "time_limit_minutes": data.time_limit_minutes,
        "shuffle_questions": data.shuffle_questions,
        "show_answers": data.show_answers,
        "questions": scoring.build_questions(data.questions),
    }
    quiz = await _quiz_of_lesson(session, lesson_id)
    if quiz is None:
        quiz = Quiz(lesson_id=lesson_id, course_id=context.course.course.id, **fields)
        try:
            async with session.begin_nested():
                session.add(quiz)
        except IntegrityError:  # created concurrently: replace that one instead
            quiz = await _quiz_of_lesson(session, lesson_id)
            if quiz is None:
                raise
        else:
            return quiz, True
    for key, value in fields.items():
        setattr(quiz, key, value)
    quiz.revision += 1
    await session.flush()
    return quiz, False


async def get_quiz(session: AsyncSession, user: User, lesson_id: uuid.UUID) -> tuple[Quiz, CourseRole]:
    access = (await lesson_access(session, user, lesson_id)).course
    access.require_member()
    quiz = await _quiz_of_lesson(session, lesson_id)
    if quiz is None:
        raise QuizNotFound("This lesson has no quiz yet")
    return quiz, access.role


# -- attempts --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttemptView:
    """An attempt as one caller may see it: the row, and whether its answer key is theirs to
    see (staff always; its student as the quiz's `show_answers` allows)."""

    attempt: QuizAttempt
    answers_shown: bool


async def _student_sees_answers(session: AsyncSession, quiz: Quiz, user_id: uuid.UUID) -> bool:
    """The quiz's `show_answers` for one student. `after_last_attempt` waits until they
    passed, or used every attempt and have none open (unlimited attempts never run out)."""
    if quiz.show_answers == ShowAnswers.AFTER_EACH_ATTEMPT:
        return True
    if quiz.show_answers == ShowAnswers.NEVER:
        return False

    def how_many(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    taken, passed, still_open = (
        await session.execute(
            select(
                func.count(),
                how_many(QuizAttempt.passed.is_(True)),
                how_many(QuizAttempt.status == AttemptStatus.IN_PROGRESS),
            ).where(QuizAttempt.quiz_id == quiz.id, QuizAttempt.user_id == user_id)
        )
    ).one()
    out_of_attempts = quiz.max_attempts is not None and taken >= quiz.max_attempts and not still_open
    return bool(passed) or out_of_attempts


async def _student_view(session: AsyncSession, attempt: QuizAttempt) -> AttemptView:
    """The attempt as its own student sees it."""
    quiz = await session.get(Quiz, attempt.quiz_id)
    assert quiz is not None, "deleting a quiz deletes its attempts"
    return AttemptView(attempt, await _student_sees_answers(session, quiz, attempt.user_id))


async def _expire_overdue(
    session: AsyncSession,
    *,
    quiz_id: uuid.UUID,
    user_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> None:
    """Attempts expire lazily: whoever next touches them (start, list, read) marks them."""
    statement = update(QuizAttempt).where(
        QuizAttempt.quiz_id == quiz_id,
        QuizAttempt.status == AttemptStatus.IN_PROGRESS,
        QuizAttempt.deadline_at < (now or utcnow()) - SUBMIT_GRACE,
    )
    if user_id is not None:
        statement = statement.where(QuizAttempt.user_id == user_id)
    await session.execute(
        statement.values(status=AttemptStatus.EXPIRED).execution_options(synchronize_session="fetch")
    )


async def _check_can_start(session: AsyncSession, quiz: Quiz, user_id: uuid.UUID) -> int:
    """The next attempt number; raises when one is open or none are left."""
    open_attempt = await session.scalar(
        select(QuizAttempt).where(
            QuizAttempt.quiz_id == quiz.id,
            QuizAttempt.user_id == user_id,
            QuizAttempt.status == AttemptStatus.IN_PROGRESS,
        )
    )
    if open_attempt is not None:
        raise AttemptInProgress(open_attempt)
    taken = await session.scalar(
        select(func.count())
        .select_from(QuizAttempt)
        .where(QuizAttempt.quiz_id == quiz.id, QuizAttempt.user_id == user_id)
    )
    number = int(taken or 0) + 1
    if quiz.max_attempts is not None and number > quiz.max_attempts:
        raise QuizAttemptsExhausted(f"All {quiz.max_attempts} attempts are used")
    return number


async def start_attempt(
    session: AsyncSession, user: User, quiz_id: uuid.UUID, *, now: datetime | None = None
) -> QuizAttempt:
    now = now or utcnow()
    access = await quiz_access(session, user, quiz_id)
    access.course.require_student("Only enrolled students take quizzes")
    quiz = access.quiz
    await _expire_overdue(session, quiz_id=quiz.id, user_id=user.id, now=now)
    number = await _check_can_start(session, quiz, user.id)
    attempt_id = uuid.uuid4()
    attempt = QuizAttempt(
        id=attempt_id,
        quiz_id=quiz.id,
        user_id=user.id,
        course_id=quiz.course_id,
        lesson_id=quiz.lesson_id,
        number=number,
        quiz_revision=quiz.revision,
        started_at=now,
        deadline_at=now + timedelta(minutes=quiz.time_limit_minutes) if quiz.time_limit_minutes else None,
        questions=scoring.attempt_questions(quiz.questions, shuffle=quiz.shuffle_questions, seed=attempt_id),
        passing_score=quiz.passing_score,
        max_points=scoring.max_points(quiz.questions),
    )
    try:
        async with session.begin_nested():
            session.add(attempt)
    except IntegrityError:
        # A concurrent start won the race: report what it left behind.
        await _check_can_start(session, quiz, user.id)
        raise AttemptInProgress() from None
    return attempt


async def _own_attempt_for_update(session: AsyncSession, user: User, attempt_id: uuid.UUID) -> QuizAttempt:
    attempt = await session.scalar(
        locked(select(QuizAttempt).where(QuizAttempt.id == attempt_id, QuizAttempt.user_id == user.id))
    )
    if attempt is None:
        raise AttemptNotFound()
    return attempt


async def submit_attempt(
    session: AsyncSession,
    user: User,
    attempt_id: uuid.UUID,
    answers: dict[uuid.UUID, object],
    *,
    now: datetime | None = None,
) -> AttemptView:
    now = now or utcnow()
    attempt = await _own_attempt_for_update(session, user, attempt_id)
    access = await attempt_course_access(session, user, attempt)
    access.course.require_student()
    if attempt.status == AttemptStatus.EXPIRED or (
        attempt.status == AttemptStatus.IN_PROGRESS
        and attempt.deadline_at is not None
        and now > attempt.deadline_at + SUBMIT_GRACE
    ):
        raise AttemptExpired(f"The deadline was {attempt.deadline_at:%Y-%m-%dT%H:%M:%SZ}")
    if attempt.status != AttemptStatus.IN_PROGRESS:
        raise AttemptAlreadySubmitted()
    normalised, score = scoring.score_answers(attempt.questions, answers)
    attempt.answers = normalised
    attempt.submitted_at = now
    _apply_score(attempt, score, now)
    await session.flush()
    # The result as scored on submission (analytics); the student sees it in the answer, so
    # nobody is notified.
    emit(session, event_types.QUIZ_ATTEMPT_SUBMITTED, _result_payload(attempt))
    if attempt.passed:
        await complete_activity_lesson(session, attempt.user_id, attempt.lesson_id, LessonType.QUIZ)
    return await _student_view(session, attempt)


def _result_payload(attempt: QuizAttempt) -> dict[str, Any]:
    """What `quiz.attempt_submitted` and `quiz.graded` say of an attempt's result."""
    return {
        "attempt_id": attempt.id,
        "quiz_id": attempt.quiz_id,
        "lesson_id": attempt.lesson_id,
        "user_id": attempt.user_id,
        "course_id": attempt.course_id,
        "status": attempt.status,
        "score_percent": attempt.score_percent,
        "passed": attempt.passed,
    }


def _apply_score(attempt: QuizAttempt, score: scoring.Score, now: datetime) -> None:
    attempt.results = score.results
    attempt.points = score.points
    attempt.max_points = score.max_points
    attempt.score_percent = score.percent
    if score.pending_review:
        attempt.status = AttemptStatus.PENDING_REVIEW
        attempt.passed = None
    else:
        attempt.status = AttemptStatus.GRADED
        attempt.passed = score.percent >= attempt.passing_score
        attempt.graded_at = now


async def grade_attempt(
    session: AsyncSession,
    user: User,
    attempt_id: uuid.UUID,
    grades: dict[uuid.UUID, float],
    *,
    now: datetime | None = None,
) -> AttemptView:
    now = now or utcnow()
    attempt = await session.scalar(locked(select(QuizAttempt).where(QuizAttempt.id == attempt_id)))
    if attempt is None:
        raise AttemptNotFound()
    access = await attempt_course_access(session, user, attempt)
    access.course.require_staff()
    if attempt.status not in (AttemptStatus.PENDING_REVIEW, AttemptStatus.GRADED) or attempt.results is None:
        raise AttemptNotReviewable()
    was_passed = attempt.passed
    previous = {
        "previous_status": attempt.status,
        "previous_score_percent": attempt.score_percent,
        "previous_passed": attempt.passed,
    }
    before = audit.snapshot(attempt, ("status", "score_percent", "passed"))
    _apply_score(attempt, scoring.apply_manual_grades(attempt.results, grades), now)
    audit.record(
        session,
        audit.ATTEMPT_GRADED,
        actor=user,
        resource_type="attempt",
        resource_id=attempt.id,
        organization_id=access.course.context.course.organization_id,
        changes=audit.changes_of(before, attempt),
    )
    await session.flush()
    # The result it replaces travels along, so analytics can swap one for the other.
    emit(
        session,
        event_types.QUIZ_GRADED,
        {**_result_payload(attempt), **previous, "grader_id": user.id},
    )
    if attempt.passed and not was_passed:
        await complete_activity_lesson(session, attempt.user_id, attempt.lesson_id, LessonType.QUIZ)
    return AttemptView(attempt, answers_shown=True)  # staff see everything


async def get_attempt(session: AsyncSession, user: User, attempt_id: uuid.UUID) -> AttemptView:
    """Its student (while they may see the course) and the course staff."""
    attempt = await session.get(QuizAttempt, attempt_id)
    if attempt is None:
        raise AttemptNotFound()
    access = (await attempt_course_access(session, user, attempt)).course
    if attempt.user_id != user.id and not access.is_staff:
        raise AttemptNotFound()
    await _expire_overdue(session, quiz_id=attempt.quiz_id, user_id=attempt.user_id)
    if attempt.user_id == user.id:
        return await _student_view(session, attempt)
    return AttemptView(attempt, answers_shown=True)


async def list_attempts(
    session: AsyncSession, user: User, quiz_id: uuid.UUID, params: PageParams
) -> tuple[list[AttemptView], int]:
    """Staff see every attempt; a student sees their own."""
    access = await quiz_access(session, user, quiz_id)
    access.course.require_member()
    quiz, is_staff = access.quiz, access.course.is_staff
    await _expire_overdue(session, quiz_id=quiz.id, user_id=None if is_staff else user.id)
    statement = select(QuizAttempt).where(QuizAttempt.quiz_id == quiz.id)
    if not is_staff:
        statement = statement.where(QuizAttempt.user_id == user.id)
    statement = statement.order_by(QuizAttempt.started_at.desc(), QuizAttempt.number.desc())
    rows, total = await fetch_page(session, statement, params)
    shown = is_staff or await _student_sees_answers(session, quiz, user.id)
    return [AttemptView(attempt, shown) for attempt in rows], total
