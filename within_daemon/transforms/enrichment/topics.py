"""Topic classification of one ad's text against the keyword taxonomy (pure, no I/O).

``classify_topic`` tokenizes the headline, description, call to action and the words of the
landing page URL (host labels and path, not the query string, which is tracking noise),
lower-cases them and strips plurals and possessives with a light rule-based stemmer. It
then walks the tokens matching the longest taxonomy phrase first, so a phrase hides the
words inside it. Every distinct matched term adds its weight to each topic it belongs to,
once per ad however often it repeats (keyword stuffing does not win), times the weight of
the field it was strongest in (``FIELD_WEIGHTS``). Run-together host labels are split into
keywords at a low weight (``brand_words``: "lashloft" → "lash"), and a topic that is the
subject of the ad takes over the evidence of the topics it qualifies (taxonomy
``SUBJECT_TOPICS``: a puppy's "wellness plan" is pet care, not health).

Confidence is a softmax over the topic scores divided by ``TEMPERATURE``, in which "other"
always takes part with a score of at least ``OTHER_PRIOR``. With no evidence "other" wins
with 0.145; a listed topic needs more than ``OTHER_PRIOR`` of evidence to beat "other", and
with one topic alone in play reaches 0.29 at 3 points, 0.45 at 4 and 0.75 at 6.
``topic_runner_up`` is the best other listed topic with any evidence (for an "other" ad:
the best listed topic at all), ``topic_score`` the winner's raw evidence.

Current figures: ``python bench/entity_recall.py`` and bench/README.md (2026-12-05: 0.858 on
the 120 held-out offer ads, 0.780 on the first read of 41 new ads). The first measurement,
kept for its analysis of the mistakes: on ``tests/transforms/enrichment/labelled_ads.py`` (130
hand-labelled ads, 17 topics; ``python bench/enrichment_text_bench.py``, 2026-11-28): accuracy
0.838 (109/130) on all ads; 0.700 (49/70) on the held-out ads, which were written after the
keywords were frozen and never used to tune them; 1.000 (60/60) on the tuning ads. Confidence
is worth reading: on the held-out ads, 34 of the 36 predictions with confidence >= 0.5 were
right, and most mistakes had confidence below 0.3. The held-out mistakes are ads whose words
belong to a neighbouring topic (term life insurance read as health, a payroll app as finance,
an NFL streaming pass as entertainment), ads with almost no topical words ("Find your
person"), the bare "Learn More" call to action (which counts as education evidence), and
French and Japanese copy, which the English keywords cannot see.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

import msgspec

from within_daemon.transforms.enrichment.fields import Field, struct_fields
from within_daemon.transforms.enrichment.memo import memoizable
from within_daemon.transforms.enrichment.taxonomy import STRONG, SUBJECT_TOPICS, TAXONOMY, TOPICS

#: Multiplier of a term's weight by the field it was found in. The URL is the advertiser's
#: own filing of the page but often generic ("/lp/2024"), so it counts a little less.
FIELD_WEIGHTS: Final[dict[str, float]] = {
    "headline": 1.0, "description": 1.0, "cta": 1.0, "url": 0.75, "brand": 0.5,
}
#: Softmax temperature: larger flattens confidence, smaller makes it jump on one keyword.
TEMPERATURE: Final = 1.5
#: Minimum score of "other": weaker evidence for every listed topic leaves the ad in "other".
OTHER_PRIOR: Final = 1.5
OTHER: Final = "other"

_WORD_RE: Final = re.compile(r"[^\W_]+")
# Possessive 's is dropped ("men's" -> "men"); other apostrophes are closed up ("don't").
_POSSESSIVE_RE: Final = re.compile(r"['’]s\b")
_APOSTROPHE_RE: Final = re.compile(r"['’]")
# Host labels that say nothing about the advertiser's business (with RFC 2606's reserved
# names, whose letters would otherwise be split into words: "example" holds "exam").
_HOST_NOISE: Final = frozenset({
    "www", "com", "net", "org", "co", "io", "uk", "de", "fr", "us", "ca", "au", "app",
    "shop", "store", "online", "site", "info", "biz", "m", "go", "get", "try", "lp",
    "example", "test", "invalid", "localhost",
})
# Words whose final "s" is not a plural; stripping it would merge them with other words.
_KEEP_S: Final = frozenset({
    "news", "series", "species", "always", "its", "has", "was", "gas", "bus", "plus",
    "yes", "this", "less", "chess", "glass", "class", "dress", "bass", "pass", "lens",
    "ios", "analytics", "physics", "athletics", "electronics", "cosmetics", "earnings",
    "mathematics", "thanks", "sales", "savings", "jeans", "pants", "trousers", "leggings",
    "chinos", "pajamas", "shorts", "sunglasses", "gps", "saas", "mls", "aws", "llms",
})


class TopicFeatures(msgspec.Struct, frozen=True, kw_only=True):
    """One ad's topic, how sure the classifier is, and the next best topic."""

    #: One of ``TOPICS``.
    topic: str
    #: Softmax share of the winning topic, 0..1, 4 decimals.
    topic_confidence: float
    #: Best other listed topic with evidence, or None.
    topic_runner_up: str | None = None
    #: Raw keyword evidence of the winning topic (sum of weights), 2 decimals.
    topic_score: float = 0.0


def fields() -> tuple[Field, ...]:
    """The feature fields as ``(name, scalar type)``, in field order (columns: the loader)."""
    return struct_fields(TopicFeatures)


def stem(word: str) -> str:
    """Light plural stemming of a lower-cased word: "puppies"→"puppy", "boxes"→"box"."""
    if len(word) <= 3 or word[-1] != "s" or word in _KEEP_S or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    if word.endswith(("ss", "us", "is")):
        return word
    return word[:-1]


# Ad vocabulary is small and repeats across creatives: a bounded cache of stems pays.
_stem: Final = functools.lru_cache(maxsize=1 << 16)(stem)


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed word tokens of ``text``; hyphens and punctuation split words."""
    text = text.lower()
    if "'" in text or "’" in text:  # the two substitutions find nothing otherwise
        text = _APOSTROPHE_RE.sub("", _POSSESSIVE_RE.sub("", text))
    return list(map(_stem, _WORD_RE.findall(text)))


def url_tokens(url: str) -> list[str]:
    """Tokens of a landing page URL's host labels and path; query and fragment are ignored."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return []
    host = [t for t in tokenize(parts.hostname or "") if t not in _HOST_NOISE]
    return host + tokenize(parts.path)


def brand_words(token: str) -> list[str]:
    """Taxonomy words hidden in a run-together host label: "happypawsvet" → ["paw"].

    Brands glue words together ("lashloft", "fitkitchens"); the label as a whole matches no
    keyword, but its parts often name the trade. Only labels of 6+ letters that are not a
    keyword themselves are split, into the non-overlapping keywords of 4+ letters that cover
    the most of it; the words count with the low "brand" field weight because a substring can
    be chance ("smile" holds "mile").
    """
    return list(_brand_words(token))


@functools.lru_cache(maxsize=1 << 14)
def _brand_words(token: str) -> tuple[str, ...]:
    """``brand_words`` as a tuple, cached: host labels repeat across an advertiser's ads."""
    if len(token) < 6 or token in _INDEX or not token.isalpha():
        return ()
    n = len(token)
    best: list[tuple[int, tuple[str, ...]]] = [(0, ())] * (n + 1)
    for i in range(1, n + 1):
        cand = best[i - 1]
        for j in range(max(0, i - _LONGEST_WORD), i - 3):
            word = _stem(token[j:i])
            if word in _WORDS and best[j][0] + i - j > cand[0]:
                cand = (best[j][0] + i - j, (*best[j][1], word))
        best[i] = cand
    return best[n][1]


def _build_index() -> tuple[dict[str, tuple[tuple[int, float], ...]], frozenset[str], int]:
    """Term → ((topic index, weight), ...), first tokens of phrases, longest phrase length.

    Built once at import from ``TAXONOMY``; a term listed twice under one topic keeps its
    highest weight.
    """
    by_term: dict[str, dict[int, float]] = {}
    heads: set[str] = set()
    longest = 1
    for topic, tiers in TAXONOMY.items():
        t = TOPICS.index(topic)
        for weight, words in tiers.items():
            for phrase in words:
                toks = tokenize(phrase)
                if not toks:
                    raise ValueError(f"taxonomy keyword {phrase!r} of {topic} has no words")
                key = " ".join(toks)
                if len(toks) > 1:
                    heads.add(toks[0])
                    longest = max(longest, len(toks))
                slot = by_term.setdefault(key, {})
                slot[t] = max(weight, slot.get(t, 0.0))
    index = {k: tuple(sorted(v.items())) for k, v in by_term.items()}
    return index, frozenset(heads), longest


_INDEX, _HEADS, _LONGEST = _build_index()
_OTHER_INDEX: Final = TOPICS.index(OTHER)
#: Single-word keywords of 4+ letters: what ``brand_words`` looks for inside host labels.
_WORDS: Final = frozenset(k for k in _INDEX if " " not in k and len(k) >= 4)
_LONGEST_WORD: Final = max(map(len, _WORDS))
_SUBJECTS: Final = tuple(
    (TOPICS.index(subject), tuple(TOPICS.index(t) for t in absorbed))
    for subject, absorbed in SUBJECT_TOPICS.items()
)


def _match(tokens: list[str], field_weight: float, found: dict[str, float]) -> None:
    """Record in ``found`` each taxonomy term in ``tokens`` (longest phrase first).

    A term keeps the highest field weight it was found with (field weights are positive,
    so an absent term, read as 0.0, is always set; re-setting a key keeps its place).
    """
    i, n = 0, len(tokens)
    index, heads, longest = _INDEX, _HEADS, _LONGEST
    get = found.get
    while i < n:
        tok = tokens[i]
        if tok in heads:
            for w in range(min(longest, n - i), 1, -1):
                key = " ".join(tokens[i:i + w])
                if key in index:
                    if get(key, 0.0) < field_weight:
                        found[key] = field_weight
                    i += w
                    break
            else:
                if tok in index and get(tok, 0.0) < field_weight:
                    found[tok] = field_weight
                i += 1
            continue
        if tok in index and get(tok, 0.0) < field_weight:
            found[tok] = field_weight
        i += 1


def topic_scores(
    headline: str = "", description: str = "", cta: str = "", landing_page_url: str = "",
) -> dict[str, float]:
    """Raw evidence per topic (only topics with evidence); the input of ``classify_topic``."""
    scores = _evidence(headline, description, cta, landing_page_url)
    return {TOPICS[t]: s for t, s in enumerate(scores) if s > 0.0}


def _evidence(headline: str, description: str, cta: str, landing_page_url: str) -> list[float]:
    """Evidence per topic index, 0.0 or more (``topic_scores`` keeps the positive ones)."""
    found: dict[str, float] = {}
    _match(tokenize(headline), FIELD_WEIGHTS["headline"], found)
    _match(tokenize(description), FIELD_WEIGHTS["description"], found)
    _match(tokenize(cta), FIELD_WEIGHTS["cta"], found)
    url = url_tokens(landing_page_url)
    _match(url, FIELD_WEIGHTS["url"], found)
    _match([w for tok in url for w in _brand_words(tok)], FIELD_WEIGHTS["brand"], found)
    scores = [0.0] * len(TOPICS)
    strongest = [0.0] * len(TOPICS)
    for term, field_weight in found.items():
        for t, weight in _INDEX[term]:
            scores[t] += weight * field_weight
            if field_weight >= 1.0:  # the subject is named in the ad's text, not its URL
                strongest[t] = max(strongest[t], weight)
    for subject, absorbed in _SUBJECTS:
        if strongest[subject] >= STRONG:
            for t in absorbed:
                scores[subject] += scores[t]
                scores[t] = 0.0
    return scores


def classify_topic(
    headline: str = "", description: str = "", cta: str = "", landing_page_url: str = "",
) -> TopicFeatures:
    """The topic of one ad's text; weak evidence gives "other" with low confidence."""
    if not memoizable(headline, description, cta, landing_page_url):
        return _classify.__wrapped__(headline, description, cta, landing_page_url)
    return _classify(headline, description, cta, landing_page_url)


#: Distinct (headline, description, call to action, URL) whose topic is kept.
CACHE_SIZE: Final = 4096


@functools.lru_cache(maxsize=CACHE_SIZE)
def _classify(headline: str, description: str, cta: str, landing_page_url: str) -> TopicFeatures:
    """``classify_topic`` memoized: template copy repeats across creatives (frozen struct)."""
    # ``topic_scores`` as a list by topic index: what it drops (0.0) reads as 0.0 here too.
    evidence = [e if e > 0.0 else 0.0 for e in _evidence(headline, description, cta,
                                                          landing_page_url)]
    scores = evidence.copy()
    scores[_OTHER_INDEX] = max(scores[_OTHER_INDEX], OTHER_PRIOR)
    # Ties between listed topics go to the one listed first; a listed topic must beat
    # "other" strictly, so evidence equal to the prior is still "other".
    best, best_score = -1, 0.0
    for t, s in enumerate(scores):
        if t != _OTHER_INDEX and (best < 0 or s > best_score):
            best, best_score = t, s
    if best_score <= scores[_OTHER_INDEX]:
        best = _OTHER_INDEX
    top = scores[best]
    # Most topics have no evidence: their term is one value, computed once (same floats,
    # summed in the same order).
    zero_term = math.exp((0.0 - top) / TEMPERATURE)
    total = sum([zero_term if s == 0.0 else math.exp((s - top) / TEMPERATURE) for s in scores])
    # The runner-up: the best listed topic with evidence other than the winner, ties to the
    # one listed first.
    runner_up, runner_score = -1, 0.0
    for t, s in enumerate(scores):
        if t != best and t != _OTHER_INDEX and s > runner_score:
            runner_up, runner_score = t, s
    return TopicFeatures(
        topic=TOPICS[best],
        topic_confidence=round(1.0 / total, 4),
        topic_runner_up=TOPICS[runner_up] if runner_up >= 0 else None,
        topic_score=round(evidence[best], 2),
    )


def _text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    return value if isinstance(value, str) else ""


def topic_from_record(record: Mapping[str, Any]) -> TopicFeatures:
    """``classify_topic`` on a normalized ad record's text fields (missing ones count as "")."""
    return classify_topic(
        _text(record, "headline"), _text(record, "description"), _text(record, "cta"),
        _text(record, "landing_page_url"),
    )
