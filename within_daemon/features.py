"""Feature definitions: the one place that says which features exist and where they come from.

Each :class:`FeatureDef` names a feature, the entity it describes (an ``ad`` or an
``account``), the derived table and column it is read from, its type and a one-line
description. :mod:`within_daemon.loaders.feature_store` materializes exactly these (online
latest values, offline history, Parquet export), and ``within-daemon features`` prints
:func:`describe`. The history is one wide table per feature view (the features of one
entity from one source table, ``loaders.schema.feature_store``): adding a feature is one
entry here plus a schema migration adding its column (the loader refuses to open a
database without it).

Sources and how a value is dated:

- ``ad_history`` (rolling 7/28-day ratios per ad-day, computed from the days strictly before
  the day), ``ad_benchmarks`` (percentiles among same-platform, same-topic ads that day) and
  ``rollup_account_daily`` (the account's day): stamped at the end of their day (UTC);
- ``acct_*`` rolling ratios are read from ``ad_history`` (every ad row of an account carries
  the same account value for a day) and stored once per account;
- ``ad_creative_features`` (the enrichments of the ad's creative): stamped at the end of each
  day the ad has an ``ad_data`` row, with the values of the creative version in effect that
  day, read from ``ad_creative_history`` (same columns; the table named here is the current
  creative's, which has them too). An ad's first known version stands for all the days
  before it was first seen (see the store).
"""

from __future__ import annotations

from typing import Literal

import msgspec

Entity = Literal["ad", "account"]
DType = Literal["float", "int", "str"]
ENTITIES: tuple[Entity, ...] = ("ad", "account")


class FeatureDef(msgspec.Struct, frozen=True):
    """One feature: what it describes, where it is read from, and what it means."""

    name: str
    entity: Entity
    source_table: str
    source_column: str
    dtype: DType
    description: str


def _f(name: str, entity: Entity, table: str, column: str, dtype: DType,
       description: str) -> FeatureDef:
    return FeatureDef(name, entity, table, column, dtype, description)


_H, _B, _C, _R = "ad_history", "ad_benchmarks", "ad_creative_features", "rollup_account_daily"

FEATURES: tuple[FeatureDef, ...] = (
    # -- ad, rolling performance (days strictly before the day) -----------------------------
    _f("ad_ctr_7d", "ad", _H, "ad_ctr_7d", "float", "clicks / impressions, previous 7 days"),
    _f("ad_cvr_7d", "ad", _H, "ad_cvr_7d", "float", "conversions / clicks, previous 7 days"),
    _f("ad_cpa_7d", "ad", _H, "ad_cpa_7d", "float", "spend / conversions, previous 7 days"),
    _f("ad_roas_7d", "ad", _H, "ad_roas_7d", "float", "revenue / spend, previous 7 days"),
    _f("ad_ctr_28d", "ad", _H, "ad_ctr_28d", "float", "clicks / impressions, previous 28 days"),
    _f("ad_cvr_28d", "ad", _H, "ad_cvr_28d", "float", "conversions / clicks, previous 28 days"),
    _f("ad_cpa_28d", "ad", _H, "ad_cpa_28d", "float", "spend / conversions, previous 28 days"),
    _f("ad_roas_28d", "ad", _H, "ad_roas_28d", "float", "revenue / spend, previous 28 days"),
    _f("ad_days_28d", "ad", _H, "ad_days_28d", "int",
       "days with data in the previous 28 days (how much history backs the ratios)"),
    # -- ad, competitive benchmarks --------------------------------------------------------
    _f("ctr_percentile", "ad", _B, "ctr_percentile", "float",
       "CTR percentile among same-platform, same-topic ads that day (0..1)"),
    _f("cpa_percentile", "ad", _B, "cpa_percentile", "float",
       "CPA percentile among peers that day, lower CPA ranks higher (0..1)"),
    _f("roas_percentile", "ad", _B, "roas_percentile", "float",
       "ROAS percentile among same-platform, same-topic ads that day (0..1)"),
    # -- ad, creative enrichments ----------------------------------------------------------
    _f("sentiment_compound", "ad", _C, "sentiment_compound", "float",
       "VADER compound sentiment of the creative text (-1..1)"),
    _f("topic", "ad", _C, "topic", "str", "best-matching topic of the creative text"),
    _f("topic_confidence", "ad", _C, "topic_confidence", "float",
       "confidence of the topic assignment (0..1)"),
    _f("discount_percent_max", "ad", _C, "discount_percent_max", "float",
       "largest percentage discount mentioned in the creative"),
    _f("has_urgency", "ad", _C, "has_urgency", "int",
       "1 if the creative uses urgency wording (limited time, ends today, ...)"),
    _f("image_brightness", "ad", _C, "image_brightness", "float",
       "mean brightness of the creative image (0..1)"),
    # -- account, rolling performance ------------------------------------------------------
    _f("acct_ctr_7d", "account", _H, "acct_ctr_7d", "float",
       "account clicks / impressions, previous 7 days"),
    _f("acct_cvr_7d", "account", _H, "acct_cvr_7d", "float",
       "account conversions / clicks, previous 7 days"),
    _f("acct_roas_7d", "account", _H, "acct_roas_7d", "float",
       "account revenue / spend, previous 7 days"),
    _f("acct_ctr_28d", "account", _H, "acct_ctr_28d", "float",
       "account clicks / impressions, previous 28 days"),
    _f("acct_roas_28d", "account", _H, "acct_roas_28d", "float",
       "account revenue / spend, previous 28 days"),
    # -- account, the day itself -----------------------------------------------------------
    _f("acct_spend_1d", "account", _R, "spend", "float",
       "account spend that day, in acct_currency_1d"),
    _f("acct_ctr_1d", "account", _R, "ctr", "float", "account clicks / impressions that day"),
    _f("acct_roas_1d", "account", _R, "roas", "float", "account revenue / spend that day"),
    _f("acct_currency_1d", "account", _R, "currency", "str",
       "currency of acct_spend_1d (the day's dominant currency if several)"),
)

FEATURES_BY_NAME: dict[str, FeatureDef] = {f.name: f for f in FEATURES}


def _check() -> None:
    if len(FEATURES_BY_NAME) != len(FEATURES):
        raise RuntimeError("duplicate feature names in FEATURES")


_check()


def features_of(entity: Entity) -> tuple[FeatureDef, ...]:
    """The features describing ``entity``, in definition order."""
    return tuple(f for f in FEATURES if f.entity == entity)


def describe() -> str:
    """A plain-text table of every feature, for ``within-daemon features``."""
    head = ("feature", "entity", "type", "source", "description")
    rows = [(f.name, f.entity, f.dtype, f"{f.source_table}.{f.source_column}", f.description)
            for f in FEATURES]
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(4)]

    def line(r: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4]

    out = [line(head), line(tuple("-" * w for w in widths) + ("-" * 11,))]
    out += [line(r) for r in rows]
    keys = ('entity keys: ad = "<platform>:<account_id>:<ad_id>", '
            'account = "<platform>:<account_id>"')
    return "\n".join([*out, "", keys]) + "\n"
