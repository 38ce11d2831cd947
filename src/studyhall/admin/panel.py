"""Mounting the panel at `/admin` on the application."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqladmin import Admin
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import Scope

from studyhall.admin.security import AdminAuth, PanelServices, csrf_token
from studyhall.admin.views import VIEWS

TEMPLATES = Path(__file__).parent / "templates"


def install_admin(app: FastAPI) -> Admin:
    """The panel reads with the read-only sessions (nothing it lists can write) and changes
    through the domain services (`views.PanelView.change`). Its assets are sqladmin's own
    static files, served under `/admin/statics`: nothing comes from a CDN."""
    state = app.state
    admin = Admin(
        app,
        session_maker=state.database.read_only_sessionmaker,
        base_url="/admin",
        title="StudyHall admin",
        templates_dir=str(TEMPLATES),
        authentication_backend=AdminAuth(state.settings),
    )
    admin.admin.state.panel = PanelServices(
        settings=state.settings,
        database=state.database,
        passwords=state.passwords,
        tokens=state.tokens,
        rate_limiter=state.rate_limiter,
    )
    admin.admin.state.broker = state.broker
    admin.templates.env.globals["csrf_token"] = csrf_token
    for view in VIEWS:
        admin.add_view(view)
    _leave_api_paths_to_the_api(app)
    return admin


class _PanelMount(Mount):
    """The panel's mount, minus the paths an API route under `/admin` owns
    (`POST /admin/uploads`): another method there stays the API's `405`, not a panel page.
    Asked only for `/admin` requests, after the API's routes declined them."""

    def __init__(self, mount: Mount, api_routes: list[BaseRoute]) -> None:
        super().__init__(mount.path, app=mount.app, name=mount.name)
        self.api_routes = api_routes

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match != Match.NONE and any(route.matches(scope)[0] != Match.NONE for route in self.api_routes):
            return Match.NONE, {}
        return match, child_scope


def _leave_api_paths_to_the_api(app: FastAPI) -> None:
    routes: list[BaseRoute] = app.router.routes
    mount = routes[-1]  # sqladmin mounts itself last
    assert isinstance(mount, Mount) and mount.path == "/admin"
    routes[-1] = _PanelMount(mount, routes[:-1])
