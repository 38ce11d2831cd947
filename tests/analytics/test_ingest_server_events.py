"""Server-side activity: domain events delivered through the outbox become activity records,
each stored once however often it is delivered."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from studyhall import event_types
from studyhall.analytics import handlers
from studyhall.analytics.models import ActivityEvent, QuizTotals
from studyhall.assessment.models import Quiz, QuizAttempt
from studyhall.catalog.models import Course
from studyhall.core.clock import utcnow
from studyhall.core.events import Event, OutboxEvent
from studyhall.identity.models import Role
from studyhall.notifications.models import Notification
from studyhall.subscribers import SUBSCRIBERS
from tests.factories import (
    API,
    Actor,
    FakeClock,
    complete,
    course_lessons,
    create_course,
    create_lesson,
    create_quiz,
    create_user,
    deliver,
    deliver_events,
    enroll,
    fresh_row,
    heartbeat,
    right_answers,
    rows,
)


async def outbox_rows(app: FastAPI) -> list[Event]:
    async with app.state.database.sessionmaker() as session:
        found = await session.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at))
        return [Event(e.id, e.event_type, e.payload, e.created_at, 1) for e in found.all()]


def by_type(events: list[ActivityEvent]) -> Counter[str]:
    return Counter(event.event_type for event in events)


async def test_enrollment_heartbeats_and_completions_are_stored_once_each(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=2, lesson_type="video")
    video, other = await course_lessons(app, course)
    await enroll(client, student, course)
    await heartbeat(client, student, video.id, 30)  # the first heartbeat: nothing watched yet
    clock.advance(seconds=60)
    await heartbeat(client, student, video.id, 80)  # 50 s watched
    clock.advance(seconds=10)
    await heartbeat(client, student, video.id, 500)  # a seek: at most 2 x 10 s watched
    clock.advance(seconds=10)
    await heartbeat(client, student, video.id, 500)  # paused: nothing
    assert (await complete(client, student, other)).status_code == 200
    clock.advance(seconds=60)
    await heartbeat(client, student, video.id, 560)  # 60 s watched, 90 %: both lessons and the course done

    await deliver_events(app)

    stored = await rows(app, ActivityEvent)
    assert by_type(stored) == {
        "server.enrolled": 1,
        "server.video_watched": 3,
        "server.lesson_completed": 2,
        "server.course_completed": 1,
    }
    assert {e.user_id for e in stored} == {student.user.id}
    assert {e.course_id for e in stored} == {course.id}
    assert {e.source for e in stored} == {"server"}
    watched = sorted(
        (e.occurred_at, e.data["watched_seconds"]) for e in stored if e.event_type == "server.video_watched"
    )
    assert [seconds for _, seconds in watched] == [50, 20, 60]
    assert {e.lesson_id for e in stored if e.event_type == "server.lesson_completed"} == {video.id, other.id}
    outbox = {f"outbox:{e.id}" for e in await outbox_rows(app)}
    assert {e.event_id for e in stored} <= outbox


async def test_a_redelivered_event_is_stored_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=1)
    await enroll(client, student, course)
    await deliver_events(app)
    [enrolled] = [e for e in await outbox_rows(app) if e.type == event_types.ENROLLMENT_CREATED]

    await deliver(app, handlers.record_enrollment, enrolled)  # delivered again (at least once)

    [stored] = await rows(app, ActivityEvent)
    assert (stored.event_id, stored.event_type, stored.data) == (
        f"outbox:{enrolled.id}",
        "server.enrolled",
        {"enrollment_id": enrolled.payload["enrollment_id"]},
    )


async def test_quiz_and_submission_grades_are_recorded_with_their_scores(app: FastAPI) -> None:
    student = await create_user(app)
    course_id, quiz_id, assignment_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    graded_quiz = Event(
        uuid.uuid4(),
        event_types.QUIZ_GRADED,
        {
            "attempt_id": str(uuid.uuid4()),
            "quiz_id": str(quiz_id),
            "user_id": student.id,
            "course_id": str(course_id),
            "status": "graded",
            "score_percent": 75.0,
            "passed": True,
            "grader_id": str(uuid.uuid4()),
        },
        utcnow(),
        1,
    )
    graded_submission = Event(
        uuid.uuid4(),
        event_types.SUBMISSION_GRADED,
        {
            "submission_id": str(uuid.uuid4()),
            "assignment_id": str(assignment_id),
            "course_id": str(course_id),
            "user_id": student.id,
            "points": 8,
            "max_points": 10,
            "grader_id": str(uuid.uuid4()),
        },
        utcnow(),
        1,
    )

    for _ in range(2):
        await deliver(app, handlers.record_quiz_grade, graded_quiz)
        await deliver(app, handlers.record_submission_grade, graded_submission)

    stored = {e.event_type: e for e in await rows(app, ActivityEvent)}
    assert set(stored) == {"server.quiz_graded", "server.submission_graded"}
    quiz = stored["server.quiz_graded"]
    assert (quiz.user_id, quiz.course_id, quiz.occurred_at) == (
        student.user.id,
        course_id,
        graded_quiz.created_at,
    )
    assert quiz.data == {
        "attempt_id": graded_quiz.payload["attempt_id"],
        "quiz_id": str(quiz_id),
        "status": "graded",
        "score_percent": 75.0,
        "passed": True,
    }
    assert stored["server.submission_graded"].data == {
        "submission_id": graded_submission.payload["submission_id"],
        "assignment_id": str(assignment_id),
        "points": 8,
        "max_points": 10,
    }


# -- quiz attempts: each counted once, with its latest result -----------------------------

CHOICE_AND_TEXT = (
    {
        "type": "single_choice",
        "text": "2 + 2?",
        "points": 1,
        "options": [{"text": "3"}, {"text": "4", "is_correct": True}],
    },
    {"type": "text", "text": "Explain recursion.", "points": 3},
)


@dataclass
class QuizCourse:
    owner: Actor
    student: Actor
    course: Course
    quiz: Quiz


async def quiz_course(app: FastAPI, client: httpx.AsyncClient, *questions: dict[str, Any]) -> QuizCourse:
    """A course of a text lesson and a quiz lesson (so passing the quiz does not complete the
    course), with an enrolled student."""
    owner, student = await create_user(app, Role.INSTRUCTOR), await create_user(app)
    course = await create_course(app, owner, lessons=1)
    quiz_lesson = await create_lesson(app, course, lesson_type="quiz")
    quiz = await create_quiz(app, quiz_lesson, *questions, passing_score=60)
    await enroll(client, student, course)
    return QuizCourse(owner, student, course, quiz)


async def submit_right_answers(app: FastAPI, client: httpx.AsyncClient, q: QuizCourse) -> QuizAttempt:
    started = await client.post(f"{API}/quizzes/{q.quiz.id}/attempts", headers=q.student.headers)
    assert started.status_code == 201, started.text
    attempt = await fresh_row(app, QuizAttempt, started.json()["id"])
    submitted = await client.post(
        f"{API}/attempts/{attempt.id}/submit",
        json={"answers": right_answers(attempt)},
        headers=q.student.headers,
    )
    assert submitted.status_code == 200, submitted.text
    return await fresh_row(app, QuizAttempt, attempt.id)


async def quiz_totals(app: FastAPI, quiz: Quiz) -> tuple[int, int, float] | None:
    row = (await rows(app, QuizTotals, QuizTotals.quiz_id == quiz.id) or [None])[0]
    return None if row is None else (row.attempts, row.passed, round(row.score_sum, 6))


async def quiz_figures(client: httpx.AsyncClient, q: QuizCourse) -> dict[str, Any]:
    response = await client.get(f"{API}/courses/{q.course.id}/analytics", headers=q.owner.headers)
    assert response.status_code == 200, response.text
    [figures] = response.json()["quizzes"]
    return {key: figures[key] for key in ("attempts", "pass_rate", "average_score_percent")}


async def test_an_auto_graded_attempt_is_recorded_once_and_notifies_nobody(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    q = await quiz_course(app, client)  # one choice question: graded on submission
    attempt = await submit_right_answers(app, client, q)
    assert (attempt.status, attempt.score_percent, attempt.passed) == ("graded", 100.0, True)

    await deliver_events(app)
    [submitted] = [e for e in await outbox_rows(app) if e.type == event_types.QUIZ_ATTEMPT_SUBMITTED]
    await deliver(app, handlers.record_quiz_attempt, submitted)  # delivered again (at least once)

    assert submitted.payload == {
        "attempt_id": str(attempt.id),
        "quiz_id": str(q.quiz.id),
        "lesson_id": str(q.quiz.lesson_id),
        "user_id": q.student.id,
        "course_id": str(q.course.id),
        "status": "graded",
        "score_percent": 100.0,
        "passed": True,
    }
    [stored] = await rows(app, ActivityEvent, ActivityEvent.event_type == "server.quiz_graded")
    assert (stored.event_id, stored.user_id, stored.course_id, stored.lesson_id) == (
        f"outbox:{submitted.id}",
        q.student.user.id,
        q.course.id,
        q.quiz.lesson_id,
    )
    assert stored.data == {
        "attempt_id": str(attempt.id),
        "quiz_id": str(q.quiz.id),
        "status": "graded",
        "score_percent": 100.0,
        "passed": True,
    }
    assert await quiz_totals(app, q.quiz) == (1, 1, 100.0)
    assert await quiz_figures(client, q) == {"attempts": 1, "pass_rate": 1.0, "average_score_percent": 100.0}
    # The student saw the result in the answer: no notification of their own attempt.
    assert await rows(app, Notification, Notification.user_id == q.student.user.id) == []


async def test_a_reviewed_attempt_counts_once_with_its_latest_grade(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    q = await quiz_course(app, client, *CHOICE_AND_TEXT)
    attempt = await submit_right_answers(app, client, q)
    assert (attempt.status, attempt.score_percent, attempt.passed) == ("pending_review", 25.0, None)
    await deliver_events(app)
    assert await quiz_totals(app, q.quiz) == (0, 0, 0.0)  # awaiting review: not an attempt yet

    text_question = attempt.questions[1]["id"]
    for points, expected in ((3, (1, 1, 100.0)), (1, (1, 0, 50.0))):  # graded, then re-graded
        graded = await client.post(
            f"{API}/attempts/{attempt.id}/grade", json={text_question: points}, headers=q.owner.headers
        )
        assert graded.status_code == 200, graded.text
        await deliver_events(app)
        assert await quiz_totals(app, q.quiz) == expected

    assert await quiz_figures(client, q) == {"attempts": 1, "pass_rate": 0.0, "average_score_percent": 50.0}
    recorded = await rows(app, ActivityEvent, ActivityEvent.event_type == "server.quiz_graded")
    assert sorted((r.data["status"], r.data.get("previous_status")) for r in recorded) == [
        ("graded", "graded"),
        ("graded", "pending_review"),
        ("pending_review", None),
    ]
    # Each staff grade notifies the student; the submission did not.
    notified = await rows(app, Notification, Notification.user_id == q.student.user.id)
    assert [n.type for n in notified] == ["quiz.graded", "quiz.graded"]


def test_every_recorded_domain_event_has_its_analytics_subscriber() -> None:
    expected = {
        event_types.ENROLLMENT_CREATED: handlers.record_enrollment,
        event_types.LESSON_COMPLETED: handlers.record_lesson_completion,
        event_types.COURSE_COMPLETED: handlers.record_course_completion,
        event_types.QUIZ_GRADED: handlers.record_quiz_grade,
        event_types.SUBMISSION_GRADED: handlers.record_submission_grade,
        event_types.VIDEO_WATCHED: handlers.record_video_watched,
        event_types.QUIZ_ATTEMPT_SUBMITTED: handlers.record_quiz_attempt,
    }
    for event_type, handler in expected.items():
        assert handler in SUBSCRIBERS[event_type]
