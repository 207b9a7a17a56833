"""Shipped configs load, the demo config matches its copy, and ruff and mypy pass."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from within_daemon.config import load_config, parse_config

ROOT = Path(__file__).resolve().parents[1]


def test_example_config_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """config/within.example.toml is valid once its token variables are set."""
    monkeypatch.setenv("FB_TOKEN_ACME", "a" * 10)
    monkeypatch.setenv("FB_TOKEN_KETTLE", "b" * 10)
    loaded = load_config(ROOT / "config" / "within.example.toml")
    assert [t.name for t in loaded.config.tasks] == [
        "facebook_ads_daily", "facebook_accounts_daily", "cross_platform_daily"]
    assert len(loaded.config.accounts) == 2


def test_sandbox_config_matches_bundled_demo_config() -> None:
    """config/sandbox.toml differs from the packaged demo config only in comments and port."""
    bundled = parse_config((ROOT / "within_daemon/data/demo.toml").read_bytes(), Path("a"))
    copy = parse_config((ROOT / "config/sandbox.toml").read_bytes(), Path("b"))
    assert copy.tasks == bundled.tasks and copy.accounts == bundled.accounts
    assert copy.database == bundled.database


def _tool(name: str) -> list[str]:
    exe = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if exe is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return [exe]


def test_ruff_is_clean() -> None:
    """Ruff finds nothing in the package, tests and benchmarks."""
    out = subprocess.run([*_tool("ruff"), "check", "."], cwd=ROOT, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_strict_is_clean() -> None:
    """Mypy --strict (configured in pyproject.toml) finds nothing in the package."""
    out = subprocess.run([*_tool("mypy")], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_readme_documents_the_image_command() -> None:
    """The command the README says the image runs is the Dockerfile's ENTRYPOINT + CMD."""
    import json
    import re

    docker = (ROOT / "Dockerfile").read_text()
    entry = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", docker, re.M).group(1))  # type: ignore[union-attr]
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", docker, re.M).group(1))  # type: ignore[union-attr]
    readme = (ROOT / "README.md").read_text()
    assert "runs: " + " ".join(entry + cmd) in readme


def test_readme_lists_every_cli_command() -> None:
    """Every subcommand of the CLI appears in the README's command table."""
    from within_daemon.cli import COMMANDS

    readme = (ROOT / "README.md").read_text()
    for name in COMMANDS:
        assert f"`within-daemon {name}" in readme, name
