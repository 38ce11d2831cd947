"""Notification endpoints: the caller's notifications and their preferences."""

from __future__ import annotations

import uuid

from fastapi import Query

from studyhall.core.deps import SessionDep
from studyhall.core.openapi import error_responses
from studyhall.core.pagination import PageParamsDep
from studyhall.core.routing import DomainRouter
from studyhall.identity.deps import CurrentUser
from studyhall.notifications import service
from studyhall.notifications.schemas import (
    NotificationPage,
    NotificationPreferences,
    NotificationRead,
    ReadAllResult,
)

router = DomainRouter(tags=["notifications"])


@router.get(
    "/notifications",
    summary="My notifications",
    description=(
        "The caller's in-app notifications, newest first; `unread=true` keeps the unread ones. "
        "`unread_count` counts all the caller's unread notifications, whatever the filter and page."
    ),
    responses=error_responses(401, 422),
)
async def list_notifications(
    user: CurrentUser,
    session: SessionDep,
    params: PageParamsDep,
    unread: bool = Query(False, description="Only unread notifications"),
) -> NotificationPage:
    result = await service.list_notifications(session, user, params, unread_only=unread)
    return NotificationPage.of_list(result, params)


@router.post(
    "/notifications/read-all",
    summary="Mark all my notifications read",
    responses=error_responses(401),
)
async def mark_all_read(user: CurrentUser, session: SessionDep) -> ReadAllResult:
    return ReadAllResult(marked_read=await service.mark_all_read(session, user))


@router.post(
    "/notifications/{notification_id}/read",
    summary="Mark a notification read",
    description="Answers the notification. Marking it again keeps the time it was first read.",
    responses=error_responses(
        401, 404, 422, status_404="`notification_not_found`: no such notification of the caller's"
    ),
)
async def mark_read(notification_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> NotificationRead:
    return NotificationRead.model_validate(await service.mark_read(session, user, notification_id))


@router.get(
    "/me/notification-preferences",
    summary="My notification preferences",
    description="For every notification type, whether it reaches the caller by email and in the app.",
    responses=error_responses(401),
)
async def get_preferences(user: CurrentUser, session: SessionDep) -> NotificationPreferences:
    return NotificationPreferences.of(await service.get_preferences(session, user))


@router.put(
    "/me/notification-preferences",
    summary="Change my notification preferences",
    description=(
        "Replaces the settings of the types the body names (both `email` and `in_app` for each); "
        "the types it leaves out keep theirs. An unknown type is `422`. Answers every type."
    ),
    responses=error_responses(401, 422),
)
async def update_preferences(
    body: NotificationPreferences, user: CurrentUser, session: SessionDep
) -> NotificationPreferences:
    return NotificationPreferences.of(await service.update_preferences(session, user, body.changes()))
