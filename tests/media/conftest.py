"""Media fixtures: the Mux stub server, apps that use it, and a Mux signing key."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import RSAKey

from tests.factories import MUX_WEBHOOK_SECRET, AppFactory, client_for
from tests.mux_stub import TOKEN_ID, TOKEN_SECRET, MuxStub


@pytest.fixture(scope="session")
def mux_server() -> Iterator[MuxStub]:
    stub = MuxStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def mux(mux_server: MuxStub) -> MuxStub:
    """The Mux stub, emptied of earlier tests' uploads and assets."""
    mux_server.reset()
    return mux_server


def mux_settings(stub: MuxStub, **overrides: Any) -> dict[str, Any]:
    return {
        "video_provider": "mux",
        "mux_token_id": TOKEN_ID,
        "mux_token_secret": TOKEN_SECRET,
        "mux_webhook_secret": MUX_WEBHOOK_SECRET,
        "mux_api_url": stub.url,
        "mux_http_timeout": 2.0,
        **overrides,
    }


@pytest.fixture
async def mux_app(make_app: AppFactory, mux: MuxStub) -> FastAPI:
    """An app whose videos go to the Mux stub (public playback: no signing key)."""
    return await make_app(**mux_settings(mux))


@pytest.fixture
async def mux_client(mux_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(mux_app) as http:
        yield http


@dataclass(frozen=True)
class SigningKeyPair:
    key_id: str
    #: As Mux hands it out (and MUX_SIGNING_KEY_PRIVATE takes it): base64 of the PEM.
    private_base64: str
    public: RSAKey


@pytest.fixture(scope="session")
def signing_key() -> SigningKeyPair:
    key = RSAKey.generate_key(2048)
    public = RSAKey.import_key(key.as_pem(private=False))
    return SigningKeyPair("stub-signing-key", base64.b64encode(key.as_pem(private=True)).decode(), public)
