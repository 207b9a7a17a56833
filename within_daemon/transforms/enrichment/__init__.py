"""Per-creative enrichments: pure functions from one ad to a small flat struct of typed fields.

The text enrichers read a normalized ad record's ``headline``, ``description``, ``cta`` and
``landing_page_url`` and return a frozen ``msgspec.Struct`` whose fields are scalar
(str/int/float/bool/None); each module's ``fields()`` lists them as ``(name, scalar type)``
(``fields.struct_fields``) and the loader derives its typed columns from that
(``loaders.schema.columns``), so no transform names an SQL type. ``TEXT_ENRICHERS`` maps the
seed's ``enrich_with`` names to them, and ``enrich_text`` merges the chosen ones into one
dict of columns, whose names never collide (a test holds this). They do no I/O after VADER's
lexicon is first read, so a caller may run them in worker threads and should cache them per
distinct creative.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import msgspec

from within_daemon.transforms.enrichment import entities, sentiment, topics
from within_daemon.transforms.enrichment.entities import (
    EntityFeatures,
    entities_from_record,
    extract_entities,
)
from within_daemon.transforms.enrichment.fields import Field
from within_daemon.transforms.enrichment.sentiment import (
    SentimentFeatures,
    analyze_sentiment,
    sentiment_from_record,
)
from within_daemon.transforms.enrichment.taxonomy import TAXONOMY, TOPICS
from within_daemon.transforms.enrichment.topics import (
    TopicFeatures,
    classify_topic,
    topic_from_record,
)

# Slot for the other enrichment modules (image analysis, history, competitive): their
# owners add their re-exports here. Image analysis needs the image bytes fetched through an
# injected interface, so it is not a text enricher and stays out of TEXT_ENRICHERS.

TextEnricher = Callable[[Mapping[str, Any]], msgspec.Struct]

#: ``enrich_with`` name → function from a normalized ad record to its feature struct.
TEXT_ENRICHERS: dict[str, TextEnricher] = {
    "sentiment": sentiment_from_record,
    "topic_classification": topic_from_record,
    "entity_extraction": entities_from_record,
}

#: ``enrich_with`` name → the ``(field, scalar type)`` pairs its struct fills.
TEXT_ENRICHER_FIELDS: Final[dict[str, tuple[Field, ...]]] = {
    "sentiment": sentiment.fields(),
    "topic_classification": topics.fields(),
    "entity_extraction": entities.fields(),
}


def _check(names: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in TEXT_ENRICHERS]
    if unknown:
        raise ValueError(
            f"unknown text enrichers {unknown}; known: {sorted(TEXT_ENRICHERS)}",
        )
    return chosen


def text_fields(names: Iterable[str]) -> list[Field]:
    """The ``(field, scalar type)`` pairs ``enrich_text(record, names)`` fills, in order."""
    return [f for name in _check(names) for f in TEXT_ENRICHER_FIELDS[name]]


def enrich_text(record: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The merged columns of the named text enrichers for one record.

    Raises ``ValueError`` on a name not in ``TEXT_ENRICHERS``: the caller filters the
    seed's wider ``enrich_with`` list (``historical_performance`` ...) first.
    """
    out: dict[str, Any] = {}
    for name in _check(names):
        out.update(msgspec.structs.asdict(TEXT_ENRICHERS[name](record)))
    return out


__all__ = [
    "TAXONOMY",
    "TEXT_ENRICHERS",
    "TEXT_ENRICHER_FIELDS",
    "TOPICS",
    "EntityFeatures",
    "SentimentFeatures",
    "TextEnricher",
    "TopicFeatures",
    "analyze_sentiment",
    "classify_topic",
    "enrich_text",
    "entities",
    "entities_from_record",
    "extract_entities",
    "sentiment",
    "sentiment_from_record",
    "text_fields",
    "topic_from_record",
    "topics",
]
