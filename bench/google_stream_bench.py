"""searchStream decoding: ArrayStream fed in 64 KiB chunks vs one msgspec decode of the body.

Builds a searchStream-shaped answer (batches of 10,000 GoogleAdsRows, as Google sends) in
memory, then decodes it (a) incrementally, the way the connector does, and (b) whole, the
way it did before. Prints rows/s and the most bytes the incremental decoder held.

    python bench/google_stream_bench.py --rows 200000
"""

from __future__ import annotations

import argparse
import time

import msgspec

from within_daemon.sources.google.stream import ArrayStream


def row(i: int) -> dict[str, object]:
    return {
        "campaign": {"resourceName": f"customers/5550000001/campaigns/{21000 + i % 7}",
                     "id": str(21000 + i % 7)},
        "adGroup": {"resourceName": f"customers/5550000001/adGroups/{14000 + i % 50}",
                    "id": str(14000 + i % 50)},
        "adGroupAd": {"resourceName": f"customers/5550000001/adGroupAds/1~{670000 + i}",
                      "ad": {"resourceName": f"customers/5550000001/ads/{670000 + i}",
                             "id": str(670000 + i)}, "status": "ENABLED"},
        "segments": {"date": "2026-11-01"},
        "metrics": {"impressions": str(100 + i % 900), "clicks": str(i % 40),
                    "costMicros": str(10000 * (i % 500)), "conversions": (i % 13) / 4,
                    "conversionsValue": (i % 31) * 1.5},
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--exact-after", type=int, default=64 << 20,
                    help="bytes before the exact scan takes over (0: exact scan only)")
    args = ap.parse_args()
    rows = [row(i) for i in range(args.rows)]
    batches = [{"results": rows[i:i + args.batch], "fieldMask": "x", "requestId": "r"}
               for i in range(0, len(rows), args.batch)]
    body = msgspec.json.encode(batches)
    del rows, batches
    t0 = time.perf_counter()
    dec, n = ArrayStream(exact_after=args.exact_after), 0
    for i in range(0, len(body), 64 * 1024):
        for b in dec.feed(body[i:i + 64 * 1024]):
            n += len(b["results"])
    n += sum(len(b["results"]) for b in dec.close())
    inc = time.perf_counter() - t0
    t0 = time.perf_counter()
    whole = sum(len(b["results"]) for b in msgspec.json.decode(body))
    one = time.perf_counter() - t0
    assert n == whole == args.rows
    print(f"{args.rows} rows, {len(body) / 1e6:.1f} MB answer")
    print(f"incremental: {n / inc:,.0f} rows/s, peak buffer {dec.peak / 1e6:.2f} MB")
    print(f"whole body:  {whole / one:,.0f} rows/s, holds the {len(body) / 1e6:.1f} MB body")


if __name__ == "__main__":
    main()
