"""Insights rows for the Facebook emulator: query parsing and rows generated on demand.

An insights result is a virtual table ordered by (date bucket, entity id). ``InsightsTable``
maps a row position straight to its (bucket, entity) pair, so a page costs only the rows it
contains, whatever the date range, and the oracle (``expected_rows``/``expected_totals`` on
the emulator) uses the very same arithmetic. Higher levels sum the ad-day metrics, so
account rows are exact per-day sums of ad rows by construction.

Ad-level results leave out DELETED and ARCHIVED ads unless ``filtering`` on
``ad.effective_status`` names them (Meta, "Manage your ad object's status":
``act_<ID>/insights?level=ad`` "does not return stats for the deleted object"; query them
"using the ad.effective_status filter"); account, campaign and ad set rows still count them.
A filter listing only some statuses returns only those ads, as Graph does.

Ad rows carry ``quality_ranking``, ``engagement_rate_ranking`` and ``conversion_rate_ranking``
when asked for (one label per ad), and only then: Graph returns only requested fields.

With ``breakdowns`` (``age`` and/or ``gender``; other breakdowns are ignored) every row
splits into one row per segment, segment-major within its (bucket, entity). Each ad-day's
metrics are apportioned over the segments with integer cumulative floors, so the segment
rows add back EXACTLY to the unsplit row (spend in cents), and a count never exceeds the
count it is a part of (clicks <= impressions, link clicks <= clicks per segment).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from within_daemon.sandbox.facebook.data import (
    ATTRIBUTION_SETTINGS,
    N_METRICS,
    AccountData,
    Metrics,
    as_metrics,
)
from within_daemon.sandbox.facebook.graph import (
    HIDDEN_STATUSES,
    invalid_parameter,
    status_filter,
)
from within_daemon.sandbox.numbers import mix64, money

LEVELS = ("ad", "adset", "campaign", "account")
#: What Graph returns when ``fields`` is omitted (plus date_start/date_stop).
DEFAULT_FIELDS = ("impressions", "spend")
_PRESETS = {
    "today": (0, 0), "yesterday": (1, 1), "last_3d": (3, 1), "last_7d": (7, 1),
    "last_14d": (14, 1), "last_28d": (28, 1), "last_30d": (30, 1), "last_90d": (90, 1),
}
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
_RANKINGS = ("ABOVE_AVERAGE", "AVERAGE", "BELOW_AVERAGE_35", "BELOW_AVERAGE_20",
             "BELOW_AVERAGE_10", "UNKNOWN")
RANKING_FIELDS = ("quality_ranking", "engagement_rate_ranking", "conversion_rate_ranking")
_CLICK_WINDOWS = frozenset({"1d_click", "7d_click", "28d_click"})
_VIEW_WINDOWS = frozenset({"1d_view", "7d_view", "28d_view"})
#: The demographic breakdowns the emulator splits rows by, in the order rows are split.
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
GENDERS = ("female", "male", "unknown")
BREAKDOWNS = ("age", "gender")
# Typical shares (percent) before the per-ad and per-day perturbation.
_AGE_BASE = (14, 28, 22, 16, 12, 8)
_GENDER_BASE = (48, 46, 6)


class InsightsQuery(msgspec.Struct, frozen=True):
    """The parameters that select an insights result (all dates as ordinals)."""

    level: str
    fields: tuple[str, ...]
    since: int
    until: int
    #: Days per row; ``until - since + 1`` for ``all_days``.
    increment: int
    windows: tuple[str, ...] = ()
    #: The supported breakdowns requested, in ``BREAKDOWNS`` order (others are dropped).
    breakdowns: tuple[str, ...] = ()
    #: ``ad.effective_status IN (...)`` from ``filtering``; None: the default (hidden
    #: statuses left out).
    statuses: tuple[str, ...] | None = None

    def shows(self, effective_status: str) -> bool:
        """Whether an ad with this effective status is part of an ad-level result."""
        if self.statuses is None:
            return effective_status not in HIDDEN_STATUSES
        return effective_status in self.statuses

    @property
    def date_start(self) -> str:
        return dt.date.fromordinal(self.since).isoformat()

    @property
    def date_stop(self) -> str:
        return dt.date.fromordinal(self.until).isoformat()


def _list_param(raw: str) -> list[str]:
    """A Graph list parameter: a JSON array or a comma-separated string."""
    raw = raw.strip()
    if raw.startswith("["):
        try:
            return msgspec.json.decode(raw, type=list[str])
        except msgspec.DecodeError:
            raise invalid_parameter(f"Invalid list parameter: {raw!r}") from None
    return [p.strip() for p in raw.split(",") if p.strip()]


def _date(raw: str) -> int:
    try:
        return dt.date.fromisoformat(raw).toordinal()
    except (TypeError, ValueError):
        raise invalid_parameter(f"Invalid date in time_range: {raw!r}") from None


def parse_insights_query(params: Mapping[str, str], today: dt.date) -> InsightsQuery:
    """Build an ``InsightsQuery`` from request parameters; raise ``GraphError`` when invalid."""
    level = params.get("level", "ad") or "ad"
    if level not in LEVELS:
        raise invalid_parameter(f"Param level must be one of {{{', '.join(LEVELS)}}}")
    if "time_range" in params:
        try:
            rng = msgspec.json.decode(params["time_range"], type=dict[str, str])
        except msgspec.DecodeError:
            raise invalid_parameter("Param time_range must be a JSON object") from None
        if "since" not in rng or "until" not in rng:
            raise invalid_parameter("time_range requires both 'since' and 'until'")
        since, until = _date(rng["since"]), _date(rng["until"])
    else:
        preset = params.get("date_preset", "last_30d")
        if preset not in _PRESETS:
            raise invalid_parameter(f"Unsupported date_preset {preset!r}")
        back_from, back_to = _PRESETS[preset]
        since, until = today.toordinal() - back_from, today.toordinal() - back_to
    if since > until:
        raise invalid_parameter("time_range 'since' must not be after 'until'")
    raw_inc = params.get("time_increment", "all_days")
    if raw_inc == "all_days":
        increment = until - since + 1
    elif raw_inc.isdigit() and 1 <= int(raw_inc) <= 90:
        increment = int(raw_inc)
    else:
        raise invalid_parameter("Param time_increment must be 1..90 or all_days")
    raw_fields = params.get("fields", "")
    fields = tuple(_list_param(raw_fields)) if raw_fields else DEFAULT_FIELDS
    windows = params.get("action_attribution_windows", "")
    raw_breakdowns = params.get("breakdowns", "")
    asked = set(_list_param(raw_breakdowns)) if raw_breakdowns else set()
    return InsightsQuery(
        level, fields, since, until, increment, tuple(_list_param(windows)) if windows else (),
        tuple(b for b in BREAKDOWNS if b in asked), status_filter(params, "ad.effective_status"),
    )


def segments(breakdowns: tuple[str, ...]) -> list[dict[str, str]]:
    """The breakdown columns of each segment a row splits into (``[{}]``: no split)."""
    ages: tuple[str | None, ...] = AGE_BANDS if "age" in breakdowns else (None,)
    genders: tuple[str | None, ...] = GENDERS if "gender" in breakdowns else (None,)
    out: list[dict[str, str]] = []
    for a in ages:
        for g in genders:
            seg: dict[str, str] = {}
            if a is not None:
                seg["age"] = a
            if g is not None:
                seg["gender"] = g
            out.append(seg)
    return out


def _split(total: int, weights: list[int]) -> list[int]:
    """``total`` apportioned by ``weights`` with cumulative floors: the parts sum to it.

    When ``total <= sum(weights)`` and the weights are themselves integer parts, each part
    is at most its weight, which keeps e.g. clicks within impressions per segment.
    """
    denom = sum(weights)
    if denom <= 0:
        weights, denom = [1] * len(weights), len(weights)
    out: list[int] = []
    cum = prev = 0
    for w in weights:
        cum += w
        cur = total * cum // denom
        out.append(cur - prev)
        prev = cur
    return out


def segment_weights(data: AccountData, ad: int, ordinal: int,
                    breakdowns: tuple[str, ...]) -> list[int]:
    """Deterministic audience weights of one ad-day, one per ``segments(breakdowns)``.

    Each ad has its own skew (so ads differ in their top age band), and each day moves the
    shares a little.
    """
    key = mix64((int(data.ads[ad].id) * 0x9E3779B1 + data.seed) & ((1 << 64) - 1))
    day = mix64((key + ordinal * 0x632BE59BD9B4E019) & ((1 << 64) - 1))
    age_w = [
        base * (40 + (key >> (6 * k) & 0x3F) % 121) * (90 + (day >> (5 * k) & 0x1F) % 21)
        for k, base in enumerate(_AGE_BASE)
    ] if "age" in breakdowns else [1]
    gender_w = [
        base * (70 + (key >> (40 + 7 * k) & 0x7F) % 61) * (95 + (day >> (32 + 4 * k) & 0xF) % 11)
        for k, base in enumerate(_GENDER_BASE)
    ] if "gender" in breakdowns else [1]
    return [a * g for a in age_w for g in gender_w]


def split_metrics(m: Metrics, weights: list[int]) -> list[Metrics]:
    """One ad-day's metrics split over segments; each metric's parts sum to its total."""
    impressions, clicks, spend, reach, link_clicks, purchases, value, leads, web, web_v = m
    imp = _split(impressions, weights)
    # Parts of a count follow the parts of the count that contains it; a zero container
    # falls back to the audience weights.
    by_imp = imp if impressions else weights
    clk = _split(clicks, by_imp)
    lnk = _split(link_clicks, clk if clicks else by_imp)
    pur = _split(purchases, lnk if link_clicks else by_imp)
    val = _split(value, pur if purchases else by_imp)
    web_p = _split(web, pur if purchases else by_imp)
    parts = zip(
        imp, clk, _split(spend, by_imp), _split(reach, by_imp), lnk, pur, val,
        _split(leads, lnk if link_clicks else by_imp), web_p,
        _split(web_v, val if value else by_imp), strict=True,
    )
    return [as_metrics(list(p)) for p in parts]


class InsightsTable:
    """The rows of one query, generated by position: row ``p`` = (bucket, entity) of ``p``."""

    def __init__(self, data: AccountData, query: InsightsQuery) -> None:
        self.data = data
        self.query = query
        self.want = frozenset(query.fields)
        self.groups = _groups(data, query.level)
        if query.level == "ad":
            self.groups = [g for g in self.groups
                           if query.shows(data.ads[g[0]].graph["effective_status"])]
        inc = query.increment
        lo, hi = data.active_span(query.since, query.until)
        # Buckets tile the requested range from ``since``; the ones touching the active span
        # are contiguous, so only the first and the count are needed.
        self.first_bucket = (lo - query.since) // inc if lo <= hi else 0
        n_buckets = (hi - query.since) // inc - self.first_bucket + 1 if lo <= hi else 0
        self.segments = segments(query.breakdowns)
        #: Rows per (bucket, entity): 1 unless the query has breakdowns.
        self.per_base = len(self.segments)
        self.total = n_buckets * len(self.groups) * self.per_base
        # Identity columns per entity are shared by every page of every request with the
        # same level and fields, so they are memoised on the account (bounded, see below).
        memo = data.memo
        if len(memo) > 64:
            memo.clear()
        key = ("idents", query.level, self.want, query.statuses)
        if key not in memo:
            memo[key] = [None] * len(self.groups)
        self._idents: list[dict[str, str] | None] = memo[key]
        self._days: dict[int, str] = {}

    def _day(self, ordinal: int) -> str:
        s = self._days.get(ordinal)
        if s is None:
            s = self._days[ordinal] = dt.date.fromordinal(ordinal).isoformat()
        return s

    def _ident(self, e: int) -> dict[str, str]:
        ident = self._idents[e]
        if ident is None:
            full = _identity(self.data, self.query.level, self.groups[e])
            ident = self._idents[e] = {k: v for k, v in full.items() if k in self.want}
        return ident

    def rows(self, start: int, stop: int) -> list[dict[str, Any]]:
        """Rows ``start..stop-1`` (clamped to the table)."""
        q, data = self.query, self.data
        n = len(self.groups)
        build, ident, day = self._make_row(), self._ident, self._day
        first = q.since + self.first_bucket * q.increment
        rows = range(max(0, start), min(stop, self.total))
        if self.per_base > 1:
            return self._split_rows(rows)
        if q.level == "ad" and q.increment == 1:
            ad_day = data.ad_day
            return [
                build(ident(e), ad_day(e, first + b), day(first + b), day(first + b))
                for b, e in (divmod(p, n) for p in rows)
            ]
        out: list[dict[str, Any]] = []
        for p in rows:
            b, e = divmod(p, n)
            lo = first + b * q.increment
            hi = min(lo + q.increment - 1, q.until)
            m = data.sum_days(self.groups[e], *data.active_span(lo, hi))
            out.append(build(ident(e), m, day(lo), day(hi)))
        return out

    def segment_metrics(self, e: int, lo: int, hi: int) -> list[Metrics]:
        """Per-segment metrics of entity ``e`` over days ``lo..hi`` (ordinals, inclusive).

        Higher levels and multi-day buckets sum the ad-day splits, so every level's segment
        rows are exact sums of the ad-day segment rows.
        """
        data, bd = self.data, self.query.breakdowns
        acc = [[0] * N_METRICS for _ in range(self.per_base)]
        a_lo, a_hi = data.active_span(lo, hi)
        for o in range(a_lo, a_hi + 1):
            for i in self.groups[e]:
                for s, part in enumerate(split_metrics(data.ad_day(i, o),
                                                       segment_weights(data, i, o, bd))):
                    row = acc[s]
                    for k in range(N_METRICS):
                        row[k] += part[k]
        return [as_metrics(r) for r in acc]

    def _split_rows(self, rows: range) -> list[dict[str, Any]]:
        """Rows of a query with breakdowns: each (bucket, entity) split per segment."""
        q, n, per = self.query, len(self.groups), self.per_base
        build, ident, day = self._make_row(), self._ident, self._day
        first = q.since + self.first_bucket * q.increment
        out: list[dict[str, Any]] = []
        # Rows of one (bucket, entity) are adjacent: split its metrics once for all of them.
        current, parts, e, lo, hi = -1, [], 0, 0, 0
        for p in rows:
            base, s = divmod(p, per)
            if base != current:
                b, e = divmod(base, n)
                lo = first + b * q.increment
                hi = min(lo + q.increment - 1, q.until)
                current, parts = base, self.segment_metrics(e, lo, hi)
            row = build(ident(e), parts[s], day(lo), day(hi))
            row.update(self.segments[s])
            out.append(row)
        return out

    def _make_row(self) -> Callable[[dict[str, str], Metrics, str, str], dict[str, Any]]:
        """A row builder specialised to the requested fields (this is the hot path).

        The field tests are resolved once per query into closure booleans, and action lists
        are built as literals, because per-row cost is what bounds the emulator's rows/s.
        """
        want = self.want
        w_impr, w_clicks, w_spend, w_reach = (
            "impressions" in want, "clicks" in want, "spend" in want, "reach" in want
        )
        w_ctr, w_cpm, w_cpc = "ctr" in want, "cpm" in want, "cpc" in want
        w_actions, w_values = "actions" in want, "action_values" in want
        extras = bool(want & _EXTRA_FIELDS)
        windows = self.query.windows

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


def _groups(data: AccountData, level: str) -> list[range]:
    """Ad index ranges per entity of ``level`` (ads are stored grouped by ad set/campaign)."""
    n = len(data.ads)
    if level == "ad":
        return [range(i, i + 1) for i in range(n)]
    if level == "account":
        return [range(0, n)]
    owner = [ad.parent for ad in data.ads]  # ad set index of each ad
    if level == "campaign":
        owner = [data.adsets[a].parent for a in owner]
    groups: list[range] = []
    start = 0
    for i in range(1, n + 1):
        if i == n or owner[i] != owner[start]:
            groups.append(range(start, i))
            start = i
    return groups


def _identity(data: AccountData, level: str, group: range) -> dict[str, str]:
    """The id/name columns of an entity, read from the first ad it contains."""
    acct = data.account
    # An ad set's own attribution setting; above it, the one setting all its ad sets share,
    # or "mixed" ([U]: Meta says only that it "is calculated based on existing ad sets").
    settings = {ATTRIBUTION_SETTINGS[data.ads[i].parent % len(ATTRIBUTION_SETTINGS)]
                for i in group}
    ident = {
        "account_id": acct.account_id, "account_name": acct.name,
        "account_currency": acct.currency, "buying_type": "AUCTION",
        "attribution_setting": settings.pop() if len(settings) == 1 else "mixed",
    }
    first_ad = group[0]
    if level == "account":
        return ident
    ad = data.ads[first_ad]
    aset = data.adsets[ad.parent]
    camp = data.campaigns[aset.parent]
    ident.update(campaign_id=camp.id, campaign_name=camp.name, objective=camp.graph["objective"])
    if level == "campaign":
        return ident
    ident.update(
        adset_id=aset.id, adset_name=aset.name, optimization_goal=aset.graph["optimization_goal"]
    )
    if level == "adset":
        return ident
    ident.update(ad_id=ad.id, ad_name=ad.name)
    # One ranking label per ad and ranking, deterministic from the ad id.
    h = mix64(int(ad.id))
    for k, name in enumerate(RANKING_FIELDS):
        ident[name] = _RANKINGS[(h >> (8 * k)) % len(_RANKINGS)]
    return ident


def corrupt_rows(rows: list[dict[str, Any]], start: int, every: int, mode: str) -> int:
    """Break every ``every``-th row (by absolute position) the way ``mode`` says; count them."""
    broken = 0
    for offset, row in enumerate(rows):
        if (start + offset + 1) % every:
            continue
        if mode == "negative_spend":
            row["spend"] = "-3.00"
        elif mode == "clicks_gt_impressions":
            row["clicks"] = str(int(row.get("impressions", "0")) + 7)
        elif mode == "missing_ad_id":
            row.pop("ad_id", None)
        else:
            raise ValueError(f"unknown bad_rows mode {mode!r}")
        broken += 1
    return broken
