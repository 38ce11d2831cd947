"""Migration 0010 stores every existing lesson's content rendered (`lessons.content_html`)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from studyhall.catalog.rendering import render_markdown
from studyhall.core.migrate import downgrade, upgrade
from tests.servers import PostgresServer


@pytest.fixture
def fresh_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'content_html.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database(f"html_{uuid.uuid4().hex[:8]}")


def _id(value: uuid.UUID, dialect: str) -> str:
    return str(value) if dialect == "postgresql" else value.hex


async def test_existing_lessons_are_rendered_by_the_migration(fresh_url: str) -> None:
    await upgrade(fresh_url, "0009")
    engine = create_async_engine(fresh_url, poolclass=NullPool)
    user, course = uuid.uuid4(), uuid.uuid4()
    lessons = {uuid.uuid4(): f"# Lesson {n}\n\n*body* {n}\n\n<script>alert(1)</script>" for n in range(3)}
    lessons[uuid.uuid4()] = ""
    async with engine.begin() as conn:
        dialect = conn.dialect.name
        await conn.execute(
            text(
                "INSERT INTO users (id, email, full_name, role, is_active, email_verified, token_generation, "
                "created_at, updated_at) VALUES (:id, 'a@example.com', 'A', 'instructor', true, true, 0, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"id": _id(user, dialect)},
        )
        await conn.execute(
            text(
                "INSERT INTO courses (id, slug, title, description, tags, skills, level, language, "
                "duration_minutes, price_cents, currency, visibility, status, owner_id, certificate_enabled, "
                "lesson_count, enrollment_count, created_at, updated_at) "
                "VALUES (:id, 'c', 'C', '', '[]', '[]', 'beginner', 'en', 0, 0, 'USD', 'public', 'draft', "
                ":owner, false, 4, 0, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"id": _id(course, dialect), "owner": _id(user, dialect)},
        )
        for position, (lesson_id, content) in enumerate(lessons.items()):
            await conn.execute(
                text(
                    "INSERT INTO lessons (id, course_id, title, type, content, duration_minutes, is_preview, "
                    "position, version, extra, created_at, updated_at) VALUES (:id, :course, 'L', 'text', "
                    ":content, 0, false, :position, 1, '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {
                    "id": _id(lesson_id, dialect),
                    "course": _id(course, dialect),
                    "content": content,
                    "position": position,
                },
            )
    await upgrade(fresh_url)
    async with engine.connect() as conn:
        stored = {
            row.content: row.content_html
            for row in await conn.execute(text("SELECT content, content_html FROM lessons"))
        }
    assert stored == {content: render_markdown(content) for content in lessons.values()}
    assert "<script>" not in "".join(stored.values())
    assert "<em>body</em>" in stored[lessons[next(iter(lessons))]]
    await downgrade(fresh_url, "0009")
    async with engine.connect() as conn:
        columns = (await conn.execute(text("SELECT * FROM lessons"))).keys()
    assert "content_html" not in columns
    await engine.dispose()
