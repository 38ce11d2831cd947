"""`GET /auth/oauth/providers`: the sign-in buttons the web app shows."""

from __future__ import annotations

from tests.factories import API, AppFactory, client_for


async def test_no_provider_configured_is_an_empty_list(make_app: AppFactory) -> None:
    async with client_for(await make_app()) as client:
        response = await client.get(f"{API}/auth/oauth/providers")
    assert (response.status_code, response.json()) == (200, {"items": []})


async def test_configured_providers_are_listed_without_secrets(make_app: AppFactory) -> None:
    app = await make_app(
        oauth_google_client_id="google-client",
        oauth_google_client_secret="google-secret-value",
        oauth_oidc_name="campus-login",
        oauth_oidc_issuer="https://login.example.edu",
        oauth_oidc_client_id="oidc-client",
        oauth_oidc_client_secret="oidc-secret-value",
    )
    async with client_for(app) as client:
        response = await client.get(f"{API}/auth/oauth/providers")
    assert response.status_code == 200
    assert response.json() == {
        "items": [{"name": "google", "label": "Google"}, {"name": "campus-login", "label": "Campus Login"}]
    }
    assert "secret" not in response.text and "client" not in response.text
