"""Liveness, readiness and the detailed health document."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

import psutil
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

CheckStatus = Literal["ok", "down", "not_configured"]
OverallStatus = Literal["ok", "degraded", "down"]
Probe = Callable[[], Awaitable[None]]


class CheckResult(BaseModel):
    status: CheckStatus
    latency_ms: float | None = None
    error: str | None = None


class SystemInfo(BaseModel):
    cpu_percent: float
    memory_percent: float
    load_avg: list[float]


class HealthReport(BaseModel):
    status: OverallStatus
    version: str
    uptime_s: float
    checks: dict[str, CheckResult]
    system: SystemInfo


@dataclass
class Dependency:
    name: str
    probe: Probe | None  # None: not configured
    required: bool = False


@dataclass
class HealthChecker:
    version: str
    timeout: float
    dependencies: list[Dependency] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def add(self, name: str, probe: Probe | None, *, required: bool = False) -> None:
        self.dependencies.append(Dependency(name, probe, required))

    async def _run(self, dep: Dependency) -> CheckResult:
        if dep.probe is None:
            return CheckResult(status="not_configured")
        began = time.perf_counter()
        try:
            await asyncio.wait_for(dep.probe(), timeout=self.timeout)
        except TimeoutError:
            return CheckResult(status="down", latency_ms=_ms_since(began), error="timed out")
        except Exception as exc:  # a failing dependency is a report, not a crash
            return CheckResult(status="down", latency_ms=_ms_since(began), error=type(exc).__name__)
        return CheckResult(status="ok", latency_ms=_ms_since(began))

    async def check_all(self) -> dict[str, CheckResult]:
        results = await asyncio.gather(*(self._run(dep) for dep in self.dependencies))
        return {dep.name: result for dep, result in zip(self.dependencies, results, strict=True)}

    def overall(self, results: dict[str, CheckResult]) -> OverallStatus:
        required_down = any(results[dep.name].status == "down" for dep in self.dependencies if dep.required)
        if required_down:
            return "down"
        if any(result.status == "down" for result in results.values()):
            return "degraded"
        return "ok"

    async def report(self) -> HealthReport:
        results = await self.check_all()
        return HealthReport(
            status=self.overall(results),
            version=self.version,
            uptime_s=round(time.monotonic() - self.started, 3),
            checks=results,
            system=system_info(),
        )


def _ms_since(began: float) -> float:
    return round((time.perf_counter() - began) * 1000, 3)


def system_info() -> SystemInfo:
    load: tuple[float, ...] = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return SystemInfo(
        cpu_percent=psutil.cpu_percent(interval=None),
        memory_percent=psutil.virtual_memory().percent,
        load_avg=[round(x, 2) for x in load],
    )


def database_probe(engine: AsyncEngine) -> Probe:
    async def probe() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    return probe
