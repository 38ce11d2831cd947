"""Video settings: what start-up refuses, and secrets that never show."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from joserfc.jwk import RSAKey
from pydantic import ValidationError

from studyhall.config import Settings
from studyhall.main import create_app
from studyhall.media.mux import SigningKey
from tests.conftest import make_settings
from tests.media.conftest import SigningKeyPair


def settings(tmp_path: Path, **overrides: object) -> Settings:
    return make_settings(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}", tmp_path, **overrides)


def test_the_local_provider_is_the_default(tmp_path: Path) -> None:
    assert settings(tmp_path).video_provider == "local"


def test_mux_needs_its_token(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="MUX_TOKEN_ID and MUX_TOKEN_SECRET"):
        settings(tmp_path, video_provider="mux", mux_token_id="id")


def test_a_signing_key_needs_both_halves(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="go together"):
        settings(tmp_path, mux_signing_key_id="key")


def test_secrets_stay_out_of_the_settings_repr(tmp_path: Path, signing_key: SigningKeyPair) -> None:
    shown = repr(
        settings(
            tmp_path,
            video_provider="mux",
            mux_token_id="token-id",
            mux_token_secret="token-secret-value",
            mux_webhook_secret="webhook-secret-value",
            mux_signing_key_id="key-id",
            mux_signing_key_private=signing_key.private_base64,
        )
    )
    assert "token-id" in shown
    for secret in ("token-secret-value", "webhook-secret-value", signing_key.private_base64[:40]):
        assert secret not in shown
    assert signing_key.private_base64[:40] not in repr(
        SigningKey.from_settings("key-id", signing_key.private_base64)
    )


def test_a_signing_key_that_cannot_sign_stops_the_start(tmp_path: Path) -> None:
    public_only = base64.b64encode(RSAKey.generate_key(2048).as_pem(private=False)).decode()
    for private in ("bm90IGEga2V5", public_only):
        with pytest.raises(ValueError, match="MUX_SIGNING_KEY_PRIVATE"):
            create_app(settings(tmp_path, mux_signing_key_id="key", mux_signing_key_private=private))


def test_a_raw_pem_is_accepted_too(signing_key: SigningKeyPair) -> None:
    pem = base64.b64decode(signing_key.private_base64).decode()
    assert SigningKey.from_settings("key", pem).key_id == "key"
