"""The career profile: skills drawn from the courses a learner completed, weighted by how
well they were assessed, each with its evidence.

A course names its skills in `skills`; a course without any counts for its `tags`, and one
without tags for its `category`. Each completed course gives each of its skills a weight: its
grade (0-1) when the learner has graded work in it, else `UNASSESSED_WEIGHT` (completing a
course nobody assessed is weaker evidence than passing its assessments). A skill's `weight`
is the sum over its courses; `score_percent` is the average grade over its graded courses.
Skills are told apart case-insensitively and shown as first spelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.analytics.transcript import CompletedCourse, completed_courses
from studyhall.catalog.models import Course
from studyhall.identity.models import User

UNASSESSED_WEIGHT = 0.5


@dataclass(slots=True)
class Skill:
    name: str
    evidence: list[CompletedCourse] = field(default_factory=list)

    @property
    def weight(self) -> float:
        return round(sum(course_weight(course) for course in self.evidence), 4)

    @property
    def score_percent(self) -> float | None:
        grades = [c.grade_percent for c in self.evidence if c.grade_percent is not None]
        return round(sum(grades) / len(grades), 2) if grades else None


def course_weight(course: CompletedCourse) -> float:
    if course.grade_percent is None:
        return UNASSESSED_WEIGHT
    return course.grade_percent / 100


def skills_of(course: Course) -> list[str]:
    named = [s.strip() for s in course.skills or [] if s and s.strip()]
    if named:
        return named
    tags = [t.strip() for t in course.tags or [] if t and t.strip()]
    if tags:
        return tags
    return [course.category.strip()] if course.category and course.category.strip() else []


def profile(courses: list[CompletedCourse]) -> list[Skill]:
    """Skills by weight (heaviest first), then name."""
    skills: dict[str, Skill] = {}
    for completed in courses:
        for name in dict.fromkeys(skills_of(completed.course)):
            skill = skills.setdefault(name.casefold(), Skill(name))
            if completed not in skill.evidence:
                skill.evidence.append(completed)
    return sorted(skills.values(), key=lambda s: (-s.weight, s.name.casefold()))


async def my_skills(session: AsyncSession, user: User) -> list[Skill]:
    return profile(await completed_courses(session, user))
