"""`studyhall seed-demo`: a believable school, created through the services, idempotent."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.assessment.models import (
    Assignment,
    AttemptStatus,
    QuestionType,
    Quiz,
    QuizAttempt,
    Submission,
    SubmissionStatus,
)
from studyhall.catalog.models import Course, CourseStatus, Lesson, LessonType, Module, Visibility
from studyhall.cli import _print_demo as print_demo_report
from studyhall.config import Settings
from studyhall.core.events import OutboxEvent
from studyhall.core.security import PasswordHasher
from studyhall.demo import DEMO_PASSWORD, seed_demo
from studyhall.demo_content import READING_TYPES, load_school
from studyhall.identity.models import Role, User
from studyhall.learning.models import Enrollment, EnrollmentStatus, LessonCompletion
from studyhall.models import metadata
from tests.conftest import apps_on, client_of, database_of_its_own
from tests.factories import API, assert_problem, create_user

DEMO_INSTRUCTOR = "maya@demo.studyhall.dev"
#: What the old generated demo looked like: "Text lesson 1", "Part 2", "A intermediate course".
PLACEHOLDERS = re.compile(
    r"lesson \d+$|^part \d+$|\ba (intermediate|advanced)\b|key idea \d|hello, studyhall", re.IGNORECASE
)


def fence_languages(markdown: str) -> Iterator[str]:
    """The info string of every fenced code block (opening fences only)."""
    inside = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            if not inside:
                yield line[3:].strip()
            inside = not inside


def word_count(markdown: str) -> int:
    return len(re.findall(r"[^\W\d_]+", markdown))


async def row_counts(app: FastAPI) -> dict[str, int]:
    async with app.state.database.sessionmaker() as session:
        return {
            table.name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for table in metadata.sorted_tables
        }


# -- the content, without a database ---------------------------------------------------------


def test_demo_content_is_real_teaching_material() -> None:
    school = load_school()
    courses = school.courses
    assert len(courses) >= 12
    assert len({c.catalog.category for c in courses}) >= 6
    assert len({c.catalog.language for c in courses}) >= 2
    assert {c.status for c in courses} == set(CourseStatus)
    assert any(c.catalog.visibility == Visibility.ORGANIZATION for c in courses)
    assert sum(c.catalog.price_cents > 0 for c in courses) == 1
    for course in courses:
        assert {q.type for q in course.quiz.questions} == set(QuestionType), course.key
        assert course.assignment.instructions.strip() and course.assignment.max_points > 0
        for module in course.modules:
            assert not PLACEHOLDERS.search(module.title), module.title
        for lesson in course.lessons:
            assert not PLACEHOLDERS.search(lesson.title), lesson.title
            if lesson.type in READING_TYPES:
                # Several paragraphs to read; a file lesson is a shorter reference sheet.
                minimum = 150 if lesson.type == LessonType.FILE else 250
                assert word_count(lesson.content) >= minimum, (course.key, lesson.title)
                assert "\n## " in lesson.content, (course.key, lesson.title)

    sql = next(c for c in courses if c.catalog.title == "SQL Fundamentals")
    languages = [lang for lesson in sql.lessons for lang in fence_languages(lesson.content)]
    assert len(languages) >= 8
    assert set(languages) == {"sql"}


# -- seeded through the services -------------------------------------------------------------


async def test_seed_demo_is_complete_and_idempotent(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings: Settings = app.state.settings
    hashes: list[str] = []
    real_hash = PasswordHasher.hash

    async def counting_hash(self: PasswordHasher, password: str) -> str:
        hashes.append(password)
        return await real_hash(self, password)

    monkeypatch.setattr(PasswordHasher, "hash", counting_hash)

    first = await seed_demo(settings)
    assert first is not None
    assert first.created["courses"] == len(load_school().courses) >= 12
    assert first.created["users"] == len(first.logins) >= 13
    assert {role for _, role, _ in first.logins} == {"admin", "principal", "instructor", "student"}
    assert hashes == [DEMO_PASSWORD]  # one hash, shared by every demo account
    assert first.skipped == []
    assert first.created["enrollments"] == len(load_school().journeys)
    counts = await row_counts(app)

    second = await seed_demo(settings)
    assert second is not None
    assert second.created == {}
    assert await row_counts(app) == counts
    assert hashes == [DEMO_PASSWORD]
    assert await seed_demo(settings, only_if_empty=True) is None

    async with app.state.database.sessionmaker() as session:
        courses = (await session.scalars(select(Course))).all()
        assert len(courses) >= 12
        assert {c.status for c in courses} == {"draft", "published", "archived"}
        assert any(c.visibility == Visibility.ORGANIZATION for c in courses)
        assert any(c.price_cents > 0 for c in courses)
        for course in courses:
            await _assert_course_is_complete(session, course)

        titles = (await session.scalars(select(Lesson.title))).all()
        titles += (await session.scalars(select(Module.title))).all()
        titles += [c.subtitle or "" for c in courses]
        assert not [title for title in titles if PLACEHOLDERS.search(title)]

        sql = next(c for c in courses if c.title == "SQL Fundamentals")
        contents = (await session.scalars(select(Lesson.content).where(Lesson.course_id == sql.id))).all()
        assert {lang for content in contents for lang in fence_languages(content)} == {"sql"}

        await _assert_students_at_every_stage(session)

        user = await session.scalar(select(User).where(User.email == "sam@demo.studyhall.dev"))
        assert user is not None
        ok, _ = await app.state.passwords.verify(DEMO_PASSWORD, user.password_hash)
        assert ok

    catalog = (await client.get(f"{API}/courses", params={"limit": 100})).json()
    listed = {c["title"] for c in catalog["items"]}
    hidden = {c.title for c in courses if c.status != "published" or c.visibility != Visibility.PUBLIC}
    assert catalog["total"] == len(courses) - len(hidden) >= 9
    assert not listed & hidden
    assert len({c["category"] for c in catalog["items"]}) >= 5
    assert {c["level"] for c in catalog["items"]} == {"beginner", "intermediate", "advanced"}


async def _assert_course_is_complete(session: AsyncSession, course: Course) -> None:
    """Modules, Markdown lessons, a quiz with every question type, an assignment with a due
    date linked to its lesson, and exact counters."""
    lessons = (
        await session.scalars(select(Lesson).where(Lesson.course_id == course.id).order_by(Lesson.position))
    ).all()
    assert course.lesson_count == len(lessons) >= 5
    assert all(lesson.module_id is not None for lesson in lessons)
    quiz = await session.scalar(select(Quiz).where(Quiz.course_id == course.id))
    assert quiz is not None
    assert {q["type"] for q in quiz.questions} == set(QuestionType)
    quiz_lesson = next(lesson for lesson in lessons if lesson.id == quiz.lesson_id)
    assert quiz_lesson.type == LessonType.QUIZ
    assignment = await session.scalar(select(Assignment).where(Assignment.course_id == course.id))
    assert assignment is not None
    assert assignment.due_at is not None and len(assignment.instructions) > 200
    assignment_lesson = next(lesson for lesson in lessons if lesson.id == assignment.lesson_id)
    assert assignment_lesson.type == LessonType.ASSIGNMENT
    active = await session.scalar(
        select(func.count())
        .select_from(Enrollment)
        .where(Enrollment.course_id == course.id, Enrollment.status == EnrollmentStatus.ACTIVE)
    )
    assert course.enrollment_count == active


async def _assert_students_at_every_stage(session: AsyncSession) -> None:
    # Partial progress and completed courses, completions counted by the learning service.
    enrollments = (await session.scalars(select(Enrollment))).all()
    completed = [e for e in enrollments if e.completed_at is not None]
    assert completed and len(completed) < len(enrollments)
    for enrollment in completed:
        done = await session.scalar(
            select(func.count())
            .select_from(LessonCompletion)
            .where(
                LessonCompletion.user_id == enrollment.user_id,
                LessonCompletion.course_id == enrollment.course_id,
            )
        )
        course = await session.get(Course, enrollment.course_id)
        assert course is not None and done == course.lesson_count
    events = await session.scalar(
        select(func.count()).select_from(OutboxEvent).where(OutboxEvent.event_type == "course.completed")
    )
    assert events == len(completed)
    assert len({e.user_id for e in enrollments}) >= 8
    assert min(e.enrolled_at for e in enrollments) < max(e.enrolled_at for e in enrollments)

    # Quiz attempts: passed, failed, and written answers waiting for review.
    attempts = (await session.scalars(select(QuizAttempt))).all()
    graded = [a for a in attempts if a.status == AttemptStatus.GRADED]
    assert any(a.passed for a in graded) and any(a.passed is False for a in graded)
    pending = [a for a in attempts if a.status == AttemptStatus.PENDING_REVIEW]
    assert pending and all(a.passed is None for a in pending)

    # Submissions: graded with feedback, and waiting for grading.
    submissions = (await session.scalars(select(Submission))).all()
    marked = [s for s in submissions if s.status == SubmissionStatus.GRADED]
    assert marked and all(s.points is not None and s.feedback and s.grader_id for s in marked)
    assert any(s.status == SubmissionStatus.SUBMITTED and s.points is None for s in submissions)


@dataclass
class SeededDemo:
    app: FastAPI
    client: httpx.AsyncClient


@pytest.fixture(scope="module")
async def seeded_demo(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[SeededDemo]:
    """The demo seeded once per backend, on a database of the module's own, for the tests that
    only read it and sign in (seeding takes seconds)."""
    directory = tmp_path_factory.mktemp("demo")
    database_url = await database_of_its_own(request, backend, directory)
    async with apps_on(database_url, directory) as make_app:
        app = await make_app()
        await seed_demo(app.state.settings)
        async with client_of(app) as client:
            yield SeededDemo(app, client)


async def test_the_demo_instructor_sees_a_full_gradebook(seeded_demo: SeededDemo) -> None:
    app, client = seeded_demo.app, seeded_demo.client
    login = await client.post(f"{API}/auth/login", json={"email": DEMO_INSTRUCTOR, "password": DEMO_PASSWORD})
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    async with app.state.database.sessionmaker() as session:
        instructor = await session.scalar(select(User).where(User.email == DEMO_INSTRUCTOR))
        assert instructor is not None
        taught = (
            await session.scalars(
                select(Course).where(Course.owner_id == instructor.id, Course.status == "published")
            )
        ).all()
        assert len(taught) >= 3
        expected = {course.id: await _expected_scores(session, course.id) for course in taught}

    for course in taught:
        response = await client.get(f"{API}/courses/{course.id}/gradebook", headers=headers)
        assert response.status_code == 200, response.text
        book = response.json()
        assert [item["kind"] for item in book["items"]] == ["quiz", "assignment"]
        assert len(book["students"]) == course.enrollment_count >= 3
        scores = {uuid.UUID(row["user_id"]): row["scores"] for row in book["students"]}
        assert scores == expected[course.id]
        assert sum(quiz is not None for quiz, _ in scores.values()) >= 1
        assert sum(work is not None for _, work in scores.values()) >= 1

    sql = next(course for course in taught if course.title == "SQL Fundamentals")
    full_rows = [row for row in expected[sql.id].values() if None not in row]
    assert len(full_rows) >= 2

    # A student of the same course may not read it.
    student = await client.post(
        f"{API}/auth/login", json={"email": "sam@demo.studyhall.dev", "password": DEMO_PASSWORD}
    )
    denied = await client.get(
        f"{API}/courses/{sql.id}/gradebook",
        headers={"Authorization": f"Bearer {student.json()['access_token']}"},
    )
    assert_problem(denied, 403, "not_course_staff")


async def _expected_scores(
    session: AsyncSession, course_id: uuid.UUID
) -> dict[uuid.UUID, list[float | None]]:
    """Per active student: [best graded quiz score, graded assignment points], from the rows."""
    students = (
        await session.scalars(
            select(Enrollment.user_id).where(
                Enrollment.course_id == course_id, Enrollment.status == EnrollmentStatus.ACTIVE
            )
        )
    ).all()
    best = dict(
        (
            await session.execute(
                select(QuizAttempt.user_id, func.max(QuizAttempt.score_percent))
                .where(QuizAttempt.course_id == course_id, QuizAttempt.status == AttemptStatus.GRADED)
                .group_by(QuizAttempt.user_id)
            )
        ).all()
    )
    points = dict(
        (
            await session.execute(
                select(Submission.user_id, Submission.points).where(
                    Submission.course_id == course_id, Submission.status == SubmissionStatus.GRADED
                )
            )
        ).all()
    )
    return {student: [best.get(student), points.get(student)] for student in students}


async def test_a_journey_the_services_refuse_is_rolled_back_and_reported(
    app: FastAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    # An account left from an earlier demo: same address, not a member of the demo school.
    old = await create_user(app, Role.STUDENT, email="olivia@demo.studyhall.dev", full_name="Olivia Old")
    school = load_school()

    report = await seed_demo(app.state.settings)

    assert report is not None
    assert report.skipped == ["olivia in data-protection-essentials: course_not_found"]
    assert report.created["users"] == len(school.people) - 1
    assert report.created["enrollments"] == len(school.journeys) - 1
    print_demo_report(report)
    printed = capsys.readouterr().err
    assert "skipped the journey of olivia in data-protection-essentials: course_not_found" in printed
    assert "student     olivia@demo.studyhall.dev" in printed
    async with app.state.database.sessionmaker() as session:
        members_only = await session.scalar(
            select(Course).where(Course.visibility == Visibility.ORGANIZATION)
        )
        assert members_only is not None
        rows = (
            await session.execute(select(Enrollment.course_id).where(Enrollment.user_id == old.user.id))
        ).all()
        taken = {course_id for (course_id,) in rows}
        assert members_only.id not in taken
        assert len(taken) == sum(j.student == "olivia" for j in school.journeys) - 1
        for model in (QuizAttempt, Submission, LessonCompletion):
            leftovers = await session.scalar(
                select(func.count())
                .select_from(model)
                .where(model.user_id == old.user.id, model.course_id == members_only.id)
            )
            assert leftovers == 0, model
        active = await session.scalar(
            select(func.count()).select_from(Enrollment).where(Enrollment.course_id == members_only.id)
        )
        assert members_only.enrollment_count == active == 3


@pytest.mark.parametrize(
    ("environment", "database_url", "seed", "expected"),
    [
        ("development", "sqlite:///x.db", "auto", True),
        ("development", "postgresql://u@h/db", "auto", False),
        ("test", "sqlite:///x.db", "auto", False),
        ("test", "postgresql://u@h/db", "true", True),
        ("development", "sqlite:///x.db", "false", False),
    ],
)
def test_serve_seeds_the_demo_only_when_asked(
    environment: str, database_url: str, seed: str, expected: bool
) -> None:
    settings = Settings(
        environment=environment,  # type: ignore[arg-type]
        database_url=database_url,
        seed_demo=seed,  # type: ignore[arg-type]
        secret_key="x" * 40,
    )
    assert settings.may_seed_demo is expected


async def test_demo_lessons_play_their_videos_and_download_their_materials(seeded_demo: SeededDemo) -> None:
    app, client = seeded_demo.app, seeded_demo.client
    async with app.state.database.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Lesson.id, Lesson.type, User.email)
                .join(Course, Course.id == Lesson.course_id)
                .join(User, User.id == Course.owner_id)
                .where(Lesson.type.in_([LessonType.VIDEO, LessonType.FILE]))
            )
        ).all()
    assert sorted(str(kind) for _, kind, _ in rows).count("video") >= 4
    assert sorted(str(kind) for _, kind, _ in rows).count("file") >= 2

    for lesson_id, kind, owner_email in rows:
        login = await client.post(f"{API}/auth/login", json={"email": owner_email, "password": DEMO_PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        lesson = (await client.get(f"{API}/lessons/{lesson_id}", headers=headers)).json()
        if kind == LessonType.VIDEO:
            assert lesson["video"]["provider"] == "local"
            assert lesson["video"]["status"] == "ready"
            assert 14 < lesson["video"]["duration_seconds"] < 16  # read from the MP4 header
            playback = await client.get(f"{API}/lessons/{lesson_id}/playback", headers=headers)
            assert playback.status_code == 200, playback.text
            head = await _fetch(client, playback.json()["playback_url"], Range="bytes=0-11")
            assert head.status_code == 206
            assert head.content[4:8] == b"ftyp"  # an MP4 a browser plays
        else:
            assert lesson["file"]["content_type"] == "application/pdf"
            assert lesson["file"]["filename"].endswith(".pdf")
            download = await _fetch(client, lesson["file"]["download_url"])
            assert download.status_code == 200
            assert download.content.startswith(b"%PDF-")
            assert len(download.content) == lesson["file"]["size_bytes"]


async def _fetch(client: httpx.AsyncClient, url: str, **headers: str) -> httpx.Response:
    """A signed storage URL, served by this app (its host is PUBLIC_URL's)."""
    parts = httpx.URL(url)
    return await client.get(parts.raw_path.decode(), headers=headers)
