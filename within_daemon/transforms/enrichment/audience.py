"""Audience insights: demographic breakdown rows per ad and day, and a per-ad summary.

``normalize_audience`` turns raw Facebook insights rows split by the ``age`` and ``gender``
breakdowns into typed rows for ``audience_data`` (one per ad, day, age band and gender);
``normalize_tiktok_audience`` does the same for TikTok's audience report (age x gender per
ad). ``normalize_google_audience`` takes Google's ``age_range_view`` and ``gender_view``
rows, which are per ad group and never crossed: an age row has ``gender = "all"``, a
gender row ``age = "all"``, and ``ad_id`` holds the ad group id with ``level =
"ad_group"``. Age bands read alike on every platform ("18-24", "65+", "unknown").
``summarize`` condenses them per ad: the age band with the most impressions and its share,
and the impression shares of each gender. Shares are fractions of the ad's impressions and
``None`` when it has none. Pure functions: no I/O, no clock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

PLATFORM = "facebook"
GENDERS = ("female", "male", "unknown")
UNKNOWN = "unknown"
#: The dimension a row is not split by (Google reports age and gender separately).
ALL = "all"
#: What ``ad_id`` of a row names: an ad, or (Google) an ad group.
LEVELS = ("ad", "ad_group")

#: Columns of the per-day table after its key (platform, account_id, ad_id, date, age,
#: gender), as (name, SQL type).
AUDIENCE_KEY = ("platform", "account_id", "ad_id", "date", "age", "gender")
#: The delivery of one segment (never missing: a segment row always has its four numbers).
AUDIENCE_FIELDS: tuple[tuple[str, type], ...] = (
    ("impressions", int), ("clicks", int), ("spend", float), ("conversions", int),
)
SUMMARY_KEY = ("platform", "account_id", "ad_id")


def fields() -> tuple[tuple[str, type], ...]:
    """The summary fields ``(name, scalar type)`` in a stable order (columns: the loader)."""
    return (
        ("top_age_band", str), ("top_age_share", float), ("female_share", float),
        ("male_share", float), ("unknown_gender_share", float), ("audience_days", int),
    )


def _count(v: Any) -> int:
    """A Graph count (``"12"``, ``12``, ``"12.0"``) as ``int``; anything else is 0."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return 0
    return int(f) if f == f and f >= 0 else 0  # NaN and negatives count as nothing


def _money(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return 0.0
    return round(f, 2) if f == f and f >= 0 else 0.0


def _conversions(actions: Any, types: frozenset[str]) -> int:
    if not isinstance(actions, list):
        return 0
    return sum(
        _count(a.get("value")) for a in actions
        if isinstance(a, dict) and a.get("action_type") in types
    )


def normalize_audience(
    rows: Iterable[Mapping[str, Any]],
    *,
    account_id: str,
    conversion_action_types: Sequence[str] = ("offsite_conversion.fb_pixel_purchase",),
) -> list[dict[str, Any]]:
    """Typed ``audience_data`` rows from raw breakdown rows of one account.

    Rows without ``ad_id`` or ``date_start`` are dropped; a missing age or gender becomes
    ``"unknown"``. Conversions sum the ``actions`` of the given types (pass types that do
    not overlap, e.g. not ``purchase`` together with the pixel purchase).
    """
    types = frozenset(conversion_action_types)
    account = account_id.removeprefix("act_")
    out: list[dict[str, Any]] = []
    for r in rows:
        ad_id, day = r.get("ad_id"), r.get("date_start")
        if not ad_id or not day:
            continue
        out.append({
            "platform": PLATFORM,
            "account_id": account,
            "ad_id": str(ad_id),
            "date": str(day)[:10],
            "age": str(r.get("age") or UNKNOWN),
            "gender": str(r.get("gender") or UNKNOWN).lower(),
            "impressions": _count(r.get("impressions")),
            "clicks": _count(r.get("clicks")),
            "spend": _money(r.get("spend")),
            "conversions": _conversions(r.get("actions"), types),
            "level": "ad",
        })
    return out


def age_band(raw: Any) -> str:
    """``AGE_RANGE_25_34`` / ``AGE_25_34`` -> ``25-34``; ``…_65_UP`` / ``AGE_55_100`` -> ``55+``."""
    text = str(raw or "").upper().removeprefix("AGE_RANGE_").removeprefix("AGE_")
    parts = text.split("_")
    if len(parts) == 2 and parts[0].isdigit():
        if parts[1] in ("UP", "100"):
            return f"{int(parts[0])}+"
        if parts[1].isdigit():
            return f"{int(parts[0])}-{int(parts[1])}"
    return UNKNOWN


def gender_name(raw: Any) -> str:
    """``MALE`` / ``GENDER_FEMALE`` -> ``male`` / ``female``; anything else ``unknown``."""
    text = str(raw or "").lower().removeprefix("gender_")
    return text if text in ("female", "male") else UNKNOWN


def _dig(obj: Any, *path: str) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, Mapping) else None
    return obj


def normalize_google_audience(rows: Iterable[Mapping[str, Any]], *,
                              account_id: str) -> list[dict[str, Any]]:
    """Typed ad group rows from ``age_range_view`` / ``gender_view`` GoogleAdsRows.

    Each row carries ``_view`` (set by the source); rows without an ad group or a date are
    dropped. Spend is ``cost_micros`` / 1e6, conversions round half to even like ad rows.
    """
    out: list[dict[str, Any]] = []
    for r in rows:
        group, day = _dig(r, "adGroup", "id"), _dig(r, "segments", "date")
        if not group or not day:
            continue
        crit, m = r.get("adGroupCriterion"), r.get("metrics")
        m = m if isinstance(m, Mapping) else {}
        is_age = r.get("_view") == "age_range_view"
        out.append({
            "platform": "google", "account_id": account_id, "ad_id": str(group),
            "date": str(day)[:10],
            "age": age_band(_dig(crit, "ageRange", "type")) if is_age else ALL,
            "gender": ALL if is_age else gender_name(_dig(crit, "gender", "type")),
            "impressions": _count(m.get("impressions")), "clicks": _count(m.get("clicks")),
            "spend": round(_count(m.get("costMicros")) / 1_000_000, 2),
            "conversions": round(_money_raw(m.get("conversions"))),
            "level": "ad_group",
        })
    return out


def normalize_tiktok_audience(rows: Iterable[Mapping[str, Any]], *,
                              account_id: str) -> list[dict[str, Any]]:
    """Typed ad rows from TikTok audience report rows (``dimensions`` + ``metrics``)."""
    out: list[dict[str, Any]] = []
    for r in rows:
        d, m = r.get("dimensions"), r.get("metrics")
        if not isinstance(d, Mapping) or not isinstance(m, Mapping):
            continue
        ad_id, day = d.get("ad_id"), d.get("stat_time_day")
        if not ad_id or not day:
            continue
        out.append({
            "platform": "tiktok", "account_id": account_id, "ad_id": str(ad_id),
            "date": str(day)[:10],
            "age": age_band(d["age"]) if "age" in d else ALL,
            "gender": gender_name(d["gender"]) if "gender" in d else ALL,
            "impressions": _count(m.get("impressions")), "clicks": _count(m.get("clicks")),
            "spend": _money(m.get("spend")), "conversions": _count(m.get("conversion")),
            "level": "ad",
        })
    return out


def _money_raw(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return 0.0
    return f if f == f and f >= 0 else 0.0


def summary_from_totals(
    key: tuple[str, str, str], by_age: Mapping[str, int], by_gender: Mapping[str, int],
    days: int, level: str = "ad",
) -> dict[str, Any]:
    """One summary row from an ad's impressions per age band and per gender.

    The top age band is the one with the most impressions; ties go to the band that sorts
    first, so the result does not depend on row order.
    """
    platform, account_id, ad_id = key
    total = sum(by_age.values())
    g_total = sum(by_gender.values())
    top = min(by_age, key=lambda a: (-by_age[a], a)) if total else None
    out: dict[str, Any] = {
        "platform": platform, "account_id": account_id, "ad_id": ad_id,
        "top_age_band": top,
        "top_age_share": by_age[top] / total if top is not None else None,
        "audience_days": days, "level": level,
    }
    for g in GENDERS:
        out[f"{g}_share" if g != UNKNOWN else "unknown_gender_share"] = (
            by_gender.get(g, 0) / g_total if g_total else None
        )
    return out


def summarize(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per (platform, account_id, ad_id) summaries of normalized audience rows.

    Gender values other than female/male count as unknown; ``audience_days`` is the number
    of distinct dates the ad has audience rows for (with or without impressions). A row
    not split by age (``age = "all"``) counts for the gender split only, and the other
    way round.
    """
    by_age: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_gender: dict[tuple[str, str, str], dict[str, int]] = defaultdict(
        lambda: defaultdict(int))
    days: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    levels: dict[tuple[str, str, str], str] = {}
    for r in rows:
        key = (str(r["platform"]), str(r["account_id"]), str(r["ad_id"]))
        imp = int(r.get("impressions") or 0)
        gender, age = str(r.get("gender") or UNKNOWN), str(r.get("age") or UNKNOWN)
        if age != ALL:
            by_age[key][age] += imp
        if gender != ALL:
            by_gender[key][gender if gender in GENDERS else UNKNOWN] += imp
        days[key].add(str(r["date"]))
        levels[key] = str(r.get("level") or "ad")
    return [
        summary_from_totals(k, by_age[k], by_gender[k], len(days[k]), levels[k])
        for k in sorted(days)
    ]
