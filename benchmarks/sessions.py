"""Signed-in sessions for seeded benchmark users.

Every access token names its session (`sid`) and each request checks that session is live,
so seeded users get one session row each, whose id is the user's own id: a token can then
be minted for any seeded user without keeping track of sessions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from studyhall.core.clock import utcnow
from studyhall.core.security import TokenCodec, access_token_claims, hash_opaque_token, new_opaque_token

TOKEN_TTL = timedelta(hours=2)


def session_rows(user_ids: Iterable[uuid.UUID]) -> list[dict[str, Any]]:
    """`auth_sessions` rows for a bulk insert: one live session per user."""
    now = utcnow()
    return [
        {
            "user_id": user_id,
            "family_id": user_id,
            "token_hash": hash_opaque_token(new_opaque_token()),
            "created_at": now,
            "last_used_at": now,
            "expires_at": now + TOKEN_TTL,
        }
        for user_id in user_ids
    ]


def mint_token(codec: TokenCodec, user_id: uuid.UUID, role: str) -> str:
    """An access token of the user's seeded session."""
    claims = access_token_claims(
        subject=user_id, session_id=user_id, role=role, organization_id=None, generation=0, ttl=TOKEN_TTL
    )
    return codec.encode(claims)
