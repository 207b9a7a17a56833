"""Money amounts and discount percentages in ad text, for the entity enricher (pure, no I/O).

``money_amounts(text)`` finds ``$19.99``, ``19,99 €``, ``USD 20``, ``£5``, ``US$5``,
``20 dollars``, ``$250K``: a comma or dot followed by one or two digits at the end is a
decimal point, followed by three digits a thousands separator (``1.299,00 €`` = 1299.0), and
``$`` alone is USD. An amount after "save" or before "off", "discount", "bonus", "rebate",
"credit" or "cash back" is a saving, every other one a price; only amounts in the currency
of the first one are kept. ``discount_percent(text)`` is the largest percentage in a
discount context (``30% off``, ``save 20%``, ``-50 %``, ``half price`` = 50). The patterns
are compiled once at import; :mod:`.entities` turns the answers into features.
"""

from __future__ import annotations

import re
from typing import Final

_SYMBOLS: Final[dict[str, str]] = {
    "US$": "USD", "CA$": "CAD", "C$": "CAD", "AU$": "AUD", "A$": "AUD", "NZ$": "NZD",
    "$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "₩": "KRW",
}
_CODES: Final = (
    "USD", "EUR", "GBP", "CAD", "AUD", "NZD", "JPY", "INR", "CHF", "SEK", "NOK", "DKK", "PLN",
    "MXN", "BRL", "ZAR", "SGD", "HKD",
)
_WORD_CURRENCY: Final[dict[str, str]] = {
    "dollar": "USD", "dollars": "USD", "bucks": "USD", "euro": "EUR", "euros": "EUR",
}
_NUM: Final = r"\d{1,3}(?:[,.]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_SYM: Final = "|".join(re.escape(s) for s in sorted(_SYMBOLS, key=len, reverse=True))
_CODE: Final = "|".join(_CODES)
_MONEY_RE: Final = re.compile(
    rf"(?<![\w$€£¥₹₩])(?P<bs>{_SYM})\s?(?P<bn>{_NUM})(?P<bk>[kK]\b)?"
    rf"|\b(?P<cs>{_CODE})\s?(?P<cn>{_NUM})(?P<ck>[kK]\b)?"
    rf"|(?<![\w.,])(?P<an>{_NUM})(?P<ak>[kK])?\s?"
    rf"(?:(?P<as>[€£¥₹₩$])|(?P<ac>(?:{_CODE}))\b|(?P<aw>(?i:dollars?|bucks|euros?))\b)"
)
_SAVE_BEFORE_RE: Final = re.compile(
    r"(?:\bsav(?:e|ing|ings\s+of)|\bbonus\s+of|(?P<earn>\bearn(?:\s+an?)?(?:\s+extra)?))\s+"
    r"(?:up\s+to\s+|an\s+extra\s+|an?\s+additional\s+|over\s+)?$",
    re.IGNORECASE,
)
_SAVE_AFTER_RE: Final = re.compile(
    r"\s*(?:off|discount|savings|in\s+savings|(?:[\w-]+\s+)?(?:bonus|rebate|credit)"
    r"|trade-in|cash\s?back)\b",
    re.IGNORECASE,
)
#: "earn $21/hour" is pay, not a bonus.
_RATE_RE: Final = re.compile(r"\s*(?:/|an?\s+|per\s+)(?:hour|hr|week|wk|month|mo|year|yr)\b",
                             re.IGNORECASE)
_SEPARATORS_RE: Final = re.compile(r"[,.]")
_DIGIT_RE: Final = re.compile(r"\d")


def _amount(num: str, thousands: bool) -> float:
    """Parse ``num`` with either decimal convention (see the module docstring)."""
    last = max(num.rfind(","), num.rfind("."))
    if last != -1 and len(num) - last - 1 in (1, 2):
        value = float(_SEPARATORS_RE.sub("", num[:last]) + "." + num[last + 1:])
    else:
        value = float(_SEPARATORS_RE.sub("", num))
    return value * 1000 if thousands else value


def money_amounts(text: str) -> tuple[str | None, list[float], list[float]]:
    """Currency of the first amount, then prices and savings in that currency."""
    currency: str | None = None
    prices: list[float] = []
    savings: list[float] = []
    if not _DIGIT_RE.search(text):  # every amount has a digit: skip the slow scan
        return currency, prices, savings
    for m in _MONEY_RE.finditer(text):
        g = m.groupdict()
        if g["bs"]:
            cur, num, k = _SYMBOLS[g["bs"]], g["bn"], g["bk"]
        elif g["cs"]:
            cur, num, k = g["cs"], g["cn"], g["ck"]
        else:
            symbol = g["as"] or g["ac"] or g["aw"]
            cur = _SYMBOLS.get(symbol) or _WORD_CURRENCY.get(symbol.lower()) or symbol
            num, k = g["an"], g["ak"]
        currency = currency or cur
        if cur != currency:
            continue
        value = round(_amount(num, bool(k)), 2)
        before = _SAVE_BEFORE_RE.search(text, max(0, m.start() - 30), m.start())
        is_saving = bool(
            (before and not (before["earn"] and _RATE_RE.match(text, m.end())))
            or _SAVE_AFTER_RE.match(text, m.end())
        )
        (savings if is_saving else prices).append(value)
    return currency, prices, savings


_DISCOUNT_RE: Final = re.compile(
    r"(?<![\d.,])(?P<p1>\d{1,3}(?:[.,]\d{1,2})?)\s?%\s*"
    r"(?:off|discount|savings|rabatt|de\s+descuento|de\s+r[ée]duction|di\s+sconto)\b"
    r"|\bsave\s+(?:up\s+to\s+|an\s+extra\s+|an?\s+additional\s+|over\s+)?"
    r"(?P<p2>\d{1,3}(?:[.,]\d{1,2})?)\s?%"
    r"|(?<![\w.,%])[-−–]\s?(?P<p3>\d{1,2})\s?%"
    r"|\b(?P<half>half[- ](?:price|off))\b",
    re.IGNORECASE,
)


#: Every ``_DISCOUNT_RE`` match holds a digit or "half" (same flags, same case-folding).
_DISCOUNT_HINT_RE: Final = re.compile(r"\d|half", re.IGNORECASE)


def discount_percent(text: str) -> float | None:
    best: float | None = None
    if not _DISCOUNT_HINT_RE.search(text):
        return best
    for m in _DISCOUNT_RE.finditer(text):
        if m["half"]:
            value = 50.0
        else:
            value = float((m["p1"] or m["p2"] or m["p3"]).replace(",", "."))
        if 0 < value <= 100 and (best is None or value > best):
            best = value
    return best
