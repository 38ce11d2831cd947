"""Identity's HTTP layer: `/auth`, `/users`, `/organizations` (thin: parse, call, answer)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Path, Query, Request, Response, status
from fastapi.responses import RedirectResponse
from fastapi.security import OAuth2PasswordRequestForm

from studyhall.config import Settings
from studyhall.core.deps import SessionDep, SettingsDep, writes_on_read
from studyhall.core.errors import DomainError
from studyhall.core.openapi import error_responses
from studyhall.core.pagination import Page, PageParamsDep
from studyhall.core.routing import DomainRouter
from studyhall.identity import service
from studyhall.identity.deps import (
    AccessClaims,
    AdminOrPrincipalUser,
    AdminUser,
    AuthConfigDep,
    ClientInfoDep,
    CurrentUser,
    OAuthProvidersDep,
    PasswordHasherDep,
    RateLimiterDep,
)
from studyhall.identity.errors import OAuthDenied, OAuthFailed, OAuthStateInvalid
from studyhall.identity.models import Role, User
from studyhall.identity.schemas import (
    AppSecret,
    EmailVerificationConfirm,
    InvitationRead,
    LoginRequest,
    MemberAdd,
    MemberAddResult,
    MeUpdate,
    OAuthExchange,
    OAuthProviderList,
    OAuthProviderRead,
    OrganizationCreate,
    OrganizationRead,
    OrganizationUpdate,
    PasswordChange,
    PasswordResetConfirm,
    PasswordResetRequest,
    RefreshRequest,
    RegisterRequest,
    SessionRead,
    TokenCheck,
    TokenPair,
    UserRead,
    UserUpdate,
)

auth_router = DomainRouter(prefix="/auth", tags=["auth"])
users_router = DomainRouter(prefix="/users", tags=["users"])
organizations_router = DomainRouter(prefix="/organizations", tags=["organizations"])


def _login_limits_keys(client_ip: str | None, email: str) -> tuple[str, str]:
    return client_ip or "unknown", service.normalize_email(email)


# -- auth ----------------------------------------------------------------------------------


@auth_router.get(
    "/me",
    summary="The signed-in user",
    responses=error_responses(401, 422),
)
async def me(user: CurrentUser) -> UserRead:
    return UserRead.model_validate(user)


@auth_router.patch(
    "/me",
    summary="Update my profile",
    description="Only `full_name`, `bio` and `avatar_file_id`; any other field is `422`.",
    responses=error_responses(401, 422),
)
async def update_me(body: MeUpdate, user: CurrentUser, session: SessionDep) -> UserRead:
    return UserRead.model_validate(await service.update_me(session, user, body))


@auth_router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    summary="Create an account",
    description=(
        "Creates a `student` account (the role cannot be chosen here; unknown fields are "
        "`422`). Emails are unique whatever their letter case (`409 email_taken`). Password "
        "policy: at least 10 characters, not only digits, not the email address (`422`). A "
        "pending organisation invitation for the address attaches the account to that "
        "organisation with the invited role. A verification email is sent. Rate limited "
        "per IP (`RATE_LIMIT_REGISTER`)."
    ),
    responses=error_responses(401, 422, 409, 429, status_409="`email_taken`"),
)
async def register(
    body: RegisterRequest,
    session: SessionDep,
    passwords: PasswordHasherDep,
    limiter: RateLimiterDep,
    settings: SettingsDep,
    client: ClientInfoDep,
) -> UserRead:
    await limiter.hit("register-ip", settings.rate_limit_register, client.ip or "unknown")
    user = await service.register(
        session, passwords, email=body.email, password=body.password, full_name=body.full_name
    )
    return UserRead.model_validate(user)


async def _login(
    session: SessionDep,
    config: AuthConfigDep,
    limiter: RateLimiterDep,
    settings: SettingsDep,
    client: ClientInfoDep,
    email: str,
    password: str,
) -> TokenPair:
    ip, email_key = _login_limits_keys(client.ip, email)
    await limiter.hit("login-ip", settings.rate_limit_login, ip)
    await limiter.hit("login-email", settings.rate_limit_login, email_key)
    return TokenPair.of(await service.login(session, config, email=email, password=password, client=client))


_LOGIN_ERRORS = error_responses(
    401,
    422,
    403,
    429,
    status_401="`invalid_credentials`: wrong email or password (the same answer for both)",
    status_403="`account_disabled`",
)


@auth_router.post(
    "/login",
    summary="Sign in",
    description=(
        "Returns an access token (a short-lived JWT, or JWE with `TOKEN_ENCRYPTION=jwe`) and a "
        "single-use refresh token that starts a session. A wrong email or password is the "
        "same `401 invalid_credentials`, in about the same time; a deactivated account is "
        "`403 account_disabled`. Rate limited per IP and per email (`RATE_LIMIT_LOGIN`)."
    ),
    responses=_LOGIN_ERRORS,
)
async def login(
    body: LoginRequest,
    session: SessionDep,
    config: AuthConfigDep,
    limiter: RateLimiterDep,
    settings: SettingsDep,
    client: ClientInfoDep,
) -> TokenPair:
    return await _login(session, config, limiter, settings, client, body.email, body.password)


@auth_router.post(
    "/token",
    summary="Sign in (OAuth2 password grant form)",
    description=(
        "The same as `POST /auth/login`, as an OAuth2 password-grant form "
        "(`username` is the email), so the Authorize button of the API docs works."
    ),
    responses=_LOGIN_ERRORS,
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    config: AuthConfigDep,
    limiter: RateLimiterDep,
    settings: SettingsDep,
    client: ClientInfoDep,
) -> TokenPair:
    return await _login(session, config, limiter, settings, client, form.username, form.password)


@auth_router.post(
    "/refresh",
    summary="Exchange a refresh token for a new pair",
    description=(
        "Refresh tokens are single-use: each refresh revokes the presented token and returns "
        "a new pair in the same session. Presenting an already rotated token again revokes "
        "the whole session (`401 refresh_token_reused`): someone else may hold a copy. "
        "Unknown, expired or revoked tokens are `401 invalid_refresh_token`."
    ),
    responses=error_responses(401, 422, status_401="`invalid_refresh_token` or `refresh_token_reused`"),
)
async def refresh(
    body: RefreshRequest, session: SessionDep, config: AuthConfigDep, client: ClientInfoDep
) -> TokenPair:
    return TokenPair.of(
        await service.refresh(session, config, refresh_token=body.refresh_token, client=client)
    )


@auth_router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Sign out of one session",
    description=(
        "Revokes the session the refresh token belongs to: every access token issued for it "
        "stops working at once (`401 session_revoked`). Needs no access token (it may have "
        "expired): holding the refresh token is enough. Unknown or already revoked tokens are "
        "`401 invalid_refresh_token`."
    ),
    responses=error_responses(401, 422, status_401="`invalid_refresh_token`"),
)
async def logout(body: RefreshRequest, session: SessionDep) -> Response:
    await service.logout(session, body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@auth_router.post(
    "/logout-all",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Sign out everywhere",
    description=(
        "Revokes every session of the caller: every access token issued so far answers "
        "`401 session_revoked` from now on."
    ),
    responses=error_responses(401, 422),
)
async def logout_all(user: CurrentUser, session: SessionDep) -> Response:
    service.end_access_tokens(user)
    await service.revoke_user_sessions(session, user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@auth_router.get(
    "/sessions",
    summary="My active sessions",
    description=(
        "One entry per signed-in device (a refresh-token family, whose `id` stays the same "
        "across refreshes), most recently used first."
    ),
    responses=error_responses(401, 422),
)
async def list_sessions(user: CurrentUser, session: SessionDep, page: PageParamsDep) -> Page[SessionRead]:
    rows, total = await service.list_sessions(session, user, page)
    items = [
        SessionRead(
            id=row.family_id,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_at=row.expires_at,
            user_agent=row.user_agent,
            ip=row.ip,
        )
        for row in rows
    ]
    return Page[SessionRead].of(items, total, page)


@auth_router.delete(
    "/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Revoke one of my sessions",
    description=(
        "`id` is a session of `GET /auth/sessions` (the `sid` claim of its access tokens). Its "
        "refresh token and access tokens stop working at once (`401 session_revoked`); "
        "revoking the session one is using signs oneself out."
    ),
    responses=error_responses(401, 422, 404, status_404="`session_not_found`"),
)
async def revoke_session(session_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Response:
    await service.revoke_session(session, user, session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@auth_router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Change my password",
    description=(
        "Needs the current password (`403 wrong_password`). Every other session is revoked "
        "(their access tokens answer `401 session_revoked`) and this session's access tokens "
        "end (`401 invalid_token`): refresh with this session's refresh token to go on."
    ),
    responses=error_responses(401, 422, 403, status_403="`wrong_password`"),
)
async def change_password(
    body: PasswordChange,
    user: CurrentUser,
    claims: AccessClaims,
    session: SessionDep,
    passwords: PasswordHasherDep,
) -> Response:
    await service.change_password(
        session,
        passwords,
        user,
        current_password=body.current_password,
        new_password=body.new_password,
        current_session_id=uuid.UUID(claims["sid"]),  # checked live by `CurrentUser`
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@auth_router.post(
    "/password-reset/request",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,
    summary="Email a password reset link",
    description=(
        "Always `202`, whether or not the address has an account (no user enumeration). An "
        "account gets `{APP_URL}/reset-password?token=...`, valid for "
        "`PASSWORD_RESET_TTL_MINUTES` (1 hour) and once. Rate limited per IP "
        "(`RATE_LIMIT_PASSWORD_RESET`)."
    ),
    responses=error_responses(401, 422, 429),
)
async def request_password_reset(
    body: PasswordResetRequest,
    session: SessionDep,
    limiter: RateLimiterDep,
    settings: SettingsDep,
    client: ClientInfoDep,
) -> Response:
    await limiter.hit("password-reset-ip", settings.rate_limit_password_reset, client.ip or "unknown")
    await service.request_password_reset(session, body.email)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@auth_router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Set a new password with an emailed token",
    description=(
        "The token works once and expires (`404 invalid_reset_token`). Every session is "
        "revoked, every access token ends, and the email counts as verified."
    ),
    responses=error_responses(401, 422, 404, status_404="`invalid_reset_token`: unknown, used or expired"),
)
async def confirm_password_reset(
    body: PasswordResetConfirm, session: SessionDep, passwords: PasswordHasherDep
) -> Response:
    await service.confirm_password_reset(session, passwords, token=body.token, new_password=body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@auth_router.post(
    "/verify-email/request",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,
    summary="Email a verification link",
    description=(
        "Sends `{APP_URL}/verify-email?token=...` to the caller (nothing when already "
        "verified). Rate limited per user (`RATE_LIMIT_EMAIL_VERIFICATION`)."
    ),
    responses=error_responses(401, 422, 429),
)
async def request_email_verification(
    user: CurrentUser, session: SessionDep, limiter: RateLimiterDep, settings: SettingsDep
) -> Response:
    await limiter.hit("verify-email-user", settings.rate_limit_email_verification, str(user.id))
    await service.request_email_verification(session, user)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@auth_router.post(
    "/verify-email/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Confirm an email address with an emailed token",
    description=(
        "Needs no sign-in: the link may be opened on another device. `404 invalid_verification_token`."
    ),
    responses=error_responses(
        401, 422, 404, status_404="`invalid_verification_token`: unknown, used or expired"
    ),
)
async def confirm_email_verification(body: EmailVerificationConfirm, session: SessionDep) -> Response:
    await service.confirm_email_verification(session, body.token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@auth_router.get(
    "/verify",
    summary="Check the bearer token",
    description="`{valid: true, sub, role, exp}` for a live token; `401` otherwise.",
    responses=error_responses(401, 422),
)
async def verify(user: CurrentUser, claims: AccessClaims) -> TokenCheck:
    return TokenCheck(sub=user.id, role=Role(user.role), exp=int(claims["exp"]))


# -- users -------------------------------------------------------------------------------


@users_router.get(
    "",
    summary="List users",
    description=(
        "Admins see every user; principals only their organisation's. Filters: `role`, `q` "
        "(part of the name or email), `organization_id`, `include_deleted`."
    ),
    responses=error_responses(401, 422, 403),
)
async def list_users(
    actor: AdminOrPrincipalUser,
    session: SessionDep,
    page: PageParamsDep,
    role: Role | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    organization_id: uuid.UUID | None = None,
    include_deleted: bool = False,
) -> Page[UserRead]:
    rows, total = await service.list_users(
        session,
        actor,
        page,
        role=role,
        q=q,
        organization_id=organization_id,
        include_deleted=include_deleted,
    )
    return Page[UserRead].of([UserRead.model_validate(row) for row in rows], total, page)


@users_router.get(
    "/{user_id}",
    summary="One user",
    description="Admins, the user's organisation principal and the user themselves; `404` for anyone else.",
    responses=error_responses(401, 422, 404, status_404="`user_not_found`"),
)
async def get_user(user_id: uuid.UUID, actor: CurrentUser, session: SessionDep) -> UserRead:
    return UserRead.model_validate(await service.get_visible_user(session, actor, user_id))


@users_router.patch(
    "/{user_id}",
    summary="Change a user",
    description=(
        "Admins change anyone. A principal changes non-admin users of their organisation and "
        "never gives or takes the admin role (`403 role_not_assignable`), nor moves users to "
        "another organisation (`403 organization_not_allowed`). Deactivating "
        "(`is_active: false`) revokes the user's sessions and access tokens at once. The last "
        "active admin can be neither demoted nor deactivated (`409 last_admin`)."
    ),
    responses=error_responses(
        401,
        422,
        403,
        404,
        409,
        status_403="`cannot_manage_user`, `role_not_assignable`, `organization_not_allowed`",
        status_409="`last_admin`",
    ),
)
async def update_user(
    user_id: uuid.UUID, body: UserUpdate, actor: AdminOrPrincipalUser, session: SessionDep
) -> UserRead:
    return UserRead.model_validate(await service.update_user(session, actor, user_id, body))


@users_router.delete(
    "/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Soft-delete a user",
    description=(
        "Admins only. The user can no longer sign in; sessions and access tokens end at once. "
        "Deleting an already deleted user is `404`; the last active admin cannot be deleted "
        "(`409 last_admin`)."
    ),
    responses=error_responses(
        401, 422, 403, 404, 409, status_404="`user_not_found`", status_409="`last_admin`"
    ),
)
async def delete_user(user_id: uuid.UUID, actor: AdminUser, session: SessionDep) -> Response:
    await service.delete_user(session, actor, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@users_router.post(
    "/{user_id}/restore",
    summary="Restore a soft-deleted user",
    description="Admins only. Idempotent. Tokens issued before the deletion stay invalid.",
    responses=error_responses(401, 422, 403, 404, status_404="`user_not_found`"),
)
async def restore_user(user_id: uuid.UUID, actor: AdminUser, session: SessionDep) -> UserRead:
    return UserRead.model_validate(await service.restore_user(session, actor, user_id))


# -- organisations -------------------------------------------------------------------------


@organizations_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create an organisation",
    description="Admins only. `slug` is unique (`409 organization_slug_taken`).",
    responses=error_responses(401, 422, 403, 409, status_409="`organization_slug_taken`"),
)
async def create_organization(
    body: OrganizationCreate, actor: AdminUser, session: SessionDep
) -> OrganizationRead:
    return OrganizationRead.model_validate(await service.create_organization(session, actor, body))


@organizations_router.get(
    "",
    summary="List organisations",
    description="Admins see all; everyone else sees only their own organisation.",
    responses=error_responses(401, 422),
)
async def list_organizations(
    actor: CurrentUser, session: SessionDep, page: PageParamsDep
) -> Page[OrganizationRead]:
    rows, total = await service.list_organizations(session, actor, page)
    return Page[OrganizationRead].of([OrganizationRead.model_validate(row) for row in rows], total, page)


@organizations_router.get(
    "/{organization_id}",
    summary="One organisation",
    description="Admins and the organisation's members; `404` for anyone else.",
    responses=error_responses(401, 422, 404, status_404="`organization_not_found`"),
)
async def get_organization(
    organization_id: uuid.UUID, actor: CurrentUser, session: SessionDep
) -> OrganizationRead:
    return OrganizationRead.model_validate(
        await service.get_visible_organization(session, actor, organization_id)
    )


@organizations_router.patch(
    "/{organization_id}",
    summary="Change an organisation",
    description="Admins and the organisation's principal.",
    responses=error_responses(
        401, 422, 403, 404, 409, status_404="`organization_not_found`", status_409="`organization_slug_taken`"
    ),
)
async def update_organization(
    organization_id: uuid.UUID, body: OrganizationUpdate, actor: CurrentUser, session: SessionDep
) -> OrganizationRead:
    return OrganizationRead.model_validate(
        await service.update_organization(session, actor, organization_id, body)
    )


@organizations_router.post(
    "/{organization_id}/members",
    status_code=status.HTTP_201_CREATED,
    summary="Add a member, or invite an address",
    description=(
        "Admins and the organisation's principal. An existing account joins at once with the "
        "given role (`status: added`); it must not belong to another organisation "
        "(`409 user_in_other_organization`). An address without an account gets an emailed "
        "invitation that attaches when it registers (`status: invited`). Only admins give "
        "the admin role (`403 role_not_assignable`); the last active admin keeps it "
        "(`409 last_admin`)."
    ),
    responses=error_responses(
        401,
        422,
        403,
        404,
        409,
        status_404="`organization_not_found`",
        status_409="`user_in_other_organization`, `last_admin`",
    ),
)
async def add_member(
    organization_id: uuid.UUID, body: MemberAdd, actor: CurrentUser, session: SessionDep
) -> MemberAddResult:
    return MemberAddResult.of(await service.add_member(session, actor, organization_id, body))


@organizations_router.delete(
    "/{organization_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Remove a member",
    description="Admins and the organisation's principal (who cannot remove admins).",
    responses=error_responses(401, 422, 403, 404, status_404="`organization_not_found` or `user_not_found`"),
)
async def remove_member(
    organization_id: uuid.UUID, user_id: uuid.UUID, actor: CurrentUser, session: SessionDep
) -> Response:
    await service.remove_member(session, actor, organization_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@organizations_router.get(
    "/{organization_id}/invitations",
    summary="The organisation's invitations",
    description=(
        "Admins and the organisation's principal. Invitations sent by "
        "`POST /organizations/{id}/members` to addresses without an account, newest first, "
        "with `accepted_at` (the address registered) and `revoked_at` (withdrawn). "
        "`pending=true`: only those neither accepted nor withdrawn."
    ),
    responses=error_responses(401, 422, 403, 404, status_404="`organization_not_found`"),
)
async def list_invitations(
    organization_id: uuid.UUID,
    actor: CurrentUser,
    session: SessionDep,
    page: PageParamsDep,
    pending: bool = False,
) -> Page[InvitationRead]:
    rows, total = await service.list_invitations(session, actor, organization_id, page, pending=pending)
    return Page[InvitationRead].of([InvitationRead.model_validate(row) for row in rows], total, page)


@organizations_router.delete(
    "/{organization_id}/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Withdraw an invitation",
    description=(
        "Admins and the organisation's principal. A pending invitation stops attaching: the "
        "address registers without joining. The row is kept with `revoked_at` set; inviting "
        "the address again renews it. An accepted, already withdrawn or unknown invitation is "
        "`404 invitation_not_found` (of two concurrent withdrawals, one is `204`)."
    ),
    responses=error_responses(
        401, 422, 403, 404, status_404="`organization_not_found` or `invitation_not_found`"
    ),
)
async def revoke_invitation(
    organization_id: uuid.UUID, invitation_id: uuid.UUID, actor: CurrentUser, session: SessionDep
) -> Response:
    await service.revoke_invitation(session, actor, organization_id, invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- sign-in with an OpenID Connect provider -------------------------------------------------

ProviderName = Annotated[
    str, Path(max_length=40, description="`google`, or the configured `OAUTH_OIDC_NAME`")
]


def _oauth_redirect_uri(request: Request, settings: SettingsDep, provider: str) -> str:
    if settings.oauth_redirect_base:
        path = request.app.url_path_for("oauth_callback", provider=provider)
        return settings.oauth_redirect_base.rstrip("/") + str(path)
    return str(request.url_for("oauth_callback", provider=provider))


@auth_router.get(
    "/oauth/providers",
    summary="The sign-in providers configured here",
    description=(
        "Anyone may ask. The providers `/auth/oauth/{provider}/authorize` accepts: `google` "
        "when Google sign-in is configured, and the generic OpenID Connect provider "
        "(`OAUTH_OIDC_NAME`) when it is; an empty list when neither is. The web app shows a "
        "sign-in button per item."
    ),
    responses=error_responses(422),
)
async def oauth_providers(providers: OAuthProvidersDep) -> OAuthProviderList:
    return OAuthProviderList(
        items=[OAuthProviderRead(name=name, label=_provider_label(name)) for name in providers.names()]
    )


def _provider_label(name: str) -> str:
    return "Google" if name == "google" else name.replace("-", " ").replace("_", " ").title()


@auth_router.get(
    "/oauth/{provider}/authorize",
    status_code=status.HTTP_302_FOUND,
    response_class=RedirectResponse,
    summary="Start signing in with Google or another OpenID Connect provider",
    description=(
        "Redirects (`302`) to the provider's authorization endpoint (found through OpenID "
        "Connect discovery) with `response_type=code`, `scope=openid email profile`, a "
        "single-use `state`, a `nonce` and PKCE (`code_challenge`, S256). The attempt is "
        "remembered server-side for `OAUTH_STATE_TTL_SECONDS` (10 min). The provider sends "
        "the browser back to `/auth/oauth/{provider}/callback`. Unknown or unconfigured "
        "provider: `404 oauth_provider_not_found`; provider unreachable: "
        "`502 oauth_provider_unavailable`. The web app adds `app_challenge` (base64url "
        "SHA-256 of a random verifier it keeps): the callback then sends the browser back to "
        "the web app with a one-time code instead of answering tokens (see "
        "`POST /auth/oauth/exchange`)."
    ),
    responses={
        302: {"description": "Redirect to the provider (`Location` header)"},
        **error_responses(
            404,
            422,
            502,
            status_404="`oauth_provider_not_found`",
            status_502="`oauth_provider_unavailable`",
        ),
    },
)
@writes_on_read  # stores the sign-in attempt's state
async def oauth_authorize(
    provider: ProviderName,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    providers: OAuthProvidersDep,
    app_challenge: Annotated[
        AppSecret | None,
        Query(description="The web app's challenge: base64url(SHA-256(verifier)), 43 characters"),
    ] = None,
) -> RedirectResponse:
    config = providers.get(provider)
    redirect_uri = _oauth_redirect_uri(request, settings, config.name)
    started = await providers.authorization_request(config, redirect_uri)
    await service.save_oauth_state(
        session,
        provider=config.name,
        state=started.state,
        nonce=started.nonce,
        code_verifier=started.code_verifier,
        redirect_uri=redirect_uri,
        ttl=timedelta(seconds=settings.oauth_state_ttl_seconds),
        app_challenge=app_challenge,
    )
    return RedirectResponse(started.url, status_code=status.HTTP_302_FOUND)


@auth_router.get(
    "/oauth/{provider}/callback",
    name="oauth_callback",
    response_model=TokenPair,
    summary="Finish signing in with a provider",
    description=(
        "Where the provider sends the browser back with `code` and `state`. The `state` must "
        "be one this API issued for this provider, unexpired and unused: it is consumed at "
        "once, so replaying a callback fails (`400 oauth_state_invalid`). The code is "
        "exchanged with the PKCE `code_verifier`; the ID token is verified against the "
        "provider's keys (signature, `iss`, `aud`, `exp`, `nonce`), else `401 oauth_failed`. "
        "A provider `error` is `401 oauth_denied`. The email must be present and verified "
        "(`403 oauth_email_unverified`). A user already linked to the provider's subject signs "
        "in (even if their email changed since); otherwise an account with that email is "
        "linked, or a `student` account is created (pending organisation invitations attach). "
        "Deactivated or deleted account: `403 account_disabled`. Answers the same token pair "
        "as `POST /auth/login`. Rate limited per IP (`RATE_LIMIT_LOGIN`). When the web app "
        "started the sign-in (`app_challenge`), the answer is instead a `303` to "
        "`{APP_URL}/oauth/finish#code=<one-time code>` (or `#error=<code>` when it failed "
        "after the `state` was accepted): the code is in the fragment, so it never reaches "
        "a server log, and only the tab holding the verifier can exchange it."
    ),
    responses=error_responses(
        400,
        401,
        403,
        404,
        422,
        429,
        502,
        status_400="`oauth_state_invalid`: unknown, expired, already used or tampered `state`",
        status_401="`oauth_denied` (the provider answered `error`) or `oauth_failed`",
        status_403="`oauth_email_unverified` or `account_disabled`",
        status_404="`oauth_provider_not_found`",
        status_502="`oauth_provider_unavailable`",
    ),
)
@writes_on_read  # signs in: creates the account, the identity, the session
async def oauth_callback(
    provider: ProviderName,
    session: SessionDep,
    config: AuthConfigDep,
    limiter: RateLimiterDep,
    settings: SettingsDep,
    client: ClientInfoDep,
    providers: OAuthProvidersDep,
    code: Annotated[str | None, Query(max_length=4096)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Any:
    oauth_provider = providers.get(provider)
    await limiter.hit("login-ip", settings.rate_limit_login, client.ip or "unknown")
    if not state:
        if error is not None:
            raise OAuthDenied(f"The provider answered: {error}")
        raise OAuthStateInvalid("The callback carries no `state`")
    started = await service.consume_oauth_state(session, provider=oauth_provider.name, state=state)
    # The state stays used whatever happens next, and no transaction is held open while the
    # provider is called.
    await session.commit()

    async def account() -> User:
        if error is not None:
            raise OAuthDenied(f"The provider answered: {error}")
        if not code:
            raise OAuthFailed("The callback carries no authorization code")
        identity = await providers.finish(
            oauth_provider,
            code=code,
            redirect_uri=started.redirect_uri,
            code_verifier=started.code_verifier,
            nonce=started.nonce,
        )
        return await service.oauth_account(
            session,
            config,
            provider=identity.provider,
            subject=identity.subject,
            email=identity.email,
            email_verified=identity.email_verified,
            name=identity.name,
        )

    if started.app_challenge is None:  # an API client: the token pair, as a password login
        return TokenPair.of(await service.start_session(session, config, await account(), client))
    try:
        handoff = await service.start_oauth_handoff(
            session, await account(), app_challenge=started.app_challenge
        )
    except DomainError as exc:
        await session.rollback()
        return _back_to_web_app(settings, error=exc.code)
    return _back_to_web_app(settings, code=handoff)


def _back_to_web_app(settings: Settings, **fragment: str) -> RedirectResponse:
    """To the web app's sign-in finish page, the outcome in the fragment (which browsers
    never send to a server, so no access log or `Referer` carries the code)."""
    target = f"{settings.app_url.rstrip('/')}/oauth/finish#{urlencode(fragment)}"
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


@auth_router.post(
    "/oauth/exchange",
    summary="Exchange the web app's one-time sign-in code for tokens",
    description=(
        "The last step of a provider sign-in the web app started: `code` comes from the "
        "fragment of the callback's redirect, `verifier` is the secret whose challenge the "
        "app sent to `authorize`. A code works once, for 60 seconds, and only with its "
        "verifier (a wrong one uses it up): else `401 oauth_code_invalid`. An account "
        "deactivated or deleted meanwhile: `403 account_disabled`. Answers the same token "
        "pair as `POST /auth/login`."
    ),
    responses=error_responses(
        401,
        403,
        422,
        status_401="`oauth_code_invalid`",
        status_403="`account_disabled`",
    ),
)
async def oauth_exchange(
    body: OAuthExchange, session: SessionDep, config: AuthConfigDep, client: ClientInfoDep
) -> TokenPair:
    return TokenPair.of(
        await service.exchange_oauth_handoff(
            session, config, code=body.code, verifier=body.verifier, client=client
        )
    )


#: Included by the application one by one, not through a parent router: each level of
#: nesting is one more round of route matching per request.
routers = (auth_router, users_router, organizations_router)
