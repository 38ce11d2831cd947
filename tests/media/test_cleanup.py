"""The file cleanup job, with the clock moved: uploads never completed go after a day (row
and object), objects of files deleted longer than the retention period go (the row stays,
marked purged, and can no longer be restored); everything younger stays."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from studyhall.core.periodic import PeriodicJob
from studyhall.media.cleanup import CleanupResult, clean_up_files
from studyhall.media.models import File
from studyhall.workers import periodic_jobs
from tests.factories import (
    API,
    AppFactory,
    FakeClock,
    assert_problem,
    client_for,
    create_file,
    create_user,
    fresh_row,
    rows,
)


async def run_cleanup(app: FastAPI) -> CleanupResult:
    return await clean_up_files(app.state.database.sessionmaker, app.state.storage, app.state.settings)


async def test_stale_uploads_are_removed_after_a_day(app: FastAPI, clock: FakeClock) -> None:
    user = await create_user(app)
    stale = await create_file(app, user, ready=False)
    await app.state.storage.put(stale.storage_key, b"half", content_type="application/pdf")  # bytes arrived
    never_sent = await create_file(app, user, ready=False)
    done = await create_file(app, user)
    clock.advance(hours=23)
    fresh = await create_file(app, user, ready=False)
    assert await run_cleanup(app) == CleanupResult(stale_uploads=0, purged=0)
    clock.advance(hours=2)
    assert await run_cleanup(app) == CleanupResult(stale_uploads=2, purged=0)
    assert {file.id for file in await rows(app, File)} == {done.id, fresh.id}
    assert not await app.state.storage.exists(stale.storage_key)
    assert await app.state.storage.exists(done.storage_key)
    assert never_sent.id not in {file.id for file in await rows(app, File)}
    assert await run_cleanup(app) == CleanupResult(stale_uploads=0, purged=0)


async def test_deleted_files_lose_their_object_after_the_retention_period(
    make_app: AppFactory, clock: FakeClock
) -> None:
    app = await make_app(file_retention_days=10)
    client = client_for(app)
    user = await create_user(app)
    old, recent, live = [await create_file(app, user) for _ in range(3)]
    await client.delete(f"{API}/files/{old.id}", headers=user.headers)
    clock.advance(days=6)
    await client.delete(f"{API}/files/{recent.id}", headers=user.headers)
    clock.advance(days=5)
    assert await run_cleanup(app) == CleanupResult(stale_uploads=0, purged=1)
    purged = await fresh_row(app, File, old.id)
    assert purged.purged_at == clock.now and purged.deleted_at is not None
    assert not await app.state.storage.exists(old.storage_key)
    for kept in (recent, live):
        assert await app.state.storage.exists(kept.storage_key)
        assert (await fresh_row(app, File, kept.id)).purged_at is None
    assert_problem(
        await client.post(f"{API}/files/{old.id}/restore", headers=user.headers), 409, "file_purged"
    )
    assert (await client.post(f"{API}/files/{recent.id}/restore", headers=user.headers)).status_code == 200
    assert await run_cleanup(app) == CleanupResult(stale_uploads=0, purged=0)


async def test_the_job_runs_by_itself_in_embedded_mode(make_app: AppFactory, clock: FakeClock) -> None:
    app = await make_app(outbox_dispatcher_enabled=True, file_cleanup_interval_seconds=0.05)
    user = await create_user(app)
    stale = await create_file(app, user, ready=False)
    clock.advance(days=2)
    for _ in range(200):
        if not await rows(app, File, File.id == stale.id):
            break
        await asyncio.sleep(0.05)
    assert await rows(app, File, File.id == stale.id) == []


def test_workers_and_embedded_processes_share_the_job_list(app: FastAPI) -> None:
    settings = app.state.settings
    jobs = {job.name: job for job in periodic_jobs(settings, app.state.database, app.state.storage)}
    job = jobs["file_cleanup"]
    assert isinstance(job, PeriodicJob) and job.interval == 3600.0
    off = settings.model_copy(update={"file_cleanup_interval_seconds": 0})
    assert "file_cleanup" not in {
        job.name for job in periodic_jobs(off, app.state.database, app.state.storage)
    }
