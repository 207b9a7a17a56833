"""Shared fixtures: a live Facebook emulator, config files that point at it, databases."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from within_daemon.config import LoadedConfig, load_config
from within_daemon.sandbox import FacebookEmulator, SandboxAccount

from .pgserver import PgServer, start_server

TOKEN = "test-token-0123456789"

#: Connector settings that keep the error paths fast in tests.
FAST_FACEBOOK: dict[str, Any] = {
    "throttle_pause_seconds": 0.05,
    "backoff_base_seconds": 0.01,
    "poll_interval_seconds": 0.01,
    "max_pace_delay_seconds": 0.05,
    "breaker_reset_seconds": 0.2,
}


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    return repr(v)


def write_config(
    tmp_path: Path,
    *,
    base_url: str,
    accounts: list[dict[str, Any]],
    tasks: list[dict[str, Any]],
    facebook: dict[str, Any] | None = None,
    runtime: dict[str, Any] | None = None,
    db: str = "sqlite:///data/within.db",
    metrics: dict[str, Any] | None = None,
    enrichment: dict[str, Any] | None = None,
) -> Path:
    """Write a TOML config under ``tmp_path`` and return its path."""
    lines = ["[database]", f"url = {_toml_value(db)}", "", "[metrics]"]
    for k, v in (metrics or {"enabled": False}).items():
        lines.append(f"{k} = {_toml_value(v)}")
    # The sandbox accounts live in Los Angeles; scheduling in the same zone makes
    # "yesterday" a finished day for them, so every day of a window can be completed.
    rt = {"timezone": "America/Los_Angeles", **(runtime or {})}
    lines += ["", "[runtime]"] + [f"{k} = {_toml_value(v)}" for k, v in rt.items()]
    lines += ["", "[platforms.facebook]", f"base_url = {_toml_value(base_url)}"]
    for k, v in {**FAST_FACEBOOK, **(facebook or {})}.items():
        lines.append(f"{k} = {_toml_value(v)}")
    if enrichment:
        lines += ["", "[enrichment]"] + [f"{k} = {_toml_value(v)}" for k, v in enrichment.items()]
    for a in accounts:
        lines += ["", "[[accounts]]"] + [f"{k} = {_toml_value(v)}" for k, v in a.items()]
    for t in tasks:
        lines += ["", "[[tasks]]"] + [f"{k} = {_toml_value(v)}" for k, v in t.items()]
    path = tmp_path / "within.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def fb_account(account_id: str, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"platform": "facebook", "account_id": account_id,
                           "access_token": {"env": "WITHIN_TEST_TOKEN"}, "rate_limit": 60000}
    out.update(kw)
    return out


@pytest.fixture(autouse=True)
def _token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WITHIN_TEST_TOKEN", TOKEN)


@pytest.fixture
def sandbox_accounts() -> list[SandboxAccount]:
    return [
        SandboxAccount.with_ads("1000000001", "Healthy One", 12, active_from="2024-01-01"),
        SandboxAccount.with_ads("1000000002", "Healthy Two", 8, active_from="2024-01-01"),
    ]


@pytest.fixture
async def emulator(sandbox_accounts: list[SandboxAccount]) -> AsyncIterator[FacebookEmulator]:
    emu = FacebookEmulator(sandbox_accounts, job_step=50)
    async with emu.serve() as _url:
        yield emu


@pytest.fixture
def make_config(
    tmp_path: Path, emulator: FacebookEmulator, db_url: str
) -> Callable[..., LoadedConfig]:
    """Build a config pointing at the running emulator; keyword args as in write_config.

    The database is ``db_url``'s: every test built on this runs on SQLite and PostgreSQL.
    """

    def make(**kw: Any) -> LoadedConfig:
        kw.setdefault("db", db_url)
        kw.setdefault("accounts", [fb_account(a) for a in emulator.accounts])
        kw.setdefault("tasks", [{"name": "ads", "pipeline": "AdDataPipeline",
                                 "lookback_days": 5}])
        return load_config(write_config(tmp_path, base_url=emulator.base_url, **kw))

    return make


# -- databases: every loader suite runs on SQLite and on a throwaway PostgreSQL ---------------


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One PostgreSQL server for the session, from the installed binaries (see pgserver)."""
    try:
        server = start_server()
    except FileNotFoundError as exc:
        if os.environ.get("WITHIN_REQUIRE_POSTGRES"):
            pytest.fail(f"WITHIN_REQUIRE_POSTGRES is set but: {exc}")
        pytest.skip(str(exc))
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A fresh, empty database on the session's server."""
    return pg_server.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database url on each backend: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/within.db"
    return str(request.getfixturevalue("pg_url"))
