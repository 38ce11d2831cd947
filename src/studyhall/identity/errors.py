"""Identity's domain errors."""

from __future__ import annotations

from studyhall.core.errors import Conflict, DomainError, NotFound, PermissionDenied, Unauthenticated


class InvalidToken(Unauthenticated):
    code = "invalid_token"
    title = "Invalid or expired token"


class SessionRevoked(Unauthenticated):
    """The access token's session was signed out: logout, a revoked session, sign-out
    everywhere, a password change (other sessions) or reset, or a reused refresh token."""

    code = "session_revoked"
    title = "This session was signed out"


class InsufficientRole(PermissionDenied):
    code = "insufficient_role"
    title = "Your role does not allow this"


class UserNotFound(NotFound):
    code = "user_not_found"
    title = "User not found"


class OrganizationNotFound(NotFound):
    code = "organization_not_found"
    title = "Organization not found"


class EmailTaken(Conflict):
    code = "email_taken"
    title = "Email already registered"


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"
    title = "Wrong email or password"
    keeps_changes = True  # the failed sign-in's audit entry (the only change) must persist


class AccountDisabled(PermissionDenied):
    code = "account_disabled"
    title = "This account is disabled"


class InvalidRefreshToken(Unauthenticated):
    code = "invalid_refresh_token"
    title = "Invalid, expired or revoked refresh token"


class RefreshTokenReused(Unauthenticated):
    code = "refresh_token_reused"
    title = "Refresh token already used"
    keeps_changes = True  # the family's revocation must persist although the request fails


class SessionNotFound(NotFound):
    code = "session_not_found"
    title = "Session not found"


class WrongPassword(PermissionDenied):
    code = "wrong_password"
    title = "The current password is wrong"


class InvalidResetToken(NotFound):
    """No live token with that value: unknown, used or expired."""

    code = "invalid_reset_token"
    title = "Invalid or expired password reset token"


class InvalidVerificationToken(NotFound):
    """No live token with that value: unknown, used or expired."""

    code = "invalid_verification_token"
    title = "Invalid or expired email verification token"


class OrganizationSlugTaken(Conflict):
    code = "organization_slug_taken"
    title = "Organization slug already in use"


class LastAdmin(Conflict):
    """The change would leave the platform without an active admin."""

    code = "last_admin"
    title = "The last active admin cannot be demoted, deactivated or deleted"


class UserInOtherOrganization(Conflict):
    code = "user_in_other_organization"
    title = "The user belongs to another organization"


class CannotManageUser(PermissionDenied):
    code = "cannot_manage_user"
    title = "You may not change this user"


class RoleNotAssignable(PermissionDenied):
    code = "role_not_assignable"
    title = "You may not give this role"


class OrganizationNotAllowed(PermissionDenied):
    code = "organization_not_allowed"
    title = "You may not move users into that organization"


class OAuthProviderNotFound(NotFound):
    code = "oauth_provider_not_found"
    title = "Unknown sign-in provider"


class OAuthStateInvalid(DomainError):
    """Unknown, expired, already used or tampered `state`."""

    code = "oauth_state_invalid"
    status = 400
    title = "Invalid or expired sign-in attempt"


class OAuthDenied(DomainError):
    code = "oauth_denied"
    status = 401
    title = "The provider did not sign you in"


class OAuthFailed(DomainError):
    """The code exchange failed or the ID token did not verify (signature, issuer,
    audience, expiry, nonce)."""

    code = "oauth_failed"
    status = 401
    title = "Sign-in with the provider failed"


class OAuthEmailUnverified(PermissionDenied):
    code = "oauth_email_unverified"
    title = "The provider did not confirm a verified email address"


class OAuthProviderUnavailable(DomainError):
    code = "oauth_provider_unavailable"
    status = 502
    title = "The sign-in provider could not be reached"


class OAuthCodeInvalid(DomainError):
    """The web app's one-time sign-in code is unknown, expired, already used, or presented
    without the verifier of the tab that started the sign-in."""

    code = "oauth_code_invalid"
    status = 401
    title = "Invalid or expired sign-in code"
    keeps_changes = True  # a code presented with the wrong verifier stays used up


class InvitationNotFound(NotFound):
    """No pending invitation with that id in the organisation (accepted, withdrawn, or
    another organisation's)."""

    code = "invitation_not_found"
    title = "Invitation not found"
