"""StudyHall against the raw reference (benchmarks/reference.py), side by side in one run.

    ./dev bench --compare                       # every hot endpoint, 1,000 courses
    ./dev bench --compare --courses 100000      # the catalog at 100k courses
    ./dev bench --compare --only catalog_page_student --duration 15 --concurrency 32

One PostgreSQL is seeded once (a catalog of `--courses` published courses, and a course with
`--enrollments` enrolled students for the learning endpoints); then both servers run, one
process each, and every scenario loads StudyHall, then the reference, with the same requests
and the same tokens. Scenarios that write (lesson complete, video heartbeat) start each run
from the same state: completions and positions are wiped before each run, so both servers do
first completions. The table gives requests/s, p50 and p99 for each and the ratio
StudyHall / reference of the throughputs: on a shared, noisy machine only the ratio is
comparable between runs.

`--sqlite` also runs StudyHall embedded: the seeded PostgreSQL data is copied row for row
into a migrated SQLite file (same ids, same tokens), and each scenario then loads StudyHall
on SQLite too, printed next to its PostgreSQL figures with the ratio SQLite / PostgreSQL.

    ./dev bench --compare --sqlite --only lesson_complete --only auth_me --duration 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import create_async_engine
from tests.servers import PostgresServer, free_port, wait_for_port

from benchmarks.learning import API, BENCH_SECRET, LearningSeed, seed_learning
from benchmarks.run import (
    ENROLLMENTS_PER_STUDENT,
    CatalogData,
    Measurement,
    Scenario,
    measure_scenario,
    seed_catalog,
    serving,
)
from studyhall.core.migrate import upgrade
from studyhall.models import metadata

RESET_PROGRESS = (
    "DELETE FROM lesson_completions",
    "DELETE FROM video_positions",
    "UPDATE enrollments SET completed_at = NULL, completion_emitted_at = NULL, last_activity_at = NULL",
    "DELETE FROM outbox_events",
)


@dataclass(frozen=True)
class HotScenario:
    scenario: Scenario
    writes: bool = False
    #: Served from StudyHall's response cache when warm: also measured with the cache off.
    cached: bool = False


def hot_scenarios(learning: LearningSeed, catalog: CatalogData) -> list[HotScenario]:
    def auth(token: str) -> tuple[tuple[str, str], ...]:
        return (("Authorization", f"Bearer {token}"),)

    student = auth(catalog.student_token)
    learners = learning.student_tokens
    text_lessons = learning.lesson_ids[1:]
    # Each request is a first completion: students in turn, each on the next text lesson.
    complete = tuple(
        (f"{API}/lessons/{text_lessons[round_ % len(text_lessons)]}/complete", auth(token), None)
        for round_ in range(len(text_lessons))
        for token in learners
    )
    heartbeat = tuple(
        (
            f"{API}/lessons/{learning.video_lesson_id}/position",
            auth(token),
            {"position_seconds": 30 + n % 400, "duration_seconds": 600},
        )
        for n, token in enumerate(learners)
    )
    return [
        HotScenario(
            Scenario("catalog_page_student", "GET", f"{API}/courses?limit=20&level=intermediate", student),
            cached=True,
        ),
        HotScenario(
            Scenario("catalog_page_anonymous", "GET", f"{API}/courses?limit=20&level=intermediate"),
            cached=True,
        ),
        HotScenario(
            Scenario("course_detail", "GET", f"{API}/courses/{catalog.detail_slug}", student), cached=True
        ),
        HotScenario(
            Scenario(
                "lesson_page",
                "GET",
                "",
                variants=tuple(
                    (f"{API}/lessons/{text_lessons[n % len(text_lessons)]}", auth(token), None)
                    for n, token in enumerate(learners)
                ),
            )
        ),
        HotScenario(Scenario("lesson_complete", "POST", "", variants=complete), writes=True),
        HotScenario(Scenario("video_heartbeat", "PUT", "", variants=heartbeat), writes=True),
        HotScenario(Scenario("auth_me", "GET", f"{API}/auth/me", auth(learners[0]))),
    ]


@contextlib.contextmanager
def serving_reference(
    database_url: str, application: str = "benchmarks.reference:app", *, startup_timeout: float = 30
) -> Iterator[str]:
    """The reference app (or another raw app, `module:attribute`) under uvicorn, one process,
    like StudyHall."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": BENCH_SECRET}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            application,
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=startup_timeout)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def reset_progress(url: str) -> None:
    """Back to "nobody has completed anything", once the requests still in flight from the
    previous run have finished (a load generator stops sending, not the server working)."""
    await asyncio.sleep(2)
    engine = create_async_engine(url)
    try:
        if engine.dialect.name == "sqlite":  # one writer at a time: no table locks to take
            async with engine.begin() as conn:
                for statement in RESET_PROGRESS:
                    await conn.exec_driver_sql(statement)
                await conn.exec_driver_sql("ANALYZE")
            return
        async with engine.begin() as conn:
            await conn.exec_driver_sql(
                "LOCK TABLE enrollments, lesson_completions, video_positions, outbox_events"
            )
            for statement in RESET_PROGRESS:
                await conn.exec_driver_sql(statement)
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("VACUUM ANALYZE lesson_completions, video_positions, enrollments")
    finally:
        await engine.dispose()


def _figures(measured: Measurement) -> str:
    return f"{measured.rps:>8.0f} {measured.p50:>7.1f} {measured.p99:>7.1f} {measured.errors:>5}"


def _ratio(ours: Measurement, other: Measurement) -> float:
    return ours.rps / other.rps if other.rps else float("nan")


def row(name: str, ours: Measurement, reference: Measurement, embedded: Measurement | None = None) -> str:
    line = f"{name:<34} {_figures(ours)}   {_figures(reference)}   {_ratio(ours, reference):>5.2f}"
    if embedded is not None:
        line += f"   {_figures(embedded)}   {_ratio(embedded, ours):>6.2f}"
    return line


_COLUMNS = f"{'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'err':>5}"


def header(sqlite: bool) -> str:
    titles = f"{'':<34} {'StudyHall':^30}   {'raw reference':^30}"
    columns = f"{'endpoint':<34} {_COLUMNS}   {_COLUMNS}   {'ratio':>5}"
    if sqlite:
        titles += f"   {'':5}   {'StudyHall on SQLite':^30}"
        columns += f"   {_COLUMNS}   {'SQL/PG':>6}"
    return f"{titles}\n{columns}"


async def copy_into_sqlite(source_url: str, path: Path) -> str:
    """A migrated SQLite file holding every row of the seeded PostgreSQL database: the same
    ids, so the same requests and tokens serve both."""
    target_url = f"sqlite+aiosqlite:///{path}"
    await upgrade(target_url)
    source, target = create_async_engine(source_url), create_async_engine(target_url)
    try:
        async with source.connect() as reading, target.begin() as writing:
            for table in metadata.sorted_tables:
                rows = [dict(r) for r in (await reading.execute(table.select())).mappings()]
                for start in range(0, len(rows), 5_000):
                    await writing.execute(table.insert(), rows[start : start + 5_000])
            await writing.exec_driver_sql("ANALYZE")
    finally:
        await source.dispose()
        await target.dispose()
    return target_url


@contextlib.contextmanager
def serving_embedded(sqlite_url: str | None, data_dir: Path) -> Iterator[str | None]:
    if sqlite_url is None:
        yield None
        return
    with serving(sqlite_url, data_dir) as base_url:
        yield base_url


async def measure_on(url: str, base_url: str, hot: HotScenario, args: argparse.Namespace) -> Measurement:
    if hot.writes:
        await reset_progress(url)
    return await measure_scenario(
        hot.scenario, base_url, concurrency=args.concurrency, duration=args.duration
    )


async def compare(args: argparse.Namespace) -> None:
    server = PostgresServer().start()
    data_dir = Path(tempfile.mkdtemp(prefix="studyhall-compare-"))
    try:
        url = server.create_database("bench_compare")
        await upgrade(url)
        learning = await seed_learning(url, enrollments=args.enrollments)
        catalog = await seed_catalog(url, args.courses, args.courses * ENROLLMENTS_PER_STUDENT)
        scenarios = [
            s for s in hot_scenarios(learning, catalog) if not args.only or s.scenario.name in args.only
        ]
        sqlite_url = await copy_into_sqlite(url, data_dir / "embedded.db") if args.sqlite else None
        with (
            serving(url, data_dir) as ours_url,
            serving(url, data_dir, {"CACHE_TTL_SECONDS": "0"}) as uncached_url,
            serving_reference(url) as reference_url,
            serving_embedded(sqlite_url, data_dir / "embedded") as embedded_url,
        ):
            print(
                f"{args.courses} courses, {args.enrollments} enrolled; one process each; "
                f"concurrency {args.concurrency}, {args.duration:.0f} s per run\n"
                "StudyHall's cache is warm (a hit per request) unless the row says (no cache): "
                "CACHE_TTL_SECONDS=0, a miss per request\n"
                f"{header(args.sqlite)}",
                flush=True,
            )
            for hot in scenarios:
                runs = [(hot.scenario.name, ours_url)]
                if hot.cached:
                    runs.append((f"{hot.scenario.name} (no cache)", uncached_url))
                for name, studyhall_url in runs:
                    results = [
                        await measure_on(url, studyhall_url, hot, args),
                        await measure_on(url, reference_url, hot, args),
                    ]
                    if sqlite_url is not None and embedded_url is not None and studyhall_url == ours_url:
                        results.append(await measure_on(sqlite_url, embedded_url, hot, args))
                    print(row(name, *results), flush=True)
    finally:
        server.remove()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--courses", type=int, default=1000, help="published courses in the catalog")
    parser.add_argument(
        "--sqlite", action="store_true", help="also run StudyHall on an SQLite copy of the data (--compare)"
    )


if __name__ == "__main__":
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--duration", type=float, default=10.0)
    cli.add_argument("--concurrency", type=int, default=32)
    cli.add_argument("--enrollments", type=int, default=10_000)
    cli.add_argument("--only", action="append")
    add_arguments(cli)
    asyncio.run(compare(cli.parse_args()))
