"""A small organisation with a course of known activity, for the insights tests.

Day 0 is two days after today, at 10:00 UTC (the clock is set there, so no step crosses
midnight by accident). Course "Data Science" (organisation Acme, owner Olga, co-instructor
Ivan): a 10-minute text lesson, a video lesson of 200 s and a quiz lesson (two questions,
pass at 60 %). Ivan also owns "Statistics" (one lesson) in the same organisation.

End to end: the domain actions go through the API, and the server records they cause
(`server.enrolled`, `server.lesson_completed`, `server.video_watched`, `server.quiz_graded`,
`server.course_completed`) are stored and folded by the analytics handlers when the outbox
delivers their events. Only what clients report (`lesson.viewed`, `page.viewed`) is folded
by hand (`client_records`), as ingestion would have stored it.

By day:

- day -20: Eve views the text lesson (she never enrolls).
- day 0: Ann and Ben enroll.
- day 1: Cid enrolls; Ben views and completes the text lesson; Cid views it.
- day 2: Ann views and completes the text lesson, and watches the video: 150 s from the
  start, then seeks back to 100 s and watches to the end (heartbeats at 0, 150, 100 and
  200 s: 150 + 100 s watched), which completes it; Ben enrolls in Statistics.
- day 3: Ann fails the quiz (50 %), then passes it (100 %): two graded attempts, the quiz
  lesson and the course completed, the certificate issued; a page view and a view of an
  unknown lesson count nowhere.
- day 4: Ben watches 50 s of the video (heartbeats at 0 and 50 s). The clock stays on day 4.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from studyhall.analytics import records as types
from studyhall.assessment.models import Quiz, QuizAttempt
from studyhall.catalog.models import Course, CourseInstructor, Lesson
from studyhall.identity.models import Organization, Role
from tests.factories import (
    API,
    Actor,
    FakeClock,
    activity,
    apply_activity,
    complete,
    complete_enrollment_directly,
    create_assignment,
    create_course,
    create_lesson,
    create_lesson_video,
    create_organization,
    create_quiz,
    create_user,
    deliver_events,
    enroll,
    enroll_directly,
    fresh_row,
    heartbeat,
    right_answers,
)

TWO_QUESTIONS = (
    {
        "type": "single_choice",
        "text": "2 + 2?",
        "points": 1,
        "options": [{"text": "3"}, {"text": "4", "is_correct": True}],
    },
    {
        "type": "single_choice",
        "text": "3 + 3?",
        "points": 1,
        "options": [{"text": "6", "is_correct": True}, {"text": "7"}],
    },
)


@dataclass
class KnownCourse:
    day0: datetime
    organization: Organization
    owner: Actor
    co_instructor: Actor
    ann: Actor
    ben: Actor
    cid: Actor
    eve: Actor
    course: Course
    statistics: Course
    text: Lesson
    video: Lesson
    quiz_lesson: Lesson
    quiz: Quiz

    def at(self, day: int, hour: int = 10, minute: int = 0) -> datetime:
        return self.day0 + timedelta(days=day, hours=hour - 10, minutes=minute)

    def date(self, day: int) -> str:
        return self.at(day).date().isoformat()


async def take_quiz(
    client: httpx.AsyncClient, app: FastAPI, student: Actor, quiz: Quiz, *, right: int
) -> None:
    """An attempt answering the first `right` questions correctly and the others wrongly."""
    started = await client.post(f"{API}/quizzes/{quiz.id}/attempts", headers=student.headers)
    assert started.status_code == 201, started.text
    attempt = await fresh_row(app, QuizAttempt, started.json()["id"])
    correct = right_answers(attempt)
    answers: dict[str, Any] = {}
    for index, question in enumerate(attempt.questions):
        wrong = [o["id"] for o in question["options"] if not o["is_correct"]][:1]
        answers[question["id"]] = correct[question["id"]] if index < right else wrong
    submitted = await client.post(
        f"{API}/attempts/{attempt.id}/submit", json={"answers": answers}, headers=student.headers
    )
    assert submitted.status_code == 200, submitted.text


@pytest.fixture
async def known(app: FastAPI, client: httpx.AsyncClient, clock: FakeClock) -> KnownCourse:
    day0 = (clock.now + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    clock.now = day0
    acme = await create_organization(app, "Acme")
    owner = await create_user(app, Role.INSTRUCTOR, full_name="Olga Owner", organization=acme)
    co_instructor = await create_user(app, Role.INSTRUCTOR, full_name="Ivan Instructor", organization=acme)
    ann = await create_user(app, full_name="Ann Learner", organization=acme)
    ben = await create_user(app, full_name="Ben Learner", organization=acme)
    cid = await create_user(app, full_name="Cid Learner")
    eve = await create_user(app, full_name="Eve Visitor")
    course = await create_course(
        app, owner, title="Data Science", organization=acme, certificate_enabled=True, tags=["Python", "Data"]
    )
    text = await create_lesson(app, course, duration_minutes=10)
    video = await create_lesson(app, course, lesson_type="video", duration_minutes=3)
    quiz_lesson = await create_lesson(app, course, lesson_type="quiz")
    await create_lesson_video(app, video, status="ready", duration_seconds=200.0)
    quiz = await create_quiz(app, quiz_lesson, *TWO_QUESTIONS, passing_score=60)
    statistics = await create_course(app, co_instructor, title="Statistics", organization=acme, lessons=1)
    async with app.state.database.sessionmaker() as session, session.begin():
        session.add(CourseInstructor(course_id=course.id, user_id=co_instructor.user.id))
    known = KnownCourse(
        day0,
        acme,
        owner,
        co_instructor,
        ann,
        ben,
        cid,
        eve,
        course,
        statistics,
        text,
        video,
        quiz_lesson,
        quiz,
    )
    await enroll(client, ann, course)
    await enroll(client, ben, course)
    clock.now = known.at(1)
    await enroll(client, cid, course)
    assert (await complete(client, ben, text)).status_code == 200
    clock.now = known.at(2)
    assert (await complete(client, ann, text)).status_code == 200
    await enroll(client, ben, statistics)
    await watch(client, clock, ann, video, [(known.at(2, 12), 0), (known.at(2, 12, 5), 150)])
    await watch(client, clock, ann, video, [(known.at(2, 12, 6), 100), (known.at(2, 13), 200)])
    clock.now = known.at(3)
    await take_quiz(client, app, ann, quiz, right=1)
    await take_quiz(client, app, ann, quiz, right=2)
    await deliver_events(app)  # the server records so far; the certificate, issued on day 3
    await watch(client, clock, ben, video, [(known.at(4), 0), (known.at(4, 10, 1), 50)])
    await deliver_events(app)
    clock.now = known.at(4)
    await apply_activity(app, client_records(known))
    return known


async def watch(
    client: httpx.AsyncClient,
    clock: FakeClock,
    student: Actor,
    video: Lesson,
    beats: list[tuple[datetime, float]],
) -> None:
    """Video heartbeats through the API, each at its time."""
    for at, position in beats:
        clock.now = at
        await heartbeat(client, student, video.id, position, duration_seconds=200.0)


def client_records(k: KnownCourse) -> list[Any]:
    """What clients report of the story (no domain action records it)."""
    c = k.course
    return [
        activity(types.LESSON_VIEWED, k.eve, k.at(-20), lesson=k.text, course_id=str(c.id)),
        activity(types.LESSON_VIEWED, k.ben, k.at(1), lesson=k.text),
        activity(types.LESSON_VIEWED, k.cid, k.at(1, 12), course_id=str(c.id), lesson_id=str(k.text.id)),
        activity(types.LESSON_VIEWED, k.ann, k.at(2), lesson=k.text),
        activity(types.PAGE_VIEWED, k.ann, k.at(3, 12), path="/courses"),
        activity(types.LESSON_VIEWED, k.ann, k.at(3, 12), lesson_id="00000000-0000-4000-8000-000000000000"),
    ]


async def graded_course(
    app: FastAPI, client: httpx.AsyncClient, k: KnownCourse, title: str, points: float, **fields: object
) -> str:
    """A course of Olga's that Ann completed on day 5, with one assignment graded `points` / 10."""
    course = await create_course(app, k.owner, title=title, **fields)
    await enroll_directly(app, k.ann, course)
    assignment = await create_assignment(app, course, k.owner)
    submitted = await client.post(
        f"{API}/assignments/{assignment.id}/submissions", json={"text": "Mine."}, headers=k.ann.headers
    )
    assert submitted.status_code == 201, submitted.text
    graded = await client.post(
        f"{API}/submissions/{submitted.json()['id']}/grade",
        json={"points": points, "feedback": "ok"},
        headers=k.owner.headers,
    )
    assert graded.status_code == 200, graded.text
    await complete_enrollment_directly(app, k.ann, course, k.at(5))
    return str(course.id)
