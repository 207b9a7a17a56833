"""The hard-fault matrix: each platform, through its emulator and the real engine, on a fake clock.

Every case runs one ``AdDataPipeline`` task over three days with production-like knobs
(``breaker_fail_max`` 5, a 60 s reset, backoff from 1 s) and one fault: 5xx bursts longer
than ``fail_max`` (a bare 503 and the platform's own server error), load-balancer HTML
error pages, connections cut mid-body, truncated JSON, bodies slower than the timeout, the
server refusing connections for two minutes, and throttles with and without a wait hint.
Each must end with every row loaded exactly once (fetched == loaded == the emulator's
oracle) and every day complete in the ledger, within the case's bound on (fake) waiting
time (``BOUNDS``). The outages wait on ``FakeClock``, so the whole matrix costs about ten
seconds of real time (slow bodies cost their 0.3 s timeout each).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import pytest

import within_daemon.sources.amazon.connector  # noqa: F401 - registers the connector
import within_daemon.sources.google.connector  # noqa: F401 - registers the connector
import within_daemon.sources.tiktok.connector  # noqa: F401 - registers the connector
from within_daemon.config import load_config
from within_daemon.daemon import run_once
from within_daemon.observability.metrics import Metrics
from within_daemon.sandbox import FacebookEmulator, SandboxAccount
from within_daemon.sandbox.amazon.server import AmazonEmulator
from within_daemon.sandbox.google.server import GoogleAdsEmulator
from within_daemon.sandbox.serving import PlatformEmulator
from within_daemon.sandbox.tiktok.server import TikTokEmulator

from .. import dbq
from ..fakes.clock import FakeClock, use_clock

#: The westernmost zone: its yesterday is over in every account's zone (all days final).
RUN_TZ = "Etc/GMT+12"
LOOKBACK = 3
KNOBS: dict[str, Any] = {
    "breaker_fail_max": 5, "breaker_reset_seconds": 60.0, "backoff_base_seconds": 1.0,
    "max_retries": 5, "throttle_pause_seconds": 5.0, "timeout_seconds": 0.3,
    "poll_interval_seconds": 0.01, "max_pace_delay_seconds": 0.0,
}


@dataclass
class Platform:
    name: str
    account: str
    make: Callable[[], PlatformEmulator]
    section: Callable[[Any], list[str]]
    account_lines: list[str]
    env: dict[str, str]


def _fb_section(emu: Any) -> list[str]:
    return [f'base_url = "{emu.base_url}"']


def _google_section(emu: Any) -> list[str]:
    return [f'base_url = "{emu.base_url}"', f'token_url = "{emu.token_url}"',
            'developer_token = { env = "MX_DEV" }', 'client_id = "sandbox-client-id"',
            'client_secret = { env = "MX_SECRET" }']


def _amazon_section(emu: Any) -> list[str]:
    return [f'base_url = "{emu.base_url}"', f'token_url = "{emu.token_url}"',
            'client_id = { env = "MX_ID" }', 'client_secret = { env = "MX_SECRET" }']


PLATFORMS = {
    "facebook": Platform(
        "facebook", "1000000001",
        lambda: FacebookEmulator([SandboxAccount.with_ads("1000000001", "Matrix", 6,
                                                          active_from="2024-01-01")]),
        _fb_section, ['access_token = { env = "MX_TOKEN" }'], {"MX_TOKEN": "tok-0123456789"}),
    "google": Platform(
        "google", "5550000001", GoogleAdsEmulator, _google_section,
        ['refresh_token = { env = "MX_RT" }'],
        {"MX_DEV": "sandbox-developer-token", "MX_SECRET": "sandbox-client-secret",
         "MX_RT": "rt-matrix"}),
    "amazon": Platform(
        "amazon", "3000000001", AmazonEmulator, _amazon_section,
        ['refresh_token = { env = "MX_RT" }'],
        {"MX_RT": "Atzr|matrix", "MX_ID": AmazonEmulator().client_id,
         "MX_SECRET": AmazonEmulator().client_secret}),
    "tiktok": Platform(
        "tiktok", "7100000000000000001", TikTokEmulator, _fb_section,
        ['access_token = { env = "MX_TOKEN" }'], {"MX_TOKEN": "tt-token-0123456789"}),
}

#: Platform throttle faults: (fault kind, params with a hint, params without one).
THROTTLES: dict[str, tuple[str, dict[str, Any] | None, dict[str, Any]]] = {
    "facebook": ("throttle", {"estimated_time_to_regain_access": 1},
                 {"estimated_time_to_regain_access": 0}),
    "google": ("rate_exceeded", {"retry_seconds": 30}, {}),
    "amazon": ("throttle", {"retry_after": 30}, {"retry_after": None}),
    # TikTok's throttle codes name no wait at all (docs/api-reference.md §4.4).
    "tiktok": ("throttle", None, {"code": 40100}),
}

#: Case -> (how to switch it on, bound on fake seconds waited).
CASES = ["burst_5xx", "platform_5xx_burst", "html_error", "cut_body", "truncated_json",
         "slow_body", "refused_2min", "throttle_hint", "throttle_no_hint"]
BOUNDS = {"burst_5xx": 4 * 60 + 60, "platform_5xx_burst": 4 * 60 + 60, "html_error": 10,
          "cut_body": 10, "truncated_json": 10, "slow_body": 10,
          "refused_2min": 120 + 60 + 60, "throttle_hint": 2 * 60 + 10,
          "throttle_no_hint": 5 + 10 + 20 + 10}


def switch_on(case: str, p: Platform, emu: PlatformEmulator) -> None:
    """Turn on the case's fault (the two-minute refusal is done by ``refusing``)."""
    plan = emu.faults
    if case == "burst_5xx":
        plan.add("http_error", None, count=KNOBS["breaker_fail_max"] + 3, status=503)
    elif case == "platform_5xx_burst":
        # The platform's own server error (Graph code 1, google.rpc INTERNAL, Amazon 500,
        # TikTok code 50000 in a 200 envelope), longer than fail_max.
        plan.add("server_error", p.account, count=KNOBS["breaker_fail_max"] + 3)
    elif case == "html_error":
        plan.add("html_error", None, count=2)
    elif case == "cut_body":
        plan.add("cut_body", None, count=2)
    elif case == "truncated_json":
        plan.add("truncated_json", None, count=2)
    elif case == "slow_body":
        plan.add("slow_body", None, count=2, delay=1.0)
    elif case.startswith("throttle"):
        kind, hinted, plain = THROTTLES[p.name]
        params = hinted if case == "throttle_hint" else plain
        assert params is not None
        plan.add(kind, p.account, count=2 if case == "throttle_hint" else 3, **params)


@asynccontextmanager
async def serving(emu: PlatformEmulator, clock: FakeClock, refuse_for: float | None,
                  ) -> AsyncIterator[None]:
    """Serve the emulator; with ``refuse_for`` it is down (refusing) until that fake time."""
    async with anyio.create_task_group() as tg:
        started, stop, closed = anyio.Event(), anyio.Event(), anyio.Event()
        port: list[int] = []

        async def serve_once() -> None:
            async with emu.serve(port=port[0] if port else 0) as url:
                if not port:
                    port.append(int(url.rsplit(":", 1)[1].split("/", 1)[0]))
                started.set()
                await stop.wait()
            closed.set()

        tg.start_soon(serve_once)
        await started.wait()
        if refuse_for is not None:
            stop.set()  # down: the port refuses connections
            with anyio.fail_after(10):
                await closed.wait()
            stop = anyio.Event()
            started = anyio.Event()

            async def up() -> None:
                tg.start_soon(serve_once)
                await started.wait()

            clock.at(refuse_for, up)
        try:
            yield
        finally:
            stop.set()


def config(tmp_path: Path, p: Platform, emu: PlatformEmulator) -> Path:
    knobs = [f"{k} = {v!r}" for k, v in KNOBS.items()]
    lines = ["[database]", f'url = "sqlite:///{tmp_path}/matrix.db"', "[metrics]",
             "enabled = false", "[runtime]", f'timezone = "{RUN_TZ}"',
             "account_jitter_seconds = 0", f"[platforms.{p.name}]", *p.section(emu), *knobs,
             "[[accounts]]", f'platform = "{p.name}"', f'account_id = "{p.account}"',
             *p.account_lines, "rate_limit = 60000",
             "[[tasks]]", 'name = "ads"', 'pipeline = "AdDataPipeline"',
             f'platform = "{p.name}"', f"lookback_days = {LOOKBACK}"]
    path = tmp_path / "within.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def window() -> tuple[str, str]:
    end = datetime.now(ZoneInfo(RUN_TZ)).date() - timedelta(days=1)
    return (end - timedelta(days=LOOKBACK - 1)).isoformat(), end.isoformat()


@pytest.mark.parametrize(("platform", "case"), [
    (p, c) for p in PLATFORMS for c in CASES if THROTTLES[p][1] is not None or c != "throttle_hint"
])
async def test_fault_ends_with_every_row_once_and_the_ledger_complete(
    platform: str, case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under the fault the run succeeds: all rows once, every day complete, within the bound."""
    p = PLATFORMS[platform]
    for k, v in p.env.items():
        monkeypatch.setenv(k, v)
    emu = p.make()
    clock = FakeClock()
    refuse = 120.0 if case == "refused_2min" else None
    async with serving(emu, clock, refuse):
        switch_on(case, p, emu)
        loaded = load_config(config(tmp_path, p, emu))
        with use_clock(clock), anyio.fail_after(30):
            [res] = await run_once(loaded, metrics=Metrics())
    since, until = window()
    # Amazon's complete pull is its three ad reports (Sponsored Products, Brands, Display).
    full = ("all_ads",) if p.name == "amazon" else ()
    want = emu.expected_rows(p.account, since, until, *full)  # type: ignore[attr-defined]
    assert res.status == "success", res
    assert want > 0
    assert res.fetched == res.loaded == want and res.quarantined == 0
    [(rows, distinct)] = dbq.rows(
        loaded, "SELECT COUNT(*), COUNT(DISTINCT ad_id || date) FROM ad_data "
        "WHERE platform = ? AND account_id = ?", p.name, p.account)
    assert rows == distinct == want
    [(complete,)] = dbq.rows(loaded, "SELECT COUNT(*) FROM ledger WHERE platform = ? AND "
                             "account_id = ? AND status = 'complete'", p.name, p.account)
    assert complete == LOOKBACK
    assert not list(emu.faults), "every fault fired its count"
    assert clock.elapsed <= BOUNDS[case], (case, clock.elapsed)
    if case == "refused_2min":
        assert clock.elapsed >= 120.0  # it did wait for the server to come back
    if case in ("burst_5xx", "platform_5xx_burst", "throttle_hint"):
        assert clock.elapsed >= 30.0  # a reset (or the hint) was waited, not skipped
