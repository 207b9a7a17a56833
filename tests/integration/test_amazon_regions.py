"""Amazon regions: one daemon pulls NA, EU and FE profiles, each from its region's hosts.

Three emulators stand in for the three API hosts and their token endpoints; each lists and
serves only its own region's profiles, as Amazon's hosts do. Runs on both backends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import anyio
import pytest

import within_daemon.sources.amazon.connector  # noqa: F401 - registers the connector
from within_daemon.config import AmazonConfig, load_config
from within_daemon.daemon import run_once
from within_daemon.errors import ConfigError
from within_daemon.observability.metrics import Metrics
from within_daemon.platform_config import AmazonHosts
from within_daemon.sandbox.amazon.data import AmazonProfile
from within_daemon.sandbox.amazon.server import AmazonEmulator
from within_daemon.sources.amazon.connector import hosts_for

from .. import dbq

US, UK, JP = "3000000001", "3100000001", "3200000001"
PROFILES = [
    AmazonProfile(US, "Acme US (sandbox)", n_campaigns=2),
    AmazonProfile(UK, "Acme UK (sandbox)", country_code="UK", currency="GBP",
                  timezone="Europe/London", marketplace_id="A1F83G8C2ARO7P", n_campaigns=2),
    AmazonProfile(JP, "Acme JP (sandbox)", country_code="JP", currency="JPY",
                  timezone="Asia/Tokyo", marketplace_id="A1VC38T7YXB528", n_campaigns=2),
]
REGION = {US: "NA", UK: "EU", JP: "FE"}
LOOKBACK = 3


@pytest.fixture
async def hosts(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[dict[str, AmazonEmulator]]:
    """One emulator per region, each knowing every profile but serving only its own."""
    emus = {r: AmazonEmulator(PROFILES, region=r) for r in ("NA", "EU", "FE")}
    monkeypatch.setenv("AMZ_RT", "Atzr|regions")
    monkeypatch.setenv("AMZ_ID", emus["NA"].client_id)
    monkeypatch.setenv("AMZ_SECRET", emus["NA"].client_secret)
    async with AsyncExitStack() as stack:
        for e in emus.values():
            await stack.enter_async_context(e.serve())
        yield emus


def write(tmp_path: Path, db: str, hosts: dict[str, AmazonEmulator], *,
          regions: bool = True) -> Path:
    lines = [
        "[database]", f'url = "{db}"', "[metrics]", "enabled = false",
        "[runtime]", 'timezone = "Etc/GMT+12"',
        "[platforms.amazon]",
        'client_id = { env = "AMZ_ID" }', 'client_secret = { env = "AMZ_SECRET" }',
        "poll_interval_seconds = 0.01", "backoff_base_seconds = 0.01",
        "throttle_pause_seconds = 0.01", "breaker_reset_seconds = 0.2",
        # Without a region an account uses these: the NA host.
        f'base_url = "{hosts["NA"].base_url}"', f'token_url = "{hosts["NA"].token_url}"',
    ]
    if regions:
        for r in ("NA", "EU", "FE"):  # the emulators stand in for Amazon's three hosts
            lines += [f"[platforms.amazon.regions.{r}]", f'base_url = "{hosts[r].base_url}"',
                      f'token_url = "{hosts[r].token_url}"']
    for pid in (US, UK, JP):
        lines += ["[[accounts]]", 'platform = "amazon"', f'account_id = "{pid}"',
                  'refresh_token = { env = "AMZ_RT" }', "rate_limit = 60000"]
        if regions:
            lines.append(f'region = "{REGION[pid]}"')
    lines += ["[[tasks]]", 'name = "amazon_ads"', 'pipeline = "AdDataPipeline"',
              'platform = "amazon"', f"lookback_days = {LOOKBACK}"]
    path = tmp_path / "within.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_three_regions_one_daemon(tmp_path: Path, db_url: str,
                                        hosts: dict[str, AmazonEmulator]) -> None:
    """Each account's token and API calls go to its region's hosts; all three load fully."""
    loaded = load_config(write(tmp_path, db_url, hosts))
    with anyio.fail_after(60):
        [res] = await run_once(loaded, metrics=Metrics())
    assert res.status == "success", res
    end = datetime.now(ZoneInfo("Etc/GMT+12")).date() - timedelta(days=1)
    since, until = (end - timedelta(days=LOOKBACK - 1)).isoformat(), end.isoformat()
    for pid, region in REGION.items():
        emu = hosts[region]
        want = emu.expected_rows(pid, since, until, "all_ads")  # SP, SB and SD ads
        [(n, cur)] = dbq.rows(loaded, "SELECT COUNT(*), MIN(currency) FROM ad_data "
                              "WHERE account_id = ?", pid)
        assert n == want > 0, pid
        assert cur == {"NA": "USD", "EU": "GBP", "FE": "JPY"}[region]
        # Every API call for the profile went to its own host, and that host minted a token.
        for other, e in hosts.items():
            calls = [r for r in e.stats.recent if r.account_id == pid]
            assert bool(calls) == (other == region), (pid, other)
        assert any(r.kind == "token" for r in emu.stats.recent)


async def test_without_regions_other_hosts_refuse(tmp_path: Path,
                                                  hosts: dict[str, AmazonEmulator]) -> None:
    """The same accounts all sent to one host: the EU and FE profiles fail, naming the host."""
    loaded = load_config(write(tmp_path, "sqlite:///x.db", hosts, regions=False))
    with anyio.fail_after(60):
        [res] = await run_once(loaded, metrics=Metrics())
    by = {a.account_id: a for a in res.accounts}
    assert by[US].status == "success"
    for pid in (UK, JP):
        assert by[pid].status == "failed" and "region" in (by[pid].error or ""), by[pid]


def test_region_hosts_default_to_amazons_own() -> None:
    """A region without overrides uses Amazon's hosts; an account's own URL wins."""
    cfg = AmazonConfig(regions={"FE": AmazonHosts(base_url="http://proxy.test/")})
    assert hosts_for(cfg, "EU") == ("https://advertising-api-eu.amazon.com",
                                    "https://api.amazon.co.uk/auth/o2/token")
    assert hosts_for(cfg, "FE") == ("http://proxy.test", "https://api.amazon.co.jp/auth/o2/token")
    assert hosts_for(cfg) == ("https://advertising-api.amazon.com",
                              "https://api.amazon.com/auth/o2/token")
    assert hosts_for(cfg, "NA", base_url="http://own.test")[0] == "http://own.test"


def test_region_on_another_platform_is_a_config_error(tmp_path: Path) -> None:
    """region/base_url on a non-Amazon account is refused, naming the key."""
    path = tmp_path / "within.toml"
    path.write_text('[[accounts]]\nplatform = "facebook"\naccount_id = "1"\n'
                    'access_token = "t"\nregion = "EU"\n')
    with pytest.raises(ConfigError, match=r"accounts\[0\]\.region: only amazon"):
        load_config(path)
