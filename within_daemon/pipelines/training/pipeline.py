"""Versioned training datasets for the two models: ad score and account health.

Both builders follow the same rules:

- **Features only from before the row's date, labels only from on/after it.** A row dated
  ``d`` takes its features from days ``< d`` (the ``ad_history`` rolling windows, or sums
  over the trailing window) and its labels from the window ``d .. d+horizon-1``. The
  creative features are those of the creative version in effect on ``d`` (the one the ad
  ran with that day, from ``ad_creative_history``), never the current creative: an edit
  does not reach back into the rows before the day it was first seen.
- **No partial labels.** A row whose label window is not wholly inside the loaded data of
  its account (``d+horizon-1`` after the account's last loaded day, capped at ``as_of``)
  is dropped.
- **Split by time.** Distinct row dates are sorted; the first share of dates is train, the
  next validation, the last test, so no date is in two splits. With ``purge`` (default)
  a train row whose label window reaches the first validation date is dropped, and the same
  for validation against test, so no training label overlaps the period it is judged on.
- **Content-addressed versions.** The content hash is sha256 over the canonical rows
  (sorted by key, floats rounded to 9 digits), the feature list, the label definition and
  the build parameters; not over ``created_at``, ``as_of`` or the source run ids. The same
  content gives the same version and a rebuild writes nothing (``created`` False).

Memory: a build reads the needed ``ad_data`` / ``ad_history`` rows (up to ``as_of``) into
memory and builds the dataset there; fine for the current data sizes, a streaming build
per account would be the next step for much larger stores.

Backends: the same build on SQLite and PostgreSQL gives the same rows, floats and hash. Both
reads have a total ``ORDER BY`` in byte order (``COLLATE "C"`` on PostgreSQL, whose default
collation follows the locale): the account sums add ad values up in row order, and float
addition is not associative.

This module holds the builders; the dataset definitions are in :mod:`.datasets`, the time
split and purge in :mod:`.split` and the content hash in :mod:`.hash`. The package
(``pipelines.training``) exports the public names of all four.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from statistics import median
from typing import Any

from within_daemon.loaders.analytics import creative_versions
from within_daemon.loaders.database import DatabaseLoader
from within_daemon.loaders.model_store import SPLITS, ModelStore
from within_daemon.loaders.schema.analytics import HISTORY_COLUMNS
from within_daemon.schema import is_ad_level

from .datasets import (
    ACCOUNT_HEALTH,
    ACCOUNT_KEY,
    AD_KEY,
    AD_SCORE,
    CLK,
    CONV,
    CREATIVE_FEATURES,
    DATASETS,
    IMP,
    METRICS,
    REV,
    SPEND,
    SUMS,
    LabelConfig,
    history_features,
)
from .hash import HASH_ALGORITHM, content_hash
from .split import shift_day, split_rows

__all__ = ["TrainingDataPipeline"]


# -- helpers -----------------------------------------------------------------------------------


def _byte_order(db: DatabaseLoader, *columns: str) -> str:
    """An ``ORDER BY`` list of text columns in byte order, as SQLite sorts and Python does."""
    collate = ' COLLATE "C"' if db.dialect.name == "postgresql" else ""
    return ", ".join(f"{c}{collate}" for c in columns)


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _window(days: Sequence[str], prefix: Sequence[Sequence[float]], start: str,
            end: str) -> tuple[list[float], int]:
    """Sums over the sorted ``days`` in ``[start, end)`` from prefix sums, and the day count."""
    lo, hi = bisect_left(days, start), bisect_left(days, end)
    return [y - x for x, y in zip(prefix[lo], prefix[hi], strict=True)], hi - lo


class TrainingDataPipeline:
    """Builds the ``ad_score`` and ``account_health`` datasets into a :class:`ModelStore`."""

    def __init__(self, db: DatabaseLoader, root: Path, *,
                 label_config: LabelConfig | None = None) -> None:
        self.db = db
        self.store = ModelStore(root)
        self.labels = label_config or LabelConfig()

    async def build(self, dataset: str, **kwargs: Any) -> dict[str, Any]:
        """Build ``dataset`` by name (for the CLI and the scheduled task)."""
        if dataset == AD_SCORE:
            return await self.build_ad_score(**kwargs)
        if dataset == ACCOUNT_HEALTH:
            return await self.build_account_health(**kwargs)
        raise ValueError(f"unknown dataset {dataset!r}; use one of {DATASETS}")

    # -- reading ---------------------------------------------------------------------------

    async def _ad_days(self, as_of: date | None) -> list[dict[str, Any]]:
        where, params = ("WHERE date <= ?", [as_of.isoformat()]) if as_of else ("", [])
        # Primary-key order on SQLite (platform, account_id, date, ad_id): no sort there.
        order = _byte_order(self.db, "platform", "account_id", "date", "ad_id")
        return await self.db.fetch_dicts(
            "SELECT platform, account_id, ad_id, date, " + ", ".join(SUMS) + ", run_id "
            f"FROM ad_data {where} ORDER BY {order}", params)

    @staticmethod
    def _daily(rows: Sequence[Mapping[str, Any]]) -> tuple[
            dict[tuple[str, str, str], dict[str, list[float]]], dict[tuple[str, str], str]]:
        """Per ad, day -> sums; and per account, its last loaded day."""
        per_ad: dict[tuple[str, str, str], dict[str, list[float]]] = defaultdict(dict)
        last: dict[tuple[str, str], str] = {}
        for r in rows:
            acct = (str(r["platform"]), str(r["account_id"]))
            day = str(r["date"])
            per_ad[(*acct, str(r["ad_id"]))][day] = [float(r[k] or 0) for k in SUMS]
            if day > last.get(acct, ""):
                last[acct] = day
        return per_ad, last

    # -- ad score ----------------------------------------------------------------------------

    async def build_ad_score(
        self, *, as_of: date | None = None, horizon_days: int = 7, min_impressions: int = 100,
        split: tuple[float, float, float] = (0.7, 0.15, 0.15), purge: bool = True,
    ) -> dict[str, Any]:
        """One row per ``ad_history`` (ad, day) with a complete, eligible label window."""
        if horizon_days < 1 or min_impressions < 0:
            raise ValueError("horizon_days must be >= 1 and min_impressions >= 0")
        metric = self.labels.ad_score_metric
        num_i, den_i, metric_def = METRICS[metric]
        ad_rows = await self._ad_days(as_of)
        per_ad, last = self._daily(ad_rows)
        ads_of: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
        for ad in sorted(per_ad):
            if is_ad_level(ad[2]):  # campaign-level rows (Google PMax) are not ads to score
                ads_of[ad[:2]].append(ad)

        def future(ad: tuple[str, str, str], d: str) -> float | None:
            daily = per_ad.get(ad, {})
            s = [0.0] * len(SUMS)
            for i in range(horizon_days):
                for j, v in enumerate(daily.get(shift_day(d, i), ())):
                    s[j] += v
            if s[IMP] < min_impressions or not s[den_i]:
                return None
            return s[num_i] / s[den_i]

        medians: dict[tuple[str, str, str], float | None] = {}

        def account_median(acct: tuple[str, str], d: str) -> float | None:
            k = (*acct, d)
            if k not in medians:
                vals = [v for ad in ads_of[acct] if (v := future(ad, d)) is not None]
                medians[k] = median(vals) if vals else None
            return medians[k]

        hist_names = [n for n, _ in HISTORY_COLUMNS]
        creative = list(CREATIVE_FEATURES)
        where, params = ("WHERE h.date <= ?", [as_of.isoformat()]) if as_of else ("", [])
        hist = await self.db.fetch_dicts(
            "SELECT h.platform, h.account_id, h.ad_id, h.date, "
            + ", ".join(f"h.{n}" for n in hist_names)
            + f" FROM ad_history h {where} ORDER BY "
            + _byte_order(self.db, "h.platform", "h.account_id", "h.ad_id", "h.date"), params)
        versions = await creative_versions(self.db, creative)
        no_creative = dict.fromkeys(creative)
        rows: list[dict[str, Any]] = []
        for h in hist:
            if not is_ad_level(h["ad_id"]):
                continue
            acct, d = (str(h["platform"]), str(h["account_id"])), str(h["date"])
            if acct not in last or shift_day(d, horizon_days - 1) > last[acct]:
                continue  # label window not wholly loaded
            value = future((*acct, str(h["ad_id"])), d)
            base = account_median(acct, d)
            if value is None or base is None:
                continue
            row = {k: h[k] for k in ("platform", "account_id", "ad_id", "date")}
            row.update({n: h[n] for n in hist_names})
            ad_versions = versions.get((*acct, str(h["ad_id"])))
            version = ad_versions.on(d) if ad_versions is not None else None
            row.update(version or no_creative)
            row.update(label=int(value > base), label_value=value, label_account_median=base)
            rows.append(row)

        features = [(n, t, dfn) for n, t, dfn in history_features()] + [
            (n, t, dfn) for n, (t, dfn) in CREATIVE_FEATURES.items()]
        labels = [
            ("label", "int64", "1 if label_value > label_account_median else 0"),
            ("label_value", "float64",
             f"the ad's {metric} ({metric_def}, sums) over days d .. d+{horizon_days - 1}"),
            ("label_account_median", "float64",
             f"median {metric} over the same days of the account's ads with "
             f">= {min_impressions} impressions there"),
        ]
        definition = (
            f"label = 1 if the ad's {metric.upper()} ({metric_def}, summed) over the "
            f"{horizon_days} days starting on the row's date is above the median of the same "
            f"{metric.upper()} of its account's ads over those days, else 0; ads (and median "
            f"members) need >= {min_impressions} impressions in the window; rows whose window "
            "is not wholly loaded are dropped")
        params_doc = {"horizon_days": horizon_days, "min_impressions": min_impressions,
                      "metric": metric, "split": list(split), "purge": purge}
        return self._save(AD_SCORE, rows, AD_KEY, features, labels, definition, params_doc,
                          ad_rows, as_of, horizon_days, split, purge)

    # -- account health -------------------------------------------------------------------

    async def build_account_health(
        self, *, as_of: date | None = None, horizon_days: int = 7, trailing_days: int = 28,
        split: tuple[float, float, float] = (0.7, 0.15, 0.15), purge: bool = True,
    ) -> dict[str, Any]:
        """One row per account and active day with a full trailing and label window."""
        if horizon_days < 1 or trailing_days < 7:
            raise ValueError("horizon_days must be >= 1 and trailing_days >= 7")
        ad_rows = await self._ad_days(as_of)
        per_ad, _ = self._daily(ad_rows)
        acct_daily: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(dict)
        acct_ads: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(
            lambda: defaultdict(set))
        for (p, a, ad), daily in per_ad.items():
            for d, vals in daily.items():
                acc = acct_daily[(p, a)].setdefault(d, [0.0] * len(SUMS))
                for j, v in enumerate(vals):
                    acc[j] += v
                if vals[IMP] or vals[SPEND]:
                    acct_ads[(p, a)][d].add(ad)

        wanted = set(self.labels.account_health_labels)
        rows: list[dict[str, Any]] = []
        for acct in sorted(acct_daily):
            daily = acct_daily[acct]
            days = sorted(daily)
            prefix = [[0.0] * len(SUMS)]
            for d in days:
                prefix.append([x + y for x, y in zip(prefix[-1], daily[d], strict=True)])

            first, last_day = days[0], days[-1]
            for d in days:
                since = shift_day(d, -trailing_days)
                if since < first or shift_day(d, horizon_days - 1) > last_day:
                    continue
                trail, active = _window(days, prefix, since, d)
                week, _ = _window(days, prefix, shift_day(d, -7), d)
                nxt, _ = _window(days, prefix, d, shift_day(d, horizon_days))
                expected = trail[SPEND] * horizon_days / trailing_days
                next_roas = _ratio(nxt[REV], nxt[SPEND])
                pacing = _ratio(nxt[SPEND], expected)
                if ("next_roas" in wanted and next_roas is None) or (
                        "spend_pacing" in wanted and pacing is None):
                    continue
                ads: set[str] = set()
                for day in days[bisect_left(days, since):bisect_left(days, d)]:
                    ads |= acct_ads[acct][day]
                row: dict[str, Any] = {"platform": acct[0], "account_id": acct[1], "date": d}
                row.update(
                    trail_spend=trail[SPEND], trail_impressions=trail[IMP],
                    trail_clicks=trail[CLK], trail_conversions=trail[CONV],
                    trail_revenue=trail[REV], trail_ctr=_ratio(trail[CLK], trail[IMP]),
                    trail_cvr=_ratio(trail[CONV], trail[CLK]),
                    trail_roas=_ratio(trail[REV], trail[SPEND]), trail_active_days=active,
                    trail_ad_count=len(ads), last7_spend=week[SPEND],
                    last7_roas=_ratio(week[REV], week[SPEND]),
                    last7_ctr=_ratio(week[CLK], week[IMP]),
                    spend_trend_7d=_ratio(week[SPEND], trail[SPEND] * 7 / trailing_days),
                )
                if "next_roas" in wanted:
                    row["next_roas"] = next_roas
                if "spend_pacing" in wanted:
                    row["spend_pacing"] = pacing
                rows.append(row)

        t = f"the {trailing_days} days strictly before the row's date"
        features = [
            ("trail_spend", "float64", f"spend summed over {t}"),
            ("trail_impressions", "float64", f"impressions summed over {t}"),
            ("trail_clicks", "float64", f"clicks summed over {t}"),
            ("trail_conversions", "float64", f"conversions summed over {t}"),
            ("trail_revenue", "float64", f"revenue summed over {t}"),
            ("trail_ctr", "float64", f"clicks / impressions over {t}"),
            ("trail_cvr", "float64", f"conversions / clicks over {t}"),
            ("trail_roas", "float64", f"revenue / spend over {t}"),
            ("trail_active_days", "int64", f"days with data in {t}"),
            ("trail_ad_count", "int64", f"distinct ads with impressions or spend in {t}"),
            ("last7_spend", "float64", "spend over the 7 days strictly before the row's date"),
            ("last7_roas", "float64", "revenue / spend over the 7 days before the row's date"),
            ("last7_ctr", "float64", "clicks / impressions over the 7 days before the date"),
            ("spend_trend_7d", "float64",
             f"last7_spend / (trail_spend * 7 / {trailing_days}): recent vs trailing pace"),
        ]
        nxt_doc = f"days d .. d+{horizon_days - 1}"
        label_defs = {
            "next_roas": ("float64", f"revenue / spend of the account over {nxt_doc}"),
            "spend_pacing": ("float64", f"spend over {nxt_doc} / (trail_spend * {horizon_days}"
                                        f" / {trailing_days}): 1.0 = on the trailing pace"),
        }
        labels = [(n, *label_defs[n]) for n in self.labels.account_health_labels]
        definition = (
            "; ".join(f"{n} = {label_defs[n][1]}" for n in self.labels.account_health_labels)
            + f"; rows need a full {trailing_days}-day trailing window and a wholly loaded "
            "label window inside the account's data, and every label defined")
        params_doc = {"horizon_days": horizon_days, "trailing_days": trailing_days,
                      "labels": list(self.labels.account_health_labels), "split": list(split),
                      "purge": purge}
        return self._save(ACCOUNT_HEALTH, rows, ACCOUNT_KEY, features, labels, definition,
                          params_doc, ad_rows, as_of, horizon_days, split, purge)

    # -- split, hash, store --------------------------------------------------------------

    def _save(
        self, dataset: str, rows: list[dict[str, Any]], key: Sequence[tuple[str, str]],
        features: Sequence[tuple[str, str, str]], labels: Sequence[tuple[str, str, str]],
        definition: str, params: Mapping[str, Any], ad_rows: Sequence[Mapping[str, Any]],
        as_of: date | None, horizon_days: int, split: tuple[float, float, float], purge: bool,
    ) -> dict[str, Any]:
        parts, purged = split_rows(dataset, rows, split, horizon_days, purge)

        columns = [*key, *((n, t) for n, t, _ in features), *((n, t) for n, t, _ in labels)]
        key_names = [n for n, _ in key]
        feature_doc = [{"name": n, "type": t, "definition": d} for n, t, d in features]
        label_doc = [{"name": n, "type": t, "definition": d} for n, t, d in labels]
        kept = [r for s in SPLITS for r in parts[s]]
        digest = content_hash(kept, columns, key_names, {
            "dataset": dataset, "features": feature_doc, "labels": label_doc,
            "label_definition": definition, "params": dict(params)})

        summary = {}
        for s in SPLITS:
            ds = sorted({str(r["date"]) for r in parts[s]})
            summary[s] = {"rows": len(parts[s]), "date_min": ds[0] if ds else None,
                          "date_max": ds[-1] if ds else None}
        all_days = sorted({str(r["date"]) for r in kept})
        date_range = {"start": all_days[0] if all_days else None,
                      "end": all_days[-1] if all_days else None}
        runs = sorted({str(r["run_id"]) for r in ad_rows if r.get("run_id")})
        manifest = {
            "created_at": datetime.now(UTC).isoformat(timespec="microseconds"),
            "as_of": as_of.isoformat() if as_of else None,
            "schema": [{"name": n, "type": t} for n, t in columns],
            "key_columns": key_names,
            "features": feature_doc,
            "labels": label_doc,
            "label_definition": definition,
            "params": dict(params),
            "splits": summary,
            "date_range": date_range,
            "purged_rows": purged,
            "source_run_ids": runs,
            "hash_algorithm": HASH_ALGORITHM,
        }
        data = {s: {n: [r.get(n) for r in sorted(
                    parts[s], key=lambda r: tuple(str(r[k]) for k in key_names))]
                    for n, _ in columns} for s in SPLITS}
        saved = self.store.save(dataset, content_hash=digest, columns=columns, splits=data,
                                manifest=manifest)
        return {"dataset": dataset, "version": saved.version, "path": str(saved.path),
                "created": saved.created, "rows": {s: summary[s]["rows"] for s in SPLITS},
                "date_range": date_range, "content_hash": digest}
