"""Insights: course and organisation analytics over a million stored activity events,
side by side with a raw reference running the same SQL (benchmarks/insights_reference.py).

    ./dev bench --insights                          # 1,000,000 events, 10 s per run
    ./dev bench --insights --insights-events 200000 --duration 5 --concurrency 8
    ./dev bench --insights --explain                # also the plans of every statement
    ./dev bench --insights --uncached               # StudyHall without its answer cache

Seeds a throwaway PostgreSQL with a platform of `--insights-events` synthetic activity
records: 5 organisations of 20 courses (12 lessons each: every fourth a video, the last a
quiz), 10,000 students enrolled in 3 courses each, whose journeys over the last 90 days
(enrolment, lesson views, video heartbeats, quiz attempts, completions, page views) add up to
the requested number of records. The domain rows those journeys leave (enrollments with their
completion dates, lesson completions) are written too, so the figures read from domain
tables cover the same data.

The records are folded into rollup rows by `rollups.fold`, the code `apply_events` runs for
every ingested batch, and the rows are bulk-loaded with `COPY` (a million upserts through
the API would take this machine longer than the measurement). The run then loads
`GET /courses/{id}/analytics` (the organisation's principal, rotating over its 20 courses)
and `GET /organizations/{id}/analytics` (its principal), on StudyHall (one `studyhall
serve` process) and on the reference (one uvicorn process), one after the other with the
same requests and tokens. The target is p99 under 200 ms.

StudyHall keeps each answer `ANALYTICS_CACHE_SECONDS` (60 s; `warm` asks each distinct
request once before measuring): the figures are those of dashboards in use. `--uncached`
serves it with the cache off, so every request computes its answer, as the reference does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import Table
from sqlalchemy.types import JSON
from tests.servers import PostgresServer

from benchmarks.compare import row, serving_reference
from benchmarks.learning import API, BENCH_SECRET
from benchmarks.run import Scenario, measure_scenario, serving
from benchmarks.sessions import mint_token, session_rows
from studyhall.analytics import records as types
from studyhall.analytics.models import CourseDay, CourseLearner, LearnerDay, LessonLearner, QuizTotals
from studyhall.analytics.records import ActivityRecord, ActivitySource
from studyhall.analytics.rollups import Catalog, LessonFacts, Rollup, first_completions, fold
from studyhall.assessment.models import Quiz
from studyhall.catalog.models import Course, CourseInstructor, Lesson
from studyhall.config import Settings
from studyhall.core.clock import utcnow
from studyhall.core.migrate import upgrade
from studyhall.core.security import security_from_settings
from studyhall.identity.models import AuthSession, Organization, User
from studyhall.learning.models import Enrollment, LessonCompletion
from studyhall.media.models import LessonVideo

ORGANIZATIONS = 5
COURSES_PER_ORGANIZATION = 20
LESSONS_PER_COURSE = 12
STUDENTS = 10_000
COURSES_PER_STUDENT = 3
HISTORY_DAYS = 90
VIDEO_SECONDS = 600.0
P99_TARGET_MS = 200.0
#: Seconds a server may take to start on a loaded machine.
STARTUP_SECONDS = 180.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--insights", action="store_true", help="course and organisation analytics (benchmarks/insights.py)"
    )
    parser.add_argument(
        "--insights-events", type=int, default=1_000_000, help="activity records behind the insights"
    )
    parser.add_argument(
        "--uncached",
        action="store_true",
        help="serve StudyHall with ANALYTICS_CACHE_SECONDS=0: every request computes its answer",
    )


# -- the synthetic platform --------------------------------------------------------------


@dataclass
class PlannedCourse:
    id: uuid.UUID
    organization_id: uuid.UUID
    owner_id: uuid.UUID
    co_instructor_id: uuid.UUID
    lessons: list[tuple[uuid.UUID, str]]
    quiz_id: uuid.UUID


@dataclass
class Platform:
    organizations: list[uuid.UUID]
    principals: list[uuid.UUID]
    instructors: list[uuid.UUID]
    students: list[uuid.UUID]
    courses: list[PlannedCourse]
    enrollments: list[dict[str, Any]] = field(default_factory=list)
    completions: list[dict[str, Any]] = field(default_factory=list)
    records: int = 0


def plan_platform() -> Platform:
    organizations = [uuid.uuid4() for _ in range(ORGANIZATIONS)]
    principals = [uuid.uuid4() for _ in organizations]
    instructors = [uuid.uuid4() for _ in range(ORGANIZATIONS * COURSES_PER_ORGANIZATION // 2)]
    courses = []
    for n in range(ORGANIZATIONS * COURSES_PER_ORGANIZATION):
        lessons = [
            (uuid.uuid4(), "quiz" if i == LESSONS_PER_COURSE - 1 else "video" if i % 4 == 1 else "text")
            for i in range(LESSONS_PER_COURSE)
        ]
        courses.append(
            PlannedCourse(
                id=uuid.uuid4(),
                organization_id=organizations[n // COURSES_PER_ORGANIZATION],
                owner_id=instructors[n // 2],
                co_instructor_id=instructors[(n // 2 + 1) % len(instructors)],
                lessons=lessons,
                quiz_id=uuid.uuid4(),
            )
        )
    students = [uuid.uuid4() for _ in range(STUDENTS)]
    return Platform(organizations, principals, instructors, students, courses)


def catalog_of(platform: Platform) -> Catalog:
    catalog = Catalog()
    for course in platform.courses:
        catalog.courses.add(course.id)
        catalog.quiz_courses[course.quiz_id] = course.id
        for lesson_id, kind in course.lessons:
            catalog.lessons[lesson_id] = LessonFacts(course.id, None if kind == "video" else 600.0)
    return catalog


def _record(kind: str, user_id: uuid.UUID, at: datetime, **fields: Any) -> ActivityRecord:
    return ActivityRecord(
        event_id=uuid.uuid4().hex,
        event_type=kind,
        user_id=user_id,
        occurred_at=at,
        source=ActivitySource.SERVER if kind.startswith("server.") else ActivitySource.CLIENT,
        course_id=fields.pop("course_id", None),
        lesson_id=fields.pop("lesson_id", None),
        data=fields,
    )


def journey(
    rng: random.Random,
    platform: Platform,
    user_id: uuid.UUID,
    course: PlannedCourse,
    now: datetime,
    budget: int,
) -> Iterator[ActivityRecord]:
    """One enrolment's records (about `budget` of them), and the domain rows it leaves."""
    at = now - timedelta(days=rng.uniform(1, HISTORY_DAYS), hours=rng.uniform(0, 8))
    enrolled_at = at
    yield _record(types.ENROLLED, user_id, at, course_id=course.id)
    emitted = 1
    done = min(LESSONS_PER_COURSE, int(rng.betavariate(1.2, 1.0) * (LESSONS_PER_COURSE + 1)))
    for lesson_id, kind in course.lessons[:done]:
        at = min(now, at + timedelta(hours=rng.uniform(2, 40)))
        yield _record(types.LESSON_VIEWED, user_id, at, lesson_id=lesson_id, course_id=course.id)
        emitted += 1
        if kind == "video":
            for beat in range(3):
                yield _record(
                    types.VIDEO_WATCHED,
                    user_id,
                    at,
                    lesson_id=lesson_id,
                    watched_seconds=rng.uniform(60, 260),
                    position_seconds=200.0 * (beat + 1),
                )
            emitted += 3
        if kind == "quiz":
            score = rng.uniform(30, 100)
            yield _record(types.QUIZ_STARTED, user_id, at, quiz_id=str(course.quiz_id))
            yield _record(
                types.QUIZ_GRADED,
                user_id,
                at,
                quiz_id=str(course.quiz_id),
                score_percent=score,
                passed=score >= 60,
            )
            emitted += 2
        yield _record(types.LESSON_COMPLETED, user_id, at, lesson_id=lesson_id, course_id=course.id)
        emitted += 1
        platform.completions.append(
            {"user_id": user_id, "lesson_id": lesson_id, "course_id": course.id, "completed_at": at}
        )
    completed_at = at if done == LESSONS_PER_COURSE else None
    if completed_at is not None:
        yield _record(types.COURSE_COMPLETED, user_id, at, course_id=course.id)
        emitted += 1
    platform.enrollments.append(
        {
            "user_id": user_id,
            "course_id": course.id,
            "enrolled_at": enrolled_at,
            "completed_at": completed_at,
            "last_activity_at": at,
        }
    )
    reached = course.lessons[: max(1, done + 1)]
    while emitted < budget:  # revisits and browsing around the course
        visit = min(now, enrolled_at + timedelta(days=rng.uniform(0, HISTORY_DAYS)))
        if rng.random() < 0.2:
            yield _record(types.PAGE_VIEWED, user_id, visit, path="/courses", course_id=course.id)
        else:
            lesson_id, _kind = rng.choice(reached)
            yield _record(types.LESSON_VIEWED, user_id, visit, lesson_id=lesson_id, course_id=course.id)
        emitted += 1


def generate(platform: Platform, events: int, now: datetime) -> Rollup:
    """Every enrolment's journey folded into rollup rows as they are generated."""
    rng = random.Random(20261126)
    catalog = catalog_of(platform)
    rollup = Rollup()
    pairs = [
        (student, course)
        for student in platform.students
        for course in rng.sample(platform.courses, COURSES_PER_STUDENT)
    ]
    per_enrollment, extra = divmod(events, len(pairs))
    for n, (student, course) in enumerate(pairs):
        records = list(journey(rng, platform, student, course, now, per_enrollment + (1 if n < extra else 0)))
        platform.records += len(records)
        fold(records, catalog, rollup)
    # Loaded into empty tables, every folded completion count is a first completion.
    first_completions(
        rollup,
        [
            (r["lesson_id"], r["user_id"], r["course_id"], r["completions"])
            for r in rollup.lesson_learners.values()
        ],
    )
    return rollup


# -- loading it ----------------------------------------------------------------------------


def _default(column: Any) -> Any:
    """The column's model default, computed anew for each row (ids, timestamps)."""
    default = column.default
    if default is None:
        return None
    return default.arg(None) if callable(default.arg) else default.arg


async def copy_rows(conn: asyncpg.Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """COPY rows into a table, columns the rows leave out taking their model defaults."""
    if not rows:
        return
    columns = list(table.columns)
    json_columns = {c.name for c in columns if isinstance(c.type, JSON)}

    def value(row: dict[str, Any], column: Any) -> Any:
        found = row[column.name] if column.name in row else _default(column)
        return json.dumps(found) if column.name in json_columns else found

    await conn.copy_records_to_table(
        table.name,
        columns=[c.name for c in columns],
        records=[tuple(value(r, column) for column in columns) for r in rows],
    )


def domain_rows(platform: Platform, now: datetime) -> list[tuple[Table, list[dict[str, Any]]]]:
    def table(model: Any) -> Table:
        return model.__table__  # type: ignore[no-any-return]

    users = [
        {
            "id": uid,
            "email": f"{kind}{n}@bench.example",
            "full_name": f"{kind.title()} {n}",
            "role": role,
            "organization_id": org,
        }
        for kind, role, ids, orgs in (
            ("principal", "principal", platform.principals, platform.organizations),
            ("instructor", "instructor", platform.instructors, [None] * len(platform.instructors)),
            ("student", "student", platform.students, [None] * len(platform.students)),
        )
        for n, (uid, org) in enumerate(zip(ids, orgs, strict=True))
    ]
    courses = [
        {
            "id": c.id,
            "slug": f"bench-{n}",
            "title": f"Course {n:03d}",
            "description": "",
            "owner_id": c.owner_id,
            "organization_id": c.organization_id,
            "status": "published",
            "published_at": now,
            "lesson_count": LESSONS_PER_COURSE,
            "enrollment_count": sum(1 for e in platform.enrollments if e["course_id"] == c.id),
            "created_at": now,
            "updated_at": now,
        }
        for n, c in enumerate(platform.courses)
    ]
    lessons = [
        {
            "id": lid,
            "course_id": c.id,
            "title": f"Lesson {i + 1}",
            "type": kind,
            "position": i,
            "duration_minutes": 10,
            "content_html": "",
            "created_at": now,
            "updated_at": now,
        }
        for c in platform.courses
        for i, (lid, kind) in enumerate(c.lessons)
    ]
    return [
        (
            table(Organization),
            [
                {"id": o, "name": f"Org {n}", "slug": f"org-{n}", "created_at": now, "updated_at": now}
                for n, o in enumerate(platform.organizations)
            ],
        ),
        (table(User), [{**u, "created_at": now, "updated_at": now} for u in users]),
        (table(Course), courses),
        (
            table(CourseInstructor),
            [{"course_id": c.id, "user_id": c.co_instructor_id} for c in platform.courses],
        ),
        (table(Lesson), lessons),
        (
            table(LessonVideo),
            [
                {
                    "lesson_id": lid,
                    "provider": "local",
                    "status": "ready",
                    "upload_id": str(lid),
                    "duration_seconds": VIDEO_SECONDS,
                }
                for c in platform.courses
                for lid, kind in c.lessons
                if kind == "video"
            ],
        ),
        (
            table(Quiz),
            [
                {
                    "id": c.quiz_id,
                    "lesson_id": c.lessons[-1][0],
                    "course_id": c.id,
                    "title": "Final quiz",
                    "passing_score": 60,
                    "show_answers": "after_last_attempt",
                    "created_at": now,
                    "updated_at": now,
                }
                for c in platform.courses
            ],
        ),
        (table(Enrollment), platform.enrollments),
        (table(LessonCompletion), platform.completions),
        (table(AuthSession), session_rows(platform.principals + platform.instructors)),
    ]


async def seed_insights(url: str, events: int) -> Platform:
    started = time.perf_counter()
    now = utcnow()
    platform = plan_platform()
    rollup = generate(platform, events, now)
    generated = time.perf_counter()
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        async with conn.transaction():
            for table, rows in domain_rows(platform, now):
                await copy_rows(conn, table, rows)
            for model, rows in (
                (CourseDay, rollup.course_days),
                (LearnerDay, rollup.learner_days),
                (LessonLearner, rollup.lesson_learners),
                (CourseLearner, rollup.course_learners),
                (QuizTotals, rollup.quizzes),
            ):
                await copy_rows(conn, model.__table__, list(rows.values()))  # type: ignore[arg-type]
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    print(
        f"{platform.records:,} activity records ({len(platform.enrollments):,} enrollments, "
        f"{len(platform.completions):,} lesson completions) generated and folded in "
        f"{generated - started:.1f} s; rollup rows: {len(rollup.course_days):,} course days, "
        f"{len(rollup.learner_days):,} learner days, {len(rollup.lesson_learners):,} lesson learners, "
        f"{len(rollup.quizzes):,} quizzes; loaded in {time.perf_counter() - generated:.1f} s",
        flush=True,
    )
    return platform


# -- measuring ---------------------------------------------------------------------------


def insights_scenarios(platform: Platform) -> list[Scenario]:
    settings = Settings(environment="production", secret_key=BENCH_SECRET)
    _, codec = security_from_settings(settings)
    organization, principal = platform.organizations[0], platform.principals[0]
    auth = (("Authorization", f"Bearer {mint_token(codec, principal, 'principal')}"),)
    courses = [c.id for c in platform.courses if c.organization_id == organization]
    year_ago = (utcnow() - timedelta(days=365)).date()
    return [
        Scenario(
            "course_analytics",
            "GET",
            "",
            variants=tuple((f"{API}/courses/{course_id}/analytics", auth, None) for course_id in courses),
        ),
        Scenario(
            "course_analytics_year",
            "GET",
            "",
            variants=tuple(
                (
                    f"{API}/courses/{course_id}/analytics?from={year_ago}&to={utcnow().date()}",
                    auth,
                    None,
                )
                for course_id in courses
            ),
        ),
        Scenario("organization_analytics", "GET", f"{API}/organizations/{organization}/analytics", auth),
    ]


async def explain(url: str, platform: Platform) -> None:
    """EXPLAIN ANALYZE of every insights statement, for the first organisation and course."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from studyhall.analytics.insights import STATEMENTS, day_range

    engine = create_async_engine(url)
    params = {
        "organization_id": platform.organizations[0],
        "course_id": platform.courses[0].id,
        **day_range(None, None).params(),
    }
    statements = STATEMENTS["postgresql"]
    try:
        async with engine.connect() as conn:
            for name in statements.__dataclass_fields__:
                bound = getattr(statements, name).params(params)
                sql = bound.compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
                plan = await conn.exec_driver_sql(f"EXPLAIN ANALYZE {sql}")
                print(f"-- {name}\n" + "\n".join(row[0] for row in plan), flush=True)
    finally:
        await engine.dispose()


async def warm(scenarios: list[Scenario], base: str) -> None:
    """One request per distinct variant first, as a dashboard in use has had: the run then
    measures answers served within `ANALYTICS_CACHE_SECONDS` (a miss's cost is `--uncached`'s
    figure; in steady use there is one per course or organisation and range per minute)."""
    async with httpx.AsyncClient(timeout=120) as client:
        for scenario in scenarios:
            for path, headers, _body in scenario.all_variants():
                (await client.get(base + path, headers=dict(headers))).raise_for_status()


async def same_answers(scenarios: list[Scenario], ours: str, reference: str) -> None:
    """Both servers answer each scenario's first request alike (instructors' course lists
    compared as sets): the reference measures the same work."""

    def canonical(body: Any) -> Any:
        for instructor in body.get("instructors", []):
            instructor["course_ids"] = sorted(instructor["course_ids"])
        return body

    async with httpx.AsyncClient(timeout=60) as client:
        for scenario in scenarios:
            path, headers, _body = scenario.all_variants()[0]
            answers = [
                (await client.get(base + path, headers=dict(headers))).json() for base in (ours, reference)
            ]
            same = canonical(answers[0]) == canonical(answers[1])
            print(
                f"{scenario.name}: the reference's answer is {'the same' if same else 'DIFFERENT'}",
                flush=True,
            )


async def bench_insights(args: argparse.Namespace) -> None:
    concurrency = args.concurrency or 8
    server = PostgresServer().start()
    data_dir = Path(tempfile.mkdtemp(prefix="studyhall-insights-"))
    try:
        url = server.create_database("bench_insights")
        await upgrade(url)
        platform = await seed_insights(url, args.insights_events)
        if args.explain:
            await explain(url, platform)
        answer_cache = {"ANALYTICS_CACHE_SECONDS": "0"} if args.uncached else None
        with (
            serving(url, data_dir, answer_cache, startup_timeout=STARTUP_SECONDS) as ours,
            serving_reference(
                url, "benchmarks.insights_reference:app", startup_timeout=STARTUP_SECONDS
            ) as reference,
        ):
            print(
                f"one process each; concurrency {concurrency}, {args.duration:.0f} s per run; "
                f"StudyHall's answer cache {'off' if args.uncached else 'on'}; "
                f"p99 target {P99_TARGET_MS:.0f} ms; load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            scenarios = [s for s in insights_scenarios(platform) if not args.only or s.name in args.only]
            await same_answers(scenarios, ours, reference)
            await warm(scenarios, ours)
            print(f"{'':<34} {'StudyHall':^30}   {'raw reference':^30}", flush=True)
            for scenario in scenarios:
                measured = [
                    await measure_scenario(scenario, base, concurrency=concurrency, duration=args.duration)
                    for base in (ours, reference)
                ]
                print(f"{row(scenario.name, *measured)}   load {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        server.remove()


if __name__ == "__main__":
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--duration", type=float, default=10.0)
    cli.add_argument("--concurrency", type=int)
    cli.add_argument("--only", action="append")
    cli.add_argument("--explain", action="store_true", help="print the insights' query plans")
    add_arguments(cli)
    asyncio.run(bench_insights(cli.parse_args()))
