"""The ad-day and account-day records every stage passes on: normalizer → validation → loader.

``AdDay`` has the fields of ``schema.AD_FIELDS`` in that order, then the optional ad-day
columns of ``schema.AD_EXTRA_FIELDS``; ``AccountDay`` has ``schema.ACCOUNT_FIELDS``. So
``msgspec.structs.astuple`` of a record is the loader's column order (``loaders.rows``).

**What the annotations promise.** They are the types of a record that passed validation,
which is every record the loader sees. Between the normalizer and the validator a field may
still hold the raw value the platform sent (``"abc"`` for impressions): the normalizer never
rejects anything itself, so the validator can refuse the record with a message naming the
field, and the pipeline quarantines the raw row. msgspec does not check types when a Struct
is built, so this costs nothing; a union such as ``int | str | None`` would say less (every
reader would have to narrow it, though no validated record holds a string there).

**Extra columns.** ``attribution_window`` and ``link_clicks`` are ``UNSET`` when the
platform's normalizer does not fill them (Google, internal data), ``None`` when it does and
the platform did not say. Both mean "the batch's value, else NULL" to the loader; the dict
form (``as_dict``, the seed's API) leaves an ``UNSET`` field out, as the dicts always did.

Dicts exist only at the seed's edges (``DataNormalizer.normalize_ad_data``,
``DataValidator.validate``, ``CrossPlatformNormalizer.combine``, ``write_batch`` called
with dicts) and in the quarantine (a rejected record is stored in its dict form);
``as_dict`` and ``ad_day`` / ``account_day`` convert there.

``gc=False``: a record holds scalars (or, before validation, the raw value a platform sent,
which never refers back to the record), so it can take part in no reference cycle. Left out
of the collector, it is also cheaper to build: 100,000 ad-days by keyword took 0.28 s
against 0.41 s tracked and 0.37 s for the same dict (2026-12-05, ``timeit`` best of 5).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from within_daemon.schema import ACCOUNT_FIELDS, AD_EXTRA_FIELDS, AD_FIELDS

__all__ = ["UNSET", "AccountDay", "AdDay", "Record", "account_day", "ad_day", "as_dict",
           "is_record"]


class AdDay(msgspec.Struct, frozen=True, gc=False):
    """One ad's metrics on one day (``schema.AD_FIELDS``, then ``AD_EXTRA_FIELDS``)."""

    ad_id: str | None
    platform: str
    account_id: str | None
    campaign_id: str | None
    ad_group_id: str | None
    headline: str | None
    description: str | None
    cta: str | None
    image_url: str | None
    video_url: str | None
    landing_page_url: str | None
    start_date: str | None
    end_date: str | None
    status: str | None
    impressions: int | None
    clicks: int | None
    ctr: float | None
    spend: float | None
    #: A real number: attribution credits fractions of a conversion (see ``schema``).
    conversions: float | None
    conversion_rate: float | None
    cpa: float | None
    roas: float | None
    relevance_score: float | None
    quality_score: float | None
    date: str | None
    currency: str | None
    revenue: float | None
    #: The attribution the platform counted conversions with (``7d_click_1d_view``, ``14d``).
    attribution_window: str | None | UnsetType = UNSET
    #: Facebook's "Link clicks" beside "Clicks (all)".
    link_clicks: int | None | UnsetType = UNSET


class AccountDay(msgspec.Struct, frozen=True, gc=False):
    """One ad account's totals on one day (``schema.ACCOUNT_FIELDS``)."""

    account_id: str | None
    platform: str
    account_name: str | None
    currency: str | None
    timezone: str | None
    date: str | None
    daily_spend: float | None
    daily_impressions: int | None
    daily_clicks: int | None
    daily_conversions: float | None
    daily_revenue: float | None
    daily_roas: float | None
    campaign_count: int | None
    ad_count: int | None


Record = AdDay | AccountDay

_asdict = msgspec.structs.asdict


def is_record(obj: Any) -> bool:
    """Whether ``obj`` is an ``AdDay`` or ``AccountDay`` (not a subclass)."""
    cls = obj.__class__
    return cls is AdDay or cls is AccountDay


def as_dict(rec: Record) -> dict[str, Any]:
    """The seed's dict form of a record: every field, an ``UNSET`` extra left out."""
    d = _asdict(rec)
    if rec.__class__ is AdDay:
        if d["attribution_window"] is UNSET:
            del d["attribution_window"]
        if d["link_clicks"] is UNSET:
            del d["link_clicks"]
    return d


def ad_day(data: Mapping[str, Any]) -> AdDay:
    """An ``AdDay`` from the dict form (a missing field is None; other keys are refused)."""
    stray = set(data).difference(AdDay.__struct_fields__)
    if stray:
        raise ValueError(f"not ad-day fields: {sorted(stray)}")
    fields: dict[str, Any] = {f: data.get(f) for f in AD_FIELDS}
    fields.update((f, data[f]) for f in AD_EXTRA_FIELDS if f in data)
    return AdDay(**fields)


def account_day(data: Mapping[str, Any]) -> AccountDay:
    """An ``AccountDay`` from the dict form (a missing field is None; other keys are refused)."""
    stray = set(data).difference(ACCOUNT_FIELDS)
    if stray:
        raise ValueError(f"not account-day fields: {sorted(stray)}")
    fields: dict[str, Any] = {f: data.get(f) for f in ACCOUNT_FIELDS}
    return AccountDay(**fields)
