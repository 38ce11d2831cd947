"""The audit log: who did what, when, from where.

Services call `record(...)` in the transaction of the action they audit, so an action that
rolls back leaves no entry, and an entry never exists without its action. The request's
client address, user agent and id come from `core.request_context` (empty outside a
request). Changed fields are `{field: [old, new]}`; any field whose name says it holds a
secret (passwords, hashes, tokens, keys) is redacted here, centrally, whatever the caller
passed. Entries are never changed; `delete_expired` (the retention job) is the only delete.
Every action name is listed in docs/audit.md.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Final

from sqlalchemy import Select, false, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from studyhall.analytics.models import AuditLogEntry
from studyhall.core.clock import utcnow
from studyhall.core.db import delete_in_batches
from studyhall.core.pagination import PageParams, fetch_page
from studyhall.core.request_context import current_request
from studyhall.identity.models import Role, User

# -- actions: `<resource>.<verb>` ----------------------------------------------------------------

AUTH_LOGIN_FAILED: Final = "auth.login_failed"
ADMIN_SIGNED_IN: Final = "admin.signed_in"
USER_ROLE_CHANGED: Final = "user.role_changed"
USER_ORGANIZATION_CHANGED: Final = "user.organization_changed"
USER_UPDATED: Final = "user.updated"
USER_ACTIVATED: Final = "user.activated"
USER_DEACTIVATED: Final = "user.deactivated"
USER_DELETED: Final = "user.deleted"
USER_RESTORED: Final = "user.restored"
USER_PASSWORD_CHANGED: Final = "user.password_changed"  # noqa: S105 (an action name)
USER_PASSWORD_RESET: Final = "user.password_reset"  # noqa: S105 (an action name)
ORGANIZATION_CREATED: Final = "organization.created"
ORGANIZATION_UPDATED: Final = "organization.updated"
ORGANIZATION_MEMBER_ADDED: Final = "organization.member_added"
ORGANIZATION_MEMBER_REMOVED: Final = "organization.member_removed"
COURSE_UPDATED: Final = "course.updated"
COURSE_PUBLISHED: Final = "course.published"
COURSE_UNPUBLISHED: Final = "course.unpublished"
COURSE_ARCHIVED: Final = "course.archived"
COURSE_DELETED: Final = "course.deleted"
COURSE_RESTORED: Final = "course.restored"
MODULE_DELETED: Final = "module.deleted"
MODULE_RESTORED: Final = "module.restored"
LESSON_UPDATED: Final = "lesson.updated"
LESSON_DELETED: Final = "lesson.deleted"
LESSON_RESTORED: Final = "lesson.restored"
POST_DELETED: Final = "post.deleted"
POST_RESTORED: Final = "post.restored"
ATTEMPT_GRADED: Final = "attempt.graded"
SUBMISSION_GRADED: Final = "submission.graded"
CERTIFICATE_REVOKED: Final = "certificate.revoked"
EVENT_RETRIED: Final = "event.retried"

#: Every action, for the docs' table (tests/analytics check that each one is documented).
ACTIONS: Final = frozenset(
    value
    for name, value in dict(globals()).items()
    if name.isupper() and isinstance(value, str) and "." in value
)

# -- what an entry may hold ------------------------------------------------------------------------

REDACTED: Final = "[redacted]"
#: Field names whose values are never written: passwords, hashes, tokens, keys, secrets.
_SECRET_FIELD = re.compile(r"password|hash|token|secret|private|api_?key|signature|verifier|nonce", re.I)
_EMAIL_MAX = 320


def is_secret_field(name: str) -> bool:
    return _SECRET_FIELD.search(name) is not None


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Enum):
        return _jsonable(value.value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    return str(value)


def redact(changes: Mapping[str, Any]) -> dict[str, list[Any]]:
    """`{field: [old, new]}` ready to store: JSON values, secret fields' values replaced."""
    clean: dict[str, list[Any]] = {}
    for field, (old, new) in changes.items():
        clean[field] = [REDACTED, REDACTED] if is_secret_field(field) else [_jsonable(old), _jsonable(new)]
    return clean


def snapshot(row: object, fields: Iterable[str]) -> dict[str, Any]:
    """The current values of `fields` of `row`, to compare with after a change."""
    return {field: getattr(row, field) for field in fields}


def changes_of(before: Mapping[str, Any], row: object) -> dict[str, list[Any]]:
    """`{field: [old, new]}` for each field of `before` whose value on `row` differs now."""
    return {field: [old, getattr(row, field)] for field, old in before.items() if getattr(row, field) != old}


# -- writing ------------------------------------------------------------------------------------


def record(
    session: AsyncSession,
    action: str,
    *,
    actor: User | None,
    resource_type: str,
    resource_id: uuid.UUID | str | None,
    organization_id: uuid.UUID | None = None,
    changes: Mapping[str, Any] | None = None,
    actor_email: str | None = None,
) -> AuditLogEntry:
    """Adds the entry of `action` to the caller's transaction (flushed with it)."""
    assert action in ACTIONS, f"undocumented audit action {action!r}"
    request = current_request()
    email = actor_email if actor_email is not None else (actor.email if actor is not None else None)
    entry = AuditLogEntry(
        id=uuid.uuid4(),
        occurred_at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor_email=email[:_EMAIL_MAX] if email else None,
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id) if resource_id is not None else None,
        organization_id=organization_id,
        changes=redact(changes or {}),
        ip=request.ip,
        user_agent=request.user_agent,
        request_id=request.request_id,
    )
    session.add(entry)
    return entry


def record_user_change(
    session: AsyncSession,
    action: str,
    actor: User | None,
    user: User,
    changes: Mapping[str, Any] | None = None,
) -> AuditLogEntry:
    """An action on a user account (resource `user`, in the user's organisation)."""
    return record(
        session,
        action,
        actor=actor,
        resource_type="user",
        resource_id=user.id,
        organization_id=user.organization_id,
        changes=changes,
    )


# -- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditFilters:
    actor_id: uuid.UUID | None = None
    action: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def audit_query(actor: User, filters: AuditFilters) -> Select[Any]:
    """Newest first. Admins read every entry; a principal those of their organisation."""
    statement = select(AuditLogEntry).order_by(AuditLogEntry.occurred_at.desc(), AuditLogEntry.id.desc())
    if actor.role != Role.ADMIN:
        if actor.role != Role.PRINCIPAL or actor.organization_id is None:
            return statement.where(false())
        statement = statement.where(AuditLogEntry.organization_id == actor.organization_id)
    if filters.actor_id is not None:
        statement = statement.where(AuditLogEntry.actor_id == filters.actor_id)
    if filters.action is not None:
        statement = statement.where(AuditLogEntry.action == filters.action)
    if filters.resource_type is not None:
        statement = statement.where(AuditLogEntry.resource_type == filters.resource_type)
    if filters.resource_id is not None:
        statement = statement.where(AuditLogEntry.resource_id == filters.resource_id)
    if filters.since is not None:
        statement = statement.where(AuditLogEntry.occurred_at >= filters.since)
    if filters.until is not None:
        statement = statement.where(AuditLogEntry.occurred_at < filters.until)
    return statement


async def list_entries(
    session: AsyncSession, actor: User, params: PageParams, filters: AuditFilters
) -> tuple[list[AuditLogEntry], int]:
    return await fetch_page(session, audit_query(actor, filters), params)


# -- retention ----------------------------------------------------------------------------------


async def delete_expired(sessionmaker: async_sessionmaker[AsyncSession], retention_days: int) -> int:
    """Deletes entries older than `retention_days`; how many were deleted."""
    cutoff = utcnow() - timedelta(days=retention_days)
    expired = select(AuditLogEntry.id).where(AuditLogEntry.occurred_at < cutoff)
    return await delete_in_batches(sessionmaker, expired, [AuditLogEntry.id])
