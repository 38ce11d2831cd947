"""The raw reference: StudyHall's hot endpoints on Starlette + asyncpg + orjson, nothing else.

It answers the same paths with the same response fields as StudyHall and makes the same
decisions (a valid, unexpired token of a live session of an active user; course visibility;
enrollment), issuing the SQL a hand-tuned implementation would. `./dev bench --compare` runs
it and StudyHall one after the other against the same seeded PostgreSQL; the ratio of their
throughputs is the figure that counts, since both share this noisy machine.

    DATABASE_URL=postgresql://... SECRET_KEY=... uvicorn benchmarks.reference:app

Only what the benchmark scenarios exercise is implemented: `GET /api/v1/auth/me`,
`GET /api/v1/courses` (page, `level`, `tag`, `q` not supported: a 501 says so),
`GET /api/v1/courses/{id_or_slug}`, `GET /api/v1/lessons/{id}`,
`POST /api/v1/lessons/{id}/complete`, `PUT /api/v1/lessons/{id}/position`.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from studyhall.core.security import InvalidToken, TokenCodec

VIDEO_COMPLETION_RATIO = 0.9
ACTIVITY_RESOLUTION = timedelta(seconds=60)
DEFAULT_LIMIT, MAX_LIMIT = 20, 100

#: A course card with its co-instructors aggregated in the same statement, as StudyHall reads it.
COURSE_COLUMNS = (
    "c.id, c.slug, c.title, c.subtitle, c.description, c.category, c.tags, c.level, c.language, "
    "c.duration_minutes, c.price_cents, c.currency, c.visibility, c.status, c.organization_id, "
    "c.owner_id, c.skills, c.certificate_enabled, c.created_at, c.updated_at, c.published_at, "
    "c.lesson_count, c.enrollment_count, "
    "array((SELECT ci.user_id FROM course_instructors ci WHERE ci.course_id = c.id "
    "ORDER BY ci.added_at, ci.user_id)) AS instructor_ids"
)
SORTS = {
    "newest": "c.published_at DESC, c.id DESC",
    "title": "c.title, c.id",
    "popular": "c.enrollment_count DESC, c.id DESC",
}


class Problem(Exception):
    def __init__(self, status: int, code: str) -> None:
        self.status, self.code = status, code


@dataclass(frozen=True, slots=True)
class Caller:
    id: uuid.UUID
    role: str
    organization_id: uuid.UUID | None
    row: asyncpg.Record


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _problem(error: Problem) -> Response:
    body = {"type": f"/docs/errors#{error.code}", "title": error.code, "status": error.status}
    return Response(
        orjson.dumps({**body, "detail": error.code, "code": error.code}),
        status_code=error.status,
        media_type="application/problem+json",
    )


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value is not None else None


def _uuid(value: str, not_found: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Problem(404, not_found) from None


# -- authentication: one query for the user and their session ------------------------------

USER_AND_SESSION = """
SELECT u.email, u.password_hash, u.full_name, u.bio, u.avatar_file_id, u.role, u.organization_id,
       u.is_active, u.email_verified, u.token_generation, u.last_login_at, u.id, u.created_at,
       u.updated_at, u.deleted_at, u.deletion_id,
       EXISTS (SELECT 1 FROM auth_sessions s
               WHERE s.user_id = u.id AND s.family_id = $2 AND s.revoked_at IS NULL) AS session_live
FROM users u WHERE u.id = $1
"""


async def caller(request: Request, *, required: bool) -> Caller | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        if required:
            raise Problem(401, "not_authenticated")
        return None
    codec: TokenCodec = request.app.state.codec
    try:
        claims = codec.decode(header[7:])
        user_id, session_id = uuid.UUID(str(claims["sub"])), uuid.UUID(str(claims["sid"]))
    except (InvalidToken, KeyError, ValueError):
        raise Problem(401, "invalid_token") from None
    row = await request.app.state.pool.fetchrow(USER_AND_SESSION, user_id, session_id)
    if row is None or row["deleted_at"] is not None or not row["is_active"]:
        raise Problem(401, "invalid_token")
    if not row["session_live"]:
        raise Problem(401, "session_revoked")
    if row["token_generation"] != claims.get("gen"):
        raise Problem(401, "invalid_token")
    return Caller(row["id"], row["role"], row["organization_id"], row)


async def me(request: Request) -> Response:
    user = await caller(request, required=True)
    assert user is not None
    row = user.row
    return _json(
        {
            "id": str(row["id"]),
            "email": row["email"],
            "full_name": row["full_name"],
            "bio": row["bio"],
            "avatar_file_id": str(row["avatar_file_id"]) if row["avatar_file_id"] else None,
            "role": row["role"],
            "organization_id": str(row["organization_id"]) if row["organization_id"] else None,
            "email_verified": row["email_verified"],
            "is_active": row["is_active"],
            "created_at": _iso(row["created_at"]),
            "updated_at": _iso(row["updated_at"]),
            "last_login_at": _iso(row["last_login_at"]),
            "deleted_at": _iso(row["deleted_at"]),
        }
    )


# -- courses -----------------------------------------------------------------------------


def _is_staff(user: Caller | None, course: Any, instructor_ids: list[uuid.UUID]) -> bool:
    if user is None:
        return False
    principal = user.role == "principal" and course["organization_id"] == user.organization_id
    return user.role == "admin" or user.id == course["owner_id"] or user.id in instructor_ids or principal


def _is_listed(user: Caller | None, course: Any) -> bool:
    if course["status"] != "published":
        return False
    if course["visibility"] == "public":
        return True
    return user is not None and (
        user.role == "admin"
        or (course["organization_id"] is not None and user.organization_id == course["organization_id"])
    )


def _course_card(course: asyncpg.Record, progress: tuple[int, int] | None) -> dict[str, Any]:
    card = {key: course[key] for key in course.keys() if key != "total"}  # noqa: SIM118 (Record is not a Mapping)
    for key in ("id", "owner_id", "organization_id"):
        card[key] = str(card[key]) if card[key] is not None else None
    for key in ("tags", "skills"):
        card[key] = json.loads(card[key]) if isinstance(card[key], str) else card[key]
    for key in ("created_at", "updated_at", "published_at"):
        card[key] = _iso(card[key])
    card["instructor_ids"] = [str(i) for i in course["instructor_ids"]]
    card["is_enrolled"] = progress is not None
    card["progress_percent"] = _percent(progress)
    return card


def _percent(progress: tuple[int, int] | None) -> float | None:
    """(done, total) as StudyHall shows it; None when not enrolled."""
    if progress is None:
        return None
    return round(100 * min(progress[0], progress[1]) / progress[1], 2) if progress[1] else 0.0


PROGRESS = """
SELECT e.course_id, c.lesson_count,
       (SELECT count(*) FROM lesson_completions lc JOIN lessons l ON l.id = lc.lesson_id
        WHERE lc.user_id = e.user_id AND lc.course_id = e.course_id AND l.deleted_at IS NULL)
FROM enrollments e JOIN courses c ON c.id = e.course_id
WHERE e.user_id = $1 AND e.course_id = ANY($2::uuid[]) AND e.status = 'active'
"""


async def _cards(
    conn: asyncpg.Connection, user: Caller | None, courses: list[asyncpg.Record]
) -> list[dict[str, Any]]:
    ids = [course["id"] for course in courses]
    progress = {}
    if user is not None and ids:
        progress = {row[0]: (row[2], row[1]) for row in await conn.fetch(PROGRESS, user.id, ids)}
    return [_course_card(c, progress.get(c["id"])) for c in courses]


def _page(request: Request) -> tuple[int, int]:
    try:
        limit = int(request.query_params.get("limit", DEFAULT_LIMIT))
        offset = int(request.query_params.get("offset", 0))
    except ValueError:
        raise Problem(422, "validation_error") from None
    if not (1 <= limit <= MAX_LIMIT) or offset < 0:
        raise Problem(422, "validation_error")
    return limit, offset


async def catalog(request: Request) -> Response:
    user = await caller(request, required=False)
    limit, offset = _page(request)
    params = request.query_params
    if params.get("q"):
        raise Problem(501, "not_implemented")
    where = ["c.deleted_at IS NULL", "c.status = 'published'"]
    args: list[Any] = []
    if user is None or (user.role != "admin" and user.organization_id is None):
        where.append("c.visibility = 'public'")
    elif user.role != "admin":
        args.append(user.organization_id)
        where.append(f"(c.visibility = 'public' OR c.organization_id = ${len(args)})")
    if level := params.get("level"):
        args.append(level)
        where.append(f"c.level = ${len(args)}")
    if tag := params.get("tag"):
        args.append(json.dumps([tag.strip().lower()]))
        where.append(f"CAST(c.tags AS JSONB) @> ${len(args)}::jsonb")
    order = SORTS.get(params.get("sort", "newest"))
    if order is None:
        raise Problem(422, "validation_error")
    condition = " AND ".join(where)
    count = f"SELECT count(*) FROM courses c WHERE {condition}"  # noqa: S608
    async with request.app.state.pool.acquire() as conn:
        # The total rides along with the page (one statement), as StudyHall reads it.
        courses = await conn.fetch(
            f"SELECT {COURSE_COLUMNS}, ({count}) AS total FROM courses c WHERE {condition} "  # noqa: S608
            f"ORDER BY {order} LIMIT {limit} OFFSET {offset}",
            *args,
        )
        total = courses[0]["total"] if courses else (await conn.fetchval(count, *args) if offset else 0)
        items = await _cards(conn, user, list(courses))
    return _json({"items": items, "total": total, "limit": limit, "offset": offset})


COURSE_COMPLETIONS = """
SELECT e.id, lc.lesson_id FROM enrollments e
LEFT JOIN lesson_completions lc ON lc.user_id = e.user_id AND lc.course_id = e.course_id
WHERE e.user_id = $1 AND e.course_id = $2 AND e.status = 'active'
"""


async def course_detail(request: Request) -> Response:
    user = await caller(request, required=False)
    key = request.path_params["id_or_slug"]
    try:
        where, value = "c.id = $1", uuid.UUID(key)
    except ValueError:
        where, value = "c.slug = $1", key.lower()
    async with request.app.state.pool.acquire() as conn:
        course = await conn.fetchrow(
            f"SELECT {COURSE_COLUMNS}, c.deleted_at FROM courses c "  # noqa: S608
            f"WHERE c.deleted_at IS NULL AND {where}",
            value,
        )
        if course is None:
            raise Problem(404, "course_not_found")
        modules = await conn.fetch(
            "SELECT id, course_id, title, description, position, created_at, updated_at FROM modules "
            "WHERE course_id = $1 AND deleted_at IS NULL ORDER BY position, created_at, id",
            course["id"],
        )
        lessons = await conn.fetch(
            "SELECT id, module_id, title, type, position, duration_minutes, is_preview FROM lessons "
            "WHERE course_id = $1 AND deleted_at IS NULL ORDER BY position, created_at, id",
            course["id"],
        )
        if not (_is_listed(user, course) or _is_staff(user, course, course["instructor_ids"])):
            raise Problem(404, "course_not_found")
        enrollment = await conn.fetch(COURSE_COMPLETIONS, user.id, course["id"]) if user is not None else []
    completed = {row["lesson_id"] for row in enrollment if row["lesson_id"] is not None}
    current = {row["id"] for row in lessons}
    progress = (len(completed & current), course["lesson_count"]) if enrollment else None
    card = _course_card(course, progress)
    del card["deleted_at"]
    card["modules"] = [
        {
            "id": str(m["id"]),
            "course_id": str(m["course_id"]),
            "title": m["title"],
            "description": m["description"],
            "order": m["position"],
            "created_at": _iso(m["created_at"]),
            "updated_at": _iso(m["updated_at"]),
        }
        for m in modules
    ]
    card["lessons"] = [
        {
            "id": str(row["id"]),
            "module_id": str(row["module_id"]) if row["module_id"] else None,
            "title": row["title"],
            "type": row["type"],
            "order": row["position"],
            "duration_minutes": row["duration_minutes"],
            "is_preview": row["is_preview"],
            "is_completed": row["id"] in completed,
        }
        for row in lessons
    ]
    return _json(card)


# -- lessons -----------------------------------------------------------------------------

# The lesson page's statement (`catalog.queries`): the columns the page shows, instructors
# aggregated into the row.
LESSON_PAGE = """
SELECT l.id, l.course_id, l.module_id, l.title, l.type, l.position, l.content, l.content_html,
       l.duration_minutes,
       l.is_preview, l.version, l.extra, l.created_at, l.updated_at,
       c.status, c.visibility, c.organization_id, c.owner_id,
       ARRAY(SELECT ci.user_id FROM course_instructors ci WHERE ci.course_id = c.id) AS instructor_ids,
       e.id AS enrollment_id, e.last_activity_at,
       EXISTS (SELECT 1 FROM lesson_completions lc WHERE lc.user_id = $2 AND lc.lesson_id = l.id)
         AS is_completed
FROM lessons l JOIN courses c ON c.id = l.course_id
LEFT JOIN enrollments e ON e.course_id = c.id AND e.user_id = $2 AND e.status = 'active'
WHERE l.id = $1 AND l.deleted_at IS NULL AND c.deleted_at IS NULL
"""

# The learning writes' lookup (`catalog.access.lesson_access`): lesson and course entities,
# one row per instructor.
LESSON_ACCESS = """
SELECT l.course_id, l.module_id, l.title, l.type, l.content, l.duration_minutes, l.is_preview,
       l.position, l.version, l.extra, l.id, l.created_at, l.updated_at, l.deleted_at, l.deletion_id,
       c.slug, c.title AS course_title, c.subtitle, c.description, c.category, c.tags, c.skills,
       c.level, c.language, c.duration_minutes AS course_duration_minutes, c.price_cents, c.currency,
       c.visibility, c.status, c.organization_id, c.owner_id, c.certificate_enabled, c.published_at,
       c.lesson_count, c.enrollment_count, c.id AS course_row_id, c.created_at AS course_created_at,
       c.updated_at AS course_updated_at, c.deleted_at AS course_deleted_at,
       c.deletion_id AS course_deletion_id,
       ci.user_id AS instructor_id, e.id AS enrollment_id, e.last_activity_at,
       EXISTS (SELECT 1 FROM lesson_completions lc WHERE lc.user_id = $2 AND lc.lesson_id = l.id)
         AS is_completed
FROM lessons l JOIN courses c ON c.id = l.course_id
LEFT JOIN course_instructors ci ON ci.course_id = c.id
LEFT JOIN enrollments e ON e.course_id = c.id AND e.user_id = $2 AND e.status = 'active'
WHERE l.id = $1 AND l.deleted_at IS NULL AND c.deleted_at IS NULL
"""


async def _lesson(
    conn: asyncpg.Connection, user: Caller | None, lesson_id: str, query: str = LESSON_ACCESS
) -> dict[str, Any]:
    """The lesson with everything access needs, in one query; 404 when the caller may not
    know it exists."""
    rows = await conn.fetch(
        query, _uuid(lesson_id, "lesson_not_found"), user.id if user is not None else None
    )
    if not rows:
        raise Problem(404, "lesson_not_found")
    row = dict(rows[0].items())
    if "instructor_id" in row:
        row["instructor_ids"] = [r["instructor_id"] for r in rows if r["instructor_id"] is not None]
    if not (_is_listed(user, row) or _is_staff(user, row, row["instructor_ids"])):
        raise Problem(404, "lesson_not_found")
    return row


async def lesson_page(request: Request) -> Response:
    user = await caller(request, required=False)
    async with request.app.state.pool.acquire() as conn:
        row = await _lesson(conn, user, request.path_params["lesson_id"], LESSON_PAGE)
        video = await conn.fetchrow(LESSON_VIDEO, row["id"]) if row["type"] == "video" else None
    staff = _is_staff(user, row, row["instructor_ids"])
    if not (row["is_preview"] or staff or row["enrollment_id"] is not None):
        raise Problem(401 if user is None else 403, "not_authenticated" if user is None else "not_enrolled")
    extra = row["extra"]
    return _json(
        {
            "id": str(row["id"]),
            "course_id": str(row["course_id"]),
            "module_id": str(row["module_id"]) if row["module_id"] else None,
            "title": row["title"],
            "type": row["type"],
            "order": row["position"],
            "content": row["content"],
            "content_html": row["content_html"],
            "duration_minutes": row["duration_minutes"],
            "is_preview": row["is_preview"],
            "version": row["version"],
            "is_completed": row["is_completed"],
            "extra": json.loads(extra) if isinstance(extra, str) else (extra or {}),
            "created_at": _iso(row["created_at"]),
            "updated_at": _iso(row["updated_at"]),
            "video": {**dict(video), "updated_at": _iso(video["updated_at"])} if video else None,
        }
    )


def _learnable(user: Caller, row: dict[str, Any]) -> None:
    if not _is_listed(user, row) and not _is_staff(user, row, row["instructor_ids"]):
        raise Problem(404, "lesson_not_found")
    if row["status"] != "published":
        raise Problem(409, "course_not_published")
    if row["enrollment_id"] is None:
        raise Problem(403, "not_enrolled")


COMPLETE = """
INSERT INTO lesson_completions (user_id, lesson_id, course_id, completed_at)
VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, lesson_id) DO NOTHING
"""
COUNT_PROGRESS = """
SELECT (SELECT count(*) FROM lesson_completions lc JOIN lessons l ON l.id = lc.lesson_id
        WHERE lc.user_id = $1 AND lc.course_id = $2 AND l.deleted_at IS NULL),
       (SELECT lesson_count FROM courses WHERE id = $2)
"""


OUTBOX = """
INSERT INTO outbox_events (id, event_type, payload, status, attempts, available_at, created_at)
VALUES ($1, $2, $3, 'pending', 0, $4, $4)
"""


LOCK_ENROLLMENT = """
SELECT id, completed_at, completion_emitted_at FROM enrollments
WHERE user_id = $1 AND course_id = $2 AND status = 'active' FOR UPDATE
"""
STAMP_ENROLLMENT = """
UPDATE enrollments SET completed_at = $3, completion_emitted_at = $4, last_activity_at = $2 WHERE id = $1
"""


def _completion(enrollment_id: uuid.UUID, user: Caller, row: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "enrollment_id": str(enrollment_id),
        "course_id": str(row["course_id"]),
        "user_id": str(user.id),
        "completed_at": _iso(now),
    }


async def _complete(
    conn: asyncpg.Connection, user: Caller, row: dict[str, Any], now: datetime
) -> tuple[datetime | None, int, int]:
    """Lock the enrollment, insert the completion once, count, stamp the enrollment."""
    enrollment = await conn.fetchrow(LOCK_ENROLLMENT, user.id, row["course_id"])
    if enrollment is None:
        raise Problem(403, "not_enrolled")
    await conn.execute(COMPLETE, user.id, row["id"], row["course_id"], now)
    done, total = await conn.fetchrow(COUNT_PROGRESS, user.id, row["course_id"])
    completed_at, emitted_at = enrollment["completed_at"], enrollment["completion_emitted_at"]
    if total and done >= total and completed_at is None:
        completed_at = now
        if emitted_at is None:
            emitted_at = now
            await conn.execute(
                OUTBOX, uuid.uuid4(), "course.completed", _completion(enrollment["id"], user, row, now), now
            )
    await conn.execute(STAMP_ENROLLMENT, enrollment["id"], now, completed_at, emitted_at)
    return completed_at, done, total


async def complete_lesson(request: Request) -> Response:
    user = await caller(request, required=True)
    assert user is not None
    now = datetime.now(UTC)
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        row = await _lesson(conn, user, request.path_params["lesson_id"])
        _learnable(user, row)
        if row["type"] in ("quiz", "assignment"):
            raise Problem(409, "completed_by_activity")
        completed_at, done, total = await _complete(conn, user, row, now)
    return _json(
        {
            "course_id": str(row["course_id"]),
            "lesson_id": str(row["id"]),
            "is_completed": True,
            "completed_at": _iso(completed_at),
            "last_activity_at": _iso(now),
            "completed_lessons": done,
            "total_lessons": total,
            "progress_percent": round(100 * done / total, 2) if total else 0.0,
        }
    )


VIDEO_DURATION = "SELECT duration_seconds FROM lesson_videos WHERE lesson_id = $1 AND status = 'ready'"
LESSON_VIDEO = (
    "SELECT provider, status, asset_id, playback_id, duration_seconds, error, updated_at "
    "FROM lesson_videos WHERE lesson_id = $1"
)
UPSERT_POSITION = """
INSERT INTO video_positions (user_id, lesson_id, position_seconds, duration_seconds, updated_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (user_id, lesson_id) DO UPDATE SET position_seconds = excluded.position_seconds,
  duration_seconds = excluded.duration_seconds, updated_at = excluded.updated_at
"""


async def video_position(request: Request) -> Response:
    user = await caller(request, required=True)
    assert user is not None
    try:
        body = orjson.loads(await request.body())
        position, duration = float(body["position_seconds"]), float(body["duration_seconds"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise Problem(422, "validation_error") from None
    if not (position >= 0 and duration > 0):
        raise Problem(422, "validation_error")
    now = datetime.now(UTC)
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        row = await _lesson(conn, user, request.path_params["lesson_id"])
        _learnable(user, row)
        if row["type"] != "video":
            raise Problem(409, "lesson_not_video")
        known = await conn.fetchval(VIDEO_DURATION, row["id"])
        if known is not None:
            if position > known + 1.0:
                raise Problem(422, "validation_error")
            duration = max(known, position)
        await conn.execute(UPSERT_POSITION, user.id, row["id"], position, duration, now)
        completed = row["is_completed"]
        if position >= VIDEO_COMPLETION_RATIO * duration and not completed:
            await _complete(conn, user, row, now)
            completed = True
        elif row["last_activity_at"] is None or now - row["last_activity_at"] >= ACTIVITY_RESOLUTION:
            await conn.execute(
                "UPDATE enrollments SET last_activity_at = $2 WHERE id = $1", row["enrollment_id"], now
            )
    return _json(
        {
            "lesson_id": str(row["id"]),
            "position_seconds": position,
            "duration_seconds": duration,
            "is_completed": completed,
            "updated_at": _iso(now),
        }
    )


# -- the application -----------------------------------------------------------------------


def _guarded(endpoint: Any) -> Any:
    async def handle(request: Request) -> Response:
        try:
            response: Response = await endpoint(request)
        except Problem as error:
            return _problem(error)
        except ClientDisconnect:  # the load generator stopped mid-request
            return Response(status_code=499)
        return response

    return handle


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    dsn = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    app.state.pool = await asyncpg.create_pool(dsn, min_size=4, max_size=20, init=_init_connection)
    app.state.codec = TokenCodec(os.environ["SECRET_KEY"])
    try:
        yield
    finally:
        await app.state.pool.close()


app = Starlette(
    routes=[
        Route("/api/v1/auth/me", _guarded(me)),
        Route("/api/v1/courses", _guarded(catalog)),
        Route("/api/v1/courses/{id_or_slug}", _guarded(course_detail)),
        Route("/api/v1/lessons/{lesson_id}", _guarded(lesson_page)),
        Route("/api/v1/lessons/{lesson_id}/complete", _guarded(complete_lesson), methods=["POST"]),
        Route("/api/v1/lessons/{lesson_id}/position", _guarded(video_position), methods=["PUT"]),
        Route("/health/live", _guarded(lambda _request: _ok())),
    ],
    lifespan=lifespan,
)


async def _ok() -> Response:
    return _json({"status": "ok"})
