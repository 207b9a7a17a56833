"""Typed answer decoding against plain JSON decoding, per platform page shape.

Builds one page of each platform's shape in memory (a Graph insights page, a TikTok report
page, a Google searchStream body, Amazon's report status) and decodes it ``--repeat`` times
two ways: (a) ``msgspec.json.Decoder()`` into dicts and lists, as the connectors did, and
(b) the module-level typed decoder the connector now uses (``sources/<platform>/answers``;
the rows stay dicts, the envelope becomes Structs). The Google body goes through
``ArrayStream`` in 64 KiB chunks both ways, as the connector reads it. Prints MB/s of both.

    python bench/answers_bench.py --rows 5000 --repeat 20
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import msgspec

from within_daemon.sources.amazon.answers import REPORT
from within_daemon.sources.facebook.answers import PAGE as FB_PAGE
from within_daemon.sources.google.answers import STREAM_BATCH, STREAM_BATCHES
from within_daemon.sources.google.stream import ArrayStream
from within_daemon.sources.tiktok.answers import PAGE as TT_PAGE

KW = {"platform": "bench", "account_id": "1", "endpoint": "bench"}


def fb_body(n: int) -> bytes:
    rows = [{"ad_id": str(10**15 + i), "date_start": "2026-11-01", "date_stop": "2026-11-01",
             "impressions": str(100 + i), "clicks": str(i % 40), "spend": f"{i % 97}.25",
             "actions": [{"action_type": "omni_purchase", "value": "2"}],
             "account_currency": "USD", "campaign_id": "23850", "adset_id": "23851"}
            for i in range(n)]
    return msgspec.json.encode({"data": rows, "paging": {
        "cursors": {"before": "MAZDZD", "after": "NzIZD"}, "next": "https://x/y?after=NzIZD"}})


def tt_body(n: int) -> bytes:
    rows = [{"dimensions": {"ad_id": str(7 * 10**15 + i), "stat_time_day": "2026-11-01 00:00:00"},
             "metrics": {"spend": f"{i % 97}.25", "impressions": str(100 + i),
                         "clicks": str(i % 40), "conversion": "1", "campaign_id": "17"}}
            for i in range(n)]
    return msgspec.json.encode({"code": 0, "message": "OK", "request_id": "2026", "data": {
        "list": rows, "page_info": {"page": 1, "page_size": n, "total_number": n,
                                    "total_page": 1}}})


def google_body(n: int, batch: int = 10_000) -> bytes:
    rows = [{"campaign": {"id": str(21000 + i % 7)}, "adGroup": {"id": str(14000 + i % 50)},
             "adGroupAd": {"ad": {"id": str(670000 + i)}, "status": "ENABLED"},
             "segments": {"date": "2026-11-01"},
             "metrics": {"impressions": str(100 + i), "clicks": str(i % 40),
                         "costMicros": str(10000 * (i % 500)), "conversions": (i % 13) / 4}}
            for i in range(n)]
    return msgspec.json.encode([{"results": rows[i:i + batch], "fieldMask": "x",
                                 "requestId": "r"} for i in range(0, n, batch)])


def stream(body: bytes, typed: bool) -> int:
    dec = (ArrayStream(STREAM_BATCH.loads, decode_all=STREAM_BATCHES.loads) if typed
           else ArrayStream())
    n = 0
    for i in range(0, len(body), 64 * 1024):
        n += len(dec.feed(body[i:i + 64 * 1024]))
    return n + len(dec.close())


def rate(fn: Callable[[], Any], size: int, repeat: int) -> float:
    fn()
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return size * repeat / (time.perf_counter() - t0) / 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    plain = msgspec.json.Decoder()
    fb, tt, g = fb_body(args.rows), tt_body(args.rows), google_body(args.rows * 10)
    rep = msgspec.json.encode({"reportId": "r1", "status": "COMPLETED", "url": "https://s3/x",
                               "updatedAt": "2026-11-01T00:00:00Z", "configuration": {}})
    cases: list[tuple[str, bytes, Callable[[], Any], Callable[[], Any]]] = [
        ("facebook insights page", fb, lambda: plain.decode(fb),
         lambda: FB_PAGE.decode(fb, **KW)),
        ("tiktok report page", tt, lambda: plain.decode(tt), lambda: TT_PAGE.decode(tt, **KW)),
        ("google searchStream body", g, lambda: stream(g, False), lambda: stream(g, True)),
        ("amazon report status", rep, lambda: plain.decode(rep),
         lambda: REPORT.decode(rep, **KW)),
    ]
    print(f"{'answer':28} {'bytes':>11} {'plain MB/s':>11} {'typed MB/s':>11}")
    for name, body, untyped, typed in cases:
        reps = args.repeat if len(body) > 10_000 else args.repeat * 10_000
        print(f"{name:28} {len(body):11,} {rate(untyped, len(body), reps):11.1f} "
              f"{rate(typed, len(body), reps):11.1f}")


if __name__ == "__main__":
    main()
