"""The panel's views. Reads go through sqladmin on read-only sessions; every change goes
through the domain service the API uses (its rules, events and audit entries), acting as the
signed-in admin, in a unit of work of its own. A rule the service refuses (the last admin, a
course without lessons, ...) shows its message on the form and changes nothing.

Fields that hold secrets (password hashes, token hashes, verification codes) are never
listed, shown, exported or editable.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel
from sqladmin import ModelView, action, expose
from sqladmin.filters import BooleanFilter, StaticValuesFilter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from wtforms import SelectField

from studyhall.admin.security import panel_services, signed_in_admin
from studyhall.analytics import audit
from studyhall.analytics.models import AuditLogEntry
from studyhall.assessment import assignments as assessment_assignments
from studyhall.assessment.models import Quiz, QuizAttempt, Submission
from studyhall.assessment.schemas import SubmissionGrade
from studyhall.catalog import service as catalog
from studyhall.catalog.models import Course, CourseStatus, Lesson, LessonType, Visibility
from studyhall.catalog.schemas import CourseUpdate, LessonUpdate
from studyhall.certificates import service as certificates
from studyhall.certificates.models import Certificate
from studyhall.community import service as community
from studyhall.community.models import Post
from studyhall.core.broker import requeue_dead
from studyhall.core.delivery import EventFailure
from studyhall.core.errors import DomainError
from studyhall.core.events import OutboxEvent
from studyhall.identity import service as identity
from studyhall.identity.models import Organization, Role, User
from studyhall.identity.schemas import OrganizationCreate, OrganizationUpdate, UserUpdate
from studyhall.learning.models import Enrollment

#: A change made as the signed-in admin in the unit of work it is given.
Change = Callable[[AsyncSession, User], Awaitable[Any]]
#: A domain service acting on one row as an admin: `(session, admin, row_id)`.
RowAction = Callable[[AsyncSession, User, uuid.UUID], Awaitable[Any]]
#: A domain service editing one row: `(session, admin, row_id, changes)`.
RowEdit = Callable[[AsyncSession, User, uuid.UUID, Any], Awaitable[Any]]


def _choices(values: Sequence[str]) -> list[tuple[str, str]]:
    return [(value, value) for value in values]


class PanelView(ModelView):
    """Read-only unless a view says otherwise; exports and imports off (they would bypass
    the field rules below and the domain services)."""

    can_create: ClassVar[bool] = False
    can_edit: ClassVar[bool] = False
    can_delete: ClassVar[bool] = False
    can_export: ClassVar[bool] = False
    can_import: ClassVar[bool] = False
    page_size: ClassVar[int] = 25
    #: The service an edit goes through, given the changed fields validated into
    #: `update_schema` (or as a dict when None).
    update_service: ClassVar[RowEdit | None] = None
    update_schema: ClassVar[type[BaseModel] | None] = None
    #: The service a delete goes through (a soft delete, as the API's).
    delete_service: ClassVar[RowAction | None] = None

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> Any:
        edit, schema = type(self).update_service, type(self).update_schema
        if edit is None:
            raise NotImplementedError(f"{type(self).__name__} has no update_service")
        changes = self.changed_fields(await self._current(pk), data)
        body = schema(**changes) if schema is not None else changes
        return await self.change(request, lambda session, admin: edit(session, admin, uuid.UUID(pk), body))

    async def delete_model(self, request: Request, pk: Any) -> None:
        remove = type(self).delete_service
        if remove is None:
            raise NotImplementedError(f"{type(self).__name__} has no delete_service")
        await self.change(request, lambda session, admin: remove(session, admin, uuid.UUID(str(pk))))

    async def change(self, request: Request, change: Change) -> Any:
        """Runs `change` as the signed-in admin in one unit of work: committed when it
        returns, rolled back (nothing changed, no audit entry) when it raises."""
        async with panel_services(request).database.session_scope() as session:
            return await change(session, signed_in_admin(request))

    @staticmethod
    def changed_fields(row: object, data: Mapping[str, Any]) -> dict[str, Any]:
        """The submitted fields whose value differs from the row's (empty text is None)."""
        changed = {}
        for field, value in data.items():
            value = None if value == "" else value
            if getattr(row, field) != value:
                changed[field] = value
        return changed

    def back_to_list(self, request: Request, error: str | None = None) -> Response:
        """The list, showing `error` (a rule that refused the action) when given."""
        url = request.url_for("admin:list", identity=self.identity)
        return RedirectResponse(url.include_query_params(error=error) if error else url, status_code=302)

    async def on_each(
        self, request: Request, change: Callable[[AsyncSession, User, uuid.UUID], Awaitable[Any]]
    ) -> Response:
        """An action over the selected rows (`?pks=`), each in its own unit of work."""
        for pk in [pk for pk in request.query_params.get("pks", "").split(",") if pk]:
            row_id = uuid.UUID(pk)

            async def change_row(session: AsyncSession, admin: User, row_id: uuid.UUID = row_id) -> Any:
                return await change(session, admin, row_id)

            try:
                await self.change(request, change_row)
            except DomainError as exc:
                return self.back_to_list(request, error=exc.detail)
        return self.back_to_list(request)

    async def _current(self, pk: str) -> Any:
        return await self.get_object_for_delete(pk)


class RestorableView(PanelView):
    """A view of soft-deleted rows, with the action that restores the selected ones."""

    restore_service: ClassVar[RowAction]

    @action(name="restore", label="Restore")
    async def restore(self, request: Request) -> Response:
        return await self.on_each(request, type(self).restore_service)


class UserAdmin(RestorableView, model=User):
    name_plural = "Users"
    icon = "fa-solid fa-user"
    can_edit = True
    can_delete = True
    column_list: ClassVar[Any] = [
        User.email,
        User.full_name,
        User.role,
        User.organization_id,
        User.is_active,
        User.deleted_at,
        User.created_at,
    ]
    column_details_exclude_list: ClassVar[Any] = [User.password_hash, User.token_generation]
    column_searchable_list: ClassVar[Any] = [User.email, User.full_name]
    column_filters: ClassVar[Any] = [
        StaticValuesFilter(User.role, _choices([role.value for role in Role])),
        BooleanFilter(User.is_active),
    ]
    column_default_sort: ClassVar[Any] = [(User.created_at, True)]
    form_columns: ClassVar[Any] = [User.full_name, User.role, User.is_active]
    form_overrides: ClassVar[Any] = {"role": SelectField}
    form_args: ClassVar[Any] = {"role": {"choices": _choices([role.value for role in Role])}}
    update_service = identity.update_user
    update_schema = UserUpdate
    delete_service = identity.delete_user
    restore_service = identity.restore_user


class OrganizationAdmin(PanelView, model=Organization):
    name_plural = "Organizations"
    icon = "fa-solid fa-building"
    can_create = True
    can_edit = True
    column_list: ClassVar[Any] = [Organization.name, Organization.slug, Organization.created_at]
    column_searchable_list: ClassVar[Any] = [Organization.name, Organization.slug]
    column_default_sort: ClassVar[Any] = [(Organization.name, False)]
    form_columns: ClassVar[Any] = [Organization.name, Organization.slug]

    update_service = identity.update_organization
    update_schema = OrganizationUpdate

    async def insert_model(self, request: Request, data: dict[str, Any]) -> Any:
        body = OrganizationCreate(name=data["name"], slug=data["slug"])
        return await self.change(
            request, lambda session, admin: identity.create_organization(session, admin, body)
        )


class CourseAdmin(RestorableView, model=Course):
    name_plural = "Courses"
    icon = "fa-solid fa-book"
    can_edit = True
    can_delete = True
    column_list: ClassVar[Any] = [
        Course.title,
        Course.slug,
        Course.status,
        Course.visibility,
        Course.organization_id,
        Course.owner_id,
        Course.lesson_count,
        Course.deleted_at,
    ]
    column_searchable_list: ClassVar[Any] = [Course.title, Course.slug]
    column_filters: ClassVar[Any] = [
        StaticValuesFilter(Course.status, _choices([status.value for status in CourseStatus])),
        StaticValuesFilter(Course.visibility, _choices([value.value for value in Visibility])),
    ]
    column_default_sort: ClassVar[Any] = [(Course.created_at, True)]
    form_columns: ClassVar[Any] = [Course.title, Course.subtitle, Course.category, Course.price_cents]

    update_service = catalog.update_course
    update_schema = CourseUpdate
    delete_service = catalog.delete_course
    restore_service = catalog.restore_course

    @action(name="publish", label="Publish")
    async def publish(self, request: Request) -> Response:
        return await self._set_status(request, CourseStatus.PUBLISHED)

    @action(name="unpublish", label="Unpublish")
    async def unpublish(self, request: Request) -> Response:
        return await self._set_status(request, CourseStatus.DRAFT)

    @action(name="archive", label="Archive")
    async def archive(self, request: Request) -> Response:
        return await self._set_status(request, CourseStatus.ARCHIVED)

    async def _set_status(self, request: Request, status: CourseStatus) -> Response:
        return await self.on_each(
            request,
            lambda session, admin, course_id: catalog.set_course_status(session, admin, course_id, status),
        )


class LessonAdmin(RestorableView, model=Lesson):
    name_plural = "Lessons"
    icon = "fa-solid fa-file-lines"
    can_edit = True
    can_delete = True
    column_list: ClassVar[Any] = [
        Lesson.title,
        Lesson.type,
        Lesson.course_id,
        Lesson.position,
        Lesson.is_preview,
        Lesson.deleted_at,
    ]
    column_searchable_list: ClassVar[Any] = [Lesson.title]
    column_filters: ClassVar[Any] = [
        StaticValuesFilter(Lesson.type, _choices([value.value for value in LessonType])),
        BooleanFilter(Lesson.is_preview),
    ]
    form_columns: ClassVar[Any] = [Lesson.title, Lesson.duration_minutes, Lesson.is_preview]
    update_service = catalog.update_lesson
    update_schema = LessonUpdate
    delete_service = catalog.delete_lesson
    restore_service = catalog.restore_lesson


class EnrollmentAdmin(PanelView, model=Enrollment):
    name_plural = "Enrollments"
    icon = "fa-solid fa-user-graduate"
    column_list: ClassVar[Any] = [
        Enrollment.user_id,
        Enrollment.course_id,
        Enrollment.status,
        Enrollment.enrolled_at,
        Enrollment.completed_at,
    ]
    column_searchable_list: ClassVar[Any] = [Enrollment.status]
    column_filters: ClassVar[Any] = [
        StaticValuesFilter(Enrollment.status, _choices(["active", "unenrolled"]))
    ]
    column_default_sort: ClassVar[Any] = [(Enrollment.enrolled_at, True)]


class QuizAdmin(PanelView, model=Quiz):
    name_plural = "Quizzes"
    icon = "fa-solid fa-list-check"
    column_list: ClassVar[Any] = [
        Quiz.title,
        Quiz.course_id,
        Quiz.lesson_id,
        Quiz.passing_score,
        Quiz.max_attempts,
    ]
    column_searchable_list: ClassVar[Any] = [Quiz.title]
    column_filters: ClassVar[Any] = [BooleanFilter(Quiz.shuffle_questions)]


class QuizAttemptAdmin(PanelView, model=QuizAttempt):
    name_plural = "Quiz attempts"
    icon = "fa-solid fa-pen"
    column_list: ClassVar[Any] = [
        QuizAttempt.quiz_id,
        QuizAttempt.user_id,
        QuizAttempt.number,
        QuizAttempt.status,
        QuizAttempt.score_percent,
        QuizAttempt.passed,
        QuizAttempt.submitted_at,
    ]
    column_searchable_list: ClassVar[Any] = [QuizAttempt.status]
    column_filters: ClassVar[Any] = [
        StaticValuesFilter(
            QuizAttempt.status, _choices(["in_progress", "pending_review", "graded", "expired"])
        ),
        BooleanFilter(QuizAttempt.passed),
    ]
    column_default_sort: ClassVar[Any] = [(QuizAttempt.started_at, True)]


class SubmissionAdmin(PanelView, model=Submission):
    """Editing a submission grades it (`grade_submission`: points within the assignment's
    maximum, the student notified)."""

    name_plural = "Submissions"
    icon = "fa-solid fa-inbox"
    can_edit = True
    column_list: ClassVar[Any] = [
        Submission.assignment_id,
        Submission.user_id,
        Submission.status,
        Submission.points,
        Submission.is_late,
        Submission.submitted_at,
    ]
    column_searchable_list: ClassVar[Any] = [Submission.status]
    column_filters: ClassVar[Any] = [
        StaticValuesFilter(Submission.status, _choices(["submitted", "graded"])),
        BooleanFilter(Submission.is_late),
    ]
    form_columns: ClassVar[Any] = [Submission.points, Submission.feedback]

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> Any:
        grade = SubmissionGrade(points=data["points"], feedback=data.get("feedback") or "")
        return await self.change(
            request,
            lambda session, admin: assessment_assignments.grade_submission(
                session, admin, uuid.UUID(pk), grade
            ),
        )


class CertificateAdmin(PanelView, model=Certificate):
    """Editing a certificate revokes it with the reason given (`certificates.service.revoke`)."""

    name_plural = "Certificates"
    icon = "fa-solid fa-certificate"
    can_edit = True
    column_list: ClassVar[Any] = [
        Certificate.student_name,
        Certificate.course_title,
        Certificate.issued_at,
        Certificate.revoked_at,
    ]
    column_details_exclude_list: ClassVar[Any] = [Certificate.verification_code]
    column_searchable_list: ClassVar[Any] = [Certificate.student_name, Certificate.course_title]
    column_default_sort: ClassVar[Any] = [(Certificate.issued_at, True)]
    form_columns: ClassVar[Any] = [Certificate.revocation_reason]
    form_args: ClassVar[Any] = {"revocation_reason": {"label": "Revoke, with this reason"}}

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> Any:
        reason = str(data.get("revocation_reason") or "").strip() or "Revoked by an administrator"
        revoked = await self.change(
            request, lambda session, admin: certificates.revoke(session, admin, uuid.UUID(pk), reason)
        )
        return revoked.certificate


class PostAdmin(RestorableView, model=Post):
    name_plural = "Posts"
    icon = "fa-solid fa-comments"
    can_edit = True
    can_delete = True
    column_list: ClassVar[Any] = [
        Post.title,
        Post.kind,
        Post.course_id,
        Post.author_id,
        Post.created_at,
        Post.deleted_at,
    ]
    column_details_exclude_list: ClassVar[Any] = [Post.body_html]
    column_searchable_list: ClassVar[Any] = [Post.title]
    column_filters: ClassVar[Any] = [
        StaticValuesFilter(Post.kind, _choices(["discussion", "question", "announcement"]))
    ]
    column_default_sort: ClassVar[Any] = [(Post.created_at, True)]
    form_columns: ClassVar[Any] = [Post.title, Post.body]
    update_service = community.update_post
    delete_service = community.delete_post
    restore_service = community.restore_post


class OutboxAdmin(PanelView, model=OutboxEvent):
    name = "Outbox event"
    name_plural = "Outbox"
    icon = "fa-solid fa-paper-plane"
    column_list: ClassVar[Any] = [
        OutboxEvent.event_type,
        OutboxEvent.status,
        OutboxEvent.attempts,
        OutboxEvent.available_at,
        OutboxEvent.created_at,
    ]
    column_searchable_list: ClassVar[Any] = [OutboxEvent.event_type]
    column_filters: ClassVar[Any] = [
        StaticValuesFilter(
            OutboxEvent.status, _choices(["pending", "processing", "processed", "relayed", "dead"])
        )
    ]
    column_default_sort: ClassVar[Any] = [(OutboxEvent.created_at, True)]


class DeadLetterAdmin(PanelView, model=EventFailure):
    """The handlers that gave up on an event. Retrying gives them a fresh round of attempts
    through `core.broker.requeue_dead`, the path of `studyhall events retry`."""

    name = "Dead event"
    name_plural = "Dead events"
    icon = "fa-solid fa-skull"
    column_list: ClassVar[Any] = [
        EventFailure.event_type,
        EventFailure.handler,
        EventFailure.attempts,
        EventFailure.last_error,
        EventFailure.dead_at,
    ]
    column_searchable_list: ClassVar[Any] = [EventFailure.event_type, EventFailure.handler]
    column_default_sort: ClassVar[Any] = [(EventFailure.dead_at, True)]

    def list_query(self, request: Request) -> Any:
        return super().list_query(request).where(EventFailure.dead_at.is_not(None))

    def count_query(self, request: Request) -> Any:
        return super().count_query(request).where(EventFailure.dead_at.is_not(None))

    @action(name="retry", label="Retry", confirmation_message="Retry the selected events?")
    async def retry(self, request: Request) -> Response:
        """A GET (sqladmin's actions are links): it shows a form that POSTs, with the CSRF
        token, to `retry-selected`."""
        pks = request.query_params.get("pks", "")
        url = request.url_for("admin:view-event-failure-retry_selected").include_query_params(pks=pks)
        return await self._admin_ref.templates.TemplateResponse(
            request, "sqladmin/retry.html", {"model_view": self, "action_url": str(url), "pks": pks}
        )

    @expose("/retry-selected", methods=["POST"])
    async def retry_selected(self, request: Request) -> Response:
        services = panel_services(request)
        event_ids = await self._event_ids(request)
        if not event_ids:
            return self.back_to_list(request)
        requeued = await requeue_dead(
            services.database.sessionmaker,
            event_ids,
            request.app.state.broker,
            in_transaction=lambda session, requeued: self._record_retries(
                session, signed_in_admin(request), requeued
            ),
        )
        del requeued
        return self.back_to_list(request)

    @staticmethod
    async def _event_ids(request: Request) -> list[uuid.UUID]:
        """The events of the selected rows (`<event id>;<handler>`, sqladmin's composite keys):
        retrying an event retries each of its dead handlers, as `studyhall events retry` does."""
        pks = [pk for pk in request.query_params.get("pks", "").split(",") if pk]
        return sorted({uuid.UUID(pk.split(";", 1)[0]) for pk in pks})

    @staticmethod
    async def _record_retries(
        session: AsyncSession, admin: User, requeued: Mapping[uuid.UUID, list[str]]
    ) -> None:
        for event_id, handlers in requeued.items():
            audit.record(
                session,
                audit.EVENT_RETRIED,
                actor=admin,
                resource_type="event",
                resource_id=event_id,
                changes={"dead_handlers": [sorted(handlers), []]},
            )


class AuditLogAdmin(PanelView, model=AuditLogEntry):
    """Read only: no view or route changes or deletes an entry."""

    name = "Audit entry"
    name_plural = "Audit log"
    icon = "fa-solid fa-scroll"
    column_list: ClassVar[Any] = [
        AuditLogEntry.occurred_at,
        AuditLogEntry.action,
        AuditLogEntry.actor_email,
        AuditLogEntry.resource_type,
        AuditLogEntry.resource_id,
        AuditLogEntry.ip,
    ]
    column_searchable_list: ClassVar[Any] = [
        AuditLogEntry.action,
        AuditLogEntry.actor_email,
        AuditLogEntry.resource_id,
    ]
    column_filters: ClassVar[Any] = [
        StaticValuesFilter(AuditLogEntry.action, _choices(sorted(audit.ACTIONS))),
        StaticValuesFilter(
            AuditLogEntry.resource_type,
            _choices(sorted({a.split(".")[0] for a in audit.ACTIONS} | {"attempt"})),
        ),
    ]
    column_default_sort: ClassVar[Any] = [(AuditLogEntry.occurred_at, True)]


VIEWS: tuple[type[PanelView], ...] = (
    UserAdmin,
    OrganizationAdmin,
    CourseAdmin,
    LessonAdmin,
    EnrollmentAdmin,
    QuizAdmin,
    QuizAttemptAdmin,
    SubmissionAdmin,
    CertificateAdmin,
    PostAdmin,
    OutboxAdmin,
    DeadLetterAdmin,
    AuditLogAdmin,
)
