"""Amazon report stream decoding: CPU seconds for normal and hostile reports by size.

Usage: ``python bench/report_stream_bench.py [--mb 8 32 128] [--chunk 65536]``

*hostile*: rows whose 8,000-character strings are all ``}`` (every chunk boundary falls
inside one); *normal*: Sponsored Products rows of about 210 bytes. Linear decoding shows as
seconds growing in proportion to the size.
"""

from __future__ import annotations

import argparse
import time

import msgspec

from within_daemon.sources.http.json_stream import JsonArrayStream


def hostile(mb: int) -> bytes:
    n = mb * 1024 * 1024 // 8020
    return msgspec.json.encode([{"adId": str(i), "note": "}" * 8000} for i in range(n)])


def normal(mb: int) -> bytes:
    n = mb * 1024 * 1024 // 210
    return msgspec.json.encode([
        {"date": "2024-03-01", "campaignId": str(10**9 + i % 97), "adGroupId": "22",
         "adId": str(i), "impressions": 100 + i, "clicks": 3, "cost": 1.25,
         "campaignBudgetCurrencyCode": "USD", "purchases7d": 1, "sales7d": 9.99,
         "unitsSoldClicks7d": 1} for i in range(n)])


def run(raw: bytes, chunk: int) -> tuple[int, float]:
    stream, rows, t0 = JsonArrayStream(), 0, time.process_time()
    for i in range(0, len(raw), chunk):
        rows += len(stream.feed(raw[i:i + chunk]))
    stream.close()
    return rows, time.process_time() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mb", type=int, nargs="+", default=[8, 32, 128])
    ap.add_argument("--chunk", type=int, default=64 * 1024)
    args = ap.parse_args()
    for mb in args.mb:
        for name, make in (("normal", normal), ("hostile", hostile)):
            rows, cpu = run(make(mb), args.chunk)
            print(f"{name:8} {mb:4} MB  {rows:9,} rows  {cpu:6.2f} s CPU")


if __name__ == "__main__":
    main()
