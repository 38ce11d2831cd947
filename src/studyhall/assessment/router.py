"""HTTP routes of quizzes, attempts, assignments, submissions and the gradebook."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import Query, Response, status
from fastapi.responses import StreamingResponse

from studyhall.assessment import assignments, gradebook, service
from studyhall.assessment.schemas import (
    AssignmentIn,
    AssignmentRead,
    AssignmentUpdate,
    AttemptGrade,
    AttemptRead,
    AttemptResult,
    AttemptStarted,
    AttemptSubmit,
    AttemptSummary,
    Gradebook,
    MyGrades,
    QuizForStaff,
    QuizForStudent,
    QuizIn,
    QuizRead,
    SubmissionGrade,
    SubmissionIn,
    SubmissionRead,
)
from studyhall.catalog.access import CourseRole
from studyhall.core.deps import SessionDep, writes_on_read
from studyhall.core.openapi import error_responses
from studyhall.core.pagination import Page, PageParamsDep
from studyhall.core.routing import DomainRouter
from studyhall.identity.deps import CurrentUser

router = DomainRouter(tags=["assessment"])

_AUTH = error_responses(401)
_NOT_FOUND = error_responses(404, status_404="Not found, or not visible to the caller")
_CONFLICT = error_responses(409, status_409="The resource's state does not allow this")
_COMMON = error_responses(401, 403, 404, status_403="Not course staff, or not enrolled")


@router.put(
    "/lessons/{lesson_id}/quiz",
    response_model=QuizForStaff,
    summary="Create or replace the quiz of a quiz lesson",
    description="Course staff only. Replacing a quiz never changes past attempts: each attempt keeps "
    "the questions it asked. `201` when created, `200` when replaced; `409 lesson_not_quiz` for other "
    "lesson types.",
    responses={**_COMMON, **_CONFLICT, 201: {"model": QuizForStaff, "description": "Created"}},
)
async def put_quiz(
    lesson_id: uuid.UUID, body: QuizIn, session: SessionDep, user: CurrentUser, response: Response
) -> QuizForStaff | QuizForStudent:
    quiz, created = await service.put_quiz(session, user, lesson_id, body)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return QuizForStaff.of(quiz)


@router.get(
    "/lessons/{lesson_id}/quiz",
    response_model=QuizRead,
    summary="The quiz of a lesson",
    description="Staff see the answer key (`view: staff`); enrolled students get the questions "
    "without `is_correct` (`view: student`).",
    responses=_COMMON,
)
async def get_quiz(
    lesson_id: uuid.UUID, session: SessionDep, user: CurrentUser
) -> QuizForStaff | QuizForStudent:
    quiz, role = await service.get_quiz(session, user, lesson_id)
    return (QuizForStaff if role == CourseRole.STAFF else QuizForStudent).of(quiz)


@router.post(
    "/quizzes/{quiz_id}/attempts",
    response_model=AttemptStarted,
    status_code=status.HTTP_201_CREATED,
    summary="Start an attempt",
    description="Enrolled students only. `409 quiz_attempts_exhausted` when no attempts are left; "
    "`409 attempt_in_progress` (with the open attempt under `attempt`) when one is open.",
    responses={**_COMMON, **_CONFLICT},
)
async def start_attempt(quiz_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> AttemptStarted:
    attempt = await service.start_attempt(session, user, quiz_id)
    return AttemptStarted.of(attempt)


@router.get(
    "/quizzes/{quiz_id}/attempts",
    response_model=Page[AttemptSummary],
    summary="Attempts at a quiz",
    description="Staff see every attempt, students their own; newest first. `answers_shown` tells "
    "whether the caller may see the answer key (the quiz's `show_answers`).",
    responses=_COMMON,
)
@writes_on_read  # submits attempts whose time ran out
async def list_attempts(
    quiz_id: uuid.UUID, session: SessionDep, user: CurrentUser, page: PageParamsDep
) -> Page[AttemptSummary]:
    views, total = await service.list_attempts(session, user, quiz_id, page)
    return Page.of([AttemptSummary.of(view) for view in views], total, page)


@router.get(
    "/attempts/{attempt_id}",
    response_model=AttemptRead,
    summary="One attempt",
    description="Its student and the course staff. Questions never carry the answer key; results "
    "appear once submitted, with the key (`points_awarded`, `is_correct`, `correct_option_ids`) for "
    "staff and, as the quiz's `show_answers` allows, for the student (`answers_shown`).",
    responses={**_AUTH, **_NOT_FOUND},
)
@writes_on_read  # submits the attempt if its time ran out
async def get_attempt(attempt_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> AttemptRead:
    return AttemptRead.of(await service.get_attempt(session, user, attempt_id))


@router.post(
    "/attempts/{attempt_id}/submit",
    response_model=AttemptResult,
    summary="Submit answers",
    description="The attempt's student only. Choice questions are scored all or nothing; text answers "
    "leave the attempt `pending_review`. Past `deadline_at` + 30 s: `409 attempt_expired`; a second "
    "submit: `409 attempt_already_submitted`; answers naming unknown questions or options: "
    "`422 invalid_answers` (with `errors` like a validation error). A pass completes the quiz lesson. "
    "Results carry the answer key only as the quiz's `show_answers` allows (`answers_shown`). Emits "
    "`quiz.attempt_submitted`.",
    responses={**_AUTH, **_NOT_FOUND, **_CONFLICT, **error_responses(422)},
)
async def submit_attempt(
    attempt_id: uuid.UUID, body: AttemptSubmit, session: SessionDep, user: CurrentUser
) -> AttemptResult:
    return AttemptResult.of(await service.submit_attempt(session, user, attempt_id, dict(body.answers)))


@router.post(
    "/attempts/{attempt_id}/grade",
    response_model=AttemptResult,
    summary="Grade text answers",
    description="Course staff. Body: `{question_id: points}` for answered text questions. Re-scores "
    "the attempt; when nothing awaits review it is `graded`, and a pass completes the lesson. Emits "
    "`quiz.graded`.",
    responses={**_COMMON, **_CONFLICT, **error_responses(422)},
)
async def grade_attempt(
    attempt_id: uuid.UUID, body: AttemptGrade, session: SessionDep, user: CurrentUser
) -> AttemptResult:
    return AttemptResult.of(await service.grade_attempt(session, user, attempt_id, body.root))


# -- assignments -----------------------------------------------------------------------


@router.post(
    "/courses/{course_id}/assignments",
    response_model=AssignmentRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create an assignment",
    description="Course staff. `lesson_id`, when given, must be a lesson of this course "
    "(`422 lesson_not_in_course`).",
    responses={**_COMMON, **error_responses(422)},
)
async def create_assignment(
    course_id: uuid.UUID, body: AssignmentIn, session: SessionDep, user: CurrentUser
) -> AssignmentRead:
    return AssignmentRead.model_validate(await assignments.create_assignment(session, user, course_id, body))


@router.get(
    "/courses/{course_id}/assignments",
    response_model=Page[AssignmentRead],
    summary="A course's assignments",
    description="Enrolled students and course staff; by due date.",
    responses=_COMMON,
)
async def list_assignments(
    course_id: uuid.UUID, session: SessionDep, user: CurrentUser, page: PageParamsDep
) -> Page[AssignmentRead]:
    rows, total = await assignments.list_assignments(session, user, course_id, page)
    return Page.of([AssignmentRead.model_validate(a) for a in rows], total, page)


@router.get(
    "/assignments/{assignment_id}", response_model=AssignmentRead, summary="One assignment", responses=_COMMON
)
async def get_assignment(assignment_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> AssignmentRead:
    return AssignmentRead.model_validate(await assignments.get_assignment(session, user, assignment_id))


@router.patch(
    "/assignments/{assignment_id}",
    response_model=AssignmentRead,
    summary="Edit an assignment",
    responses={**_COMMON, **error_responses(422)},
)
async def update_assignment(
    assignment_id: uuid.UUID, body: AssignmentUpdate, session: SessionDep, user: CurrentUser
) -> AssignmentRead:
    return AssignmentRead.model_validate(
        await assignments.update_assignment(session, user, assignment_id, body)
    )


@router.delete(
    "/assignments/{assignment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an assignment (soft)",
    responses=_COMMON,
)
async def delete_assignment(assignment_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Response:
    await assignments.delete_assignment(session, user, assignment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/assignments/{assignment_id}/submissions",
    response_model=SubmissionRead,
    summary="Submit (or resubmit) work",
    description="Enrolled students. Resubmitting replaces the earlier submission until it is graded "
    "(`409 submission_already_graded` after). `is_late` is set after `due_at`. `201` for the first "
    "submission, `200` for a replacement. Submitting completes the assignment lesson the assignment "
    "is linked to (`lesson_id`).",
    responses={**_COMMON, **_CONFLICT, 201: {"model": SubmissionRead, "description": "Created"}},
)
async def submit_work(
    assignment_id: uuid.UUID,
    body: SubmissionIn,
    session: SessionDep,
    user: CurrentUser,
    response: Response,
) -> SubmissionRead:
    submission, created = await assignments.submit(session, user, assignment_id, body)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return SubmissionRead.model_validate(submission)


@router.get(
    "/assignments/{assignment_id}/submissions",
    response_model=Page[SubmissionRead],
    summary="Submissions of an assignment",
    description="Staff see all; a student sees their own.",
    responses=_COMMON,
)
async def list_submissions(
    assignment_id: uuid.UUID, session: SessionDep, user: CurrentUser, page: PageParamsDep
) -> Page[SubmissionRead]:
    rows, total = await assignments.list_submissions(session, user, assignment_id, page)
    return Page.of([SubmissionRead.model_validate(s) for s in rows], total, page)


@router.post(
    "/submissions/{submission_id}/grade",
    response_model=SubmissionRead,
    summary="Grade a submission",
    description="Course staff. `points` may not exceed the assignment's `max_points` "
    "(`422 invalid_grade`). Notifies the student (`submission.graded`).",
    responses={**_COMMON, **error_responses(422)},
)
async def grade_submission(
    submission_id: uuid.UUID, body: SubmissionGrade, session: SessionDep, user: CurrentUser
) -> SubmissionRead:
    graded = await assignments.grade_submission(session, user, submission_id, body)
    return SubmissionRead.model_validate(graded)


@router.get(
    "/courses/{course_id}/gradebook",
    response_model=Gradebook,
    summary="The gradebook",
    description="Course staff, the organisation's principal and admins. Students × quizzes (best "
    "graded score, percent) and assignments (graded points); each student's `scores` follow the order of "
    "`items`. `?format=csv` streams a CSV file, one "
    "row per student, with spreadsheet formulas neutralised.",
    responses={**_COMMON, 200: {"content": {"text/csv": {}}}},
)
async def get_gradebook(
    course_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",
) -> Any:
    book = await gradebook.course_gradebook(session, user, course_id)
    if format == "csv":
        headers = {"Content-Disposition": f'attachment; filename="gradebook-{course_id}.csv"'}
        return StreamingResponse(
            gradebook.gradebook_csv(book), media_type="text/csv; charset=utf-8", headers=headers
        )
    # Serialised once by Pydantic's compiled serializer; `response_model` still documents it.
    return Response(Gradebook.of(book).model_dump_json(), media_type="application/json")


@router.get(
    "/courses/{course_id}/grades/me",
    response_model=MyGrades,
    summary="My grades in a course",
    description="Enrolled students (`403 not_enrolled` for anyone else who can see the course, course "
    "staff included: they read the gradebook). Every quiz and assignment of the course with the "
    "caller's status and score: for a quiz the best graded attempt counts (as in the gradebook), else "
    "the latest awaiting review. `overall_percent` weighs graded items by their points (null while "
    "nothing is graded). Never shows answer keys or anyone else's work.",
    responses=_COMMON,
)
async def my_grades(course_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> MyGrades:
    return MyGrades.of(await gradebook.my_grades(session, user, course_id))
