"""Demographic breakdowns for the Facebook emulator: segments and exact metric splits.

With ``breakdowns`` (``age`` and/or ``gender``; other breakdowns are ignored) every row
splits into one row per segment, segment-major within its (bucket, entity). Each ad-day's
metrics are apportioned over the segments with integer cumulative floors, so the segment
rows add back EXACTLY to the unsplit row (spend in cents), and a count never exceeds the
count it is a part of (clicks <= impressions, link clicks <= clicks per segment).
"""

from __future__ import annotations

from within_daemon.sandbox.facebook.data import AccountData, Metrics, as_metrics
from within_daemon.sandbox.numbers import mix64

#: The demographic breakdowns the emulator splits rows by, in the order rows are split.
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
GENDERS = ("female", "male", "unknown")
BREAKDOWNS = ("age", "gender")
# Typical shares (percent) before the per-ad and per-day perturbation.
_AGE_BASE = (14, 28, 22, 16, 12, 8)
_GENDER_BASE = (48, 46, 6)


def segments(breakdowns: tuple[str, ...]) -> list[dict[str, str]]:
    """The breakdown columns of each segment a row splits into (``[{}]``: no split)."""
    ages: tuple[str | None, ...] = AGE_BANDS if "age" in breakdowns else (None,)
    genders: tuple[str | None, ...] = GENDERS if "gender" in breakdowns else (None,)
    out: list[dict[str, str]] = []
    for a in ages:
        for g in genders:
            seg: dict[str, str] = {}
            if a is not None:
                seg["age"] = a
            if g is not None:
                seg["gender"] = g
            out.append(seg)
    return out


def _split(total: int, weights: list[int]) -> list[int]:
    """``total`` apportioned by ``weights`` with cumulative floors: the parts sum to it.

    When ``total <= sum(weights)`` and the weights are themselves integer parts, each part
    is at most its weight, which keeps e.g. clicks within impressions per segment.
    """
    denom = sum(weights)
    if denom <= 0:
        weights, denom = [1] * len(weights), len(weights)
    out: list[int] = []
    cum = prev = 0
    for w in weights:
        cum += w
        cur = total * cum // denom
        out.append(cur - prev)
        prev = cur
    return out


def segment_weights(data: AccountData, ad: int, ordinal: int,
                    breakdowns: tuple[str, ...]) -> list[int]:
    """Deterministic audience weights of one ad-day, one per ``segments(breakdowns)``.

    Each ad has its own skew (so ads differ in their top age band), and each day moves the
    shares a little.
    """
    key = mix64((int(data.ads[ad].id) * 0x9E3779B1 + data.seed) & ((1 << 64) - 1))
    day = mix64((key + ordinal * 0x632BE59BD9B4E019) & ((1 << 64) - 1))
    age_w = [
        base * (40 + (key >> (6 * k) & 0x3F) % 121) * (90 + (day >> (5 * k) & 0x1F) % 21)
        for k, base in enumerate(_AGE_BASE)
    ] if "age" in breakdowns else [1]
    gender_w = [
        base * (70 + (key >> (40 + 7 * k) & 0x7F) % 61) * (95 + (day >> (32 + 4 * k) & 0xF) % 11)
        for k, base in enumerate(_GENDER_BASE)
    ] if "gender" in breakdowns else [1]
    return [a * g for a in age_w for g in gender_w]


def split_metrics(m: Metrics, weights: list[int]) -> list[Metrics]:
    """One ad-day's metrics split over segments; each metric's parts sum to its total."""
    impressions, clicks, spend, reach, link_clicks, purchases, value, leads, web, web_v = m
    imp = _split(impressions, weights)
    # Parts of a count follow the parts of the count that contains it; a zero container
    # falls back to the audience weights.
    by_imp = imp if impressions else weights
    clk = _split(clicks, by_imp)
    lnk = _split(link_clicks, clk if clicks else by_imp)
    pur = _split(purchases, lnk if link_clicks else by_imp)
    val = _split(value, pur if purchases else by_imp)
    web_p = _split(web, pur if purchases else by_imp)
    parts = zip(
        imp, clk, _split(spend, by_imp), _split(reach, by_imp), lnk, pur, val,
        _split(leads, lnk if link_clicks else by_imp), web_p,
        _split(web_v, val if value else by_imp), strict=True,
    )
    return [as_metrics(list(p)) for p in parts]
