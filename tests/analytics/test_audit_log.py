"""The audit log: one entry per audited action with the right fields, none for an action
that failed, who may read it (`GET /audit-logs`), its filters, redaction, append-only,
retention."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from studyhall.analytics import audit
from studyhall.analytics.models import AuditLogEntry
from studyhall.identity import service as identity
from studyhall.identity.models import Role, TokenPurpose, User
from studyhall.workers import periodic_jobs
from tests.factories import (
    API,
    PASSWORD,
    FakeClock,
    assert_problem,
    audit_entries,
    count_rows,
    create_assignment,
    create_course,
    create_lesson,
    create_organization,
    create_post,
    create_quiz,
    create_user,
    enroll,
    fresh_row,
    issue_certificate_directly,
    login,
    start_attempt_directly,
)

AUDIT = f"{API}/audit-logs"


async def only_entry(app: FastAPI, action: str) -> AuditLogEntry:
    entries = await audit_entries(app)
    assert [entry.action for entry in entries] == [action], [e.action for e in entries]
    return entries[0]


# -- each action: exactly one entry, with its fields ------------------------------------------


async def test_a_role_change_is_one_entry_with_the_request_context(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await create_user(app, Role.ADMIN)
    organization = await create_organization(app)
    student = await create_user(app, organization=organization)
    response = await client.patch(
        f"{API}/users/{student.id}",
        headers={**admin.headers, "User-Agent": "audit-test", "X-Request-ID": "req-42"},
        json={"role": "instructor"},
    )
    assert response.status_code == 200
    entry = await only_entry(app, "user.role_changed")
    assert (entry.actor_id, entry.actor_email) == (admin.user.id, admin.user.email)
    assert (entry.resource_type, entry.resource_id, entry.organization_id) == (
        "user",
        student.id,
        organization.id,
    )
    assert entry.changes == {"role": ["student", "instructor"]}
    assert (entry.ip, entry.user_agent, entry.request_id) == ("127.0.0.1", "audit-test", "req-42")


async def test_one_request_changing_several_things_records_each_kind(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await create_user(app, Role.ADMIN)
    student = await create_user(app, full_name="Old")
    response = await client.patch(
        f"{API}/users/{student.id}",
        headers=admin.headers,
        json={"role": "instructor", "is_active": False, "full_name": "New"},
    )
    assert response.status_code == 200
    entries = {entry.action: entry.changes for entry in await audit_entries(app)}
    assert entries == {
        "user.role_changed": {"role": ["student", "instructor"]},
        "user.deactivated": {"is_active": [True, False]},
        "user.updated": {"full_name": ["Old", "New"]},
    }


async def test_deleting_and_restoring_a_user(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await create_user(app, Role.ADMIN)
    student = await create_user(app)
    assert (await client.delete(f"{API}/users/{student.id}", headers=admin.headers)).status_code == 204
    assert (await client.post(f"{API}/users/{student.id}/restore", headers=admin.headers)).status_code == 200
    # Restoring a live user changes nothing: no entry.
    assert (await client.post(f"{API}/users/{student.id}/restore", headers=admin.headers)).status_code == 200
    assert [(e.action, e.resource_id) for e in await audit_entries(app)] == [
        ("user.deleted", student.id),
        ("user.restored", student.id),
    ]


async def test_organisation_changes(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await create_user(app, Role.ADMIN)
    member = await create_user(app, email="member@example.com")
    created = await client.post(
        f"{API}/organizations", headers=admin.headers, json={"name": "Acme", "slug": "acme"}
    )
    organization_id = created.json()["id"]
    await client.patch(
        f"{API}/organizations/{organization_id}", headers=admin.headers, json={"name": "Acme Ltd"}
    )
    await client.post(
        f"{API}/organizations/{organization_id}/members",
        headers=admin.headers,
        json={"email": "member@example.com", "role": "instructor"},
    )
    await client.delete(f"{API}/organizations/{organization_id}/members/{member.id}", headers=admin.headers)
    entries = await audit_entries(app)
    assert [(e.action, e.resource_type, str(e.organization_id)) for e in entries] == [
        ("organization.created", "organization", organization_id),
        ("organization.updated", "organization", organization_id),
        ("organization.member_added", "user", organization_id),
        ("organization.member_removed", "user", organization_id),
    ]
    assert entries[1].changes == {"name": ["Acme", "Acme Ltd"]}
    assert entries[2].changes == {
        "organization_id": [None, organization_id],
        "role": ["student", "instructor"],
    }
    assert entries[3].changes == {"organization_id": [organization_id, None]}


async def test_course_life_cycle(app: FastAPI, client: httpx.AsyncClient) -> None:
    organization = await create_organization(app)
    owner = await create_user(app, Role.INSTRUCTOR, organization=organization)
    course = await create_course(app, owner, status="draft", lessons=1)
    for step in ("publish", "unpublish", "archive"):
        assert (
            await client.post(f"{API}/courses/{course.id}/{step}", headers=owner.headers)
        ).status_code == 200
    assert (await client.delete(f"{API}/courses/{course.id}", headers=owner.headers)).status_code == 204
    assert (await client.post(f"{API}/courses/{course.id}/restore", headers=owner.headers)).status_code == 200
    entries = await audit_entries(app)
    assert [(e.action, e.changes) for e in entries] == [
        ("course.published", {"status": ["draft", "published"]}),
        ("course.unpublished", {"status": ["published", "draft"]}),
        ("course.archived", {"status": ["draft", "archived"]}),
        ("course.deleted", {}),
        ("course.restored", {}),
    ]
    assert {(e.resource_id, e.organization_id, e.actor_id) for e in entries} == {
        (str(course.id), organization.id, owner.user.id)
    }


async def test_lesson_and_post_deletes_and_restores(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, lessons=1)
    lesson = await create_lesson(app, course)
    post = await create_post(app, owner, course)
    for path in (f"lessons/{lesson.id}", f"posts/{post.id}"):
        assert (await client.delete(f"{API}/{path}", headers=owner.headers)).status_code == 204
        assert (await client.post(f"{API}/{path}/restore", headers=owner.headers)).status_code == 200
    assert [(e.action, e.resource_id) for e in await audit_entries(app)] == [
        ("lesson.deleted", str(lesson.id)),
        ("lesson.restored", str(lesson.id)),
        ("post.deleted", str(post.id)),
        ("post.restored", str(post.id)),
    ]


async def test_grading_a_submission(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=1)
    assignment = await create_assignment(app, course, owner)
    await enroll(client, student, course)
    submitted = await client.post(
        f"{API}/assignments/{assignment.id}/submissions", headers=student.headers, json={"text": "My essay"}
    )
    submission_id = submitted.json()["id"]
    graded = await client.post(
        f"{API}/submissions/{submission_id}/grade",
        headers=owner.headers,
        json={"points": 8, "feedback": "Good"},
    )
    assert graded.status_code == 200
    entry = await only_entry(app, "submission.graded")
    assert (entry.resource_id, entry.actor_id) == (submission_id, owner.user.id)
    assert entry.changes == {"points": [None, 8.0], "status": ["submitted", "graded"]}


async def test_revoking_a_certificate(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await create_user(app, Role.ADMIN)
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=1, certificate_enabled=True)
    certificate = await issue_certificate_directly(app, student, course)
    response = await client.post(
        f"{API}/certificates/{certificate.id}/revoke", headers=admin.headers, json={"reason": "Fraud"}
    )
    assert response.status_code == 200
    entry = await only_entry(app, "certificate.revoked")
    assert entry.resource_id == str(certificate.id) and entry.changes["revocation_reason"] == [None, "Fraud"]


async def test_a_password_change_names_no_secret(app: FastAPI, client: httpx.AsyncClient) -> None:
    student = await create_user(app)
    tokens = await login(client, student.user.email)
    old_hash = (await fresh_row(app, User, student.user.id)).password_hash
    response = await client.post(
        f"{API}/auth/password",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
    )
    assert response.status_code == 204
    entry = await only_entry(app, "user.password_changed")
    new_hash = (await fresh_row(app, User, student.user.id)).password_hash
    stored = repr(entry.changes) + repr(entry.__dict__)
    assert entry.changes == {} and entry.actor_id == student.user.id
    assert old_hash not in stored and str(new_hash) not in stored and "brand new" not in stored


async def test_a_failed_sign_in_is_recorded_although_the_request_fails(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    student = await create_user(app, email="who@example.com")
    response = await client.post(
        f"{API}/auth/login", json={"email": "WHO@example.com", "password": "wrong guess"}
    )
    assert_problem(response, 401, "invalid_credentials")
    unknown = await client.post(
        f"{API}/auth/login", json={"email": "nobody@example.com", "password": "wrong"}
    )
    assert_problem(unknown, 401, "invalid_credentials")
    entries = await audit_entries(app, "auth.login_failed")
    assert [(e.actor_id, e.actor_email, e.resource_id) for e in entries] == [
        (None, "who@example.com", student.id),
        (None, "nobody@example.com", None),
    ]
    assert all("wrong" not in repr(e.changes) for e in entries)


async def test_grading_a_quiz_attempt(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    student = await create_user(app)
    course = await create_course(app, owner, lessons=1)
    lesson = await create_lesson(app, course, lesson_type="quiz")
    quiz = await create_quiz(app, lesson, {"type": "text", "text": "Explain recursion.", "points": 5})
    await enroll(client, student, course)
    attempt = await start_attempt_directly(app, student, quiz)
    question_id = attempt.questions[0]["id"]
    submitted = await client.post(
        f"{API}/attempts/{attempt.id}/submit",
        headers=student.headers,
        json={"answers": {question_id: "It calls itself"}},
    )
    assert submitted.json()["status"] == "pending_review"
    graded = await client.post(
        f"{API}/attempts/{attempt.id}/grade", headers=owner.headers, json={question_id: 5}
    )
    assert graded.status_code == 200
    entry = await only_entry(app, "attempt.graded")
    assert (entry.resource_type, entry.resource_id, entry.actor_id) == (
        "attempt",
        str(attempt.id),
        owner.user.id,
    )
    assert entry.changes == {
        "status": ["pending_review", "graded"],
        "score_percent": [0.0, 100.0],
        "passed": [None, True],
    }


async def test_deleting_and_restoring_a_module(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner)
    created = await client.post(
        f"{API}/courses/{course.id}/modules", headers=owner.headers, json={"title": "Part 1"}
    )
    module_id = created.json()["id"]
    assert (await client.delete(f"{API}/modules/{module_id}", headers=owner.headers)).status_code == 204
    assert (await client.post(f"{API}/modules/{module_id}/restore", headers=owner.headers)).status_code == 200
    assert [(e.action, e.resource_type, e.resource_id) for e in await audit_entries(app)] == [
        ("module.deleted", "module", module_id),
        ("module.restored", "module", module_id),
    ]


async def test_a_password_reset(app: FastAPI, client: httpx.AsyncClient) -> None:
    student = await create_user(app)
    async with app.state.database.session_scope() as session:
        user = await session.get(User, student.user.id)
        assert user is not None
        token = await identity.issue_one_time_token(
            session, user, TokenPurpose.PASSWORD_RESET, timedelta(hours=1)
        )
    response = await client.post(
        f"{API}/auth/password-reset/confirm", json={"token": token, "new_password": "another long passphrase"}
    )
    assert response.status_code == 204
    entry = await only_entry(app, "user.password_reset")
    assert (entry.actor_id, entry.resource_id, entry.changes) == (student.user.id, student.id, {})


# -- failed actions leave nothing ------------------------------------------------------------------


async def test_a_refused_action_leaves_no_entry(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await create_user(app, Role.ADMIN)
    owner = await create_user(app, Role.INSTRUCTOR)
    empty = await create_course(app, owner, status="draft")
    assert_problem(
        await client.patch(f"{API}/users/{admin.id}", headers=admin.headers, json={"role": "student"}),
        409,
        "last_admin",
    )
    assert_problem(
        await client.post(f"{API}/courses/{empty.id}/publish", headers=owner.headers), 409, "course_empty"
    )
    assert await audit_entries(app) == []


async def test_an_action_rolled_back_after_recording_leaves_no_entry(app: FastAPI) -> None:
    admin = await create_user(app, Role.ADMIN)
    with pytest.raises(RuntimeError):
        async with app.state.database.session_scope() as session:
            audit.record(
                session, audit.USER_UPDATED, actor=admin.user, resource_type="user", resource_id=admin.id
            )
            await session.flush()
            raise RuntimeError("the action failed after its entry was written")
    assert await count_rows(app, AuditLogEntry) == 0


# -- redaction ---------------------------------------------------------------------------------------


async def test_secret_fields_are_redacted_centrally(app: FastAPI) -> None:
    admin = await create_user(app, Role.ADMIN)
    async with app.state.database.session_scope() as session:
        audit.record(
            session,
            audit.USER_UPDATED,
            actor=admin.user,
            resource_type="user",
            resource_id=admin.id,
            changes={
                "password_hash": ["$argon2id$old", "$argon2id$new"],
                "refresh_token": ["a", "b"],
                "client_secret": ["c", "d"],
                "full_name": ["Ada", "Grace"],
                "organization_id": [None, uuid.UUID(int=1)],
            },
        )
    [entry] = await audit_entries(app)
    assert entry.changes == {
        "password_hash": ["[redacted]", "[redacted]"],
        "refresh_token": ["[redacted]", "[redacted]"],
        "client_secret": ["[redacted]", "[redacted]"],
        "full_name": ["Ada", "Grace"],
        "organization_id": [None, str(uuid.UUID(int=1))],
    }


# -- reading it: who, filters, pages ----------------------------------------------------------------


async def seeded_log(app: FastAPI, client: httpx.AsyncClient) -> dict[str, Any]:
    """Two organisations' principals and a role change in each, plus a failed sign-in."""
    admin = await create_user(app, Role.ADMIN)
    ours, theirs = await create_organization(app), await create_organization(app)
    principal = await create_user(app, Role.PRINCIPAL, organization=ours)
    other_principal = await create_user(app, Role.PRINCIPAL, organization=theirs)
    mine = await create_user(app, organization=ours)
    foreign = await create_user(app, organization=theirs)
    for actor, target in ((principal, mine), (other_principal, foreign)):
        response = await client.patch(
            f"{API}/users/{target.id}", headers=actor.headers, json={"role": "instructor"}
        )
        assert response.status_code == 200
    await client.post(f"{API}/auth/login", json={"email": "ghost@example.com", "password": "nope"})
    return {"admin": admin, "principal": principal, "ours": ours, "mine": mine, "foreign": foreign}


async def test_who_may_read_the_audit_log(app: FastAPI, client: httpx.AsyncClient) -> None:
    seeded = await seeded_log(app, client)
    assert_problem(await client.get(AUDIT), 401, "not_authenticated")
    for role in (Role.STUDENT, Role.INSTRUCTOR):
        assert_problem(
            await client.get(AUDIT, headers=(await create_user(app, role)).headers), 403, "insufficient_role"
        )
    everything = (await client.get(AUDIT, headers=seeded["admin"].headers)).json()
    assert everything["total"] == 3
    assert {item["action"] for item in everything["items"]} == {"user.role_changed", "auth.login_failed"}
    own = (await client.get(AUDIT, headers=seeded["principal"].headers)).json()
    assert [(item["resource_id"], item["organization_id"]) for item in own["items"]] == [
        (seeded["mine"].id, str(seeded["ours"].id))
    ]
    lonely = await create_user(app, Role.PRINCIPAL)  # a principal of no organisation sees nothing
    assert (await client.get(AUDIT, headers=lonely.headers)).json()["total"] == 0


async def test_entries_have_the_contract_shape(app: FastAPI, client: httpx.AsyncClient) -> None:
    seeded = await seeded_log(app, client)
    body = (await client.get(AUDIT, headers=seeded["admin"].headers, params={"limit": 2})).json()
    assert (body["total"], body["limit"], body["offset"], len(body["items"])) == (3, 2, 0, 2)
    assert set(body["items"][0]) == {
        "id",
        "occurred_at",
        "actor_id",
        "actor_email",
        "action",
        "resource_type",
        "resource_id",
        "organization_id",
        "changes",
        "ip",
        "user_agent",
        "request_id",
    }
    assert_problem(
        await client.get(AUDIT, headers=seeded["admin"].headers, params={"limit": 101}),
        422,
        "validation_error",
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("action", ["auth.login_failed"]),
        ("resource_type", ["user", "user", "user"]),
        ("actor_id", ["user.role_changed"]),
        ("resource_id", ["user.role_changed"]),
    ],
)
async def test_filters(app: FastAPI, client: httpx.AsyncClient, name: str, expected: list[str]) -> None:
    seeded = await seeded_log(app, client)
    value = {
        "action": "auth.login_failed",
        "resource_type": "user",
        "actor_id": seeded["principal"].id,
        "resource_id": seeded["foreign"].id,
    }[name]
    body = (await client.get(AUDIT, headers=seeded["admin"].headers, params={name: value})).json()
    field = "resource_type" if name == "resource_type" else "action"
    assert sorted(item[field] for item in body["items"]) == expected


async def test_time_window(app: FastAPI, client: httpx.AsyncClient, clock: FakeClock) -> None:
    admin = await create_user(app, Role.ADMIN)
    await client.post(f"{API}/auth/login", json={"email": "early@example.com", "password": "x"})
    clock.advance(hours=2)
    middle = clock.now
    await client.post(f"{API}/auth/login", json={"email": "late@example.com", "password": "x"})

    async def emails(**params: str) -> list[str]:
        body = (await client.get(AUDIT, headers=admin.headers, params=params)).json()
        return [item["actor_email"] for item in body["items"]]

    assert await emails(since=middle.isoformat()) == ["late@example.com"]
    assert await emails(until=middle.isoformat()) == ["early@example.com"]
    assert await emails() == ["late@example.com", "early@example.com"]  # newest first
    naive = await client.get(AUDIT, headers=admin.headers, params={"since": "2026-01-01T00:00:00"})
    assert_problem(naive, 422, "validation_error")


# -- append-only ---------------------------------------------------------------------------------------


async def test_no_route_changes_an_entry(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await create_user(app, Role.ADMIN)
    await client.post(f"{API}/auth/login", json={"email": "x@example.com", "password": "x"})
    [entry] = await audit_entries(app)
    paths = app.openapi()["paths"]
    assert {path: set(paths[path]) for path in paths if "audit" in path} == {AUDIT: {"get"}}
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for url in (AUDIT, f"{AUDIT}/{entry.id}"):
            response = await client.request(method, url, headers=admin.headers, json={"action": "x"})
            assert response.status_code in (404, 405), (method, url)
    assert (await fresh_row(app, AuditLogEntry, entry.id)).action == "auth.login_failed"


# -- retention ----------------------------------------------------------------------------------------


async def test_retention_deletes_only_entries_past_it(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await client.post(f"{API}/auth/login", json={"email": "old@example.com", "password": "x"})
    clock.advance(days=200)
    await client.post(f"{API}/auth/login", json={"email": "recent@example.com", "password": "x"})
    clock.advance(days=170)  # the first is 370 days old, the second 170
    settings = app.state.settings
    jobs = {job.name: job for job in periodic_jobs(settings, app.state.database, app.state.storage)}
    retention = jobs["audit_retention"]
    assert (settings.audit_retention_days, retention.interval) == (365, 3600.0)
    assert await retention.run() == 1
    assert [e.actor_email for e in await audit_entries(app)] == ["recent@example.com"]
    off = settings.model_copy(update={"audit_retention_interval_seconds": 0})
    assert "audit_retention" not in {
        job.name for job in periodic_jobs(off, app.state.database, app.state.storage)
    }


# -- documentation -----------------------------------------------------------------------------------


def test_every_action_is_documented() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "audit.md").read_text()
    documented = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", docs, re.MULTILINE))
    assert documented == set(audit.ACTIONS)
