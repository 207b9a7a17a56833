"""Settling: older days are pulled again, on a slow cadence, until the platform stops changing them.

Platforms keep crediting conversions to past days: Meta says insights stop changing after
28 days, Google credits a conversion to the click date for the whole conversion window
(30 days by default, up to 90), Amazon's sales land for 7 days (14 for vendors) plus
cancellations (reference §0 "Metric definitions"). A task's ``lookback_days`` re-pulls the
recent days on every run; this module picks the older days that still need a pull.

A day is *settled* once its last pull (the ledger's ``completed_at``) came at least
``horizon`` days after it: the platform will not change it any more. Days older than the
lookback but not settled are pulled again, all together, once the oldest last pull among
them is ``every`` days old: one extra contiguous window per account every ``every`` days,
not a trickle of single days. Days older than ``horizon + every`` are left alone (a day
that got no pull after its horizon by then missed it; ``backfill --force`` can redo it).

Cost, per account and day of data, with the defaults (lookback 7, every 7): the lookback
pulls each day 7 times, and settling about ``(horizon + every - lookback) / every`` more
times: Facebook (horizon 28) 4, Google (30, or the account's window) 5, Amazon (14) 2,
TikTok (28) 4. In requests: one more window of ``horizon + every - lookback`` days per
account per week (Facebook 28 days: 4 insights windows of 7 days or one async job).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Protocol

from within_daemon.config import AccountConfig
from within_daemon.platform_config import HttpKnobs


class LedgerReader(Protocol):
    async def last_pulls(self, *, platform: str, account_id: str, kind: str,
                         since: str, until: str) -> dict[str, str]: ...


@dataclass(frozen=True)
class SettlePlan:
    """What settling adds to one account's run."""

    #: Days to pull besides the lookback window (sorted; empty when none is due).
    extra: tuple[str, ...]
    #: Ledger days within reach (lookback included) whose last pull came before they settled.
    unsettled: int


def _pulled_on(stamp: str, tz: tzinfo) -> date:
    """The day (in the run's time zone, like ``today``) of a ``completed_at`` stamp."""
    try:
        at = datetime.fromisoformat(stamp)
    except ValueError:
        return date.fromisoformat(stamp[:10])
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(tz).date()


def settle_plan(window: Sequence[str], last_pulls: Mapping[str, str], *, today: date,
                horizon: int, every: int, tz: tzinfo = UTC) -> SettlePlan:
    """The settle days of one account (pure, see the module docstring).

    ``window`` is the run's lookback days; ``last_pulls`` maps ledger days to their last
    ``completed_at``; ``today`` is the run's today in ``tz``.
    """
    if horizon <= 0:
        return SettlePlan((), 0)
    first = (today - timedelta(days=horizon + every)).isoformat()
    start = min(window) if window else today.isoformat()
    unsettled = [
        d for d, stamp in last_pulls.items()
        if first <= d < today.isoformat()
        and _pulled_on(stamp, tz) < date.fromisoformat(d) + timedelta(days=horizon)
    ]
    older = sorted(d for d in unsettled if d < start)
    due = any(_pulled_on(last_pulls[d], tz) <= today - timedelta(days=every) for d in older)
    return SettlePlan(tuple(older) if due else (), len(unsettled))


async def plan_for(db: LedgerReader, *, platform: str, account_id: str, kind: str,
                   window: Sequence[str], today: date, horizon: int, every: int,
                   tz: tzinfo = UTC) -> SettlePlan:
    """``settle_plan`` over the ledger's last pull of each day of the account (any task)."""
    if horizon <= 0:
        return SettlePlan((), 0)
    since = (today - timedelta(days=horizon + every)).isoformat()
    pulls = await db.last_pulls(platform=platform, account_id=account_id, kind=kind,
                                since=since, until=today.isoformat())
    return settle_plan(window, pulls, today=today, horizon=horizon, every=every, tz=tz)


async def account_plan(db: LedgerReader, pcfg: HttpKnobs, connector: Any, kind: str,
                       acc: AccountConfig, window: Sequence[str], today: date,
                       tz: tzinfo = UTC) -> SettlePlan:
    """The plan of one account: its platform's horizon, or Google's own conversion window.

    ``connector`` is the account's live connector, if any: a Google connector that has read
    the account's conversion actions carries ``conversion_window_days``.
    """
    hint = getattr(connector, "conversion_window_days", None)
    horizon = hint if isinstance(hint, int) and pcfg.settle_days else pcfg.settle_days
    return await plan_for(db, platform=acc.platform, account_id=acc.account_id,
                          kind=kind, window=window, today=today, horizon=horizon,
                          every=pcfg.settle_every_days, tz=tz)
