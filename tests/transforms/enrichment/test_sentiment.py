"""VADER sentiment of ad text: scores, the combination rule, and the coverage status."""

from __future__ import annotations

import math
from typing import Any

import msgspec
import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from within_daemon.loaders.schema.columns import sql_columns
from within_daemon.transforms.enrichment import sentiment
from within_daemon.transforms.enrichment.sentiment import (
    SentimentFeatures,
    analyze_sentiment,
    coverage_status,
    sentiment_from_record,
)

# A second analyzer, independent of the module's cached one, as the reference.
VADER = SentimentIntensityAnalyzer()

NEGATIVE = (
    "Tired of terrible customer service?",
    "Our support team hates waiting on hold as much as you do.",
)
POSITIVE = ("Love your skin again", "Gentle, effective skincare that makes every morning brighter!")
JAPANESE = ("冬のセール開催中", "人気のスニーカーが最大50%オフ。今すぐチェック！")
GERMAN = ("Die neue Kollektion ist da!", "Entdecke jetzt unsere Angebote für Damen und Herren.")


def reference(head: str, desc: str) -> dict[str, Any]:
    """The documented rule, computed with the reference analyzer."""
    combined = VADER.polarity_scores(f"{head}\n{desc}")
    return {
        "sentiment_compound": combined["compound"],
        "sentiment_positive": combined["pos"],
        "sentiment_negative": combined["neg"],
        "headline_sentiment": VADER.polarity_scores(head)["compound"],
        "description_sentiment": VADER.polarity_scores(desc)["compound"],
    }


def scores(features: SentimentFeatures) -> dict[str, Any]:
    out = msgspec.structs.asdict(features)
    del out["sentiment_status"]
    return out


def test_single_lexicon_word_matches_vader_normalisation_by_hand() -> None:
    """'Love your skin again' is love (3.2) alone: 3.2 / sqrt(3.2² + 15) = 0.6369."""
    got = analyze_sentiment(POSITIVE[0], None)
    assert got.headline_sentiment == pytest.approx(round(3.2 / math.sqrt(3.2**2 + 15), 4))
    assert got.headline_sentiment == 0.6369


def test_negative_ad_scores_match_vader_and_the_combination_rule() -> None:
    """A negative ad: each field alone, and pos/neg/compound of headline + newline + text."""
    got = analyze_sentiment(*NEGATIVE)
    assert scores(got) == reference(*NEGATIVE)
    assert (got.sentiment_compound, got.sentiment_negative, got.sentiment_positive) == (
        -0.7351, 0.362, 0.11,
    )
    assert (got.headline_sentiment, got.description_sentiment) == (-0.7184, -0.0516)
    assert got.sentiment_status == "ok"


def test_positive_ad_scores_match_vader_and_the_combination_rule() -> None:
    """A positive ad: the combined compound is higher than either field's alone."""
    got = analyze_sentiment(*POSITIVE)
    assert scores(got) == reference(*POSITIVE)
    assert (got.sentiment_compound, got.sentiment_positive, got.sentiment_negative) == (
        0.92, 0.621, 0.0,
    )
    assert (got.headline_sentiment, got.description_sentiment) == (0.6369, 0.8356)
    assert got.sentiment_status == "ok"


def test_emoji_count_through_their_names() -> None:
    """An emoji adds VADER's score of its name; emoji-only text is still 'ok'."""
    with_emoji = analyze_sentiment("Holiday gifts they'll love 😍", "")
    without = analyze_sentiment("Holiday gifts they'll love", "")
    assert (with_emoji.sentiment_compound, without.sentiment_compound) == (0.872, 0.7845)
    only = analyze_sentiment("😍", None)
    assert (only.sentiment_compound, only.sentiment_status) == (0.4588, "ok")
    # VADER reads 🔥 literally ("fire"), which is a known blind spot for ad copy.
    assert analyze_sentiment("🔥🔥🔥", None).sentiment_compound == -0.7351


@pytest.mark.parametrize("head,desc", [("", ""), (None, None), ("   ", "\n\t")])
def test_no_text_gives_none_scores_and_no_text_status(head: str | None, desc: str | None) -> None:
    """Both fields empty, None or blank: every score is None and the status is 'no_text'."""
    got = analyze_sentiment(head, desc)
    assert got == SentimentFeatures(sentiment_status="no_text")
    assert all(v is None for v in scores(got).values())


def test_one_field_alone_is_the_combined_text() -> None:
    """With only a headline, its score is the combined score and the description is None."""
    got = analyze_sentiment("  Free shipping on all orders ", "")
    assert got.headline_sentiment == got.sentiment_compound == 0.5106
    assert got.description_sentiment is None
    desc_only = analyze_sentiment(None, "Free shipping on all orders")
    assert desc_only.description_sentiment == 0.5106 and desc_only.headline_sentiment is None


def test_japanese_is_low_coverage_with_scores_still_computed() -> None:
    """Japanese has no ASCII letters: scores are VADER's (neutral) but flagged low_coverage."""
    got = analyze_sentiment(*JAPANESE)
    assert got.sentiment_status == "low_coverage"
    assert scores(got) == reference(*JAPANESE)
    assert got.sentiment_compound == 0.0


def test_german_false_friend_is_flagged_low_coverage() -> None:
    """German 'Die' reads as English 'die' (-0.636): the status warns not to trust it."""
    got = analyze_sentiment(*GERMAN)
    assert got.sentiment_compound == -0.636
    assert got.sentiment_status == "low_coverage"


@pytest.mark.parametrize("text", [
    "Ofertas de verano: hasta 50% de descuento en toda la tienda.",
    "Les soldes d'hiver commencent: jusqu'à -50 % sur les manteaux.",
    "Saldi di fine stagione: sconti fino al 70% su tutta la collezione.",
    "Nieuwe collectie: ontdek de beste deals van de week",
    "Sommerschlussverkauf",
    "Новая коллекция уже в продаже",
])
def test_other_languages_are_low_coverage(text: str) -> None:
    """Spanish, French, Italian, Dutch, German and Russian copy is 'low_coverage'."""
    assert coverage_status(text) == "low_coverage"


@pytest.mark.parametrize("text", [
    "Hiring registered nurses\nNight shift RNs at St. Mary's. Relocation assistance.",
    "Shop the new collection today",
    "Only $19.99!",
    "Love it 😍",
])
def test_plain_english_is_ok(text: str) -> None:
    """Terse, noun-heavy English copy still counts as readable."""
    assert coverage_status(text) == "ok"


def test_text_without_words_or_emoji_is_low_coverage() -> None:
    """Punctuation and digits alone give VADER nothing to read."""
    assert coverage_status("!!! 50% / 24-7") == "low_coverage"


def test_record_adapter_treats_non_strings_as_missing() -> None:
    """sentiment_from_record reads headline/description and ignores non-string values."""
    assert sentiment_from_record({"headline": None, "description": 5}).sentiment_status == (
        "no_text"
    )
    rec = {"headline": POSITIVE[0], "description": POSITIVE[1], "cta": "Shop Now"}
    assert sentiment_from_record(rec) == analyze_sentiment(*POSITIVE)
    assert sentiment_from_record({}) == SentimentFeatures()


def test_analyzer_is_built_once_and_shared() -> None:
    """The VADER analyzer is cached: repeated calls reuse one instance."""
    first = sentiment._analyzer()
    analyze_sentiment("Great deal", "Really great")
    assert sentiment._analyzer() is first


def test_columns_follow_the_struct_fields() -> None:
    """The loader's columns: every field once, REAL for scores and TEXT for the status."""
    assert sql_columns(sentiment.fields()) == (
        ("sentiment_compound", "REAL"), ("sentiment_positive", "REAL"),
        ("sentiment_negative", "REAL"), ("headline_sentiment", "REAL"),
        ("description_sentiment", "REAL"), ("sentiment_status", "TEXT"),
    )
    assert [c for c, _ in sentiment.fields()] == list(SentimentFeatures.__struct_fields__)


def test_features_are_frozen() -> None:
    """The struct is immutable, so cached results can be shared safely."""
    got = analyze_sentiment(*POSITIVE)
    with pytest.raises(AttributeError):
        got.sentiment_compound = 0.0  # type: ignore[misc]
