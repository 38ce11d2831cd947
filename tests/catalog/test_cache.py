"""The catalog cache: anonymous catalog pages and published course details are served from it
(in process memory, or a real Redis shared by several app instances); every catalog write
makes the next read fresh; one caller's flags never reach another."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import select, update

from studyhall.catalog.models import Course, Lesson
from studyhall.core.cache import MemoryCache, RedisCache, ResponseCache
from studyhall.identity.models import Organization, Role
from studyhall.learning.models import Enrollment
from studyhall.main import create_app
from tests.catalog.test_catalog import count_statements
from tests.conftest import apps_on, empty_tables, make_settings
from tests.factories import (
    API,
    Actor,
    AppFactory,
    complete_directly,
    course_lessons,
    create_course,
    create_organization,
    create_user,
    enroll_directly,
    graphql,
    graphql_data,
)
from tests.servers import RedisServer

CATALOG = f"{API}/courses"


@pytest.fixture(params=["memory", "redis"])
def cache_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextlib.asynccontextmanager
async def app_factory(database_url: str, data_dir: Path, redis_url: str | None) -> AsyncIterator[AppFactory]:
    """Apps (API processes) on the test database, with their cache in process memory, or in
    one Redis they all share (emptied first); tables emptied afterwards."""
    if redis_url is not None:
        redis = Redis.from_url(redis_url)
        await redis.flushdb()
        await redis.aclose()
    async with apps_on(database_url, data_dir, redis_url=redis_url) as factory:
        yield factory


@pytest.fixture
async def make_app(
    database_url: str, cache_backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AppFactory]:
    """Apps with the cache on `cache_backend` (both, in turn)."""
    redis_url = request.getfixturevalue("redis_server").url if cache_backend == "redis" else None
    async with app_factory(database_url, tmp_path, redis_url) as factory:
        yield factory


@pytest.fixture
async def make_redis_app(
    database_url: str, redis_server: RedisServer, tmp_path: Path
) -> AsyncIterator[AppFactory]:
    async with app_factory(database_url, tmp_path, redis_server.url) as factory:
        yield factory


def client_of(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def behind_the_api(app: FastAPI, course: Course | str, **values: Any) -> None:
    """Change a course in the database without the API (so without invalidating the cache)."""
    course_id = course.id if isinstance(course, Course) else uuid.UUID(course)
    async with app.state.database.sessionmaker() as session, session.begin():
        await session.execute(update(Course).where(Course.id == course_id).values(**values))


async def catalog_titles(client: httpx.AsyncClient, headers: dict[str, str] | None = None) -> list[str]:
    response = await client.get(CATALOG, params={"sort": "title"}, headers=headers or {})
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]


async def detail(client: httpx.AsyncClient, course_id: Any, headers: dict[str, str] | None = None) -> Any:
    response = await client.get(f"{CATALOG}/{course_id}", headers=headers or {})
    return response.json() if response.status_code == 200 else response.status_code


async def test_anonymous_pages_and_details_are_served_from_the_cache(make_app: AppFactory) -> None:
    app = await make_app()
    teacher = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, teacher, title="Cached", lessons=2)
    async with client_of(app) as client:
        assert await catalog_titles(client) == ["Cached"]
        first = await detail(client, course.slug)
        await behind_the_api(app, course, title="Changed behind the API")
        with count_statements(app) as statements:
            assert await catalog_titles(client) == ["Cached"]
            assert await detail(client, course.slug) == first
        assert statements == []  # not one SQL statement: both answered from the cache
        # Another page of the catalog, another key: read from the database.
        response = await client.get(CATALOG, params={"sort": "newest"})
        assert [item["title"] for item in response.json()["items"]] == ["Changed behind the API"]


async def test_the_cache_can_be_turned_off(make_app: AppFactory) -> None:
    app = await make_app(cache_ttl_seconds=0)
    assert type(app.state.cache) is ResponseCache
    teacher = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, teacher, title="Live", lessons=1)
    async with client_of(app) as client:
        assert await catalog_titles(client) == ["Live"]
        await behind_the_api(app, course, title="Live again")
        assert await catalog_titles(client) == ["Live again"]
        assert (await detail(client, course.id))["title"] == "Live again"


Write = Callable[[httpx.AsyncClient, "Scene"], Awaitable[None]]


class Scene:
    """A published course with two modules and three lessons, a draft, a deleted course and
    a second instructor: what the invalidating writes act on."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def build(self, client: httpx.AsyncClient) -> Scene:
        self.teacher = await create_user(self.app, Role.INSTRUCTOR)
        self.co = await create_user(self.app, Role.INSTRUCTOR)
        self.course = await create_course(self.app, self.teacher, title="B Published")
        self.modules = [
            await self.post(client, f"/courses/{self.course.id}/modules", {"title": f"M{n}"}) for n in (1, 2)
        ]
        self.lessons = [
            await self.post(client, f"/courses/{self.course.id}/lessons", {"title": f"L{n}", "type": "text"})
            for n in (1, 2, 3)
        ]
        self.draft = await create_course(self.app, self.teacher, title="A Draft", status="draft", lessons=1)
        self.deleted = await create_course(self.app, self.teacher, title="C Deleted", lessons=1)
        assert (
            await client.delete(f"{CATALOG}/{self.deleted.id}", headers=self.teacher.headers)
        ).status_code == 204
        return self

    async def post(self, client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> str:
        response = await client.post(f"{API}{path}", json=body, headers=self.teacher.headers)
        assert response.status_code in (200, 201), response.text
        return str(response.json()["id"])

    async def send(self, client: httpx.AsyncClient, method: str, path: str, body: Any = None) -> None:
        response = await client.request(method, f"{API}{path}", json=body, headers=self.teacher.headers)
        assert response.status_code in (200, 201, 204), response.text

    async def view(self, client: httpx.AsyncClient) -> dict[str, Any]:
        """What anonymous callers see: the catalog's titles and counts, and the course detail."""
        response = await client.get(CATALOG, params={"sort": "title"})
        assert response.status_code == 200
        course = await detail(client, self.course.id)
        return {
            "catalog": [
                (item["title"], item["lesson_count"], item["instructor_ids"])
                for item in response.json()["items"]
            ],
            "course": course
            if isinstance(course, int)
            else {
                "title": course["title"],
                "modules": [module["title"] for module in course["modules"]],
                "lessons": [(lesson["title"], lesson["module_id"]) for lesson in course["lessons"]],
            },
            "draft": await detail(client, self.draft.id),
        }


async def _publish(client: httpx.AsyncClient, scene: Scene) -> None:
    await scene.send(client, "POST", f"/courses/{scene.draft.id}/publish")


async def _unpublish(client: httpx.AsyncClient, scene: Scene) -> None:
    await scene.send(client, "POST", f"/courses/{scene.course.id}/unpublish")


async def _archive(client: httpx.AsyncClient, scene: Scene) -> None:
    await scene.send(client, "POST", f"/courses/{scene.course.id}/archive")


async def _edit(client: httpx.AsyncClient, scene: Scene) -> None:
    await scene.send(client, "PATCH", f"/courses/{scene.course.id}", {"title": "B Renamed"})


async def _delete(client: httpx.AsyncClient, scene: Scene) -> None:
    await scene.send(client, "DELETE", f"/courses/{scene.course.id}")


async def _restore(client: httpx.AsyncClient, scene: Scene) -> None:
    await scene.send(client, "POST", f"/courses/{scene.deleted.id}/restore")


async def _add_lesson(client: httpx.AsyncClient, scene: Scene) -> None:
    await scene.send(client, "POST", f"/courses/{scene.course.id}/lessons", {"title": "L4", "type": "text"})


async def _edit_lesson(client: httpx.AsyncClient, scene: Scene) -> None:
    await scene.send(client, "PATCH", f"/lessons/{scene.lessons[0]}", {"title": "L1 renamed"})


async def _move_lesson_into_module(client: httpx.AsyncClient, scene: Scene) -> None:
    await scene.send(client, "PATCH", f"/lessons/{scene.lessons[0]}", {"module_id": scene.modules[0]})


async def _delete_lesson(client: httpx.AsyncClient, scene: Scene) -> None:
    await scene.send(client, "DELETE", f"/lessons/{scene.lessons[1]}")


async def _restore_lesson(client: httpx.AsyncClient, scene: Scene) -> None:
    await scene.send(client, "POST", f"/lessons/{scene.lessons[1]}/restore")


async def _reorder_lessons(client: httpx.AsyncClient, scene: Scene) -> None:
    await scene.send(
        client, "PUT", f"/courses/{scene.course.id}/lessons/order", {"lesson_ids": scene.lessons[::-1]}
    )


async def _edit_lesson_title(client: httpx.AsyncClient, scene: Scene) -> None:
    await scene.send(client, "PATCH", f"/lessons/{scene.lessons[2]}", {"title": "L3 v2"})


async def _restore_version(client: httpx.AsyncClient, scene: Scene) -> None:
    await scene.send(client, "POST", f"/lessons/{scene.lessons[2]}/versions/1/restore")


async def _add_module(client: httpx.AsyncClient, scene: Scene) -> None:
    await scene.send(client, "POST", f"/courses/{scene.course.id}/modules", {"title": "M3", "order": 0})


async def _edit_module(client: httpx.AsyncClient, scene: Scene) -> None:
    await scene.send(client, "PATCH", f"/modules/{scene.modules[1]}", {"title": "M2 renamed"})


async def _delete_module(client: httpx.AsyncClient, scene: Scene) -> None:
    await scene.send(client, "DELETE", f"/modules/{scene.modules[0]}")


async def _restore_module(client: httpx.AsyncClient, scene: Scene) -> None:
    await scene.send(client, "POST", f"/modules/{scene.modules[0]}/restore")


async def _add_instructor(client: httpx.AsyncClient, scene: Scene) -> None:
    await scene.send(client, "POST", f"/courses/{scene.course.id}/instructors", {"user_id": scene.co.id})


async def _remove_instructor(client: httpx.AsyncClient, scene: Scene) -> None:
    await scene.send(client, "DELETE", f"/courses/{scene.course.id}/instructors/{scene.co.id}")


#: Each write, after what it needs done first (a restore needs a delete), if anything.
WRITES: dict[str, tuple[Write | None, Write]] = {
    "publish": (None, _publish),
    "unpublish": (None, _unpublish),
    "archive": (None, _archive),
    "edit course": (None, _edit),
    "delete course": (None, _delete),
    "restore course": (None, _restore),
    "new lesson": (None, _add_lesson),
    "edited lesson": (None, _edit_lesson),
    "lesson moved into a module": (None, _move_lesson_into_module),
    "deleted lesson": (None, _delete_lesson),
    "restored lesson": (_delete_lesson, _restore_lesson),
    "reordered lessons": (None, _reorder_lessons),
    "lesson version restored": (_edit_lesson_title, _restore_version),
    "new module": (None, _add_module),
    "edited module": (None, _edit_module),
    "deleted module": (None, _delete_module),
    "restored module": (_delete_module, _restore_module),
    "instructor added": (None, _add_instructor),
    "instructor removed": (_add_instructor, _remove_instructor),
}


@pytest.mark.parametrize("write", list(WRITES))
async def test_each_catalog_write_makes_the_next_read_fresh(make_app: AppFactory, write: str) -> None:
    """After the write, what an anonymous caller reads from the cache equals what a second
    app instance with no cache at all reads from the database."""
    app = await make_app()
    truth = await make_app(cache_ttl_seconds=0)
    async with client_of(app) as client, client_of(truth) as uncached:
        scene = await Scene(app).build(client)
        prepare, change = WRITES[write]
        if prepare is not None:
            await prepare(client, scene)
        before = await scene.view(client)
        assert before == await scene.view(client)  # served from the cache
        await change(client, scene)
        after = await scene.view(client)
        assert after == await scene.view(uncached)
    assert after != before, "the write changed nothing visible: the test proves nothing"


async def test_another_api_process_sees_the_write_through_redis(make_redis_app: AppFactory) -> None:
    """(With the in-process cache, each process has its own entries: that mode is for one
    process, see `core.cache`.)"""
    first, second = await make_redis_app(), await make_redis_app()  # two API processes, one Redis
    teacher = await create_user(first, Role.INSTRUCTOR)
    course = await create_course(first, teacher, title="Before", lessons=1)
    async with client_of(first) as one, client_of(second) as two:
        assert await catalog_titles(one) == ["Before"]
        assert (await detail(one, course.id))["title"] == "Before"
        assert await catalog_titles(two) == ["Before"]  # served from the entry `first` stored
        edited = await two.patch(f"{CATALOG}/{course.id}", json={"title": "After"}, headers=teacher.headers)
        assert edited.status_code == 200
        assert await catalog_titles(one) == ["After"]
        assert (await detail(one, course.id))["title"] == "After"
        unpublished = await two.post(f"{CATALOG}/{course.id}/unpublish", headers=teacher.headers)
        assert unpublished.status_code == 200
        assert await catalog_titles(one) == []
        assert await detail(one, course.id) == 404


async def test_callers_never_see_each_others_flags(make_app: AppFactory) -> None:
    app = await make_app()
    teacher = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, teacher, title="Shared", lessons=4)
    other = await create_course(app, teacher, title="Other", lessons=1)
    lessons = await course_lessons(app, course)
    alice, bob = await create_user(app), await create_user(app)
    await enroll_directly(app, alice, course)
    await complete_directly(app, alice, lessons[0])
    await enroll_directly(app, bob, other)

    async with client_of(app) as client:

        async def flags(actor: Actor | None) -> tuple[Any, ...]:
            headers = actor.headers if actor is not None else {}
            page = (await client.get(CATALOG, params={"sort": "title"}, headers=headers)).json()["items"]
            shown = await detail(client, course.id, headers)
            return (
                [(item["title"], item["is_enrolled"], item["progress_percent"]) for item in page],
                shown["is_enrolled"],
                shown["progress_percent"],
                [lesson["is_completed"] for lesson in shown["lessons"]],
            )

        alices = (
            [("Other", False, None), ("Shared", True, 25.0)],
            True,
            25.0,
            [True, False, False, False],
        )
        bobs = ([("Other", True, 0.0), ("Shared", False, None)], False, None, [False] * 4)
        nobodys = ([("Other", False, None), ("Shared", False, None)], False, None, [False] * 4)
        # Each order of callers, on a warm cache: every one gets only their own flags.
        assert await flags(alice) == alices
        assert await flags(None) == nobodys
        assert await flags(bob) == bobs
        assert await flags(alice) == alices
        assert await flags(None) == nobodys
        assert await flags(bob) == bobs
        # The ETag of a detail is the caller's too.
        tags = {
            name: (
                await client.get(f"{CATALOG}/{course.id}", headers=actor.headers if actor else {})
            ).headers["etag"]
            for name, actor in (("alice", alice), ("bob", bob), ("anonymous", None))
        }
        assert tags["alice"] != tags["anonymous"] == tags["bob"]


async def test_organisation_only_courses_stay_with_their_organisation(make_app: AppFactory) -> None:
    app = await make_app()
    org, elsewhere = await create_organization(app), await create_organization(app)
    teacher = await create_user(app, Role.INSTRUCTOR, organization=org)
    member = await create_user(app, organization=org)
    outsider = await create_user(app, organization=elsewhere)
    lone = await create_user(app)
    admin = await create_user(app, Role.ADMIN)
    await create_course(app, teacher, title="Public", lessons=1, organization=org)
    private = await create_course(
        app, teacher, title="Members only", lessons=1, visibility="organization", organization=org
    )
    async with client_of(app) as client:
        for _ in range(2):  # the second round is served from the cache
            assert await catalog_titles(client, member.headers) == ["Members only", "Public"]
            assert await catalog_titles(client, admin.headers) == ["Members only", "Public"]
            assert await catalog_titles(client, outsider.headers) == ["Public"]
            assert await catalog_titles(client, lone.headers) == ["Public"]
            assert await catalog_titles(client) == ["Public"]
            assert (await detail(client, private.id, member.headers))["title"] == "Members only"
            assert await detail(client, private.id, outsider.headers) == 404
            assert await detail(client, private.id) == 404


async def test_enrollment_counts_may_lag_but_the_enrolling_student_sees_their_enrollment(
    make_app: AppFactory,
) -> None:
    """Enrolling does not invalidate the catalog: `enrollment_count` in cached pages lags by up
    to the TTL (documented); the student's own `is_enrolled` is never cached."""
    app = await make_app()
    teacher = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, teacher, title="Popular", lessons=1)
    student = await create_user(app)
    async with client_of(app) as client:
        page = (await client.get(CATALOG)).json()["items"]
        assert page[0]["enrollment_count"] == 0
        enrolled = await client.post(f"{CATALOG}/{course.id}/enroll", headers=student.headers)
        assert enrolled.status_code == 201, enrolled.text
        mine = (await client.get(CATALOG, headers=student.headers)).json()["items"][0]
        assert (mine["is_enrolled"], mine["progress_percent"], mine["enrollment_count"]) == (True, 0.0, 0)
    async with app.state.database.sessionmaker() as session:
        assert await session.scalar(select(Course.enrollment_count).where(Course.id == course.id)) == 1
        assert (
            await session.scalar(select(Enrollment.status).where(Enrollment.user_id == student.user.id))
            == "active"
        )


async def test_drafts_are_not_cached(make_app: AppFactory) -> None:
    """A draft's detail (for its staff) is read from the database every time."""
    app = await make_app()
    teacher = await create_user(app, Role.INSTRUCTOR)
    draft = await create_course(app, teacher, title="Draft", status="draft", lessons=1)
    async with client_of(app) as client:
        assert (await detail(client, draft.id, teacher.headers))["title"] == "Draft"
        await behind_the_api(app, draft, title="Draft 2")
        assert (await detail(client, draft.id, teacher.headers))["title"] == "Draft 2"
        assert await detail(client, draft.id) == 404


async def test_a_redis_outage_costs_speed_not_answers(database_url: str, tmp_path: Path) -> None:
    server = RedisServer().start()
    app = create_app(make_settings(database_url, tmp_path / "var", redis_url=server.url))
    try:
        async with app.router.lifespan_context(app), client_of(app) as client:
            teacher = await create_user(app, Role.INSTRUCTOR)
            course = await create_course(app, teacher, title="Up", lessons=1)
            assert await catalog_titles(client) == ["Up"]
            server.stop()
            await behind_the_api(app, course, title="Still up")
            assert await catalog_titles(client) == ["Still up"]  # from the database
            assert (await detail(client, course.id))["title"] == "Still up"
            edited = await client.patch(
                f"{CATALOG}/{course.id}", json={"title": "Edited"}, headers=teacher.headers
            )
            assert edited.status_code == 200
            assert await catalog_titles(client) == ["Edited"]
    finally:
        server.remove()
        await empty_tables(app.state.database.engine)


# ---------------------------------------------------------------- the cache itself


@pytest.fixture
async def response_cache(cache_backend: str, request: pytest.FixtureRequest) -> AsyncIterator[ResponseCache]:
    if cache_backend == "memory":
        yield MemoryCache(ttl=60, max_entries=3)
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    redis = Redis.from_url(server.url)
    await redis.flushdb()
    cache = RedisCache(redis.connection_pool, ttl=60)
    yield cache
    await cache.aclose()
    await redis.aclose()


async def test_an_entry_built_before_an_invalidation_is_never_served(response_cache: ResponseCache) -> None:
    """A reader that read the database before a write committed stores what it read under the
    generation it started with; the write's invalidation makes that entry a miss."""
    found = await response_cache.lookup("catalog", "page")
    assert found.value is None and found.generation is not None
    await response_cache.invalidate("catalog")  # a write commits meanwhile
    await response_cache.store("catalog", "page", b"stale", found.generation)
    assert (await response_cache.lookup("catalog", "page")).value is None
    fresh = await response_cache.lookup("catalog", "page")
    await response_cache.store("catalog", "page", b"fresh", fresh.generation)
    assert (await response_cache.lookup("catalog", "page")).value == b"fresh"
    assert (await response_cache.lookup("other", "page")).value is None  # namespaces apart


async def test_a_transaction_invalidates_again_after_its_commit(make_app: AppFactory) -> None:
    from studyhall.core.cache import invalidate_on_commit

    app = await make_app()
    cache: ResponseCache = app.state.cache
    before = (await cache.lookup("catalog", "x")).generation
    assert before is not None
    async with app.state.database.session_scope() as session:
        await invalidate_on_commit(session, "catalog")
        assert (await cache.lookup("catalog", "x")).generation == before + 1
    await cache.aclose()  # Redis: the after-commit invalidation runs in the background
    assert (await cache.lookup("catalog", "x")).generation == before + 2
    async with app.state.database.session_scope():
        pass  # a transaction that changed nothing invalidates nothing
    await cache.aclose()
    assert (await cache.lookup("catalog", "x")).generation == before + 2


async def test_memory_cache_keeps_the_most_recently_used_entries_until_they_expire(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr("studyhall.core.cache.time.monotonic", lambda: now[0])
    cache = MemoryCache(ttl=5, max_entries=2)
    for key in ("a", "b"):
        await cache.store("n", key, key.encode(), 0)
    assert (await cache.lookup("n", "a")).value == b"a"  # "a" is now the most recent
    await cache.store("n", "c", b"c", 0)  # evicts "b"
    assert [(await cache.lookup("n", key)).value for key in ("a", "b", "c")] == [b"a", None, b"c"]
    now[0] += 5
    assert (await cache.lookup("n", "a")).value is None


async def test_redis_entries_expire_after_the_ttl(redis_server: RedisServer) -> None:
    redis = Redis.from_url(redis_server.url)
    await redis.flushdb()
    cache = RedisCache(redis.connection_pool, ttl=2.5)
    await cache.store("catalog", "page", b"body", 0)
    ttl_ms = await redis.pttl("studyhall:cache:catalog:page")
    assert 0 < ttl_ms <= 2500
    await redis.aclose()


async def test_concurrent_misses_build_an_entry_once(response_cache: ResponseCache) -> None:
    builds: list[int] = []
    release = asyncio.Event()

    async def build() -> bytes:
        builds.append(1)
        await release.wait()
        return b"answer"

    callers = [asyncio.create_task(response_cache.get_or_build("analytics", "k", build)) for _ in range(8)]
    await asyncio.sleep(0.05)
    release.set()
    assert await asyncio.gather(*callers) == [b"answer"] * 8
    assert len(builds) == 1
    assert await response_cache.get_or_build("analytics", "k", build) == b"answer"  # stored
    assert len(builds) == 1


async def test_a_failed_build_hands_the_turn_to_a_waiting_caller(response_cache: ResponseCache) -> None:
    attempts: list[str] = []
    started = asyncio.Event()

    async def failing() -> bytes:
        attempts.append("first")
        started.set()
        await asyncio.sleep(0.05)
        raise RuntimeError("the database went away")

    async def working() -> bytes:
        attempts.append("second")
        return b"answer"

    first = asyncio.create_task(response_cache.get_or_build("analytics", "k", failing))
    await started.wait()
    second = asyncio.create_task(response_cache.get_or_build("analytics", "k", working))
    with pytest.raises(RuntimeError):
        await first
    assert await second == b"answer"
    assert attempts == ["first", "second"]
    assert (await response_cache.lookup("analytics", "k")).value == b"answer"


async def test_an_entry_may_have_a_ttl_of_its_own(response_cache: ResponseCache) -> None:
    async def build() -> bytes:
        return b"answer"

    await response_cache.get_or_build("analytics", "short", build, ttl=0.2)
    await response_cache.store(
        "analytics", "default", b"x", (await response_cache.lookup("analytics", "d")).generation
    )
    assert (await response_cache.lookup("analytics", "short")).value == b"answer"
    await asyncio.sleep(0.3)
    assert (await response_cache.lookup("analytics", "short")).value is None
    assert (await response_cache.lookup("analytics", "default")).value == b"x"  # the cache's 60 s


async def test_without_a_cache_every_caller_builds() -> None:
    builds: list[int] = []

    async def build() -> bytes:
        builds.append(1)
        return b"answer"

    off = ResponseCache()
    assert [await off.get_or_build("analytics", "k", build) for _ in range(2)] == [b"answer"] * 2
    assert len(builds) == 2


async def test_lesson_content_is_stored_rendered(make_app: AppFactory) -> None:
    app = await make_app()
    teacher = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, teacher, title="Rendered")
    async with client_of(app) as client:
        created = await client.post(
            f"{CATALOG}/{course.id}/lessons",
            json={"title": "T", "type": "text", "content": "# One <script>x()</script>"},
            headers=teacher.headers,
        )
        lesson_id = created.json()["id"]
        edited = await client.patch(
            f"{API}/lessons/{lesson_id}", json={"content": "**two**"}, headers=teacher.headers
        )
        assert edited.json()["content_html"] == "<p><strong>two</strong></p>\n"
        restored = await client.post(f"{API}/lessons/{lesson_id}/versions/1/restore", headers=teacher.headers)
        assert restored.json()["content_html"] == "<h1>One </h1>\n"
    async with app.state.database.sessionmaker() as session:
        stored = await session.scalar(select(Lesson.content_html).where(Lesson.id == uuid.UUID(lesson_id)))
    assert stored == "<h1>One </h1>\n"


# -- instructors' public cards (GraphQL's catalog page) -----------------------------------

INSTRUCTOR_CARDS = '{ courses(sort: "title") { items { title instructors { id fullName bio role } } } }'


async def instructor_cards(client: httpx.AsyncClient) -> list[Any]:
    return graphql_data(await graphql(client, INSTRUCTOR_CARDS))["courses"]["items"]


async def test_instructor_cards_are_served_from_the_cache(make_app: AppFactory) -> None:
    app = await make_app()
    teacher = await create_user(app, Role.INSTRUCTOR, full_name="Ada")
    await create_course(app, teacher, title="Cached", lessons=1)
    async with client_of(app) as client:
        first = await instructor_cards(client)
        assert first[0]["instructors"] == [
            {"id": str(teacher.user.id), "fullName": "Ada", "bio": None, "role": "instructor"}
        ]
        with count_statements(app) as statements:
            assert await instructor_cards(client) == first
        assert statements == []  # the page and the instructors' cards both from the cache


@dataclass
class People:
    teacher: Actor
    admin: Actor
    principal: Actor
    organization: Organization

    @classmethod
    async def of(cls, app: FastAPI) -> People:
        organization = await create_organization(app)
        teacher = await create_user(app, Role.INSTRUCTOR, full_name="Ada", organization=organization)
        await create_course(app, teacher, title="Taught", lessons=1)
        return cls(
            teacher,
            await create_user(app, Role.ADMIN),
            await create_user(app, Role.PRINCIPAL, organization=organization),
            organization,
        )

    @staticmethod
    async def send(
        client: httpx.AsyncClient, method: str, path: str, actor: Actor, body: dict[str, Any]
    ) -> None:
        response = await client.request(method, f"{API}{path}", json=body, headers=actor.headers)
        assert response.status_code in (200, 201), response.text


async def _rename_self(client: httpx.AsyncClient, people: People) -> None:
    await people.send(client, "PATCH", "/auth/me", people.teacher, {"full_name": "Ada Renamed"})


async def _new_bio(client: httpx.AsyncClient, people: People) -> None:
    await people.send(client, "PATCH", "/auth/me", people.teacher, {"bio": "Teaches SQL"})


async def _renamed_by_admin(client: httpx.AsyncClient, people: People) -> None:
    await people.send(
        client, "PATCH", f"/users/{people.teacher.user.id}", people.admin, {"full_name": "Dr Ada"}
    )


async def _role_changed_by_admin(client: httpx.AsyncClient, people: People) -> None:
    await people.send(
        client, "PATCH", f"/users/{people.teacher.user.id}", people.admin, {"role": "principal"}
    )


async def _role_changed_by_principal(client: httpx.AsyncClient, people: People) -> None:
    path = f"/organizations/{people.organization.id}/members"
    await people.send(
        client, "POST", path, people.principal, {"email": people.teacher.user.email, "role": "student"}
    )


PeopleWrite = Callable[[httpx.AsyncClient, "People"], Awaitable[None]]
#: Every write that changes what anyone sees of an instructor.
PEOPLE_WRITES: dict[str, PeopleWrite] = {
    "renamed by themselves": _rename_self,
    "new bio": _new_bio,
    "renamed by an admin": _renamed_by_admin,
    "role changed by an admin": _role_changed_by_admin,
    "role changed by their principal": _role_changed_by_principal,
}


@pytest.mark.parametrize("write", list(PEOPLE_WRITES))
async def test_each_change_of_a_public_card_makes_the_next_read_fresh(
    make_app: AppFactory, write: str
) -> None:
    app = await make_app()
    truth = await make_app(cache_ttl_seconds=0)
    people = await People.of(app)
    async with client_of(app) as client, client_of(truth) as uncached:
        before = await instructor_cards(client)
        assert before == await instructor_cards(client)  # served from the cache
        await PEOPLE_WRITES[write](client, people)
        after = await instructor_cards(client)
        assert after == await instructor_cards(uncached)
    assert after != before, "the write changed nothing visible: the test proves nothing"
