"""A principal in Chromium, against a real `studyhall serve` on each backend: sign in, see
the organisation's members, add one and invite another by email (then withdraw that
invitation), see the analytics."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.factories import API, PASSWORD, headers_over_http, mails_in, organization_over_http, wait_until
from tests.servers import StudyHallServer
from tests.web.conftest import screenshot

ADMIN_EMAIL = "admin@e2e.studyhall.test"
PRINCIPAL_EMAIL = "pat@e2e.studyhall.test"
STUDENT_EMAIL = "sam@e2e.studyhall.test"
TEACHER_EMAIL = "terry@e2e.studyhall.test"
NEWCOMER_EMAIL = "nora@e2e.studyhall.test"


def test_principal_smoke(page: Page, studyhall_server: StudyHallServer) -> None:
    server = studyhall_server
    with httpx.Client(base_url=server.url, timeout=30) as http:
        server.cli("create-admin", "--email", ADMIN_EMAIL, "--password", PASSWORD)
        admin = headers_over_http(http, ADMIN_EMAIL)
        organization = organization_over_http(
            http, admin, principal_email=PRINCIPAL_EMAIL, student_email=STUDENT_EMAIL
        )
        teacher = {"email": TEACHER_EMAIL, "password": PASSWORD, "full_name": "Terry Teacher"}
        http.post(f"{API}/auth/register", json=teacher).raise_for_status()

        # Sign in; the navigation leads to the organisation's members.
        page.goto(f"{server.url}/sign-in")
        page.get_by_label("Email").fill(PRINCIPAL_EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(re.compile(r"/my/learning"))
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Organisation").click()
        expect(page).to_have_url(re.compile(rf"/org/{organization['id']}/members$"))
        expect(page.get_by_role("heading", name="Northwind School")).to_be_visible()
        members = page.get_by_role("table")
        expect(members.get_by_role("cell", name="Sam Student", exact=True)).to_be_visible()
        expect(members.get_by_role("cell", name="Pat Principal", exact=True)).to_be_visible()

        # An existing account joins at once; an unknown address is invited by email.
        page.get_by_label("Email address").fill(TEACHER_EMAIL)
        page.get_by_label("Role", exact=True).select_option("instructor")
        page.get_by_role("button", name="Add or invite").click()
        expect(page.get_by_test_id("invitations")).to_contain_text(f"{TEACHER_EMAIL} joined as Instructor")
        expect(members.get_by_role("cell", name="Terry Teacher", exact=True)).to_be_visible()
        page.get_by_label("Email address").fill(NEWCOMER_EMAIL)
        page.get_by_label("Role", exact=True).select_option("student")
        page.get_by_role("button", name="Add or invite").click()
        expect(page.get_by_test_id("invitations")).to_contain_text(f"Invitation sent to {NEWCOMER_EMAIL}")
        invitations = page.get_by_role("list", name="Invitations")
        expect(invitations).to_contain_text(f"{NEWCOMER_EMAIL} (student) · Pending")
        screenshot(page, "organization-members")
        # Withdrawn again (after the confirmation), it leaves the pending list.
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name=f"Withdraw the invitation to {NEWCOMER_EMAIL}").click()
        expect(page.get_by_text("No pending invitation.")).to_be_visible()
        page.get_by_label("Filter by role").select_option("instructor")
        expect(members.get_by_role("row")).to_have_count(2)  # the header and Terry

        # The analytics: headline figures and the organisation's course.
        page.get_by_role("link", name="Analytics").click()
        summary = page.get_by_test_id("analytics-summary")
        expect(summary).to_contain_text(re.compile(r"Enrollments\s*1"))
        expect(page.get_by_role("cell", name="School Safety", exact=True)).to_be_visible()
        expect(page.get_by_text("Enrollments per day")).to_be_visible()
        screenshot(page, "organization-analytics")

        # The API agrees: Terry is an instructor of the organisation; Nora got her invitation.
        terry = http.get(f"{API}/users", headers=admin, params={"q": TEACHER_EMAIL}).json()["items"]
        assert [(user["organization_id"], user["role"]) for user in terry] == [
            (organization["id"], "instructor")
        ]
        wait_until(
            lambda: any(message["To"] == NEWCOMER_EMAIL for message in mails_in(server.data_dir / "mail"))
        )
        url = f"{API}/organizations/{organization['id']}/invitations"
        [nora] = http.get(url, headers=admin).json()["items"]
        assert (nora["email"], nora["accepted_at"], nora["revoked_at"] is not None) == (
            NEWCOMER_EMAIL,
            None,
            True,
        )
