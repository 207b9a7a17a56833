"""Facebook action types: which names report the same events, and counting each event once.

Graph reports one purchase under many names at once: ``omni_purchase`` and ``purchase``
(Ads Manager's "Purchases": website + app + offline + on-Meta), and the website part again
under the pixel type and its synonyms (``offsite_conversion.fb_pixel_purchase``,
``onsite_web_purchase``, ``web_in_store_purchase``, ``web_app_in_store_purchase``, ...).
Reference §0 "Metric definitions" (checked December 2026): count one per event, never the
sum of synonyms; Meta documents no table, the groups below follow practitioner parsers.

A family is one kind of event: its *total* group (the aggregate names) and its *parts*
(website, app, on-Meta, offline), each part a group of synonyms. Parts are disjoint, so
configuring several parts adds distinct events; anything else double counts and is refused
when the normalizer is built: two names of one group, or a total with any part.
At run time each configured name stands for its whole group: a row that lacks the name
but carries a synonym (older rows, another API version) still counts, once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

# (total group, part groups); the first name of a group is its usual (UI) name.
_FAMILIES: tuple[tuple[tuple[str, ...], tuple[tuple[str, ...], ...]], ...] = (
    (("omni_purchase", "purchase"), (
        ("offsite_conversion.fb_pixel_purchase", "onsite_web_purchase", "web_in_store_purchase",
         "web_app_in_store_purchase", "onsite_web_app_purchase"),
        ("app_custom_event.fb_mobile_purchase",),
        ("onsite_conversion.purchase",),
        ("offline_conversion.purchase",),
    )),
    (("omni_lead", "lead"), (
        ("offsite_conversion.fb_pixel_lead",),
        ("onsite_conversion.lead_grouped",),
    )),
    (("omni_add_to_cart", "add_to_cart"), (
        ("offsite_conversion.fb_pixel_add_to_cart", "onsite_web_add_to_cart"),
        ("app_custom_event.fb_mobile_add_to_cart",),
    )),
    (("omni_complete_registration", "complete_registration"), (
        ("offsite_conversion.fb_pixel_complete_registration",),
        ("app_custom_event.fb_mobile_complete_registration",),
    )),
    (("omni_initiated_checkout", "initiate_checkout"), (
        ("offsite_conversion.fb_pixel_initiate_checkout", "onsite_web_initiate_checkout"),
        ("app_custom_event.fb_mobile_initiated_checkout",),
    )),
)

#: name -> (family index, group index; 0 is the family's total, 1.. its parts, in order)
_WHERE: dict[str, tuple[int, int]] = {
    name: (f, g)
    for f, (total, parts) in enumerate(_FAMILIES)
    for g, group in enumerate((total, *parts))
    for name in group
}


def synonyms(name: str) -> tuple[str, ...]:
    """The names reporting the same events as ``name``, ``name`` first (itself if unknown)."""
    where = _WHERE.get(name)
    if where is None:
        return (name,)
    total, parts = _FAMILIES[where[0]]
    group = (total, *parts)[where[1]]
    return (name, *(n for n in group if n != name))


class ActionPlan:
    """The configured action types, checked for overlap, with a per-row counting rule.

    ``rank`` maps every name a configured type stands for to ``(slot, preference)``: per
    row, each slot (one configured type) takes the value of its most preferred name present.
    """

    __slots__ = ("rank", "slots", "types")

    def __init__(self, types: Sequence[str], what: str) -> None:
        if isinstance(types, str) or not types or not all(
            isinstance(t, str) and t for t in types
        ):
            raise ValueError(f"{what} must be a non-empty sequence of action type names")
        self.types = frozenset(types)
        _refuse_overlap(self.types, what)
        self.slots = len(self.types)
        self.rank: dict[str, tuple[int, int]] = {}
        for slot, name in enumerate(sorted(self.types)):
            for pref, n in enumerate(synonyms(name)):
                self.rank.setdefault(n, (slot, pref))

    def total(self, actions: Any, parse: Callable[[Any], Any]) -> Any:
        """One value per configured type (its best synonym present), summed; no list -> 0.

        A value that does not parse is returned raw, for the validator to name.
        """
        if actions is None:
            return 0
        if actions.__class__ is not list:
            return actions
        rank = self.rank
        best: dict[int, tuple[int, Any]] = {}
        for a in actions:
            if a.__class__ is not dict:
                continue
            r = rank.get(str(a.get("action_type")))
            if r is None:
                continue
            slot, pref = r
            seen = best.get(slot)
            if seen is None or pref < seen[0]:
                best[slot] = (pref, a.get("value"))
        total: Any = 0
        for _, raw in best.values():
            v = parse(raw)
            if v.__class__ is not int and v.__class__ is not float:
                return v
            total += v
        return total


def _refuse_overlap(chosen: frozenset[str], what: str) -> None:
    """Raise ``ValueError`` for a set of names that would count one event twice."""
    by_family: dict[int, dict[int, list[str]]] = {}
    for name in sorted(chosen):
        where = _WHERE.get(name)
        if where is not None:
            by_family.setdefault(where[0], {}).setdefault(where[1], []).append(name)
    for groups in by_family.values():
        for names in groups.values():
            if len(names) > 1:
                raise ValueError(
                    f"{what} {names} report the same events (synonyms); summing them would "
                    "double count: keep one"
                )
        if 0 in groups and len(groups) > 1:
            named = sorted(n for names in groups.values() for n in names)
            raise ValueError(
                f"{what} {named} overlap ({groups[0]} already includes the others); summing "
                "them would double count"
            )
