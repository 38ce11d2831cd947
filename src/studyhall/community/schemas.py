"""Request and response bodies of posts, comments and collections."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from studyhall.community.models import PostKind

TITLE_MAX_LENGTH = 200
POST_BODY_MAX_LENGTH = 20_000
COMMENT_BODY_MAX_LENGTH = 5_000
COLLECTION_NAME_MAX_LENGTH = 100
COLLECTION_DESCRIPTION_MAX_LENGTH = 2_000

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX_LENGTH)]
PostBody = Annotated[
    str,
    StringConstraints(min_length=1, max_length=POST_BODY_MAX_LENGTH),
    Field(description="Markdown; rendered to sanitised HTML in `body_html`"),
]
CommentBody = Annotated[
    str,
    StringConstraints(min_length=1, max_length=COMMENT_BODY_MAX_LENGTH),
    Field(description="Markdown; rendered to sanitised HTML in `body_html`"),
]
CollectionName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=COLLECTION_NAME_MAX_LENGTH)
]
CollectionDescription = Annotated[str, StringConstraints(max_length=COLLECTION_DESCRIPTION_MAX_LENGTH)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PostCreate(_Input):
    title: Title
    body: PostBody
    course_id: uuid.UUID | None = Field(None, description="The course it is posted in; none: open to all")
    kind: PostKind = Field(PostKind.DISCUSSION, description="`announcement`: course staff, in a course")


class PostReplace(_Input):
    """PUT: the whole editable post. Its course and kind are fixed when it is created."""

    title: Title
    body: PostBody


class PostUpdate(_Input):
    """PATCH: only the fields given change."""

    title: Title | None = None
    body: PostBody | None = None


class PostRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    course_id: uuid.UUID | None
    author_id: uuid.UUID
    kind: PostKind
    title: str
    body: str = Field(description="Markdown, as written")
    body_html: str = Field(description="The body rendered to sanitised HTML")
    created_at: datetime
    updated_at: datetime


class CommentCreate(_Input):
    body: CommentBody
    parent_id: uuid.UUID | None = Field(
        None, description="The comment this replies to: a top-level comment of the same post"
    )


class CommentUpdate(_Input):
    body: CommentBody


class CommentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    post_id: uuid.UUID
    author_id: uuid.UUID
    parent_id: uuid.UUID | None
    body: str
    body_html: str
    created_at: datetime
    updated_at: datetime


class CollectionCreate(_Input):
    name: CollectionName
    description: CollectionDescription | None = None


class CollectionReplace(CollectionCreate):
    """PUT: the whole collection (an omitted description clears it)."""


class CollectionUpdate(_Input):
    """PATCH: only the fields given change (`description: null` clears it)."""

    name: CollectionName | None = None
    description: CollectionDescription | None = None


class CollectionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime


class CollectionPostAdd(_Input):
    post_id: uuid.UUID


class CollectionEntryRead(BaseModel):
    """A post in a collection."""

    model_config = ConfigDict(from_attributes=True)

    collection_id: uuid.UUID
    post_id: uuid.UUID
    added_at: datetime


class ChatMessageCreate(_Input):
    body: str = Field(description="Plain text, 1 to 2000 characters once trimmed")


class ChatMessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    course_id: uuid.UUID
    author_id: uuid.UUID
    body: str = Field(description="Plain text, as written (trimmed): clients show it as text, never as HTML")
    created_at: datetime


class ChatPage(BaseModel):
    items: list[ChatMessageRead] = Field(description="Newest first")
    next_before: uuid.UUID | None = Field(
        description="Pass as `before` for the next (older) page; null on the last page"
    )
