"""Course, organisation and learner analytics against the hand-computed known course
(tests/analytics/conftest.py), on both databases."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from studyhall.analytics.insights import streaks
from studyhall.identity.models import Role
from tests.analytics.conftest import KnownCourse
from tests.factories import (
    API,
    FakeClock,
    assert_problem,
    count_statements,
    create_assignment,
    create_user,
    iso,
)


async def get(client: httpx.AsyncClient, path: str, actor: object = None, **params: str) -> httpx.Response:
    headers = getattr(actor, "headers", {})
    return await client.get(f"{API}{path}", params=params, headers=headers)


async def test_course_analytics_match_the_hand_computed_figures(
    app: FastAPI, client: httpx.AsyncClient, known: KnownCourse
) -> None:
    k = known
    with count_statements(app) as statements:
        response = await get(
            client, f"/courses/{k.course.id}/analytics", k.owner, **{"from": k.date(-1), "to": k.date(4)}
        )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "course_id": str(k.course.id),
        "enrollments_total": 3,
        "active_learners_7d": 3,
        "active_learners_30d": 4,
        "completion_rate": 0.3333,
        "average_progress_percent": 44.44,
        "average_days_to_complete": 3.0,
        "enrollments_per_day": [
            {"date": k.date(-1), "count": 0},
            {"date": k.date(0), "count": 2},
            {"date": k.date(1), "count": 1},
            {"date": k.date(2), "count": 0},
            {"date": k.date(3), "count": 0},
            {"date": k.date(4), "count": 0},
        ],
        "lessons": [
            {"lesson_id": str(k.text.id), "title": "Lesson 1", "reached": 4, "completed": 2},
            {"lesson_id": str(k.video.id), "title": "Lesson 2", "reached": 2, "completed": 1},
            {"lesson_id": str(k.quiz_lesson.id), "title": "Lesson 3", "reached": 1, "completed": 1},
        ],
        "quizzes": [
            {
                "quiz_id": str(k.quiz.id),
                "title": "Checkpoint",
                "attempts": 2,
                "pass_rate": 0.5,
                "average_score_percent": 75.0,
            }
        ],
        "videos": [{"lesson_id": str(k.video.id), "watch_ratio": 0.625}],
    }
    # Bounded: the caller, the course and its instructors, then the insight's seven queries.
    assert len(statements) <= 10, statements
    assert not any("activity_events" in s for s in statements)


async def test_active_learner_windows_end_on_to(client: httpx.AsyncClient, known: KnownCourse) -> None:
    k = known
    # Ending on day 1: the 7 days hold Ann and Ben (day 0) and Cid (day 1); Eve is 21 days back.
    body = (await get(client, f"/courses/{k.course.id}/analytics", k.owner, to=k.date(1))).json()
    assert (body["active_learners_7d"], body["active_learners_30d"]) == (3, 4)
    assert len(body["enrollments_per_day"]) == 30
    assert body["enrollments_per_day"][-1] == {"date": k.date(1), "count": 1}
    # Ending 40 days later: nobody.
    late = (await get(client, f"/courses/{k.course.id}/analytics", k.owner, to=k.date(45))).json()
    assert (late["active_learners_7d"], late["active_learners_30d"]) == (0, 0)


async def test_default_range_is_the_30_days_ending_today(
    client: httpx.AsyncClient, known: KnownCourse, clock: FakeClock
) -> None:
    body = (await get(client, f"/courses/{known.course.id}/analytics", known.owner)).json()
    days = [entry["date"] for entry in body["enrollments_per_day"]]
    assert days[-1] == clock.now.date().isoformat() == known.date(4)
    assert days[0] == (clock.now.date() - timedelta(days=29)).isoformat()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-03-02", "to": "2026-03-01"}, "from"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "to"),
        ({"from": "not-a-date"}, "from"),
        ({"from": "0001-01-01"}, "from"),
        ({"to": "9999-12-31"}, "to"),
    ],
)
async def test_bad_ranges_are_422(
    client: httpx.AsyncClient, known: KnownCourse, params: dict[str, str], field: str
) -> None:
    for path, actor in (
        (f"/courses/{known.course.id}/analytics", known.owner),
        ("/me/analytics", known.ann),
    ):
        body = assert_problem(await get(client, path, actor, **params), 422, "validation_error")
        assert body["errors"][0]["loc"] == ["query", field]


async def test_organization_analytics_per_course_and_per_instructor(
    app: FastAPI, client: httpx.AsyncClient, known: KnownCourse
) -> None:
    k = known
    principal = await create_user(app, Role.PRINCIPAL, organization=k.organization)
    with count_statements(app) as statements:
        response = await get(
            client,
            f"/organizations/{k.organization.id}/analytics",
            principal,
            **{"from": k.date(0), "to": k.date(4)},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    quiz = {"quiz_attempts": 2, "quiz_pass_rate": 0.5, "average_score_percent": 75.0}
    no_quiz = {"quiz_attempts": 0, "quiz_pass_rate": None, "average_score_percent": None}
    data_science = {
        "enrollments_total": 3,
        "active_learners_7d": 3,
        "active_learners_30d": 4,
        "completion_rate": 0.3333,
        "average_progress_percent": 44.44,
        "average_days_to_complete": 3.0,
        **quiz,
    }
    assert {key: value for key, value in body.items() if key not in ("courses", "instructors")} == {
        "organization_id": str(k.organization.id),
        "enrollments_total": 4,
        "active_learners_7d": 3,
        "active_learners_30d": 4,
        "completion_rate": 0.25,
        "average_progress_percent": 40.0,
        "average_days_to_complete": 3.0,
        **quiz,
        "enrollments_per_day": [
            {"date": k.date(0), "count": 2},
            {"date": k.date(1), "count": 1},
            {"date": k.date(2), "count": 1},
            {"date": k.date(3), "count": 0},
            {"date": k.date(4), "count": 0},
        ],
    }
    assert body["courses"] == [
        {"course_id": str(k.course.id), "title": "Data Science", "status": "published", **data_science},
        {
            "course_id": str(k.statistics.id),
            "title": "Statistics",
            "status": "published",
            "enrollments_total": 1,
            "active_learners_7d": 1,
            "active_learners_30d": 1,
            "completion_rate": 0.0,
            "average_progress_percent": 0.0,
            "average_days_to_complete": None,
            **no_quiz,
        },
    ]
    ivan, olga = body["instructors"]
    assert sorted(ivan.pop("course_ids")) == sorted([str(k.course.id), str(k.statistics.id)])
    assert ivan == {
        "user_id": k.co_instructor.id,
        "full_name": "Ivan Instructor",
        "enrollments_total": 4,
        "active_learners_7d": 3,
        "active_learners_30d": 4,
        "completion_rate": 0.25,
        "average_progress_percent": 40.0,
        "average_days_to_complete": 3.0,
        **quiz,
    }
    assert olga == {
        "user_id": k.owner.id,
        "full_name": "Olga Owner",
        "course_ids": [str(k.course.id)],
        **data_science,
    }
    assert len(statements) <= 12, statements


async def test_my_analytics(
    app: FastAPI, client: httpx.AsyncClient, known: KnownCourse, clock: FakeClock
) -> None:
    k = known
    due_soon = await create_assignment(app, k.course, k.owner, title="Essay", due_at=k.at(7))
    await create_assignment(app, k.course, k.owner, title="Later", due_at=k.at(24))
    await create_assignment(app, k.course, k.owner, title="Past", due_at=k.at(3))
    other = await create_assignment(app, k.statistics, k.co_instructor, title="Stats work", due_at=k.at(5))
    with count_statements(app) as statements:
        response = await get(client, "/me/analytics", k.ann, **{"from": k.date(0), "to": k.date(4)})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "days": [
            {"date": k.date(0), "learning_seconds": 0.0, "lessons_completed": 0, "active": True},
            {"date": k.date(1), "learning_seconds": 0.0, "lessons_completed": 0, "active": False},
            {"date": k.date(2), "learning_seconds": 850.0, "lessons_completed": 2, "active": True},
            {"date": k.date(3), "learning_seconds": 0.0, "lessons_completed": 1, "active": True},
            {"date": k.date(4), "learning_seconds": 0.0, "lessons_completed": 0, "active": False},
        ],
        "learning_seconds_total": 850.0,
        "current_streak_days": 2,
        "longest_streak_days": 2,
        "lessons_completed": 3,
        "courses_completed": 1,
        "upcoming_assignments": [
            {
                "assignment_id": str(due_soon.id),
                "title": "Essay",
                "course_id": str(k.course.id),
                "course_title": "Data Science",
                "due_at": iso(k.at(7)),
            }
        ],
    }
    assert len(statements) <= 6, statements
    # Ben: also Statistics' work; once he hands the essay in, only that one is left.
    ben = (await get(client, "/me/analytics", k.ben)).json()
    assert [a["title"] for a in ben["upcoming_assignments"]] == ["Stats work", "Essay"]
    assert ben["days"][-1] == {
        "date": k.date(4),
        "learning_seconds": 50.0,
        "lessons_completed": 0,
        "active": True,
    }
    handed_in = await client.post(
        f"{API}/assignments/{due_soon.id}/submissions", json={"text": "Done."}, headers=k.ben.headers
    )
    assert handed_in.status_code == 201, handed_in.text
    ben = (await get(client, "/me/analytics", k.ben)).json()
    assert [a["assignment_id"] for a in ben["upcoming_assignments"]] == [str(other.id)]
    # Two days without activity end Ann's streak.
    clock.advance(days=2)
    later = (await get(client, "/me/analytics", k.ann)).json()
    assert (later["current_streak_days"], later["longest_streak_days"]) == (0, 2)


def test_streaks() -> None:
    from datetime import date

    d = date(2026, 1, 10)
    days = [d - timedelta(days=n) for n in (9, 8, 7, 4, 1, 0)]
    assert streaks(sorted(days), d) == streaks(sorted(days), d)
    assert (streaks(sorted(days), d).current, streaks(sorted(days), d).longest) == (2, 3)
    assert streaks(sorted(days), d + timedelta(days=1)).current == 2  # today not over yet
    assert streaks(sorted(days), d + timedelta(days=2)).current == 0
    assert (streaks([], d).current, streaks([], d).longest) == (0, 0)
