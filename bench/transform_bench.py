"""CPU per row of the record path inside one process: transform a page, then bind its rows.

What the daemon does between the raw queue and the database for a Facebook ad page, with
no I/O: ``TransformActor.transform`` (normalize, validate, key check) on 500-row pages of
insights rows shaped like the emulator's (numbers as strings, ``actions`` lists, 7 days of
2,000 ads, their creatives in the ``ads`` mapping), then ``loaders.rows.fact_rows`` on the
batch's records. It runs whatever ``within_daemon`` is importable, so two versions compare
by ``PYTHONPATH`` in one shell, interleaved (the wall-clock ratio of ``floor_ratio.py``
moves with the other jobs on a shared machine; this moves less):

    PYTHONPATH=/path/to/other/checkout python bench/transform_bench.py --repeat 5
"""

from __future__ import annotations

import argparse
import gc
import time
from typing import Any

import within_daemon
from within_daemon.loaders.rows import fact_rows
from within_daemon.pipelines.messages import RawPage, RunRef
from within_daemon.pipelines.transform_actor import TransformActor
from within_daemon.schema import AccountInfo
from within_daemon.transforms import DataNormalizer

RANKS = ("ABOVE_AVERAGE", "AVERAGE", "BELOW_AVERAGE_35", "UNKNOWN")


def pages(ads: int, days: int, size: int) -> tuple[list[list[dict[str, Any]]], dict[str, Any]]:
    """Insights rows of ``ads`` ads over ``days`` days in pages of ``size``, and the ads."""
    listing = {
        str(9000 + a): {
            "id": str(9000 + a), "campaign_id": str(100 + a % 7), "adset_id": str(500 + a % 40),
            "effective_status": "ACTIVE" if a % 5 else "PAUSED",
            "created_time": "2024-01-03T08:00:00-0800",
            "adset": {"start_time": "2024-01-03T08:00:00-0800"},
            "creative": {"title": f"Winter sale {a}", "body": "Warm socks for cold days",
                         "call_to_action_type": "SHOP_NOW",
                         "image_url": f"https://img.example.test/{a}.jpg",
                         "link_url": f"https://shop.example.test/p{a}"},
        } for a in range(ads)}
    rows = []
    for d in range(days):
        for a in range(ads):
            imp = 1000 + (a * 37 + d * 11) % 5000
            clk = imp // (20 + a % 30)
            buy = clk // 9
            rows.append({
                "account_id": "1000000001", "ad_id": str(9000 + a),
                "adset_id": str(500 + a % 40), "campaign_id": str(100 + a % 7),
                "date_start": f"2024-02-{d + 1:02d}", "date_stop": f"2024-02-{d + 1:02d}",
                "impressions": str(imp), "clicks": str(clk), "inline_link_clicks": str(clk // 2),
                "spend": f"{clk * 0.37:.2f}", "account_currency": "USD",
                "attribution_setting": "7d_click_1d_view",
                "quality_ranking": RANKS[a % len(RANKS)],
                "actions": [{"action_type": "link_click", "value": str(clk // 2)},
                            {"action_type": "omni_purchase", "value": str(buy)}],
                "action_values": [{"action_type": "omni_purchase", "value": f"{buy * 31.5:.2f}"}],
            })
    return [rows[i:i + size] for i in range(0, len(rows), size)], listing


def once(actor: TransformActor, raw: list[RawPage]) -> tuple[float, int]:
    """Seconds of CPU for every page transformed and bound, and the rows bound."""
    n = 0
    t0 = time.process_time()
    for page in raw:
        batch = actor.transform(page)
        n += len(fact_rows("ad", batch.records, "run", page.fetched_at, page.fetched_at,
                           batch.context))
    return time.process_time() - t0, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ads", type=int, default=2000)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    chunks, listing = pages(args.ads, args.days, 500)
    ref = RunRef("run", "ads", "ad", "facebook", "1000000001", "AdDataPipeline")
    account = AccountInfo(account_id="act_1000000001", currency="USD", timezone="UTC")
    raw = [RawPage(ref, rows, "2024-03-01T00:00:00Z", ads=listing, account=account)
           for rows in chunks]
    actor = TransformActor(None, None, normalizers={"facebook": DataNormalizer()})  # type: ignore[arg-type]
    once(actor, raw[:2])  # warm: compiled checks, per-ad metadata of the run
    times = []
    for _ in range(args.repeat):
        gc.collect()
        secs, n = once(actor, raw)
        times.append(secs)
    best = min(times)
    print(f"{within_daemon.__file__}: {n:,} rows, best of {args.repeat}: {best:.3f} s CPU, "
          f"{best / n * 1e6:.2f} us/row (all: {', '.join(f'{t:.3f}' for t in times)})")


if __name__ == "__main__":
    main()
