"""Inputs and outputs of the text enrichers, frozen to hold speed-ups to identical outputs.

``golden_inputs()`` is the labelled ads plus a few hundred generated hostile or odd records
(empty and None fields, non-strings, unicode, very long text, URLs, prices, percentages,
dates, offers), drawn with a fixed seed. ``outputs(record)`` is every public text enricher's
answer for one record as plain JSON values. ``python -m tests.transforms.enrichment.text_golden``
rewrites ``data/text_golden.json`` (inputs and outputs); run it only with code whose
outputs are meant to be the reference.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import msgspec

from tests.transforms.enrichment.labelled_ads import LABELLED_ADS
from within_daemon.transforms import enrichment
from within_daemon.transforms.enrichment import (
    analyze_sentiment,
    classify_topic,
    extract_entities,
    topics,
)

GOLDEN: Path = Path(__file__).parent / "data" / "text_golden.json"

_PIECES = (
    "", " ", "\n", "\t", "  \u00a0 ", "Save 30% off", "$19.99", "19,99\u00a0€", "1.299,00 €",
    "USD 20", "£5", "US$5", "20 dollars", "$250K", "up to 70% off", "-50 %", "half price",
    "100% cotton", "0% APR", "Free shipping", "free returns", "BOGO", "buy one get one free",
    "free trial", "first month free", "promo code SAVE20", "money-back guarantee",
    "free quote", "pay in 4", "free forever", "complimentary tasting", "fees waived",
    "sugar-free", "feel free", "today only", "limited time", "last chance",
    "ends Dec 24", "expires in 24 hours", "hurry!", "Shop now", "order today",
    "while supplies last", "only 3 left", "Dec 24", "24/12", "2024-12-24", "Friday",
    "Black Friday", "24/7", "12/31/2025", "1st of May", "call 1-800-555-0199",
    "+44 20 7946 0958", "1800FLOWERS", "(212) 555-0147", "https://www.example.com/a/b/",
    "www.shop.io/deal?x=1", "acme.co.uk", "mail@example.com", "http://x.y",
    "iPhone 15", "HubSpot", "Harbour & Pine", "Galaxy S24", "Acme™", "Zeta (R)",
    "Meet Sarah Jones", "Winter Coats Up to 50% Off", "I love this! :) 😍", "🔥🔥🔥",
    "not bad at all", "terrible, awful, the worst", "GREAT DEAL!!!", "but it was okay",
    "Jetzt kaufen und sparen", "Découvrez nos offres de la semaine", "¡Envío gratis hoy!",
    "今すぐ購入", "Скидка 50%", "عرض خاص", "naïve café résumé", "don’t miss out",
    "men's shoes", "puppies and kittens", "term life insurance", "wellness plan for your dog",
    "learn more", "Learn More", "Book Now", "Get Started", "|pipe|text|", "a", "x" * 300,
    "e\u0301", "\u200b", "\ufeff", "😀" * 20, "<b>html</b>", "'quoted'", '"double"',
    "NEW!!! SALE???", "1/2 off", "3 days left", "prices go up Friday", "no credit check",
    # Case-folding and digits beyond ASCII: re.IGNORECASE matches "ſ" as "s", "K" (Kelvin)
    # as "k" and "İ"/"ı" as "i", and \d Arabic-Indic digits; lower() does not do the same.
    "Chriſtmas sale", "DEC 24", "FRIDAY ONLY", "Thanksgıvıng", "İstanbul Dec 2", "OK Kelvin",
    "Dec \u0662\u0664", "\u0661\u0662/\u0662\u0665", "save \u0663\u0660% off",
    "call \u0661-800-555-0199", "www.shop.com", "HTTP://A.B", "Free Shipping Ends Sunday",
    "fourth of JULY", "New  Year's", "US$\u00a019", "tuesdays", "3rd of March 2026",
)
_URLS = (
    "", " ", "https://www.northlinegoods.com/collections/outerwear", "http://happypawsvet.com",
    "https://lashloft.co/lp/2024?utm_source=x", "not a url", "https://[bad", "ftp://a.b/c",
    "https://example.com", "https://fitkitchens.io/meal-plans/", "https://ünï.com/päth",
    "//cdn.example.org/x", "https://www.a-b.c-d.com/e_f/g-h.html#frag",
)


def _field(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.06:
        return None
    if roll < 0.08:
        return rng.choice((0, 1.5, ["list"], {"a": 1}, b"bytes", True))
    if roll < 0.12:
        return ""
    n = rng.choice((1, 1, 2, 3, 5, 8, 40))
    sep = rng.choice((" ", " ", ". ", "\n", ", ", "! ", " - "))
    return sep.join(rng.choice(_PIECES) for _ in range(n))


def golden_inputs() -> list[dict[str, Any]]:
    """The labelled ads' records, then 400 generated ones (fixed seed)."""
    records: list[dict[str, Any]] = [ad.record() for ad in LABELLED_ADS]
    rng = random.Random(20261205)
    for _ in range(400):
        rec: dict[str, Any] = {
            "headline": _field(rng), "description": _field(rng), "cta": _field(rng),
            "landing_page_url": rng.choice(_URLS) if rng.random() < 0.9 else _field(rng),
        }
        for key in list(rec):
            if rng.random() < 0.05:
                del rec[key]  # a missing field
        records.append(rec)
    # Repeats: the same text in both fields, and a record seen twice.
    records.append({"headline": "Great deal", "description": "Great deal", "cta": "Great deal"})
    records.append(dict(records[0]))
    return records


def _s(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    return value if isinstance(value, str) else ""


def outputs(record: dict[str, Any]) -> dict[str, Any]:
    """Every public text enricher's answer for ``record``, as JSON values."""
    head, desc, cta, url = (_s(record, k) for k in
                            ("headline", "description", "cta", "landing_page_url"))
    names = list(enrichment.TEXT_ENRICHERS)
    return {
        "enrich_text": enrichment.enrich_text(record, names),
        "enrich_text_reversed": enrichment.enrich_text(record, names[::-1]),
        "per_enricher": {
            name: msgspec.structs.asdict(fn(record))
            for name, fn in enrichment.TEXT_ENRICHERS.items()
        },
        "analyze_sentiment": msgspec.structs.asdict(analyze_sentiment(head, desc)),
        "analyze_sentiment_none": msgspec.structs.asdict(analyze_sentiment(None, desc or None)),
        "analyze_sentiment_swapped": msgspec.structs.asdict(analyze_sentiment(desc, head)),
        "classify_topic": msgspec.structs.asdict(classify_topic(head, desc, cta, url)),
        "classify_topic_cta_only": msgspec.structs.asdict(classify_topic(cta=cta)),
        "topic_scores": topics.topic_scores(head, desc, cta, url),
        "extract_entities": msgspec.structs.asdict(extract_entities(head, desc, cta)),
        "extract_entities_swapped": msgspec.structs.asdict(extract_entities(cta, head, desc)),
    }


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    """Non-string field values as a tagged form JSON can hold (bytes, tuples)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        out[key] = {"__bytes__": value.decode()} if isinstance(value, bytes) else value
    return out


def from_jsonable(record: dict[str, Any]) -> dict[str, Any]:
    return {k: (v["__bytes__"].encode() if isinstance(v, dict) and "__bytes__" in v else v)
            for k, v in record.items()}


def write() -> None:
    cases = [{"record": _jsonable(r), "outputs": outputs(r)} for r in golden_inputs()]
    lines = [json.dumps(c, ensure_ascii=False, separators=(",", ":")) for c in cases]
    GOLDEN.write_text("[\n" + ",\n".join(lines) + "\n]\n", encoding="utf-8")


if __name__ == "__main__":
    write()
