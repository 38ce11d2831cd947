"""An instructor's whole journey in Chromium, against a real `studyhall serve` on each backend:
create a course with modules, lessons (text, file, quiz, assignment), a quiz and an
assignment; publish it; grade a student's submission; export the gradebook as CSV."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.factories import API, PASSWORD, headers_over_http, user_over_http
from tests.servers import StudyHallServer
from tests.web.conftest import screenshot

ADMIN_EMAIL = "admin@teach.studyhall.test"
INSTRUCTOR_EMAIL = "ada@teach.studyhall.test"
STUDENT_EMAIL = "linus@teach.studyhall.test"
HANDOUT = b"%PDF-1.4\n% a tiny handout\n"


def lesson_titles(page: Page) -> list[str]:
    return page.get_by_role("list", name="Lessons").get_by_role("link").all_inner_texts()


def sign_in(page: Page, server: StudyHallServer) -> None:
    page.goto(f"{server.url}/sign-in?next=/teach")
    page.get_by_label("Email").fill(INSTRUCTOR_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My courses")).to_be_visible()


def build_outline(page: Page) -> None:
    """Two modules, then four lessons; the file lesson moved up with its keyboard button."""
    for title in ("Week 1", "Week 2"):
        page.get_by_label("New module title").fill(title)
        page.get_by_role("button", name="Add module").click()
        expect(page.get_by_role("list", name="Modules").get_by_text(title)).to_be_visible()
    for title, kind, module in (
        ("Welcome", "Reading", "Week 1"),
        ("Checkpoint", "Quiz", "Week 1"),
        ("Essay", "Assignment", "Week 2"),
        ("Handout", "Download", "Week 2"),
    ):
        page.get_by_label("New lesson title").fill(title)
        page.get_by_label("Lesson type").select_option(label=kind)
        page.get_by_label("In module").select_option(label=module)
        page.get_by_role("button", name="Add lesson").click()
        expect(page.get_by_role("list", name="Lessons").get_by_role("link", name=title)).to_be_visible()
    page.get_by_role("button", name="Move Handout up").click()
    expect(page.get_by_role("list", name="Lessons").get_by_role("link")).to_have_text(
        ["Welcome", "Checkpoint", "Handout", "Essay"]
    )


def write_text_lesson(page: Page) -> None:
    """Markdown previewed, saved twice, then version 2 restored from the history."""
    page.get_by_role("link", name="Welcome").click()
    page.get_by_label("Content", exact=True).fill("# Welcome\n\nRead the **syllabus** first.")
    page.get_by_role("tab", name="Preview").click()  # rendered by the API before saving
    expect(page.get_by_test_id("markdown-preview").locator("strong")).to_have_text("syllabus")
    screenshot(page, "instructor-lesson-editor")
    page.get_by_role("tab", name="Write").click()
    page.get_by_role("button", name="Save lesson").click()
    expect(page.get_by_text("Saved (version 2).")).to_be_visible()
    page.get_by_label("Content", exact=True).fill("# Welcome\n\nSkip the syllabus.")
    page.get_by_role("button", name="Save lesson").click()
    expect(page.get_by_text("Saved (version 3).")).to_be_visible()
    page.get_by_role("button", name="Restore version 2").click()
    expect(page.get_by_text("Version 2 restored as the current text.")).to_be_visible()
    expect(page.get_by_label("Content", exact=True)).to_have_value(
        "# Welcome\n\nRead the **syllabus** first."
    )
    page.get_by_role("link", name="Back to the course").click()


def upload_handout(page: Page, tmp_path: Path) -> None:
    handout = tmp_path / "handout.pdf"
    handout.write_bytes(HANDOUT)
    page.get_by_role("link", name="Handout").click()
    page.get_by_label("Upload a file").set_input_files(handout)
    expect(page.get_by_text("Uploaded handout.pdf.")).to_be_visible()
    expect(page.get_by_test_id("lesson-file")).to_contain_text("handout.pdf")
    page.get_by_role("link", name="Back to the course").click()


def build_quiz(page: Page) -> None:
    """One question of each type, the settings, saved."""
    page.get_by_role("link", name="Checkpoint").click()
    page.get_by_label("Passing score (%)").fill("50")
    page.get_by_label("Maximum attempts").fill("2")
    page.get_by_label("Time limit (minutes)").fill("15")
    page.get_by_label("Show the answers").select_option("after_each_attempt")
    page.get_by_label("Question 1 text", exact=True).fill("Which planet is largest?")
    page.get_by_label("Question 1 option 1", exact=True).fill("Jupiter")
    page.get_by_label("Question 1 option 2", exact=True).fill("Mars")
    page.get_by_label("Correct: Question 1 option 1", exact=True).check()
    page.get_by_role("button", name="Add multiple-choice question").click()
    page.get_by_label("Question 2 text", exact=True).fill("Which are gas giants?")
    page.get_by_label("Question 2 option 1", exact=True).fill("Saturn")
    page.get_by_label("Question 2 option 2", exact=True).fill("Venus")
    page.get_by_label("Correct: Question 2 option 1", exact=True).check()
    page.get_by_role("button", name="Add text question").click()
    page.get_by_label("Question 3 text", exact=True).fill("Why is Pluto not a planet?")
    page.get_by_label("Question 3 points", exact=True).fill("3")
    page.get_by_role("button", name="Save quiz").click()
    expect(page.get_by_text("Quiz saved.")).to_be_visible()
    screenshot(page, "instructor-quiz-builder")
    page.get_by_role("link", name="Back to the course").click()


def add_assignment_in_the_browser(page: Page) -> None:
    page.get_by_role("link", name="Assignments").click()
    page.get_by_label("Assignment title").fill("Planet essay")
    page.get_by_label("Maximum points").fill("10")
    page.get_by_label("Instructions").fill("Write 200 words about your favourite planet.")
    page.get_by_label("Linked lesson").select_option(label="Essay")
    page.get_by_role("button", name="Create assignment").click()
    expect(page.get_by_role("heading", name="Planet essay")).to_be_visible()


def test_instructor_journey(page: Page, studyhall_server: StudyHallServer, tmp_path: Path) -> None:
    server = studyhall_server
    with httpx.Client(base_url=server.url, timeout=30) as http:
        server.cli("create-admin", "--email", ADMIN_EMAIL, "--password", PASSWORD)
        admin = headers_over_http(http, ADMIN_EMAIL)
        user_over_http(http, admin, INSTRUCTOR_EMAIL, "Ada Lovelace", role="instructor")
        user_over_http(http, admin, STUDENT_EMAIL, "Linus Pauling")

        # A new draft course, its outline, its lessons, quiz and assignment.
        sign_in(page, server)
        page.get_by_role("link", name="New course").click()
        page.get_by_label("Title", exact=True).fill("Planets 101")
        page.get_by_label("Description").fill("A short tour of the solar system.")
        page.get_by_label("Level").select_option("beginner")
        page.get_by_role("button", name="Create course").click()
        expect(page.get_by_role("heading", name="Planets 101")).to_be_visible()
        expect(page.get_by_test_id("course-status")).to_have_text("draft")
        course_id = re.search(r"/teach/courses/([0-9a-f-]{36})", page.url).group(1)  # type: ignore[union-attr]
        build_outline(page)
        screenshot(page, "instructor-course-editor")
        write_text_lesson(page)
        upload_handout(page, tmp_path)
        build_quiz(page)
        add_assignment_in_the_browser(page)

        page.get_by_role("button", name="Publish").click()
        expect(page.get_by_test_id("course-status")).to_have_text("published")

        # The API agrees with what the pages showed.
        instructor = headers_over_http(http, INSTRUCTOR_EMAIL)
        course = http.get(f"{API}/courses/{course_id}", headers=instructor).json()
        assert course["status"] == "published"
        assert [lesson["title"] for lesson in course["lessons"]] == [
            "Welcome",
            "Checkpoint",
            "Handout",
            "Essay",
        ]
        modules = {module["id"]: module["title"] for module in course["modules"]}
        assert [modules[lesson["module_id"]] for lesson in course["lessons"]] == [
            "Week 1",
            "Week 1",
            "Week 2",
            "Week 2",
        ]
        lessons = {lesson["title"]: lesson["id"] for lesson in course["lessons"]}
        welcome = http.get(f"{API}/lessons/{lessons['Welcome']}", headers=instructor).json()
        assert (welcome["version"], welcome["content"]) == (4, "# Welcome\n\nRead the **syllabus** first.")
        handout = http.get(f"{API}/lessons/{lessons['Handout']}", headers=instructor).json()
        assert (handout["file"]["filename"], handout["file"]["size_bytes"]) == ("handout.pdf", len(HANDOUT))
        quiz = http.get(f"{API}/lessons/{lessons['Checkpoint']}/quiz", headers=instructor).json()
        assert (quiz["passing_score"], quiz["max_attempts"], quiz["time_limit_minutes"]) == (50, 2, 15)
        assert quiz["show_answers"] == "after_each_attempt"
        assert [(q["type"], q["points"]) for q in quiz["questions"]] == [
            ("single_choice", 1),
            ("multiple_choice", 1),
            ("text", 3),
        ]
        assert [o["is_correct"] for o in quiz["questions"][0]["options"]] == [True, False]
        [assignment] = http.get(f"{API}/courses/{course_id}/assignments", headers=instructor).json()["items"]
        assert (assignment["title"], assignment["max_points"], assignment["lesson_id"]) == (
            "Planet essay",
            10,
            lessons["Essay"],
        )

        # A student enrolls and hands in the essay over HTTP.
        student = headers_over_http(http, STUDENT_EMAIL)
        http.post(f"{API}/courses/{course_id}/enroll", headers=student).raise_for_status()
        http.post(
            f"{API}/assignments/{assignment['id']}/submissions",
            headers=student,
            json={"text": "Saturn has rings.", "file_ids": []},
        ).raise_for_status()

        # The instructor grades it in the gradebook, then exports the CSV.
        page.get_by_role("link", name="Roster").click()
        expect(page.get_by_role("cell", name=STUDENT_EMAIL)).to_be_visible()
        page.get_by_role("link", name="Gradebook").click()
        grading = page.get_by_role("form", name="Grade Linus Pauling's submission")
        expect(grading.get_by_text("Saturn has rings.")).to_be_visible()
        grading.get_by_label("Points for Linus Pauling (of 10)").fill("8")
        grading.get_by_label("Feedback for Linus Pauling").fill("Good, but short.")
        grading.get_by_role("button", name="Save grade").click()
        expect(grading).to_have_count(0)
        gradebook = page.get_by_test_id("gradebook")
        expect(gradebook.get_by_role("row", name=re.compile("Linus Pauling"))).to_contain_text("8 / 10")
        screenshot(page, "instructor-gradebook")
        with page.expect_download() as download:
            page.get_by_role("button", name="Export CSV").click()
        expect(page.get_by_text("Gradebook exported.")).to_be_visible()
        assert download.value.suggested_filename == "gradebook-planets-101.csv"
        rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
        assert rows == [
            ["student", "email", "Checkpoint (%)", "Planet essay (points)"],
            ["Linus Pauling", STUDENT_EMAIL, "", "8.0"],
        ]

        # An announcement for the learners, and the course's analytics.
        page.get_by_role("link", name="Announcements").click()
        page.get_by_label("Announcement title").fill("Exam on Friday")
        page.get_by_label("Message (Markdown)").fill("Bring a **pencil**.")
        page.get_by_role("button", name="Post announcement").click()
        expect(page.get_by_role("article").locator("strong")).to_have_text("pencil")
        page.get_by_role("link", name="Analytics").click()
        expect(page.get_by_role("img", name=re.compile(r"^Enrollments per day: 1 in total"))).to_be_visible()
        expect(page.get_by_role("img", name="Completion rate: 0 %")).to_be_visible()
        screenshot(page, "instructor-analytics")

        # On a 375 px phone the editor fits the width: nothing scrolls sideways.
        page.set_viewport_size({"width": 375, "height": 800})
        page.get_by_role("link", name="Content", exact=True).click()
        expect(page.get_by_role("button", name="Move Essay up")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        screenshot(page, "instructor-course-editor-phone")

        # The grade is stored, with the feedback, for the student to read; so is the announcement.
        [submission] = http.get(f"{API}/assignments/{assignment['id']}/submissions", headers=student).json()[
            "items"
        ]
        assert (submission["status"], submission["points"], submission["feedback"]) == (
            "graded",
            8,
            "Good, but short.",
        )
