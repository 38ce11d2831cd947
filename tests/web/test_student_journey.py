"""A student's whole journey in Chromium, against a real `studyhall serve` on each backend:
sign up, verify the email from the mail file, enroll, complete a text and a video lesson,
pass a quiz, reach 100 %, get the notification live and the certificate, verify it publicly."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.factories import API, PASSWORD, mails_in, published_course_over_http, text_of, wait_until
from tests.servers import StudyHallServer
from tests.web.conftest import screenshot

ADMIN_EMAIL = "admin@e2e.studyhall.test"
STUDENT_EMAIL = "grace@e2e.studyhall.test"
VIDEO_READY = "document.querySelector('video')?.readyState >= 1"


def staff_headers(server: StudyHallServer, http: httpx.Client) -> dict[str, str]:
    server.cli("create-admin", "--email", ADMIN_EMAIL, "--password", PASSWORD)
    tokens = http.post(f"{API}/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def verification_link(mail_dir: Path) -> str:
    def link() -> str | None:
        for message in mails_in(mail_dir):
            if message["To"] == STUDENT_EMAIL:
                found = re.search(r"https?://\S+/verify-email\?token=[\w.-]+", text_of(message))
                if found:
                    return found.group(0)
        return None

    return str(wait_until(link))


def sign_up(page: Page, server: StudyHallServer) -> None:
    page.goto(f"{server.url}/sign-up")
    page.get_by_label("Full name").fill("Grace Hopper")
    page.get_by_label("Email").fill(STUDENT_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/my/learning"))
    expect(page.get_by_text("Please verify your email address.")).to_be_visible()
    expect(page.get_by_text("You are not enrolled in any course yet.")).to_be_visible()


def watch_video_to_the_end(page: Page) -> None:
    """Plays the video (muted, so headless Chromium may autoplay) from near its end."""
    video = page.get_by_test_id("lesson-video")
    expect(video).to_be_visible()
    page.wait_for_function(VIDEO_READY)
    video.evaluate("v => { v.muted = true; v.currentTime = v.duration - 1; return v.play(); }")


def test_student_journey(page: Page, studyhall_server: StudyHallServer) -> None:
    server = studyhall_server
    with httpx.Client(base_url=server.url, timeout=30) as http:
        course = published_course_over_http(http, staff_headers(server, http))

        # The catalog, then sign-up; the verification link arrives in the mail file.
        page.goto(server.url)
        expect(page.get_by_role("link", name="Browser Basics")).to_be_visible()
        screenshot(page, "catalog")
        sign_up(page, server)
        page.goto(verification_link(server.data_dir / "mail"))
        expect(page.get_by_text("Your email address is verified.")).to_be_visible()

        # The course page: enroll, and land in the player on the first lesson.
        page.goto(f"{server.url}/courses/{course['slug']}")
        screenshot(page, "course")
        page.get_by_role("button", name="Enroll").click()
        expect(page.get_by_role("heading", name="Tabs and windows")).to_be_visible()
        expect(page.locator(".lesson-content strong")).to_have_text("new tab")
        page.get_by_role("button", name="Mark as complete").click()
        expect(page.get_by_text("Lesson completed")).to_be_visible()
        expect(page.get_by_role("progressbar", name="Course progress")).to_have_attribute(
            "aria-valuenow", "33"
        )

        # The video: a pause reports the position, a reload resumes there, the end completes it.
        page.get_by_role("link", name="Next: Watching the address bar").click()
        expect(page.get_by_role("heading", name="Watching the address bar")).to_be_visible()
        page.wait_for_function(VIDEO_READY)
        with page.expect_response(lambda r: r.url.endswith("/position") and r.request.method == "PUT"):
            page.get_by_test_id("lesson-video").evaluate(
                "v => { v.muted = true; v.currentTime = 6; return v.play().then(() => v.pause()); }"
            )
        page.reload()
        page.wait_for_function("document.querySelector('video')?.currentTime >= 5")
        watch_video_to_the_end(page)
        expect(page.get_by_role("progressbar", name="Course progress")).to_have_attribute(
            "aria-valuenow", "67"
        )
        expect(page.get_by_text("Lesson completed")).to_be_visible()
        screenshot(page, "player-video")

        # The quiz: a wrong answer first (the key is shown after each attempt), then the right one.
        page.get_by_role("link", name="Next: Check your understanding").click()
        page.get_by_role("button", name="Start the quiz").click()
        expect(page.get_by_role("timer")).to_have_text(re.compile(r"^(9|10):\d\d$"))
        page.get_by_role("radio", name="Ctrl+Q").check()
        page.get_by_role("button", name="Submit answers").click()
        expect(page.get_by_text("Not passed: 0 %")).to_be_visible()
        expect(page.get_by_text("Attempts: 1 of 3 used")).to_be_visible()
        page.get_by_role("button", name="Try again").click()
        page.get_by_role("radio", name="Ctrl+T").check()
        page.get_by_role("button", name="Submit answers").click()
        expect(page.get_by_text("Passed with 100 %")).to_be_visible()
        expect(page.get_by_role("button", name="Try again")).to_have_count(0)  # passed: nothing to retry

        # 100 %, the course completed, and the notifications arrive over the socket, live.
        expect(page.get_by_role("progressbar", name="Course progress")).to_have_attribute(
            "aria-valuenow", "100"
        )
        screenshot(page, "quiz-passed")
        expect(page.get_by_text("You completed this course.")).to_be_visible()
        expect(page.get_by_test_id("unread-count")).to_be_visible(timeout=30_000)
        page.get_by_role("button", name=re.compile(r"^Notifications: \d+ unread")).click()
        expect(
            page.locator("#notification-panel").get_by_text(re.compile("certificate", re.I)).first
        ).to_be_visible(timeout=30_000)

        # My learning says 100 %; the certificate is there, as a PDF and publicly verifiable.
        page.goto(f"{server.url}/my/learning")
        expect(page.get_by_role("progressbar", name="3 of 3 lessons")).to_have_attribute(
            "aria-valuenow", "100"
        )
        screenshot(page, "my-learning")
        page.goto(f"{server.url}/my/certificates")
        expect(page.get_by_role("heading", name="Browser Basics")).to_be_visible()
        screenshot(page, "certificates")
        with page.expect_download() as download:
            page.get_by_role("button", name="Download PDF").click()
        assert Path(download.value.path()).read_bytes().startswith(b"%PDF")
        page.get_by_role("link", name="Public verification page").click()
        expect(page.get_by_text("✓ Valid certificate")).to_be_visible()
        expect(page.get_by_test_id("verification")).to_contain_text("Grace Hopper")
        screenshot(page, "certificate-verify")

        # My grades: the quiz, passed.
        page.goto(f"{server.url}/my/grades")
        grades = page.get_by_role("region", name="Browser Basics")
        expect(grades.get_by_role("row", name=re.compile(r"Browser check .* passed"))).to_be_visible()
        expect(grades).to_contain_text("Overall: 100 %")
        screenshot(page, "my-grades")

        # The API agrees: verified, completed, one certificate.
        tokens = http.post(f"{API}/auth/login", json={"email": STUDENT_EMAIL, "password": PASSWORD}).json()
        student = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert http.get(f"{API}/auth/me", headers=student).json()["email_verified"] is True
        progress = http.get(f"{API}/courses/{course['id']}/progress", headers=student).json()
        assert (progress["progress_percent"], progress["completed_at"] is not None) == (100, True)
        certificates = http.get(f"{API}/certificates", headers=student).json()
        assert [item["course"]["id"] for item in certificates["items"]] == [course["id"]]
