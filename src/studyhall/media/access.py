"""Who may see and who may delete a file, decided in one place.

A file inherits access from what it is attached to (`file_attachments`):

- attached to a lesson (`lesson_material`): whoever may open the lesson, i.e. course staff,
  enrolled students, and anyone who sees the course for a preview lesson
  (`catalog.access.lesson_access`);
- attached to an assignment (`lesson_material`): course staff and enrolled students
  (`catalog.access.course_access`);
- attached to a submission (`submission`): its student (the uploader) and the course's staff;
- an avatar (`avatar`): any signed-in user.

Whatever it is attached to, the uploader always sees their own file, pending or ready, and
admins see every file. Nobody else sees a pending file or an unattached one. Everything inside
a course follows the course-visibility rule at the time of the request: a course unpublished,
archived or deleted afterwards takes its students' access to its files with it, while its
staff keep theirs. A deleted file is nobody's (`404`), until it is restored.

Deleting: the uploader, the staff of a course the file is attached to, and admins.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.catalog.access import CourseRole, course_access, lesson_access, load_course, locked
from studyhall.catalog.errors import CourseNotFound, LessonNotFound
from studyhall.identity.models import User
from studyhall.media.errors import CannotDeleteFile, FileNotFound
from studyhall.media.models import AttachmentKind, File, FileAttachment
from studyhall.media.policies import is_uploader, sees_every_file


async def load_file(
    session: AsyncSession, file_id: uuid.UUID, *, for_update: bool = False, deleted: bool = False
) -> File:
    """A live file (`deleted`: a deleted one); `FileNotFound` otherwise. Nothing decided yet.
    `for_update` locks the row, so that concurrent changes of one file run one after the
    other and a row deleted meanwhile is not found."""
    statement = select(File).where(
        File.id == file_id, File.deleted_at.is_not(None) if deleted else File.deleted_at.is_(None)
    )
    file = await session.scalar(locked(statement) if for_update else statement)
    if file is None:
        raise FileNotFound()
    return file


async def attachments_of(session: AsyncSession, file_id: uuid.UUID) -> Sequence[FileAttachment]:
    return (await session.scalars(select(FileAttachment).where(FileAttachment.file_id == file_id))).all()


async def may_see(session: AsyncSession, user: User | None, file: File) -> bool:
    """The rule of this module's docstring."""
    if is_uploader(user, file) or sees_every_file(user):
        return True
    if not file.is_ready:
        return False
    for attachment in await attachments_of(session, file.id):
        if await _opens(session, user, attachment):
            return True
    return False


async def _opens(session: AsyncSession, user: User | None, attachment: FileAttachment) -> bool:
    """Whether the caller may see what the file is attached to, as far as its file goes."""
    kind, course_id = attachment.kind, attachment.course_id
    if kind == AttachmentKind.AVATAR:
        return user is not None
    try:
        if kind == AttachmentKind.LESSON:
            access = await lesson_access(session, user, attachment.target_id)
            return access.course.role is not CourseRole.VIEWER or access.lesson.is_preview
        if course_id is None:
            return False
        if kind == AttachmentKind.ASSIGNMENT:
            return (await course_access(session, user, course_id)).role is not CourseRole.VIEWER
        if kind == AttachmentKind.SUBMISSION:  # its student is the uploader
            return (await load_course(session, course_id)).is_staff(user)
    except (LessonNotFound, CourseNotFound):
        return False
    return False


async def visible_file(
    session: AsyncSession, user: User | None, file_id: uuid.UUID, *, for_update: bool = False
) -> File:
    """A live file the caller may see; `FileNotFound` for anyone else."""
    file = await load_file(session, file_id, for_update=for_update)
    if not await may_see(session, user, file):
        raise FileNotFound()
    return file


async def may_delete(session: AsyncSession, user: User, file: File) -> bool:
    if is_uploader(user, file) or sees_every_file(user):
        return True
    for attachment in await attachments_of(session, file.id):
        if attachment.course_id is None:
            continue
        try:
            if (await load_course(session, attachment.course_id)).is_staff(user):
                return True
        except CourseNotFound:
            continue
    return False


async def deletable_file(session: AsyncSession, user: User, file_id: uuid.UUID) -> File:
    """A live file the caller may delete, locked; `404` when they may not see it, `403`
    `cannot_delete_file` when they see it but may not delete it."""
    file = await visible_file(session, user, file_id, for_update=True)
    if not await may_delete(session, user, file):
        raise CannotDeleteFile()
    return file
