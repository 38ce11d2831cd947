"""Event transport benchmark: relay + workers on PostgreSQL and RabbitMQ (`./dev bench --events`).

Starts a throwaway PostgreSQL and RabbitMQ, one `studyhall relay` process and one or two
worker processes (`run_worker` with a no-op handler added to the real table), and writes
events into the outbox from this process, committed in small transactions:

- throughput: `--events-count` events written as fast as possible while the relay and the
  workers run; events/s = count / (last handled - first committed), with one worker and
  again with two;
- latency: `--events-rate` events/s for `--events-seconds`, paced in 10 ms ticks; latency
  = handled - written per event (p50, p99, max).

"Written" is the event's `created_at` (set in the writer's transaction, just before its
commit); "handled" is the `processed_at` of the handler's processed-events row, stamped in
the handler's own transaction, which then commits (in a batch: stamped when the batch's
transaction starts, which commits a few milliseconds later). The relay polls every 50 ms
when idle (`OUTBOX_POLL_INTERVAL`; the API processes' relay is woken by their own commits
instead). The throughput line also says when the last event was written and relayed, so a
run shows which stage bounds it.

Figures on the 2-core development machine, shared with other test runs (load average 3 to 5
during the runs; they vary by a third from run to run), `./dev bench --events` (20,000
events; 500/s for 20 s), worker prefetch 256, relay batch 500:

- one event per transaction (before batches): 1 worker 231 events/s, 2 workers 283/s, p99
  12.5 s at 500/s; under py-spy: 194/s, 194/s, p50 7.8 s / p99 9.6 s (the writer at 240/s);
- batches (`HandlerRunner.run_batch`), three runs: 1 worker 725, 568 and (under py-spy)
  610 events/s; 2 workers 245, 849 and (under py-spy) 414/s; at 500/s (the writer reached
  436/s and 460/s) p50 221 ms / p99 907 ms, then p50 1,060 ms / p99 2,950 ms.

Targets: >= 2,000 events/s, p99 < 1 s at 500/s. With batches the worker keeps up with the
relay in every run (the last event is handled within 0.1 to 0.25 s of being relayed): the
relay is now the bound, and a second worker adds nothing it can use. Its cost is per AMQP
message (aio-pika/aiormq framing, one socket write and one confirm per message: about two
thirds of its profile), as is most of what remains of the worker's (frame parsing, a task per
delivery). The writer wrote 1,850 to 3,700 events/s in these runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.servers import PostgresServer, RabbitMQServer

from studyhall.config import Settings
from studyhall.core.db import Database
from studyhall.core.delivery import ProcessedEvent
from studyhall.core.events import Event, HandlerRegistry, OutboxEvent, emit
from studyhall.core.migrate import upgrade
from studyhall.subscribers import handler_registry

TICK = "bench.tick"
BENCH_SECRET = "benchmark-secret-key-0123456789abcdef-0123456789"  # noqa: S105 (throwaway)


async def bench_noop(event: Event, session: AsyncSession) -> None:
    """The benchmark's handler: its cost is the transport's (processed row, commit, ack)."""


def bench_registry() -> HandlerRegistry:
    registry = handler_registry()
    registry.on(TICK)(bench_noop)
    return registry


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", action="store_true", help="the event transport benchmark")
    parser.add_argument("--events-count", type=int, default=20_000, help="events for the throughput runs")
    parser.add_argument("--events-rate", type=int, default=500, help="events/s for the latency run")
    parser.add_argument("--events-seconds", type=float, default=20.0, help="length of the latency run")
    parser.add_argument(
        "--events-runs",
        default="1,latency,2",
        help="which runs, comma-separated: 1 (one worker), latency (one worker), 2 (two workers)",
    )


def _environment(database_url: str, broker_url: str, namespace: str) -> dict[str, str]:
    return {
        **os.environ,
        "ENVIRONMENT": "production",
        "SECRET_KEY": BENCH_SECRET,
        "DATABASE_URL": database_url,
        "BROKER_URL": broker_url,
        "BROKER_NAMESPACE": namespace,
        "BROKER_PREFETCH": "256",
        "DATABASE_POOL_SIZE": "20",
        "OUTBOX_BATCH_SIZE": "500",
        "OUTBOX_POLL_INTERVAL": "0.05",
        "LOG_LEVEL": "WARNING",
    }


@contextmanager
def transport(database_url: str, broker_url: str, namespace: str, workers: int) -> Iterator[None]:
    env = _environment(database_url, broker_url, namespace)
    processes = [subprocess.Popen([sys.executable, "-m", "studyhall.cli", "relay"], env=env)]
    processes += [
        subprocess.Popen([sys.executable, "-m", "benchmarks.events", "worker"], env=env)
        for _ in range(workers)
    ]
    try:
        time.sleep(15)  # imports and connections, on a busy machine
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)


async def _write(database: Database, count: int) -> None:
    async with database.sessionmaker() as session, session.begin():
        for n in range(count):
            emit(session, TICK, {"n": n})


async def _handled(database: Database) -> int:
    async with database.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(ProcessedEvent)) or 0)


async def _wait_handled(database: Database, total: int, limit_seconds: float = 300) -> None:
    deadline = time.monotonic() + limit_seconds
    while await _handled(database) < total:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {await _handled(database)} of {total} handled")
        await asyncio.sleep(0.2)


async def _latencies(database: Database) -> list[float]:
    async with database.sessionmaker() as session:
        rows = await session.execute(
            select(OutboxEvent.created_at, ProcessedEvent.processed_at).join(
                ProcessedEvent, ProcessedEvent.event_id == OutboxEvent.id
            )
        )
        return [(handled - written).total_seconds() for written, handled in rows.all()]


async def _reset(database: Database) -> None:
    async with database.sessionmaker() as session, session.begin():
        await session.execute(ProcessedEvent.__table__.delete())
        await session.execute(OutboxEvent.__table__.delete())


async def throughput(database: Database, count: int) -> str:
    created = OutboxEvent.created_at
    await _reset(database)
    writers = [_write(database, 200) for _ in range(count // 200)]
    for start in range(0, len(writers), 4):  # four transactions at once
        await asyncio.gather(*writers[start : start + 4])
    await _wait_handled(database, count)
    async with database.sessionmaker() as session:
        first, written = (await session.execute(select(func.min(created), func.max(created)))).one()
        relayed = await session.scalar(select(func.max(OutboxEvent.processed_at)))
        last = await session.scalar(select(func.max(ProcessedEvent.processed_at)))
    seconds = (last - first).total_seconds()
    return (
        f"{count} events in {seconds:.2f} s: {count / seconds:,.0f} events/s (commit to handled; "
        f"all written after {(written - first).total_seconds():.2f} s, "
        f"relayed after {(relayed - first).total_seconds():.2f} s)"
    )


async def latency(database: Database, rate: int, seconds: float) -> str:
    await _reset(database)
    per_tick, tick = max(1, rate // 100), 0.01
    total = int(rate * seconds)
    began = time.monotonic()
    for n in range(total // per_tick):
        await _write(database, per_tick)
        delay = began + (n + 1) * tick - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    achieved = total / (time.monotonic() - began)
    await _wait_handled(database, total)
    ordered = sorted(await _latencies(database))

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] * 1000

    mean = statistics.fmean(ordered) * 1000
    return (
        f"{total} events at {achieved:,.0f}/s: latency p50 {pct(50):.0f} ms  p99 {pct(99):.0f} ms  "
        f"max {ordered[-1] * 1000:.0f} ms  mean {mean:.0f} ms"
    )


async def bench_events(args: argparse.Namespace) -> None:
    postgres = PostgresServer().start()
    broker = RabbitMQServer().start()
    try:
        url = postgres.create_database("bench_events")
        await upgrade(url)
        database = Database(Settings(environment="production", secret_key=BENCH_SECRET, database_url=url))
        print(f"PostgreSQL on port {postgres.port}, RabbitMQ on port {broker.port}", flush=True)
        runs = set(args.events_runs.split(","))
        if runs & {"1", "latency"}:
            with transport(url, broker.url, "bench1", workers=1):
                if "1" in runs:
                    print("1 worker, throughput:", await throughput(database, args.events_count), flush=True)
                if "latency" in runs:
                    fixed_rate = await latency(database, args.events_rate, args.events_seconds)
                    print("1 worker, fixed rate:", fixed_rate, flush=True)
        if "2" in runs:
            with transport(url, broker.url, "bench2", workers=2):
                print("2 workers, throughput:", await throughput(database, args.events_count), flush=True)
        await database.dispose()
    finally:
        broker.remove()
        postgres.remove()


if __name__ == "__main__":
    if sys.argv[1:] == ["worker"]:
        from benchmarks.events import bench_registry as registry  # the module's name, not __main__
        from studyhall.workers import run_worker

        settings = Settings()
        asyncio.run(run_worker(settings, prefetch=settings.broker_prefetch, handlers=registry()))
    else:
        sys.exit("usage: ./dev bench --events")
