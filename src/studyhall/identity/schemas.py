"""Identity's request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from studyhall.identity.models import Role

if TYPE_CHECKING:  # the service imports this module (request bodies)
    from studyhall.identity.service import IssuedTokens, MemberAdded

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 256


#: The password policy a schema can express (so the OpenAPI document states it): length and
#: "not only digits" (pattern `\D`: at least one non-digit). "Not the email address" needs the email
#: and is checked where it is known (`password_matches_email`).
NewPassword = Annotated[
    str,
    Field(
        min_length=PASSWORD_MIN_LENGTH,
        max_length=PASSWORD_MAX_LENGTH,
        pattern=r"\D",
        description=f"At least {PASSWORD_MIN_LENGTH} characters, not only digits, not the email address",
    ),
]


def _valid_email(value: str) -> str:
    """Syntax only (no DNS); the reserved `.test` domain is accepted for test set-ups."""
    try:
        return validate_email(value, check_deliverability=False, test_environment=True).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from exc


#: An email address for a new account or invitation.
Email = Annotated[
    str,
    Field(min_length=3, max_length=320),
    AfterValidator(_valid_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 320}),
]
#: A password given to be checked (login, current password): any length up to the maximum.
GivenPassword = Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)]
FullName = Annotated[str, Field(min_length=1, max_length=200)]
OpaqueToken = Annotated[str, Field(min_length=1, max_length=200)]


def password_matches_email(password: str, email: str) -> bool:
    return password.strip().casefold() == email.strip().casefold()


class StrictBody(BaseModel):
    """Request bodies reject unknown fields (no mass assignment of `role` and the like)."""

    model_config = ConfigDict(extra="forbid")


# -- auth ---------------------------------------------------------------------------------


class RegisterRequest(StrictBody):
    email: Email
    password: NewPassword
    full_name: FullName

    @model_validator(mode="after")
    def _password_is_not_the_email(self) -> RegisterRequest:
        if password_matches_email(self.password, self.email):
            raise ValueError("the password must not be the email address")
        return self


class LoginRequest(StrictBody):
    email: str = Field(min_length=1, max_length=320)
    password: GivenPassword


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int = Field(description="Seconds until the access token expires")

    @classmethod
    def of(cls, tokens: IssuedTokens) -> TokenPair:
        return cls.model_validate(tokens, from_attributes=True)


class RefreshRequest(StrictBody):
    refresh_token: OpaqueToken


class SessionRead(BaseModel):
    """A signed-in device: one refresh-token family."""

    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    ip: str | None


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    full_name: str
    bio: str | None
    avatar_file_id: uuid.UUID | None
    role: Role
    organization_id: uuid.UUID | None
    email_verified: bool
    is_active: bool
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None
    deleted_at: datetime | None


class MeUpdate(StrictBody):
    full_name: FullName | None = None
    bio: Annotated[str, Field(max_length=5000)] | None = None
    avatar_file_id: uuid.UUID | None = None


class PasswordChange(StrictBody):
    current_password: GivenPassword
    new_password: NewPassword


class PasswordResetRequest(StrictBody):
    email: str = Field(min_length=1, max_length=320)


class PasswordResetConfirm(StrictBody):
    token: OpaqueToken
    new_password: NewPassword


class EmailVerificationConfirm(StrictBody):
    token: OpaqueToken


class TokenCheck(BaseModel):
    valid: Literal[True] = True
    sub: uuid.UUID
    role: Role
    exp: int = Field(description="Expiry as a Unix timestamp")


class OAuthProviderRead(BaseModel):
    name: str = Field(description="The `{provider}` of `/auth/oauth/{provider}/authorize`")
    label: str = Field(description="What a sign-in button says: `Google`, or the provider's name")


class OAuthProviderList(BaseModel):
    items: list[OAuthProviderRead]


# -- users and organisations ---------------------------------------------------------------


class UserUpdate(StrictBody):
    full_name: FullName | None = None
    role: Role | None = None
    is_active: bool | None = None
    organization_id: uuid.UUID | None = None


Slug = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]


class OrganizationCreate(StrictBody):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    slug: Slug


class OrganizationUpdate(StrictBody):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    slug: Slug | None = None


class OrganizationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    slug: str
    created_at: datetime
    updated_at: datetime


class MemberAdd(StrictBody):
    email: Email
    role: Role = Role.STUDENT


class InvitationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    email: str
    role: Role
    created_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None = None


class MemberAddResult(BaseModel):
    """`added` with the user when the address has an account, else `invited`."""

    status: Literal["added", "invited"]
    user: UserRead | None = None
    invitation: InvitationRead | None = None

    @classmethod
    def of(cls, added: MemberAdded) -> MemberAddResult:
        if added.user is not None:
            return cls(status="added", user=UserRead.model_validate(added.user))
        return cls(status="invited", invitation=InvitationRead.model_validate(added.invitation))


#: base64url without padding of 32 random bytes (the verifier) or of a SHA-256 (the challenge).
AppSecret = Annotated[str, Field(min_length=43, max_length=43, pattern=r"^[A-Za-z0-9_-]{43}$")]


class OAuthExchange(StrictBody):
    """The web app's half of a provider sign-in: the one-time `code` from the callback's
    redirect and the `verifier` whose challenge it sent to `authorize`."""

    code: OpaqueToken
    verifier: AppSecret
