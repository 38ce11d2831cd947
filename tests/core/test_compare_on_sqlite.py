"""`./dev bench --compare --sqlite` runs StudyHall on an SQLite copy of the seeded PostgreSQL
data: every row, with the same ids, so the same requests and tokens serve both."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks.compare import copy_into_sqlite
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from studyhall.catalog.models import Course, Lesson
from studyhall.identity.models import AuthSession, Role, User
from tests.factories import create_course, create_user

pytestmark = pytest.mark.postgresql_only


async def selected_rows(url: str, *columns: object) -> list[tuple[object, ...]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            found = [tuple(row) for row in await conn.execute(select(*columns))]  # type: ignore[call-overload]
            return sorted(found, key=repr)
    finally:
        await engine.dispose()


async def test_the_sqlite_copy_holds_every_row_with_the_same_ids(
    app: FastAPI, database_url: str, tmp_path: Path
) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    await create_course(app, owner, lessons=3, tags=["python"])

    sqlite_url = await copy_into_sqlite(database_url, tmp_path / "copy.db")

    for columns in (
        (User.id, User.email, User.role, User.token_generation),
        (AuthSession.user_id, AuthSession.family_id, AuthSession.revoked_at),
        (Course.id, Course.slug, Course.tags, Course.lesson_count, Course.published_at),
        (Lesson.id, Lesson.course_id, Lesson.position),
    ):
        assert await selected_rows(sqlite_url, *columns) == await selected_rows(database_url, *columns)
    assert student.user.id in {row[0] for row in await selected_rows(sqlite_url, User.id)}
