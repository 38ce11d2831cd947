"""Personal collections of posts. A collection is its owner's alone: anyone else, admins
included, gets `collection_not_found`, so ids cannot be probed.

Adding a post is idempotent and safe under concurrent requests: the (collection, post) primary
key decides, through `INSERT ... ON CONFLICT DO NOTHING`, and the caller learns whether this
request added it. A collection lists only the posts its owner may still see.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.catalog.access import locked
from studyhall.community.access import post_access, visible_posts
from studyhall.community.errors import CollectionNotFound, PostNotInCollection
from studyhall.community.models import Collection, CollectionPost, Post
from studyhall.community.schemas import CollectionCreate
from studyhall.core.clock import utcnow
from studyhall.core.db import dialect_insert
from studyhall.core.pagination import PageParams, fetch_page
from studyhall.identity.models import User


async def list_collections(
    session: AsyncSession, user: User, params: PageParams
) -> tuple[list[Collection], int]:
    """The caller's collections, newest first."""
    statement = (
        select(Collection)
        .where(Collection.owner_id == user.id, Collection.deleted_at.is_(None))
        .order_by(Collection.created_at.desc(), Collection.id.desc())
    )
    return await fetch_page(session, statement, params)


async def create_collection(session: AsyncSession, user: User, data: CollectionCreate) -> Collection:
    collection = Collection(owner_id=user.id, name=data.name, description=data.description)
    session.add(collection)
    await session.flush()
    return collection


async def get_collection(
    session: AsyncSession, user: User, collection_id: uuid.UUID, *, for_update: bool = False
) -> Collection:
    """The caller's own live collection; `collection_not_found` for anyone else's."""
    statement = select(Collection).where(
        Collection.id == collection_id, Collection.owner_id == user.id, Collection.deleted_at.is_(None)
    )
    collection = await session.scalar(locked(statement) if for_update else statement)
    if collection is None:
        raise CollectionNotFound()
    return collection


async def update_collection(
    session: AsyncSession, user: User, collection_id: uuid.UUID, changes: dict[str, Any]
) -> Collection:
    """`changes`: the fields to set (`name`, `description`), as the request gave them."""
    collection = await get_collection(session, user, collection_id, for_update=True)
    if changes.get("name") is not None:
        collection.name = changes["name"]
    if "description" in changes:
        collection.description = changes["description"]
    collection.updated_at = utcnow()
    await session.flush()
    return collection


async def delete_collection(session: AsyncSession, user: User, collection_id: uuid.UUID) -> None:
    """Flags the collection; its entries stay with it."""
    collection = await get_collection(session, user, collection_id, for_update=True)
    collection.deleted_at = utcnow()
    await session.flush()


async def add_post(
    session: AsyncSession, user: User, collection_id: uuid.UUID, post_id: uuid.UUID
) -> tuple[CollectionPost, bool]:
    """(the entry, whether this request added it). The post must be one the caller may see."""
    collection = await get_collection(session, user, collection_id)
    await post_access(session, user, post_id)
    added = await session.scalar(
        dialect_insert(session, CollectionPost)
        .values(collection_id=collection.id, post_id=post_id, added_at=utcnow())
        .on_conflict_do_nothing(index_elements=["collection_id", "post_id"])
        .returning(CollectionPost.post_id)
    )
    entry = await session.scalar(
        select(CollectionPost)
        .where(CollectionPost.collection_id == collection.id, CollectionPost.post_id == post_id)
        .execution_options(populate_existing=True)
    )
    assert entry is not None  # inserted now, or by an earlier request that committed
    return entry, added is not None


async def remove_post(
    session: AsyncSession, user: User, collection_id: uuid.UUID, post_id: uuid.UUID
) -> None:
    """Removes the entry, whether or not the post is still visible; `post_not_in_collection`
    when there is none (also for the second of two concurrent removals)."""
    collection = await get_collection(session, user, collection_id)
    removed = await session.scalar(
        delete(CollectionPost)
        .where(CollectionPost.collection_id == collection.id, CollectionPost.post_id == post_id)
        .returning(CollectionPost.post_id)
        .execution_options(synchronize_session=False)
    )
    if removed is None:
        raise PostNotInCollection()


async def collection_posts(
    session: AsyncSession, user: User, collection_id: uuid.UUID, params: PageParams
) -> tuple[list[Post], int]:
    """The collection's posts the owner may still see, most recently added first."""
    collection = await get_collection(session, user, collection_id)
    statement = (
        select(Post)
        .join(CollectionPost, CollectionPost.post_id == Post.id)
        .where(CollectionPost.collection_id == collection.id, visible_posts(user))
        .order_by(CollectionPost.added_at.desc(), Post.id)
    )
    return await fetch_page(session, statement, params)
