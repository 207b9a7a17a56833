"""The audience pull: a source step after a task's ad rows, with its own run and ledger.

When a task's ``enrich`` has ``audience_insights``, each account its run loaded gets its
demographic breakdowns pulled (:data:`AUDIENCE_PULLS`: Facebook ``iter_audience``, Google
``age_range_view``/``gender_view``, TikTok's AUDIENCE report), normalized
(``transforms.enrichment.audience``) and stored (``loaders.audience``), then its summary is
refreshed. Like an ad pull it leaves:

- a ``runs`` row per account: the task's name, pipeline ``AudiencePull``, the days' span as
  its window, fetched (API rows) and loaded (stored rows) counts, and ``success``, ``partial``
  (some slices stored, then a failure) or ``failed`` with the (redacted) error. Such a run is
  never resumed: the next pull takes its days (below);
- ledger entries of kind ``audience`` for the days it stored, committed in the same
  transaction as their rows, :data:`SLICE_DAYS` days at a time.

Which days: every day the ad run pulled (a re-pulled or settling ad day may have changed, so
its breakdowns are pulled again too), and the days of the :data:`RETRY_DAYS` before the
first of them whose ad rows are complete but whose breakdowns are not (an earlier audience
pull failed). A failed pull never fails the ad run: the ad rows stand, the failure shows in
its run row and in the post-load summary (``audience_failed``).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, cast

from ..config import TaskConfig
from ..errors import SourceError
from ..loaders import DatabaseLoader, FinalStatus
from ..loaders.audience import audience_upsert, refresh_summary
from ..loaders.schema.tables import AUDIENCE_PIPELINE
from ..observability.metrics import Metrics
from ..redaction import redact
from ..sources.google.audience import iter_google_audience
from ..sources.tiktok.audience import iter_tiktok_audience
from ..transforms.enrichment.audience import (
    normalize_audience,
    normalize_google_audience,
    normalize_tiktok_audience,
)

log = logging.getLogger(__name__)

#: Days pulled and committed (rows and ledger) together: memory stays bounded on a backfill,
#: and a failure keeps the slices stored before it.
SLICE_DAYS = 14
#: How far before the ad run's first day a day with ad rows but no breakdowns is pulled again.
RETRY_DAYS = 28

Fetch = Callable[[Any, tuple[str, str]], AsyncIterator[list[dict[str, Any]]]]
Normalize = Callable[[list[dict[str, Any]], str, Any], list[dict[str, Any]]]


def _facebook_audience(conn: Any, days: tuple[str, str]) -> AsyncIterator[list[dict[str, Any]]]:
    return cast("AsyncIterator[list[dict[str, Any]]]", conn.iter_audience(days))


def _facebook_rows(page: list[dict[str, Any]], account_id: str,
                   conn: Any) -> list[dict[str, Any]]:
    return normalize_audience(page, account_id=account_id,
                              conversion_action_types=conn.config.conversion_action_types)


#: Per platform: how to pull demographic pages over a range, and how to normalize a page.
AUDIENCE_PULLS: dict[str, tuple[Fetch, Normalize]] = {
    "facebook": (_facebook_audience, _facebook_rows),
    "google": (iter_google_audience,
               lambda page, acc, _: normalize_google_audience(page, account_id=acc)),
    "tiktok": (iter_tiktok_audience,
               lambda page, acc, _: normalize_tiktok_audience(page, account_id=acc)),
}


@dataclass
class AudienceRun:
    """What one account's audience pull did (its ``runs`` row holds the same)."""

    account_id: str
    run_id: str
    status: FinalStatus = "success"
    fetched: int = 0
    loaded: int = 0
    days: list[str] = field(default_factory=list)
    error: str | None = None


def _slices(days: Sequence[str], n: int) -> list[list[str]]:
    return [list(days[i:i + n]) for i in range(0, len(days), n)]


async def days_to_pull(db: DatabaseLoader, platform: str, account_id: str,
                       pulled: Sequence[str]) -> list[str]:
    """The ad run's days, and the recent days whose ad rows lack their breakdowns."""
    first = (date.fromisoformat(min(pulled)) - timedelta(days=RETRY_DAYS)).isoformat()
    with_ads = await db.last_pulls(platform=platform, account_id=account_id, kind="ad",
                                   since=first, until=max(pulled))
    have = await db.completed_days(task=None, platform=platform, account_id=account_id,
                                   kind="audience", days=sorted(with_ads))
    return sorted({*pulled, *(set(with_ads) - have)})


async def pull_account(db: DatabaseLoader, task_name: str, platform: str, account_id: str,
                       days: Sequence[str], conn: Any, metrics: Metrics) -> AudienceRun | None:
    """Pull, store and ledger one account's breakdowns over ``days``; None: no demographics."""
    pull = AUDIENCE_PULLS.get(platform)
    if pull is None or conn is None or not days:
        return None  # Amazon and internal data have no demographics
    fetch, normalize = pull
    days = await days_to_pull(db, platform, account_id, days)
    run = AudienceRun(account_id, await db.start_run(
        task=task_name, pipeline=AUDIENCE_PIPELINE, platform=platform, account_id=account_id,
        window_start=days[0], window_end=days[-1]))
    records = metrics.records
    try:
        for part in _slices(days, SLICE_DAYS):
            rows: list[dict[str, Any]] = []
            async for page in fetch(conn, (part[0], part[-1])):
                run.fetched += len(page)
                records.labels(platform, AUDIENCE_PIPELINE, "extracted").inc(len(page))
                rows += normalize(page, account_id, conn)
            per_day = Counter(str(r.get("date")) for r in rows)
            # A day with no breakdowns (no delivery) is complete with 0 rows, as ad days are.
            await db.write_with_ledger(
                [audience_upsert(rows)], run_id=run.run_id, task=task_name, kind="audience",
                complete_days=[(platform, account_id, d, per_day[d]) for d in part])
            run.loaded += len(rows)
            run.days += part
            records.labels(platform, AUDIENCE_PIPELINE, "loaded").inc(len(rows))
    except SourceError as exc:
        # Derived data: the loaded ad rows stand; the next run pulls these days again.
        run.status = "partial" if run.days else "failed"
        # Redacted here too (finish_run redacts what it stores): the summary is printed.
        run.error = redact(str(exc))
        log.error("audience breakdowns for %s/%s failed (%s, %d of %d days stored): %s",
                  platform, account_id, run.status, len(run.days), len(days), run.error)
    except Exception as exc:
        # Not the source's fault (a bug, the database): close the run, then let it raise.
        await db.finish_run(run.run_id, "failed", fetched=run.fetched, loaded=run.loaded,
                            error=f"{type(exc).__name__}: {exc}")
        raise
    if run.days:
        await refresh_summary(db, platform, account_id)
    await db.finish_run(run.run_id, run.status, fetched=run.fetched, loaded=run.loaded,
                        error=run.error)
    return run


async def pull_audiences(db: DatabaseLoader, task: TaskConfig, mode: str,
                         touched: Sequence[tuple[str, str, Sequence[str]]],
                         connectors: Mapping[str, Any], metrics: Metrics) -> list[AudienceRun]:
    """One audience pull per ``(platform, account_id, days)`` the task run loaded."""
    # The ad runs' own task name (a backfill's is "backfill:<pipeline>"), so the ledger and
    # the runs table say which task's days these are.
    task_name = task.name if mode == "task" else f"backfill:{task.pipeline}"
    out = []
    for platform, account_id, days in touched:
        run = await pull_account(db, task_name, platform, account_id, days,
                                 connectors.get(account_id), metrics)
        if run is not None:
            out.append(run)
    return out
