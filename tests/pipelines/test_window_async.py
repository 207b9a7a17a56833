"""Sync or async is decided per request window by its own size, not the run's length."""

from __future__ import annotations

from within_daemon.pipelines.source_actor import window_uses_async, windows


def test_a_long_backfill_of_small_windows_stays_sync() -> None:
    days = [f"2024-{m:02d}-{d:02d}" for m in (1, 2, 3) for d in range(1, 29)]  # 84 days
    spans = windows(days, 7)
    assert len(spans) == 12
    assert not any(window_uses_async(len(w), 250, after_days=14, after_rows=250_000)
                   for _, _, w in spans)


def test_a_long_or_large_window_goes_async() -> None:
    assert window_uses_async(15, 10, after_days=14, after_rows=250_000)  # long
    assert window_uses_async(7, 40_000, after_days=14, after_rows=250_000)  # 280,000 rows
    assert not window_uses_async(7, 23_000, after_days=14, after_rows=250_000)  # 161,000
    # Account rows have no ads listing: only the window's days count.
    assert not window_uses_async(14, None, after_days=14, after_rows=1)
