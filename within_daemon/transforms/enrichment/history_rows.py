"""Rolling history of a block of 14-day chunks as table rows: ``rolling_performance``'s values.

The history step reads one account's ``ad_data`` once for several consecutive chunks
(``pipelines.analytics._history``); each chunk's features are those
:func:`.history.rolling_performance` gives for the rows of its own range (its 28 days back
to its last day) and its targets, bit for bit. That function, called per chunk, turned
every row into floats and every ad into a prefix-sum series again for each of the three
chunks the row falls in, and built a dict per target that the loader took apart again.
Here, per block:

- each row's five counts become floats once, and each day's account sums (every row of
  the day, in row order, from ``0.0``: the same additions whichever chunk reads the day);
- per chunk, each ad's prefix sums start at the chunk's first day, as the per-chunk
  series did (a longer series would round differently), built in local variables;
- each target gives a tuple in the history columns' order (:func:`.history.fields`), an
  ad's days together (the stored rows do not depend on the order they are written in);
- a wide account may come a slice of its ads at a time, with the account's sums of each
  day added first over every slice in ad order (:func:`add_day_sums`, the same additions
  in the same order as one read's): an ad's prefix sums are its own.

The windows, subtractions and divisions are the same operations on the same operands,
so the floats are equal (``tests/transforms/enrichment/test_history_rows.py``).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from .history import WINDOWS, fields

#: One history row without its account and time: ``ad_id, date``, then :func:`fields`.
HistoryRow = tuple[Any, ...]

#: The fields of an input row, in order (``loaders.analytics_sums.SUM_COLUMNS``): rows
#: come as tuples straight from the database, read by position (a dict per row cost
#: about 40 % of the read). :func:`.competitive.benchmark_rows` takes the same rows.
SUM_FIELDS = ("platform", "account_id", "ad_id", "date", "impressions", "clicks", "spend",
              "conversions", "revenue")

if WINDOWS != (7, 28) or [n for n, _ in fields()][:5] != [
        "ad_ctr_7d", "ad_cvr_7d", "ad_cpa_7d", "ad_roas_7d", "ad_days_7d"]:
    raise ImportError("history fields moved: update history_rows")


def _minus(day: str, n: int) -> str:
    return (date.fromisoformat(day) - timedelta(days=n)).isoformat()


def _ratios(imp: float, clk: float, spend: float, conv: float, rev: float,
            n: int) -> tuple[Any, ...]:
    return (clk / imp if imp else None, conv / clk if clk else None,
            spend / conv if conv else None, rev / spend if spend else None, n)


#: The five counts of a day or an ad-day as floats (impressions, clicks, spend, conversions,
#: revenue).
Sums = tuple[float, float, float, float, float]


def add_day_sums(rows: Iterable[Sequence[Any]], day_sums: dict[str, Sums]) -> None:
    """Add ``rows``' counts into their days' account sums, in row order.

    ``rows`` as :func:`history_rows` takes them; only the day and the counts are read (the
    keys may be ``None``).

    The history step's wide accounts read their ads a slice at a time
    (``pipelines.history_slices``): the slices in ad order add each day's rows in the
    order one read gives them, so the sums are the same floats as :func:`history_rows`'.
    """
    _collect(rows, day_sums, None, None)


def _collect(rows: Iterable[Sequence[Any]], day_sums: dict[str, Sums] | None,
             ad_days: dict[str, list[str]] | None,
             ad_vals: dict[str, list[Sums]] | None) -> None:
    """Each row's counts as floats once: into ``day_sums`` and (or) the ads' series.

    The one place the account sums are added, whichever path reads the rows.
    """
    for _, _, ad_id, date_, imp, clk, spend, conv, rev in rows:
        day = str(date_)
        v = (float(imp or 0), float(clk or 0), float(spend or 0), float(conv or 0),
             float(rev or 0))
        if ad_days is not None and ad_vals is not None:
            ad = str(ad_id)
            got = ad_days.get(ad)
            if got is None:
                ad_days[ad], ad_vals[ad] = [day], [v]
            else:
                got.append(day)
                ad_vals[ad].append(v)
        if day_sums is not None:
            s = day_sums.get(day)
            if s is None:
                # acc = [0.0] * 5; acc[i] += v: the first addition is 0.0 + v.
                s = (0.0, 0.0, 0.0, 0.0, 0.0)
            day_sums[day] = (s[0] + v[0], s[1] + v[1], s[2] + v[2], s[3] + v[3],
                             s[4] + v[4])


def history_rows(rows: Iterable[Sequence[Any]], chunks: Iterable[Sequence[str]],
                 day_sums: Mapping[str, Sums] | None = None) -> Iterable[list[HistoryRow]]:
    """Per chunk (sorted days), the history rows of its targets.

    ``rows`` are one account's ``ad_sum_rows`` rows (:data:`SUM_FIELDS` tuples, date-major,
    ad order within a day) from at least 28 days before the first chunk to the last
    chunk's last day. A chunk's targets are its rows on its days; its range is its first
    day minus 28 to its last day.

    ``day_sums``, if given, are the account's sums per day (:func:`add_day_sums` over all
    its rows of the same range); ``rows`` may then be any of its ads' rows (all of each
    ad's): the rows of those ads come out, with the account's windows.
    """
    ad_days: dict[str, list[str]] = {}
    ad_vals: dict[str, list[Sums]] = {}
    if day_sums is None:
        own: dict[str, Sums] = {}
        _collect(rows, own, ad_days, ad_vals)
        day_sums = own
    else:
        _collect(rows, None, ad_days, ad_vals)
    all_days = sorted(day_sums)
    for chunk in chunks:
        yield _chunk_rows(chunk, ad_days, ad_vals, all_days, day_sums)


def history_in_key_order(rows: Iterable[Sequence[Any]], chunks: Iterable[Sequence[str]],
                         day_sums: Mapping[str, Sums] | None = None) -> list[HistoryRow]:
    """:func:`history_rows` of every chunk as one list, an ad's days together (key order).

    What the history step writes in one transaction: in key order, each B-tree page of
    ``ad_history`` is visited once. A plain function of plain data, so a worker process
    can run it (``pipelines.analytics``).
    """
    out = [r for rs in history_rows(rows, chunks, day_sums) for r in rs]
    out.sort(key=_ad_day)
    return out


def _ad_day(row: HistoryRow) -> tuple[Any, Any]:
    return row[0], row[1]


def _prefix(vals: Iterable[Sums]) -> list[tuple[float, ...]]:
    """Prefix sums from ``0.0`` (``_Series``' additions, one element at a time)."""
    a = b = c = d = e = 0.0
    out: list[tuple[float, ...]] = [(a, b, c, d, e)]
    append = out.append
    for v in vals:
        a += v[0]
        b += v[1]
        c += v[2]
        d += v[3]
        e += v[4]
        append((a, b, c, d, e))
    return out


def _window(p: Sequence[tuple[float, ...]], lo: int, hi: int) -> tuple[Any, ...]:
    a, b = p[lo], p[hi]
    return _ratios(b[0] - a[0], b[1] - a[1], b[2] - a[2], b[3] - a[3], b[4] - a[4], hi - lo)


def _chunk_rows(chunk: Sequence[str], ad_days: Mapping[str, list[str]],
                ad_vals: Mapping[str, list[Sums]],
                all_days: list[str],
                day_sums: Mapping[str, Sums],
                ) -> list[HistoryRow]:
    first, last = _minus(chunk[0], 28), chunk[-1]
    wanted = set(chunk)
    # The account's series over the chunk's range, as rolling_performance's _Series.
    lo_d, hi_d = bisect_left(all_days, first), bisect_right(all_days, last)
    acct_days = all_days[lo_d:hi_d]
    acct_p = _prefix(day_sums[d] for d in acct_days)
    per_day: dict[str, tuple[str, str, tuple[Any, ...]]] = {}
    for day in acct_days:
        if day in wanted:
            s7, s28 = _minus(day, 7), _minus(day, 28)
            hi = bisect_left(acct_days, day)
            acct = (_window(acct_p, bisect_left(acct_days, s7), hi)
                    + _window(acct_p, bisect_left(acct_days, s28), hi))
            per_day[day] = (s7, s28, acct)
    out: list[HistoryRow] = []
    append = out.append
    for ad, days_all in ad_days.items():
        lo_a = bisect_left(days_all, first)
        hi_a = bisect_right(days_all, last, lo_a)
        if lo_a == hi_a:
            continue
        days = days_all[lo_a:hi_a]
        p: list[tuple[float, ...]] | None = None
        for hi, day in enumerate(days):
            known = per_day.get(day)
            if known is None:
                continue  # not a target day of this chunk
            if p is None:
                p = _prefix(ad_vals[ad][lo_a:hi_a])
            s7, s28, acct = known
            lo7 = bisect_left(days, s7, 0, hi)
            lo28 = bisect_left(days, s28, 0, lo7)
            b = p[hi]
            a = p[lo7]
            imp, clk, spend, conv, rev = (b[0] - a[0], b[1] - a[1], b[2] - a[2], b[3] - a[3],
                                          b[4] - a[4])
            a = p[lo28]
            imp28, clk28, spend28, conv28, rev28 = (b[0] - a[0], b[1] - a[1], b[2] - a[2],
                                                    b[3] - a[3], b[4] - a[4])
            append((ad, day,
                    clk / imp if imp else None, conv / clk if clk else None,
                    spend / conv if conv else None, rev / spend if spend else None, hi - lo7,
                    clk28 / imp28 if imp28 else None, conv28 / clk28 if clk28 else None,
                    spend28 / conv28 if conv28 else None, rev28 / spend28 if spend28 else None,
                    hi - lo28, *acct))
    return out
