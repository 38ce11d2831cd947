"""Everything inside a course follows the course's visibility at the time of the request.

A student enrolled in a course that is then archived, unpublished, deleted, or (organisation-
only course) whose organisation drops them gets the resource's own 404 on every route inside
the course, and nothing is written. The course's staff keep access to archived, draft and
organisation courses; a deleted course is gone for everyone until it is restored.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from studyhall.assessment.errors import QuizNotFound
from studyhall.assessment.models import Assignment, Quiz, QuizAttempt, Submission
from studyhall.catalog.access import CourseRole, course_access, lesson_access
from studyhall.catalog.errors import CourseNotFound
from studyhall.catalog.models import Course, Lesson
from studyhall.core.clock import utcnow
from studyhall.core.events import OutboxEvent
from studyhall.identity.models import Organization, Role, User
from studyhall.learning.models import Enrollment, LessonCompletion, VideoPosition
from tests.conftest import apps_on, client_of, database_of_its_own
from tests.factories import (
    API,
    Actor,
    assert_problem,
    complete_directly,
    create_assignment,
    create_course,
    create_lesson,
    create_organization,
    create_quiz,
    create_user,
    enroll_directly,
    fresh_row,
    right_answers,
    set_course,
    start_attempt_directly,
)


@dataclass
class World:
    owner: Actor
    student: Actor
    course: Course
    done: Lesson  # a text lesson the student completed
    todo: Lesson  # a video lesson they have not
    quiz: Quiz  # with the student's open attempt
    attempt: QuizAttempt
    fresh_quiz: Quiz  # not attempted yet
    assignment: Assignment


async def build_world(app: FastAPI, *, visibility: str) -> World:
    """A published course of the owner's organisation, its student enrolled and mid-course."""
    organization = await create_organization(app)
    owner = await create_user(app, Role.INSTRUCTOR, organization=organization)
    student = await create_user(app, organization=organization)
    course = await create_course(app, owner, visibility=visibility, organization=organization)
    done = await create_lesson(app, course)
    todo = await create_lesson(app, course, lesson_type="video")
    quiz = await create_quiz(app, await create_lesson(app, course, lesson_type="quiz"))
    fresh_quiz = await create_quiz(app, await create_lesson(app, course, lesson_type="quiz"))
    await enroll_directly(app, student, course)
    await complete_directly(app, student, done)
    attempt = await start_attempt_directly(app, student, quiz)
    assignment = await create_assignment(app, course, owner)
    return World(owner, student, course, done, todo, quiz, attempt, fresh_quiz, assignment)


async def _archive(app: FastAPI, world: World) -> None:
    await set_course(app, world.course, status="archived")


async def _unpublish(app: FastAPI, world: World) -> None:
    await set_course(app, world.course, status="draft")


async def _delete(app: FastAPI, world: World) -> None:
    await set_course(app, world.course, deleted_at=utcnow(), deletion_id=uuid.uuid4())


async def _remove_from_organization(app: FastAPI, world: World) -> None:
    async with app.state.database.sessionmaker() as session, session.begin():
        await session.execute(
            update(User).where(User.id == world.student.user.id).values(organization_id=None)
        )


#: How a course leaves its student's sight; the last one needs an organisation-only course.
HIDE = {
    "archived": _archive,
    "unpublished": _unpublish,
    "deleted": _delete,
    "removed_from_org": _remove_from_organization,
}

Expected = tuple[int, str | None]
NOT_ENROLLED: Expected = (403, "not_enrolled")
NOT_PUBLISHED: Expected = (409, "course_not_published")


@dataclass(frozen=True)
class Route:
    method: str
    path: Callable[[World], str]
    #: The resource's own 404 code: what a student of a hidden course gets.
    not_found: str
    #: What the enrolled student gets while the course is visible.
    student_visible: int
    #: What the course's staff get once it is archived or a draft (None: not a staff action).
    staff: Expected | None
    #: ... and once the organisation dropped the student (the course is still published).
    staff_published: Expected | None = None
    body: Callable[[World], dict[str, Any]] | None = None


ROUTES = {
    "lesson_outline": Route(
        "GET", lambda w: f"/courses/{w.course.id}/lessons", "course_not_found", 200, (200, None)
    ),
    "lesson": Route("GET", lambda w: f"/lessons/{w.done.id}", "lesson_not_found", 200, (200, None)),
    "complete": Route(
        "POST",
        lambda w: f"/lessons/{w.todo.id}/complete",
        "lesson_not_found",
        200,
        NOT_PUBLISHED,
        NOT_ENROLLED,
    ),
    "uncomplete": Route(
        "DELETE",
        lambda w: f"/lessons/{w.done.id}/complete",
        "lesson_not_found",
        200,
        NOT_PUBLISHED,
        NOT_ENROLLED,
    ),
    "position": Route(
        "PUT",
        lambda w: f"/lessons/{w.todo.id}/position",
        "lesson_not_found",
        200,
        NOT_PUBLISHED,
        NOT_ENROLLED,
        body=lambda _: {"position_seconds": 590, "duration_seconds": 600},
    ),
    "progress": Route(
        "GET", lambda w: f"/courses/{w.course.id}/progress", "course_not_found", 200, NOT_ENROLLED
    ),
    "quiz": Route("GET", lambda w: f"/lessons/{w.quiz.lesson_id}/quiz", "lesson_not_found", 200, (200, None)),
    "start_attempt": Route(
        "POST", lambda w: f"/quizzes/{w.fresh_quiz.id}/attempts", "quiz_not_found", 201, NOT_ENROLLED
    ),
    "submit_attempt": Route(
        "POST",
        lambda w: f"/attempts/{w.attempt.id}/submit",
        "attempt_not_found",
        200,
        None,
        body=lambda w: {"answers": right_answers(w.attempt)},
    ),
    "attempts": Route("GET", lambda w: f"/quizzes/{w.quiz.id}/attempts", "quiz_not_found", 200, (200, None)),
    "attempt": Route("GET", lambda w: f"/attempts/{w.attempt.id}", "attempt_not_found", 200, (200, None)),
    "assignments": Route(
        "GET", lambda w: f"/courses/{w.course.id}/assignments", "course_not_found", 200, (200, None)
    ),
    "assignment": Route(
        "GET", lambda w: f"/assignments/{w.assignment.id}", "assignment_not_found", 200, (200, None)
    ),
    "submit_work": Route(
        "POST",
        lambda w: f"/assignments/{w.assignment.id}/submissions",
        "assignment_not_found",
        201,
        NOT_ENROLLED,
        body=lambda _: {"text": "My essay"},
    ),
    "submissions": Route(
        "GET",
        lambda w: f"/assignments/{w.assignment.id}/submissions",
        "assignment_not_found",
        200,
        (200, None),
    ),
    "roster": Route(
        "GET", lambda w: f"/courses/{w.course.id}/enrollments", "course_not_found", 403, (200, None)
    ),
    "gradebook": Route(
        "GET", lambda w: f"/courses/{w.course.id}/gradebook", "course_not_found", 403, (200, None)
    ),
}


def _matrix() -> list[Any]:
    cases = []
    for route_name, route in ROUTES.items():
        for scenario in HIDE:
            cases.append(pytest.param(route_name, scenario, "student", id=f"{route_name}-{scenario}-student"))
            if route.staff is not None:
                cases.append(pytest.param(route_name, scenario, "staff", id=f"{route_name}-{scenario}-staff"))
    return cases


async def call(client: httpx.AsyncClient, route: Route, world: World, actor: Actor) -> httpx.Response:
    body = route.body(world) if route.body is not None else None
    return await client.request(route.method, API + route.path(world), json=body, headers=actor.headers)


async def snapshot(app: FastAPI, world: World) -> dict[str, Any]:
    """Every row a course-internal route could write, and the student's enrollment."""
    async with app.state.database.sessionmaker() as session:
        counts = {
            model.__name__: await session.scalar(select(func.count()).select_from(model))
            for model in (LessonCompletion, VideoPosition, QuizAttempt, Submission, OutboxEvent)
        }
        attempt = (
            await session.execute(
                select(QuizAttempt.status, QuizAttempt.answers).where(QuizAttempt.id == world.attempt.id)
            )
        ).one()
        enrollment = (
            await session.execute(
                select(Enrollment.status, Enrollment.last_activity_at, Enrollment.completed_at).where(
                    Enrollment.user_id == world.student.user.id
                )
            )
        ).one()
    return {**counts, "attempt": tuple(attempt), "enrollment": tuple(enrollment)}


@dataclass
class HiddenWorlds:
    app: FastAPI
    client: httpx.AsyncClient
    #: A world per way of hiding its course, already hidden.
    worlds: dict[str, World]


@pytest.fixture(scope="module")
async def hidden_worlds(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[HiddenWorlds]:
    """The worlds of the matrix below, built once per backend on a database of the module's
    own: every request of the matrix is refused or only reads, and each case asserts that
    nothing was written, so the cases share them."""
    directory = tmp_path_factory.mktemp("course-access")
    database_url = await database_of_its_own(request, backend, directory)
    async with apps_on(database_url, directory) as make_app:
        app = await make_app()
        worlds = {}
        for scenario, hide in HIDE.items():
            worlds[scenario] = await build_world(
                app, visibility="organization" if scenario == "removed_from_org" else "public"
            )
            await hide(app, worlds[scenario])
        async with client_of(app) as client:
            yield HiddenWorlds(app, client, worlds)


@pytest.mark.parametrize(("route_name", "scenario", "role"), _matrix())
async def test_hidden_course_closes_every_route_inside_it(
    hidden_worlds: HiddenWorlds, route_name: str, scenario: str, role: str
) -> None:
    route = ROUTES[route_name]
    app, client, world = hidden_worlds.app, hidden_worlds.client, hidden_worlds.worlds[scenario]
    before = await snapshot(app, world)

    response = await call(client, route, world, world.student if role == "student" else world.owner)

    expected: Expected
    if role == "student" or scenario == "deleted":
        expected = (404, route.not_found)
    elif scenario == "removed_from_org" and route.staff_published is not None:
        expected = route.staff_published
    else:
        assert route.staff is not None
        expected = route.staff
    if expected[1] is None:
        assert response.status_code == expected[0], response.text
    else:
        assert_problem(response, *expected)
    assert await snapshot(app, world) == before, "nothing may be written"


@pytest.mark.parametrize("route_name", list(ROUTES))
async def test_enrolled_student_reaches_every_route_while_the_course_is_visible(
    app: FastAPI, client: httpx.AsyncClient, route_name: str
) -> None:
    """The same requests succeed on the visible course: the 404s above come from visibility."""
    route = ROUTES[route_name]
    world = await build_world(app, visibility="organization")

    response = await call(client, route, world, world.student)

    assert response.status_code == route.student_visible, response.text


@pytest.mark.parametrize("scenario", list(HIDE))
async def test_my_course_lists_leave_hidden_courses_out(
    app: FastAPI, client: httpx.AsyncClient, scenario: str
) -> None:
    world = await build_world(app, visibility="organization" if scenario == "removed_from_org" else "public")
    other = await create_course(app, world.owner, lessons=1, title="Still open")
    await enroll_directly(app, world.student, other)

    async def listed(path: str) -> list[str]:
        response = await client.get(API + path, headers=world.student.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == len(body["items"])
        return sorted(item["course"]["id"] for item in body["items"])

    both = sorted([str(world.course.id), str(other.id)])
    assert await listed("/enrollments/me") == both
    assert await listed("/me/continue") == both
    await HIDE[scenario](app, world)

    assert await listed("/enrollments/me") == [str(other.id)]
    assert await listed("/me/continue") == [str(other.id)]


@pytest.mark.parametrize("scenario", list(HIDE))
async def test_unenrolling_from_a_hidden_course_is_404(
    app: FastAPI, client: httpx.AsyncClient, scenario: str
) -> None:
    world = await build_world(app, visibility="organization" if scenario == "removed_from_org" else "public")
    await HIDE[scenario](app, world)
    before = await snapshot(app, world)

    response = await client.delete(f"{API}/courses/{world.course.id}/enroll", headers=world.student.headers)

    assert_problem(response, 404, "course_not_found")
    assert await snapshot(app, world) == before
    async with app.state.database.sessionmaker() as session:
        assert await session.scalar(select(Course.enrollment_count).where(Course.id == world.course.id)) == 1


async def test_the_rule_decides_visibility_and_role(app: FastAPI) -> None:
    world = await build_world(app, visibility="organization")
    outsider = await create_user(app)
    member = await create_user(
        app, organization=await fresh_row(app, Organization, world.course.organization_id)
    )

    async def role_of(actor: Actor | None) -> CourseRole:
        async with app.state.database.sessionmaker() as session:
            user = actor.user if actor is not None else None
            return (await course_access(session, user, world.course.id)).role

    assert await role_of(world.owner) is CourseRole.STAFF
    assert await role_of(world.student) is CourseRole.STUDENT
    assert await role_of(member) is CourseRole.VIEWER
    for hidden_from in (outsider, None):
        with pytest.raises(CourseNotFound):
            await role_of(hidden_from)
    await _archive(app, world)
    assert await role_of(world.owner) is CourseRole.STAFF
    with pytest.raises(CourseNotFound):
        await role_of(world.student)
    async with app.state.database.sessionmaker() as session:
        with pytest.raises(QuizNotFound):
            await lesson_access(session, world.student.user, world.quiz.lesson_id, not_found=QuizNotFound())
        lesson = await lesson_access(session, world.owner.user, world.quiz.lesson_id)
    assert (lesson.lesson.id, lesson.course.role) == (world.quiz.lesson_id, CourseRole.STAFF)
