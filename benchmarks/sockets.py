"""Real-time fan-out: `--sockets N` open notification sockets on one API process, then an
announcement to the course they all belong to.

    ./dev bench --sockets 1000

Seeds a published course with N enrolled students on a throwaway PostgreSQL, boots one
`studyhall serve` (embedded mode: the in-process hub and outbox dispatcher), opens one
`/ws/notifications` socket per student, and reports:

- memory per idle socket: the server's resident memory after the sockets are open and
  settled, minus before, divided by N;
- fan-out latency: from sending `POST /posts` (the announcement) to each socket receiving
  its `announcement.posted` message, p50/p99/max over every socket, and how many arrived.

The targets (p99 under 1 s, under 50 KB per idle socket) are in docs/performance.md. The load
generator shares the machine with the server, so latency includes waiting for the CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from tests.servers import PostgresServer
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from benchmarks.learning import API, seed_learning
from benchmarks.run import boot_server
from studyhall.core.migrate import upgrade

#: Sockets opened at once while connecting. Each signs in with a database query; more at once
#: than the pool's connections only queue (and, on a loaded machine, time out with 1013).
CONNECT_BATCH = 20
SETTLE_SECONDS = 3.0
RECEIVE_TIMEOUT = 30.0
LATENCY_TARGET_S = 1.0
MEMORY_TARGET_BYTES = 50 * 1024


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sockets", type=int, help="real-time fan-out to N open sockets (benchmarks/sockets.py)"
    )


def resident_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


async def open_sockets(ws_url: str, tokens: list[str]) -> list[ClientConnection]:
    sockets: list[ClientConnection] = []
    for start in range(0, len(tokens), CONNECT_BATCH):
        batch = tokens[start : start + CONNECT_BATCH]
        sockets += await asyncio.gather(
            *(connect(f"{ws_url}/ws/notifications?token={token}", max_queue=None) for token in batch)
        )
    return sockets


async def arrival(socket: ClientConnection, started: float) -> float | None:
    """Seconds from `started` to this socket's announcement; None when it never came."""
    deadline = started + RECEIVE_TIMEOUT
    while (left := deadline - time.perf_counter()) > 0:
        try:
            message = json.loads(await asyncio.wait_for(socket.recv(), timeout=left))
        except (TimeoutError, ConnectionClosed):  # closed by the server: counted as not received
            return None
        if message.get("type") == "announcement.posted":
            return time.perf_counter() - started
    return None


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def bench_sockets(args: argparse.Namespace) -> None:
    count: int = args.sockets
    server = PostgresServer().start()
    data_dir = Path(tempfile.mkdtemp(prefix="studyhall-bench-sockets-"))
    try:
        url = server.create_database("bench_sockets")
        await upgrade(url)
        seed = await seed_learning(url, enrollments=count, lessons=2, token_users=count)
        process, base_url = boot_server(url, data_dir, {"RATE_LIMIT_POSTS": "1000000/minute"})
        try:
            await asyncio.sleep(SETTLE_SECONDS)
            before = resident_bytes(process.pid)
            sockets = await open_sockets(base_url.replace("http://", "ws://"), seed.student_tokens)
            await asyncio.sleep(SETTLE_SECONDS)
            per_socket = (resident_bytes(process.pid) - before) / count
            async with httpx.AsyncClient(base_url=base_url, timeout=RECEIVE_TIMEOUT) as client:
                started = time.perf_counter()
                waits = [asyncio.create_task(arrival(socket, started)) for socket in sockets]
                response = await client.post(
                    f"{API}/posts",
                    headers={"Authorization": f"Bearer {seed.staff_token}"},
                    json={
                        "title": "Exam moved to Friday",
                        "body": "The exam moves to **Friday**, same room.",
                        "course_id": str(seed.course_id),
                        "kind": "announcement",
                    },
                )
                response.raise_for_status()
                latencies = [seconds for seconds in await asyncio.gather(*waits) if seconds is not None]
            await asyncio.gather(*(socket.close() for socket in sockets))
        finally:
            process.terminate()
            process.wait(timeout=10)
    finally:
        server.remove()
    report(count, per_socket, latencies)


def report(count: int, per_socket: float, latencies: list[float]) -> None:
    print(f"{count} sockets on one API process (embedded hub), one announcement to all of them")
    memory_met = per_socket < MEMORY_TARGET_BYTES
    print(
        f"memory per idle socket: {per_socket / 1024:.1f} KB "
        f"(target < {MEMORY_TARGET_BYTES // 1024} KB: {_verdict(memory_met)})"
    )
    if not latencies:
        print("no socket received the announcement")
        return
    p99 = percentile(latencies, 0.99)
    latency_met = p99 < LATENCY_TARGET_S and len(latencies) == count
    print(
        f"fan-out latency: received {len(latencies)}/{count}, "
        f"p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms (target p99 < {LATENCY_TARGET_S:.0f} s: {_verdict(latency_met)})"
    )


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"
