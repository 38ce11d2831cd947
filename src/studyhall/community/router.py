"""HTTP routes of the community: posts, comments, collections. Every route needs a signed-in
caller; who may do what is said on each route and decided in `community.access` and
`community.policies`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Response, status

from studyhall.community import chat, collections, service
from studyhall.community.models import PostKind
from studyhall.community.schemas import (
    ChatMessageCreate,
    ChatMessageRead,
    ChatPage,
    CollectionCreate,
    CollectionEntryRead,
    CollectionPostAdd,
    CollectionRead,
    CollectionReplace,
    CollectionUpdate,
    CommentCreate,
    CommentRead,
    CommentUpdate,
    PostCreate,
    PostRead,
    PostReplace,
    PostUpdate,
)
from studyhall.core.deps import SessionDep, SettingsDep
from studyhall.core.openapi import Responses, error_responses
from studyhall.core.pagination import Page, PageParamsDep
from studyhall.core.routing import DomainRouter
from studyhall.identity.deps import CurrentUser, RateLimiterDep

router = DomainRouter(tags=["community"])

_POST_NOT_FOUND = (
    "`post_not_found`: no such post, a deleted one, or one in a course the caller is not a member of"
)
_COMMENT_NOT_FOUND = "`comment_not_found`: no such comment on a post the caller may see"
_COLLECTION_NOT_FOUND = "`collection_not_found`: no collection of the caller's has this id"
READ_POST: Responses = error_responses(401, 404, 422, status_404=_POST_NOT_FOUND)
WRITE_POST: Responses = error_responses(
    401,
    403,
    404,
    422,
    status_403="`cannot_edit_post`: the caller sees the post but is not its author, course staff or an admin",
    status_404=_POST_NOT_FOUND,
)
COLLECTION: Responses = error_responses(401, 404, 422, status_404=_COLLECTION_NOT_FOUND)


# ---------------------------------------------------------------- posts


@router.get("/posts", summary="Posts", responses=error_responses(401, 422))
async def list_posts(
    user: CurrentUser,
    session: SessionDep,
    params: PageParamsDep,
    course_id: Annotated[uuid.UUID | None, Query(description="Only this course's posts")] = None,
    author_id: Annotated[uuid.UUID | None, Query(description="Only this author's posts")] = None,
    kind: Annotated[PostKind | None, Query(description="Only discussions, or only announcements")] = None,
) -> Page[PostRead]:
    """Signed in. The posts the caller may see, newest first: open posts, and the posts of
    the courses they are a member of (enrolled, or staff). Another course's posts are never
    listed; filtering by such a course lists nothing."""
    items, total = await service.list_posts(
        session, user, params, course_id=course_id, author_id=author_id, kind=kind
    )
    return Page[PostRead].of([PostRead.model_validate(item) for item in items], total, params)


@router.post(
    "/posts",
    status_code=status.HTTP_201_CREATED,
    summary="Write a post",
    responses=error_responses(
        401,
        403,
        404,
        422,
        429,
        status_403=(
            "`not_enrolled`: the caller sees the course but is not a member; "
            "`announcement_staff_only`: announcements are for the course's staff"
        ),
        status_404="`course_not_found`: no such course the caller may see",
        status_422="`validation_error`, or `announcement_needs_course`: an announcement without `course_id`",
    ),
)
async def create_post(
    body: PostCreate,
    user: CurrentUser,
    session: SessionDep,
    limiter: RateLimiterDep,
    settings: SettingsDep,
) -> PostRead:
    """Without `course_id`, open to every signed-in user; with one, for the course's members
    (enrolled students and staff). `kind: announcement` is for course staff and admins, in a
    course, and notifies its students. Emits `post.created` (and `announcement.posted`).
    Rate limited per user (`RATE_LIMIT_POSTS`)."""
    await limiter.hit("post-user", settings.rate_limit_posts, str(user.id))
    return PostRead.model_validate(await service.create_post(session, user, body))


@router.get("/posts/{post_id}", summary="A post", responses=READ_POST)
async def get_post(post_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> PostRead:
    """Whoever may see it: anyone signed in for an open post, the course's members for a
    course post."""
    return PostRead.model_validate(await service.get_post(session, user, post_id))


@router.put("/posts/{post_id}", summary="Rewrite a post", responses=WRITE_POST)
async def replace_post(
    post_id: uuid.UUID, body: PostReplace, user: CurrentUser, session: SessionDep
) -> PostRead:
    """The author, the course's staff and admins set `title` and `body`; the course and kind
    stay. Emits `post.updated`."""
    return PostRead.model_validate(await service.update_post(session, user, post_id, body.model_dump()))


@router.patch("/posts/{post_id}", summary="Edit a post", responses=WRITE_POST)
async def update_post(
    post_id: uuid.UUID, body: PostUpdate, user: CurrentUser, session: SessionDep
) -> PostRead:
    """As PUT, changing only the fields given. Emits `post.updated`."""
    changes = body.model_dump(exclude_unset=True)
    return PostRead.model_validate(await service.update_post(session, user, post_id, changes))


@router.delete(
    "/posts/{post_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a post", responses=WRITE_POST
)
async def delete_post(post_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Response:
    """Soft delete by the author, the course's staff or an admin: the post leaves every read
    (lists, collections, its comments) until restored. Emits `post.deleted`."""
    await service.delete_post(session, user, post_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/posts/{post_id}/restore",
    summary="Restore a deleted post",
    responses={
        **WRITE_POST,
        **error_responses(409, status_409="`not_deleted`: the post is not deleted"),
    },
)
async def restore_post(post_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> PostRead:
    """The same people who may delete it; anyone else does not find a deleted post. Emits
    `post.restored`."""
    return PostRead.model_validate(await service.restore_post(session, user, post_id))


# ---------------------------------------------------------------- comments


@router.get("/posts/{post_id}/comments", summary="A post's comments", responses=READ_POST)
async def list_comments(
    post_id: uuid.UUID, user: CurrentUser, session: SessionDep, params: PageParamsDep
) -> Page[CommentRead]:
    """Whoever may see the post. Comments and replies, oldest first; a reply carries its
    `parent_id`. Deleted comments are left out."""
    items, total = await service.list_comments(session, user, post_id, params)
    return Page[CommentRead].of([CommentRead.model_validate(item) for item in items], total, params)


@router.post(
    "/posts/{post_id}/comments",
    status_code=status.HTTP_201_CREATED,
    summary="Comment on a post",
    responses=error_responses(
        401,
        404,
        422,
        429,
        status_404=_POST_NOT_FOUND,
        status_422=(
            "`validation_error`; `comment_parent_invalid`: `parent_id` is not a live comment of "
            "this post; `comment_nesting_too_deep`: `parent_id` is itself a reply"
        ),
    ),
)
async def create_comment(
    post_id: uuid.UUID,
    body: CommentCreate,
    user: CurrentUser,
    session: SessionDep,
    limiter: RateLimiterDep,
    settings: SettingsDep,
) -> CommentRead:
    """Whoever may see the post. Replies go one level deep. Emits `comment.created`. Rate
    limited per user (`RATE_LIMIT_COMMENTS`)."""
    await limiter.hit("comment-user", settings.rate_limit_comments, str(user.id))
    return CommentRead.model_validate(await service.create_comment(session, user, post_id, body))


_COMMENT_WRITE: Responses = error_responses(
    401,
    403,
    404,
    422,
    status_403="`cannot_edit_comment`: the caller sees the comment but may not change it",
    status_404=_COMMENT_NOT_FOUND,
)


@router.patch("/comments/{comment_id}", summary="Edit a comment", responses=_COMMENT_WRITE)
async def update_comment(
    comment_id: uuid.UUID, body: CommentUpdate, user: CurrentUser, session: SessionDep
) -> CommentRead:
    """Its author only."""
    return CommentRead.model_validate(await service.update_comment(session, user, comment_id, body.body))


@router.delete(
    "/comments/{comment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a comment",
    responses=_COMMENT_WRITE,
)
async def delete_comment(comment_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Response:
    """Soft delete by its author, the staff of the post's course, or an admin (moderation)."""
    await service.delete_comment(session, user, comment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------- collections


@router.get("/collections", summary="My collections", responses=error_responses(401, 422))
async def list_collections(
    user: CurrentUser, session: SessionDep, params: PageParamsDep
) -> Page[CollectionRead]:
    """The caller's own collections, newest first."""
    items, total = await collections.list_collections(session, user, params)
    return Page[CollectionRead].of([CollectionRead.model_validate(item) for item in items], total, params)


@router.post(
    "/collections",
    status_code=status.HTTP_201_CREATED,
    summary="Create a collection",
    responses=error_responses(401, 422),
)
async def create_collection(body: CollectionCreate, user: CurrentUser, session: SessionDep) -> CollectionRead:
    """Signed in; the collection is the caller's and nobody else's."""
    return CollectionRead.model_validate(await collections.create_collection(session, user, body))


@router.get("/collections/{collection_id}", summary="A collection", responses=COLLECTION)
async def get_collection(collection_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> CollectionRead:
    """Its owner only; anyone else (admins too) gets `404`."""
    return CollectionRead.model_validate(await collections.get_collection(session, user, collection_id))


@router.put("/collections/{collection_id}", summary="Rewrite a collection", responses=COLLECTION)
async def replace_collection(
    collection_id: uuid.UUID, body: CollectionReplace, user: CurrentUser, session: SessionDep
) -> CollectionRead:
    """Its owner: sets `name` and `description` (omitted: cleared)."""
    changes = body.model_dump()
    return CollectionRead.model_validate(
        await collections.update_collection(session, user, collection_id, changes)
    )


@router.patch("/collections/{collection_id}", summary="Edit a collection", responses=COLLECTION)
async def update_collection(
    collection_id: uuid.UUID, body: CollectionUpdate, user: CurrentUser, session: SessionDep
) -> CollectionRead:
    """Its owner: changes the fields given."""
    changes = body.model_dump(exclude_unset=True)
    return CollectionRead.model_validate(
        await collections.update_collection(session, user, collection_id, changes)
    )


@router.delete(
    "/collections/{collection_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a collection",
    responses=COLLECTION,
)
async def delete_collection(collection_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Response:
    """Its owner. The posts in it are not touched."""
    await collections.delete_collection(session, user, collection_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/collections/{collection_id}/posts", summary="A collection's posts", responses=COLLECTION)
async def collection_posts(
    collection_id: uuid.UUID, user: CurrentUser, session: SessionDep, params: PageParamsDep
) -> Page[PostRead]:
    """Its owner: the posts in it that the owner may still see (not deleted, not in a course
    they left or that became invisible to them), most recently added first."""
    items, total = await collections.collection_posts(session, user, collection_id, params)
    return Page[PostRead].of([PostRead.model_validate(item) for item in items], total, params)


@router.post(
    "/collections/{collection_id}/posts",
    status_code=status.HTTP_201_CREATED,
    summary="Add a post to a collection",
    responses={
        200: {"description": "The post was in the collection already", "model": CollectionEntryRead},
        **error_responses(
            401,
            404,
            422,
            status_404=f"{_COLLECTION_NOT_FOUND}; {_POST_NOT_FOUND}",
        ),
    },
)
async def add_collection_post(
    collection_id: uuid.UUID,
    body: CollectionPostAdd,
    user: CurrentUser,
    session: SessionDep,
    response: Response,
) -> CollectionEntryRead:
    """Its owner adds a post they may see. Idempotent: `201` when this request added it,
    `200` with the same entry (and its first `added_at`) when it was there already."""
    entry, added = await collections.add_post(session, user, collection_id, body.post_id)
    if not added:
        response.status_code = status.HTTP_200_OK
    return CollectionEntryRead.model_validate(entry)


@router.delete(
    "/collections/{collection_id}/posts/{post_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a post from a collection",
    responses=error_responses(
        401,
        404,
        422,
        status_404=f"{_COLLECTION_NOT_FOUND}; `post_not_in_collection`: the post is not in it",
    ),
)
async def remove_collection_post(
    collection_id: uuid.UUID, post_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> Response:
    """Its owner, also for a post they can no longer see."""
    await collections.remove_post(session, user, collection_id, post_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------- course chat

_CHAT_COURSE = error_responses(
    401,
    403,
    404,
    422,
    status_403="`not_enrolled`: the caller sees the course but is not a member",
    status_404="`course_not_found`: no such course the caller may see",
)


@router.get("/courses/{course_id}/chat", summary="Course chat history", responses=_CHAT_COURSE)
async def list_chat(
    course_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    before: Annotated[uuid.UUID | None, Query(description="A message id: only older messages")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> ChatPage:
    """The course's members (enrolled students, staff). Live messages, newest first; the next
    page is `?before=<next_before>`."""
    items, next_before = await chat.list_messages(session, user, course_id, before=before, limit=limit)
    return ChatPage(items=[ChatMessageRead.model_validate(item) for item in items], next_before=next_before)


@router.post(
    "/courses/{course_id}/chat",
    status_code=status.HTTP_201_CREATED,
    summary="Send a chat message",
    responses=error_responses(
        401,
        403,
        404,
        422,
        429,
        status_403="`not_enrolled`: the caller sees the course but is not a member",
        status_404="`course_not_found`: no such course the caller may see",
        status_422="`validation_error`, or `chat_message_invalid`: not 1 to 2000 characters once trimmed",
    ),
)
async def send_chat(
    course_id: uuid.UUID,
    body: ChatMessageCreate,
    user: CurrentUser,
    session: SessionDep,
    limiter: RateLimiterDep,
    settings: SettingsDep,
) -> ChatMessageRead:
    """The course's members. Pushed as `chat.message` to the course's chat sockets once
    stored. Rate limited per user (`RATE_LIMIT_CHAT`, shared with the socket)."""
    message = await chat.send_message(
        session, user, course_id, body.body, limiter=limiter, rate_limit=settings.rate_limit_chat
    )
    return ChatMessageRead.model_validate(message)


@router.delete(
    "/chat/{message_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a chat message",
    responses=error_responses(
        401,
        403,
        404,
        422,
        status_403="`cannot_delete_chat_message`: the caller is neither its author nor course staff",
        status_404="`chat_message_not_found`: no such live message in a course the caller is a member of",
    ),
)
async def delete_chat(message_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Response:
    """The author or the course's staff: a soft delete, pushed as `chat.deleted`."""
    await chat.delete_message(session, user, message_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
