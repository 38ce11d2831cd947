"""Password hashing runs in worker threads, at most `concurrency` at a time."""

from __future__ import annotations

import asyncio
import threading

import pytest

from studyhall.core.security import PasswordHasher, default_hash_concurrency


async def test_hashing_concurrency_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, concurrency=2)
    event_loop_thread = threading.get_ident()
    active = 0
    peak = 0
    lock = threading.Lock()
    release = threading.Event()

    def fake_hash(password: str) -> str:
        nonlocal active, peak
        assert threading.get_ident() != event_loop_thread, "hashing must not run on the event loop"
        with lock:
            active += 1
            peak = max(peak, active)
        try:
            assert release.wait(timeout=10)
        finally:
            with lock:
                active -= 1
        return f"hashed:{password}"

    monkeypatch.setattr(hasher._hash, "hash", fake_hash)
    work = asyncio.gather(*(hasher.hash(f"password-{n}") for n in range(6)))
    for _ in range(500):  # until the two allowed hashes are running
        if active == 2:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # room for a third one to start, were it allowed to
    assert (active, peak) == (2, 2)
    release.set()
    assert await work == [f"hashed:password-{n}" for n in range(6)]
    assert peak == 2


async def test_real_hashes_verify_and_unknown_accounts_cost_a_verification() -> None:
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, concurrency=1)
    stored = await hasher.hash("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    assert await hasher.verify("correct horse battery staple", stored) == (True, None)
    assert (await hasher.verify("wrong", stored))[0] is False
    assert await hasher.verify("anything", None) == (False, None)
    assert await hasher.verify("anything", "not-a-hash") == (False, None)


def test_default_concurrency_leaves_a_core_free() -> None:
    assert default_hash_concurrency() >= 1
