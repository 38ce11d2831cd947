"""Assessment's domain errors. The access errors of every route inside a course (`NotEnrolled`,
`NotCourseStaff`) are the catalog's: import them from `catalog.errors`, never redefine them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from studyhall.assessment.schemas import AttemptStarted
from studyhall.core.errors import Conflict, InvalidInput, NotFound

if TYPE_CHECKING:
    from studyhall.assessment.models import QuizAttempt


class QuizNotFound(NotFound):
    code = "quiz_not_found"
    title = "Quiz not found"


class AttemptNotFound(NotFound):
    code = "attempt_not_found"
    title = "Quiz attempt not found"


class AssignmentNotFound(NotFound):
    code = "assignment_not_found"
    title = "Assignment not found"


class SubmissionNotFound(NotFound):
    code = "submission_not_found"
    title = "Submission not found"


class NotAQuizLesson(Conflict):
    code = "lesson_not_quiz"
    title = "The lesson is not of type quiz"


class QuizAttemptsExhausted(Conflict):
    code = "quiz_attempts_exhausted"
    title = "No attempts left"


class AttemptInProgress(Conflict):
    """Carries the open attempt, when known, under `attempt` (as starting it answered)."""

    code = "attempt_in_progress"
    title = "An attempt is already in progress"

    def __init__(self, open_attempt: QuizAttempt | None = None) -> None:
        if open_attempt is None:
            super().__init__()
        else:
            super().__init__(attempt=AttemptStarted.of(open_attempt).model_dump(mode="json"))


class AttemptExpired(Conflict):
    code = "attempt_expired"
    title = "The attempt's time is up"


class AttemptAlreadySubmitted(Conflict):
    code = "attempt_already_submitted"
    title = "The attempt was already submitted"


class AttemptNotReviewable(Conflict):
    code = "attempt_not_reviewable"
    title = "The attempt has no answers to grade"


class InvalidAnswers(InvalidInput):
    code = "invalid_answers"
    title = "Answers do not match the attempt's questions"


class InvalidGrade(InvalidInput):
    code = "invalid_grade"
    title = "Grade does not fit the question or assignment"


class SubmissionAlreadyGraded(Conflict):
    code = "submission_already_graded"
    title = "The submission was graded and can no longer be replaced"


class LessonNotInCourse(InvalidInput):
    code = "lesson_not_in_course"
    title = "The lesson does not belong to this course"
