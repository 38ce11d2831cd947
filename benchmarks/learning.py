"""Learning benchmark data: one published course with 10,000 enrolled students.

Seeded with bulk inserts straight into the database; access tokens are minted with the
benchmark server's secret, so no login round-trips are measured.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from benchmarks.sessions import mint_token, session_rows
from studyhall import demo_content
from studyhall.catalog.models import Course, Lesson
from studyhall.catalog.rendering import render_markdown
from studyhall.config import Settings
from studyhall.core.clock import utcnow
from studyhall.core.security import security_from_settings
from studyhall.identity.models import AuthSession, User
from studyhall.learning.models import Enrollment

if TYPE_CHECKING:
    from benchmarks.run import Scenario

BENCH_SECRET = "benchmark-secret-key-0123456789abcdef-0123456789"  # noqa: S105 (throwaway server)
API = "/api/v1"
#: A real lesson page (about 2 KB of Markdown, from the demo school) as every lesson's content.
LESSON_MARKDOWN = (
    Path(demo_content.__file__).parent / "statistics-without-tears" / "averages-and-spread.md"
).read_text()


@dataclass(frozen=True)
class LearningSeed:
    course_id: uuid.UUID
    lesson_ids: list[uuid.UUID]
    video_lesson_id: uuid.UUID
    student_tokens: list[str]
    staff_token: str


async def seed_learning(
    url: str, *, enrollments: int = 10_000, lessons: int = 20, token_users: int = 500
) -> LearningSeed:
    """A course with `lessons` lessons (the first a video) and `enrollments` students."""
    settings = Settings(environment="production", secret_key=BENCH_SECRET, database_url=url)
    _, codec = security_from_settings(settings)
    engine = create_async_engine(settings.database_url)
    owner_id, course_id = uuid.uuid4(), uuid.uuid4()
    student_ids = [uuid.uuid4() for _ in range(enrollments)]
    lesson_ids = [uuid.uuid4() for _ in range(lessons)]
    now = utcnow()
    try:
        async with async_sessionmaker(engine)() as session, session.begin():
            await session.execute(
                insert(User),
                [{"id": owner_id, "email": "owner@bench.example", "full_name": "Owner", "role": "instructor"}]
                + [
                    {
                        "id": sid,
                        "email": f"s{n}@bench.example",
                        "full_name": f"Student {n}",
                        "role": "student",
                    }
                    for n, sid in enumerate(student_ids)
                ],
            )
            await session.execute(
                insert(Course),
                [
                    {
                        "id": course_id,
                        "slug": "bench-course",
                        "title": "Benchmark course",
                        "owner_id": owner_id,
                        "status": "published",
                        "published_at": now,
                        "lesson_count": lessons,
                        "enrollment_count": enrollments,
                    }
                ],
            )
            await session.execute(
                insert(Lesson),
                [
                    {
                        "id": lid,
                        "course_id": course_id,
                        "title": f"Lesson {n + 1}",
                        "type": "video" if n == 0 else "text",
                        "position": n,
                        "content": LESSON_MARKDOWN,
                        "content_html": render_markdown(LESSON_MARKDOWN),
                    }
                    for n, lid in enumerate(lesson_ids)
                ],
            )
            await session.execute(
                insert(Enrollment),
                [{"user_id": sid, "course_id": course_id, "enrolled_at": now} for sid in student_ids],
            )
            await session.execute(insert(AuthSession), session_rows([owner_id, *student_ids]))
    finally:
        await engine.dispose()

    return LearningSeed(
        course_id=course_id,
        lesson_ids=lesson_ids,
        video_lesson_id=lesson_ids[0],
        student_tokens=[mint_token(codec, sid, "student") for sid in student_ids[:token_users]],
        staff_token=mint_token(codec, owner_id, "instructor"),
    )


def learning_scenarios(seed: LearningSeed) -> list[Scenario]:
    from benchmarks.run import Scenario

    def auth(token: str) -> tuple[tuple[str, str], ...]:
        return (("Authorization", f"Bearer {token}"),)

    students = seed.student_tokens
    # Each student completes text lessons in turn: first passes insert, later ones are
    # idempotent repeats; every request locks its own enrollment row and counts.
    complete = tuple(
        (f"{API}/lessons/{seed.lesson_ids[1 + round_ % (len(seed.lesson_ids) - 1)]}/complete", auth(t), None)
        for round_ in range(4)
        for t in students
    )
    heartbeat = tuple(
        (
            f"{API}/lessons/{seed.video_lesson_id}/position",
            auth(t),
            {"position_seconds": 30 + n % 400, "duration_seconds": 600},
        )
        for n, t in enumerate(students)
    )
    return [
        Scenario("lesson_complete", "POST", "", variants=complete),
        Scenario("video_heartbeat", "PUT", "", variants=heartbeat),
        Scenario(
            "course_roster_page",
            "GET",
            f"{API}/courses/{seed.course_id}/enrollments?limit=100&offset=5000",
            headers=auth(seed.staff_token),
        ),
    ]
