"""Brand names in ad text, found by rule for the entity enricher (pure, no I/O).

``brand_names(headline, description, cta)`` keeps it simple: the capitalised words (up to
four) right before a ™ or ® mark; camelCase words (``iPhone``, ``HubSpot``); and runs of two
to four capitalised words after the first word of a sentence, in a field that is not in
Title Case. Common ad words at either end of a run are dropped, a run needs two words with
letters and not only acronyms, and the call to action (always Title Case) only contributes
marked and camelCase names. Place and people's names are found too: it is a heuristic, not a
brand registry (examples in the :mod:`.entities` docstring).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

# Capitalised words that are ad copy, not names: never the first or last word of a brand.
_COMMON: Final = frozenset("""
a all also an and any are as at be best big book brand buy by call can check come compare
daily deal deals design discover do don't download each earn enjoy every exclusive explore
find first for free from get give go grab great happy has have here hot how i if in
install introducing is it it's its join just last learn limited live love make meet more
most my need never new next no not now of off on one only open or order our out over own
pay perfect plan play premium pro read ready save see sale sell shop sign start still stop
stream subscribe summer spring fall autumn winter switch take that the their them there
these they this those to today top treat try two up upgrade us use visit want watch we
welcome what when where which who why will with world yes you your
january february march april may june july august september october november december
monday tuesday wednesday thursday friday saturday sunday
""".split())
_SENTENCE_RE: Final = re.compile(r"(?:[.!?:;|•]+|\s[–—-])(?=\s|$)|\n")
_TOKEN_RE: Final = re.compile(r"[^\W_](?:[\w'’+.-]*[\w+])?|&")
_MARKED_RE: Final = re.compile(
    r"((?:[A-Z0-9][\w'’&+.-]*\s+){0,3}[A-Z0-9][\w'’&+.-]*)\s?(?:™|®|\(TM\)|\(R\))"
)
_CAMEL_RE: Final = re.compile(r"^(?:[a-z]{1,2}[A-Z]|[A-Z][a-z]+[A-Z])[A-Za-z0-9]*$")
_LINKERS: Final = frozenset({"&"})


def _is_cap(tok: str) -> bool:
    """Capitalised, or a short acronym; long all-caps words are shouting, not names."""
    return tok[0].isupper() and (not tok.isupper() or len(tok) <= 4)


def _trim(words: list[str]) -> list[str]:
    while words and (words[0].lower() in _COMMON or words[0] in _LINKERS):
        words = words[1:]
    while words and (words[-1].lower() in _COMMON or words[-1] in _LINKERS):
        words = words[:-1]
    return words


def _title_case(field: str, tokens: list[str] | None = None) -> bool:
    """Whether a field capitalises most of its longer words, so caps say nothing.

    ``tokens`` is ``_TOKEN_RE.findall(field)`` when the caller already has it.
    """
    if tokens is None:
        tokens = _TOKEN_RE.findall(field)
    long_words = caps = 0
    for w in tokens:
        if len(w) >= 4 and w.isalpha():
            long_words += 1
            if w[0].isupper():
                caps += 1
    return long_words >= 2 and caps >= 0.75 * long_words


def _runs(sentence: str) -> Iterable[str]:
    """Runs of 2–4 capitalised words in one sentence (see the module docstring)."""
    run: list[str] = []
    # A sentence's first word is capitalised anyway, so it says nothing: it never starts a
    # run (it only ends the empty one).
    for tok in _TOKEN_RE.findall(sentence)[1:]:
        # A number continues a name ("Galaxy S24", "Model 3") but never starts one.
        if tok in _LINKERS or (tok[0].isdigit() and run) or _is_cap(tok):
            run.append(tok)
            continue
        if len(run) >= 2:  # trimming only shortens: a shorter run can name nothing
            yield from _named(run)
        run = []
    if len(run) >= 2:
        yield from _named(run)


def _named(run: list[str]) -> Iterable[str]:
    """The run, trimmed, if it is a name: 2–4 words, two with letters, not all acronyms."""
    words = _trim(run)
    named = [w for w in words if any(c.isalpha() for c in w)]
    # Two words with letters at least ("Dec 24" and "USD 20" are not names), and not all
    # acronyms ("SUV AWD").
    if 2 <= len(words) <= 4 and len(named) >= 2 and not all(w.isupper() for w in named):
        yield " ".join(words)


def brand_names(headline: str, description: str, cta: str) -> list[str]:
    out: list[str] = []
    for n, field in enumerate((headline, description, cta)):
        # Every mark match ends in one of these: most fields have none and skip the scan.
        if "™" in field or "®" in field or "(TM)" in field or "(R)" in field:
            for m in _MARKED_RE.finditer(field):
                words = _trim(m.group(1).split())
                if words:
                    out.append(" ".join(words))
        tokens = _TOKEN_RE.findall(field)
        # A camelCase word has a lower and an upper case letter, so it is neither
        # islower() nor isupper(): the cheap tests skip the regex for most words.
        out.extend(t for t in tokens
                   if not t.islower() and not t.isupper() and _CAMEL_RE.match(t))
        if n == 2 or _title_case(field, tokens):
            continue
        for sentence in _SENTENCE_RE.split(field):
            out.extend(_runs(sentence))
    return out
