"""`GET /audit-logs`: the audit log, read-only (there is no route that changes an entry)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query
from pydantic import AwareDatetime

from studyhall.analytics import audit
from studyhall.analytics.schemas import AuditLogRead
from studyhall.core.deps import SessionDep
from studyhall.core.openapi import error_responses
from studyhall.core.pagination import Page, PageParamsDep
from studyhall.core.routing import DomainRouter
from studyhall.identity.deps import AdminOrPrincipalUser

router = DomainRouter(prefix="/audit-logs", tags=["audit log"])


@router.get(
    "",
    summary="The audit log",
    description=(
        "Privileged and security-relevant actions, newest first (docs/audit.md lists every "
        "`action`). Admins read every entry; a principal the entries of their organisation. "
        "Filters: `actor_id`, `action`, `resource_type`, `resource_id`, `since` (inclusive) "
        "and `until` (exclusive), timestamps with a time zone."
    ),
    responses=error_responses(401, 422, 403, status_403="`insufficient_role`: admins and principals only"),
)
async def list_audit_logs(
    actor: AdminOrPrincipalUser,
    session: SessionDep,
    page: PageParamsDep,
    actor_id: uuid.UUID | None = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    resource_type: Annotated[str | None, Query(max_length=40)] = None,
    resource_id: Annotated[str | None, Query(max_length=64)] = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
) -> Page[AuditLogRead]:
    filters = audit.AuditFilters(
        actor_id=actor_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        since=since,
        until=until,
    )
    rows, total = await audit.list_entries(session, actor, page, filters)
    return Page[AuditLogRead].of([AuditLogRead.model_validate(row) for row in rows], total, page)
