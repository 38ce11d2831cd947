"""Identity's outbox event handlers: the emails (verification, password reset, invitation).

`studyhall.subscribers` says which events each one handles. They run after the request
committed. A handler creates the single-use token in its own transaction and puts it only in
the mail, so no table ever holds a usable token. Delivery is at least once: a retried event
mails a fresh token, and a token from a delivery whose transaction rolled back never works.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import urlencode

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core.db import session_settings
from studyhall.core.events import Event
from studyhall.core.mail import MailService, mail_service
from studyhall.identity import service
from studyhall.identity.models import Organization, OrganizationInvitation, TokenPurpose, User

logger = structlog.get_logger(__name__)


async def _live_user(session: AsyncSession, event: Event) -> User | None:
    user = await session.get(User, uuid.UUID(str(event.payload["user_id"])))
    if user is None or user.deleted_at is not None or not user.is_active:
        logger.info("mail_skipped_user_gone", event_type=event.type, event_id=str(event.id))
        return None
    return user


async def _send_verification(event: Event, session: AsyncSession, user: User) -> None:
    settings = session_settings(session)
    mail: MailService = mail_service(session)
    hours = settings.email_verification_ttl_hours
    token = await service.issue_one_time_token(
        session, user, TokenPurpose.EMAIL_VERIFICATION, timedelta(hours=hours)
    )
    await mail.send(
        "verify_email",
        user.email,
        {
            "full_name": user.full_name,
            "email": user.email,
            "valid_hours": hours,
            "link": mail.link("verify-email?" + urlencode({"token": token})),
        },
        message_id=str(event.id),
    )


async def send_email_verification(event: Event, session: AsyncSession) -> None:
    user = await _live_user(session, event)
    if user is not None and not user.email_verified:
        await _send_verification(event, session, user)


async def send_password_reset(event: Event, session: AsyncSession) -> None:
    user = await _live_user(session, event)
    if user is None:
        return
    settings = session_settings(session)
    mail = mail_service(session)
    minutes = settings.password_reset_ttl_minutes
    token = await service.issue_one_time_token(
        session, user, TokenPurpose.PASSWORD_RESET, timedelta(minutes=minutes)
    )
    await mail.send(
        "password_reset",
        user.email,
        {
            "full_name": user.full_name,
            "email": user.email,
            "valid_minutes": minutes,
            "link": mail.link("reset-password?" + urlencode({"token": token})),
        },
        message_id=str(event.id),
    )


async def send_invitation(event: Event, session: AsyncSession) -> None:
    invitation = await session.get(OrganizationInvitation, uuid.UUID(str(event.payload["invitation_id"])))
    if invitation is None or invitation.accepted_at is not None:
        return
    organization = await session.get(Organization, invitation.organization_id)
    if organization is None:
        return
    mail = mail_service(session)
    await mail.send(
        "organization_invitation",
        invitation.email,
        {
            "organization_name": organization.name,
            "role": invitation.role,
            "email": invitation.email,
            "link": mail.link("register?" + urlencode({"email": invitation.email})),
        },
        message_id=str(event.id),
    )
