"""Assignments and submissions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall import event_types
from studyhall.analytics import audit
from studyhall.assessment.access import assignment_access
from studyhall.assessment.completion import complete_activity_lesson
from studyhall.assessment.errors import (
    InvalidGrade,
    LessonNotInCourse,
    SubmissionAlreadyGraded,
    SubmissionNotFound,
)
from studyhall.assessment.models import Assignment, Submission, SubmissionStatus
from studyhall.assessment.schemas import AssignmentIn, AssignmentUpdate, SubmissionGrade, SubmissionIn
from studyhall.catalog.access import course_access, is_live_in_course, locked
from studyhall.catalog.models import Lesson, LessonType
from studyhall.core.clock import utcnow
from studyhall.core.events import emit
from studyhall.core.pagination import PageParams, fetch_page
from studyhall.identity.models import User
from studyhall.media.models import AttachmentKind, FilePurpose
from studyhall.media.service import attach_files, detach_all


async def _check_lesson(session: AsyncSession, course_id: uuid.UUID, lesson_id: uuid.UUID | None) -> None:
    if lesson_id is not None and not await is_live_in_course(session, Lesson, lesson_id, course_id):
        raise LessonNotInCourse()


async def create_assignment(
    session: AsyncSession, user: User, course_id: uuid.UUID, data: AssignmentIn
) -> Assignment:
    (await course_access(session, user, course_id)).require_staff()
    await _check_lesson(session, course_id, data.lesson_id)
    assignment = Assignment(
        course_id=course_id,
        author_id=user.id,
        **data.model_dump(exclude={"attachment_file_ids"}),
        attachment_file_ids=[str(file_id) for file_id in data.attachment_file_ids],
    )
    session.add(assignment)
    await session.flush()
    await _attach(session, user, assignment, data.attachment_file_ids)
    return assignment


async def _attach(
    session: AsyncSession, user: User, assignment: Assignment, file_ids: list[uuid.UUID]
) -> None:
    """The assignment's attachments: `lesson_material` files, checked and recorded by media."""
    await attach_files(
        session,
        user,
        file_ids,
        purpose=FilePurpose.LESSON_MATERIAL,
        kind=AttachmentKind.ASSIGNMENT,
        target_id=assignment.id,
        course_id=assignment.course_id,
    )


async def list_assignments(
    session: AsyncSession, user: User, course_id: uuid.UUID, params: PageParams
) -> tuple[list[Assignment], int]:
    (await course_access(session, user, course_id)).require_member()
    statement = (
        select(Assignment)
        .where(Assignment.course_id == course_id, Assignment.deleted_at.is_(None))
        .order_by(Assignment.due_at.is_(None), Assignment.due_at, Assignment.created_at)
    )
    return await fetch_page(session, statement, params)


async def get_assignment(session: AsyncSession, user: User, assignment_id: uuid.UUID) -> Assignment:
    access = await assignment_access(session, user, assignment_id)
    access.course.require_member()
    return access.assignment


async def update_assignment(
    session: AsyncSession, user: User, assignment_id: uuid.UUID, data: AssignmentUpdate
) -> Assignment:
    access = await assignment_access(session, user, assignment_id, for_update=True)
    access.course.require_staff()
    assignment = access.assignment
    changes = data.model_dump(exclude_unset=True)
    if "lesson_id" in changes:
        await _check_lesson(session, assignment.course_id, changes["lesson_id"])
    if "attachment_file_ids" in changes:
        file_ids = data.attachment_file_ids or []
        await _attach(session, user, assignment, file_ids)
        changes["attachment_file_ids"] = [str(file_id) for file_id in file_ids]
    for key, value in changes.items():
        setattr(assignment, key, value)
    await session.flush()
    return assignment


async def delete_assignment(session: AsyncSession, user: User, assignment_id: uuid.UUID) -> None:
    access = await assignment_access(session, user, assignment_id, for_update=True)
    access.course.require_staff()
    assignment = access.assignment
    assignment.deleted_at = utcnow()
    assignment.deletion_id = uuid.uuid4()
    await session.flush()
    # Assignments are not restored: their files are no longer shown through them.
    await detach_all(session, AttachmentKind.ASSIGNMENT, assignment.id)


async def _submission_of(
    session: AsyncSession, assignment_id: uuid.UUID, user_id: uuid.UUID
) -> Submission | None:
    return await session.scalar(
        locked(
            select(Submission).where(Submission.assignment_id == assignment_id, Submission.user_id == user_id)
        )
    )


async def submit(
    session: AsyncSession,
    user: User,
    assignment_id: uuid.UUID,
    data: SubmissionIn,
    *,
    now: datetime | None = None,
) -> tuple[Submission, bool]:
    """Submit or resubmit (replacing the earlier one) until graded; (submission, created).
    Submitting completes the assignment lesson the assignment is linked to."""
    now = now or utcnow()
    access = await assignment_access(session, user, assignment_id)
    access.course.require_student("Only enrolled students submit work")
    assignment = access.assignment
    fields = {
        "text": data.text,
        "file_ids": [str(file_id) for file_id in data.file_ids],
        "submitted_at": now,
        "is_late": assignment.due_at is not None and now > assignment.due_at,
    }
    submission, created = await _store_submission(session, assignment, user.id, fields)
    await attach_files(
        session,
        user,
        data.file_ids,
        purpose=FilePurpose.SUBMISSION,
        kind=AttachmentKind.SUBMISSION,
        target_id=submission.id,
        course_id=assignment.course_id,
    )
    if assignment.lesson_id is not None:
        await complete_activity_lesson(session, user.id, assignment.lesson_id, LessonType.ASSIGNMENT)
    return submission, created


async def _store_submission(
    session: AsyncSession, assignment: Assignment, user_id: uuid.UUID, fields: dict[str, Any]
) -> tuple[Submission, bool]:
    existing = await _submission_of(session, assignment.id, user_id)
    if existing is None:
        submission = Submission(
            assignment_id=assignment.id, user_id=user_id, course_id=assignment.course_id, **fields
        )
        try:
            async with session.begin_nested():
                session.add(submission)
        except IntegrityError:  # a concurrent first submission: replace it instead
            existing = await _submission_of(session, assignment.id, user_id)
            if existing is None:
                raise
        else:
            return submission, True
    if existing.status == SubmissionStatus.GRADED:
        raise SubmissionAlreadyGraded()
    for key, value in fields.items():
        setattr(existing, key, value)
    existing.revision += 1
    await session.flush()
    return existing, False


async def list_submissions(
    session: AsyncSession, user: User, assignment_id: uuid.UUID, params: PageParams
) -> tuple[list[Submission], int]:
    access = await assignment_access(session, user, assignment_id)
    access.course.require_member()
    statement = select(Submission).where(Submission.assignment_id == assignment_id)
    if not access.course.is_staff:
        statement = statement.where(Submission.user_id == user.id)
    return await fetch_page(session, statement.order_by(Submission.submitted_at.desc()), params)


async def grade_submission(
    session: AsyncSession,
    user: User,
    submission_id: uuid.UUID,
    data: SubmissionGrade,
    *,
    now: datetime | None = None,
) -> Submission:
    submission = await session.scalar(locked(select(Submission).where(Submission.id == submission_id)))
    if submission is None:
        raise SubmissionNotFound()
    access = await assignment_access(session, user, submission.assignment_id, not_found=SubmissionNotFound())
    access.course.require_staff()
    assignment = access.assignment
    if data.points > assignment.max_points:
        raise InvalidGrade(f"The assignment is worth at most {assignment.max_points} points")
    before = audit.snapshot(submission, ("points", "status"))
    submission.points = data.points
    submission.feedback = data.feedback
    submission.status = SubmissionStatus.GRADED
    submission.graded_at = now or utcnow()
    submission.grader_id = user.id
    audit.record(
        session,
        audit.SUBMISSION_GRADED,
        actor=user,
        resource_type="submission",
        resource_id=submission.id,
        organization_id=access.course.context.course.organization_id,
        changes=audit.changes_of(before, submission),
    )
    await session.flush()
    emit(
        session,
        event_types.SUBMISSION_GRADED,
        {
            "submission_id": submission.id,
            "assignment_id": assignment.id,
            "course_id": assignment.course_id,
            "user_id": submission.user_id,
            "points": submission.points,
            "max_points": assignment.max_points,
            "grader_id": user.id,
        },
    )
    return submission
