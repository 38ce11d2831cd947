"""`studyhall seed-demo`: the demo school, created through the platform's own services.

The content lives as data in `studyhall.demo_content`: Lakeside Polytechnic, its staff and
students, thirteen courses with Markdown lessons, a quiz and an assignment each, and every
student's journey (lessons read, quiz attempts passed, failed or awaiting review, work
submitted and graded). Courses, enrollments, completions, attempts and submissions go
through the catalog, learning and assessment services, so scores, completion, counters and
events follow the same rules as in the API. Only the accounts are inserted directly: they
share one password hash, computed once (hashing at full cost per account takes seconds).

Natural keys make a second run create nothing: the organisation by slug, users by email,
courses by (owner, title). Journeys run only in courses created by the same run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.assessment import assignments
from studyhall.assessment import service as quizzes
from studyhall.assessment.models import AttemptStatus, QuestionType, QuizAttempt
from studyhall.assessment.schemas import AssignmentIn, SubmissionGrade, SubmissionIn
from studyhall.catalog import service as catalog
from studyhall.catalog.access import course_access, lesson_access
from studyhall.catalog.models import Course, CourseStatus, LessonType
from studyhall.catalog.schemas import LessonCreate, ModuleCreate
from studyhall.config import Settings
from studyhall.core.clock import utcnow
from studyhall.core.errors import DomainError
from studyhall.core.security import security_from_settings
from studyhall.demo_content import (
    MEDIA,
    READING_TYPES,
    CourseSpec,
    Journey,
    LessonSpec,
    Person,
    QuizOutcome,
    load_school,
)
from studyhall.demo_content.material import lesson_pdf
from studyhall.identity.models import Organization, User
from studyhall.learning import service as learning
from studyhall.media import service as media
from studyhall.media import video
from studyhall.media.models import File, FilePurpose
from studyhall.workers import create_database

DEMO_PASSWORD = "studyhall-demo"  # noqa: S105 (printed on purpose: demo accounts only)

#: How long a demo student spends on a quiz attempt, and how long staff take to mark work.
ATTEMPT_DURATION = timedelta(minutes=14)
MARKING_DELAY = timedelta(days=1, hours=3)


@dataclass
class SeedReport:
    created: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    #: Journeys the services refused, as "student in course: error code".
    skipped: list[str] = field(default_factory=list)

    def count(self, kind: str, n: int = 1) -> None:
        self.created[kind] = self.created.get(kind, 0) + n


@dataclass
class _CourseHandles:
    """What the journeys of a course created in this run need."""

    spec: CourseSpec
    course_id: uuid.UUID
    reading_lesson_ids: list[uuid.UUID] = field(default_factory=list)
    quiz_id: uuid.UUID | None = None
    assignment_id: uuid.UUID | None = None
    assignment_lesson_id: uuid.UUID | None = None
    journeys: int = 0


async def seed_demo(settings: Settings, *, only_if_empty: bool = False) -> SeedReport | None:
    """Create whatever part of the demo is missing. With `only_if_empty`, do nothing (and
    return None) when the database already has users."""
    database = create_database(settings)  # with the file storage the media go to
    try:
        async with database.sessionmaker() as session, session.begin():
            if only_if_empty and await session.scalar(select(func.count()).select_from(User)):
                return None
            seeder = _Seeder(session, settings, utcnow())
            await seeder.run()
            return seeder.report
    finally:
        await database.dispose()


class _Seeder:
    def __init__(self, session: AsyncSession, settings: Settings, now: datetime) -> None:
        self.session = session
        self.settings = settings
        self.now = now
        self.school = load_school()
        self.report = SeedReport()
        self.users: dict[str, User] = {}
        self._password_hash: str | None = None

    async def run(self) -> None:
        organization = await self._organization()
        for person in self.school.people:
            self.users[person.key] = await self._user(person, organization)
            self.report.logins.append((person.email, person.role.value, DEMO_PASSWORD))
        created: dict[str, _CourseHandles] = {}
        for spec in self.school.courses:
            handles = await self._course(spec)
            if handles is not None:
                created[spec.key] = handles
        for journey in self.school.journeys:
            if journey.course in created:
                await self._journey_or_skip(journey, created[journey.course])
        for handles in created.values():
            if handles.spec.status == CourseStatus.ARCHIVED:  # archived after its students took it
                await catalog.set_course_status(
                    self.session, self.users[handles.spec.owner], handles.course_id, CourseStatus.ARCHIVED
                )

    # -- people ---------------------------------------------------------------------------

    async def _organization(self) -> Organization:
        name, slug = self.school.organization.name, self.school.organization.slug
        found = await self.session.scalar(select(Organization).where(Organization.slug == slug))
        if found is not None:
            return found
        organization = Organization(name=name, slug=slug)
        self.session.add(organization)
        await self.session.flush()
        self.report.count("organizations")
        return organization

    async def _user(self, person: Person, organization: Organization) -> User:
        found = await self.session.scalar(select(User).where(User.email == person.email))
        if found is not None:
            return found
        user = User(
            email=person.email,
            full_name=person.name,
            role=person.role.value,
            organization_id=organization.id if person.member else None,
            password_hash=await self._demo_password_hash(),
            email_verified=True,
        )
        self.session.add(user)
        await self.session.flush()
        self.report.count("users")
        return user

    async def _demo_password_hash(self) -> str:
        """Hashed once, when the first account is missing; every demo account shares it."""
        if self._password_hash is None:
            passwords, _ = security_from_settings(self.settings)
            self._password_hash = await passwords.hash(DEMO_PASSWORD)
        return self._password_hash

    # -- courses --------------------------------------------------------------------------

    async def _course(self, spec: CourseSpec) -> _CourseHandles | None:
        owner = self.users[spec.owner]
        found = await self.session.scalar(
            select(Course.id).where(Course.owner_id == owner.id, Course.title == spec.catalog.title)
        )
        if found is not None:
            return None
        course = await catalog.create_course(self.session, owner, spec.catalog)
        handles = _CourseHandles(spec, course.id)
        for key in spec.instructors:
            await catalog.add_instructor(self.session, owner, course.id, self.users[key].id)
        for module_spec in spec.modules:
            module = await catalog.create_module(
                self.session,
                owner,
                course.id,
                ModuleCreate(title=module_spec.title, description=module_spec.description),
            )
            for lesson_spec in module_spec.lessons:
                material = await self._material(owner, lesson_spec)
                lesson = await catalog.create_lesson(
                    self.session,
                    owner,
                    course.id,
                    LessonCreate(
                        title=lesson_spec.title,
                        type=lesson_spec.type,
                        module_id=module.id,
                        content=lesson_spec.content,
                        duration_minutes=lesson_spec.duration_minutes,
                        is_preview=lesson_spec.preview,
                        file_id=material.id if material else None,
                    ),
                )
                if lesson_spec.video is not None:
                    await video.use_stored_video(
                        self.session, lesson.id, await self._video(owner, lesson_spec.video)
                    )
                await self._activity(spec, handles, owner, lesson.id, LessonType(lesson.type))
        if spec.status != CourseStatus.DRAFT:
            await self._publish(owner, course, spec.published_days_ago)
        self.report.count("courses")
        self.report.count("lessons", len(spec.lessons))
        return handles

    async def _material(self, owner: User, spec: LessonSpec) -> File | None:
        """A `file` lesson's download: its Markdown as a PDF, uploaded by the course owner."""
        if spec.type != LessonType.FILE:
            return None
        self.report.count("files")
        return await media.store_file(
            self.session,
            owner_id=owner.id,
            purpose=FilePurpose.LESSON_MATERIAL,
            filename=f"{spec.file.removesuffix('.md')}.pdf",
            content_type="application/pdf",
            data=lesson_pdf(spec.title, spec.content),
        )

    async def _video(self, owner: User, name: str) -> File:
        self.report.count("videos")
        return await media.store_file(
            self.session,
            owner_id=owner.id,
            purpose=FilePurpose.VIDEO,
            filename=name,
            content_type="video/mp4",
            data=MEDIA.joinpath(name).read_bytes(),
        )

    async def _activity(
        self, spec: CourseSpec, handles: _CourseHandles, owner: User, lesson_id: uuid.UUID, kind: LessonType
    ) -> None:
        """A reading lesson is remembered; a quiz or assignment lesson gets its activity."""
        if kind in READING_TYPES:
            handles.reading_lesson_ids.append(lesson_id)
        elif kind == LessonType.QUIZ:
            quiz, _ = await quizzes.put_quiz(self.session, owner, lesson_id, spec.quiz.quiz_in())
            handles.quiz_id = quiz.id
        elif kind == LessonType.ASSIGNMENT:
            work = spec.assignment
            assignment = await assignments.create_assignment(
                self.session,
                owner,
                handles.course_id,
                AssignmentIn(
                    title=work.title,
                    instructions=work.instructions.strip(),
                    due_at=self.now + timedelta(days=work.due_in_days),
                    max_points=work.max_points,
                    lesson_id=lesson_id,
                ),
            )
            handles.assignment_id = assignment.id
            handles.assignment_lesson_id = lesson_id

    async def _publish(self, owner: User, course: Course, days_ago: int) -> None:
        """Publish, dated back to when the course went live in the demo's story."""
        await catalog.set_course_status(self.session, owner, course.id, CourseStatus.PUBLISHED)
        course.created_at = course.published_at = self.now - timedelta(days=days_ago)
        await self.session.flush()

    # -- journeys -------------------------------------------------------------------------

    async def _journey_or_skip(self, journey: Journey, handles: _CourseHandles) -> None:
        """A journey the services refuse (an account that already existed, say, as a member of
        another organisation) is rolled back and reported; the rest of the demo still loads."""
        counts = dict(self.report.created)
        try:
            async with self.session.begin_nested():
                await self._journey(journey, handles)
        except DomainError as exc:
            self.report.created = counts
            self.report.skipped.append(f"{journey.student} in {journey.course}: {exc.code}")

    async def _journey(self, journey: Journey, handles: _CourseHandles) -> None:
        """Enroll, then read, take the quiz and hand in work, spread over the days since."""
        student = self.users[journey.student]
        teacher = self.users[handles.spec.owner]
        sample = handles.journeys  # students of one course write different answers
        handles.journeys += 1
        reading = handles.reading_lesson_ids
        read = reading if journey.lessons == "all" else reading[: journey.lessons]
        enrolled_at = self.now - timedelta(days=journey.enrolled_days_ago)
        last_active = self.now - timedelta(days=journey.last_active_days_ago)
        times = _spread(
            enrolled_at, last_active, len(read) + len(journey.quiz) + (journey.assignment is not None)
        )

        await learning.enroll(
            self.session,
            student,
            await course_access(self.session, student, handles.course_id),
            now=enrolled_at,
        )
        self.report.count("enrollments")
        for lesson_id in read:
            access = await lesson_access(self.session, student, lesson_id)
            await learning.complete_lesson(self.session, student, access, now=next(times))
        for outcome in journey.quiz:
            await self._attempt(handles, student, teacher, outcome, sample, next(times))
        if journey.assignment is not None:
            await self._hand_in(
                handles, student, teacher, journey.assignment == "graded", sample, next(times)
            )

    async def _attempt(
        self,
        handles: _CourseHandles,
        student: User,
        teacher: User,
        outcome: QuizOutcome,
        sample: int,
        at: datetime,
    ) -> None:
        assert handles.quiz_id is not None
        attempt = await quizzes.start_attempt(self.session, student, handles.quiz_id, now=at)
        answers = _answers(handles.spec, attempt.questions, outcome, sample)
        submitted = await quizzes.submit_attempt(
            self.session, student, attempt.id, answers, now=at + ATTEMPT_DURATION
        )
        attempt = submitted.attempt
        if outcome == "passed":
            grades = _text_grades(attempt, full_marks=sample % 2 == 0)
            graded = await quizzes.grade_attempt(
                self.session, teacher, attempt.id, grades, now=self._marked(at + ATTEMPT_DURATION)
            )
            attempt = graded.attempt
        self.report.count("quiz attempts")
        _check_outcome(handles.spec, attempt, outcome)

    async def _hand_in(
        self, handles: _CourseHandles, student: User, teacher: User, graded: bool, sample: int, at: datetime
    ) -> None:
        assert handles.assignment_id is not None and handles.assignment_lesson_id is not None
        work = handles.spec.assignment
        text = work.sample_submissions[sample % len(work.sample_submissions)]
        submission, _ = await assignments.submit(
            self.session, student, handles.assignment_id, SubmissionIn(text=text), now=at
        )
        self.report.count("submissions")
        if graded:
            review = work.reviews[sample % len(work.reviews)]
            await assignments.grade_submission(
                self.session,
                teacher,
                submission.id,
                SubmissionGrade(points=review.points, feedback=review.feedback),
                now=self._marked(at),
            )

    def _marked(self, submitted_at: datetime) -> datetime:
        return min(submitted_at + MARKING_DELAY, self.now - timedelta(minutes=5))


def _spread(start: datetime, end: datetime, steps: int) -> Iterator[datetime]:
    """`steps` moments evenly between `start` and `end` (exclusive), in order."""
    gap = (end - start) / (steps + 1)
    return iter([start + gap * (i + 1) for i in range(steps)])


def _answers(
    spec: CourseSpec, questions: list[dict[str, Any]], outcome: QuizOutcome, sample: int
) -> dict[uuid.UUID, object]:
    """A diligent attempt answers every choice right and writes a sample answer; a rushed
    (failed) one gets only its first choice question right and skips the written one."""
    written = {q.text: q.sample_answers for q in spec.quiz.questions if q.type == QuestionType.TEXT}
    answers: dict[uuid.UUID, object] = {}
    first_choice = True
    for question in questions:
        question_id = uuid.UUID(question["id"])
        if question["type"] == QuestionType.TEXT:
            samples = written[question["text"]]
            if outcome != "failed":
                answers[question_id] = samples[sample % len(samples)]
            continue
        right = [o["id"] for o in question["options"] if o["is_correct"]]
        wrong = [o["id"] for o in question["options"] if not o["is_correct"]]
        answers[question_id] = right if outcome != "failed" or first_choice else wrong[:1]
        first_choice = False
    return answers


def _text_grades(attempt: QuizAttempt, *, full_marks: bool) -> dict[uuid.UUID, float]:
    """Full marks for a written answer, or three quarters of them (rounded to a half point)."""
    results = attempt.results or []
    return {
        uuid.UUID(r["question_id"]): r["max_points"] if full_marks else round(r["max_points"] * 1.5) / 2
        for r in results
        if r["type"] == QuestionType.TEXT and r["text_answer"] is not None
    }


def _check_outcome(spec: CourseSpec, attempt: QuizAttempt, outcome: QuizOutcome) -> None:
    """The content decides scores: catch a quiz whose questions no longer fit the story."""
    expected = {
        "passed": (AttemptStatus.GRADED, True),
        "failed": (AttemptStatus.GRADED, False),
        "pending": (AttemptStatus.PENDING_REVIEW, None),
    }[outcome]
    if (attempt.status, attempt.passed) != expected:
        raise ValueError(
            f"demo course {spec.key}: a {outcome} attempt ended {attempt.status}/{attempt.passed}"
        )
