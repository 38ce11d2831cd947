"""Identity's business rules: accounts, sign-in, sessions, emailed tokens, users, organisations.

No HTTP here: functions take a session and raise identity's domain errors. Everything
racy is settled by the database (unique constraints inside a SAVEPOINT, conditional
`UPDATE ... WHERE revoked_at IS NULL` checked by its row count, and users locked and re-read
before a change, see `_lock_user`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Select,
    and_,
    bindparam,
    delete,
    false,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall import event_types
from studyhall.analytics import audit
from studyhall.config import Settings
from studyhall.core.clock import utcnow
from studyhall.core.errors import InvalidInput
from studyhall.core.events import emit
from studyhall.core.pagination import PageParams, fetch_page
from studyhall.core.security import (
    PasswordHasher,
    TokenCodec,
    access_token_claims,
    hash_opaque_token,
    new_opaque_token,
)
from studyhall.identity import policies
from studyhall.identity.errors import (
    AccountDisabled,
    CannotManageUser,
    EmailTaken,
    InvalidCredentials,
    InvalidRefreshToken,
    InvalidResetToken,
    InvalidVerificationToken,
    InvitationNotFound,
    LastAdmin,
    OAuthCodeInvalid,
    OAuthEmailUnverified,
    OAuthFailed,
    OAuthStateInvalid,
    OrganizationNotAllowed,
    OrganizationNotFound,
    OrganizationSlugTaken,
    RefreshTokenReused,
    RoleNotAssignable,
    SessionNotFound,
    UserInOtherOrganization,
    UserNotFound,
    WrongPassword,
)
from studyhall.identity.models import (
    AuthSession,
    OAuthHandoff,
    OAuthState,
    OneTimeToken,
    Organization,
    OrganizationInvitation,
    Role,
    TokenPurpose,
    User,
    UserIdentity,
)
from studyhall.identity.people import public_card_changed
from studyhall.identity.schemas import (
    MemberAdd,
    MeUpdate,
    OrganizationCreate,
    OrganizationUpdate,
    UserUpdate,
    password_matches_email,
)
from studyhall.media.models import AttachmentKind, FilePurpose
from studyhall.media.service import attach_files

USER_AGENT_MAX = 400
#: Expired sign-in attempts are kept this long (for investigating replays), then deleted.
OAUTH_STATE_RETENTION = timedelta(days=1)
#: How long the web app has to exchange a provider sign-in's one-time code.
OAUTH_HANDOFF_TTL = timedelta(seconds=60)


@dataclass(frozen=True)
class AuthConfig:
    """What signing in needs besides the database."""

    passwords: PasswordHasher
    tokens: TokenCodec
    access_ttl: timedelta
    refresh_ttl: timedelta

    @classmethod
    def from_settings(cls, settings: Settings, passwords: PasswordHasher, tokens: TokenCodec) -> AuthConfig:
        return cls(
            passwords=passwords,
            tokens=tokens,
            access_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
            refresh_ttl=timedelta(days=settings.refresh_token_ttl_days),
        )


@dataclass(frozen=True)
class ClientInfo:
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    """What signing in and refreshing hand back: a fresh access token and the session's new
    refresh token (single-use)."""

    access_token: str
    refresh_token: str
    #: Seconds until the access token expires.
    expires_in: int


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _rowcount(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def _weak_password(field: str, message: str) -> InvalidInput:
    return InvalidInput(
        "The password does not meet the policy; see `errors`.",
        errors=[{"loc": ["body", field], "msg": message, "type": "weak_password"}],
    )


# -- accounts ------------------------------------------------------------------------------


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    """A live (not deleted) user by email, case-insensitively."""
    return await session.scalar(
        select(User).where(User.email == normalize_email(email), User.deleted_at.is_(None))
    )


async def create_user(
    session: AsyncSession,
    passwords: PasswordHasher,
    *,
    email: str,
    password: str | None,
    full_name: str,
    role: Role = Role.STUDENT,
    email_verified: bool = False,
) -> User:
    """Inserts a user; a taken email (in any letter case, even under concurrent
    registrations) is `409 email_taken`. Without a password the account signs in only
    through a linked provider (or after a password reset)."""
    email = normalize_email(email)
    if password is not None and password_matches_email(password, email):
        raise _weak_password("password", "the password must not be the email address")
    user = User(
        email=email,
        full_name=full_name.strip() or full_name,
        password_hash=await passwords.hash(password) if password is not None else None,
        role=role.value,
        email_verified=email_verified,
    )
    try:
        async with session.begin_nested():
            session.add(user)
    except IntegrityError as exc:
        raise EmailTaken(f"{email} is already registered") from exc
    return user


async def register(
    session: AsyncSession, passwords: PasswordHasher, *, email: str, password: str, full_name: str
) -> User:
    """A new student; a pending organisation invitation for the address attaches at once."""
    user = await create_user(session, passwords, email=email, password=password, full_name=full_name)
    await _accept_pending_invitation(session, user)
    await session.flush()
    emit(session, event_types.USER_REGISTERED, {"user_id": user.id})
    return user


async def _accept_pending_invitation(session: AsyncSession, user: User) -> None:
    """The newest pending invitation for the user's address makes them a member."""
    invitation = await session.scalar(
        select(OrganizationInvitation)
        .where(
            OrganizationInvitation.email == user.email,
            OrganizationInvitation.accepted_at.is_(None),
            OrganizationInvitation.revoked_at.is_(None),
        )
        .order_by(OrganizationInvitation.created_at.desc(), OrganizationInvitation.id)
        .limit(1)
    )
    if invitation is not None:
        user.organization_id = invitation.organization_id
        user.role = Role(invitation.role).value
        invitation.accepted_at = utcnow()
        invitation.accepted_user_id = user.id


# -- signing in and sessions ------------------------------------------------------------------


async def login(
    session: AsyncSession, config: AuthConfig, *, email: str, password: str, client: ClientInfo
) -> IssuedTokens:
    """Unknown email and wrong password cost one hash verification each and answer the
    same `401 invalid_credentials`; a disabled account is told so only with the right password."""
    user = await get_user_by_email(session, email)
    valid, new_hash = await config.passwords.verify(password, user.password_hash if user else None)
    if user is None or not valid:
        record_failed_sign_in(session, email, user)
        raise InvalidCredentials("Wrong email or password")
    if not user.is_active:
        raise AccountDisabled()
    if new_hash is not None:  # an outdated hash (bcrypt, old Argon2 cost) is replaced
        user.password_hash = new_hash
    user.last_login_at = utcnow()
    return await _start_session(session, config, user, client)


def record_failed_sign_in(session: AsyncSession, email: str, user: User | None) -> None:
    """The audit entry of a wrong email or password: the only change of the failed request,
    which `InvalidCredentials` commits (`keeps_changes`) although it answers 401."""
    audit.record(
        session,
        audit.AUTH_LOGIN_FAILED,
        actor=None,
        actor_email=normalize_email(email),
        resource_type="user",
        resource_id=user.id if user is not None else None,
        organization_id=user.organization_id if user is not None else None,
    )


async def _start_session(
    session: AsyncSession,
    config: AuthConfig,
    user: User,
    client: ClientInfo,
    *,
    family_id: uuid.UUID | None = None,
    family_created_at: datetime | None = None,
    row_id: uuid.UUID | None = None,
) -> IssuedTokens:
    now = utcnow()
    refresh_token = new_opaque_token()
    row = AuthSession(
        id=row_id or uuid.uuid4(),
        user_id=user.id,
        family_id=family_id or uuid.uuid4(),
        token_hash=hash_opaque_token(refresh_token),
        user_agent=client.user_agent[:USER_AGENT_MAX] if client.user_agent else None,
        ip=client.ip,
        created_at=family_created_at or now,
        last_used_at=now,
        expires_at=now + config.refresh_ttl,
    )
    session.add(row)
    await session.flush()
    return IssuedTokens(
        access_token=issue_access_token(config, user, row.family_id),
        refresh_token=refresh_token,
        expires_in=int(config.access_ttl.total_seconds()),
    )


def issue_access_token(config: AuthConfig, user: User, session_id: uuid.UUID) -> str:
    """`session_id` is the refresh-token family: it stays the same across rotations, so the
    token dies with the session `GET /auth/sessions` lists and `DELETE` revokes."""
    claims = access_token_claims(
        subject=user.id,
        session_id=session_id,
        role=user.role,
        organization_id=user.organization_id,
        generation=user.token_generation,
        ttl=config.access_ttl,
    )
    return config.tokens.encode(claims)


# -- signing in with an OpenID Connect provider ---------------------------------------------


async def save_oauth_state(
    session: AsyncSession,
    *,
    provider: str,
    state: str,
    nonce: str,
    code_verifier: str,
    redirect_uri: str,
    ttl: timedelta,
    app_challenge: str | None = None,
) -> None:
    """Remembers a started sign-in (keyed by the hash of `state`) for whichever process
    receives the callback; attempts that expired over a day ago are swept out."""
    now = utcnow()
    await session.execute(
        delete(OAuthState)
        .where(OAuthState.expires_at < now - OAUTH_STATE_RETENTION)
        .execution_options(synchronize_session=False)
    )
    session.add(
        OAuthState(
            state_hash=hash_opaque_token(state),
            provider=provider,
            nonce=nonce,
            code_verifier=code_verifier,
            redirect_uri=redirect_uri,
            app_challenge=app_challenge,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    await session.flush()


OnceUsed = TypeVar("OnceUsed", OAuthState, OAuthHandoff)


async def _use_once(
    session: AsyncSession,
    model: type[OnceUsed],
    hash_column: Any,
    token: str,
    *conditions: ColumnElement[bool],
) -> OnceUsed | None:
    """The unexpired, unused row of `token` (found by its hash), marked used by one
    conditional UPDATE so that of two concurrent uses only one wins; None otherwise."""
    now = utcnow()
    token_hash = hash_opaque_token(token)
    result = await session.execute(
        update(model)
        .where(hash_column == token_hash, model.used_at.is_(None), model.expires_at > now, *conditions)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        return None
    row: OnceUsed | None = await session.scalar(select(model).where(hash_column == token_hash))
    return row


async def consume_oauth_state(session: AsyncSession, *, provider: str, state: str) -> OAuthState:
    """Marks the started sign-in used by one conditional UPDATE, so a replayed (or
    concurrent) callback with the same `state` fails; unknown, expired, tampered or
    another provider's state is `oauth_state_invalid` too."""
    row = await _use_once(session, OAuthState, OAuthState.state_hash, state, OAuthState.provider == provider)
    if row is None:
        raise OAuthStateInvalid("This sign-in attempt is unknown, expired or already used; start again")
    return row


async def start_session(
    session: AsyncSession, config: AuthConfig, user: User, client: ClientInfo
) -> IssuedTokens:
    """A new session for a user who has just proved who they are."""
    return await _start_session(session, config, user, client)


async def oauth_account(
    session: AsyncSession,
    config: AuthConfig,
    *,
    provider: str,
    subject: str,
    email: str | None,
    email_verified: bool,
    name: str | None,
) -> User:
    """The user linked to (provider, subject); otherwise the account with the provider's
    verified email, linked now, or a new student account for it (a pending organisation
    invitation attaches, as on registration)."""
    if not email or not email_verified:
        raise OAuthEmailUnverified("The provider did not confirm a verified email address")
    email = normalize_email(email)
    now = utcnow()
    identity = await session.scalar(
        select(UserIdentity).where(UserIdentity.provider == provider, UserIdentity.subject == subject)
    )
    created = False
    if identity is not None:
        user = await session.get(User, identity.user_id)
    else:
        user = await session.scalar(select(User).where(User.email == email))
        if user is None:
            try:
                user = await create_user(
                    session,
                    config.passwords,
                    email=email,
                    password=None,
                    full_name=((name or "").strip() or email.split("@", 1)[0])[:200],
                    email_verified=True,
                )
            except EmailTaken:  # created concurrently: it is committed now, link to it
                user = await session.scalar(select(User).where(User.email == email))
            else:
                created = True
                await _accept_pending_invitation(session, user)
    if user is None or user.deleted_at is not None:
        raise AccountDisabled("This account was deleted")
    if not user.is_active:
        raise AccountDisabled()
    if identity is None:
        identity = await _link_identity(session, user, provider=provider, subject=subject, email=email)
    if not user.email_verified and user.email == email:
        # Whoever chose this account's password never proved the address; the provider has.
        # Their password and sessions end, so a squatter cannot keep access.
        user.password_hash = None
        user.email_verified = True
        end_access_tokens(user)
        await revoke_user_sessions(session, user.id)
    user.last_login_at = now
    identity.last_login_at = now
    await session.flush()
    if created:
        emit(session, event_types.USER_REGISTERED, {"user_id": user.id})
    return user


def app_challenge_of(verifier: str) -> str:
    """The web app's challenge for its verifier: base64url(SHA-256), as PKCE's S256."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def start_oauth_handoff(session: AsyncSession, user: User, *, app_challenge: str) -> str:
    """A one-time code for the web app to exchange for this user's tokens (only its hash
    is stored); handoffs that expired over a day ago are swept out."""
    now = utcnow()
    await session.execute(
        delete(OAuthHandoff)
        .where(OAuthHandoff.expires_at < now - OAUTH_STATE_RETENTION)
        .execution_options(synchronize_session=False)
    )
    code = new_opaque_token()
    session.add(
        OAuthHandoff(
            code_hash=hash_opaque_token(code),
            user_id=user.id,
            app_challenge=app_challenge,
            created_at=now,
            expires_at=now + OAUTH_HANDOFF_TTL,
        )
    )
    await session.flush()
    return code


async def exchange_oauth_handoff(
    session: AsyncSession, config: AuthConfig, *, code: str, verifier: str, client: ClientInfo
) -> IssuedTokens:
    """Redeems a handoff code once (a conditional UPDATE, so two concurrent exchanges cannot
    both win). The verifier must match the challenge the web app sent when it started; a
    wrong one uses the code up too. The account must still be active."""
    handoff = await _use_once(session, OAuthHandoff, OAuthHandoff.code_hash, code)
    if handoff is None or not hmac.compare_digest(handoff.app_challenge, app_challenge_of(verifier)):
        raise OAuthCodeInvalid("This sign-in code is unknown, expired or already used; sign in again")
    user = await session.get(User, handoff.user_id)
    if user is None or user.deleted_at is not None or not user.is_active:
        raise AccountDisabled()
    return await _start_session(session, config, user, client)


async def _link_identity(
    session: AsyncSession, user: User, *, provider: str, subject: str, email: str
) -> UserIdentity:
    identity = UserIdentity(user_id=user.id, provider=provider, subject=subject, email=email)
    try:
        async with session.begin_nested():
            session.add(identity)
    except IntegrityError:  # linked concurrently by another callback
        linked = await session.scalar(
            select(UserIdentity).where(UserIdentity.provider == provider, UserIdentity.subject == subject)
        )
        if linked is None or linked.user_id != user.id:
            raise OAuthFailed("This identity is linked to another account") from None
        return linked
    return identity


async def refresh(
    session: AsyncSession, config: AuthConfig, *, refresh_token: str, client: ClientInfo
) -> IssuedTokens:
    """Rotation: the presented token is revoked by one conditional UPDATE, so of two
    concurrent refreshes exactly one wins; presenting a rotated token again revokes its
    whole family (`RefreshTokenReused`, which the caller must commit before answering)."""
    now = utcnow()
    token_hash = hash_opaque_token(refresh_token)
    successor_id = uuid.uuid4()
    result = await session.execute(
        update(AuthSession)
        .where(
            AuthSession.token_hash == token_hash,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > now,
        )
        .values(revoked_at=now, replaced_by=successor_id)
        .execution_options(synchronize_session=False)
    )
    current = await session.scalar(select(AuthSession).where(AuthSession.token_hash == token_hash))
    if _rowcount(result) != 1 or current is None:
        if current is not None and current.replaced_by is not None:
            await revoke_family(session, current.family_id)
            raise RefreshTokenReused("This refresh token was already used; sign in again")
        raise InvalidRefreshToken()
    user = await session.get(User, current.user_id)
    if user is None or user.deleted_at is not None or not user.is_active:
        raise InvalidRefreshToken()
    client = ClientInfo(ip=client.ip or current.ip, user_agent=client.user_agent or current.user_agent)
    return await _start_session(
        session,
        config,
        user,
        client,
        family_id=current.family_id,
        family_created_at=current.created_at,
        row_id=successor_id,
    )


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> int:
    result = await session.execute(
        update(AuthSession)
        .where(AuthSession.family_id == family_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


async def revoke_user_sessions(
    session: AsyncSession, user_id: uuid.UUID, *, except_family: uuid.UUID | None = None
) -> int:
    conditions = [AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)]
    if except_family is not None:
        conditions.append(AuthSession.family_id != except_family)
    result = await session.execute(
        update(AuthSession)
        .where(*conditions)
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


def end_access_tokens(user: User) -> None:
    """Every access token issued so far stops working (checked on each request)."""
    user.token_generation = user.token_generation + 1


@dataclass(frozen=True, slots=True)
class TokenHolder:
    """The user an access token names, and whether its session is still signed in."""

    user: User
    #: Whether the access token's session (refresh-token family) still has a live token.
    session_live: bool


#: The statement behind every authenticated request, built once: SQLAlchemy caches its
#: compiled form under a cache key computed once per statement object, and the ids are bound
#: at execution.
_USER_WITH_SESSION_STATE = select(
    User,
    select(AuthSession.id)
    .where(
        AuthSession.user_id == User.id,
        AuthSession.family_id == bindparam("session_id"),
        AuthSession.revoked_at.is_(None),
    )
    .exists()
    .label("session_live"),
).where(User.id == bindparam("user_id"))


async def user_with_session_state(
    session: AsyncSession, user_id: uuid.UUID, session_id: uuid.UUID
) -> TokenHolder | None:
    """The user and whether their session `session_id` is signed in, in ONE statement: this
    runs on every authenticated request. Rotation revokes a family's token and inserts its
    successor in one transaction, so a live family always has exactly one unrevoked row;
    its expiry is not checked, as access tokens expire long before refresh tokens."""
    result = await session.execute(_USER_WITH_SESSION_STATE, {"user_id": user_id, "session_id": session_id})
    row = result.one_or_none()
    return None if row is None else TokenHolder(user=row[0], session_live=bool(row[1]))


async def logout(session: AsyncSession, refresh_token: str) -> None:
    """Revokes the session (family) the refresh token belongs to; an unknown or already
    revoked token is `401 invalid_refresh_token`."""
    row = await session.scalar(
        select(AuthSession).where(AuthSession.token_hash == hash_opaque_token(refresh_token))
    )
    if row is None or row.revoked_at is not None:
        raise InvalidRefreshToken()
    await revoke_family(session, row.family_id)


async def list_sessions(
    session: AsyncSession, user: User, params: PageParams
) -> tuple[list[AuthSession], int]:
    """The live token of each active family, most recently used first."""
    statement = (
        select(AuthSession)
        .where(
            AuthSession.user_id == user.id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > utcnow(),
        )
        .order_by(AuthSession.last_used_at.desc(), AuthSession.id)
    )
    return await fetch_page(session, statement, params)


async def revoke_session(session: AsyncSession, user: User, session_id: uuid.UUID) -> None:
    result = await session.execute(
        update(AuthSession)
        .where(
            AuthSession.family_id == session_id,
            AuthSession.user_id == user.id,
            AuthSession.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) == 0:
        raise SessionNotFound()


# -- profile and passwords ----------------------------------------------------------------


async def update_me(session: AsyncSession, user: User, data: MeUpdate) -> User:
    fields = data.model_fields_set
    if "full_name" in fields and data.full_name is not None:
        user.full_name = data.full_name
    if "bio" in fields:
        user.bio = data.bio
    if fields & {"full_name", "bio"}:
        await public_card_changed(session)
    if "avatar_file_id" in fields:
        await attach_files(
            session,
            user,
            [data.avatar_file_id] if data.avatar_file_id is not None else [],
            purpose=FilePurpose.AVATAR,
            kind=AttachmentKind.AVATAR,
            target_id=user.id,
        )
        user.avatar_file_id = data.avatar_file_id
    await session.flush()
    return user


async def change_password(
    session: AsyncSession,
    passwords: PasswordHasher,
    user: User,
    *,
    current_password: str,
    new_password: str,
    current_session_id: uuid.UUID,
) -> None:
    """Every other session is revoked and every access token ends (the caller refreshes
    with the refresh token of the session it is using)."""
    valid, _ = await passwords.verify(current_password, user.password_hash)
    if not valid:
        raise WrongPassword()
    if password_matches_email(new_password, user.email):
        raise _weak_password("new_password", "the password must not be the email address")
    user.password_hash = await passwords.hash(new_password)
    end_access_tokens(user)
    await revoke_user_sessions(session, user.id, except_family=current_session_id)
    audit.record_user_change(session, audit.USER_PASSWORD_CHANGED, user, user)
    await session.flush()


async def request_password_reset(session: AsyncSession, email: str) -> None:
    """The mail (and its token) is made by the event handler after commit; unknown and
    disabled addresses get nothing, and the caller cannot tell the difference."""
    user = await get_user_by_email(session, email)
    if user is not None and user.is_active:
        emit(session, event_types.USER_PASSWORD_RESET_REQUESTED, {"user_id": user.id})


async def request_email_verification(session: AsyncSession, user: User) -> None:
    if not user.email_verified:
        emit(session, event_types.USER_EMAIL_VERIFICATION_REQUESTED, {"user_id": user.id})


async def issue_one_time_token(
    session: AsyncSession, user: User, purpose: TokenPurpose, ttl: timedelta
) -> str:
    """Called by the mail handlers: the raw token exists only in the mail."""
    token = new_opaque_token()
    now = utcnow()
    session.add(
        OneTimeToken(
            user_id=user.id,
            purpose=purpose.value,
            token_hash=hash_opaque_token(token),
            created_at=now,
            expires_at=now + ttl,
        )
    )
    await session.flush()
    return token


async def _consume_one_time_token(session: AsyncSession, token: str, purpose: TokenPurpose) -> User | None:
    """Marks the token used with one conditional UPDATE: of concurrent uses one wins."""
    now = utcnow()
    token_hash = hash_opaque_token(token)
    result = await session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.token_hash == token_hash,
            OneTimeToken.purpose == purpose.value,
            OneTimeToken.used_at.is_(None),
            OneTimeToken.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        return None
    user_id = await session.scalar(select(OneTimeToken.user_id).where(OneTimeToken.token_hash == token_hash))
    user = await session.get(User, user_id)
    if user is None or user.deleted_at is not None or not user.is_active:
        return None
    # Other outstanding tokens of the same purpose die with this one.
    await session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user.id,
            OneTimeToken.purpose == purpose.value,
            OneTimeToken.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return user


async def confirm_password_reset(
    session: AsyncSession, passwords: PasswordHasher, *, token: str, new_password: str
) -> None:
    user = await _consume_one_time_token(session, token, TokenPurpose.PASSWORD_RESET)
    if user is None:
        raise InvalidResetToken()
    if password_matches_email(new_password, user.email):
        raise _weak_password("new_password", "the password must not be the email address")
    user.password_hash = await passwords.hash(new_password)
    user.email_verified = True  # the reset link proved the address
    end_access_tokens(user)
    await revoke_user_sessions(session, user.id)
    audit.record_user_change(session, audit.USER_PASSWORD_RESET, user, user)
    await session.flush()


async def confirm_email_verification(session: AsyncSession, token: str) -> None:
    user = await _consume_one_time_token(session, token, TokenPurpose.EMAIL_VERIFICATION)
    if user is None:
        raise InvalidVerificationToken()
    user.email_verified = True
    await session.flush()


# -- users (administration) -----------------------------------------------------------------


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def users_query(
    actor: User,
    *,
    role: Role | None = None,
    q: str | None = None,
    organization_id: uuid.UUID | None = None,
    include_deleted: bool = False,
) -> Select[Any]:
    """Admins see everyone; a principal only their own organisation."""
    statement = select(User).order_by(User.created_at.desc(), User.id)
    if not policies.is_admin(actor):
        statement = statement.where(User.organization_id == actor.organization_id)
        if actor.organization_id is None:
            statement = statement.where(false())
    if organization_id is not None:
        statement = statement.where(User.organization_id == organization_id)
    if role is not None:
        statement = statement.where(User.role == role.value)
    if q:
        pattern = f"%{_escape_like(q.strip().lower())}%"
        statement = statement.where(
            or_(User.email.like(pattern, escape="\\"), User.full_name.ilike(pattern, escape="\\"))
        )
    if not include_deleted:
        statement = statement.where(User.deleted_at.is_(None))
    return statement


async def list_users(
    session: AsyncSession, actor: User, params: PageParams, **filters: Any
) -> tuple[list[User], int]:
    return await fetch_page(session, users_query(actor, **filters), params)


def _require_visible(actor: User, user: User | None) -> User:
    """404 for users the actor may not see (other organisations, deleted ones unless admin)."""
    if user is None or not policies.can_view_user(actor, user):
        raise UserNotFound()
    if user.deleted_at is not None and not policies.is_admin(actor):
        raise UserNotFound()
    return user


#: Built once: a statement per call costs more than the lookup it makes.
USERS_BY_IDS = select(User).where(User.id.in_(bindparam("user_ids", expanding=True)))


async def users_by_ids(session: AsyncSession, user_ids: Sequence[uuid.UUID]) -> list[User]:
    """The users of `user_ids` (deleted ones too: authors and instructors stay named), in one
    statement; what each caller may see of them is `policies.can_view_user`'s to say."""
    if not user_ids:
        return []
    return list((await session.scalars(USERS_BY_IDS, {"user_ids": list(user_ids)})).all())


async def get_visible_user(session: AsyncSession, actor: User, user_id: uuid.UUID) -> User:
    return _require_visible(actor, await session.get(User, user_id))


def _require_manageable(actor: User, user: User | None) -> User:
    user = _require_visible(actor, user)
    if user.deleted_at is not None:
        raise UserNotFound()
    if not policies.can_manage_user(actor, user):
        raise CannotManageUser()
    return user


def _is_active_admin(user: User) -> bool:
    return user.role == Role.ADMIN and user.is_active and user.deleted_at is None


@dataclass(frozen=True)
class LockedUser:
    user: User | None
    #: Every active admin, locked too (only when asked for): the last-admin rule counts them.
    admins: list[User]

    def require_another_admin(self) -> None:
        """`user` is about to stop being an active admin: refuse if nobody else is one.
        The admins are locked, so of two admins demoting each other at once one fails."""
        user = self.user
        if user is not None and _is_active_admin(user) and all(a.id == user.id for a in self.admins):
            raise LastAdmin("Make someone else an admin first")


async def _lock_user(session: AsyncSession, user_id: uuid.UUID, *, with_admins: bool = False) -> LockedUser:
    """Re-reads the user under a row lock, so concurrent changes of one user run one after
    the other, each seeing the previous one's result. `with_admins` locks every active admin
    in the same statement, in id order, so two such requests never deadlock. FOR NO KEY
    UPDATE leaves inserts that reference the user (sessions, enrollments) unblocked. SQLite
    ignores the clause: BEGIN IMMEDIATE already serialises writers."""
    condition = User.id == user_id
    if with_admins:
        condition = or_(
            condition,
            and_(User.role == Role.ADMIN.value, User.is_active.is_(True), User.deleted_at.is_(None)),
        )
    rows = (
        await session.scalars(
            select(User)
            .where(condition)
            .order_by(User.id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        )
    ).all()
    return LockedUser(
        user=next((row for row in rows if row.id == user_id), None),
        admins=[row for row in rows if _is_active_admin(row)],
    )


#: The audit action of a change of each field a user update may change.
_USER_FIELD_ACTIONS = {
    "role": audit.USER_ROLE_CHANGED,
    "organization_id": audit.USER_ORGANIZATION_CHANGED,
    "is_active": None,  # activated or deactivated, by the new value
    "full_name": audit.USER_UPDATED,
}


def _record_user_update(session: AsyncSession, actor: User, user: User, before: dict[str, Any]) -> None:
    """One entry per kind of change (`user.role_changed`, `user.deactivated`, ...), each with
    its field's `[old, new]`."""
    for field, changed in audit.changes_of(before, user).items():
        action = _USER_FIELD_ACTIONS[field] or (
            audit.USER_ACTIVATED if user.is_active else audit.USER_DEACTIVATED
        )
        audit.record_user_change(session, action, actor, user, {field: changed})


async def update_user(session: AsyncSession, actor: User, user_id: uuid.UUID, data: UserUpdate) -> User:
    fields = data.model_fields_set
    locked = await _lock_user(session, user_id, with_admins=bool(fields & {"role", "is_active"}))
    user = _require_manageable(actor, locked.user)
    before = audit.snapshot(user, _USER_FIELD_ACTIONS)
    role = data.role if "role" in fields and data.role is not None else Role(user.role)
    is_active = data.is_active if "is_active" in fields and data.is_active is not None else user.is_active
    if role != user.role and not policies.can_assign_role(actor, role):
        raise RoleNotAssignable("Only admins give or take the admin role")
    if role != Role.ADMIN or not is_active:
        locked.require_another_admin()
    user.role = role.value
    if "organization_id" in fields and data.organization_id != user.organization_id:
        target = data.organization_id
        if not policies.is_admin(actor) and target is not None and target != actor.organization_id:
            raise OrganizationNotAllowed()
        if target is not None and await session.get(Organization, target) is None:
            raise InvalidInput(
                "No organization with that id",
                errors=[
                    {"loc": ["body", "organization_id"], "msg": "unknown organization", "type": "not_found"}
                ],
            )
        user.organization_id = target
    if "full_name" in fields and data.full_name is not None:
        user.full_name = data.full_name
    if is_active != user.is_active:
        await _set_active(session, actor, user, is_active)
    await public_card_changed(session)
    _record_user_update(session, actor, user, before)
    await session.flush()
    return user


async def _set_active(session: AsyncSession, actor: User, user: User, is_active: bool) -> None:
    user.is_active = is_active
    if not is_active:
        end_access_tokens(user)
        await revoke_user_sessions(session, user.id)
    emit(
        session,
        event_types.USER_ACTIVATED if is_active else event_types.USER_DEACTIVATED,
        {"user_id": user.id, "by": actor.id},
    )


async def delete_user(session: AsyncSession, actor: User, user_id: uuid.UUID) -> None:
    locked = await _lock_user(session, user_id, with_admins=True)
    user = locked.user
    if user is None or user.deleted_at is not None:
        raise UserNotFound()
    locked.require_another_admin()
    user.deleted_at = utcnow()
    user.deletion_id = uuid.uuid4()
    end_access_tokens(user)
    await revoke_user_sessions(session, user.id)
    audit.record_user_change(session, audit.USER_DELETED, actor, user)
    await session.flush()
    emit(session, event_types.USER_DELETED, {"user_id": user.id, "by": actor.id})


async def restore_user(session: AsyncSession, actor: User, user_id: uuid.UUID) -> User:
    """Idempotent: restoring a user who is not deleted changes nothing and emits nothing."""
    user = (await _lock_user(session, user_id)).user
    if user is None:
        raise UserNotFound()
    if user.deleted_at is not None:
        user.deleted_at = None
        user.deletion_id = None
        audit.record_user_change(session, audit.USER_RESTORED, actor, user)
        await session.flush()
        emit(session, event_types.USER_RESTORED, {"user_id": user.id, "by": actor.id})
    return user


# -- organisations -------------------------------------------------------------------------


async def create_organization(session: AsyncSession, actor: User, data: OrganizationCreate) -> Organization:
    organization = Organization(name=data.name, slug=data.slug)
    try:
        async with session.begin_nested():
            session.add(organization)
    except IntegrityError as exc:
        raise OrganizationSlugTaken(f"The slug {data.slug!r} is taken") from exc
    _record_organization(
        session,
        audit.ORGANIZATION_CREATED,
        actor,
        organization,
        {"name": [None, data.name], "slug": [None, data.slug]},
    )
    return organization


def _record_organization(
    session: AsyncSession,
    action: str,
    actor: User,
    organization: Organization,
    changes: dict[str, Any] | None = None,
) -> None:
    audit.record(
        session,
        action,
        actor=actor,
        resource_type="organization",
        resource_id=organization.id,
        organization_id=organization.id,
        changes=changes,
    )


def organizations_query(actor: User) -> Select[Any]:
    statement = select(Organization).order_by(Organization.name, Organization.id)
    if not policies.is_admin(actor):
        statement = statement.where(Organization.id == actor.organization_id)
    return statement


async def list_organizations(
    session: AsyncSession, actor: User, params: PageParams
) -> tuple[list[Organization], int]:
    return await fetch_page(session, organizations_query(actor), params)


async def get_visible_organization(
    session: AsyncSession, actor: User, organization_id: uuid.UUID
) -> Organization:
    organization = await session.get(Organization, organization_id)
    if organization is None or not policies.can_view_organization(actor, organization.id):
        raise OrganizationNotFound()
    return organization


async def get_manageable_organization(
    session: AsyncSession, actor: User, organization_id: uuid.UUID
) -> Organization:
    organization = await get_visible_organization(session, actor, organization_id)
    if not policies.can_manage_organization(actor, organization.id):
        raise CannotManageUser("Only the organization's principal or an admin manages it")
    return organization


async def update_organization(
    session: AsyncSession, actor: User, organization_id: uuid.UUID, data: OrganizationUpdate
) -> Organization:
    organization = await get_manageable_organization(session, actor, organization_id)
    before = audit.snapshot(organization, ("name", "slug"))
    if data.name is not None:
        organization.name = data.name
    if data.slug is not None and data.slug != organization.slug:
        try:
            async with session.begin_nested():
                organization.slug = data.slug
                await session.flush()
        except IntegrityError as exc:
            raise OrganizationSlugTaken(f"The slug {data.slug!r} is taken") from exc
    if changes := audit.changes_of(before, organization):
        _record_organization(session, audit.ORGANIZATION_UPDATED, actor, organization, changes)
    await session.flush()
    return organization


@dataclass(frozen=True, slots=True)
class MemberAdded:
    """Adding a member: the account that joined, or the invitation sent to an address
    without one (exactly one of them is set)."""

    user: User | None = None
    invitation: OrganizationInvitation | None = None


async def add_member(
    session: AsyncSession, actor: User, organization_id: uuid.UUID, data: MemberAdd
) -> MemberAdded:
    """An existing account joins now; an unknown address gets an emailed invitation."""
    organization = await get_manageable_organization(session, actor, organization_id)
    if not policies.can_assign_role(actor, data.role):
        raise RoleNotAssignable("Only admins give the admin role")
    email = normalize_email(data.email)
    account = await get_user_by_email(session, email)
    if account is not None:
        # Locked and re-read: of two organisations adding the same person at once, the
        # second sees the first's membership (`user_in_other_organization`).
        locked = await _lock_user(session, account.id, with_admins=True)
        if locked.user is not None and locked.user.deleted_at is None:
            return await _join(session, actor, organization, locked, data.role)
    invitation = await session.scalar(
        select(OrganizationInvitation).where(
            OrganizationInvitation.organization_id == organization.id,
            OrganizationInvitation.email == email,
        )
    )
    if invitation is None:
        invitation = OrganizationInvitation(
            organization_id=organization.id, email=email, role=data.role.value, invited_by_id=actor.id
        )
        try:
            async with session.begin_nested():
                session.add(invitation)
        except IntegrityError:  # invited concurrently: update that one
            invitation = await session.scalar(
                select(OrganizationInvitation).where(
                    OrganizationInvitation.organization_id == organization.id,
                    OrganizationInvitation.email == email,
                )
            )
            assert invitation is not None
    invitation.role = data.role.value
    invitation.invited_by_id = actor.id
    invitation.accepted_at = None
    invitation.accepted_user_id = None
    invitation.revoked_at = None
    invitation.created_at = utcnow()
    await session.flush()
    emit(session, event_types.ORGANIZATION_INVITATION_CREATED, {"invitation_id": invitation.id})
    return MemberAdded(invitation=invitation)


async def list_invitations(
    session: AsyncSession, actor: User, organization_id: uuid.UUID, params: PageParams, *, pending: bool
) -> tuple[Sequence[OrganizationInvitation], int]:
    """The organisation's invitations, newest first; `pending`: neither accepted nor withdrawn."""
    organization = await get_manageable_organization(session, actor, organization_id)
    statement = select(OrganizationInvitation).where(
        OrganizationInvitation.organization_id == organization.id
    )
    if pending:
        statement = statement.where(
            OrganizationInvitation.accepted_at.is_(None), OrganizationInvitation.revoked_at.is_(None)
        )
    ordered = statement.order_by(OrganizationInvitation.created_at.desc(), OrganizationInvitation.id)
    return await fetch_page(session, ordered, params)


async def revoke_invitation(
    session: AsyncSession, actor: User, organization_id: uuid.UUID, invitation_id: uuid.UUID
) -> None:
    """Withdraws a pending invitation by one conditional UPDATE, so of two concurrent
    withdrawals one wins; the other, like an accepted or unknown one, is not found."""
    organization = await get_manageable_organization(session, actor, organization_id)
    result = await session.execute(
        update(OrganizationInvitation)
        .where(
            OrganizationInvitation.id == invitation_id,
            OrganizationInvitation.organization_id == organization.id,
            OrganizationInvitation.accepted_at.is_(None),
            OrganizationInvitation.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        raise InvitationNotFound()


async def _join(
    session: AsyncSession, actor: User, organization: Organization, locked: LockedUser, role: Role
) -> MemberAdded:
    """Adds an existing (locked) account; adding a member again only sets the role."""
    user = locked.user
    assert user is not None
    if user.organization_id not in (None, organization.id):
        raise UserInOtherOrganization()
    if user.role == Role.ADMIN and not policies.is_admin(actor):
        raise CannotManageUser("Only admins change admins")
    if role != Role.ADMIN:
        locked.require_another_admin()
    joined = user.organization_id is None
    before = audit.snapshot(user, ("organization_id", "role"))
    user.organization_id = organization.id
    user.role = role.value
    await public_card_changed(session)
    if joined:
        _record_membership(session, audit.ORGANIZATION_MEMBER_ADDED, actor, organization, user, before)
    elif changes := audit.changes_of(before, user):
        audit.record_user_change(session, audit.USER_ROLE_CHANGED, actor, user, changes)
    await session.flush()
    if joined:
        emit(
            session,
            event_types.ORGANIZATION_MEMBER_ADDED,
            {"organization_id": organization.id, "user_id": user.id, "by": actor.id},
        )
    return MemberAdded(user=user)


def _record_membership(
    session: AsyncSession,
    action: str,
    actor: User,
    organization: Organization,
    user: User,
    before: dict[str, Any],
) -> None:
    """A member joining or leaving: the entry names the user, in the organisation."""
    audit.record(
        session,
        action,
        actor=actor,
        resource_type="user",
        resource_id=user.id,
        organization_id=organization.id,
        changes=audit.changes_of(before, user),
    )


async def remove_member(
    session: AsyncSession, actor: User, organization_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    organization = await get_manageable_organization(session, actor, organization_id)
    user = (await _lock_user(session, user_id)).user
    if user is None or user.deleted_at is not None or user.organization_id != organization.id:
        raise UserNotFound()
    if not policies.can_manage_user(actor, user):
        raise CannotManageUser("Only admins change admins")
    before = audit.snapshot(user, ("organization_id",))
    user.organization_id = None
    _record_membership(session, audit.ORGANIZATION_MEMBER_REMOVED, actor, organization, user, before)
    await session.flush()
    emit(
        session,
        event_types.ORGANIZATION_MEMBER_REMOVED,
        {"organization_id": organization.id, "user_id": user.id, "by": actor.id},
    )
