"""Request and response models of quizzes, attempts, assignments and the gradebook."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from studyhall.assessment.models import (
    AttemptStatus,
    GradedKind,
    GradeStatus,
    QuestionType,
    ShowAnswers,
    SubmissionStatus,
)

if TYPE_CHECKING:  # the services import this module (request bodies)
    from studyhall.assessment.gradebook import CourseGradebook, CourseGrades
    from studyhall.assessment.models import Quiz, QuizAttempt
    from studyhall.assessment.service import AttemptView

MAX_QUESTIONS = 200
MAX_OPTIONS = 26
Points = Annotated[float, Field(gt=0, le=1000)]


# -- quizzes ---------------------------------------------------------------------------


class OptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID | None = Field(None, description="Keep to preserve the option's identity; new when omitted")
    text: str = Field(min_length=1, max_length=1000)
    is_correct: bool = False


class QuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID | None = Field(
        None, description="Keep to preserve the question's identity; new when omitted"
    )
    type: QuestionType
    text: str = Field(min_length=1, max_length=5000)
    points: Points = 1.0
    options: list[OptionIn] = Field(default_factory=list, max_length=MAX_OPTIONS)

    @model_validator(mode="after")
    def _check_options(self) -> QuestionIn:
        correct = sum(option.is_correct for option in self.options)
        if self.type == QuestionType.TEXT:
            if self.options:
                raise ValueError("text questions take no options")
        elif len(self.options) < 2:
            raise ValueError("choice questions need at least two options")
        elif self.type == QuestionType.SINGLE_CHOICE and correct != 1:
            raise ValueError("single_choice questions need exactly one correct option")
        elif self.type == QuestionType.MULTIPLE_CHOICE and correct < 1:
            raise ValueError("multiple_choice questions need at least one correct option")
        ids = [option.id for option in self.options if option.id is not None]
        if len(ids) != len(set(ids)):
            raise ValueError("option ids must be unique")
        return self


class QuizIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    passing_score: int = Field(ge=0, le=100, description="Percent needed to pass")
    max_attempts: int | None = Field(None, ge=1, le=1000, description="null: unlimited")
    time_limit_minutes: int | None = Field(None, ge=1, le=1440, description="null: no limit")
    shuffle_questions: bool = False
    show_answers: ShowAnswers = Field(
        ShowAnswers.AFTER_LAST_ATTEMPT,
        description="When students see which answers were right: after each attempt, once they "
        "passed or have no attempt left (default), or never",
    )
    questions: list[QuestionIn] = Field(min_length=1, max_length=MAX_QUESTIONS)

    @model_validator(mode="after")
    def _unique_ids(self) -> QuizIn:
        question_ids = [q.id for q in self.questions if q.id is not None]
        option_ids = [o.id for q in self.questions for o in q.options if o.id is not None]
        if len(question_ids) != len(set(question_ids)) or len(option_ids) != len(set(option_ids)):
            raise ValueError("question and option ids must be unique")
        return self


class OptionRead(BaseModel):
    id: uuid.UUID
    text: str


class OptionWithAnswer(OptionRead):
    is_correct: bool


class QuestionRead(BaseModel):
    """A question as a student sees it: no answer key. A stored question validates into it
    without its options' `is_correct` (fields a response model does not declare are dropped)."""

    id: uuid.UUID
    type: QuestionType
    text: str
    points: float
    options: list[OptionRead]


class QuestionWithAnswer(BaseModel):
    id: uuid.UUID
    type: QuestionType
    text: str
    points: float
    options: list[OptionWithAnswer]


class _QuizBase(BaseModel):
    id: uuid.UUID
    lesson_id: uuid.UUID
    course_id: uuid.UUID
    title: str
    passing_score: int
    max_attempts: int | None
    time_limit_minutes: int | None
    shuffle_questions: bool
    show_answers: ShowAnswers
    revision: int
    updated_at: datetime

    @classmethod
    def of(cls, quiz: Quiz) -> Self:
        fields = {name: getattr(quiz, name) for name in _QuizBase.model_fields}
        return cls.model_validate({**fields, "questions": quiz.questions})


class QuizForStudent(_QuizBase):
    view: Literal["student"] = "student"
    questions: list[QuestionRead]


class QuizForStaff(_QuizBase):
    view: Literal["staff"] = "staff"
    questions: list[QuestionWithAnswer]


QuizRead = Annotated[QuizForStaff | QuizForStudent, Field(discriminator="view")]


# -- attempts --------------------------------------------------------------------------


class AttemptStarted(BaseModel):
    id: uuid.UUID
    quiz_id: uuid.UUID
    number: int
    status: AttemptStatus
    started_at: datetime
    deadline_at: datetime | None
    questions: list[QuestionRead]

    @classmethod
    def of(cls, attempt: QuizAttempt) -> AttemptStarted:
        return cls.model_validate(attempt, from_attributes=True)


class AttemptSubmit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[uuid.UUID, list[uuid.UUID] | Annotated[str, Field(max_length=20000)]] = Field(
        description="question id → selected option ids (choice questions) or the text answer"
    )


class QuestionResult(BaseModel):
    """A question's result without the answer key: what the student answered."""

    question_id: uuid.UUID
    type: QuestionType
    max_points: float
    selected_option_ids: list[uuid.UUID] = Field(default_factory=list)
    text_answer: str | None = None


class QuestionResultWithKey(QuestionResult):
    """A question's result with the answer key: shown to staff, and to the student as the
    quiz's `show_answers` allows."""

    points_awarded: float | None = Field(description="null while a text answer awaits review")
    is_correct: bool | None = Field(description="null while a text answer awaits review")
    correct_option_ids: list[uuid.UUID]


_ANSWERS_SHOWN = Field(
    description="Whether `results` carry the answer key (`points_awarded`, `is_correct`, "
    "`correct_option_ids`), as the quiz's `show_answers` allows; staff always see it"
)
QuestionResults = list[QuestionResultWithKey] | list[QuestionResult]


def _question_results(results: list[dict[str, Any]], answers_shown: bool) -> QuestionResults:
    """Stored results as the caller may see them: with the answer key, or only their answers."""
    if answers_shown:
        return [QuestionResultWithKey.model_validate({**r, "is_correct": r["correct"]}) for r in results]
    return [QuestionResult.model_validate(r) for r in results]


def _attempt_fields(view: AttemptView) -> dict[str, Any]:
    attempt = view.attempt
    return {
        "id": attempt.id,
        "quiz_id": attempt.quiz_id,
        "user_id": attempt.user_id,
        "number": attempt.number,
        "status": attempt.status,
        "started_at": attempt.started_at,
        "deadline_at": attempt.deadline_at,
        "submitted_at": attempt.submitted_at,
        "score_percent": attempt.score_percent,
        "points": attempt.points,
        "max_points": attempt.max_points,
        "passed": attempt.passed,
        "answers_shown": view.answers_shown,
    }


class AttemptResult(BaseModel):
    id: uuid.UUID
    quiz_id: uuid.UUID
    number: int
    status: AttemptStatus
    score_percent: float
    points: float
    max_points: float
    passed: bool | None = Field(description="null while text answers await review")
    submitted_at: datetime | None
    answers_shown: bool = _ANSWERS_SHOWN
    results: QuestionResults

    @classmethod
    def of(cls, view: AttemptView) -> AttemptResult:
        attempt = view.attempt
        return cls.model_validate(
            {
                **_attempt_fields(view),
                "score_percent": attempt.score_percent or 0.0,
                "points": attempt.points or 0.0,
                "results": _question_results(attempt.results or [], view.answers_shown),
            }
        )


class AttemptSummary(BaseModel):
    id: uuid.UUID
    quiz_id: uuid.UUID
    user_id: uuid.UUID
    number: int
    status: AttemptStatus
    started_at: datetime
    deadline_at: datetime | None
    submitted_at: datetime | None
    score_percent: float | None
    points: float | None
    max_points: float
    passed: bool | None
    answers_shown: bool = _ANSWERS_SHOWN

    @classmethod
    def of(cls, view: AttemptView) -> Self:
        return cls.model_validate(_attempt_fields(view))


class AttemptRead(AttemptSummary):
    """An attempt with its questions (no answer key) and, once submitted, its results."""

    questions: list[QuestionRead]
    results: QuestionResults | None

    @classmethod
    def of(cls, view: AttemptView) -> Self:
        attempt = view.attempt
        results = None if attempt.results is None else _question_results(attempt.results, view.answers_shown)
        return cls.model_validate(
            {**_attempt_fields(view), "questions": attempt.questions, "results": results}
        )


class AttemptGrade(RootModel[dict[uuid.UUID, Annotated[float, Field(ge=0, le=1000)]]]):
    """Points per text question, e.g. `{"<question id>": 3.5}`."""


# -- assignments -----------------------------------------------------------------------


class AssignmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    instructions: str = Field("", max_length=50000)
    due_at: datetime | None = None
    max_points: Points
    lesson_id: uuid.UUID | None = None
    attachment_file_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)


class AssignmentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=200)
    instructions: str | None = Field(None, max_length=50000)
    due_at: datetime | None = None
    max_points: Points | None = None
    lesson_id: uuid.UUID | None = None
    attachment_file_ids: list[uuid.UUID] | None = Field(None, max_length=20)

    @model_validator(mode="after")
    def _required_fields_not_null(self) -> AssignmentUpdate:
        for key in ("title", "instructions", "max_points", "attachment_file_ids"):
            if key in self.model_fields_set and getattr(self, key) is None:
                raise ValueError(f"{key} cannot be null")
        return self


class AssignmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    course_id: uuid.UUID
    lesson_id: uuid.UUID | None
    title: str
    instructions: str
    due_at: datetime | None
    max_points: float
    attachment_file_ids: list[uuid.UUID]
    created_at: datetime
    updated_at: datetime


class SubmissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(None, max_length=100000)
    file_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _not_empty(self) -> SubmissionIn:
        if not (self.text and self.text.strip()) and not self.file_ids:
            raise ValueError("a submission needs text or at least one file")
        return self


class SubmissionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    assignment_id: uuid.UUID
    user_id: uuid.UUID
    text: str | None
    file_ids: list[uuid.UUID]
    status: SubmissionStatus
    submitted_at: datetime
    is_late: bool
    revision: int
    points: float | None
    feedback: str | None
    graded_at: datetime | None


class SubmissionGrade(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: float = Field(ge=0, le=1000)
    feedback: str = Field("", max_length=20000)


# -- gradebook -------------------------------------------------------------------------


class GradebookItem(BaseModel):
    id: uuid.UUID
    kind: GradedKind
    title: str
    max_points: float = Field(description="100 for quizzes (scores are percentages)")


class GradebookRow(BaseModel):
    user_id: uuid.UUID
    full_name: str
    email: str
    scores: list[float | None] = Field(
        description="One per entry of `items`, in that order: the best graded quiz score in percent, "
        "or the graded assignment points; null: nothing graded yet"
    )


class Gradebook(BaseModel):
    course_id: uuid.UUID
    items: list[GradebookItem]
    students: list[GradebookRow]

    @classmethod
    def of(cls, book: CourseGradebook) -> Gradebook:
        """Constructed without validation: the service typed every value, and a gradebook has
        a row per student."""
        items = [
            GradebookItem.model_construct(id=i.id, kind=i.kind, title=i.title, max_points=i.max_points)
            for i in book.items
        ]
        students = [
            GradebookRow.model_construct(
                user_id=s.user_id, full_name=s.full_name, email=s.email, scores=s.scores
            )
            for s in book.students
        ]
        return cls.model_construct(course_id=book.course_id, items=items, students=students)


class MyGradeItem(BaseModel):
    kind: GradedKind
    id: uuid.UUID = Field(description="The quiz's or the assignment's id")
    title: str
    status: GradeStatus = Field(
        description="Quizzes: `graded` (an attempt is graded), `pending_review` (text answers await "
        "review), `in_progress` (attempted, no result yet: an open or expired attempt), `not_started`. "
        "Assignments: `graded`, `submitted`, `not_started`."
    )
    score_percent: float | None = Field(None, description="Set once graded")
    points: float | None = Field(None, description="Set once graded")
    max_points: float
    passed: bool | None = Field(None, description="Graded quizzes only; assignments have no pass mark")
    feedback: str | None = Field(None, description="The grader's feedback on a graded assignment")
    graded_at: datetime | None = None


class MyGrades(BaseModel):
    course_id: uuid.UUID
    items: list[MyGradeItem] = Field(description="Quizzes in lesson order, then assignments by due date")
    overall_percent: float | None = Field(
        description="Points-weighted over graded items (sum of points over sum of max_points); null "
        "while nothing is graded"
    )

    @classmethod
    def of(cls, grades: CourseGrades) -> MyGrades:
        return cls(
            course_id=grades.course_id,
            items=[MyGradeItem.model_validate(item, from_attributes=True) for item in grades.items],
            overall_percent=grades.overall_percent,
        )
