"""Column lists of the normalized schemas, shared by transforms, loaders and tests.

The seed document fixes the 24 ad fields and the 14 account fields; ``date`` and
``currency`` are ours (the day the metrics cover, in the account's time zone, and the
money unit of ``spend``). One deliberate departure from the seed: ``conversions`` and
``daily_conversions`` are real numbers, not integers, because attribution models (Google's
data-driven attribution above all) credit fractions of a conversion to each ad and the
account's total is the sum of those fractions; rounding per ad-day would lose conversions
and make ad rows disagree with the account totals. Keeping the lists here means the
loader's DDL, the normalizer's output and the validator's default schema cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

#: The seed's Ad Data Schema, in the seed's order.
AD_SEED_FIELDS: tuple[str, ...] = (
    "ad_id", "platform", "account_id", "campaign_id", "ad_group_id", "headline",
    "description", "cta", "image_url", "video_url", "landing_page_url", "start_date",
    "end_date", "status", "impressions", "clicks", "ctr", "spend", "conversions",
    "conversion_rate", "cpa", "roas", "relevance_score", "quality_score",
)

#: Every normalized ad-day record has these fields (the dict form: exactly these keys).
AD_FIELDS: tuple[str, ...] = (*AD_SEED_FIELDS, "date", "currency", "revenue")

#: Ad-day columns beside ``AD_FIELDS`` that a normalizer MAY fill (``records.AdDay`` has
#: them last, ``UNSET`` when not filled; a record without one stores the batch's value, or
#: NULL): ``attribution_window``, the attribution the platform counted conversions with
#: (Facebook: the ad set's setting, e.g. ``7d_click_1d_view``; Amazon: ``7d``/``14d``);
#: ``link_clicks``, Facebook's "Link clicks" (``inline_link_clicks``) beside "Clicks (all)".
#: See docs/metrics.md.
AD_EXTRA_FIELDS: tuple[str, ...] = ("attribution_window", "link_clicks")

#: Natural key of an ad-day row.
AD_KEY: tuple[str, ...] = ("platform", "account_id", "ad_id", "date")

#: The seed's Account Data Schema.
ACCOUNT_FIELDS: tuple[str, ...] = (
    "account_id", "platform", "account_name", "currency", "timezone", "date",
    "daily_spend", "daily_impressions", "daily_clicks", "daily_conversions",
    "daily_revenue", "daily_roas", "campaign_count", "ad_count",
)

ACCOUNT_KEY: tuple[str, ...] = ("platform", "account_id", "date")


class AccountInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What a connector reads about its ad account once per run (``get_account_info``).

    The source actor dates the account's days by ``timezone``; the normalizers fill the
    account fields of records from it.
    """

    account_id: str | None = None
    name: str | None = None
    currency: str | None = None
    #: IANA name of the account's time zone: its days are the platform's days.
    timezone: str | None = None
    #: The attribution the platform counts this account's conversions with, when one
    #: setting covers the account (Amazon ``7d``/``14d``, Google ``30d_click`` or ``mixed``).
    attribution_window: str | None = None
    #: What else the platform said (Facebook's ``account_status``, Amazon's marketplace...).
    details: dict[str, Any] = {}

    @classmethod
    def of(cls, account: AccountInfo | Mapping[str, Any] | None) -> AccountInfo:
        """``account`` as an ``AccountInfo``; a mapping is the seed's dict form.

        In a mapping, ``timezone_name`` (the platforms' spelling) stands for ``timezone`` and
        ``account_name`` for ``name``; keys that are not fields go to ``details``.
        """
        if isinstance(account, AccountInfo):
            return account
        if not account:
            return cls()
        rest = dict(account)
        fields: dict[str, Any] = {}
        for field, keys in _ACCOUNT_KEYS.items():
            for k in keys:
                v = rest.pop(k, None)
                if fields.get(field) is None:
                    fields[field] = v
        return cls(**fields, details=rest)


#: ``AccountInfo`` field -> the keys of the dict form that give it, the first set one wins.
_ACCOUNT_KEYS: dict[str, tuple[str, ...]] = {
    "account_id": ("account_id",),
    "name": ("name", "account_name"),
    "currency": ("currency",),
    "timezone": ("timezone", "timezone_name"),
    "attribution_window": ("attribution_window",),
}

#: ``ad_id`` prefix of ad-day rows that are not one ad's. Google Performance Max campaigns
#: have no ads (no ``ad_group_ad`` rows), yet their spend is part of the account's totals; they
#: are loaded per campaign and day as ``ad_id = "campaign:<campaign id>"`` (real ad ids are
#: digits, so the two never collide), with no ad group and no creative, so that ad rows add up
#: to the account's totals. Everything that is about ads themselves (creative enrichment,
#: the ad-score dataset) skips them; sums (rollups, drift check, account datasets) keep them.
CAMPAIGN_LEVEL_PREFIX = "campaign:"


def is_ad_level(ad_id: Any) -> bool:
    """Whether an ad-day row's ``ad_id`` names an ad (not a campaign-level row)."""
    return not (isinstance(ad_id, str) and ad_id.startswith(CAMPAIGN_LEVEL_PREFIX))

PLATFORMS: tuple[str, ...] = ("facebook", "google", "amazon", "tiktok", "internal")

#: Default validation schema for ad-day records, in the seed's schema language.
AD_DATA_SCHEMA: dict[str, dict[str, Any]] = {
    "ad_id": {"type": "string", "required": True, "max_length": 64},
    "platform": {"type": "string", "required": True, "allowed": list(PLATFORMS)},
    "account_id": {"type": "string", "required": True},
    "headline": {"type": "string", "required": False, "max_length": 200},
    "description": {"type": "string", "required": False},
    "impressions": {"type": "integer", "required": True, "min": 0},
    "clicks": {"type": "integer", "required": True, "min": 0},
    "ctr": {"type": "float", "required": False, "min": 0, "max": 1},
    "spend": {"type": "float", "required": True, "min": 0},
    # A real number: attribution models credit fractions of a conversion (see README).
    "conversions": {"type": "float", "required": False, "min": 0},
    "start_date": {"type": "date", "required": False},
    "end_date": {"type": "date", "required": False},
    "date": {"type": "date", "required": True},
    "currency": {"type": "string", "required": False, "max_length": 3},
    # Added by the transforms: values the normalizer could not parse stay raw strings, so
    # every numeric column that is not derived arithmetic must be typed here to be caught.
    "revenue": {"type": "float", "required": False, "min": 0},
    "link_clicks": {"type": "integer", "required": False, "min": 0},
    "status": {
        "type": "string", "required": False,
        "allowed": ["active", "paused", "archived", "deleted", "other"],
    },
}

#: Default validation schema for account-day records.
ACCOUNT_DATA_SCHEMA: dict[str, dict[str, Any]] = {
    "account_id": {"type": "string", "required": True},
    "platform": {"type": "string", "required": True, "allowed": list(PLATFORMS)},
    "date": {"type": "date", "required": True},
    "daily_spend": {"type": "float", "required": True, "min": 0},
    "daily_impressions": {"type": "integer", "required": True, "min": 0},
    "daily_clicks": {"type": "integer", "required": True, "min": 0},
    "daily_conversions": {"type": "float", "required": False, "min": 0},
    "daily_revenue": {"type": "float", "required": False, "min": 0},
    "currency": {"type": "string", "required": False, "max_length": 3},
}
