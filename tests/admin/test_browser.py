"""A smoke test of the admin panel in a real browser: sign in, make one edit."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from studyhall.identity.models import Role, User
from tests.factories import PASSWORD, audit_entries, create_user, fresh_row, live_server


async def test_an_admin_signs_in_and_renames_a_user_in_chromium(app: FastAPI, browser: Any) -> None:
    admin = await create_user(app, Role.ADMIN, email="root@example.com")
    student = await create_user(app, full_name="Sam Student")
    async with live_server(app) as base:
        origin = base.replace("ws://", "http://")
        page = await browser.new_page()
        await page.goto(f"{origin}/admin/login")
        await page.fill("input[name=username]", admin.user.email)
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{origin}/admin/")
        assert "Users" in await page.content()

        await page.goto(f"{origin}/admin/user/edit/{student.user.id}")
        await page.fill("input[name=full_name]", "Samantha Student")
        await page.click("input[type=submit][value=Save]")
        await page.wait_for_url(f"{origin}/admin/user/list")
        await page.close()

    assert (await fresh_row(app, User, student.user.id)).full_name == "Samantha Student"
    [entry] = await audit_entries(app, "user.updated")
    assert (entry.actor_id, entry.changes) == (
        admin.user.id,
        {"full_name": ["Sam Student", "Samantha Student"]},
    )
    assert entry.ip == "127.0.0.1" and "Chrome" in (entry.user_agent or "")
