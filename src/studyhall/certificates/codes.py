"""Verification codes: 100 random bits as 20 Crockford base32 characters in four groups
(`7K3QF-M2XHD-9TNBW-RC4VE`). The alphabet has no I, L, O or U, so a code read aloud or typed
from paper is unambiguous; lookups accept any letter case, dashes or none, and the usual
misreadings (I and L for 1, O for 0)."""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 20  # 20 × 5 bits = 100 bits of entropy
GROUP = 5
_MISREADINGS = str.maketrans({"I": "1", "L": "1", "O": "0"})


def _grouped(compact: str) -> str:
    return "-".join(compact[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def new_code() -> str:
    return _grouped("".join(secrets.choice(ALPHABET) for _ in range(LENGTH)))


def normalize_code(text: str) -> str | None:
    """The stored form of a code as someone typed it, or None when it cannot be one."""
    compact = "".join(text.split()).replace("-", "").upper().translate(_MISREADINGS)
    if len(compact) != LENGTH or any(char not in ALPHABET for char in compact):
        return None
    return _grouped(compact)
