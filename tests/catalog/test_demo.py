"""`studyhall seed-demo`: a full demo, idempotent, consistent counters."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from studyhall.catalog.models import Course, Lesson
from studyhall.config import Settings
from studyhall.demo import DEMO_PASSWORD, seed_demo
from studyhall.identity.models import User
from studyhall.learning.models import Enrollment, LessonCompletion

API = "/api/v1"


async def row_counts(app: FastAPI) -> dict[str, int]:
    async with app.state.database.sessionmaker() as session:
        return {
            model.__tablename__: int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (User, Course, Lesson, Enrollment, LessonCompletion)
        }


async def test_seed_demo_is_complete_and_idempotent(app: FastAPI, client: httpx.AsyncClient) -> None:
    settings: Settings = app.state.settings
    first = await seed_demo(settings)
    assert first is not None
    assert first.created["courses"] >= 12
    assert {role for _, role, _ in first.logins} == {"admin", "principal", "instructor", "student"}
    counts = await row_counts(app)
    assert counts["enrollments"] > 0
    assert counts["lesson_completions"] > 0

    second = await seed_demo(settings)
    assert second is not None
    assert second.created == {}
    assert await row_counts(app) == counts
    assert await seed_demo(settings, only_if_empty=True) is None

    catalog = (await client.get(f"{API}/courses", params={"limit": 100})).json()
    assert catalog["total"] >= 12
    assert len({c["category"] for c in catalog["items"]}) >= 5
    assert {c["level"] for c in catalog["items"]} == {"beginner", "intermediate", "advanced"}
    async with app.state.database.sessionmaker() as session:
        types = set((await session.scalars(select(Lesson.type))).all())
        assert types == {"text", "video", "file", "quiz", "assignment"}
        for course in (await session.scalars(select(Course))).all():
            enrolled = await session.scalar(
                select(func.count()).select_from(Enrollment).where(Enrollment.course_id == course.id)
            )
            assert course.enrollment_count == enrolled
            assert course.lesson_count == 5
        user = await session.scalar(select(User).where(User.email == "sam@demo.studyhall.dev"))
        assert user is not None
        ok, _ = await app.state.passwords.verify(DEMO_PASSWORD, user.password_hash)
        assert ok


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
