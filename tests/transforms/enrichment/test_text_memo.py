"""The text enrichers' memos keep short texts only: hostile long copy is never held.

A repeated short text is answered from the memo (the same value as computed afresh); a
text longer than ``memo.MEMO_MAX_CHARS`` is computed every time and never becomes a key.
"""

from __future__ import annotations

from within_daemon.transforms.enrichment import entities, sentiment, topics
from within_daemon.transforms.enrichment.memo import MEMO_MAX_CHARS


def _sizes() -> tuple[int, int, int, int]:
    return (sentiment._scores.cache_info().currsize, sentiment._sentiment.cache_info().currsize,
            entities._entities.cache_info().currsize, topics._classify.cache_info().currsize)


def test_long_texts_are_not_kept() -> None:
    long = "Great deal on running shoes, 20% off today only! " * (MEMO_MAX_CHARS // 40)
    assert len(long) > MEMO_MAX_CHARS
    for memo in (sentiment._scores, sentiment._sentiment, entities._entities, topics._classify):
        memo.cache_clear()  # far from full: a new key must show in the size
    sentiment.polarity("Shoes")  # a short part is kept: already there before counting
    before = _sizes()
    for _ in range(2):
        s = sentiment.analyze_sentiment("Shoes", long)
        e = entities.extract_entities("Shoes", long, "Shop now")
        t = topics.classify_topic("Shoes", long, "Shop now", "https://shop.example/run")
        p = sentiment.polarity(long)
    assert _sizes() == before
    assert s == sentiment._sentiment.__wrapped__("Shoes", long)
    assert e.discount_percent_max == 20.0
    assert t == topics._classify.__wrapped__("Shoes", long, "Shop now",
                                            "https://shop.example/run")
    assert p == sentiment._scores.__wrapped__(long)


def test_short_texts_are_kept_and_answered_the_same() -> None:
    text = ("Fresh pasta delivered", "Order by 5pm for next-day delivery.", "Order")
    first = entities.extract_entities(*text)
    hits = entities._entities.cache_info().hits
    assert entities.extract_entities(*text) == first == entities._entities.__wrapped__(*text)
    assert entities._entities.cache_info().hits == hits + 1
