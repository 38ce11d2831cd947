"""The rollups: what each record adds, what counts nowhere, statements per batch, and two
workers folding overlapping batches at once on PostgreSQL without losing a count."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from studyhall.analytics import records as types
from studyhall.analytics import rollups
from studyhall.analytics.models import CourseDay, CourseLearner, LearnerDay, LessonLearner, QuizTotals
from studyhall.core.clock import utcnow
from studyhall.identity.models import Role
from tests.factories import (
    activity,
    apply_activity,
    count_statements,
    create_course,
    create_lesson,
    create_quiz,
    create_user,
    rows,
)


async def test_records_fold_into_the_rollups(app: FastAPI) -> None:
    owner, learner = await create_user(app, Role.INSTRUCTOR), await create_user(app)
    course = await create_course(app, owner)
    other = await create_course(app, owner)
    text = await create_lesson(app, course, duration_minutes=5)
    video = await create_lesson(app, course, lesson_type="video")
    quiz = await create_quiz(app, await create_lesson(app, course, lesson_type="quiz"))
    now = utcnow().replace(hour=12)
    day = now.date()
    await apply_activity(
        app,
        [
            # The lesson's course wins over the course a client claims.
            activity(types.LESSON_VIEWED, learner, now, lesson=text, course_id=str(other.id)),
            activity(types.LESSON_COMPLETED, learner, now + timedelta(minutes=5), course=course, lesson=text),
            activity(types.LESSON_COMPLETED, learner, now + timedelta(minutes=9), course=course, lesson=text),
            activity(types.VIDEO_WATCHED, learner, now, lesson=video, watched_seconds=30),
            activity(types.VIDEO_WATCHED, learner, now, lesson=video, watched_seconds=99_999),  # clamped
            activity(
                types.VIDEO_WATCHED, learner, now, lesson=video, watched_seconds="a lot"
            ),  # not a number
            activity(types.QUIZ_GRADED, learner, now, quiz_id=str(quiz.id), score_percent=150, passed=True),
            activity(types.ENROLLED, learner, now - timedelta(days=1), course=course),
            # Count nowhere: no course, an unknown course, an unknown lesson, a malformed id.
            activity(types.PAGE_VIEWED, learner, now, path="/"),
            activity(types.SEARCH_PERFORMED, learner, now, query="x", results=0),
            activity(
                types.LESSON_VIEWED, learner, now, course_id=str(uuid.uuid4()), lesson_id=str(uuid.uuid4())
            ),
            activity(types.QUIZ_STARTED, learner, now, quiz_id="not-an-id"),
        ],
    )
    [today, yesterday] = sorted(await rows(app, CourseDay), key=lambda r: r.day, reverse=True)
    assert (today.course_id, today.day, today.events, today.lessons_completed) == (course.id, day, 7, 2)
    assert today.learning_seconds == 2 * 300 + 30 + 3600
    assert (yesterday.day, yesterday.enrollments, yesterday.events) == (day - timedelta(days=1), 1, 1)
    learner_days = {(r.day, r.course_id): r for r in await rows(app, LearnerDay)}
    assert set(learner_days) == {(day, course.id), (day - timedelta(days=1), course.id)}
    assert (learner_days[day, course.id].lessons_completed, learner_days[day, course.id].events) == (2, 7)
    by_lesson = {r.lesson_id: r for r in await rows(app, LessonLearner)}
    assert set(by_lesson) == {text.id, video.id}
    assert by_lesson[text.id].reached_at == now
    assert by_lesson[text.id].completed_at == now + timedelta(minutes=5)  # the first completion
    assert (by_lesson[video.id].watched_seconds, by_lesson[video.id].completed_at) == (3630.0, None)
    [totals] = await rows(app, QuizTotals)
    assert (totals.quiz_id, totals.course_id, totals.attempts, totals.passed, totals.score_sum) == (
        quiz.id,
        course.id,
        1,
        1,
        100.0,
    )
    # A later batch adds to the rows, keeps the earliest times.
    await apply_activity(
        app,
        [
            activity(types.LESSON_VIEWED, learner, now - timedelta(hours=1), lesson=text),
            activity(types.LESSON_COMPLETED, learner, now + timedelta(minutes=1), course=course, lesson=text),
        ],
    )
    by_lesson = {r.lesson_id: r for r in await rows(app, LessonLearner)}
    assert by_lesson[text.id].reached_at == now - timedelta(hours=1)
    assert by_lesson[text.id].completed_at == now + timedelta(minutes=1)
    assert by_lesson[text.id].completions == 3
    # Completing a lesson again adds no lesson to the learner's count.
    [learner_row] = await rows(app, CourseLearner)
    assert (learner_row.course_id, learner_row.user_id, learner_row.lessons_completed) == (
        course.id,
        learner.user.id,
        1,
    )
    [today] = await rows(app, CourseDay, CourseDay.day == day)
    assert (today.events, today.lessons_completed) == (9, 3)


async def test_a_graded_attempt_replaces_its_previous_result_in_any_order(app: FastAPI) -> None:
    """An attempt submitted for review, graded, then re-graded: one attempt with the last
    grade, whichever order the records arrive in (redelivery, several workers)."""
    owner, learner = await create_user(app, Role.INSTRUCTOR), await create_user(app)
    course = await create_course(app, owner)
    quizzes = [await create_quiz(app, await create_lesson(app, course, lesson_type="quiz")) for _ in range(2)]
    now = utcnow()

    def results(quiz_id: str) -> list[types.ActivityRecord]:
        def result(
            status: str, score: float, passed: bool | None, **previous: object
        ) -> types.ActivityRecord:
            return activity(
                types.QUIZ_GRADED,
                learner,
                now,
                quiz_id=quiz_id,
                status=status,
                score_percent=score,
                passed=passed,
                **previous,
            )

        return [
            result("pending_review", 25.0, None),
            result(
                "graded",
                100.0,
                True,
                previous_status="pending_review",
                previous_score_percent=25.0,
                previous_passed=None,
            ),
            result(
                "graded",
                50.0,
                False,
                previous_status="graded",
                previous_score_percent=100.0,
                previous_passed=True,
            ),
        ]

    in_order, reversed_order = quizzes
    for record in results(str(in_order.id)):
        await apply_activity(app, [record])
    for record in reversed(results(str(reversed_order.id))):
        await apply_activity(app, [record])
    totals = {r.quiz_id: (r.attempts, r.passed, r.score_sum) for r in await rows(app, QuizTotals)}
    assert totals == {in_order.id: (1, 0, 50.0), reversed_order.id: (1, 0, 50.0)}


async def test_a_batch_is_one_lookup_and_one_upsert_per_table(app: FastAPI) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner)
    lessons = [await create_lesson(app, course) for _ in range(5)]
    learners = [await create_user(app) for _ in range(10)]
    now = utcnow()
    batch = [
        activity(types.LESSON_COMPLETED, learner, now - timedelta(days=n % 3), course=course, lesson=lesson)
        for n, (learner, lesson) in enumerate((a, b) for a in learners for b in lessons)
    ]
    with count_statements(app) as statements:
        await apply_activity(app, batch)
    # The lookup, then course days, learner days, lesson learners and course learners.
    assert len(statements) == 5, statements
    assert {r.lessons_completed for r in await rows(app, CourseLearner)} == {5}
    assert len(await rows(app, LessonLearner)) == 50
    assert await rollups.apply_events(None, []) is None  # type: ignore[arg-type]


@pytest.mark.postgresql_only
async def test_concurrent_batches_lose_no_count(app: FastAPI) -> None:
    """Two workers fold batches about the same course, day, lesson and learners at once, in
    opposite record orders: every count lands, and neither deadlocks the other."""
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner)
    lessons = [await create_lesson(app, course) for _ in range(3)]
    learners = [await create_user(app) for _ in range(4)]
    now = utcnow().replace(hour=12)
    batch = [
        activity(types.LESSON_COMPLETED, learner, now, course=course, lesson=lesson)
        for learner in learners
        for lesson in lessons
    ]
    database = app.state.database
    holding = asyncio.Event()

    async def worker(records: list[types.ActivityRecord], *, hold: bool) -> None:
        async with database.sessionmaker() as session, session.begin():
            await rollups.apply_events(session, records)
            if hold:  # keep the row locks while the other worker upserts the same rows
                holding.set()
                await asyncio.sleep(0.3)

    rounds = 5
    for _ in range(rounds):
        holding.clear()
        first = asyncio.create_task(worker(batch, hold=True))
        await holding.wait()
        await asyncio.gather(first, worker(list(reversed(batch)), hold=False))
    total = 2 * rounds * len(batch)
    [day] = await rows(app, CourseDay)
    assert (day.events, day.lessons_completed) == (total, total)
    learner_days = await rows(app, LearnerDay)
    assert len(learner_days) == 4
    assert {r.events for r in learner_days} == {2 * rounds * 3}
    assert len(await rows(app, LessonLearner)) == 12
    assert {r.completions for r in await rows(app, LessonLearner)} == {2 * rounds}
    # Each lesson counted once per learner, whichever worker completed it first.
    assert sorted(r.lessons_completed for r in await rows(app, CourseLearner)) == [3, 3, 3, 3]
    async with database.sessionmaker() as session:
        sums = (await session.execute(select(CourseDay.events))).scalars().all()
    assert list(sums) == [total]
