"""People's public cards (id, name, bio, role): what anyone may see of a course's instructors.

A catalog page names the same few instructors on every request, so their cards are cached in
the `"people"` namespace of the response cache, one entry per set of users. Every write that
changes a public field calls `public_card_changed`, which invalidates the namespace (see
`core.cache`); names change rarely, so nothing finer is needed.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from pydantic_core import from_json, to_json
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core.cache import invalidate_on_commit, session_cache
from studyhall.identity.models import User

NAMESPACE = "people"

#: Built once: a statement per call costs more than the lookup it makes.
_CARDS = select(User.id, User.full_name, User.bio, User.role).where(
    User.id.in_(bindparam("user_ids", expanding=True))
)


@dataclass(frozen=True, slots=True)
class PublicCard:
    id: uuid.UUID
    full_name: str
    bio: str | None
    role: str


async def public_cards(
    session: AsyncSession, user_ids: Iterable[uuid.UUID]
) -> Mapping[uuid.UUID, PublicCard]:
    """The cards of `user_ids` that exist (deleted users too: instructors stay named), by id."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    cache = session_cache(session)
    key = f"cards:{hashlib.sha256(b''.join(user_id.bytes for user_id in wanted)).hexdigest()[:32]}"
    found = await cache.lookup(NAMESPACE, key)
    if found.value is not None:
        return _decoded(found.value)
    rows = (await session.execute(_CARDS, {"user_ids": wanted})).all()
    cards = {row.id: PublicCard(row.id, row.full_name, row.bio, row.role) for row in rows}
    await cache.store(NAMESPACE, key, _encoded(cards), found.generation)
    return cards


async def public_card_changed(session: AsyncSession) -> None:
    """Call from every write that changes a user's name, bio or role."""
    await invalidate_on_commit(session, NAMESPACE)


def _encoded(cards: dict[uuid.UUID, PublicCard]) -> bytes:
    return to_json([[card.id, card.full_name, card.bio, card.role] for card in cards.values()])


@functools.lru_cache(maxsize=256)
def _decoded(value: bytes) -> Mapping[uuid.UUID, PublicCard]:
    """Remembered by value: a page's entry is read on every request, and its ids cost more
    to parse than the statement they save."""
    cards = (PublicCard(uuid.UUID(id_text), name, bio, role) for id_text, name, bio, role in from_json(value))
    return MappingProxyType({card.id: card for card in cards})
