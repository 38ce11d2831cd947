"""Security primitives: password hashing, signed/encrypted tokens, opaque secrets."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwe import JWERegistry
from joserfc.jwk import OctKey
from joserfc.jws import JWSRegistry
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher

from studyhall.config import Settings, TokenEncryption
from studyhall.core.clock import utcnow

_T = TypeVar("_T")


class PasswordHasher:
    """Argon2id for new hashes; bcrypt hashes from older systems verify and get upgraded.

    Hashing is CPU-bound, so it runs in a worker thread, never on the event loop.
    """

    def __init__(self, time_cost: int = 3, memory_cost: int = 65536, concurrency: int | None = None) -> None:
        self._hash = PasswordHash(
            (Argon2Hasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=1), BcryptHasher())
        )
        # Verified against when the account does not exist, so both paths cost the same.
        self._dummy_hash = self._hash.hash(secrets.token_urlsafe(16))
        # Each hash keeps a core busy for its whole duration: at most this many at once, so
        # a burst of sign-ins queues instead of starving every other request of CPU.
        self.concurrency = concurrency or default_hash_concurrency()
        self._slots = asyncio.Semaphore(self.concurrency)

    async def _run(self, func: Callable[..., _T], *args: Any) -> _T:
        async with self._slots:
            return await asyncio.to_thread(func, *args)

    async def hash(self, password: str) -> str:
        return await self._run(self._hash.hash, password)

    async def verify(self, password: str, stored_hash: str | None) -> tuple[bool, str | None]:
        """(valid, replacement hash when the stored one is outdated)."""
        if stored_hash is None:
            await self._run(self._hash.verify, password, self._dummy_hash)
            return False, None
        try:
            return await self._run(self._hash.verify_and_update, password, stored_hash)
        except Exception:  # an unparseable hash never verifies
            return False, None


def default_hash_concurrency() -> int:
    """One core fewer than the machine has (at least one): the rest serve other requests."""
    return max(1, (os.cpu_count() or 2) - 1)


class InvalidToken(Exception):
    """The token is malformed, tampered with, expired or of an unexpected algorithm."""


class TokenCodec:
    """Access tokens: HS256 JWS by default, or `dir`/A256GCM JWE (`TOKEN_ENCRYPTION=jwe`).

    Decoding pins the algorithms: `alg: none`, other algorithms and the other token kind are
    rejected. Both kinds are accepted when decoding, so switching the setting does not log
    everyone out.
    """

    _jws_registry = JWSRegistry(algorithms=["HS256"])
    _jwe_registry = JWERegistry(algorithms=["dir", "A256GCM"])

    def __init__(self, secret: str, encryption: TokenEncryption = TokenEncryption.NONE) -> None:
        self._signing_key = OctKey.import_key(derive_key(secret, b"studyhall access token signing"))
        self._encryption_key = OctKey.import_key(derive_key(secret, b"studyhall access token encryption"))
        self.encryption = encryption

    def encode(self, claims: dict[str, Any]) -> str:
        if self.encryption == TokenEncryption.JWE:
            header = {"alg": "dir", "enc": "A256GCM"}
            return jwt.encode(header, claims, self._encryption_key, registry=self._jwe_registry)
        return jwt.encode({"alg": "HS256"}, claims, self._signing_key, registry=self._jws_registry)

    def decode(self, token: str, now: datetime | None = None) -> dict[str, Any]:
        try:
            if token.count(".") == 4:
                decoded = jwt.decode(token, self._encryption_key, registry=self._jwe_registry)
            else:
                decoded = jwt.decode(token, self._signing_key, registry=self._jws_registry)
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidToken("token is invalid") from exc
        claims = dict(decoded.claims)
        exp = claims.get("exp")
        current = (now or utcnow()).timestamp()
        if not isinstance(exp, int | float) or exp <= current:
            raise InvalidToken("token has expired")
        return claims


def access_token_claims(
    *,
    subject: uuid.UUID,
    session_id: uuid.UUID,
    role: str,
    organization_id: uuid.UUID | None,
    generation: int,
    ttl: timedelta,
) -> dict[str, Any]:
    """`sid` names the sign-in session the token belongs to: every request checks it is live."""
    issued = utcnow()
    return {
        "sub": str(subject),
        "sid": str(session_id),
        "role": role,
        "org": str(organization_id) if organization_id else None,
        "gen": generation,
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
        "jti": uuid.uuid4().hex,
    }


def derive_key(secret: str, purpose: bytes) -> bytes:
    """Separate 256-bit keys per purpose from the one SECRET_KEY."""
    return hmac.new(secret.encode(), purpose, hashlib.sha256).digest()


def new_opaque_token() -> str:
    """A random secret for refresh, reset and verification tokens (256 bits)."""
    return secrets.token_urlsafe(32)


def hash_opaque_token(token: str) -> str:
    """Opaque tokens are stored only as SHA-256 hashes (they are high-entropy; no salt needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def security_from_settings(settings: Settings) -> tuple[PasswordHasher, TokenCodec]:
    hasher = PasswordHasher(
        settings.password_hash_time_cost,
        settings.password_hash_memory_cost,
        settings.password_hash_concurrency,
    )
    return hasher, TokenCodec(settings.secret_key, settings.token_encryption)
