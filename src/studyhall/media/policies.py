"""What an upload may be, and who may act on a file as its uploader; who may *see* a file,
which depends on what it is attached to, is decided in `media.access`."""

from __future__ import annotations

from collections.abc import Iterable

from studyhall.identity.models import User
from studyhall.identity.policies import is_admin
from studyhall.media.models import File


def accepts_content_type(accepted: Iterable[str], content_type: str) -> bool:
    """`content_type` is one of `accepted`, or of a family `type/*` among them."""
    family = content_type.split("/", 1)[0] + "/*"
    return any(pattern in (content_type, family) for pattern in accepted)


def is_uploader(user: User | None, file: File) -> bool:
    return user is not None and user.id == file.owner_id


def sees_every_file(user: User | None) -> bool:
    """The uploader always sees their own file; admins see every file."""
    return user is not None and is_admin(user)
