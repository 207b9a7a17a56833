"""The metric columns of one Facebook insights row, built for the requested fields.

``row_builder`` resolves the requested fields once per query and returns the function that
turns an entity's identity columns and one ``Metrics`` tuple into a Graph row: the counts and
money as strings, ``actions`` and ``action_values`` with every purchase type Graph reports
(split over attribution windows when asked for), and the rarely requested extras.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from within_daemon.sandbox.facebook.data import Metrics
from within_daemon.sandbox.numbers import money

#: Purchase action types, as Graph reports them for one account with a pixel and a shop on
#: Meta. "Purchases" in Ads Manager is ``omni_purchase`` (website + app + offline + on-Meta;
#: ``purchase`` carries the same events); "Website purchases" is the pixel type, and its
#: synonyms carry the same website events again (reference §0 "Metric definitions"; Meta
#: documents no table, practitioner parsers list these names). A fifth of the emulator's
#: purchases happen on Meta (``onsite_conversion.purchase``), so the pixel count is below the
#: "Purchases" column, as it is for any account selling outside its website.
WEB_PURCHASE_TYPES = (
    "offsite_conversion.fb_pixel_purchase", "onsite_web_purchase", "web_in_store_purchase",
    "web_app_in_store_purchase",
)
ALL_PURCHASE_TYPES = ("purchase", "omni_purchase")
ON_META_PURCHASE = "onsite_conversion.purchase"
_CLICK_WINDOWS = frozenset({"1d_click", "7d_click", "28d_click"})
_VIEW_WINDOWS = frozenset({"1d_view", "7d_view", "28d_view"})


def row_builder(
    want: frozenset[str], windows: tuple[str, ...],
) -> Callable[[dict[str, str], Metrics, str, str], dict[str, Any]]:
    """A row builder specialised to the requested fields (this is the hot path).

    The field tests are resolved once per query into closure booleans, and action lists
    are built as literals, because per-row cost is what bounds the emulator's rows/s.
    """
    w_impr, w_clicks, w_spend, w_reach = (
        "impressions" in want, "clicks" in want, "spend" in want, "reach" in want
    )
    w_ctr, w_cpm, w_cpc = "ctr" in want, "cpm" in want, "cpc" in want
    w_actions, w_values = "actions" in want, "action_values" in want
    extras = bool(want & _EXTRA_FIELDS)

    def build(ident: dict[str, str], m: Metrics, ds: str, de: str) -> dict[str, Any]:
        impressions, clicks, spend, reach, link_clicks, purchases, value, leads, web, wv = m
        row: dict[str, Any] = dict(ident)
        row["date_start"] = ds
        row["date_stop"] = de
        if w_impr:
            row["impressions"] = str(impressions)
        if w_clicks:
            row["clicks"] = str(clicks)
        if w_spend:
            row["spend"] = money(spend)
        if w_reach:
            row["reach"] = str(reach)
        if w_ctr:
            row["ctr"] = f"{clicks * 100 / impressions:.6f}" if impressions else "0"
        if w_cpm and impressions:
            row["cpm"] = f"{spend * 10 / impressions:.6f}"
        if w_cpc and clicks:
            row["cpc"] = f"{spend / 100 / clicks:.6f}"
        if w_actions and (link_clicks or purchases or leads):
            # Graph leaves empty action lists out of the row rather than sending [].
            row["actions"] = (
                _with_windows(_action_counts(link_clicks, purchases, leads, web), str,
                              windows)
                if windows else _action_list(link_clicks, purchases, leads, web)
            )
        if w_values and purchases:
            vals = _purchase_counts(purchases, web, value, wv)
            row["action_values"] = (
                _with_windows(vals, money, windows)
                if windows else [{"action_type": t, "value": money(v)} for t, v in vals]
            )
        if extras:
            _add_extras(row, want, m)
        return row

    return build


_EXTRA_FIELDS = frozenset({
    "frequency", "cpp", "inline_link_clicks", "inline_link_click_ctr", "outbound_clicks",
    "cost_per_action_type", "purchase_roas",
})


def _add_extras(row: dict[str, Any], want: frozenset[str], m: Metrics) -> None:
    """The rarely requested metrics, kept off the common path."""
    impressions, clicks, spend, reach, link_clicks, purchases, value, leads, web, _ = m
    if "frequency" in want and reach:  # a breakdown segment can have no reach
        row["frequency"] = f"{impressions / reach:.6f}"
    if "cpp" in want and reach:
        row["cpp"] = f"{spend * 10 / reach:.6f}"
    if "inline_link_clicks" in want:
        row["inline_link_clicks"] = str(link_clicks)
    if "inline_link_click_ctr" in want and impressions:
        row["inline_link_click_ctr"] = f"{link_clicks * 100 / impressions:.6f}"
    if "outbound_clicks" in want and link_clicks:
        row["outbound_clicks"] = [{"action_type": "outbound_click", "value": str(link_clicks)}]
    counts = _action_counts(link_clicks, purchases, leads, web)
    if "cost_per_action_type" in want and counts:
        row["cost_per_action_type"] = [
            {"action_type": t, "value": f"{spend / 100 / c:.6f}"} for t, c in counts
        ]
    if "purchase_roas" in want and purchases and spend:
        row["purchase_roas"] = [{"action_type": "omni_purchase", "value": f"{value / spend:.6f}"}]


def _action_list(
    link_clicks: int, purchases: int, leads: int, web: int
) -> list[dict[str, str]]:
    """``_action_counts`` as Graph action entries, built directly (the common case)."""
    acts: list[dict[str, str]] = []
    if link_clicks:
        acts.append({"action_type": "link_click", "value": str(link_clicks)})
        lpv = link_clicks * 85 // 100
        if lpv:
            acts.append({"action_type": "landing_page_view", "value": str(lpv)})
    if leads:
        acts.append({"action_type": "lead", "value": str(leads)})
    if purchases:
        acts.extend({"action_type": t, "value": str(c)}
                    for t, c in _purchase_counts(purchases, web, purchases, web))
    return acts


def _purchase_counts(purchases: int, web: int, total: int, web_total: int
                     ) -> list[tuple[str, int]]:
    """Every purchase type with its amount; synonyms repeat the same events.

    ``total`` is the amount of all purchases and ``web_total`` of the website ones: the
    counts themselves, or their values.
    """
    out = [(t, web_total) for t in WEB_PURCHASE_TYPES] if web else []
    if purchases - web:
        out.append((ON_META_PURCHASE, total - web_total))
    out.extend((t, total) for t in ALL_PURCHASE_TYPES)
    return out


def _with_windows(
    counts: list[tuple[str, int]], fmt: Callable[[int], str], windows: tuple[str, ...]
) -> list[dict[str, str]]:
    out = []
    for t, c in counts:
        # Split each value between click and view windows so that 7d_click + 1d_view
        # (Graph's default attribution) adds back up to ``value``.
        view = c // 10
        entry = {"action_type": t, "value": fmt(c)}
        for w in windows:
            if w in _CLICK_WINDOWS:
                entry[w] = fmt(c - view)
            elif w in _VIEW_WINDOWS:
                entry[w] = fmt(view)
        out.append(entry)
    return out


def _action_counts(
    link_clicks: int, purchases: int, leads: int, web: int
) -> list[tuple[str, int]]:
    counts: list[tuple[str, int]] = []
    if link_clicks:
        counts.append(("link_click", link_clicks))
        lpv = link_clicks * 85 // 100
        if lpv:
            counts.append(("landing_page_view", lpv))
    if leads:
        counts.append(("lead", leads))
    if purchases:
        # The same purchases reported under several overlapping types, as Graph does.
        counts.extend(_purchase_counts(purchases, web, purchases, web))
    return counts
