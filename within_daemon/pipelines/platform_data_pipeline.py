"""``PlatformDataPipeline``: one unified dataset across every platform in the database.

It reads the loaded ad-day rows of all platforms for a date range, combines them with the
seed's ``CrossPlatformNormalizer().combine`` (a duplicate key is an error, never a silent
merge), adds money in the configured reporting currency from the configured FX table
(keeping the original amount and currency), and replaces that range of
``unified_ad_data`` one month at a time, each month atomically. Like the seed's
pipelines, ``run`` blocks (scripts) and ``arun`` is its coroutine twin (async code).
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..config import LoadedConfig
from ..loaders import DatabaseLoader
from ..loaders.analytics import upsert_statement
from ..schema import AD_FIELDS, AD_KEY
from ..transforms import CrossPlatformNormalizer
from ..transforms.currency import FxTable
from ..utils.sync import run_blocking

UNIFIED_COLUMNS = (*AD_FIELDS, "spend_reporting", "revenue_reporting", "cpa_reporting",
                   "reporting_currency", "fx_rate", "built_at")
_UPSERT = upsert_statement("unified_ad_data", UNIFIED_COLUMNS, AD_KEY)


def _months(first: date, last: date) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    cur = first
    while cur <= last:
        nxt = (cur.replace(day=1) + timedelta(days=32)).replace(day=1)
        end = min(last, nxt - timedelta(days=1))
        out.append((cur.isoformat(), end.isoformat()))
        cur = nxt
    return out


class PlatformDataPipeline:
    """Builds ``unified_ad_data`` from ``ad_data`` for a date range."""

    def __init__(self, config: LoadedConfig) -> None:
        self.config = config
        rep = config.config.reporting
        self.fx = FxTable(rep.currency, rep.fx_rates)
        self.normalizer = CrossPlatformNormalizer()

    async def run_with(self, db: DatabaseLoader,
                       date_range: tuple[str | date, str | date]) -> dict[str, Any]:
        """Rebuild the range in ``db``; the seed's result dict."""
        t0 = time.perf_counter()
        first, last = (d if isinstance(d, date) else date.fromisoformat(d) for d in date_range)
        done = 0
        try:
            for lo, hi in _months(first, last):
                rows = await db.fetch_dicts(
                    f"SELECT {', '.join(AD_FIELDS)} FROM ad_data WHERE date >= ? AND date <= ?",
                    [lo, hi])
                parts: dict[str, list[dict[str, Any]]] = defaultdict(list)
                for r in rows:
                    parts[r["platform"]].append(r)
                unified = self.normalizer.combine(parts.values(), fx=self.fx)
                now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                await db.execute_in_transaction([
                    ("DELETE FROM unified_ad_data WHERE date >= ? AND date <= ?", [(lo, hi)]),
                    (_UPSERT, [tuple({**u, "built_at": now}.get(c) for c in UNIFIED_COLUMNS)
                               for u in unified]),
                ])
                done += len(unified)
        except ValueError as exc:  # a currency without a rate, a duplicate key
            return {"success": False, "records_processed": done,
                    "duration_seconds": round(time.perf_counter() - t0, 3), "error": str(exc)}
        return {"success": True, "records_processed": done,
                "duration_seconds": round(time.perf_counter() - t0, 3), "error": None}

    async def arun(self, date_range: tuple[str | date, str | date]) -> dict[str, Any]:
        """Open the configured database and rebuild the range (async code)."""
        cfg = self.config.config
        async with DatabaseLoader.from_url(cfg.database.url, base_dir=self.config.base_dir) as db:
            return await self.run_with(db, date_range)

    def run(self, date_range: tuple[str | date, str | date]) -> dict[str, Any]:
        """``arun`` to completion, for code without an event loop (as the seed's pipelines)."""
        return run_blocking(lambda: self.arun(date_range), call="PlatformDataPipeline.run",
                            twin="PlatformDataPipeline.arun")
