"""`studyhall seed-demo`: a realistic, idempotent demo data set.

An admin, an organisation with its principal, instructors and students, a dozen published
courses across categories and levels (modules and lessons of every type, Markdown content),
enrollments and progress. Every row has a natural key (email, slug), so a second run finds
everything in place and creates nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.catalog.access import recount_lessons
from studyhall.catalog.models import (
    Course,
    CourseInstructor,
    CourseStatus,
    Lesson,
    LessonType,
    LessonVersion,
    Module,
    Visibility,
)
from studyhall.config import Settings
from studyhall.core.db import Database, utcnow
from studyhall.core.security import security_from_settings
from studyhall.identity.models import Organization, Role, User
from studyhall.learning.models import Enrollment, EnrollmentStatus, LessonCompletion

DEMO_PASSWORD = "studyhall-demo"  # noqa: S105 (printed on purpose: demo accounts only)
ORGANIZATION = ("Northwind Academy", "northwind")

#: (email, full name, role, member of the organisation)
PEOPLE: list[tuple[str, str, Role, bool]] = [
    ("admin@demo.studyhall.dev", "Ada Admin", Role.ADMIN, False),
    ("principal@demo.studyhall.dev", "Priya Principal", Role.PRINCIPAL, True),
    ("grace@demo.studyhall.dev", "Grace Hopper", Role.INSTRUCTOR, False),
    ("alan@demo.studyhall.dev", "Alan Turing", Role.INSTRUCTOR, True),
    ("frida@demo.studyhall.dev", "Frida Kahlo", Role.INSTRUCTOR, False),
    ("sam@demo.studyhall.dev", "Sam Student", Role.STUDENT, False),
    ("olivia@demo.studyhall.dev", "Olivia Learner", Role.STUDENT, True),
    ("noah@demo.studyhall.dev", "Noah Reader", Role.STUDENT, True),
    ("mia@demo.studyhall.dev", "Mia Curious", Role.STUDENT, False),
]

#: (title, category, level, tags, skills, owner email, price in cents, organisation only)
COURSES: list[tuple[str, str, str, list[str], list[str], str, int, bool]] = [
    ("Python from Zero", "programming", "beginner", ["python", "basics"], ["python"], "grace", 0, False),
    (
        "Async Python in Practice",
        "programming",
        "advanced",
        ["python", "asyncio"],
        ["asyncio"],
        "grace",
        4900,
        False,
    ),
    ("SQL for Analysts", "data", "beginner", ["sql", "data"], ["sql"], "alan", 0, False),
    (
        "Statistics You Can Use",
        "data",
        "intermediate",
        ["statistics", "data"],
        ["statistics"],
        "alan",
        2900,
        False,
    ),
    (
        "Machine Learning Foundations",
        "data",
        "advanced",
        ["ml", "python"],
        ["scikit-learn"],
        "alan",
        5900,
        False,
    ),
    (
        "Colour and Composition",
        "design",
        "beginner",
        ["design", "colour"],
        ["composition"],
        "frida",
        0,
        False,
    ),
    (
        "Typography Essentials",
        "design",
        "intermediate",
        ["design", "typography"],
        ["typography"],
        "frida",
        1900,
        False,
    ),
    ("Leading Small Teams", "business", "intermediate", ["leadership"], ["management"], "grace", 0, False),
    (
        "Spanish for Travellers",
        "languages",
        "beginner",
        ["spanish", "travel"],
        ["spanish"],
        "frida",
        0,
        False,
    ),
    ("Physics of Everyday Things", "science", "beginner", ["physics"], ["physics"], "alan", 0, False),
    (
        "Writing Clear Documentation",
        "writing",
        "intermediate",
        ["writing", "docs"],
        ["technical writing"],
        "grace",
        0,
        False,
    ),
    ("Northwind Onboarding", "business", "beginner", ["onboarding"], ["company basics"], "alan", 0, True),
    (
        "Rust for Pythonistas",
        "programming",
        "intermediate",
        ["rust", "python"],
        ["rust"],
        "grace",
        3900,
        False,
    ),
]

#: student → (course title, lessons completed)
ENROLLMENTS: dict[str, list[tuple[str, int]]] = {
    "sam": [("Python from Zero", 5), ("SQL for Analysts", 2), ("Colour and Composition", 0)],
    "olivia": [("Python from Zero", 3), ("Northwind Onboarding", 5), ("Statistics You Can Use", 1)],
    "noah": [("Northwind Onboarding", 2), ("Spanish for Travellers", 4)],
    "mia": [("Machine Learning Foundations", 1), ("Python from Zero", 0), ("Typography Essentials", 2)],
}

LESSON_TYPES = [LessonType.TEXT, LessonType.VIDEO, LessonType.FILE, LessonType.QUIZ, LessonType.ASSIGNMENT]


@dataclass
class SeedReport:
    created: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)

    def count(self, kind: str) -> None:
        self.created[kind] = self.created.get(kind, 0) + 1


def _slug(title: str) -> str:
    return "demo-" + "-".join(title.lower().replace("'", "").split())


def _content(title: str, lesson_type: LessonType, n: int) -> str:
    return (
        f"# {title}: part {n}\n\n"
        f"This {lesson_type.value} lesson walks through **key idea {n}** of *{title}*.\n\n"
        "## What you will learn\n\n"
        "- the vocabulary you need\n- a worked example\n- a short exercise\n\n"
        "```python\nprint('hello, StudyHall')\n```\n\n"
        "> Tip: take notes as you go, and come back to the [docs](https://example.com/docs).\n"
    )


async def seed_demo(settings: Settings, *, only_if_empty: bool = False) -> SeedReport | None:
    """Create whatever part of the demo is missing. With `only_if_empty`, do nothing (and
    return None) when the database already has users."""
    database = Database(settings)
    hasher, _ = security_from_settings(settings)
    report = SeedReport()
    try:
        async with database.sessionmaker() as session, session.begin():
            if only_if_empty and await session.scalar(select(func.count()).select_from(User)):
                return None
            password_hash = await hasher.hash(DEMO_PASSWORD)
            organization = await _organization(session, report)
            users = {}
            for email, name, role, member in PEOPLE:
                users[email.split("@")[0]] = await _user(
                    session, report, email, name, role, organization.id if member else None, password_hash
                )
                report.logins.append((email, role.value, DEMO_PASSWORD))
            courses = {}
            for index, spec in enumerate(COURSES):
                courses[spec[0]] = await _course(session, report, index, spec, users, organization)
            for student, entries in ENROLLMENTS.items():
                for title, done in entries:
                    await _enroll(session, report, users[student], courses[title], done)
            await session.execute(
                update(Course)
                .where(Course.slug.like("demo-%"))
                .values(
                    enrollment_count=select(func.count())
                    .select_from(Enrollment)
                    .where(Enrollment.course_id == Course.id, Enrollment.status == EnrollmentStatus.ACTIVE)
                    .scalar_subquery()
                )
            )
    finally:
        await database.dispose()
    return report


async def _organization(session: AsyncSession, report: SeedReport) -> Organization:
    name, slug = ORGANIZATION
    found = await session.scalar(select(Organization).where(Organization.slug == slug))
    if found is not None:
        return found
    organization = Organization(name=name, slug=slug)
    session.add(organization)
    await session.flush()
    report.count("organizations")
    return organization


async def _user(
    session: AsyncSession,
    report: SeedReport,
    email: str,
    name: str,
    role: Role,
    organization_id: uuid.UUID | None,
    password_hash: str,
) -> User:
    found = await session.scalar(select(User).where(User.email == email))
    if found is not None:
        return found
    user = User(
        email=email,
        full_name=name,
        role=role.value,
        organization_id=organization_id,
        password_hash=password_hash,
        email_verified=True,
    )
    session.add(user)
    await session.flush()
    report.count("users")
    return user


async def _course(
    session: AsyncSession,
    report: SeedReport,
    index: int,
    spec: tuple[str, str, str, list[str], list[str], str, int, bool],
    users: dict[str, User],
    organization: Organization,
) -> Course:
    title, category, level, tags, skills, owner, price, org_only = spec
    slug = _slug(title)
    found = await session.scalar(select(Course).where(Course.slug == slug))
    if found is not None:
        return found
    published = utcnow() - timedelta(days=3 * (len(COURSES) - index))
    course = Course(
        slug=slug,
        title=title,
        subtitle=f"A {level} course in {category}",
        description=f"{title}: a hands-on {level} course with videos, readings, quizzes and an assignment.",
        category=category,
        tags=tags,
        skills=skills,
        level=level,
        duration_minutes=90 + 15 * index,
        price_cents=price,
        visibility=Visibility.ORGANIZATION if org_only else Visibility.PUBLIC,
        organization_id=organization.id if org_only or users[owner].organization_id else None,
        owner_id=users[owner].id,
        status=CourseStatus.PUBLISHED,
        published_at=published,
        certificate_enabled=index % 3 == 0,
    )
    session.add(course)
    await session.flush()
    report.count("courses")
    if owner != "grace" and not org_only:
        session.add(CourseInstructor(course_id=course.id, user_id=users["grace"].id))
    position = 0
    for module_index in range(2):
        module = Module(course_id=course.id, title=f"Part {module_index + 1}", position=module_index)
        session.add(module)
        await session.flush()
        for lesson_type in LESSON_TYPES[module_index * 3 : module_index * 3 + 3]:
            lesson_title = f"{lesson_type.value.title()} lesson {position + 1}"
            content = _content(title, lesson_type, position + 1)
            lesson = Lesson(
                course_id=course.id,
                module_id=module.id,
                title=lesson_title,
                type=lesson_type,
                content=content,
                duration_minutes=10 + 5 * position,
                is_preview=position == 0,
                position=position,
            )
            session.add(lesson)
            await session.flush()
            session.add(
                LessonVersion(
                    lesson_id=lesson.id,
                    version=1,
                    title=lesson_title,
                    content=content,
                    author_id=course.owner_id,
                )
            )
            position += 1
    await session.flush()
    await recount_lessons(session, course.id)
    return course


async def _enroll(
    session: AsyncSession, report: SeedReport, student: User, course: Course, done: int
) -> None:
    found = await session.scalar(
        select(Enrollment.id).where(Enrollment.user_id == student.id, Enrollment.course_id == course.id)
    )
    if found is not None:
        return
    session.add(Enrollment(user_id=student.id, course_id=course.id, last_activity_at=utcnow()))
    report.count("enrollments")
    lessons = (
        await session.scalars(
            select(Lesson.id)
            .where(Lesson.course_id == course.id, Lesson.deleted_at.is_(None))
            .order_by(Lesson.position)
        )
    ).all()
    for lesson_id in lessons[:done]:
        session.add(LessonCompletion(user_id=student.id, lesson_id=lesson_id, course_id=course.id))
        report.count("completions")
    await session.flush()
    if 0 < len(lessons) <= done:
        await session.execute(
            update(Enrollment)
            .where(Enrollment.user_id == student.id, Enrollment.course_id == course.id)
            .values(completed_at=utcnow())
        )
