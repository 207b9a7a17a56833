"""Offer and urgency recall and precision, prices and topics on labelled ad sets.

The held-out set (``offer_urgency_holdout.py``, 120 ads) was written and committed before
the extractor and taxonomy were tuned, and only its totals were looked at afterwards (four
times, recorded in ``bench/README.md``); the tuning set (``offer_urgency_tuning.py``) is
what the patterns were fitted to. Figures and the command: ``bench/entity_recall.py``.
"""

from __future__ import annotations

from within_daemon.transforms.enrichment.offers import OFFER_LABELS, URGENCY_LABELS

from .offer_scoring import score
from .offer_urgency_holdout import HELD_OUT_OFFER_ADS
from .offer_urgency_tuning import TUNING_OFFER_ADS

#: Targets of issue 13 on the held-out set.
MIN_RECALL = MIN_PRECISION = 0.9
#: The issue's topic target; measured 0.858 (103 of 120). bench/README.md says how often the
#: held-out set was read and why 0.78 on fresh copy is the more honest estimate.
TOPIC_TARGET = 0.85


def test_sets_are_large_disjoint_and_use_known_labels() -> None:
    """100+ held-out ads, apart from the tuning ads, labelled only with known labels."""
    assert len(HELD_OUT_OFFER_ADS) >= 100 and len(TUNING_OFFER_ADS) >= 60
    held = {(a.headline, a.description) for a in HELD_OUT_OFFER_ADS}
    assert len(held) == len(HELD_OUT_OFFER_ADS)
    assert held.isdisjoint((a.headline, a.description) for a in TUNING_OFFER_ADS)
    for a in (*HELD_OUT_OFFER_ADS, *TUNING_OFFER_ADS):
        assert a.urgency <= set(URGENCY_LABELS) and a.offers <= set(OFFER_LABELS), a
    assert {label for a in HELD_OUT_OFFER_ADS for label in a.urgency} == set(URGENCY_LABELS)
    assert {label for a in HELD_OUT_OFFER_ADS for label in a.offers} == set(OFFER_LABELS)


def test_held_out_urgency_and_offers_meet_the_targets() -> None:
    """Held-out urgency and offers: recall and precision at least 0.9 each."""
    got = score(HELD_OUT_OFFER_ADS)
    for family in ("urgency", "offers"):
        assert got[family]["recall"] >= MIN_RECALL, (family, got[family])
        assert got[family]["precision"] >= MIN_PRECISION, (family, got[family])


def test_held_out_prices_and_topics() -> None:
    """Held-out prices, discounts and savings are almost always exact; topics meet 0.85."""
    got = score(HELD_OUT_OFFER_ADS)
    assert min(got["price_exact"], got["percent_exact"], got["saving_exact"]) >= 0.95
    assert got["topic_accuracy"] >= TOPIC_TARGET


def test_tuning_set_is_fitted() -> None:
    """On the ads it was tuned on, the extractor is exact and topics nearly so."""
    got = score(TUNING_OFFER_ADS)
    assert got["urgency"]["recall"] == got["urgency"]["precision"] == 1.0
    assert got["offers"]["recall"] == got["offers"]["precision"] == 1.0
    assert got["topic_accuracy"] >= 0.95


def test_offer_anchors_cover_their_patterns() -> None:
    """Every match of an anchored pattern contains one of its anchors (the skip is safe)."""
    from within_daemon.transforms.enrichment import offers

    from .labelled_ads import LABELLED_ADS

    patterns = {label: rx for label, rx, _ in (*offers._URGENCY, *offers._OFFERS)}
    patterns["act_now"] = offers._ACT_NOW_RE
    patterns["free_extra"] = offers._FREEBIE_RE
    texts = ["\n".join((a.headline, a.description, a.cta)).lower()
             for a in (*HELD_OUT_OFFER_ADS, *TUNING_OFFER_ADS, *LABELLED_ADS)]
    checked = 0
    for label, anchors in offers.ANCHORS.items():
        for text in texts:
            for m in patterns[label].finditer(text):
                assert any(a in m.group() for a in anchors), (label, m.group())
                checked += 1
    assert checked > 100
