"""Insights query parameters for the Facebook emulator: what one request selects.

``parse_insights_query`` turns Graph's ``level``, ``time_range`` or ``date_preset``,
``time_increment``, ``fields``, ``action_attribution_windows``, ``breakdowns`` and
``filtering`` parameters into an ``InsightsQuery`` (dates as ordinals), or raises the Graph
error a bad parameter gets. ``InsightsQuery.shows`` says which ads an ad-level result lists
(see ``insights`` for the hidden statuses' citation).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import msgspec

from within_daemon.sandbox.facebook.breakdowns import BREAKDOWNS
from within_daemon.sandbox.facebook.graph import (
    HIDDEN_STATUSES,
    invalid_parameter,
    status_filter,
)

LEVELS = ("ad", "adset", "campaign", "account")
#: What Graph returns when ``fields`` is omitted (plus date_start/date_stop).
DEFAULT_FIELDS = ("impressions", "spend")
_PRESETS = {
    "today": (0, 0), "yesterday": (1, 1), "last_3d": (3, 1), "last_7d": (7, 1),
    "last_14d": (14, 1), "last_28d": (28, 1), "last_30d": (30, 1), "last_90d": (90, 1),
}


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
