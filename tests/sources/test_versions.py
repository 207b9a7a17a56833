"""API versions: the defaults are served today, sunset versions are refused, warnings come early."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import anyio
import pytest
from prometheus_client import CollectorRegistry

from within_daemon.config import FacebookConfig
from within_daemon.errors import ConfigError, PermanentSourceError
from within_daemon.observability.metrics import Metrics
from within_daemon.platform_config import GoogleConfig, PlatformsConfig
from within_daemon.sandbox import FacebookEmulator
from within_daemon.sandbox.google.server import GoogleAdsEmulator
from within_daemon.sources import FacebookAdsConnector
from within_daemon.sources.google.connector import GoogleAdsConnector
from within_daemon.sources.versions import (
    DEFAULT_VERSIONS,
    VERSIONS,
    check_versions,
    configured_version,
    enforce_versions,
    find,
    sunset_timestamp,
)

from ..conftest import FAST_FACEBOOK, TOKEN

ACC = "1000000001"
TODAY = date(2026, 12, 5)


def fb_platforms(version: str) -> PlatformsConfig:
    return PlatformsConfig(
        facebook=FacebookConfig(base_url=f"https://graph.facebook.com/{version}"))


def origin(base_url: str) -> str:
    return base_url.rsplit("/", 1)[0]


# -- the table -------------------------------------------------------------------------------


def test_table_has_every_platform_default_with_a_source() -> None:
    """Each platform's default version is in the table, and every row names its source."""
    for platform, version in DEFAULT_VERSIONS.items():
        entry = find(platform, version)
        assert entry is not None, (platform, version)
    assert all(v.source for v in VERSIONS)
    assert find("facebook", "v25.0").sunset == date(2027, 2, 23)  # type: ignore[union-attr]
    assert find("google", "v20").sunset == date(2026, 6, 10)  # type: ignore[union-attr]


def test_defaults_are_supported_today() -> None:
    """The default base URLs name versions that are neither sunset nor within 60 days of it."""
    defaults = PlatformsConfig()
    assert configured_version("facebook", defaults) == "v27.0"
    assert configured_version("google", defaults) == "v26"
    assert check_versions(defaults, ["facebook", "google", "tiktok", "amazon"], TODAY) == []


def test_expired_version_is_refused_naming_key_and_replacement() -> None:
    """A sunset version gives one refusal line with the key and the replacement URL."""
    [n] = check_versions(fb_platforms("v24.0"), ["facebook"], TODAY)
    assert n.level == "expired" and n.sunset == date(2026, 11, 10)
    assert "platforms.facebook.base_url" in n.message
    assert 'https://graph.facebook.com/v27.0"' in n.message
    assert "\n" not in n.message
    with pytest.raises(ConfigError, match=r"^cfg.toml: platforms\.facebook\.base_url: .*v27\.0"):
        enforce_versions(fb_platforms("v24.0"), ["facebook"], TODAY, where="cfg.toml")


def test_versions_older_than_the_table_are_expired() -> None:
    """v21.0 (and anything older than the oldest row) counts as sunset."""
    assert check_versions(fb_platforms("v21.0"), ["facebook"], TODAY)[0].level == "expired"
    assert check_versions(fb_platforms("v2.12"), ["facebook"], TODAY)[0].level == "expired"
    old_google = PlatformsConfig(google=GoogleConfig(base_url="https://x.test/v20"))
    assert check_versions(old_google, ["google"], TODAY)[0].level == "expired"


@pytest.mark.parametrize(("today", "level"), [
    (date(2026, 12, 24), None),  # 61 days before 2027-02-23
    (date(2026, 12, 25), "warn"),  # 60 days before
    (date(2027, 2, 22), "warn"),
    (date(2027, 2, 23), "expired"),  # the day it sunsets
])
def test_warning_window_is_sixty_days(today: date, level: str | None) -> None:
    """v25.0 warns from 60 days before 2027-02-23 and is refused from that day on."""
    notices = check_versions(fb_platforms("v25.0"), ["facebook"], today)
    assert [n.level for n in notices] == ([level] if level else [])


def test_estimated_sunsets_say_so() -> None:
    """A projected (estimated) Google sunset is marked as an estimate in the warning."""
    cfg = PlatformsConfig(google=GoogleConfig(base_url="https://x.test/v23"))
    [n] = check_versions(cfg, ["google"], date(2027, 1, 1))
    assert n.level == "warn" and "(estimated)" in n.message and "/v26" in n.message


def test_unused_platforms_and_unknown_versions() -> None:
    """Platforms without accounts are not checked; a version the table lacks is a warning."""
    assert check_versions(fb_platforms("v24.0"), ["google"], TODAY) == []
    [n] = check_versions(fb_platforms("v99.0"), ["facebook"], TODAY)
    assert n.level == "unknown"


def test_gauge_carries_the_sunset_timestamp() -> None:
    """enforce_versions sets within_api_version_sunset_timestamp_seconds per used platform."""
    metrics = Metrics(CollectorRegistry())
    enforce_versions(fb_platforms("v25.0"), ["facebook", "tiktok"], TODAY, where="x",
                     metrics=metrics)
    reg = metrics.registry
    name = "within_api_version_sunset_timestamp_seconds"
    assert reg.get_sample_value(name, {"platform": "facebook"}) == 1803340800.0  # 2027-02-23
    assert reg.get_sample_value(name, {"platform": "tiktok"}) == 0.0
    assert reg.get_sample_value(name, {"platform": "google"}) is None
    assert sunset_timestamp("google", PlatformsConfig()) > 0


# -- the emulators refuse sunset versions; the defaults are served ---------------------------


async def test_default_facebook_version_is_served(emulator: FacebookEmulator) -> None:
    """The connector's default Graph version is one the (emulated) API still answers."""
    version = FacebookConfig().base_url.rsplit("/", 1)[1]
    cfg = FacebookConfig(base_url=f"{origin(emulator.base_url)}/{version}", **FAST_FACEBOOK)
    async with FacebookAdsConnector(ACC, TOKEN, 60000, config=cfg) as conn:
        with anyio.fail_after(10):
            info = await conn.get_account_info()
    assert info.account_id == ACC


async def test_graph_2635_is_permanent_and_names_the_setting(
    emulator: FacebookEmulator,
) -> None:
    """A sunset Graph version fails at once with an error naming base_url and a live version."""
    cfg = FacebookConfig(base_url=f"{origin(emulator.base_url)}/v24.0", **FAST_FACEBOOK)
    async with FacebookAdsConnector(ACC, TOKEN, 60000, config=cfg) as conn:
        with anyio.fail_after(10), pytest.raises(PermanentSourceError) as info:
            await conn.get_account_info()
    text = str(info.value)
    assert info.value.code == 2635
    assert "platforms.facebook.base_url" in text and "v27.0" in text
    assert TOKEN not in text
    assert len([r for r in emulator.stats.recent if r.status == 400]) == 1  # no retries


async def test_facebook_emulator_expires_v25_on_its_date(emulator: FacebookEmulator) -> None:
    """v25.0 is served until 2027-02-22 and answers 2635 from 2027-02-23."""
    cfg = FacebookConfig(base_url=f"{origin(emulator.base_url)}/v25.0", **FAST_FACEBOOK)
    emulator.today = date(2027, 2, 22)
    async with FacebookAdsConnector(ACC, TOKEN, 60000, config=cfg) as conn:
        with anyio.fail_after(10):
            await conn.get_account_info()
    emulator.today = date(2027, 2, 23)
    async with FacebookAdsConnector(ACC, TOKEN, 60000, config=cfg) as conn:
        with anyio.fail_after(10), pytest.raises(PermanentSourceError):
            await conn.get_account_info()


async def test_default_google_version_is_served() -> None:
    """The connector's default Google Ads version answers; a sunset one is refused."""
    emu = GoogleAdsEmulator()
    async with emu.serve() as base:
        for version, ok in ((GoogleConfig().base_url.rsplit("/", 1)[1], True), ("v22", False)):
            cfg = GoogleConfig(base_url=f"{origin(base)}/{version}", token_url=emu.token_url,
                               backoff_base_seconds=0.01)
            conn = GoogleAdsConnector(
                "5550000001", refresh_token="rt-a", client_id="sandbox-client-id",
                client_secret="sandbox-client-secret",
                developer_token="sandbox-developer-token", rate_limit=60000, config=cfg)
            async with conn:
                with anyio.fail_after(10):
                    if ok:
                        assert (await conn.get_account_info()).currency
                    else:
                        with pytest.raises(PermanentSourceError, match="UNSUPPORTED_VERSION"):
                            await conn.get_account_info()


# -- check-config ------------------------------------------------------------------------------


def test_check_config_refuses_a_sunset_version(tmp_path: Path) -> None:
    """check-config exits 2 with one stderr line naming the key and the replacement."""
    cfg = tmp_path / "w.toml"
    cfg.write_text(
        '[platforms.facebook]\nbase_url = "https://graph.facebook.com/v24.0"\n\n'
        '[[accounts]]\nplatform = "facebook"\naccount_id = "1"\n'
        'access_token = { env = "WITHIN_TEST_TOKEN" }\n')
    out = subprocess.run([sys.executable, "-m", "within_daemon", "check-config", "--config",
                          str(cfg)], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 2, out.stdout + out.stderr
    err = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(err) == 1, err
    assert "platforms.facebook.base_url" in err[0] and "v27.0" in err[0]


async def test_reload_refuses_a_sunset_version(tmp_path: Path) -> None:
    """A SIGHUP reload naming a sunset version is refused and the running config kept."""
    from within_daemon.config import load_config
    from within_daemon.daemon import Service

    cfg = tmp_path / "w.toml"
    account = ('\n[[accounts]]\nplatform = "facebook"\naccount_id = "1"\n'
               'access_token = { env = "WITHIN_TEST_TOKEN" }\n')
    cfg.write_text('[platforms.facebook]\nbase_url = "https://graph.facebook.com/v27.0"\n'
                   + account)
    metrics = Metrics(CollectorRegistry())
    svc = Service(load_config(cfg), metrics)
    cfg.write_text('[platforms.facebook]\nbase_url = "https://graph.facebook.com/v24.0"\n'
                   + account)
    with anyio.fail_after(10):
        await svc.reload()
    assert svc.loaded.config.platforms.facebook.base_url.endswith("/v27.0")
    assert metrics.registry.get_sample_value(
        "within_config_reloads_total", {"result": "failure"}) == 1.0
