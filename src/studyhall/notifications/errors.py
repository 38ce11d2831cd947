"""Notifications' domain errors."""

from __future__ import annotations

from studyhall.core.errors import NotFound


class NotificationNotFound(NotFound):
    """No notification with that id among the caller's own (another user's is not found either)."""

    code = "notification_not_found"
    title = "Notification not found"
