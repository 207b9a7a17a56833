"""Rule-based extraction of what ad analysts look for in ad text (pure, no I/O).

``extract_entities`` reads the headline, description and call to action (not the landing
page URL, which is its own column) with regular expressions compiled once at import:

* Money: ``$19.99``, ``19,99 €``, ``USD 20``, ``£5``, ``US$5``, ``20 dollars``, ``$250K``.
  A comma or dot followed by one or two digits at the end is a decimal point, followed by
  three digits a thousands separator (``1.299,00 €`` = 1299.0). ``$`` alone is USD. An
  amount after "save" or before "off", "discount", "bonus", "rebate", "credit" or "cash
  back" is a saving (``discount_amount_max``), every other one a price. ``price_currency``
  is the currency of the first amount; amounts in other currencies are left out of the
  min/max rather than converted.
* ``discount_percent_max``: the largest percentage in a discount context (``30% off``,
  ``save 20%``, ``up to 70% off``, ``-50 %``, ``half price`` = 50); "100% cotton" or
  "0% APR" are not discounts.
* Offers and urgency as canonical labels in a fixed order, ``|``-joined: ``OFFER_LABELS``
  and ``URGENCY_LABELS``, found by :mod:`.offers` (see there and ``docs/enrichment.md``).
* Dates as written (``Dec 24``, ``24/12``, ``2024-12-24``, ``Friday``, ``Black Friday``):
  there is no year or locale to normalise them against. ``24/7`` is not a date.
* Phone numbers, normalised: E.164 for North American numbers (``+18005550199``), ``+``
  and digits for international ones, digits (and letters of vanity numbers such as
  ``1800FLOWERS``) otherwise.
* URLs and bare domains, as host and path without scheme and ``www.``; e-mail addresses
  are not URLs.
* Brands, kept simple: the capitalised words (up to four) right before a ™ or ® mark;
  camelCase words (``iPhone``, ``HubSpot``); and runs of two to four capitalised words
  after the first word of a sentence, in a field that is not in Title Case (``Harbour &
  Pine``, ``Galaxy S24``; "Meet Sarah Jones" gives "Sarah Jones", "Samsung Galaxy S24
  ships" only "Galaxy S24"). Common ad words at either end of a run are dropped, a run
  needs two words with letters and not only acronyms, and the call to action (always
  Title Case) only contributes marked and camelCase names. Place and people's names are
  found too: it is a heuristic, not a brand registry.

Every list is ``|``-joined, de-duplicated case-insensitively in order of appearance, and
None when empty; flags are False when nothing was found. Money and discounts are read by
:mod:`.money`, brands by :mod:`.brands`; dates, phones and URLs, and the features, here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

import msgspec

from within_daemon.transforms.enrichment.fields import Field, struct_fields
from within_daemon.transforms.enrichment.memo import memoizable

from .brands import brand_names
from .money import discount_percent, money_amounts
from .offers import OFFER_LABELS, URGENCY_LABELS, offer_labels, urgency_labels

__all__ = ["OFFER_LABELS", "URGENCY_LABELS", "EntityFeatures", "entities_from_record", "fields",
           "extract_entities"]

#: At most this many dates, phone numbers, URLs or brands (label lists are bounded anyway).
MAX_ITEMS: Final = 8


class EntityFeatures(msgspec.Struct, frozen=True, kw_only=True):
    """Prices, offers, urgency, dates, contacts and brand names found in one ad's text."""

    price_min: float | None = None
    price_max: float | None = None
    #: ISO 4217 code of the first money amount in the text.
    price_currency: str | None = None
    #: Largest percentage off, 0..100.
    discount_percent_max: float | None = None
    #: Largest money amount saved ("save $500", "$20 off"), in ``price_currency``.
    discount_amount_max: float | None = None
    has_free_shipping: bool = False
    has_bogo: bool = False
    has_trial: bool = False
    #: ``OFFER_LABELS`` found, ``|``-joined in that order.
    offer_terms: str | None = None
    #: ``URGENCY_LABELS`` found, ``|``-joined in that order.
    urgency_terms: str | None = None
    has_urgency: bool = False
    dates: str | None = None
    phone_numbers: str | None = None
    urls: str | None = None
    brands: str | None = None


def fields() -> tuple[Field, ...]:
    """The feature fields as ``(name, scalar type)``, in field order (columns: the loader)."""
    return struct_fields(EntityFeatures)


# -- dates, phones, URLs ---------------------------------------------------------------------

_WEEKDAY: Final = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
_MONTH: Final = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?"
)
_DAY: Final = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"

_EVENTS: Final = (
    r"black\s+friday|cyber\s+monday|christmas(?:\s+eve)?|new\s+year'?s(?:\s+(?:eve|day))?"
    r"|thanksgiving|valentine'?s\s+day|mother'?s\s+day|father'?s\s+day|easter|halloween"
    r"|labou?r\s+day|memorial\s+day|boxing\s+day|prime\s+day|(?:4th|fourth)\s+of\s+july"
)
_DATE_RE: Final = re.compile(
    rf"\b(?:{_EVENTS})\b"
    r"|\b\d{4}-\d{2}-\d{2}\b"
    rf"|\b{_MONTH}\s*{_DAY}(?:,?\s+\d{{4}})?\b"
    rf"|\b{_DAY}\s+(?:of\s+)?{_MONTH}(?:\s+\d{{4}})?"
    r"|(?<![\d/])(?P<a>\d{1,2})/(?P<b>\d{1,2})(?:/(?:\d{4}|\d{2}))?(?![\d/%])"
    r"(?!\s*(?:off|price|sleeve))"
    rf"|\b{_WEEKDAY}s?\b",
    re.IGNORECASE,
)

_PHONE_RE: Final = re.compile(
    r"(?<![\w+])(?:\+?1[\s.-]?)?\(?[2-9]\d{2}\)?[\s.-]?[2-9]\d{2}[\s.-]\d{4}(?!\d)"
    r"|(?<![\w+])\+[1-9]\d{0,2}(?:[\s.-]?\(?\d{1,4}\)?){2,5}(?!\d)"
    r"|(?<!\w)1[\s.-]?8(?:00|33|44|55|66|77|88)[\s.-]?[A-Z0-9]{3}[\s.-]?[A-Z0-9]{4}(?!\w)"
    r"|(?<![\w+])0\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}(?!\d)"
)
_PHONE_KEEP_RE: Final = re.compile(r"[^0-9A-Z]")

_TLDS: Final = (
    "com|net|org|io|co|ai|app|dev|shop|store|us|uk|de|fr|es|it|nl|ca|au|tv|me|gg|club|health"
    "|info|biz|edu|gov|ly|fm|game|fun|studio|homes|jp|ch|ie|mx|br"
)
_URL_RE: Final = re.compile(
    r"\bhttps?://[^\s<>\"'()\[\]]+|\bwww\.[^\s<>\"'()\[\]]+"
    rf"|(?<![@\w.-])(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+(?:{_TLDS})\b"
    r"(?:/[^\s<>\"'()\[\]]*)?",
    re.IGNORECASE,
)
_URL_PREFIX_RE: Final = re.compile(r"^(?:https?://)?(?:www\.)?", re.IGNORECASE)


# Every ``_DATE_RE`` match holds a weekday or an event word of ``_DATE_WORDS``, or a digit
# and either a month's first three letters or a digit, "/" or "-" and a digit. A text without
# them skips the slow scan. For ASCII text, ``re.IGNORECASE`` is lower-casing, so plain
# substring tests do; other text ("ſ" matches "s" there) takes a looser hint in the
# pattern's own flags.
_DATE_WORDS: Final = (
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "christmas", "year", "thanksgiving", "valentine", "mother", "father", "labo", "memorial",
    "boxing", "prime", "easter", "halloween", "july",
)
_MONTHS3: Final = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                   "dec")
_DIGIT_RE: Final = re.compile(r"\d")
_NUMERIC_DATE_RE: Final = re.compile(r"\d[/-]\d")
_DATE_HINT_RE: Final = re.compile(
    r"\d|day|christmas|year|thanksgiving|easter|halloween|july", re.IGNORECASE,
)


def _may_hold_date(text: str) -> bool:
    if not text.isascii():
        return bool(_DATE_HINT_RE.search(text))
    lower = text.lower()
    if any(w in lower for w in _DATE_WORDS):
        return True
    return bool(_DIGIT_RE.search(lower)) and (
        bool(_NUMERIC_DATE_RE.search(lower)) or any(m in lower for m in _MONTHS3)
    )


def _dates(text: str) -> list[str]:
    out: list[str] = []
    if not _may_hold_date(text):
        return out
    for m in _DATE_RE.finditer(text):
        if m["a"]:
            a, b = int(m["a"]), int(m["b"])
            if (a, b) == (24, 7) or not (1 <= a <= 31 and 1 <= b <= 31 and min(a, b) <= 12):
                continue
        out.append(" ".join(m.group().split()))
    return out


#: Every ``_PHONE_RE`` match holds a "+" or four digits at least ("1-800-ABC-DEFG" the
#: fewest): most ad text has neither and skips the slow scan.
_PHONE_HINT_RE: Final = re.compile(r"\+|\d\D*\d\D*\d\D*\d")


def _phones(text: str) -> list[str]:
    out: list[str] = []
    if not _PHONE_HINT_RE.search(text):
        return out
    for m in _PHONE_RE.finditer(text):
        raw = m.group()
        digits = _PHONE_KEEP_RE.sub("", raw)
        if raw.startswith("+"):
            if 8 <= len(digits) <= 15:
                out.append("+" + digits)
        elif digits.isdigit() and len(digits) == 10 and raw.lstrip("(")[0] in "23456789":
            out.append("+1" + digits)
        elif digits.isdigit() and len(digits) == 11 and digits[0] == "1":
            out.append("+" + digits)
        elif 9 <= len(digits) <= 12:
            out.append(digits)
    return out


#: Every ``_URL_RE`` match holds "http", "www." or a dot and a top-level domain (same
#: flags; literal starts make this search fast): a text without them skips the slow scan.
_URL_HINT_RE: Final = re.compile(rf"http|www\.|\.(?:{_TLDS})\b", re.IGNORECASE)


def _urls(text: str) -> list[str]:
    out: list[str] = []
    if not _URL_HINT_RE.search(text):
        return out
    for m in _URL_RE.finditer(text):
        url = _URL_PREFIX_RE.sub("", m.group().rstrip(".,;:!?"))
        host, slash, path = url.partition("/")
        out.append(host.lower() + (slash + path.rstrip("/") if path.rstrip("/") else ""))
    return out


# -- the enricher ----------------------------------------------------------------------------


def _joined(items: Iterable[str], limit: int | None = MAX_ITEMS) -> str | None:
    if not items:  # most lists are empty (an iterator is truthy and takes the long way)
        return None
    seen: dict[str, str] = {}
    for item in items:
        key = item.casefold()
        if item and key not in seen:
            seen[key] = item.replace("|", "/")
    return "|".join(list(seen.values())[:limit]) or None


def extract_entities(
    headline: str = "", description: str = "", cta: str = "",
) -> EntityFeatures:
    """Entities in one ad's headline, description and call to action."""
    if not memoizable(headline, description, cta):
        return _entities.__wrapped__(headline, description, cta)
    return _entities(headline, description, cta)


#: Distinct (headline, description, call to action) whose entities are kept.
CACHE_SIZE: Final = 4096


@functools.lru_cache(maxsize=CACHE_SIZE)
def _entities(headline: str, description: str, cta: str) -> EntityFeatures:
    """``extract_entities`` memoized: template copy repeats across creatives (frozen struct)."""
    # No-break spaces (common in "19,99\u00a0€") become plain spaces for the patterns.
    fields = [f.replace("\u00a0", " ").replace("\u202f", " ") for f in (headline, description, cta)]
    text = "\n".join(fields)
    currency, prices, savings = money_amounts(text)
    lower = text.lower()
    offers = offer_labels(lower)
    urgency = urgency_labels(lower, "\n".join(fields[:2]).lower())
    return EntityFeatures(
        price_min=min(prices) if prices else None,
        price_max=max(prices) if prices else None,
        price_currency=currency,
        discount_percent_max=discount_percent(text),
        discount_amount_max=max(savings) if savings else None,
        has_free_shipping="free_shipping" in offers,
        has_bogo="bogo" in offers,
        has_trial="free_trial" in offers,
        offer_terms=_joined(offers, None),
        urgency_terms=_joined(urgency, None),
        has_urgency=bool(urgency),
        dates=_joined(_dates(text)),
        phone_numbers=_joined(_phones(text)),
        urls=_joined(_urls(text)),
        brands=_joined(brand_names(*fields)),
    )


def _text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    return value if isinstance(value, str) else ""


def entities_from_record(record: Mapping[str, Any]) -> EntityFeatures:
    """``extract_entities`` on a normalized ad record's text fields (missing ones are "")."""
    return extract_entities(
        _text(record, "headline"), _text(record, "description"), _text(record, "cta"),
    )
