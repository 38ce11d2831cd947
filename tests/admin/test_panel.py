"""The admin panel over HTTP: its sign-in, who it refuses, CSRF, and that its changes go
through the domain rules with their audit entries."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from fastapi import FastAPI

from studyhall.analytics.models import AuditLogEntry
from studyhall.catalog.models import Course, Lesson
from studyhall.certificates.models import Certificate
from studyhall.community.models import Post
from studyhall.core.clock import utcnow
from studyhall.core.delivery import EventFailure
from studyhall.core.events import OutboxEvent, OutboxStatus
from studyhall.identity.models import AuthSession, Organization, Role, User
from tests.factories import (
    Actor,
    audit_entries,
    count_rows,
    create_course,
    create_lesson,
    create_organization,
    create_post,
    create_user,
    csrf_of,
    fresh_row,
    issue_certificate_directly,
    panel_client,
    panel_post,
    panel_sign_in,
    rows,
)


@pytest.fixture
async def admin(app: FastAPI) -> Actor:
    return await create_user(app, Role.ADMIN, email="root@example.com")


@pytest.fixture
async def panel(app: FastAPI, admin: Actor) -> httpx.AsyncClient:
    http = panel_client(app)
    signed_in = await panel_sign_in(http, admin.user.email)
    assert signed_in.status_code == 302, signed_in.text
    return http


async def test_an_admin_signs_in_with_a_secure_cookie_session(app: FastAPI, admin: Actor) -> None:
    http = panel_client(app)
    assert (await http.get("/admin/")).status_code == 302  # to the sign-in form first
    response = await panel_sign_in(http, admin.user.email)
    assert response.status_code == 302 and response.headers["location"].endswith("/admin/")
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("studyhall_admin=")
    assert all(flag in cookie for flag in ("path=/admin", "httponly", "secure", "samesite=strict"))
    home = await http.get("/admin/")
    assert home.status_code == 200 and "Users" in home.text
    [entry] = await audit_entries(app, "admin.signed_in")
    assert (entry.actor_id, entry.ip, entry.user_agent) == (admin.user.id, "203.0.113.7", "panel-test")
    assert (
        await count_rows(app, AuthSession, AuthSession.user_id == admin.user.id) == 2
    )  # the factory's and this


@pytest.mark.parametrize("role", [Role.STUDENT, Role.INSTRUCTOR, Role.PRINCIPAL])
async def test_everyone_but_admins_is_refused(app: FastAPI, role: Role) -> None:
    person = await create_user(app, role)
    http = panel_client(app)
    response = await panel_sign_in(http, person.user.email)
    assert response.status_code == 400 and "Invalid credentials" in response.text
    assert (await http.get("/admin/user/list")).status_code == 302
    # The sign-in's session rolled back with the refusal.
    assert await count_rows(app, AuthSession, AuthSession.user_id == person.user.id) == 1
    assert await audit_entries(app, "admin.signed_in") == []


async def test_a_valid_api_token_opens_nothing(app: FastAPI, admin: Actor) -> None:
    student = await create_user(app)
    http = panel_client(app)
    for actor in (student, admin):
        response = await http.get("/admin/user/list", headers=actor.headers)
        assert response.status_code == 302 and response.headers["location"].endswith("/admin/login")


async def test_a_wrong_password_is_refused_and_audited(app: FastAPI, admin: Actor) -> None:
    http = panel_client(app)
    response = await panel_sign_in(http, admin.user.email, "not the password")
    assert response.status_code == 400
    [entry] = await audit_entries(app, "auth.login_failed")
    assert (entry.actor_id, entry.actor_email, entry.resource_id) == (
        None,
        admin.user.email,
        str(admin.user.id),
    )


async def test_a_demoted_admin_loses_the_panel_at_once(
    app: FastAPI, panel: httpx.AsyncClient, admin: Actor
) -> None:
    async with app.state.database.sessionmaker() as session, session.begin():
        user = await session.get(User, admin.user.id)
        assert user is not None
        user.role = Role.INSTRUCTOR.value
    assert (await panel.get("/admin/user/list")).status_code == 302


async def test_forms_without_the_csrf_token_are_refused(app: FastAPI, panel: httpx.AsyncClient) -> None:
    student = await create_user(app, full_name="Before")
    url = f"/admin/user/edit/{student.user.id}"
    data = {"full_name": "After", "role": "student", "is_active": "y"}
    for extra in ({}, {"csrf_token": "forged"}):
        response = await panel.post(url, data={**data, **extra})
        assert response.status_code == 403 and "CSRF" in response.text
    deleted = await panel.request("DELETE", f"/admin/user/delete?pks={student.user.id}")
    assert deleted.status_code == 403
    # A form from another site cannot sign anyone in either.
    outsider = panel_client(app)
    refused = await outsider.post("/admin/login", data={"username": "root@example.com", "password": "x"})
    assert refused.status_code == 403
    user = await fresh_row(app, User, student.user.id)
    assert (user.full_name, user.deleted_at) == ("Before", None)
    assert await audit_entries(app, "user.updated") == []


async def test_changing_a_role_goes_through_the_rules_and_is_audited(
    app: FastAPI, panel: httpx.AsyncClient, admin: Actor
) -> None:
    student = await create_user(app, full_name="Sam")
    url = f"/admin/user/edit/{student.user.id}"
    response = await panel_post(panel, url, {"full_name": "Sam", "role": "instructor", "is_active": "y"})
    assert response.status_code == 302, response.text
    assert (await fresh_row(app, User, student.user.id)).role == Role.INSTRUCTOR
    [entry] = await audit_entries(app, "user.role_changed")
    assert entry.changes == {"role": ["student", "instructor"]}
    assert (entry.actor_id, entry.actor_email, entry.resource_type, entry.resource_id) == (
        admin.user.id,
        admin.user.email,
        "user",
        str(student.user.id),
    )
    assert entry.ip == "203.0.113.7" and entry.request_id


async def test_the_last_admin_cannot_demote_themselves(
    app: FastAPI, panel: httpx.AsyncClient, admin: Actor
) -> None:
    url = f"/admin/user/edit/{admin.user.id}"
    response = await panel_post(
        panel, url, {"full_name": admin.user.full_name, "role": "student", "is_active": "y"}
    )
    assert response.status_code == 400 and "Make someone else an admin first" in response.text
    assert (await fresh_row(app, User, admin.user.id)).role == Role.ADMIN
    assert await audit_entries(app, "user.role_changed") == []


async def test_deleting_a_user_is_a_soft_delete_that_ends_their_sessions(
    app: FastAPI, panel: httpx.AsyncClient
) -> None:
    student = await create_user(app)
    page = await panel.get("/admin/user/list")
    response = await panel.request(
        "DELETE", f"/admin/user/delete?pks={student.user.id}", headers={"X-CSRF-Token": csrf_of(page)}
    )
    assert response.status_code == 200 and "error" not in response.text
    user = await fresh_row(app, User, student.user.id)  # still there, flagged
    assert user.deleted_at is not None
    assert (
        await count_rows(app, AuthSession, AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        == 0
    )
    assert [e.resource_id for e in await audit_entries(app, "user.deleted")] == [str(user.id)]
    restored = await panel.get(f"/admin/user/action/restore?pks={user.id}")
    assert restored.status_code == 302
    assert (await fresh_row(app, User, user.id)).deleted_at is None
    assert len(await audit_entries(app, "user.restored")) == 1


async def test_organisations_are_created_and_renamed(app: FastAPI, panel: httpx.AsyncClient) -> None:
    created = await panel_post(panel, "/admin/organization/create", {"name": "Acme", "slug": "acme"})
    assert created.status_code == 302, created.text
    [organization] = await rows(app, Organization, Organization.slug == "acme")
    edited = await panel_post(
        panel, f"/admin/organization/edit/{organization.id}", {"name": "Acme Ltd", "slug": "acme"}
    )
    assert edited.status_code == 302, edited.text
    assert (await fresh_row(app, Organization, organization.id)).name == "Acme Ltd"
    [entry] = await audit_entries(app, "organization.updated")
    assert (entry.changes, entry.organization_id) == ({"name": ["Acme", "Acme Ltd"]}, organization.id)
    assert len(await audit_entries(app, "organization.created")) == 1


async def test_course_edits_and_deletes_go_through_the_catalog(
    app: FastAPI, panel: httpx.AsyncClient
) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, title="Old title")
    url = f"/admin/course/edit/{course.id}"
    edited = await panel_post(
        panel, url, {"title": "New title", "subtitle": "", "category": "", "price_cents": "0"}
    )
    assert edited.status_code == 302, edited.text
    assert (await fresh_row(app, Course, course.id)).title == "New title"
    [entry] = await audit_entries(app, "course.updated")
    assert entry.changes == {"title": ["Old title", "New title"]}
    page = await panel.get("/admin/course/list")
    await panel.request(
        "DELETE", f"/admin/course/delete?pks={course.id}", headers={"X-CSRF-Token": csrf_of(page)}
    )
    assert (await fresh_row(app, Course, course.id)).deleted_at is not None  # flagged, not removed
    assert len(await audit_entries(app, "course.deleted")) == 1


async def test_publishing_an_empty_course_is_refused_by_the_rule(
    app: FastAPI, panel: httpx.AsyncClient
) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, status="draft")
    response = await panel.get(f"/admin/course/action/publish?pks={course.id}", follow_redirects=True)
    assert (
        response.status_code == 200 and "A course needs at least one lesson to be published" in response.text
    )
    assert (await fresh_row(app, Course, course.id)).status == "draft"
    assert await audit_entries(app, "course.published") == []


async def test_lesson_edits_and_soft_deletes(app: FastAPI, panel: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner)
    lesson = await create_lesson(app, course, title="Intro")
    edited = await panel_post(
        panel,
        f"/admin/lesson/edit/{lesson.id}",
        {"title": "Welcome", "duration_minutes": "5", "is_preview": "y"},
    )
    assert edited.status_code == 302, edited.text
    row = await fresh_row(app, Lesson, lesson.id)
    assert (row.title, row.is_preview) == ("Welcome", True)
    [entry] = await audit_entries(app, "lesson.updated")
    assert entry.changes["title"] == ["Intro", "Welcome"] and entry.organization_id == course.organization_id
    page = await panel.get("/admin/lesson/list")
    await panel.request(
        "DELETE", f"/admin/lesson/delete?pks={lesson.id}", headers={"X-CSRF-Token": csrf_of(page)}
    )
    assert (await fresh_row(app, Lesson, lesson.id)).deleted_at is not None
    assert len(await audit_entries(app, "lesson.deleted")) == 1


async def test_posts_are_soft_deleted(app: FastAPI, panel: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner)
    post = await create_post(app, owner, course)
    page = await panel.get("/admin/post/list")
    response = await panel.request(
        "DELETE", f"/admin/post/delete?pks={post.id}", headers={"X-CSRF-Token": csrf_of(page)}
    )
    assert response.status_code == 200
    assert (await fresh_row(app, Post, post.id)).deleted_at is not None
    [entry] = await audit_entries(app, "post.deleted")
    assert entry.resource_id == str(post.id)


async def test_editing_a_certificate_revokes_it(app: FastAPI, panel: httpx.AsyncClient) -> None:
    owner = await create_user(app, Role.INSTRUCTOR)
    course = await create_course(app, owner, lessons=1, certificate_enabled=True)
    student = await create_user(app)
    certificate = await issue_certificate_directly(app, student, course)
    url = f"/admin/certificate/edit/{certificate.id}"
    response = await panel_post(panel, url, {"revocation_reason": "Plagiarism"})
    assert response.status_code == 302, response.text
    row = await fresh_row(app, Certificate, certificate.id)
    assert row.revoked_at is not None and row.revocation_reason == "Plagiarism"
    [entry] = await audit_entries(app, "certificate.revoked")
    assert entry.changes["revocation_reason"] == [None, "Plagiarism"]


async def test_a_dead_event_is_retried(app: FastAPI, panel: httpx.AsyncClient, admin: Actor) -> None:
    event_id = uuid.uuid4()
    async with app.state.database.sessionmaker() as session, session.begin():
        session.add(
            OutboxEvent(id=event_id, event_type="course.published", payload={}, status=OutboxStatus.DEAD)
        )
        session.add(
            EventFailure(
                event_id=event_id,
                handler="notify",
                event_type="course.published",
                attempts=5,
                last_error="boom",
                dead_at=utcnow(),
            )
        )
    listed = await panel.get("/admin/event-failure/list")
    assert listed.status_code == 200 and "notify" in listed.text
    confirm = await panel.get(f"/admin/event-failure/action/retry?pks={event_id};notify")
    assert confirm.status_code == 200
    action = re.search(r'<form method="POST" action="([^"]+)"', confirm.text)
    assert action
    response = await panel.post(action.group(1).replace("&amp;", "&"), data={"csrf_token": csrf_of(confirm)})
    assert response.status_code == 302
    assert (await fresh_row(app, OutboxEvent, event_id)).status == OutboxStatus.PENDING
    assert await count_rows(app, EventFailure, EventFailure.dead_at.is_not(None)) == 0
    [entry] = await audit_entries(app, "event.retried")
    assert (entry.actor_id, entry.resource_id, entry.changes) == (
        admin.user.id,
        str(event_id),
        {"dead_handlers": [["notify"], []]},
    )


async def test_secrets_are_never_shown_or_editable(app: FastAPI, panel: httpx.AsyncClient) -> None:
    student = await create_user(app)
    user = await fresh_row(app, User, student.user.id)
    assert user.password_hash
    pages = [
        await panel.get("/admin/user/list"),
        await panel.get(f"/admin/user/details/{user.id}"),
        await panel.get(f"/admin/user/edit/{user.id}"),
    ]
    for page in pages:
        assert page.status_code == 200
        assert user.password_hash not in page.text
        assert "password_hash" not in page.text.lower() and "token_generation" not in page.text.lower()
    assert (await panel.get("/admin/user/export/csv")).status_code in (403, 404)


async def test_the_audit_log_is_read_only(app: FastAPI, panel: httpx.AsyncClient) -> None:
    [entry] = await audit_entries(app, "admin.signed_in")
    listed = await panel.get("/admin/audit-log-entry/list")
    assert listed.status_code == 200 and "admin.signed_in" in listed.text
    assert (await panel.get(f"/admin/audit-log-entry/details/{entry.id}")).status_code == 200
    token = csrf_of(listed)
    edit = await panel.post(
        f"/admin/audit-log-entry/edit/{entry.id}", data={"action": "x", "csrf_token": token}
    )
    delete = await panel.request(
        "DELETE", f"/admin/audit-log-entry/delete?pks={entry.id}", headers={"X-CSRF-Token": token}
    )
    create = await panel.post("/admin/audit-log-entry/create", data={"action": "x", "csrf_token": token})
    assert {edit.status_code, delete.status_code, create.status_code} <= {403, 404, 405}
    assert [e.id for e in await rows(app, AuditLogEntry)] == [entry.id]
    assert (await fresh_row(app, AuditLogEntry, entry.id)).action == "admin.signed_in"


PAGES = [
    "/admin/",
    *[
        f"/admin/{identity}/list"
        for identity in (
            "user",
            "organization",
            "course",
            "lesson",
            "enrollment",
            "quiz",
            "quiz-attempt",
            "submission",
            "certificate",
            "post",
            "outbox-event",
            "event-failure",
            "audit-log-entry",
        )
    ],
]


async def test_every_page_works_offline(app: FastAPI, panel: httpx.AsyncClient) -> None:
    """No page refers to anything outside the app (CDN scripts, styles, fonts), and the
    assets it refers to are served by the panel itself."""
    await create_organization(app)
    login_page = await panel_client(app).get("/admin/login")
    for page in [login_page, *[await panel.get(url) for url in PAGES]]:
        assert page.status_code == 200, page.url
        external = re.findall(r'(?:src|href)="((?:https?:)?//[^"]+)"', page.text)
        assert [url for url in external if "testserver" not in url] == [], page.url
        assets = re.findall(r'(?:src|href)="([^"]*/admin/statics/[^"]+)"', page.text)
        assert assets, page.url
        for asset in set(assets):
            assert (await panel.get(asset)).status_code == 200, asset
