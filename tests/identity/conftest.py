"""Identity helpers: the token of an emailed link."""

from __future__ import annotations

import re
from email.message import EmailMessage

from tests.factories import text_of


def token_in(message: EmailMessage, page: str) -> str:
    """The token of the `{APP_URL}/<page>?token=...` link in the message."""
    match = re.search(rf"/{page}\?token=([A-Za-z0-9_\-]+)", text_of(message))
    assert match, f"no {page} link in: {text_of(message)}"
    return match.group(1)
