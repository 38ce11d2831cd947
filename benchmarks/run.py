"""Load benchmarks against a real server on a real PostgreSQL.

    ./dev bench                      # every scenario
    ./dev bench --only health_live   # one scenario
    ./dev bench --duration 20 --concurrency 32
    ./dev bench --only lesson_complete --only video_heartbeat --enrollments 10000

Starts a throwaway PostgreSQL (from the installed binaries), migrates it, seeds a
published course with `--enrollments` enrolled students (default 10,000; see
benchmarks/learning.py) for the learning scenarios (lesson complete, video heartbeat and a
roster page, rotating over 500 students' tokens), boots
`studyhall serve` in a subprocess and drives it with `wrk` (Debian package `wrk`) when it
is installed, else with a built-in async HTTP load generator, printing requests/s and
latency percentiles per scenario. On a small machine the generator competes with the
server for CPU: compare figures from one run (ratios), not across machines.
"""

from __future__ import annotations

import argparse
import asyncio
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
from collections.abc import Awaitable, Callable
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


def scenarios(seed: LearningSeed | None = None) -> list[Scenario]:
    found = [
        Scenario("health_live", "GET", "/health/live"),
        Scenario("health", "GET", "/health"),
    ]
    if seed is not None:
        found += learning_scenarios(seed)
    return found


_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk_ms(text: str, label: str) -> float:
    match = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    return float(match.group(1)) * _WRK_UNITS[match.group(2)] if match else float("nan")


def run_wrk(scenario: Scenario, base_url: str, *, concurrency: int, duration: float) -> str:
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
    return (
        f"{scenario.name:<28} {float(rps.group(1)) if rps else 0:>9.1f} req/s  "
        f"p50 {_wrk_ms(out, '50%'):7.2f} ms  p99 {_wrk_ms(out, '99%'):7.2f} ms  "
        f"errors {non_2xx.group(1) if non_2xx else 0}  (wrk)"
    )


async def measure(scenario: Scenario, base_url: str, *, concurrency: int, duration: float) -> str:
    if shutil.which("wrk"):
        return await asyncio.to_thread(
            run_wrk, scenario, base_url, concurrency=concurrency, duration=duration
        )
    send = scenario.sender()
    await load(scenario.name, base_url, send, concurrency=concurrency, duration=1.0)  # warm-up
    result = await load(scenario.name, base_url, send, concurrency=concurrency, duration=duration)
    return result.line() + "  (python)"


def boot_server(database_url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(data_dir),
        "ENVIRONMENT": "production",
        "SECRET_KEY": BENCH_SECRET,
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "studyhall.cli", "serve", "--port", str(port), "--no-migrate"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    wait_for_port(port, timeout=30)
    return process, f"http://127.0.0.1:{port}"


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--only", action="append", help="run only these scenarios")
    parser.add_argument("--enrollments", type=int, default=10_000, help="students enrolled in the course")
    args = parser.parse_args()

    server = PostgresServer().start()
    data_dir = Path(tempfile.mkdtemp(prefix="studyhall-bench-"))
    process = None
    try:
        url = server.create_database("bench")
        await upgrade(url)
        seed = await seed_learning(url, enrollments=args.enrollments)
        process, base_url = boot_server(url, data_dir)
        print(f"server on {base_url}, PostgreSQL on port {server.port}, concurrency {args.concurrency}")
        for scenario in scenarios(seed):
            if args.only and scenario.name not in args.only:
                continue
            line = await measure(scenario, base_url, concurrency=args.concurrency, duration=args.duration)
            print(line, flush=True)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=10)
        server.remove()


if __name__ == "__main__":
    asyncio.run(main())
