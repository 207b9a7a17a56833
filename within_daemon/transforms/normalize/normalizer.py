"""Platform rows -> normalized ad-day / account-day records (pure functions, no I/O).

A normalized record is a ``records.AdDay`` (the fields of ``schema.AD_FIELDS``, then the
optional ``AD_EXTRA_FIELDS``) or ``records.AccountDay`` (``schema.ACCOUNT_FIELDS``): counts
are ``int``, money and ratios ``float``, dates ISO ``"YYYY-MM-DD"`` strings, ``None`` where
the platform did not say. The pipeline calls ``ad_records`` / ``account_records``; the
seed's ``normalize_ad_data`` / ``normalize_account_data`` and ``CrossPlatformNormalizer``
give the same records as dicts with exactly those keys (``records.as_dict``).

The normalizer never rejects anything itself. A value it cannot parse (``"abc"`` for
impressions) is passed through as the raw value, so the validator refuses the record with
a message naming the field and the pipeline quarantines it; one bad row never aborts a
batch.

``DataNormalizer`` holds what every platform shares (the conversion and revenue action
types, the per-ad metadata caches) and looks the platform's function up in the tables of
``normalize.registry``; each platform's mapping is its own module (``normalize/<platform>``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from within_daemon.records import AccountDay, AdDay, as_dict
from within_daemon.schema import AD_KEY, AccountInfo
from within_daemon.transforms.currency import FxTable
from within_daemon.transforms.normalize.facebook import split_ad_objects
from within_daemon.transforms.normalize.facebook_actions import ActionPlan
from within_daemon.transforms.normalize.registry import ACCOUNT_NORMALIZERS, AD_NORMALIZERS

#: ``ads`` mappings whose per-ad metadata is kept (one per account in flight).
AD_INFO_CACHES = 16

#: Ads Manager's default "Purchases" column: website, app, offline and on-Meta purchases
#: (reference §0 "Metric definitions"). "Website purchases" is the pixel type.
DEFAULT_CONVERSION_ACTION_TYPES: tuple[str, ...] = ("omni_purchase",)


class DataNormalizer:
    """Turns raw platform rows into normalized records; see the module docstring."""

    def __init__(
        self,
        *,
        conversion_action_types: Sequence[str] = DEFAULT_CONVERSION_ACTION_TYPES,
        revenue_action_types: Sequence[str] | None = None,
    ) -> None:
        self.conversion_plan = ActionPlan(conversion_action_types, "conversion_action_types")
        self.revenue_plan = (
            self.conversion_plan
            if revenue_action_types is None
            else ActionPlan(revenue_action_types, "revenue_action_types")
        )
        self.conversion_action_types = self.conversion_plan.types
        self.revenue_action_types = self.revenue_plan.types
        #: Per-ad metadata by the identity of the ``ads`` mapping it came from: the
        #: pipeline passes one mapping per (run, account) with every page, and a page lists
        #: up to 500 different ads, so a per-page cache recomputed it for nearly every row.
        #: Holding the mapping keeps its id from being reused; the newest few are kept.
        self._ad_infos: dict[int, tuple[Mapping[str, Any], dict[str, Any]]] = {}

    def ad_infos(self, ads: Mapping[str, Any] | None) -> dict[str, Any]:
        """The per-ad metadata cache of ``ads`` (an empty one for ``None``)."""
        if ads is None:
            return {}
        hit = self._ad_infos.get(id(ads))
        if hit is not None and hit[0] is ads:
            return hit[1]
        if len(self._ad_infos) >= AD_INFO_CACHES:
            del self._ad_infos[next(iter(self._ad_infos))]
        cache: dict[str, Any] = {}
        self._ad_infos[id(ads)] = (ads, cache)
        return cache

    def forget_ads(self, ads: Mapping[str, Any] | None) -> None:
        """Drop the metadata cache of ``ads`` (its run is over): frees the ads it holds."""
        hit = self._ad_infos.get(id(ads))
        if hit is not None and hit[0] is ads:
            del self._ad_infos[id(ads)]

    def ad_records(
        self,
        data: Iterable[Any],
        platform: str,
        *,
        ads: Mapping[str, Any] | None = None,
        account: AccountInfo | Mapping[str, Any] | None = None,
    ) -> list[AdDay]:
        """Raw ad-level daily rows -> ``AdDay`` records.

        One record per input row, in input order, so ``errors[i]["index"]`` from the
        validator also points at the raw row (the pipeline quarantines the raw row).
        ``account`` is the connector's ``AccountInfo``, or the seed's dict form.
        """
        fn = AD_NORMALIZERS.get(platform)
        if fn is None:
            raise ValueError(f"no normalizer for platform {platform!r}")
        if ads is None and platform == "facebook":
            data, ads = split_ad_objects(data)
        return fn(self, data, ads=ads, account=AccountInfo.of(account))

    def account_records(
        self,
        data: Iterable[Any],
        platform: str,
        *,
        account: AccountInfo | Mapping[str, Any] | None = None,
        counts: Mapping[str, tuple[int | None, int | None]] | None = None,
    ) -> list[AccountDay]:
        """Raw account-level daily rows -> ``AccountDay`` records, one per row, in order."""
        fn = ACCOUNT_NORMALIZERS.get(platform)
        if fn is None:
            raise ValueError(f"no normalizer for platform {platform!r}")
        return fn(self, data, account=AccountInfo.of(account), counts=counts)

    def normalize_ad_data(
        self,
        data: Iterable[Any],
        platform: str,
        *,
        ads: Mapping[str, Any] | None = None,
        account: AccountInfo | Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """The seed's form of :meth:`ad_records`: dicts with exactly ``AD_FIELDS``.

        Plus the ``AD_EXTRA_FIELDS`` the platform's normalizer fills (``records.as_dict``).
        """
        return [as_dict(r) for r in self.ad_records(data, platform, ads=ads, account=account)]

    def normalize_account_data(
        self,
        data: Iterable[Any],
        platform: str,
        *,
        account: AccountInfo | Mapping[str, Any] | None = None,
        counts: Mapping[str, tuple[int | None, int | None]] | None = None,
    ) -> list[dict[str, Any]]:
        """The seed's form of :meth:`account_records`: dicts with exactly ``ACCOUNT_FIELDS``."""
        return [as_dict(r) for r in self.account_records(data, platform, account=account,
                                                         counts=counts)]


class CrossPlatformNormalizer:
    """The seed's cross-platform facade: normalize any platform of the registry, then combine."""

    def __init__(self, normalizer: DataNormalizer | None = None) -> None:
        self.normalizer = normalizer or DataNormalizer()

    def normalize(self, data: Iterable[Any], platform: str, **kw: Any) -> list[dict[str, Any]]:
        return self.normalizer.normalize_ad_data(data, platform, **kw)

    def combine(
        self, parts: Iterable[Iterable[dict[str, Any]]], *, fx: FxTable | None = None
    ) -> list[dict[str, Any]]:
        """Concatenate normalized lists; a repeated ``AD_KEY`` is an error, not a silent merge.

        With ``fx``, money is also given in its reporting currency (originals kept).
        """
        seen: set[tuple[Any, ...]] = set()
        out: list[dict[str, Any]] = []
        for part in parts:
            for rec in part:
                key = tuple(rec.get(f) for f in AD_KEY)
                if key in seen:
                    named = " ".join(f"{f}={v}" for f, v in zip(AD_KEY, key, strict=True))
                    raise ValueError(f"duplicate record key {named}")
                seen.add(key)
                out.append(rec)
        return fx.convert(out) if fx is not None else out
