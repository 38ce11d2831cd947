"""The catalog page over REST and over GraphQL, in process, interleaved (no server, no network).

    ./dev run python -m benchmarks.graphql_page                    # SQLite, 1,000 courses
    ./dev run python -m benchmarks.graphql_page --postgresql       # a throwaway PostgreSQL
    ./dev run python -m benchmarks.graphql_page --rounds 5 --iterations 200
    ./dev run python -m benchmarks.graphql_page --profile /tmp/graphql.html   # pyinstrument

Each round times `--iterations` requests of each page through the ASGI app (httpx's
ASGITransport), alternating REST and GraphQL request by request so both see the same load
on a shared machine, and prints both p50s and their ratio (the goal: at most 1.3), with the
load average; then the same for the CPU time each request took in this process, which other
processes on the machine disturb less than elapsed time. `--profile` instead profiles the
GraphQL page alone with pyinstrument.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from tests.servers import PostgresServer

from benchmarks.learning import BENCH_SECRET
from benchmarks.run import ENROLLMENTS_PER_STUDENT, GRAPHQL_CATALOG_PAGE, seed_catalog
from studyhall.config import Settings
from studyhall.core.migrate import upgrade
from studyhall.main import create_app

REST_PAGE = "/api/v1/courses?limit=20"


async def timed(send: httpx.AsyncClient, method: str, path: str, body: object | None) -> tuple[float, float]:
    """Milliseconds of one request: elapsed, and CPU time of this process (its threads too)."""
    began, began_cpu = time.perf_counter(), time.process_time()
    response = await send.request(method, path, json=body)
    elapsed, cpu = (time.perf_counter() - began) * 1000, (time.process_time() - began_cpu) * 1000
    if response.status_code != 200 or "errors" in response.json():
        raise SystemExit(f"{path}: {response.status_code} {response.text[:500]}")
    return elapsed, cpu


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--courses", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--profile", type=Path, help="write a pyinstrument HTML profile of the GraphQL page")
    parser.add_argument(
        "--postgresql", action="store_true", help="on a throwaway PostgreSQL instead of SQLite"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory, database(args.postgresql, directory) as url:
        await upgrade(url)
        data = await seed_catalog(url, args.courses, args.courses * ENROLLMENTS_PER_STUDENT)
        settings = Settings(
            environment="test",
            secret_key=BENCH_SECRET,
            database_url=url,
            data_dir=Path(directory),
            outbox_dispatcher_enabled=False,
            log_level="WARNING",
        )  # type: ignore[call-arg]
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            headers = {"Authorization": f"Bearer {data.student_token}"}
            client = httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers)
            async with client:
                graphql = ("POST", "/graphql", {"query": GRAPHQL_CATALOG_PAGE})
                rest = ("GET", REST_PAGE, None)
                for _ in range(20):  # warm-up: caches, compiled statements, validated document
                    await timed(client, *rest)
                    await timed(client, *graphql)
                if args.profile:
                    await profile(client, graphql, args.iterations, args.profile)
                    return
                for round_number in range(1, args.rounds + 1):
                    await one_round(client, rest, graphql, args.iterations, round_number)


@contextmanager
def database(postgresql: bool, directory: str) -> Iterator[str]:
    if not postgresql:
        yield f"sqlite+aiosqlite:///{directory}/bench.db"
        return
    server = PostgresServer().start()
    try:
        yield server.create_database("bench_graphql_page")
    finally:
        server.remove()


async def one_round(
    client: httpx.AsyncClient,
    rest: tuple[str, str, object | None],
    graphql: tuple[str, str, object | None],
    iterations: int,
    number: int,
) -> None:
    rest_ms: list[tuple[float, float]] = []
    graphql_ms: list[tuple[float, float]] = []
    for _ in range(iterations):
        rest_ms.append(await timed(client, *rest))
        graphql_ms.append(await timed(client, *graphql))
    rest_p50, graphql_p50 = (statistics.median(wall for wall, _ in ms) for ms in (rest_ms, graphql_ms))
    rest_cpu, graphql_cpu = (statistics.median(cpu for _, cpu in ms) for ms in (rest_ms, graphql_ms))
    load = os.getloadavg()[0]
    print(
        f"round {number}: REST p50 {rest_p50:6.2f} ms  GraphQL p50 {graphql_p50:6.2f} ms  "
        f"ratio {graphql_p50 / rest_p50:4.2f}  (load average {load:.1f}); CPU time p50: "
        f"REST {rest_cpu:5.2f} ms  GraphQL {graphql_cpu:5.2f} ms  ratio {graphql_cpu / rest_cpu:4.2f}",
        flush=True,
    )


async def profile(
    client: httpx.AsyncClient, graphql: tuple[str, str, object | None], iterations: int, output: Path
) -> None:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0002, async_mode="enabled")
    with profiler:
        for _ in range(iterations):
            await timed(client, *graphql)
    await asyncio.to_thread(output.write_text, profiler.output_html())
    print(profiler.output_text(unicode=False, color=False, show_all=False))


if __name__ == "__main__":
    asyncio.run(main())
