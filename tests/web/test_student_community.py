"""A student's work with others in Chromium, against a real `studyhall serve` on each
backend: hand in an assignment with a file (the presigned upload), read the grade and
feedback, discuss, chat live, and choose which notifications to get by email."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.factories import API, PASSWORD, assignment_course_over_http, headers_over_http
from tests.servers import StudyHallServer
from tests.web.conftest import screenshot

ADMIN_EMAIL = "admin@e2e.studyhall.test"
STUDENT_EMAIL = "linus@e2e.studyhall.test"
ESSAY = b"Tabs keep many pages at hand.\n" * 2000


def test_student_community(page: Page, studyhall_server: StudyHallServer) -> None:
    server = studyhall_server
    with httpx.Client(base_url=server.url, timeout=30) as http:
        server.cli("create-admin", "--email", ADMIN_EMAIL, "--password", PASSWORD)
        staff = headers_over_http(http, ADMIN_EMAIL)
        course = assignment_course_over_http(http, staff)
        body = {"email": STUDENT_EMAIL, "password": PASSWORD, "full_name": "Linus Student"}
        http.post(f"{API}/auth/register", json=body).raise_for_status()
        student = headers_over_http(http, STUDENT_EMAIL)
        http.post(f"{API}/courses/{course['id']}/enroll", headers=student).raise_for_status()

        page.goto(f"{server.url}/sign-in?next=/my/courses/{course['slug']}")
        page.get_by_label("Email").fill(STUDENT_EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()

        # The assignment: an answer and a file, uploaded straight to storage, then handed in.
        expect(page.get_by_role("heading", name="An essay on tabs")).to_be_visible()
        page.get_by_label("Your answer").fill("My essay is attached.")
        page.get_by_label("Files").set_input_files(
            {"name": "essay.txt", "mimeType": "text/plain", "buffer": ESSAY}
        )
        with page.expect_request(lambda r: r.method == "PUT" and "/storage/" in r.url):
            page.get_by_role("button", name="Hand in").click()
        submission = page.get_by_test_id("submission")
        expect(submission).to_contain_text("1 file(s) attached")
        expect(submission).to_contain_text("Waiting for your instructor's grade")
        expect(page.get_by_role("progressbar", name="Course progress")).to_have_attribute(
            "aria-valuenow", "100"
        )

        # The instructor grades it; the student reads the grade and the feedback.
        assignment = course["assignment"]
        [handed_in] = http.get(f"{API}/assignments/{assignment['id']}/submissions", headers=staff).json()[
            "items"
        ]
        [file_id] = handed_in["file_ids"]
        stored = http.get(f"{API}/files/{file_id}", headers=staff).json()
        assert (stored["status"], stored["size_bytes"], stored["filename"]) == (
            "ready",
            len(ESSAY),
            "essay.txt",
        )
        grade = {"points": 8, "feedback": "Well argued."}
        http.post(f"{API}/submissions/{handed_in['id']}/grade", headers=staff, json=grade).raise_for_status()
        page.reload()
        expect(submission).to_contain_text("Graded: 8 of 10 points")
        expect(submission).to_contain_text("Feedback: Well argued.")
        screenshot(page, "assignment-graded")

        # The discussion: a post, and a comment on it.
        page.get_by_role("link", name="Discussion").click()
        expect(page.get_by_text("No posts yet.")).to_be_visible()
        page.get_by_label("Title").fill("Tabs or windows?")
        page.get_by_label("Message (Markdown)").fill("Which do you **prefer**?")
        page.get_by_role("button", name="Post").click()
        expect(page.locator(".lesson-content strong")).to_have_text("prefer")
        page.get_by_role("button", name="Show comments").click()
        page.get_by_label("Your comment").fill("Tabs, always.")
        page.get_by_role("button", name="Comment", exact=True).click()
        expect(page.get_by_role("list", name="Comments")).to_contain_text("Tabs, always.")
        screenshot(page, "discussion")

        # The chat: a message sent here, and one from the instructor arriving live.
        page.goto(f"{server.url}/my/courses/{course['slug']}/chat")
        expect(page.get_by_test_id("chat-status")).to_have_text("● Live")
        page.get_by_label("Message").fill("Hello, class!")
        page.get_by_role("button", name="Send").click()
        messages = page.get_by_role("list", name="Messages")
        expect(messages).to_contain_text("Hello, class!")
        http.post(f"{API}/courses/{course['id']}/chat", headers=staff, json={"body": "Welcome, Linus."})
        expect(messages).to_contain_text("Welcome, Linus.")
        screenshot(page, "chat")

        # Notification preferences: no email for new discussion posts.
        page.get_by_role("button", name=re.compile(r"^Notifications")).click()
        page.get_by_role("link", name="Notification preferences").click()
        page.get_by_role("checkbox", name="A new discussion post in my courses: by email").set_checked(False)
        page.get_by_role("checkbox", name="A new discussion post in my courses: in the app").set_checked(
            False
        )
        page.get_by_role("button", name="Save preferences").click()
        expect(page.get_by_text("Saved.")).to_be_visible()

        # The API agrees.
        posts = http.get(f"{API}/posts", headers=student, params={"course_id": course["id"]}).json()["items"]
        assert [post["title"] for post in posts] == ["Tabs or windows?"]
        chat = http.get(f"{API}/courses/{course['id']}/chat", headers=student).json()["items"]
        assert [message["body"] for message in chat] == ["Welcome, Linus.", "Hello, class!"]
        preferences = http.get(f"{API}/me/notification-preferences", headers=student).json()
        assert preferences["post.created"] == {"email": False, "in_app": False}
