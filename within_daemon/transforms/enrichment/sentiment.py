"""Sentiment of one ad's headline and description with VADER (pure, no I/O after first use).

VADER (``vaderSentiment``) is a lexicon and rule scorer built for short social-media text,
which is what ad copy is; it needs no model download. The analyzer reads its lexicon files
from the installed package once, on first use, and is shared afterwards (it keeps no state
between calls, so worker threads may share it).

Scores (VADER's own, 4 decimals): ``headline_sentiment`` and ``description_sentiment`` are
the compound score (-1..1) of each field alone; ``sentiment_compound``,
``sentiment_positive`` and ``sentiment_negative`` are VADER's compound, pos and neg of the
combined text: the non-empty stripped fields joined by one newline. Scoring the combined
text, rather than averaging the two compounds, lets VADER weigh a long description against
a short headline by how much sentiment each carries, and lets "but" and punctuation
emphasis work across both. VADER reads emoji through their names, literally: 🔥 ("fire")
scores negative although ads mean it as praise.

``sentiment_status`` says whether the numbers mean anything: "no_text" when both fields
are empty (all scores None), "low_coverage" when VADER cannot read the text (scores are
still computed, but are usually 0.0 or driven by a false friend such as German "die"),
and "ok" otherwise. Low coverage is detected cheaply, with no language model: fewer than
half of the letters are ASCII (Japanese, Chinese, Cyrillic, Arabic ...); or no word is
English as far as we can tell, i.e. in VADER's lexicon or in a short list of common English
function and ad words (a brand name alone is unreadable too); or more words are common
German, French, Spanish, Italian, Portuguese or Dutch function words than English ones.
A share threshold on English words does not work: noun-heavy English copy ("Night shift
RNs at St. Mary's. Relocation assistance.") has as few known words as foreign copy, so the
foreign function words decide. Text of emoji only counts as readable: VADER scores
emoji through their names.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any, Final

import msgspec

from within_daemon.transforms.enrichment.fields import Field, struct_fields
from within_daemon.transforms.enrichment.memo import memoizable

STATUS_OK: Final = "ok"
STATUS_NO_TEXT: Final = "no_text"
STATUS_LOW_COVERAGE: Final = "low_coverage"
STATUSES: Final[tuple[str, ...]] = (STATUS_OK, STATUS_NO_TEXT, STATUS_LOW_COVERAGE)

#: Share of ASCII letters among all letters below which the text is "low_coverage".
MIN_ASCII_SHARE: Final = 0.5
_WORD_RE: Final = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")

# Frequent English function words and ad vocabulary that VADER's lexicon leaves out
# (it lists words that carry sentiment). Only used to decide whether text is English.
_ENGLISH: Final = frozenset("""
a about after all also am an and any anytime are as at away back be because been before
being best big both but buy by call can check come could day days did do does don't done
down each easy even every everything for from get gets getting go going got had has have
her here his how i if in into is it it's its just know last learn less like limited made
make many may me more most much my near need new next no not now of off on one only or
order our out over own per plus pick right save see shop should sign so some start still
such take than that the their them then there these they this those through to today too
try two under up us use very want was way we well were what when where which while who
why will with without work would year years yet you you're your yours first free online
store sale deal deals offer offers price prices shipping delivery order orders now here
discover explore find join book watch read apply download install subscribe learn more
get started visit contact quote days hours week weeks month months minutes home car
""".split())

# Frequent function words of other languages in Latin script, minus the ones that are
# also English words ("die", "plus", "pour", "van", "met", "do", "son", "was", ...).
_FOREIGN: Final = frozenset("""
und der das den dem des ein eine einen nicht mit für auf ist sind wir unsere unser ihr
ihre jetzt bei von zum zur oder auch noch nur schon sehr neue neuen über
le les du et est avec sur une vous nous dans au aux ce cette ces votre vos sont pas très
nouveau nouvelle jusqu'à dès de la
el los las y en con para por del una tu tus su sus es hasta desde ahora nuevo nueva muy
más todo toda
il di che della delle degli gli tutta tutto sono nostro nostra ora nuovo nuova fino
em da os ao aos uma você seu sua agora novo nova até
het een voor op ontdek nieuwe bij naar ook niet zijn onze jouw nu
""".split())


class SentimentFeatures(msgspec.Struct, frozen=True, kw_only=True):
    """VADER sentiment of one ad's text; scores are None when there is no text."""

    #: Compound (-1..1) of headline and description together.
    sentiment_compound: float | None = None
    #: Share of the combined text that is positive, 0..1.
    sentiment_positive: float | None = None
    #: Share of the combined text that is negative, 0..1.
    sentiment_negative: float | None = None
    #: Compound of the headline alone; None if there is no headline.
    headline_sentiment: float | None = None
    #: Compound of the description alone; None if there is no description.
    description_sentiment: float | None = None
    #: One of ``STATUSES``.
    sentiment_status: str = STATUS_NO_TEXT


def fields() -> tuple[Field, ...]:
    """The feature fields as ``(name, scalar type)``, in field order (columns: the loader)."""
    return struct_fields(SentimentFeatures)


@functools.cache
def _analyzer() -> Any:
    """The shared VADER analyzer, built on first use (reads ~7,500 lexicon lines)."""
    # Imported here so that importing this module stays cheap. vaderSentiment ships no type
    # information; pyproject's mypy override for it stands in for a type: ignore here.
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


#: Distinct texts whose VADER scores and sentiment are kept (``_scores``, ``_sentiment``).
CACHE_SIZE: Final = 4096


@functools.lru_cache(maxsize=CACHE_SIZE)
def _scores(text: str) -> dict[str, float]:
    """``polarity`` memoized; callers must not mutate the shared dict.

    Ad copy comes from templates: thousands of distinct creatives share a few dozen
    headlines and descriptions, and VADER is deterministic, so a repeated text needs no
    second scoring (the scores are the very same floats).
    """
    scores: dict[str, float] = _analyzer().polarity_scores(text)
    return scores


def polarity(text: str) -> dict[str, float]:
    """VADER's raw scores of ``text``: ``neg``, ``neu``, ``pos`` and ``compound``."""
    return dict(_score(text))


def _score(text: str) -> dict[str, float]:
    """``_scores``, not kept for a long text (``memo``)."""
    return _scores(text) if memoizable(text) else _scores.__wrapped__(text)


def coverage_status(text: str) -> str:
    """Whether VADER can read ``text``: "ok" or "low_coverage" (see the module docstring)."""
    ascii_text = text.isascii()
    # All letters of ASCII text are ASCII (the share test passes) and there is no "’" to
    # replace; lower-casing ASCII text moves no word boundary, so one lower() does.
    words = _WORD_RE.findall(text.lower() if ascii_text else text)
    if not words:
        emojis = _analyzer().emojis
        return STATUS_OK if any(ch in emojis for ch in text) else STATUS_LOW_COVERAGE
    lexicon = _analyzer().lexicon
    if ascii_text:
        english = foreign = 0
        for word in words:
            if word in _ENGLISH or word in lexicon:
                english += 1
            elif word in _FOREIGN:
                foreign += 1
        return STATUS_LOW_COVERAGE if english == 0 or foreign > english else STATUS_OK
    letters = ascii_letters = english = foreign = 0
    for word in words:
        letters += len(word)
        if word.isascii():
            ascii_letters += len(word)
        word = word.lower().replace("’", "'")
        if word in _ENGLISH or word in lexicon:
            english += 1
        elif word in _FOREIGN:
            foreign += 1
    if ascii_letters < MIN_ASCII_SHARE * letters:
        return STATUS_LOW_COVERAGE
    if english == 0 or foreign > english:
        return STATUS_LOW_COVERAGE
    return STATUS_OK


def analyze_sentiment(headline: str | None, description: str | None) -> SentimentFeatures:
    """Sentiment of an ad's headline and description (either may be None or empty)."""
    head, desc = (headline or "").strip(), (description or "").strip()
    if not memoizable(head, desc):
        return _sentiment.__wrapped__(head, desc)
    return _sentiment(head, desc)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _sentiment(head: str, desc: str) -> SentimentFeatures:
    """``analyze_sentiment`` of stripped fields, memoized (the struct is frozen)."""
    if not head and not desc:
        return SentimentFeatures()
    combined = f"{head}\n{desc}" if head and desc else head or desc
    scores = _score(combined)
    return SentimentFeatures(
        sentiment_compound=scores["compound"],
        sentiment_positive=scores["pos"],
        sentiment_negative=scores["neg"],
        # One field alone is the combined text: no need to score it twice.
        headline_sentiment=(
            None if not head else scores["compound"] if not desc else _score(head)["compound"]
        ),
        description_sentiment=(
            None if not desc else scores["compound"] if not head else _score(desc)["compound"]
        ),
        sentiment_status=coverage_status(combined),
    )


def sentiment_from_record(record: Mapping[str, Any]) -> SentimentFeatures:
    """``analyze_sentiment`` on a normalized ad record (non-string fields count as empty)."""
    head = record.get("headline")
    desc = record.get("description")
    return analyze_sentiment(
        head if isinstance(head, str) else None, desc if isinstance(desc, str) else None,
    )
