"""The bare floor: the Facebook pull the daemon does, written with no framework at all.

aiohttp for the requests, msgspec decoding each page straight into typed Structs, one
``sqlite3`` ``executemany`` upsert per page, the ads listing read first for the creative
text. Same requests as the daemon with its default config (page size 500, 7-day windows,
the same fields and filter), same columns stored. No retries, rate limiting, validation,
ledger, quarantine or post-load steps: it is the floor to compare the daemon against (see
``bench/floor_ratio.py``), not a replacement.

    python bench/bare_floor.py --base-url http://127.0.0.1:PORT/v27.0 \
        --account 1000000001 --from 2026-01-01 --to 2026-01-07 --db floor.db
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import time
from datetime import date, timedelta
from typing import Any

import aiohttp
import msgspec

AD_FIELDS = (
    "id,name,status,effective_status,campaign_id,adset_id,created_time,updated_time,"
    "creative{title,body,call_to_action_type,image_url,video_id,thumbnail_url,link_url,"
    "object_story_spec},adset{start_time,end_time}"
)
INSIGHT_FIELDS = (
    "ad_id,adset_id,campaign_id,impressions,clicks,spend,actions,action_values,"
    "quality_ranking,engagement_rate_ranking,conversion_rate_ranking"
)
STATUSES = ["ACTIVE", "ADSET_PAUSED", "ARCHIVED", "CAMPAIGN_PAUSED", "DELETED",
            "DISAPPROVED", "IN_PROCESS", "PAUSED", "PENDING_BILLING_INFO", "PENDING_REVIEW",
            "PREAPPROVED", "WITH_ISSUES"]
FILTER = msgspec.json.encode(
    [{"field": "ad.effective_status", "operator": "IN", "value": STATUSES}]).decode()
CONV = "offsite_conversion.fb_pixel_purchase"
QUALITY = {"ABOVE_AVERAGE": 0.8, "AVERAGE": 0.5, "BELOW_AVERAGE_35": 0.275,
           "BELOW_AVERAGE_20": 0.15, "BELOW_AVERAGE_10": 0.05}
STATUS = {"active": "active", "paused": "paused", "adset_paused": "paused",
          "campaign_paused": "paused", "archived": "archived", "deleted": "deleted"}


class Action(msgspec.Struct):
    action_type: str
    value: str


class Row(msgspec.Struct):
    ad_id: str
    date_start: str
    campaign_id: str | None = None
    adset_id: str | None = None
    impressions: str = "0"
    clicks: str = "0"
    spend: str = "0"
    actions: list[Action] = []
    action_values: list[Action] = []
    quality_ranking: str | None = None


class Cursors(msgspec.Struct):
    next: str | None = None


class Page(msgspec.Struct):
    data: list[Row]
    paging: Cursors | None = None


class Link(msgspec.Struct):
    name: str | None = None
    message: str | None = None
    link: str | None = None
    picture: str | None = None


class Spec(msgspec.Struct):
    link_data: Link | None = None


class Creative(msgspec.Struct):
    title: str | None = None
    body: str | None = None
    call_to_action_type: str | None = None
    image_url: str | None = None
    thumbnail_url: str | None = None
    video_id: str | None = None
    link_url: str | None = None
    object_story_spec: Spec | None = None


class AdSet(msgspec.Struct):
    start_time: str | None = None
    end_time: str | None = None


class Ad(msgspec.Struct):
    id: str
    campaign_id: str | None = None
    adset_id: str | None = None
    effective_status: str | None = None
    created_time: str | None = None
    creative: Creative | None = None
    adset: AdSet | None = None


class AdPage(msgspec.Struct):
    data: list[Ad]
    paging: Cursors | None = None


class Account(msgspec.Struct):
    currency: str | None = None


SCHEMA = """
CREATE TABLE IF NOT EXISTS ad_data (
  platform TEXT NOT NULL, ad_id TEXT NOT NULL, date TEXT NOT NULL, account_id TEXT,
  campaign_id TEXT, ad_group_id TEXT, headline TEXT, description TEXT, cta TEXT,
  image_url TEXT, video_url TEXT, landing_page_url TEXT, start_date TEXT, end_date TEXT,
  status TEXT, impressions INTEGER, clicks INTEGER, ctr REAL, spend REAL, conversions REAL,
  conversion_rate REAL, cpa REAL, roas REAL, quality_score REAL, currency TEXT,
  revenue REAL, fetched_at TEXT, PRIMARY KEY (platform, ad_id, date))
"""
COLS = ("platform,ad_id,date,account_id,campaign_id,ad_group_id,headline,description,cta,"
        "image_url,video_url,landing_page_url,start_date,end_date,status,impressions,clicks,"
        "ctr,spend,conversions,conversion_rate,cpa,roas,quality_score,currency,revenue,"
        "fetched_at")
UPSERT = (f"INSERT INTO ad_data ({COLS}) VALUES ({','.join('?' * len(COLS.split(',')))}) "
          "ON CONFLICT (platform, ad_id, date) DO UPDATE SET "
          + ",".join(f"{c}=excluded.{c}" for c in COLS.split(",")[3:]))

_n = iter(range(1, 100))
PG_UPSERT = "".join(f"${next(_n)}" if ch == "?" else ch for ch in UPSERT)
_ads_dec = msgspec.json.Decoder(AdPage)
_page_dec = msgspec.json.Decoder(Page)


def _ad_info(ad: Ad) -> tuple[Any, ...]:
    cr = ad.creative or Creative()
    link = (cr.object_story_spec.link_data if cr.object_story_spec else None) or Link()
    st = ad.adset or AdSet()
    start = st.start_time or ad.created_time
    status = ad.effective_status
    return (
        ad.campaign_id, ad.adset_id, cr.title or link.name, cr.body or link.message,
        cr.call_to_action_type, cr.image_url or cr.thumbnail_url or link.picture,
        f"https://www.facebook.com/watch/?v={cr.video_id}" if cr.video_id else None,
        cr.link_url or link.link, start[:10] if start else None,
        st.end_time[:10] if st.end_time else None,
        STATUS.get(status.lower(), "other") if status else None,
    )


def _total(actions: list[Action]) -> float:
    return sum(float(a.value) for a in actions if a.action_type == CONV)


async def _pages(session: aiohttp.ClientSession, url: str, params: dict[str, str],
                 dec: msgspec.json.Decoder[Any]) -> Any:
    while True:
        async with session.get(url, params=params) as resp:
            resp.raise_for_status()
            page = dec.decode(await resp.read())
        yield page.data
        nxt = page.paging.next if page.paging else None
        if not nxt:
            return
        url, params = nxt, {}


class Sink:
    """Where rows go: a ``sqlite3`` file, or PostgreSQL through asyncpg (``--db`` url)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.pg: Any = None
        self.lite: sqlite3.Connection | None = None
        self.batches: list[list[tuple[Any, ...]]] = []

    async def open(self) -> None:
        if self.target.startswith("postgresql://"):
            import asyncpg
            self.pg = await asyncpg.connect(self.target)
            await self.pg.execute(SCHEMA.replace(" REAL", " DOUBLE PRECISION")
                                  .replace(" INTEGER", " BIGINT"))
        else:
            self.lite = open_db(self.target)

    async def write(self, batch: list[tuple[Any, ...]]) -> None:
        if self.lite is not None:
            self.lite.executemany(UPSERT, batch)
        else:
            self.batches.append(batch)

    async def commit(self) -> None:
        """End a window's transaction (PostgreSQL: the window's pages in one transaction)."""
        if self.lite is not None:
            self.lite.commit()
            return
        async with self.pg.transaction():
            for batch in self.batches:
                await self.pg.executemany(PG_UPSERT, batch)
        self.batches.clear()

    async def close(self) -> None:
        if self.pg is not None:
            await self.pg.close()
        if self.lite is not None:
            self.lite.close()


async def pull(base_url: str, account: str, start: date, end: date, db: Sink,
               *, page_size: int = 500, window_days: int = 7) -> int:
    """Pull one account's ads and ad-day insights into ``db``; return the rows stored."""
    headers = {"Authorization": "OAuth bench-token"}
    rows = 0
    fetched_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.get(f"{base_url}/act_{account}",
                               params={"fields": "currency"}) as resp:
            currency = msgspec.json.decode(await resp.read(), type=Account).currency
        infos: dict[str, tuple[Any, ...]] = {}
        async for ads in _pages(session, f"{base_url}/act_{account}/ads",
                                {"fields": AD_FIELDS, "limit": str(page_size),
                                 "filtering": FILTER}, _ads_dec):
            for ad in ads:
                infos[ad.id] = _ad_info(ad)
        none = (None,) * 11
        day = start
        while day <= end:
            until = min(end, day + timedelta(days=window_days - 1))
            params = {"level": "ad", "fields": INSIGHT_FIELDS, "time_increment": "1",
                      "time_range": f'{{"since":"{day}","until":"{until}"}}',
                      "limit": str(page_size), "filtering": FILTER}
            async for data in _pages(session, f"{base_url}/act_{account}/insights", params,
                                     _page_dec):
                batch = []
                for r in data:
                    info = infos.get(r.ad_id, none)
                    imp, clk, spend = int(r.impressions), int(r.clicks), float(r.spend)
                    conv, rev = _total(r.actions), _total(r.action_values)
                    batch.append((
                        "facebook", r.ad_id, r.date_start, account,
                        r.campaign_id or info[0], r.adset_id or info[1], *info[2:],
                        imp, clk, clk / imp if imp else None, spend, conv,
                        conv / clk if clk else None, spend / conv if conv else None,
                        rev / spend if spend else None,
                        QUALITY.get(r.quality_ranking or ""), currency, rev, fetched_at,
                    ))
                await db.write(batch)
                rows += len(batch)
            await db.commit()
            day = until + timedelta(days=1)
    return rows


def open_db(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(SCHEMA)
    return db


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--account", action="append", required=True)
    ap.add_argument("--from", dest="start", required=True, type=date.fromisoformat)
    ap.add_argument("--to", dest="end", required=True, type=date.fromisoformat)
    ap.add_argument("--db", required=True, help="SQLite file, or a postgresql:// url")
    ap.add_argument("--page-size", type=int, default=500)
    ap.add_argument("--window-days", type=int, default=7)
    args = ap.parse_args()
    t0 = time.perf_counter()

    async def run() -> int:
        db = Sink(args.db)
        await db.open()
        try:
            return sum([await pull(args.base_url, acc, args.start, args.end, db,
                                   page_size=args.page_size, window_days=args.window_days)
                        for acc in args.account])
        finally:
            await db.close()

    total = asyncio.run(run())
    elapsed = time.perf_counter() - t0
    print(f"floor: {total} rows in {elapsed:.2f}s -> {total / elapsed:,.0f} rows/s")


if __name__ == "__main__":
    main()
