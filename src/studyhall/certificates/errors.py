"""Certificates' domain errors."""

from __future__ import annotations

from studyhall.core.errors import Conflict, NotFound, PermissionDenied


class CertificateNotFound(NotFound):
    code = "certificate_not_found"
    title = "Certificate not found"


class CannotRevokeCertificate(PermissionDenied):
    code = "cannot_revoke_certificate"
    title = "Only an admin or the course's principal may revoke this certificate"


class CertificateAlreadyRevoked(Conflict):
    code = "certificate_already_revoked"
    title = "The certificate is already revoked"
