"""The raw reference of the insights: course and organisation analytics on Starlette +
asyncpg + orjson, running exactly StudyHall's SQL (its statements compiled once for
PostgreSQL at start-up) with the same access decisions, and building the same response.

    DATABASE_URL=postgresql://... SECRET_KEY=... uvicorn benchmarks.insights_reference:app

It shares the hot paths' reference (benchmarks/reference.py) for sign-in (`caller`), JSON
and problem documents. Ranges are the default one (the 30 days ending today) or `from`.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benchmarks.reference import Caller, Problem, _guarded, _json, _uuid, caller, lifespan
from studyhall.analytics.insights import STATEMENTS
from studyhall.core.clock import utcnow

_DIALECT = PGDialect_asyncpg()
COURSE_ACCESS = """
SELECT c.owner_id, c.organization_id, c.lesson_count,
       array((SELECT ci.user_id FROM course_instructors ci WHERE ci.course_id = c.id)) AS instructor_ids
FROM courses c WHERE c.id = $1 AND c.deleted_at IS NULL
"""


class Compiled:
    """A StudyHall statement as PostgreSQL text with `$n` parameters, and their names."""

    def __init__(self, statement: Any) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        self.sql = str(compiled)
        self.names = list(compiled.positiontup or [])
        self.constants = dict(compiled.params)  # values the statement binds itself (0.0, 86400.0)

    async def fetch(self, request: Request, params: dict[str, Any]) -> list[Any]:
        values = {**self.constants, **params}
        rows: list[Any] = await request.app.state.pool.fetch(self.sql, *(values[n] for n in self.names))
        return rows


_S = STATEMENTS["postgresql"]
COURSE = {
    name: Compiled(getattr(_S, name))
    for name in (
        "course_enrollments",
        "course_lessons_done",
        "course_per_day",
        "course_active",
        "course_quiz_totals",
        "course_funnel",
        "course_quizzes",
    )
}
ORG = {
    name: Compiled(getattr(_S, name))
    for name in (
        "org_courses",
        "org_instructors",
        "org_enrollments",
        "org_lessons_done",
        "org_per_day",
        "org_active_learners",
        "org_quizzes",
    )
}


def _range(request: Request) -> dict[str, date]:
    """`from`/`to` with StudyHall's defaults (the 30 days ending today, or ending at `to`, or
    starting at `from`); no validation (the benchmark sends valid ranges)."""
    query, today = request.query_params, utcnow().date()
    start = date.fromisoformat(query["from"]) if "from" in query else None
    if "to" in query:
        end = date.fromisoformat(query["to"])
    else:
        end = today if start is None else max(start, min(today, start + timedelta(days=29)))
    start = start or end - timedelta(days=29)
    return {
        "start": start,
        "end": end,
        "week_start": end - timedelta(days=6),
        "month_start": end - timedelta(days=29),
    }


def _figures(enrolled: int, completed: int, days: float, done: int, lessons: int) -> dict[str, Any]:
    possible = enrolled * lessons
    return {
        "enrollments_total": enrolled,
        "completion_rate": round(completed / enrolled, 4) if enrolled else 0.0,
        "average_progress_percent": round(100 * done / possible, 2) if possible else 0.0,
        "average_days_to_complete": round(float(days) / completed, 2) if completed else None,
    }


def _per_day(rows: list[Any], params: dict[str, date]) -> list[dict[str, Any]]:
    counts = {r[0]: int(r[1]) for r in rows}
    span = (params["end"] - params["start"]).days + 1
    days = [params["start"] + timedelta(days=n) for n in range(span)]
    return [{"date": d.isoformat(), "count": counts.get(d, 0)} for d in days]


def _quiz(attempts: int, passed: int, score_sum: float) -> tuple[float | None, float | None]:
    if not attempts:
        return None, None
    return round(passed / attempts, 4), round(score_sum / attempts, 2)


async def course_analytics(request: Request) -> Response:
    user = await caller(request, required=True)
    assert user is not None
    course_id = _uuid(request.path_params["course_id"], "course_not_found")
    course = await request.app.state.pool.fetchrow(COURSE_ACCESS, course_id)
    if course is None:
        raise Problem(404, "course_not_found")
    if not _is_staff(user, course):
        raise Problem(403, "not_course_staff")
    params: dict[str, Any] = {"course_id": course_id, **_range(request)}
    lessons = course["lesson_count"]
    enrollments = await COURSE["course_enrollments"].fetch(request, params)
    _, enrolled, completed, days = enrollments[0] if enrollments else (None, 0, 0, 0.0)
    done_rows = await COURSE["course_lessons_done"].fetch(request, params)
    quiz_rows = await COURSE["course_quiz_totals"].fetch(request, params)
    active = await COURSE["course_active"].fetch(request, params)
    per_day = await COURSE["course_per_day"].fetch(request, params)
    funnel = await COURSE["course_funnel"].fetch(request, params)
    quizzes = await COURSE["course_quizzes"].fetch(request, params)
    done = int(done_rows[0][1]) if done_rows else 0
    del quiz_rows  # the course's quiz totals, shown per quiz below
    return _json(
        {
            "course_id": str(course_id),
            **_figures(int(enrolled), int(completed), days, done, int(lessons)),
            "active_learners_7d": int(active[0][1]) if active else 0,
            "active_learners_30d": int(active[0][2]) if active else 0,
            "enrollments_per_day": _per_day(per_day, params),
            "lessons": [
                {"lesson_id": str(r[0]), "title": r[1], "reached": int(r[3]), "completed": int(r[4])}
                for r in funnel
            ],
            "quizzes": [
                dict(
                    zip(
                        ("quiz_id", "title", "attempts", "pass_rate", "average_score_percent"),
                        (
                            str(r[0]),
                            r[1],
                            int(r[2] or 0),
                            *_quiz(int(r[2] or 0), int(r[3] or 0), float(r[4] or 0)),
                        ),
                        strict=True,
                    )
                )
                for r in quizzes
            ],
            "videos": [
                {"lesson_id": str(r[0]), "watch_ratio": None if r[5] is None else round(float(r[5]), 4)}
                for r in funnel
                if r[2] == "video"
            ],
        }
    )


def _is_staff(user: Caller, course: Any) -> bool:
    principal = user.role == "principal" and course["organization_id"] == user.organization_id
    return (
        user.role == "admin"
        or user.id == course["owner_id"]
        or user.id in course["instructor_ids"]
        or principal
    )


async def organization_analytics(request: Request) -> Response:
    user = await caller(request, required=True)
    assert user is not None
    organization_id = _uuid(request.path_params["organization_id"], "organization_not_found")
    found = await request.app.state.pool.fetchval(
        "SELECT id FROM organizations WHERE id = $1", organization_id
    )
    if found is None or (user.role != "admin" and user.organization_id != organization_id):
        raise Problem(404, "organization_not_found")
    if user.role not in ("admin", "principal"):
        raise Problem(403, "insufficient_role")
    params: dict[str, Any] = {"organization_id": organization_id, **_range(request)}
    rows = {name: await statement.fetch(request, params) for name, statement in ORG.items()}
    lessons = {r[0]: int(r[3]) for r in rows["org_courses"]}
    sums: dict[uuid.UUID, list[float]] = {cid: [0, 0, 0.0, 0, 0, 0, 0.0] for cid in lessons}
    for cid, enrolled, completed, days in rows["org_enrollments"]:
        sums[cid][:3] = [int(enrolled), int(completed), float(days)]
    for cid, done in rows["org_lessons_done"]:
        sums[cid][3] = int(done)
    for cid, attempts, passed, score_sum in rows["org_quizzes"]:
        sums[cid][4:] = [int(attempts or 0), int(passed or 0), float(score_sum or 0)]
    teaching: dict[uuid.UUID, tuple[str, list[uuid.UUID]]] = {}
    instructors_of: dict[uuid.UUID, list[uuid.UUID]] = {}
    for cid, uid, name in rows["org_instructors"]:
        teaching.setdefault(uid, (name, []))[1].append(cid)
        instructors_of.setdefault(cid, []).append(uid)
    month: dict[Any, set[uuid.UUID]] = {}
    week: dict[Any, set[uuid.UUID]] = {}
    for cid, uid, last_day in rows["org_active_learners"]:
        for group in (cid, organization_id, *instructors_of.get(cid, [])):
            month.setdefault(group, set()).add(uid)
            if last_day >= params["week_start"]:
                week.setdefault(group, set()).add(uid)

    def active(group: Any) -> tuple[int, int]:
        return len(week.get(group, ())), len(month.get(group, ()))

    def summary(course_ids: list[uuid.UUID], week: int, month: int) -> dict[str, Any]:
        totals = [sum(sums[c][i] for c in course_ids) for i in range(7)]
        possible_lessons = sum(sums[c][0] * lessons[c] for c in course_ids)
        pass_rate, score = _quiz(int(totals[4]), int(totals[5]), totals[6])
        figures = _figures(int(totals[0]), int(totals[1]), totals[2], int(totals[3]), 1)
        figures["average_progress_percent"] = (
            round(100 * totals[3] / possible_lessons, 2) if possible_lessons else 0.0
        )
        return {
            **figures,
            "active_learners_7d": week,
            "active_learners_30d": month,
            "quiz_attempts": int(totals[4]),
            "quiz_pass_rate": pass_rate,
            "average_score_percent": score,
        }

    return _json(
        {
            "organization_id": str(organization_id),
            **summary(list(lessons), *active(organization_id)),
            "enrollments_per_day": _per_day(rows["org_per_day"], params),
            "courses": [
                {
                    "course_id": str(cid),
                    "title": title,
                    "status": status,
                    **summary([cid], *active(cid)),
                }
                for cid, title, status, _lessons in rows["org_courses"]
            ],
            "instructors": [
                {
                    "user_id": str(uid),
                    "full_name": name,
                    "course_ids": [str(c) for c in cids],
                    **summary(cids, *active(uid)),
                }
                for uid, (name, cids) in teaching.items()
            ],
        }
    )


app = Starlette(
    routes=[
        Route("/api/v1/courses/{course_id}/analytics", _guarded(course_analytics)),
        Route("/api/v1/organizations/{organization_id}/analytics", _guarded(organization_analytics)),
    ],
    lifespan=lifespan,
)
