"""Identity's domain errors."""

from __future__ import annotations

from studyhall.core.errors import Conflict, NotFound, PermissionDenied, Unauthenticated


class InvalidToken(Unauthenticated):
    code = "invalid_token"
    title = "Invalid or expired token"


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
