"""Mounting the panel at `/admin` on the application."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqladmin import Admin

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
    return admin
