"""Request and response models of the notifications API."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, RootModel, StrictBool

from studyhall.core.pagination import Page, PageParams
from studyhall.notifications.models import NotificationType
from studyhall.notifications.service import Channels, NotificationList


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    type: str = Field(description="What it is about, e.g. `submission.graded`")
    title: str
    body: str
    data: dict[str, Any] = Field(
        description="Ids of what it is about (`course_id`, `attempt_id`, ...) and `url`, the page to open"
    )
    created_at: datetime
    read_at: datetime | None = Field(description="When it was first marked read; null while unread")


class NotificationPage(Page[NotificationRead]):
    unread_count: int = Field(
        ge=0, description="The caller's unread notifications, whatever the filter and page"
    )

    @classmethod
    def of_list(cls, result: NotificationList, params: PageParams) -> Self:
        return cls(
            items=[NotificationRead.model_validate(item) for item in result.items],
            total=result.total,
            limit=params.limit,
            offset=params.offset,
            unread_count=result.unread_count,
        )


class ReadAllResult(BaseModel):
    marked_read: int = Field(ge=0, description="How many unread notifications were marked read")


class ChannelPreferences(BaseModel):
    """Where one type of notification reaches the user."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    email: StrictBool
    in_app: StrictBool

    def channels(self) -> Channels:
        return Channels(email=self.email, in_app=self.in_app)


class NotificationPreferences(RootModel[dict[NotificationType, ChannelPreferences]]):
    """`{"<notification type>": {"email": bool, "in_app": bool}}`. Answers list every type;
    a `PUT` names the types it changes."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"submission.graded": {"email": False, "in_app": True}}]}
    )

    @classmethod
    def of(cls, preferences: Mapping[NotificationType, Channels]) -> Self:
        return cls({kind: ChannelPreferences.model_validate(c) for kind, c in preferences.items()})

    def changes(self) -> dict[NotificationType, Channels]:
        return {kind: preference.channels() for kind, preference in self.root.items()}
