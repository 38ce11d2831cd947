"""Running the broker-mode event transport in tests: relays and workers as real processes.

Fixtures (tests/conftest.py):

- `rabbitmq_server`: one RabbitMQ node per test session (servers.RabbitMQServer); outside
  CI a missing `rabbitmq-server` skips the tests that use it, with CI=true it fails them.
- `event_transport`: an `EventTransport` on the test's database and that broker, with a
  fresh exchange and queue namespace, so no test sees another's messages. Its processes are
  stopped when the test ends. Broker-mode tests run on PostgreSQL (mark them
  `postgresql_only`): several processes share the database.

A test of another domain that wants its handlers to run through the broker:

    @pytest.fixture
    def settings(event_transport: EventTransport) -> Settings:
        # broker mode; the app's relay runs (the harness turns the in-process loop off by default)
        return event_transport.settings(outbox_dispatcher_enabled=True)

    async def test_something(client, event_transport):
        event_transport.start_worker()               # `studyhall worker`, the real table
        ...                                          # call the API
        await eventually(lambda: ...)                # until the handler's effect shows

`start_relay()` runs `studyhall relay` when the test writes to the outbox without an app.
Each `start_*` waits until its process is ready; `start_relay(wait=False)` followed by
`start_worker()` starts both side by side and waits for both (`wait_started()` waits alone).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studyhall.config import Settings
from tests.servers import python_environment

#: Seconds a relay or worker process may take to start.
START_TIMEOUT = 60.0
#: Short back-off in tests: retries after 0.2 s, 0.4 s, 0.8 s ...
TEST_TRANSPORT_SETTINGS: dict[str, Any] = {
    "event_max_attempts": 3,
    "event_backoff_initial_seconds": 0.2,
    "outbox_backoff_base": 2.0,
    "outbox_poll_interval": 0.2,
    "outbox_lease_seconds": 10.0,
    "broker_prefetch": 16,
}


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 20.0, interval: float = 0.1
) -> None:
    """Wait until `check()` is true; fail after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true after {timeout} s: {check.__qualname__}")
        await asyncio.sleep(interval)


@dataclass
class EventTransport:
    database_url: str
    broker_url: str | None  # None: embedded mode (only `cli` is of use then)
    data_dir: Path
    namespace: str = field(default_factory=lambda: f"test{uuid.uuid4().hex[:12]}")
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    #: Processes started and not yet seen ready: (process, its log, the event it logs then).
    _starting: list[tuple[subprocess.Popen[bytes], Path, str]] = field(default_factory=list)

    def settings(self, **overrides: Any) -> Settings:
        """The settings of an application in broker mode on this transport."""
        from tests.conftest import make_settings

        values = {
            **TEST_TRANSPORT_SETTINGS,
            "broker_url": self.broker_url,
            "broker_namespace": self.namespace,
            **overrides,
        }
        return make_settings(self.database_url, self.data_dir, **values)

    def environment(self, **overrides: Any) -> dict[str, str]:
        """The same settings as environment variables, for a subprocess."""
        settings = self.settings(**overrides)
        names = [
            "environment",
            "secret_key",
            "database_url",
            "data_dir",
            "broker_url",
            "broker_namespace",
            "broker_prefetch",
            "event_max_attempts",
            "event_backoff_initial_seconds",
            "outbox_backoff_base",
            "outbox_poll_interval",
            "outbox_lease_seconds",
            "outbox_batch_size",
            "password_hash_time_cost",
            "password_hash_memory_cost",
            "app_url",
            "log_level",
            # what handlers send and store through: the worker's mail and files go where the app's do
            "smtp_url",
            "mail_from",
            "storage_url",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "BROKER_"))}
        values = {name: getattr(settings, name) for name in names}
        env.update({name.upper(): str(value) for name, value in values.items() if value is not None})
        env["LOG_JSON"] = "true"
        env["PYTHONUNBUFFERED"] = "1"
        return python_environment(env)

    def _spawn(self, args: list[str], ready: str, wait: bool, **overrides: Any) -> subprocess.Popen[bytes]:
        """Start a process; unless `wait` is false, wait until it (and every process started
        before it with `wait=False`) logs its `ready` event: imports take seconds on a busy
        machine, and tests then time what they test, not the start. Processes started with
        `wait=False` start side by side."""
        log_path = self.data_dir / f"process-{len(self.processes)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(args, env=self.environment(**overrides), stdout=log, stderr=log)
        self.processes.append(process)
        self._starting.append((process, log_path, ready))
        if wait:
            self.wait_started()
        return process

    def wait_started(self) -> None:
        """Wait until every process started so far logged its `ready` event."""
        deadline = time.monotonic() + START_TIMEOUT
        while self._starting:
            for process, log_path, ready in list(self._starting):
                if f'"event": "{ready}"' in log_path.read_text(errors="replace"):
                    self._starting.remove((process, log_path, ready))
                elif process.poll() is not None or time.monotonic() > deadline:
                    self._starting.clear()
                    raise AssertionError(
                        f"{process.args} did not start:\n{log_path.read_text(errors='replace')}"
                    )
            if self._starting:
                time.sleep(0.05)

    def start_worker(
        self, *, probes: bool = False, wait: bool = True, **overrides: Any
    ) -> subprocess.Popen[bytes]:
        """`studyhall worker` (with the probe handlers of tests/event_probe.py if `probes`),
        once it consumes (see `_spawn` for `wait`)."""
        module = ["-m", "tests.event_probe", "worker"] if probes else ["-m", "studyhall.cli", "worker"]
        return self._spawn([sys.executable, *module], "event_worker_started", wait, **overrides)

    def start_activity_worker(self, *args: str, **overrides: Any) -> subprocess.Popen[bytes]:
        """`studyhall worker` (with `args`), once its activity consumer (analytics ingestion)
        consumes."""
        return self._spawn(
            [sys.executable, "-m", "studyhall.cli", "worker", *args],
            "activity_consumer_started",
            True,
            **overrides,
        )

    def start_relay(self, *, wait: bool = True, **overrides: Any) -> subprocess.Popen[bytes]:
        """`studyhall relay`: publishes what the test commits to the outbox (see `_spawn` for
        `wait`)."""
        return self._spawn(
            [sys.executable, "-m", "studyhall.cli", "relay"], "outbox_relay_started", wait, **overrides
        )

    def cli(self, *args: str, **overrides: Any) -> subprocess.CompletedProcess[str]:
        """Run a `studyhall` command against this transport's database and broker."""
        return subprocess.run(
            [sys.executable, "-m", "studyhall.cli", *args],
            env=self.environment(**overrides),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def stop(self, process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if process.poll() is None:
            process.send_signal(sig)
        return process.wait(timeout=timeout)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        if self.processes:
            print(self.logs())  # shown by pytest when the test failed
        self.processes.clear()
        self._starting.clear()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.data_dir.glob("process-*.log")))
