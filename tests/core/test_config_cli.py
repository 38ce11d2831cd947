"""Settings validation and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from studyhall import __version__
from studyhall.cli import app as cli
from studyhall.config import DEFAULT_SECRET_KEY, Settings, normalize_database_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@h/db", "postgresql+asyncpg://u:p@h/db"),
        ("postgres://u:p@h:5433/db", "postgresql+asyncpg://u:p@h:5433/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:///./var/x.db", "sqlite+aiosqlite:///./var/x.db"),
    ],
)
def test_database_urls_are_normalised(given: str, expected: str) -> None:
    assert normalize_database_url(given) == expected
    assert Settings(database_url=given).database_url == expected


def test_default_database_is_sqlite_under_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'studyhall.db'}"
    assert settings.is_sqlite and settings.should_auto_migrate
    assert not Settings(database_url="postgresql://h/db").should_auto_migrate


@pytest.mark.parametrize("environment", ["production", "test"])
def test_default_secret_is_refused_outside_development(environment: str) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment=environment, secret_key=DEFAULT_SECRET_KEY)


def test_short_secret_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="32 characters"):
        Settings(environment="production", secret_key="short-but-not-default")


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("REDIS_URL", "redis://localhost:6379/0")
    settings = Settings()
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.log_level == "DEBUG"
    assert settings.redis_url == "redis://localhost:6379/0"


def test_secret_key_is_not_in_repr() -> None:
    assert "super-secret-value" not in repr(Settings(secret_key="super-secret-value"))


def test_cli_version() -> None:
    result = CliRunner().invoke(cli, ["version"])
    assert result.exit_code == 0
    assert result.output.strip() == __version__


def test_cli_openapi_writes_the_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "var"))
    target = tmp_path / "openapi.json"
    result = CliRunner().invoke(cli, ["openapi", "--output", str(target)])
    assert result.exit_code == 0, result.output
    spec = json.loads(target.read_text())
    assert spec["info"]["title"] == "StudyHall"
    assert "/health" in spec["paths"]


def test_cli_migrate_upgrade_current_downgrade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate", "current"]).stdout.strip() == "none"
    assert runner.invoke(cli, ["migrate", "upgrade"]).exit_code == 0
    assert runner.invoke(cli, ["migrate", "current"]).stdout.strip() != "none"
    assert runner.invoke(cli, ["migrate", "downgrade", "base"]).exit_code == 0
    assert runner.invoke(cli, ["migrate", "current"]).stdout.strip() == "none"
