"""Scores of the entity extractor and topic classifier on labelled offer/urgency ads.

Micro-averaged precision and recall over (ad, label) pairs for urgency and offers, the
share of ads whose prices, largest percentage off and largest saving are exactly right,
and topic accuracy. Used by ``test_offer_urgency.py`` and ``bench/entity_recall.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from within_daemon.transforms.enrichment.entities import entities_from_record
from within_daemon.transforms.enrichment.topics import topic_from_record

from .offer_urgency_holdout import OfferAd


def _labels(value: str | None) -> set[str]:
    return set(value.split("|")) if value else set()


def _pr(pairs: Iterable[tuple[set[str], set[str]]]) -> dict[str, float]:
    tp = fp = fn = 0
    for got, want in pairs:
        tp += len(got & want)
        fp += len(got - want)
        fn += len(want - got)
    return {"precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0, "tp": tp, "fp": fp, "fn": fn}


def score(ads: Iterable[OfferAd], *, misses: bool = False) -> dict[str, Any]:
    """Precision/recall per family, price exactness and topic accuracy over ``ads``."""
    urgency, offers, wrong = [], [], []
    prices = pct = save = topic = n = 0
    for a in ads:
        n += 1
        rec = a.record()
        got = entities_from_record(rec)
        gu, go = _labels(got.urgency_terms), _labels(got.offer_terms)
        urgency.append((gu, set(a.urgency)))
        offers.append((go, set(a.offers)))
        price = None if got.price_min is None else (got.price_min, got.price_max)
        want_price = None if a.price is None else (float(a.price[0]), float(a.price[1]))
        prices += price == want_price
        pct += got.discount_percent_max == a.percent
        save += got.discount_amount_max == a.saving
        t = topic_from_record(rec).topic
        topic += t == a.topic
        if misses and (gu != a.urgency or go != a.offers or t != a.topic
                       or price != want_price or got.discount_percent_max != a.percent
                       or got.discount_amount_max != a.saving):
            wrong.append({"ad": f"{a.headline} | {a.description}",
                          "urgency": (sorted(gu), sorted(a.urgency)),
                          "offers": (sorted(go), sorted(a.offers)),
                          "topic": (t, a.topic), "price": (price, want_price),
                          "percent": (got.discount_percent_max, a.percent),
                          "saving": (got.discount_amount_max, a.saving)})
    out: dict[str, Any] = {
        "ads": n, "urgency": _pr(urgency), "offers": _pr(offers),
        "price_exact": prices / n, "percent_exact": pct / n, "saving_exact": save / n,
        "topic_accuracy": topic / n,
    }
    if misses:
        out["misses"] = wrong
    return out
