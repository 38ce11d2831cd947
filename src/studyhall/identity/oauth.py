"""Talking to OpenID Connect providers (Authlib): discovery, the authorization URL with
PKCE (S256) and nonce, the code exchange, and ID token verification against the
provider's JWKS (signature, `iss`, `aud`, `exp`, `nonce`).

No database and no HTTP framework here; identity's service decides what a verified
identity means for accounts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from studyhall.config import OAuthProvider
from studyhall.identity.errors import OAuthFailed, OAuthProviderNotFound, OAuthProviderUnavailable

SCOPE = "openid email profile"
METADATA_TTL_SECONDS = 3600.0
#: Clock skew tolerated on `exp`/`iat`/`nbf` of ID tokens.
ID_TOKEN_LEEWAY_SECONDS = 60


@dataclass(frozen=True)
class AuthorizationRequest:
    """What the callback must later match: kept server-side, never sent back to the client
    except `state` (and `nonce`/`code_challenge`, which are safe to disclose)."""

    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class VerifiedIdentity:
    provider: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None


def _is_true(value: Any) -> bool:
    # Some providers send `email_verified` as the string "true".
    return value is True or (isinstance(value, str) and value.lower() == "true")


class OAuthProviders:
    """The configured providers; discovery documents and key sets are cached per process."""

    def __init__(
        self,
        providers: dict[str, OAuthProvider],
        *,
        timeout: float = 10.0,
        client_options: dict[str, Any] | None = None,
    ) -> None:
        self._providers = providers
        self._timeout = timeout
        #: Extra `httpx.AsyncClient` options (e.g. `event_hooks`, `transport`).
        self.client_options: dict[str, Any] = dict(client_options or {})
        self._metadata: dict[str, tuple[float, dict[str, Any]]] = {}
        self._jwks: dict[str, dict[str, Any]] = {}

    def names(self) -> list[str]:
        """The configured providers' names, in configuration order."""
        return list(self._providers)

    def get(self, name: str) -> OAuthProvider:
        provider = self._providers.get(name)
        if provider is None:
            raise OAuthProviderNotFound(f"No sign-in provider named {name!r} is configured")
        return provider

    def _client(self, provider: OAuthProvider, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            scope=SCOPE,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=self._timeout,
            **self.client_options,
        )

    async def _get_json(self, provider: OAuthProvider, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self._timeout, **self.client_options) as http:
                response = await http.get(url)
                response.raise_for_status()
                data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OAuthProviderUnavailable(f"{provider.name}: {url} could not be read") from exc
        if not isinstance(data, dict):
            raise OAuthProviderUnavailable(f"{provider.name}: {url} is not a JSON object")
        return data

    async def metadata(self, provider: OAuthProvider) -> dict[str, Any]:
        cached = self._metadata.get(provider.name)
        if cached is not None and time.monotonic() - cached[0] < METADATA_TTL_SECONDS:
            return cached[1]
        data = await self._get_json(provider, provider.discovery_url)
        for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(data.get(key), str):
                raise OAuthProviderUnavailable(f"{provider.name}: discovery lacks {key!r}")
        self._metadata[provider.name] = (time.monotonic(), data)
        return data

    async def _key_set(self, provider: OAuthProvider, *, refresh: bool = False) -> KeySet:
        metadata = await self.metadata(provider)
        jwks = None if refresh else self._jwks.get(provider.name)
        if jwks is None:
            jwks = await self._get_json(provider, metadata["jwks_uri"])
            self._jwks[provider.name] = jwks
        try:
            return KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise OAuthProviderUnavailable(f"{provider.name}: unusable JWKS") from exc

    async def authorization_request(self, provider: OAuthProvider, redirect_uri: str) -> AuthorizationRequest:
        metadata = await self.metadata(provider)
        state, nonce, code_verifier = generate_token(43), generate_token(43), generate_token(64)
        async with self._client(provider, redirect_uri) as client:
            url, _ = client.create_authorization_url(
                metadata["authorization_endpoint"],
                state=state,
                nonce=nonce,
                code_verifier=code_verifier,
            )
        return AuthorizationRequest(url=url, state=state, nonce=nonce, code_verifier=code_verifier)

    async def finish(
        self, provider: OAuthProvider, *, code: str, redirect_uri: str, code_verifier: str, nonce: str
    ) -> VerifiedIdentity:
        """Exchanges the code (with the PKCE verifier) and verifies the ID token."""
        metadata = await self.metadata(provider)
        try:
            async with self._client(provider, redirect_uri) as client:
                token = await client.fetch_token(
                    metadata["token_endpoint"], code=code, code_verifier=code_verifier
                )
        except AuthlibBaseError as exc:  # an OAuth error answer (invalid_grant, ...)
            raise OAuthFailed(f"The provider refused the code: {exc.error}") from exc
        except httpx.HTTPError as exc:
            raise OAuthProviderUnavailable(f"{provider.name}: the token endpoint failed") from exc
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise OAuthFailed("The provider returned no ID token")
        claims = await self._verify_id_token(provider, metadata, id_token, token, nonce)
        return VerifiedIdentity(
            provider=provider.name,
            subject=str(claims["sub"]),
            email=claims["email"] if isinstance(claims.get("email"), str) else None,
            email_verified=_is_true(claims.get("email_verified")),
            name=claims["name"] if isinstance(claims.get("name"), str) else None,
        )

    async def _verify_id_token(
        self,
        provider: OAuthProvider,
        metadata: dict[str, Any],
        id_token: str,
        token: dict[str, Any],
        nonce: str,
    ) -> CodeIDToken:
        algorithms = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(algorithms=[alg for alg in algorithms if alg != "none"])
        try:
            try:
                decoded = jwt.decode(id_token, await self._key_set(provider), registry=registry)
            except JoseError:
                # The provider may have rotated its keys since they were cached.
                decoded = jwt.decode(id_token, await self._key_set(provider, refresh=True), registry=registry)
            claims = CodeIDToken(
                decoded.claims,
                decoded.header,
                {
                    "iss": {"essential": True, "value": metadata["issuer"]},
                    "aud": {"essential": True, "value": provider.client_id},
                    "nonce": {"essential": True, "value": nonce},
                },
                {"nonce": nonce, "client_id": provider.client_id, "access_token": token.get("access_token")},
            )
            claims.validate(leeway=ID_TOKEN_LEEWAY_SECONDS)
        except (JoseError, ValueError) as exc:
            raise OAuthFailed(f"The ID token did not verify: {exc}") from exc
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise OAuthFailed("The ID token has no subject")
        return claims
