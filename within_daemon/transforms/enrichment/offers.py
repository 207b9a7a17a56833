"""Offer and urgency language in ad text, as canonical labels (pure, no I/O).

``offer_labels(text)`` and ``urgency_labels(text, body)`` take lower-cased text and return
the labels found, in the fixed orders ``OFFER_LABELS`` and ``URGENCY_LABELS``. Each label
is one compiled pattern searched on its own, so one phrase can carry two labels ("expires
in 24 hours" is both ``ends_soon`` and ``hours_left``). The labels, with examples, are
defined in ``docs/enrichment.md``; in short:

* urgency: ``today_only``, ``limited_time`` (a limited or stated period: "this week
  only", flash sale), ``last_chance``, ``ends_soon`` (ends / expires / closes / until /
  through a time, "3 days left"), ``deadline`` (act by a time, prices go up),
  ``while_supplies_last``, ``hours_left`` (a countdown in hours), ``hurry`` and
  ``act_now`` (a sentence that starts with an imperative and says now or today; it is
  looked for in the headline and description only, as every call-to-action button says
  "Shop Now").
* offers: ``free_shipping``, ``free_returns`` (also free cancellation), ``bogo``,
  ``free_trial`` (also "first month free"), ``free_gift``, ``promo_code``, ``money_back``,
  ``free_consultation`` (free quotes, estimates, valuations, reviews), ``financing``,
  ``free_access`` (the product itself is free: free plan, stream free, free webinar) and
  ``free_extra``: any other free offer ("free installation", "kids eat free", "4th night
  on us", "complimentary tasting", "fees waived"). It is what is left: a freebie word
  that no other offer pattern explains.

"24 hours" counts only as a countdown ("24 hours only", "expires in 24 hours"), not as a
delivery promise ("valuation in 24 hours"); "sugar-free" or "hands-free" are no offers.
"""

from __future__ import annotations

import re
from typing import Final

OFFER_LABELS: Final[tuple[str, ...]] = (
    "free_shipping", "free_returns", "bogo", "free_trial", "free_gift", "promo_code",
    "money_back", "free_consultation", "financing", "free_access", "free_extra",
)
URGENCY_LABELS: Final[tuple[str, ...]] = (
    "today_only", "limited_time", "last_chance", "ends_soon", "deadline",
    "while_supplies_last", "hours_left", "hurry", "act_now",
)

_WEEKDAY: Final = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
_MONTH: Final = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?"
)
_DAY: Final = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_EVENT: Final = (
    r"black\s+friday|cyber\s+monday|christmas|new\s+year'?s|thanksgiving|labou?r\s+day"
    r"|memorial\s+day|boxing\s+day|valentine'?s\s+day|easter|halloween"
)
#: A point in time an offer can end at or an action be due by.
_WHEN: Final = (
    rf"(?:today|tonight|tomorrow|midnight|noon|(?:this\s+|next\s+)?{_WEEKDAY}"
    rf"|{_MONTH}\s*{_DAY}|\d{{1,2}}/\d{{1,2}}|\d{{1,2}}(?::\d{{2}})?\s?(?:am|pm)"
    rf"|(?:the\s+)?end\s+of\s+(?:the\s+)?(?:day|week|month|year|{_MONTH})"
    rf"|next\s+week|this\s+week(?:end)?|(?:{_EVENT}))"
)
_NUMBER: Final = r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten)"
#: Verbs that open a call to act (an imperative at the start of a sentence).
_ACT_VERBS: Final = (
    r"act|order|buy|shop|book|call|apply|join|sign\s+up|register|enrol+|reserve|get|grab"
    r"|claim|start|lock(?:\s+in)?|upgrade|subscribe|donate|give|double|pre-?order|sell"
    r"|save|switch|download|try|visit|come\s+in|hurry\s+in|secure|snag|schedule|request"
    r"|enter|learn|find\s+out|check\s+out|redeem|stock\s+up|treat\s+yourself|renew|move\s+in"
    r"|tour|watch|binge|stream|listen|explore|test[- ]drive"
)

_URGENCY_PATTERNS: Final[dict[str, str]] = {
    "today_only": (
        r"\b(?:today|tonight)\s+only|\b(?:one|1)[- ]day\s+only|\bdeal\s+of\s+the\s+day"
        r"|\btoday'?s\s+deals?|\bnur\s+(?:noch\s+)?heute|\baujourd'hui\s+seulement"
        r"|\bsolo\s+hoy"
    ),
    "limited_time": (
        r"\blimited[- ]time|\bfor\s+a\s+limited\s+(?:time|period)"
        r"|\blimited\s+(?:offer|edition|release|run)|\bflash\s+sale"
        r"|\bthis\s+(?:week|weekend|month)\s+only|\b(?:weekend|week)[- ]only\b"
        rf"|\b{_NUMBER}\s+(?:days?|weeks?)\s+only\b|\bfor\s+{_NUMBER}\s+(?:days|weeks)\s+only"
        rf"|\b{_NUMBER}[- ]day\s+(?:sale|event|deal)"
        r"|\bonly\b[^.!?\n]{0,25}\bthis\s+(?:week|weekend|month)\b"
        r"|\b(?:sign\s+up|join|book|buy|order|enrol+|register|apply|switch|subscribe)\b"
        r"(?:\s+[\w'-]+){0,3}\s+this\s+(?:week|weekend|month)\b"
        r"|\b(?:free|no\s+[\w-]+\s+fees?|off|save|discount)\b[^.!?\n]{0,20}?"
        r"\bthis\s+(?:week|month)\b"
    ),
    "last_chance": (
        r"\blast\s+(?:chance|call|days?)\b|\bfinal\s+(?:chance|hours|days?|call|release"
        r"|round|drop)\b"
    ),
    "ends_soon": (
        rf"\b(?:ends?|ending|expires?|closes?|closing)\s+(?:soon\b|(?:on\s+|at\s+)?{_WHEN})"
        r"|\b(?:offer|sale|deal|promo|promotion|discount|pricing|price)s?\s+"
        r"(?:ends|expires|closes)"
        rf"|\b(?:until|till|thru|through)\s+{_WHEN}"
        rf"|\b{_NUMBER}\s+(?:more\s+)?days?\s+(?:left|to\s+go)\b"
        rf"|\b(?:ends?|ending|expires?|closes?)\s+in\s+{_NUMBER}\s+(?:days?|weeks?|hours?|hrs)"
    ),
    "deadline": (
        rf"\b(?:{_ACT_VERBS}|deposit|sign|pay|file|submit|set\s+up|respond|rsvp)\b"
        r"(?:\s+[\w$,.'-]+){0,4}?\s+(?:by|before|within)\s+"
        rf"(?:{_WHEN}|(?:the\s+next\s+)?{_NUMBER}\s+(?:days|hours|weeks))"
        r"|\bdeadline\b|\bprices?\s+(?:go(?:es)?|will\s+go)\s+up\b"
        r"|\bbefore\s+(?:prices?|rates?|they)\s+(?:go\s+up|rise|increase)"
    ),
    "while_supplies_last": (
        r"\bwhile\s+(?:supplies|stocks?|quantities)\s+last|\bsell(?:ing|s)\s+(?:out\s+)?fast"
        r"|\blimited\s+(?:\w+\s+)?(?:stock|quantities|supply|availability|spots|seats|cabins"
        r"|spaces|tickets|rooms|units|slots|places|appointments)\b|\balmost\s+(?:gone|sold\s+out)"
        r"|\b(?:only|just)\s+\d+\s+(?!(?:hours?|hrs?|days?|weeks?|minutes?)\b)(?:\w+\s+)?"
        r"(?:left|remaining|available)\b|\bfew\s+(?:\w+\s+)?left\b"
        r"|\b(?:only|just)\s+\d+\s+\w+\s+(?:made|roasted|produced|printed)\b"
        r"|\b(?:spots|spaces|seats|places|slots|classes|appointments)\s+(?:are\s+limited"
        r"|fill\s+(?:up\s+)?(?:fast|quickly))|\b(?:when|once)\s+they'?re\s+gone"
        r"|\blast\s+\d+\s+(?:\w+\s+)?(?:tickets|seats|spots|units|rooms|places|items)\b"
        r"|\b(?:sold\s+out|selling\s+out)\s+(?:fast|soon)|\bin\s+stock\s+(?:now\s+)?only"
    ),
    "hours_left": (
        r"\b(?:6|12|24|36|48|72)[- ]?(?:hours?|hrs?|h)\s+(?:only|left|to\s+go)\b"
        r"|\b(?:next|final|last|only)\s+(?:6|12|24|36|48|72)\s+(?:hours|hrs)\b"
        r"|\b(?:24|48|72)[- ]hour\s+(?:sale|deal|flash\s+sale|event)|\bhours\s+left\b"
        r"|\b(?:ends?|ending|expires?|closes?)\s+in\s+(?:\d+|a\s+few)\s+(?:hours|hrs)\b"
    ),
    "hurry": (
        r"\bhurry\b|\bact\s+(?:fast|quickly)\b|\bdon'?t\s+(?:wait|delay|miss\s+(?:out|it|this))"
        r"|before\s+(?:it'?s|they'?re)\s+(?:gone|too\s+late)|\bgoing\s+fast|\bwhile\s+you\s+can"
        r"|\bwon'?t\s+last|\btime\s+is\s+running\s+out|\brunning\s+out\s+of\s+time"
        r"|\bnow\s+or\s+never"
    ),
}
#: An imperative opening a sentence (or after "so" / "and"), then now or today.
_ACT_NOW_RE: Final = re.compile(
    rf"(?:^|[.!?:;,–—]\s*|\b(?:so|and|then)\s+)(?:{_ACT_VERBS})\b[^.!?\n]{{0,40}}?"
    r"\b(?:now|today)\b(?!'s|\s+(?:available|open|on\s+sale)\b)",
    re.MULTILINE,
)

_FREE_SHIP: Final = (
    r"\bfree\s+(?:standard\s+|express\s+|expedited\s+|next[- ]day\s+|same[- ]day\s+"
    r"|(?:\d|two)[- ]day\s+|uk\s+|us\s+|worldwide\s+|international\s+|home\s+)?"
    r"(?:shipping|delivery)|\bships?\s+(?:for\s+)?free|\bfree\s+s&h"
    r"|\b(?:shipping|delivery)\s+is\s+(?:always\s+)?free|\bversandkostenfrei"
    r"|\bkostenloser?\s+versand|\blivraison\s+(?:gratuite|offerte)|\benv[ií]o\s+gratis"
    r"|\bspedizione\s+gratuita|\bcomplimentary\s+(?:\w+\s+)?(?:shipping|delivery)"
    r"|\bdeliver(?:ed|s|y)?\s+(?:for\s+)?free|\b(?:delivery|shipping)\s+(?:is\s+)?on\s+us"
)
_OFFER_PATTERNS: Final[dict[str, str]] = {
    "free_shipping": _FREE_SHIP,
    "free_returns": (
        r"\bfree\s+(?:\d+[- ]day\s+)?(?:returns?|exchanges?|return\s+shipping|cancellation)"
        r"|\b(?:returns|exchanges)\s+are\s+(?:always\s+)?free|\bcancel\s+for\s+free"
    ),
    "bogo": (
        r"\bbogo\b|\bb[1-3]g[1-3]\b|\b(?:2|two)[- ]for[- ](?:1|one)\b"
        r"|\b(?:two|2)\s+(?:[\w-]+\s+)?for\s+the\s+price\s+of\s+(?:one|1)\b"
        r"|\b(?:buy|stay|order|book)\s+(?:one|two|three|four|[1-5])\b[^.!?\n]{0,25}?"
        r"\bget\s+(?:one|two|another|a\s+second|the\s+(?:second|third|fourth|fifth|2nd|3rd"
        r"|4th|5th)|[1-5](?:st|nd|rd|th)?)\b"
        r"[^.!?\n]{0,15}?(?:free|half[- ]price|half\s+off|\d{1,3}\s?%\s+off)"
    ),
    "free_trial": (
        r"\bfree\s+trial|\btrial\s+is\s+free|\btry\b(?:\s+[\w-]+){0,5}?\s+(?:for\s+)?free\b"
        r"|\bstart\s+(?:for\s+)?free\b|\d+[- ](?:day|night|week)\s+(?:free\s+)?"
        r"(?:risk[- ]free\s+)?trial"
        r"|\bfree\s+for\s+\d+\s+(?:days|weeks|months)|\bfree\s+(?:first\s+)?month"
        r"|\bfree\s+for\s+(?:the|your)\s+first\s+(?:\w+\s+)?(?:days?|weeks?|months?)\b"
        r"|\b(?:first|1st)\s+(?!(?:delivery|order|shipment)\b)(?:[\w-]+\s+){0,2}?"
        r"(?:is\s+|are\s+)?(?:free|on\s+us)\b"
        r"|(?<!extra\s)(?<!bonus\s)\b(?:\d+|one|two|three|six)\s+(?:weeks?|months?)\s+free\b"
        r"|\d+\s+months?\s+for\s+\$0\b"
    ),
    "free_gift": (
        r"\bfree\s+(?:[\w-]+\s+)?(?:gifts?|samples?|tote)\b|\bgift\s+with\s+(?:any\s+)?purchase"
        r"|\bgwp\b|\bbonus\s+gift|\b(?:free|bonus|complimentary)\s+(?:\$\d+\s+)?gift\s+card"
        r"|\bget\s+(?:a\s+)?\$\d+\s+gift\s+card"
    ),
    "promo_code": (
        r"\b(?:promo|discount|coupon|voucher)\s+code|\b(?:use|with|enter|apply)\s+code\s+\w{3,}"
        r"|\bcoupons?\b"
    ),
    "money_back": (
        r"\bmoney[- ]back|\brefund\s+guarantee|\brisk[- ]free|\bsatisfaction\s+guaranteed"
        r"|\d+[- ](?:day|year)\s+guarantee"
    ),
    "free_consultation": (
        r"\bfree\s+(?!trial\b)(?:[\w-]+\s+){0,2}?(?:consultation|consult|estimates?|quotes?|assessment"
        r"|valuation|evaluation|inspection|diagnostic|market\s+analysis|analysis|session"
        r"|class|lesson|appraisal|review|call|check-?up|second\s+opinion|audit|demo)\b"
        r"|\bquotes?\s+(?:for\s+)?free\b"
        r"|\b(?:test|exam|screening|check-?up|inspection)[,]?\s+(?:completely\s+|totally\s+)?"
        r"free\b"
    ),
    "financing": (
        r"\b0\s?%\s+(?:apr|interest|financing)|\binterest[- ]free|\bpay\s+in\s+(?:4|four)\b"
        r"|\bbuy\s+now,?\s+pay\s+later|\bno\s+credit\s+check|\bpay\s+over\s+\d+\s+months"
        r"|\bpay\s+later\b|\$0\s+(?:down|deposit)|\bno\s+deposit"
    ),
    "free_access": (
        r"\bfree\s+(?:[\w-]+\s+)?(?:plan|forever|version|tier|account|profile|app|apps"
        r"|download|editor|software|tool|game|admission|entry|tickets?|webinar|e-?book"
        r"|guide|masterclass|workshop|event|credit\s+(?:score|report)|membership|course"
        r"|writing|filing|help|support|access|resources"
        r"|to\s+(?:join|use|play|download|attend|enter|watch|stream))\b"
        r"|\b(?:join|play|watch|stream|download|use|listen|read|attend|file|sign\s+up"
        r"|register|enter|create|learn)\b(?:\s+[\w,+'-]+){0,3}?\s+(?:for\s+)?free\b"
        r"(?!\s+for\s+\d)"
        r"|\bfree\s+(?:is\s+)?forever\b|\bfree\s+for\s+(?:students|teachers|everyone|anyone"
        r"|nonprofits|non-profits|individuals|personal\s+use|educators|schools|families)\b"
        r"|\b(?:join|use|download|create|file|register|attend)\b[^.!?\n]{0,40}\bat\s+no\s+cost"
    ),
}
#: Words and phrases that offer something for nothing; one that no specific offer pattern
#: covers makes ``free_extra``. A hyphenated "-free" (sugar-free) is no offer.
_FREEBIE_RE: Final = re.compile(
    r"(?<![-\w])free\b(?![- ](?:range|of\s+(?!charge)|time|spirit|style|standing"
    r"|form|lance|way|fall|from|speech|agency|trade|throw|kick|weight))(?!-)"
    r"|\bcomplimentary\b|\bon\s+us\b|\bfees?\s+(?:are\s+)?waived"
    r"|\$0\s+(?:enrol+ment|sign-?up|activation|set-?up|joining|membership|admin)"
    r"|\bno\s+(?:enrol+ment|joining|activation|set-?up|sign-?up)\s+fees?\b"
)
#: "free delivery and setup": the second freebie shares the first one's "free".
_FREE_AND_RE: Final = re.compile(
    r"\bfree\s+[\w -]{0,25}?\b(?:and|&)\s+(?:installation|set-?up|assembly|haul[- ]away"
    r"|removal|fitting|activation)\b"
)
_FEEL_FREE_RE: Final = re.compile(r"\b(?:feel|be|break)\s+free\b")

#: Substrings of which every match of a label's pattern contains one: a text without any
#: skips the pattern (``in`` is far cheaper than a regex scan that finds nothing).
#: ``test_offer_anchors_cover_their_patterns`` holds them to that.
ANCHORS: Final[dict[str, tuple[str, ...]]] = {
    "limited_time": ("limited", "flash", "only", "day", "this week", "this month"),
    "ends_soon": ("end", "expir", "clos", "until", "till", "thru", "through", "left", "to go"),
    "deadline": ("by", "before", "within", "deadline", " up"),
    "hurry": ("hurry", "act", "don", "before", "going fast", "while you can", "won",
              "running out", "now or never"),
    "act_now": ("now", "today"),
    "free_trial": ("free", "trial", "try", "first", "1st", "$0"),
    "money_back": ("money", "refund", "risk", "satisfaction", "guarantee"),
    "financing": ("0%", "0 %", "interest", "pay", "credit check", "$0", "deposit"),
    "free_extra": ("free", "complimentary", "on us", "waived", "$0", "fee"),
    "today_only": ("day", "tonight", "heute", "aujourd", "hoy"),
    "last_chance": ("last", "final"),
    "while_supplies_last": ("while", "sell", "sold", "limited", "almost", "only", "just",
                            "few", "fill", "gone", "last", "stock"),
    # Every countdown number (6, 12, 24, 36, 48, 72) holds a 2, 4 or 6.
    "hours_left": ("2", "4", "6", "hours", "hrs"),
    "free_shipping": ("free", "versand", "livraison", "env", "spedizione", "complimentary",
                      "delivery", "shipping"),
    "free_returns": ("free",),
    "bogo": ("bogo", "g1", "g2", "g3", "for", "get"),
    "free_gift": ("free", "gift", "gwp"),
    "promo_code": ("code", "coupon"),
    "free_consultation": ("free",),
    "free_access": ("free", "cost"),
}
_URGENCY: Final = tuple((k, re.compile(v), ANCHORS.get(k)) for k, v in _URGENCY_PATTERNS.items())
_OFFERS: Final = tuple((k, re.compile(v), ANCHORS.get(k)) for k, v in _OFFER_PATTERNS.items())


def _may_match(anchors: tuple[str, ...] | None, text: str) -> bool:
    if anchors is None:
        return True
    for a in anchors:  # a plain loop: any() over a generator costs more than the tests
        if a in text:
            return True
    return False


def urgency_labels(text: str, body: str) -> list[str]:
    """``URGENCY_LABELS`` in ``text``; ``act_now`` is looked for in ``body`` only.

    Both are lower case: ``text`` all fields, ``body`` the headline and description.
    """
    found = [label for label, rx, anchors in _URGENCY
             if _may_match(anchors, text) and rx.search(text)]
    if _may_match(ANCHORS["act_now"], body) and _ACT_NOW_RE.search(body):
        found.append("act_now")
    return found


def offer_labels(text: str) -> list[str]:
    """``OFFER_LABELS`` in lower-cased ``text`` (``free_extra``: see the module docstring)."""
    found: list[str] = []
    covered: list[tuple[int, int]] = []
    for label, rx, anchors in _OFFERS:
        if not _may_match(anchors, text):
            continue
        spans = [m.span() for m in rx.finditer(text)]
        if spans:
            found.append(label)
            covered.extend(spans)
    freebies = _FREEBIE_RE.finditer(text) if _may_match(ANCHORS["free_extra"], text) else ()
    for m in freebies:
        start = m.start()
        if any(a <= start < b for a, b in covered):
            continue
        if m.group() == "free" and _FEEL_FREE_RE.search(text, max(0, start - 7), m.end()):
            continue
        found.append("free_extra")
        break
    # Every ``_FREE_AND_RE`` match holds "free".
    if "free_extra" not in found and "free" in text and _FREE_AND_RE.search(text):
        found.append("free_extra")
    return found
