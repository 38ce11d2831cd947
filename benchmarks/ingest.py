"""Activity ingestion benchmark: `POST /events` in broker mode (`./dev bench --ingest`).

Starts a throwaway PostgreSQL and RabbitMQ, one `studyhall serve` process (broker mode) and
one `studyhall worker`, then posts batches of 500 events (`page.viewed`, unique ids) from
`--ingest-concurrency` connections for `--ingest-seconds`; then again with two workers.
Side by side, the raw reference: asyncpg alone does the store's database work (claim the
keys with `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING RETURNING`, write the
rows with a binary `COPY`) for batches of 500, on one connection and on two: what PostgreSQL
on this machine can take, without HTTP, validation or the broker.

Figures per run:

- accepted/s: events the API answered 202 for, over the load;
- stored/s: events written, from the first arrival to the last write (`received_at` and
  `stored_at` of the rows), once the queue is drained;
- lag: `stored_at - received_at` of each event (arrival at the API to its write by the
  worker; its p50, p99 and max), and the deepest activity queue seen (messages of 500);
- drain: seconds from the end of the load until the last event was stored.

The load generator shares the machine (and its 2 cores) with the server, the worker,
PostgreSQL and RabbitMQ: compare figures of one run, and note the load average it prints.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import aio_pika
import asyncpg
import httpx
import psutil
from sqlalchemy.ext.asyncio import create_async_engine
from tests.servers import PostgresServer, RabbitMQServer

from benchmarks.run import BENCH_SECRET, boot_server, create_bench_user
from studyhall.analytics.store import EVENT_COLUMNS, ensure_partitions, month_of
from studyhall.core.migrate import upgrade

BATCH = 500
#: Replaced by a per-request number in the body template: every event id is new.
MARK = b"BATCHNUMBER00000"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ingest", action="store_true", help="the activity ingestion benchmark")
    parser.add_argument("--ingest-seconds", type=float, default=20.0, help="length of each load run")
    parser.add_argument("--ingest-concurrency", type=int, default=32, help="connections posting batches")
    parser.add_argument("--ingest-prefetch", type=int, default=16, help="the workers' ANALYTICS_PREFETCH")
    parser.add_argument(
        "--ingest-worker-batch", type=int, default=2000, help="the workers' ANALYTICS_WORKER_BATCH_EVENTS"
    )
    parser.add_argument(
        "--ingest-worker-concurrency",
        type=int,
        help="the workers' ANALYTICS_WORKER_CONCURRENCY (transactions in flight; default: the setting's)",
    )
    parser.add_argument(
        "--ingest-max-queued",
        type=int,
        help="the API's ANALYTICS_MAX_QUEUED_BATCHES (backpressure; 0 turns it off; default: the setting's)",
    )
    parser.add_argument(
        "--ingest-runs",
        default="1,2,reference",
        help="which runs, comma-separated: 1 (one worker), 2 (two workers), reference (raw asyncpg)",
    )


def _environment(broker_url: str, namespace: str, args: argparse.Namespace | None = None) -> dict[str, str]:
    prefetch = getattr(args, "ingest_prefetch", 16)
    batch_events = getattr(args, "ingest_worker_batch", 2000)
    max_queued = getattr(args, "ingest_max_queued", None)
    backpressure = {} if max_queued is None else {"ANALYTICS_MAX_QUEUED_BATCHES": str(max_queued)}
    concurrency = getattr(args, "ingest_worker_concurrency", None)
    in_flight = {} if concurrency is None else {"ANALYTICS_WORKER_CONCURRENCY": str(concurrency)}
    return {
        **backpressure,
        **in_flight,
        "BROKER_URL": broker_url,
        "BROKER_NAMESPACE": namespace,
        "RATE_LIMIT_EVENTS": "100000000/minute",
        "DATABASE_POOL_SIZE": "10",
        "ANALYTICS_PREFETCH": str(prefetch),
        "ANALYTICS_WORKER_BATCH_EVENTS": str(batch_events),
        "LOG_LEVEL": "WARNING",
    }


@contextmanager
def workers(
    database_url: str, settings: dict[str, str], count: int, log_dir: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = {
        **os.environ,
        **settings,
        "ENVIRONMENT": "production",
        "SECRET_KEY": BENCH_SECRET,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "INFO",
        "LOG_JSON": "true",
    }
    processes = []
    for n in range(count):
        log = (log_dir / f"worker-{n}.log").open("wb")
        processes.append(
            (
                subprocess.Popen(
                    [sys.executable, "-m", "studyhall.cli", "worker"], env=env, stdout=log, stderr=log
                ),
                n,
            )
        )
    try:
        for _, n in processes:
            _wait_for_log(log_dir / f"worker-{n}.log", '"event": "activity_consumer_started"')
        yield [process for process, _ in processes]
    finally:
        for process, _ in processes:
            process.terminate()
        for process, _ in processes:
            process.wait(timeout=60)


def _wait_for_log(path: Path, needle: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while needle not in path.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path.name}: no {needle} after {timeout} s")
        time.sleep(0.2)


def body_template() -> bytes:
    """A batch of 500 `page.viewed` events, ids `<MARK>-<n>`, as JSON."""
    now = datetime.now(UTC).isoformat()
    mark = MARK.decode()
    events = [
        f'{{"event_id":"{mark}-{n}","event_type":"page.viewed","timestamp":"{now}",'
        f'"data":{{"path":"/courses/{n % 50}","referrer":"/"}},'
        '"metadata":{"client":"bench","version":"1.0"}}'
        for n in range(BATCH)
    ]
    return ("[" + ",".join(events) + "]").encode()


async def load(base_url: str, token: str, *, concurrency: int, seconds: float) -> tuple[int, int, float]:
    """Post batches for `seconds`; (events accepted, errors, seconds taken). With `wrk` when
    installed (Debian package `wrk`): a load generator in C leaves the machine's cores to
    the server, the worker and the databases, as clients on other machines would."""
    if shutil.which("wrk"):
        return await asyncio.to_thread(
            load_with_wrk, base_url, token, concurrency=concurrency, seconds=seconds
        )
    return await load_with_httpx(base_url, token, concurrency=concurrency, seconds=seconds)


#: Every request replaces `MARK` with its thread's number and its own count: new event ids.
WRK_SCRIPT = """
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end
local template, headers, count
function init(args)
  local file = io.open(args[1], "rb")
  template = file:read("*a")
  file:close()
  headers = {["Authorization"] = "Bearer " .. args[2], ["Content-Type"] = "application/json"}
  count = 0
end
function request()
  count = count + 1
  local body = template:gsub("BATCHNUMBER00000", string.format("%08d%08d", thread_number, count))
  return wrk.format("POST", "/api/v1/events", headers, body)
end
"""


def load_with_wrk(base_url: str, token: str, *, concurrency: int, seconds: float) -> tuple[int, int, float]:
    with tempfile.TemporaryDirectory() as directory:
        body, script = Path(directory) / "body.json", Path(directory) / "ingest.lua"
        body.write_bytes(body_template())
        script.write_text(WRK_SCRIPT)
        threads = min(2, concurrency)
        command = ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{max(1, round(seconds))}s"]
        output = subprocess.run(
            [*command, "-s", str(script), base_url, "--", str(body), token],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    requests = re.search(r"(\d+) requests in ([\d.]+)(m?s)", output)
    if requests is None:
        raise RuntimeError(f"wrk printed no request count: {output}")
    failed = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = int(failed.group(1)) if failed else 0
    taken = float(requests.group(2)) / (1000 if requests.group(3) == "ms" else 1)
    return (int(requests.group(1)) - errors) * BATCH, errors, taken


async def load_with_httpx(
    base_url: str, token: str, *, concurrency: int, seconds: float
) -> tuple[int, int, float]:
    template = body_template()
    counter = iter(range(10**12))
    accepted = errors = 0
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:

        async def sender() -> None:
            nonlocal accepted, errors
            while time.perf_counter() < deadline:
                body = template.replace(MARK, f"{uuid.uuid4().hex[:8]}{next(counter):08d}".encode())
                response = await client.post("/api/v1/events", content=body, headers=headers)
                if response.status_code == 202:
                    accepted += response.json()["accepted"]
                else:
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        return accepted, errors, time.perf_counter() - began


class CpuMeter:
    """CPU seconds (user + system) each group of processes used between `start` and `stop`: a
    group is its root processes and all their descendants (PostgreSQL's backends), so the
    figures say where the machine's cores went. This process is the load generator: itself
    and the children it waited for (`wrk`), not the servers it started."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups
        self._started: dict[str, dict[int, float]] = {}

    def _sample(self) -> dict[str, dict[int, float]]:
        times = psutil.Process().cpu_times()
        sample: dict[str, dict[int, float]] = {
            "load generator": {0: times.user + times.system + times.children_user + times.children_system}
        }
        for name, roots in self.groups.items():
            used = sample[name] = {}
            for root in roots:
                with contextlib.suppress(psutil.NoSuchProcess):
                    top = psutil.Process(root)
                    for process in (top, *top.children(recursive=True)):
                        with contextlib.suppress(psutil.NoSuchProcess):
                            times = process.cpu_times()
                            used[process.pid] = times.user + times.system
        return sample

    def start(self) -> None:
        self._started = self._sample()

    def stop(self) -> dict[str, float]:
        ended = self._sample()
        return {
            name: sum(seconds - self._started.get(name, {}).get(pid, 0.0) for pid, seconds in used.items())
            for name, used in ended.items()
        }


def cpu_line(used: dict[str, float], seconds: float) -> str:
    cores = os.cpu_count() or 1
    parts = ", ".join(f"{name} {value:.1f}" for name, value in used.items())
    return f"CPU seconds during the load: {parts}; total {sum(used.values()):.1f} of {cores * seconds:.1f}"


async def queue_depth(broker_url: str, queue: str) -> int:
    connection = await aio_pika.connect(broker_url)
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, durable=True, passive=True)
        return int(declared.declaration_result.message_count or 0)
    finally:
        await connection.close()


async def watch_queue(broker_url: str, queue: str, stop: asyncio.Event) -> int:
    deepest = 0
    while not stop.is_set():
        deepest = max(deepest, await queue_depth(broker_url, queue))
        await asyncio.sleep(0.5)
    return deepest


async def _stored(pg: asyncpg.Connection) -> int:
    return int(await pg.fetchval("SELECT count(*) FROM activity_events"))


async def run_api(
    base_url: str,
    token: str,
    dsn: str,
    broker_url: str,
    queue: str,
    args: argparse.Namespace,
    meter: CpuMeter,
) -> tuple[str, str]:
    """The run's figures, and where the CPU went during the load."""
    pg = await asyncpg.connect(dsn)
    try:
        await pg.execute("TRUNCATE activity_events, activity_event_keys")
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch_queue(broker_url, queue, stop))
        meter.start()
        accepted, errors, seconds = await load(
            base_url, token, concurrency=args.ingest_concurrency, seconds=args.ingest_seconds
        )
        used = meter.stop()
        load_end = time.perf_counter()
        while await _stored(pg) < accepted:
            if time.perf_counter() - load_end > 300:
                break
            await asyncio.sleep(0.1)
        drain = time.perf_counter() - load_end
        stop.set()
        deepest = await watcher
        row = await pg.fetchrow(_SUMMARY)
    finally:
        await pg.close()
    stored, span = int(row["n"]), float(row["span"] or 0)
    figures = (
        f"accepted {accepted / seconds:,.0f}/s ({accepted} in {seconds:.1f} s, {errors} errors); "
        f"stored {stored / span if span else 0:,.0f}/s ({stored}); lag p50 {row['p50']:.2f} s "
        f"p99 {row['p99']:.2f} s max {row['worst']:.2f} s; deepest queue {deepest} messages; "
        f"drained {drain:.1f} s after the load"
    )
    return figures, cpu_line(used, seconds)


_SUMMARY = """
SELECT count(*) AS n, extract(epoch FROM max(stored_at) - min(received_at)) AS span,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM stored_at - received_at)) AS p50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM stored_at - received_at)) AS p99,
       max(extract(epoch FROM stored_at - received_at)) AS worst
FROM activity_events
"""
_CLAIM = (
    "INSERT INTO activity_event_keys (dedup_key, occurred_at) "
    "SELECT * FROM unnest($1::varchar[], $2::timestamptz[]) ON CONFLICT DO NOTHING RETURNING dedup_key"
)


async def reference(dsn: str, connections: int, seconds: float) -> str:
    """The store's SQL straight from asyncpg, batches of 500, on `connections` connections."""
    user = uuid.uuid4()
    counter = iter(range(10**12))
    written = 0
    data = json.dumps({"path": "/courses/1", "referrer": "/"})
    metadata = json.dumps({"client": "bench", "version": "1.0"})

    async def writer() -> None:
        nonlocal written
        pg = await asyncpg.connect(dsn)
        try:
            while time.perf_counter() < deadline:
                batch = next(counter)
                now = datetime.now(UTC)
                ids = [f"{batch}-{n}" for n in range(BATCH)]
                keys = [f"{user}:{i}" for i in ids]
                async with pg.transaction():
                    claimed = {r[0] for r in await pg.fetch(_CLAIM, keys, [now] * BATCH)}
                    new = [i for i, k in zip(ids, keys, strict=True) if k in claimed]
                    rows = [
                        (now, i, "page.viewed", "client", user, None, None, data, metadata, now, now)
                        for i in new
                    ]
                    await pg.copy_records_to_table("activity_events", records=rows, columns=EVENT_COLUMNS)
                written += len(new)
        finally:
            await pg.close()

    pg = await asyncpg.connect(dsn)
    await pg.execute("TRUNCATE activity_events, activity_event_keys")
    await pg.close()
    deadline = time.perf_counter() + seconds
    began = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(connections)))
    return f"{written / (time.perf_counter() - began):,.0f} events/s ({written} in {seconds:.0f} s)"


async def bench_ingest(args: argparse.Namespace) -> None:
    postgres = PostgresServer().start()
    rabbit = RabbitMQServer().start()
    log_dir = Path(tempfile.mkdtemp(prefix="studyhall-bench-ingest-"))
    try:
        url = postgres.create_database("bench_ingest")
        await upgrade(url)
        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        engine = create_async_engine(url)
        await ensure_partitions(engine, [month_of(datetime.now(UTC))])
        await engine.dispose()
        print(f"PostgreSQL on port {postgres.port}, RabbitMQ on port {rabbit.port}", flush=True)
        runs = args.ingest_runs.split(",")
        namespace = "benchingest"
        settings = _environment(rabbit.url, namespace, args)
        queue = f"{namespace}.activity"
        server, base_url = boot_server(url, log_dir, settings, startup_timeout=120)
        try:
            token = await create_bench_user(base_url)
            for run in runs:
                print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
                if run == "reference":
                    for connections in (1, 2):
                        meter = CpuMeter({"PostgreSQL": [postgres.postmaster_pid()]})
                        meter.start()
                        line = await reference(dsn, connections, args.ingest_seconds)
                        print(f"raw asyncpg, {connections} connection(s): {line}", flush=True)
                        print(f"    {cpu_line(meter.stop(), args.ingest_seconds)}", flush=True)
                    continue
                with workers(url, settings, int(run), log_dir) as worker_processes:
                    meter = CpuMeter(
                        {
                            "API": [server.pid],
                            "workers": [process.pid for process in worker_processes],
                            "PostgreSQL": [postgres.postmaster_pid()],
                            "RabbitMQ": [rabbit.process.pid] if rabbit.process else [],
                        }
                    )
                    line, cpu = await run_api(base_url, token, dsn, rabbit.url, queue, args, meter)
                    print(f"1 API process, {run} worker(s): {line}", flush=True)
                    print(f"    {cpu}", flush=True)
        finally:
            server.terminate()
            server.wait(timeout=10)
    finally:
        rabbit.remove()
        postgres.remove()
