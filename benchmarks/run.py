"""Load benchmarks against a real server on a real PostgreSQL.

    ./dev bench                      # every scenario
    ./dev bench --only health_live   # one scenario
    ./dev bench --duration 20 --concurrency 32
    ./dev bench --only auth_me_under_login   # GET /auth/me p99 alone vs during logins
    ./dev bench --only lesson_complete --only video_heartbeat --enrollments 10000
    ./dev bench --compare            # hot endpoints vs the raw reference, with ratios
    ./dev bench --events             # relay + workers on RabbitMQ (benchmarks/events.py)
    ./dev bench --ingest             # POST /events, broker mode, 1 and 2 workers (benchmarks/ingest.py)
    ./dev bench --sockets 1000       # one announcement to 1,000 open sockets (benchmarks/sockets.py)
    ./dev bench --insights           # course/organisation analytics over 1M events (benchmarks/insights.py)

Starts a throwaway PostgreSQL (from the installed binaries), migrates it, seeds a
published course with `--enrollments` enrolled students (default 10,000; see
benchmarks/learning.py) for the learning scenarios (lesson complete, video heartbeat and a
roster page, rotating over 500 students' tokens), boots
`studyhall serve` in a subprocess and drives it with `wrk` (Debian package `wrk`) when it
is installed, else with a built-in async HTTP load generator, printing requests/s and
latency percentiles per scenario.

Catalog scenarios (catalog page of 20 for a signed-in student with a filter, tag filter,
text search, course detail) run on freshly seeded databases of 1,000 and 10,000 published
courses with 10 enrollments per course (`--catalog-sizes 1000,10000`); `--explain` prints
the PostgreSQL plans of the catalog queries. On a small machine the generator competes with the
server for CPU: compare figures from one run (ratios), not across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from tests.servers import PostgresServer, free_port, wait_for_port

from benchmarks.learning import BENCH_SECRET, LearningSeed, learning_scenarios, seed_learning
from studyhall.core.migrate import upgrade

Request = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


Variant = tuple[str, tuple[tuple[str, str], ...], object | None]  # path, headers, JSON body


@dataclass(frozen=True)
class Scenario:
    """One request, or `variants` (path, headers, body) sent in rotation (many users)."""

    name: str
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: object | None = None
    variants: tuple[Variant, ...] = ()

    def all_variants(self) -> tuple[Variant, ...]:
        return self.variants or ((self.path, self.headers, self.body),)

    def sender(self) -> Request:
        rotation = itertools.cycle(self.all_variants())

        def send(client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
            path, headers, body = next(rotation)
            return client.request(self.method, path, headers=dict(headers), json=body)

        return send

    def wrk_script(self) -> str:
        lines = ["local requests = {}", "function init(args)"]
        for path, headers, body in self.all_variants():
            header_table = dict(headers)
            if body is not None:
                header_table["Content-Type"] = "application/json"
            lua_headers = ", ".join(f'["{k}"] = "{v}"' for k, v in header_table.items())
            lua_body = json.dumps(json.dumps(body)) if body is not None else "nil"
            request = f'wrk.format("{self.method}", "{path}", {{{lua_headers}}}, {lua_body})'
            lines.append(f"  requests[#requests + 1] = {request}")
        lines += [
            "end",
            "local i = 0",
            "function request()",
            "  i = i % #requests + 1",
            "  return requests[i]",
            "end",
        ]
        return "\n".join(lines) + "\n"


@dataclass
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]

    def line(self) -> str:
        rps = self.requests / self.seconds if self.seconds else 0.0
        mean = statistics.fmean(self.latencies_ms) if self.latencies_ms else float("nan")
        return (
            f"{self.name:<28} {rps:>9.1f} req/s  p50 {self.percentile(50):7.2f} ms  "
            f"p99 {self.percentile(99):7.2f} ms  mean {mean:7.2f} ms  errors {self.errors}"
        )


async def load(name: str, base_url: str, request: Request, *, concurrency: int, duration: float) -> Result:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                try:
                    response = await request(client)
                    ok = response.status_code < 400
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - began) * 1000)
                errors += 0 if ok else 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return Result(name, len(latencies), errors, elapsed, latencies)


BENCH_EMAIL = "bench@example.com"
BENCH_PASSWORD = "benchmark passphrase 0123"  # noqa: S105


async def create_bench_user(base_url: str) -> str:
    """Registers the benchmark user through the API and returns an access token."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        registered = await client.post(
            "/api/v1/auth/register",
            json={"email": BENCH_EMAIL, "password": BENCH_PASSWORD, "full_name": "Bench Mark"},
        )
        registered.raise_for_status()
        pair = await client.post(
            "/api/v1/auth/login", json={"email": BENCH_EMAIL, "password": BENCH_PASSWORD}
        )
        pair.raise_for_status()
        token: str = pair.json()["access_token"]
        return token


def scenarios(access_token: str, seed: LearningSeed | None = None) -> list[Scenario]:
    found = [
        Scenario("health_live", "GET", "/health/live"),
        Scenario("health", "GET", "/health"),
        Scenario("auth_me", "GET", "/api/v1/auth/me", headers=(("Authorization", f"Bearer {access_token}"),)),
        # Last: logins still hashing when the load stops would slow the next scenario.
        Scenario(
            "auth_login",
            "POST",
            "/api/v1/auth/login",
            body={"email": BENCH_EMAIL, "password": BENCH_PASSWORD},
        ),
    ]
    if seed is not None:
        found += learning_scenarios(seed)
    return found


async def me_under_login_load(
    base_url: str, access_token: str, *, concurrency: int, duration: float
) -> list[str]:
    """`GET /auth/me` p99 alone, then while logins (Argon2id in the thread pool) run at the
    same time: shows whether password hashing stalls the event loop for other requests."""
    by_name = {s.name: s for s in scenarios(access_token)}
    me, login = by_name["auth_me"], by_name["auth_login"]
    me_workers = max(1, concurrency // 2)
    # Also lets logins still hashing from an earlier scenario finish.
    await load("warm-up", base_url, me.sender(), concurrency=me_workers, duration=3.0)
    alone = await load("auth_me alone", base_url, me.sender(), concurrency=me_workers, duration=duration)
    mixed_me, mixed_login = await asyncio.gather(
        load("auth_me + logins", base_url, me.sender(), concurrency=me_workers, duration=duration),
        load(
            "  logins alongside",
            base_url,
            login.sender(),
            concurrency=max(1, concurrency // 4),
            duration=duration,
        ),
    )
    rise = mixed_me.percentile(99) / alone.percentile(99) if alone.percentile(99) else float("nan")
    return [
        alone.line() + "  (python)",
        mixed_me.line() + "  (python)",
        mixed_login.line() + "  (python)",
        f"auth_me p99 rises x{rise:.2f} while logins run",
    ]


def catalog_scenarios(data: CatalogData) -> list[Scenario]:
    auth = (("Authorization", f"Bearer {data.student_token}"),)
    return [
        Scenario(
            "catalog_page_filtered", "GET", "/api/v1/courses?limit=20&level=intermediate&sort=popular", auth
        ),
        Scenario("catalog_page_tag_newest", "GET", "/api/v1/courses?limit=20&tag=python", auth),
        Scenario("catalog_search", "GET", "/api/v1/courses?limit=20&q=python", auth),
        Scenario("course_detail", "GET", f"/api/v1/courses/{data.detail_slug}", auth),
        # The same page over REST and over GraphQL (with the instructors' names, one round trip).
        Scenario("catalog_page_rest", "GET", "/api/v1/courses?limit=20", auth),
        Scenario("catalog_page_graphql", "POST", "/graphql", auth, body={"query": GRAPHQL_CATALOG_PAGE}),
    ]


GRAPHQL_CATALOG_PAGE = """{
  courses(limit: 20) {
    total limit offset
    items {
      id slug title subtitle description category tags skills level language status visibility
      durationMinutes priceCents currency certificateEnabled lessonCount enrollmentCount
      createdAt updatedAt publishedAt isEnrolled progressPercent
      instructors { id fullName }
    }
  }
}"""
#: Printed as the ratio of their p50 latencies (the GraphQL page should stay within 1.3x).
COMPARED_PAGES = ("catalog_page_graphql", "catalog_page_rest")


@dataclass(frozen=True)
class CatalogData:
    student_token: str
    detail_slug: str
    explain: str


CATEGORIES = ("programming", "data", "design", "business", "languages", "science", "writing", "music")
LEVELS = ("beginner", "intermediate", "advanced")
WORDS = ("python", "data", "rust", "design", "sql", "statistics", "writing", "music", "physics", "spanish")
ENROLLMENTS_PER_STUDENT = 10


async def seed_catalog(url: str, courses: int, enrollments: int) -> CatalogData:
    """`courses` published courses (10 lessons each on the first 100), `enrollments` active
    enrollments spread over `enrollments / 10` students: bulk inserts (executemany batches)."""
    import uuid
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import func, insert, select, update
    from sqlalchemy.ext.asyncio import create_async_engine

    from benchmarks.sessions import mint_token, session_rows
    from studyhall.catalog.models import Course, Lesson
    from studyhall.catalog.policies import PUBLIC
    from studyhall.catalog.queries import CatalogQuery, catalog_statements
    from studyhall.core.security import TokenCodec
    from studyhall.identity.models import AuthSession, User
    from studyhall.learning.models import Enrollment
    from studyhall.models import metadata  # noqa: F401 (every table registered)

    started = time.perf_counter()
    engine = create_async_engine(url)
    now = datetime.now(UTC)
    teacher_id = uuid.uuid4()
    students = [uuid.uuid4() for _ in range(max(1, enrollments // ENROLLMENTS_PER_STUDENT))]
    course_ids = [uuid.uuid4() for _ in range(courses)]
    async with engine.begin() as conn:
        await conn.execute(
            insert(User),
            [
                {
                    "id": teacher_id,
                    "email": "teacher@bench.test",
                    "full_name": "Teacher",
                    "role": "instructor",
                    "is_active": True,
                    "email_verified": True,
                    "token_generation": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            ]
            + [
                {
                    "id": student,
                    "email": f"s{n}@bench.test",
                    "full_name": f"Student {n}",
                    "role": "student",
                    "is_active": True,
                    "email_verified": True,
                    "token_generation": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for n, student in enumerate(students)
            ],
        )
        await conn.execute(
            insert(Course),
            [
                {
                    "id": course_id,
                    "slug": f"course-{n}",
                    "title": f"{WORDS[n % 10].title()} course {n}",
                    "subtitle": None,
                    "description": f"Learn {WORDS[(n * 7) % 10]} and {WORDS[(n * 3) % 10]}",
                    "category": CATEGORIES[n % len(CATEGORIES)],
                    "tags": [WORDS[n % 10], WORDS[(n * 7) % 10]],
                    "skills": [WORDS[(n * 3) % 10]],
                    "level": LEVELS[n % 3],
                    "language": "en",
                    "duration_minutes": 60,
                    "price_cents": 0 if n % 4 else 1900,
                    "currency": "USD",
                    "visibility": "public",
                    "status": "draft" if n % 10 == 5 else "published",
                    "organization_id": None,
                    "owner_id": teacher_id,
                    "certificate_enabled": False,
                    "published_at": now - timedelta(minutes=n),
                    "lesson_count": 10 if n < 100 else 0,
                    "enrollment_count": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for n, course_id in enumerate(course_ids)
            ],
        )
        await conn.execute(
            insert(Lesson),
            [
                {
                    "id": uuid.uuid4(),
                    "course_id": course_ids[c],
                    "module_id": None,
                    "title": f"Lesson {p}",
                    "type": "text",
                    "content": "# Lesson",
                    "content_html": "<h1>Lesson</h1>\n",
                    "duration_minutes": 5,
                    "is_preview": p == 0,
                    "position": p,
                    "version": 1,
                    "extra": {},
                    "created_at": now,
                    "updated_at": now,
                }
                for c in range(min(100, courses))
                for p in range(10)
            ],
        )
        rows = [
            {
                "id": uuid.uuid4(),
                "user_id": student,
                "course_id": course_ids[(n * 7 + k * 997) % courses],
                "status": "active",
                "enrolled_at": now,
            }
            for n, student in enumerate(students)
            for k in range(ENROLLMENTS_PER_STUDENT)
        ]
        await conn.execute(insert(AuthSession), session_rows(students[:1]))
        for start in range(0, len(rows), 10_000):
            await conn.execute(insert(Enrollment), rows[start : start + 10_000])
        counts = (
            select(Enrollment.course_id, func.count().label("n")).group_by(Enrollment.course_id).subquery()
        )
        await conn.execute(
            update(Course).where(Course.id == counts.c.course_id).values(enrollment_count=counts.c.n)
        )
    async with engine.begin() as conn:  # committed: planner statistics, as autovacuum would leave them
        await conn.exec_driver_sql("ANALYZE")
    explained = (
        CatalogQuery(level="intermediate", sort="popular"),  # type: ignore[arg-type]
        CatalogQuery(tag="python"),
        CatalogQuery(q="python"),
    )
    plan: list[str] = []
    async with engine.connect() as conn:
        for query in explained if engine.dialect.name == "postgresql" else ():  # plans: PostgreSQL's
            statements, values = catalog_statements("postgresql", PUBLIC, query)
            for shown in (
                statements.page.params(values, limit=20, offset=0),
                statements.count.params(values),
            ):
                compiled = shown.compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
                plan.append(f"-- {query}")
                plan.extend((await conn.exec_driver_sql(f"EXPLAIN ANALYZE {compiled}")).scalars().all())
    await engine.dispose()
    print(
        f"seeded {courses} courses, {len(rows)} enrollments, {len(students)} students "
        f"in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    token = mint_token(TokenCodec(BENCH_SECRET), students[0], "student")
    return CatalogData(student_token=token, detail_slug="course-1", explain="\n".join(plan))


_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk_ms(text: str, label: str) -> float:
    match = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    return float(match.group(1)) * _WRK_UNITS[match.group(2)] if match else float("nan")


@dataclass(frozen=True)
class Measurement:
    name: str
    rps: float
    p50: float
    p99: float
    errors: int
    tool: str

    def line(self) -> str:
        return (
            f"{self.name:<28} {self.rps:>9.1f} req/s  p50 {self.p50:7.2f} ms  p99 {self.p99:7.2f} ms  "
            f"errors {self.errors}  ({self.tool})"
        )


def run_wrk(scenario: Scenario, base_url: str, *, concurrency: int, duration: float) -> Measurement:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(scenario.wrk_script())
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{concurrency}",
            f"-d{max(1, int(duration))}s",
            "--latency",
            "-s",
            script.name,
            base_url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return Measurement(
        scenario.name,
        float(rps.group(1)) if rps else 0.0,
        _wrk_ms(out, "50%"),
        _wrk_ms(out, "99%"),
        int(non_2xx.group(1)) if non_2xx else 0,
        "wrk",
    )


async def measure_scenario(
    scenario: Scenario, base_url: str, *, concurrency: int, duration: float
) -> Measurement:
    """Warm up for a second (connection pools, statement caches), then measure: with `wrk`
    when installed (Debian package `wrk`), else with the built-in async load generator."""
    send = scenario.sender()
    await load(scenario.name, base_url, send, concurrency=concurrency, duration=1.0)
    if shutil.which("wrk"):
        return await asyncio.to_thread(
            run_wrk, scenario, base_url, concurrency=concurrency, duration=duration
        )
    result = await load(scenario.name, base_url, send, concurrency=concurrency, duration=duration)
    return Measurement(
        scenario.name,
        result.requests / result.seconds if result.seconds else 0.0,
        result.percentile(50),
        result.percentile(99),
        result.errors,
        "python",
    )


async def measure(scenario: Scenario, base_url: str, *, concurrency: int, duration: float) -> str:
    return (await measure_scenario(scenario, base_url, concurrency=concurrency, duration=duration)).line()


def boot_server(
    database_url: str, data_dir: Path, settings: dict[str, str] | None = None, *, startup_timeout: float = 120
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(data_dir),
        "ENVIRONMENT": "production",
        "SECRET_KEY": BENCH_SECRET,
        "LOG_LEVEL": "WARNING",
        # Limits stay on (their cost is part of the figures) but never trip here.
        "RATE_LIMIT_LOGIN": "1000000/minute",
        "RATE_LIMIT_REGISTER": "1000000/minute",
        **(settings or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "studyhall.cli", "serve", "--port", str(port), "--no-migrate"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=startup_timeout)
    except TimeoutError:  # never leave a server behind
        process.terminate()
        process.wait(timeout=10)
        raise
    return process, f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def serving(
    database_url: str, data_dir: Path, settings: dict[str, str] | None = None, *, startup_timeout: float = 120
) -> Iterator[str]:
    """`studyhall serve` on the database for the duration of the block (with these extra
    settings, as environment variables); yields its base URL."""
    process, base_url = boot_server(database_url, data_dir, settings, startup_timeout=startup_timeout)
    try:
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    parser.add_argument("--concurrency", type=int, help="connections (default 16; 32 with --compare)")
    parser.add_argument("--only", action="append", help="run only these scenarios")
    parser.add_argument("--enrollments", type=int, default=10_000, help="students enrolled in the course")
    parser.add_argument(
        "--catalog-sizes",
        default="1000,10000",
        help="course counts to seed for the catalog scenarios (10 enrollments per course); empty: skip",
    )
    parser.add_argument("--explain", action="store_true", help="print the catalog query plan")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="the hot endpoints side by side with the raw reference (benchmarks/compare.py)",
    )
    compare_arguments(parser)
    events_arguments(parser)
    sockets_arguments(parser)
    ingest_arguments(parser)
    insights_arguments(parser)
    args = parser.parse_args()
    if args.ingest:
        await bench_ingest(args)
        return
    if args.events:
        await bench_events(args)
        return
    if args.sockets:
        await bench_sockets(args)
        return
    if args.insights:
        await bench_insights(args)
        return
    if args.compare:
        args.concurrency = args.concurrency or 32
        await compare(args)
        return
    args.concurrency = args.concurrency or 16

    server = PostgresServer().start()
    data_dir = Path(tempfile.mkdtemp(prefix="studyhall-bench-"))
    try:
        url = server.create_database("bench")
        await upgrade(url)
        seed = await seed_learning(url, enrollments=args.enrollments)
        with serving(url, data_dir) as base_url:
            print(f"server on {base_url}, PostgreSQL on port {server.port}, concurrency {args.concurrency}")
            access_token = await create_bench_user(base_url)
            for scenario in scenarios(access_token, seed):
                if args.only and scenario.name not in args.only:
                    continue
                line = await measure(scenario, base_url, concurrency=args.concurrency, duration=args.duration)
                print(line, flush=True)
            if not args.only or "auth_me_under_login" in args.only:
                for line in await me_under_login_load(
                    base_url, access_token, concurrency=args.concurrency, duration=args.duration
                ):
                    print(line, flush=True)
        for size in [int(n) for n in args.catalog_sizes.split(",") if n.strip()]:
            await bench_catalog(server, data_dir, size, args)
    finally:
        server.remove()


async def bench_catalog(server: PostgresServer, data_dir: Path, size: int, args: argparse.Namespace) -> None:
    url = server.create_database(f"bench_catalog_{size}")
    await upgrade(url)
    data = await seed_catalog(url, size, size * ENROLLMENTS_PER_STUDENT)
    if args.explain:
        print(data.explain, flush=True)
    with serving(url, data_dir) as base_url:
        chosen = [s for s in catalog_scenarios(data) if not args.only or s.name in args.only]
        compared = [s for name in COMPARED_PAGES for s in chosen if s.name == name]
        if len(compared) < len(COMPARED_PAGES):
            compared = []  # one of the pair alone is measured like the others
        for scenario in chosen:
            if scenario in compared:
                continue  # measured in alternating rounds below
            measurement = await measure_scenario(
                scenario, base_url, concurrency=args.concurrency, duration=args.duration
            )
            print(f"[{size:>6} courses] {measurement.line()}", flush=True)
        if compared:
            await compare_pages(size, compared, base_url, args)


#: Rounds of the compared pages: each round measures both, one after the other.
COMPARE_ROUNDS = 5


async def compare_pages(size: int, pages: list[Scenario], base_url: str, args: argparse.Namespace) -> None:
    """The GraphQL and REST catalog pages in alternating rounds (a shared machine's load
    shifts from one minute to the next, so only figures measured close together compare):
    both measurements and their ratio of p50s per round, then the median ratio. The order
    flips every round (GraphQL first, then REST first, ...), so a machine that speeds up or
    slows down during the run does not favour the page measured second."""
    ratios = []
    for number in range(1, COMPARE_ROUNDS + 1):
        order = pages if number % 2 else pages[::-1]
        measured = {
            page.name: await measure_scenario(
                page, base_url, concurrency=args.concurrency, duration=args.duration
            )
            for page in order
        }
        graphql_page, rest_page = (measured[page.name] for page in pages)
        for measurement in (graphql_page, rest_page):
            print(f"[{size:>6} courses] round {number}: {measurement.line()}", flush=True)
        if rest_page.p50:
            ratios.append(graphql_page.p50 / rest_page.p50)
            print(f"[{size:>6} courses] round {number}: catalog page p50, GraphQL / REST: x{ratios[-1]:.2f}")
    if ratios:
        print(
            f"[{size:>6} courses] catalog page p50, GraphQL / REST, median of the rounds: "
            f"x{statistics.median(ratios):.2f} (load average {os.getloadavg()[0]:.1f})",
            flush=True,
        )


if __name__ == "__main__":
    from benchmarks.compare import add_arguments as compare_arguments
    from benchmarks.compare import compare
    from benchmarks.events import add_arguments as events_arguments
    from benchmarks.events import bench_events
    from benchmarks.ingest import add_arguments as ingest_arguments
    from benchmarks.ingest import bench_ingest
    from benchmarks.insights import add_arguments as insights_arguments
    from benchmarks.insights import bench_insights
    from benchmarks.sockets import add_arguments as sockets_arguments
    from benchmarks.sockets import bench_sockets

    asyncio.run(main())
