"""``DataEnricher``: the seed's ``enrich_ad_data(data, enrich_with=[...])``.

Each name in ``enrich_with`` is a plugin. The per-creative ones (``sentiment``,
``topic_classification``, ``entity_extraction``, ``image_analysis``) add typed columns
computed from the ad's text and image; ``historical_performance`` and
``competitive_analysis`` add columns computed from other rows, which the caller passes in
(the daemon reads them from its database). ``image_analysis`` needs I/O, so it runs only
in :meth:`DataEnricher.aenrich_ad_data` with an injected ``analyze(url)`` coroutine; the
synchronous call refuses it with a clear error instead of silently skipping it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

import msgspec

from ...records import AdDay
from . import TEXT_ENRICHERS, enrich_text
from .competitive import benchmarks
from .history import rolling_performance
from .image import ImageFeatures, failed

#: Every enrichment name the daemon knows, in the seed's order.
ENRICHMENTS: tuple[str, ...] = (
    "sentiment", "topic_classification", "entity_extraction", "image_analysis",
    "historical_performance", "audience_insights", "competitive_analysis",
)
#: Names that work per creative (cached by creative content).
CREATIVE_ENRICHMENTS: tuple[str, ...] = (*TEXT_ENRICHERS, "image_analysis")
#: Names computed from other rows after loading.
ROW_ENRICHMENTS: tuple[str, ...] = ("historical_performance", "competitive_analysis")
#: Needs its own API pull (demographic breakdowns): the daemon runs it after loading;
#: ``enrich_ad_data`` refuses it instead of silently skipping it.
PULL_ENRICHMENTS: tuple[str, ...] = ("audience_insights",)

ImageAnalyzer = Callable[[str], Awaitable[ImageFeatures]]


def check_enrichments(names: Iterable[str]) -> tuple[str, ...]:
    """Validate a list of enrichment names (config or API); unknown ones fail."""
    chosen = tuple(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in ENRICHMENTS]
    if unknown:
        raise ValueError(f"unknown enrichments {unknown}; known: {list(ENRICHMENTS)}")
    return chosen


def creative_fields(record: AdDay) -> tuple[Any, ...]:
    """What the per-creative enrichments read of a record (see :func:`creative_key`)."""
    return (record.headline, record.description, record.cta, record.landing_page_url,
            record.image_url)


def creative_key(record: Mapping[str, Any] | AdDay) -> str:
    """A fingerprint of what the per-creative enrichments read: same text, same features."""
    if isinstance(record, AdDay):
        values: Iterable[Any] = creative_fields(record)
    else:
        values = (record.get(k) for k in _CREATIVE_FIELDS)
    return "\x1f".join(str(v or "") for v in values)


_CREATIVE_FIELDS = ("headline", "description", "cta", "landing_page_url", "image_url")


class DataEnricher:
    """Adds enrichment columns to normalized ad records."""

    def enrich_ad_data(
        self,
        data: Sequence[dict[str, Any]],
        enrich_with: Iterable[str] = ("sentiment", "topic_classification"),
        *,
        history_rows: Iterable[Mapping[str, Any]] | None = None,
        peer_rows: Iterable[Mapping[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        """Enriched copies of ``data`` (the input is not changed).

        ``history_rows``: earlier ad-day rows of the same account (for
        ``historical_performance``); ``peer_rows``: same-day rows of all accounts (for
        ``competitive_analysis``; default: ``data`` itself).
        """
        names = check_enrichments(enrich_with)
        if "image_analysis" in names:
            raise ValueError("image_analysis fetches images: use `await aenrich_ad_data(...)`")
        if "audience_insights" in names:
            raise ValueError("audience_insights pulls demographic breakdowns from the platform: "
                             "run it through the daemon (task enrich list)")
        return self._enrich(data, names, {}, history_rows, peer_rows)

    async def aenrich_ad_data(
        self,
        data: Sequence[dict[str, Any]],
        enrich_with: Iterable[str] = ("sentiment", "topic_classification"),
        *,
        analyze_image: ImageAnalyzer | None = None,
        history_rows: Iterable[Mapping[str, Any]] | None = None,
        peer_rows: Iterable[Mapping[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        """Like :meth:`enrich_ad_data`, with ``image_analysis`` through ``analyze_image``."""
        names = check_enrichments(enrich_with)
        images: dict[str, ImageFeatures] = {}
        if "image_analysis" in names:
            if analyze_image is None:
                raise ValueError("image_analysis needs analyze_image (e.g. ImageFetcher.analyze)")
            for url in {str(r.get("image_url")) for r in data if r.get("image_url")}:
                images[url] = await analyze_image(url)
        return self._enrich(data, names, images, history_rows, peer_rows)

    def _enrich(
        self,
        data: Sequence[dict[str, Any]],
        names: tuple[str, ...],
        images: Mapping[str, ImageFeatures],
        history_rows: Iterable[Mapping[str, Any]] | None,
        peer_rows: Iterable[Mapping[str, Any]] | None,
    ) -> list[dict[str, Any]]:
        text = [n for n in names if n in TEXT_ENRICHERS]
        cache: dict[str, dict[str, Any]] = {}
        out: list[dict[str, Any]] = []
        for rec in data:
            row = dict(rec)
            if text:
                key = creative_key(rec)
                if key not in cache:
                    cache[key] = enrich_text(rec, text)
                row.update(cache[key])
            if "image_analysis" in names:
                url = rec.get("image_url")
                img = images.get(str(url)) if url else failed("empty", "no image_url")
                row.update(msgspec.structs.asdict(img or failed("fetch_error")))
            out.append(row)
        if "historical_performance" in names:
            rows = list(history_rows or []) + list(data)
            hist = rolling_performance(rows, [(str(r["ad_id"]), str(r["date"])) for r in data])
            for row, hrow in zip(out, hist, strict=True):
                row.update({k: v for k, v in hrow.items() if k not in ("ad_id", "date")})
        if "competitive_analysis" in names:
            topics = {(str(r["platform"]), str(r["account_id"]), str(r["ad_id"])):
                      r.get("topic") for r in out}
            peers = list(peer_rows) if peer_rows is not None else out
            by_key = {(b["platform"], b["account_id"], b["ad_id"], b["date"]): b
                      for b in benchmarks(peers, topics)}
            for row in out:
                b = by_key.get((row["platform"], row["account_id"], row["ad_id"], row["date"]))
                if b is not None:
                    row.update({k: b[k] for k in b
                                if k.endswith("_percentile") or k == "peer_group_size"})
        return out
