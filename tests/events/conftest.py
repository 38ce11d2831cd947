"""Fixtures of the event delivery tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI

from studyhall.core.db import Database


@pytest.fixture
def database(app: FastAPI) -> Database:
    db: Database = app.state.database
    return db


@pytest.fixture
def markers(tmp_path: Path) -> Path:
    """A folder where the probe handlers mark what they started (see tests.event_probe)."""
    path = tmp_path / "markers"
    path.mkdir()
    return path
