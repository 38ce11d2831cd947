"""An admin in Chromium, against a real `studyhall serve` on each backend: sign in, open the
audit log, filter it, and follow the link to the admin panel."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.factories import API, PASSWORD, headers_over_http
from tests.servers import StudyHallServer
from tests.web.conftest import screenshot

ADMIN_EMAIL = "root@e2e.studyhall.test"


def test_admin_smoke(page: Page, studyhall_server: StudyHallServer) -> None:
    server = studyhall_server
    with httpx.Client(base_url=server.url, timeout=30) as http:
        server.cli("create-admin", "--email", ADMIN_EMAIL, "--password", PASSWORD)
        # Something to audit: an organisation created, and a failed sign-in.
        admin = headers_over_http(http, ADMIN_EMAIL)
        body = {"name": "Audit Academy", "slug": "audit-academy"}
        organization = http.post(f"{API}/organizations", headers=admin, json=body).raise_for_status().json()
        wrong = http.post(f"{API}/auth/login", json={"email": ADMIN_EMAIL, "password": "not the password"})
        assert wrong.status_code == 401

    page.goto(f"{server.url}/sign-in?next=/manage")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/manage$"))
    page.get_by_role("link", name="Audit log").click()

    # The whole log, newest first, then only the organisation's creation.
    log = page.get_by_test_id("audit-log")
    expect(log.get_by_text("auth.login_failed")).to_be_visible()
    expect(log.get_by_text("organization.created")).to_be_visible()
    screenshot(page, "audit-log")
    page.get_by_label("Action").fill("organization.created")
    page.get_by_label("Resource type").select_option("organization")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"action=organization\.created"))
    expect(page.get_by_text("1 entry", exact=True)).to_be_visible()
    expect(log.get_by_role("row")).to_have_count(2)  # the header and the one entry
    expect(log).to_contain_text(organization["id"])
    expect(log).to_contain_text(ADMIN_EMAIL)
    expect(log).not_to_contain_text("auth.login_failed")
    page.get_by_role("button", name="Clear").click()
    expect(log.get_by_text("auth.login_failed")).to_be_visible()

    # The admin panel lives at /admin, behind its own sign-in.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="admin panel").click()
    expect(page).to_have_url(re.compile(r"/admin(/login)?"))
    expect(page.locator("input[type=password]")).to_be_visible()
    screenshot(page, "admin-panel")
