"""The demo school as data: who works and studies there, what they teach, how far each
student has got.

`school.toml` names the organisation, the people, the courses (in catalog order) and each
student's journey through a course. Every course is a folder: `course.toml` (catalog fields,
modules, the quiz with sample answers, the assignment with sample submissions and reviews)
and one Markdown file per lesson. `load_school()` reads and validates it all, so a typo in
the content fails loudly at load time rather than half-way through seeding.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from studyhall.assessment.models import QuestionType
from studyhall.assessment.schemas import OptionIn, QuestionIn, QuizIn
from studyhall.catalog.models import CourseStatus, LessonType
from studyhall.catalog.schemas import CourseCreate
from studyhall.identity.models import Role

#: Sample media: short generated videos (a test pattern, a fractal zoom; H.264/AAC MP4).
MEDIA = resources.files(__name__).joinpath("media")

#: Lessons students complete by reading; quiz and assignment lessons complete through their activity.
READING_TYPES = frozenset({LessonType.TEXT, LessonType.VIDEO, LessonType.FILE})
EMAIL_DOMAIN = "demo.studyhall.dev"


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- courses -----------------------------------------------------------------------------


class LessonSpec(_Data):
    title: str
    type: LessonType
    file: str = Field(description="The lesson's Markdown, next to course.toml")
    duration_minutes: int = 15
    preview: bool = False
    content: str = ""
    #: A `video` lesson's sample video, a file in `demo_content/media`.
    video: str | None = None

    @model_validator(mode="after")
    def _video_lessons_have_a_video(self) -> LessonSpec:
        if (self.type == LessonType.VIDEO) != (self.video is not None):
            raise ValueError(f"lesson {self.title!r}: `video` is for, and required by, video lessons")
        if self.video is not None and not MEDIA.joinpath(self.video).is_file():
            raise ValueError(f"lesson {self.title!r}: no sample video {self.video!r} in demo_content/media")
        return self


class ModuleSpec(_Data):
    title: str
    description: str
    lessons: list[LessonSpec] = Field(min_length=1)


class QuestionSpec(_Data):
    type: QuestionType
    text: str
    points: float = 1.0
    options: list[OptionIn] = Field(default_factory=list)
    #: What students write for a text question (the demo rotates through them).
    sample_answers: list[str] = Field(default_factory=list)

    def question_in(self) -> QuestionIn:
        return QuestionIn(type=self.type, text=self.text, points=self.points, options=self.options)


class QuizSpec(_Data):
    title: str
    passing_score: int
    max_attempts: int | None = None
    time_limit_minutes: int | None = None
    shuffle_questions: bool = False
    questions: list[QuestionSpec]

    def quiz_in(self) -> QuizIn:
        fields = self.model_dump(exclude={"questions"})
        return QuizIn(**fields, questions=[question.question_in() for question in self.questions])

    @model_validator(mode="after")
    def _every_question_type(self) -> QuizSpec:
        if {question.type for question in self.questions} != set(QuestionType):
            raise ValueError(f"quiz {self.title!r} must ask single, multiple choice and text questions")
        if any(q.type == QuestionType.TEXT and not q.sample_answers for q in self.questions):
            raise ValueError(f"quiz {self.title!r}: every text question needs sample answers")
        self.quiz_in()  # the same validation as the API's
        return self


class Review(_Data):
    points: float
    feedback: str


class AssignmentSpec(_Data):
    title: str
    instructions: str
    max_points: float
    #: Relative to the day of seeding; negative: already past (late submissions show as late).
    due_in_days: int
    sample_submissions: list[str] = Field(min_length=1)
    reviews: list[Review] = Field(min_length=1)


class CourseSpec(_Data):
    key: str
    catalog: CourseCreate
    status: CourseStatus
    owner: str
    instructors: list[str] = Field(default_factory=list, description="Co-instructors")
    published_days_ago: int = 0
    modules: list[ModuleSpec]
    quiz: QuizSpec
    assignment: AssignmentSpec

    @property
    def lessons(self) -> list[LessonSpec]:
        return [lesson for module in self.modules for lesson in module.lessons]

    @model_validator(mode="after")
    def _one_quiz_and_one_assignment_lesson(self) -> CourseSpec:
        types = [lesson.type for lesson in self.lessons]
        if types.count(LessonType.QUIZ) != 1 or types.count(LessonType.ASSIGNMENT) != 1:
            raise ValueError(f"course {self.key}: exactly one quiz and one assignment lesson")
        return self


# -- the school --------------------------------------------------------------------------


class Person(_Data):
    key: str = Field(description="The address's local part: <key>@demo.studyhall.dev")
    name: str
    role: Role
    member: bool = Field(description="Belongs to the organisation")

    @property
    def email(self) -> str:
        return f"{self.key}@{EMAIL_DOMAIN}"


QuizOutcome = Literal["passed", "failed", "pending"]


class Journey(_Data):
    """One student in one course: what they read, how their quiz attempts went, their work."""

    student: str
    course: str
    enrolled_days_ago: int = Field(ge=1)
    #: The student's steps are spread evenly from enrollment to this many days ago.
    last_active_days_ago: int = Field(0, ge=0)
    #: Reading lessons completed, in course order.
    lessons: Annotated[int, Field(ge=0)] | Literal["all"] = 0
    quiz: list[QuizOutcome] = Field(default_factory=list)
    assignment: Literal["submitted", "graded"] | None = None


class Organisation(_Data):
    name: str
    slug: str


class School(_Data):
    organization: Organisation
    people: list[Person]
    courses: list[CourseSpec]
    journeys: list[Journey]

    @model_validator(mode="after")
    def _references_resolve(self) -> School:
        people = {person.key: person for person in self.people}
        courses = {course.key: course for course in self.courses}
        for spec in self.courses:
            if not {spec.owner, *spec.instructors} <= people.keys():
                raise ValueError(f"course {spec.key}: unknown owner or instructor")
        for journey in self.journeys:
            course = courses.get(journey.course)
            if journey.student not in people or course is None:
                raise ValueError(f"journey {journey.student} in {journey.course}: unknown name")
            if not course.published_days_ago > journey.enrolled_days_ago > journey.last_active_days_ago:
                raise ValueError(f"journey {journey.student} in {journey.course}: days out of order")
        return self


# -- loading -----------------------------------------------------------------------------


def _course(folder: Traversable) -> CourseSpec:
    data = tomllib.loads(folder.joinpath("course.toml").read_text(encoding="utf-8"))
    for module in data["modules"]:
        for lesson in module["lessons"]:
            lesson["content"] = folder.joinpath(lesson["file"]).read_text(encoding="utf-8")
    course_fields = set(CourseCreate.model_fields)
    catalog = {key: data.pop(key) for key in list(data) if key in course_fields}
    return CourseSpec(key=folder.name, catalog=CourseCreate(**catalog), **data)


@cache
def load_school() -> School:
    root = resources.files(__name__)
    data = tomllib.loads(root.joinpath("school.toml").read_text(encoding="utf-8"))
    data["courses"] = [_course(root.joinpath(key)) for key in data["courses"]]
    return School(**data)
