"""The time split of a training dataset into train, validation and test, with its purge.

Distinct row dates are sorted; the first share of dates is train, the next validation, the
last test, so no date is in two splits. With ``purge`` a train row whose label window
reaches the first validation date is dropped, and the same for validation against test, so
no training label overlaps the period it is judged on. Both datasets split the same way, so
the rule lives here once rather than in either builder, and it can be checked on plain dates
without a database.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from within_daemon.loaders.model_store import SPLITS


class InsufficientDataError(ValueError):
    """Too few labelled dates to make a time split (fewer than three)."""


def shift_day(s: str, n: int) -> str:
    """The ISO day ``n`` days after ``s`` (before, for a negative ``n``)."""
    return (date.fromisoformat(s) + timedelta(days=n)).isoformat()


def split_dates(dates: Sequence[str], split: tuple[float, float, float]) -> dict[str, str]:
    """Each distinct date -> its split; the earliest dates train, the latest test."""
    if len(split) != 3 or any(s <= 0 for s in split) or not math.isclose(sum(split), 1.0):
        raise ValueError(f"split must be three positive shares summing to 1, got {split}")
    days = sorted(set(dates))
    n = len(days)
    if n < 3:
        raise InsufficientDataError(f"{n} labelled date(s); a time split needs at least 3")
    i1 = max(1, min(n - 2, round(n * split[0])))
    i2 = max(i1 + 1, min(n - 1, round(n * (split[0] + split[1]))))
    return {d: SPLITS[0] if i < i1 else SPLITS[1] if i < i2 else SPLITS[2]
            for i, d in enumerate(days)}


def split_rows(
    dataset: str, rows: Sequence[dict[str, Any]], split: tuple[float, float, float],
    horizon_days: int, purge: bool,
) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """The rows of each split, in ``rows``' order, and how many the purge dropped.

    Raises :class:`InsufficientDataError` when a split ends up empty, since a dataset
    without one cannot be trained and judged.
    """
    assign = split_dates([str(r["date"]) for r in rows], split)
    firsts = {s: min((d for d, x in assign.items() if x == s)) for s in SPLITS}
    nxt = {"train": firsts["validation"], "validation": firsts["test"]}
    parts: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    purged = 0
    for r in rows:
        s = assign[str(r["date"])]
        if purge and s in nxt and shift_day(str(r["date"]), horizon_days - 1) >= nxt[s]:
            purged += 1
            continue
        parts[s].append(r)
    empty = [s for s in SPLITS if not parts[s]]
    if empty:
        raise InsufficientDataError(
            f"{dataset}: the {'/'.join(empty)} split is empty after the purge of label "
            f"windows ({horizon_days - 1} days at each boundary); load more days or "
            "build with purge=False")
    return parts, purged
