"""Authentication dependencies: `CurrentUser`, `OptionalUser`, `require_role(...)`.

They run on nearly every request: `async def` (a plain `def` dependency costs a worker-thread
hop) and flat (`CurrentUser` needs only the session and the bearer token)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core import security
from studyhall.core.deps import SessionDep, client_ip
from studyhall.core.errors import Unauthenticated
from studyhall.core.ratelimit import RateLimiter
from studyhall.identity.errors import InsufficientRole, InvalidToken, SessionRevoked
from studyhall.identity.models import Role, User
from studyhall.identity.oauth import OAuthProviders
from studyhall.identity.service import AuthConfig, ClientInfo, user_with_session_state

bearer_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def get_token_codec(request: Request) -> security.TokenCodec:
    codec: security.TokenCodec = request.app.state.tokens
    return codec


async def get_password_hasher(request: Request) -> security.PasswordHasher:
    hasher: security.PasswordHasher = request.app.state.passwords
    return hasher


async def get_oauth_providers(request: Request) -> OAuthProviders:
    providers: OAuthProviders = request.app.state.oauth
    return providers


OAuthProvidersDep = Annotated[OAuthProviders, Depends(get_oauth_providers)]
TokenCodecDep = Annotated[security.TokenCodec, Depends(get_token_codec)]
PasswordHasherDep = Annotated[security.PasswordHasher, Depends(get_password_hasher)]


async def user_from_access_token(session: AsyncSession, codec: security.TokenCodec, token: str) -> User:
    """The live user behind an access token, checked on every request with one SELECT: an
    account deactivated or deleted, a session signed out (`session_revoked`) and a password
    change (a bumped token generation) end existing tokens at once, in every API process."""
    try:
        claims = codec.decode(token)
        user_id = uuid.UUID(str(claims.get("sub")))
        session_id = uuid.UUID(str(claims.get("sid")))  # every token this API issues has one
    except (security.InvalidToken, ValueError) as exc:
        raise InvalidToken(
            str(exc) if isinstance(exc, security.InvalidToken) else "token is invalid"
        ) from exc
    found = await user_with_session_state(session, user_id, session_id)
    if found is None or found.user.deleted_at is not None or not found.user.is_active:
        raise InvalidToken("token is no longer valid")
    if not found.session_live:
        raise SessionRevoked("This session was signed out; sign in again")
    if found.user.token_generation != claims.get("gen"):
        raise InvalidToken("token is no longer valid")
    return found.user


BearerToken = Annotated[str | None, Depends(bearer_scheme)]


async def get_optional_user(request: Request, session: SessionDep, token: BearerToken) -> User | None:
    if not token:
        return None
    return await user_from_access_token(session, request.app.state.tokens, token)


async def get_current_user(request: Request, session: SessionDep, token: BearerToken) -> User:
    """The signed-in caller: one flat dependency (session, bearer token), no layers."""
    if not token:
        raise Unauthenticated("Sign in: send `Authorization: Bearer <access_token>`")
    return await user_from_access_token(session, request.app.state.tokens, token)


CurrentUser = Annotated[User, Depends(get_current_user)]
OptionalUser = Annotated[User | None, Depends(get_optional_user)]


def require_role(*roles: Role) -> Any:
    """`Annotated[User, ...]` that admits only the given roles (403 otherwise)."""
    allowed = frozenset(roles)

    async def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise InsufficientRole(f"Requires one of: {', '.join(sorted(allowed))}")
        return user

    return Annotated[User, Depends(check)]


AdminUser = require_role(Role.ADMIN)
StaffUser = require_role(Role.INSTRUCTOR, Role.PRINCIPAL, Role.ADMIN)
AdminOrPrincipalUser = require_role(Role.ADMIN, Role.PRINCIPAL)


async def get_auth_config(request: Request) -> AuthConfig:
    state = request.app.state
    config: AuthConfig | None = getattr(state, "auth_config", None)
    if config is None:
        config = AuthConfig.from_settings(state.settings, state.passwords, state.tokens)
        state.auth_config = config
    return config


async def get_client_info(request: Request) -> ClientInfo:
    return ClientInfo(
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )


async def get_rate_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


AuthConfigDep = Annotated[AuthConfig, Depends(get_auth_config)]
ClientInfoDep = Annotated[ClientInfo, Depends(get_client_info)]
RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]


async def get_access_claims(request: Request, _user: CurrentUser, token: BearerToken) -> dict[str, Any]:
    """The claims of the caller's (already validated) access token."""
    assert token is not None
    codec: security.TokenCodec = request.app.state.tokens
    return codec.decode(token)


AccessClaims = Annotated[dict[str, Any], Depends(get_access_claims)]
