"""The connector registry: one explicit table platform -> connector class, nothing by import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from within_daemon.config import LoadedConfig, load_config
from within_daemon.errors import ConfigError
from within_daemon.observability.metrics import Metrics
from within_daemon.schema import PLATFORMS
from within_daemon.sources import (
    AmazonAdsConnector,
    FacebookAdsConnector,
    GoogleAdsConnector,
    TikTokAdsConnector,
    build_connector,
    registry,
)

CONFIG = """
[metrics]
enabled = false
[platforms.google]
client_id = "cid"
client_secret = { env = "T_G_SECRET" }
[platforms.amazon]
client_id = { env = "T_A_ID" }
client_secret = { env = "T_A_SECRET" }
[[accounts]]
platform = "facebook"
account_id = "1"
access_token = { env = "T_FB" }
[[accounts]]
platform = "google"
account_id = "2"
refresh_token = { env = "T_G_RT" }
[[accounts]]
platform = "amazon"
account_id = "3"
refresh_token = { env = "T_A_RT" }
[[accounts]]
platform = "tiktok"
account_id = "4"
access_token = { env = "T_TT" }
"""
#: Made-up secrets, long and odd enough that redacting them scrubs nothing else.
ENV = {k: f"registry-test-{k.lower()}-x9q" for k in (
    "T_G_SECRET", "T_A_ID", "T_A_SECRET", "T_FB", "T_G_RT", "T_A_RT", "T_TT")}
CLASSES = {"facebook": FacebookAdsConnector, "google": GoogleAdsConnector,
           "amazon": AmazonAdsConnector, "tiktok": TikTokAdsConnector}


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    path = tmp_path / "within.toml"
    path.write_text(CONFIG)
    return path


def build_all(loaded: LoadedConfig) -> dict[str, object]:
    return {acc.platform: build_connector(acc, loaded, None, Metrics())  # type: ignore[arg-type]
            for acc in loaded.config.accounts}


def test_the_table_names_a_connector_for_every_api_platform(config_file: Path) -> None:
    """Every API platform has its class in the one table, and builds it from the config."""
    assert registry.CONNECTORS == CLASSES
    assert set(CLASSES) == set(PLATFORMS) - {"internal"}
    built = build_all(load_config(config_file))
    assert {p: type(c) for p, c in built.items()} == CLASSES
    assert {p: c.account_id for p, c in built.items()} == {  # type: ignore[attr-defined]
        "facebook": "1", "google": "2", "amazon": "3", "tiktok": "4"}


def test_a_fresh_interpreter_finds_every_platform(config_file: Path) -> None:
    """Importing the registry module alone is enough: no platform registers itself on import."""
    code = ("import sys\n"
            "from within_daemon.config import load_config\n"
            "from within_daemon.observability.metrics import Metrics\n"
            "from within_daemon.sources.registry import build_connector\n"
            "loaded = load_config(sys.argv[1])\n"
            "for acc in loaded.config.accounts:\n"
            "    print(type(build_connector(acc, loaded, None, Metrics())).__name__)\n")
    out = subprocess.run([sys.executable, "-c", code, str(config_file)], capture_output=True,
                         text=True, check=True, env={**os.environ, **ENV})
    assert out.stdout.split() == [c.__name__ for c in CLASSES.values()]


@pytest.mark.parametrize(("key", "what"), [
    (("facebook", "1"), "accounts: facebook/1 access_token"),
    (("tiktok", "4"), "accounts: tiktok/4 access_token"),
    ("platforms.amazon.client_secret", "platforms.amazon.client_secret"),
    ("accounts.amazon.3.refresh_token", "accounts: amazon/3 refresh_token"),
    ("platforms.google.client_secret", "platforms.google.client_secret"),
])
def test_a_missing_secret_is_a_config_error_naming_it(config_file: Path, key: object,
                                                      what: str) -> None:
    """``from_config`` refuses a connector whose secret is gone, naming the key, not a value."""
    loaded = load_config(config_file)
    if isinstance(key, tuple):
        loaded.secrets[key] = None
    else:
        assert isinstance(key, str)
        loaded.other_secrets.pop(key)
    with pytest.raises(ConfigError, match=f"^{what} is not configured$"):
        build_all(loaded)


def test_a_platform_without_a_connector_is_a_config_error(config_file: Path) -> None:
    """An account of a platform the table lacks is refused with its platform named."""
    loaded = load_config(config_file)
    acc = msgspec.structs.replace(loaded.config.accounts[0], platform="internal")
    with pytest.raises(ConfigError, match="no connector for platform 'internal'"):
        build_connector(acc, loaded, None, Metrics())  # type: ignore[arg-type]
