"""What runs after a task's rows are committed: rollups, history, benchmarks, quality.

Only the days the run touched are recomputed (rollups: the weeks and months those days
fall in), so a daily run costs the same whatever the size of the history. Every step reads
the committed rows, so it sees exactly what a model or an analyst will see. A failure
here is logged and counted; it never turns a successful load into a failed run.
"""

from __future__ import annotations

import functools
import logging
import time
from bisect import bisect_left, bisect_right
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Mapping,
    Sequence,
)
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from typing import Any

from ..config import QualityConfig, TaskConfig
from ..errors import LoaderError
from ..loaders import DatabaseLoader
from ..loaders import analytics as store
from ..loaders.analytics_sums import (
    ad_sum_rows,
    upsert_benchmark_tuples,
    upsert_history_tuples,
)
from ..loaders.connection import now_iso
from ..loaders.feature_store import FeatureStore
from ..loaders.post_load_marks import days_after_mark, move_marks
from ..loaders.quality_reports import store_quality
from ..loaders.quality_sql import slice_facts
from ..observability.metrics import Metrics
from ..runtime.overlap import overlapped, together
from ..transforms import DataQualityMonitor
from ..transforms.enrichment.competitive import benchmark_key, benchmark_rows_on
from ..transforms.enrichment.history_rows import HistoryRow, history_in_key_order
from ..transforms.enrichment.workers import EnrichWorkers
from ..transforms.quality import DEFAULT_COMPLETENESS_FIELDS, DIMENSIONS
from .audience_pull import pull_audiences
from .history_slices import refresh_statistics, sliced_history
from .registry import PIPELINES

log = logging.getLogger(__name__)

#: Days per step of history and benchmarks: memory stays bounded on long backfills.
CHUNK_DAYS = 14
#: Most ``ad_data`` rows one read for history holds (several chunks share a read).
HISTORY_READ_ROWS = 30_000
#: Most ``ad_data`` rows one read for benchmarks holds (unless one day has more).
BENCHMARK_READ_ROWS = 40_000
#: Benchmark rows gathered (several chunks) before one transaction writes them.
BENCHMARK_WRITE_ROWS = 40_000
#: Quality is checked over every day a run loaded, this many days at a time (memory stays
#: bounded on a long backfill); the slices' reports are combined into one per account.
QUALITY_DAYS = 31
#: PostgreSQL: connections opened beside the loader's for an enriched run's post-load (see
#: ``_connections``; opening and closing two takes about 10 ms).
SIDE_CONNECTIONS = 2


#: Platforms whose reports have no creative text (Amazon Sponsored Products).
NO_CREATIVE_TEXT = frozenset({"amazon"})


def _chunks(days: Sequence[str], n: int = CHUNK_DAYS) -> list[list[str]]:
    return [list(days[i:i + n]) for i in range(0, len(days), n)]


class AccountDays:
    """The days one account's run pulled, and the ones that are over (final)."""

    def __init__(self, platform: str, account_id: str, run_id: str | None,
                 days: Sequence[str], final: Sequence[str], today: str) -> None:
        #: Today in the account's time zone: the age of its data is counted from here.
        self.today = today
        self.platform = platform
        self.account_id = account_id
        self.run_id = run_id
        self.days = sorted(days)
        self.final = sorted(final)


def _minus(day: str, n: int) -> str:
    return (date.fromisoformat(day) - timedelta(days=n)).isoformat()


async def after_task(
    db: DatabaseLoader,
    task: TaskConfig,
    touched: Iterable[AccountDays],
    *,
    quality: QualityConfig,
    metrics: Metrics,
    connectors: Mapping[str, Any] | None = None,
    mode: str = "task",
    workers: EnrichWorkers | None = None,
    accounts: Collection[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Run the post-load steps for one task run; returns a summary for logs and tests.

    ``mode`` is the engine's (``task`` for scheduled and ``once`` runs, ``backfill``):
    freshness is judged against the clock only for tasks (see :func:`freshness_day`).
    ``workers``: the enrichment's worker processes, which compute history and benchmarks
    while the database works (none: computed here). Complete days of the touched
    accounts, and of ``accounts`` (``(platform, account_id)``: the run's, loaded or not),
    whose post-load never finished (``loaders.post_load_marks``) are recomputed as well.
    """
    touched = [t for t in touched if t.days]
    summary: dict[str, Any] = {}
    if not PIPELINES[task.pipeline].post_load:
        return summary
    started = now_iso()
    ids = ({t.account_id for t in touched if t.platform == task.platform}
           | {a for p, a in accounts if p == task.platform})
    touched = await _with_left_over(db, task.platform, touched, ids, started)
    if not touched:
        await _move_marks(db, task.platform, ids, started)
        return summary
    t0 = time.perf_counter()
    steps: dict[str, float] = {}
    mark = t0

    def took(step: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        steps[step] = round(now - mark, 3)
        mark = now

    try:
        all_days = sorted({d for t in touched for d in t.days})
        history = "historical_performance" in task.enrich
        benchmarks = "competitive_analysis" in task.enrich
        # Rollups, history and benchmarks each read ad_data and write a table of their own.
        async with _connections(db, 1 + history + benchmarks) as conns:
            # At once, history and benchmarks keep to the memory one of them has alone.
            share = 2 if len(conns) > 1 and history and benchmarks else 1
            first: list[tuple[str, str, Callable[[DatabaseLoader], Awaitable[Any]]]] = [
                # Only the loaded accounts' rows changed: theirs are recomputed, not all.
                ("rollups", "rollups", lambda c: store.refresh_rollups(
                    c, all_days, accounts=[(t.platform, t.account_id) for t in touched]))]
            if history:
                first.append(("history", "history_rows",
                              lambda c: _history(c, touched, workers, share=share)))
            if benchmarks:
                first.append(("benchmarks", "benchmark_rows", lambda c: _benchmarks(
                    c, task.platform, all_days, workers, share=share)))
            if len(conns) == 1:
                for step, key, call in first:
                    summary[key] = await call(db)
                    took(step)
            else:
                await _at_once(conns, first, summary, steps)
                took("at once")
            # Online and offline feature values follow every ad task (cheap: touched days
            # only); each account on the next free connection.
            summary["feature_rows"] = await _features(conns, touched)
            took("features")
        if "audience_insights" in task.enrich and connectors:
            # A source step of its own (run row, ledger); a failure never fails this run.
            # After the feature store (which does not read it), so no connection beside
            # the loader's stays open while the API is asked.
            pulls = await pull_audiences(
                db, task, mode, [(t.platform, t.account_id, t.days) for t in touched],
                connectors, metrics)
            summary["audience_rows"] = sum(p.loaded for p in pulls)
            summary["audience_runs"] = {p.account_id: p.run_id for p in pulls}
            failed = {p.account_id: p.error for p in pulls if p.error is not None}
            if failed:
                summary["audience_failed"] = failed
            took("audience")
        if quality.enabled:
            summary["quality"] = await _quality(db, task, touched, quality, metrics, mode)
            took("quality")
        await move_marks(db, task.platform, ids, started)  # every account of touched
    except LoaderError as exc:
        log.error("post-load steps of task %s failed: %s", task.name, exc)
        metrics.runs.labels(task.name, "postprocess_failed").inc()
        summary["error"] = str(exc)
    summary["seconds"] = steps
    # Where a long backfill's tail goes, for whoever watches the log.
    log.info("post-load steps of task %s over %d day(s): %s%s", task.name, len(all_days),
             ", ".join(f"{k} {v:.1f}s" for k, v in steps.items()) or "none",
             " (the steps before 'at once' ran at the same time, on connections of their own)"
             if "at once" in steps else "")
    metrics.stage_latency.labels("postprocess").observe(time.perf_counter() - t0)
    return summary


async def _with_left_over(db: DatabaseLoader, platform: str, touched: list[AccountDays],
                          ids: set[str], until: str) -> list[AccountDays]:
    """``touched`` plus the complete days of ``ids`` whose post-load never finished."""
    try:
        left = await days_after_mark(db, platform, ids, until)
    except LoaderError as exc:  # the run's own days are still worth their post-load
        log.error("post-load: reading which days an earlier post-load left failed: %s", exc)
        return touched
    out: list[AccountDays] = []
    extra: dict[str, int] = {}
    for t in touched:
        more = sorted(set(left.pop(t.account_id, ())) - set(t.days))
        if more:
            extra[t.account_id] = len(more)
            t = AccountDays(t.platform, t.account_id, t.run_id, [*t.days, *more],
                            [*t.final, *(d for d in more if d < t.today)], t.today)
        out.append(t)
    today = datetime.now(UTC).date().isoformat()
    for account_id, days in left.items():
        extra[account_id] = len(days)
        out.append(AccountDays(platform, account_id, None, days,
                               [d for d in days if d < today], today))
    if extra:
        # The process stopped before an earlier post-load ended, or a step of it failed.
        log.warning("post-load: %d complete day(s) of %d account(s) whose post-load never "
                    "finished are recomputed too (%s)", sum(extra.values()), len(extra),
                    ", ".join(f"{platform}/{a}: {n}" for a, n in sorted(extra.items())[:5]))
    return out


async def _move_marks(db: DatabaseLoader, platform: str, ids: set[str], at: str) -> None:
    try:
        await move_marks(db, platform, ids, at)
    except LoaderError as exc:  # the next post-load recomputes these days: nothing is lost
        log.error("post-load: recording that the post-load finished failed: %s", exc)


@asynccontextmanager
async def _connections(db: DatabaseLoader, steps: int) -> AsyncIterator[list[DatabaseLoader]]:
    """``db``, and on PostgreSQL up to ``steps - 1`` more connections to it.

    The PostgreSQL server does the post-load's heavy part (the sums, the inserts, the
    feature views), one backend per connection on one core: with more connections the
    independent steps (``steps`` of them) share the server's cores. Not for SQLite (one
    writer), nor for a run without history or benchmarks (rollups alone). A connection that
    cannot be opened (the server's ``max_connections``) only makes the steps sequential.
    """
    conns = [db]
    if db.dialect.name != "postgresql" or steps < 2:
        yield conns
        return
    async with AsyncExitStack() as stack:
        for _ in range(min(SIDE_CONNECTIONS, steps - 1)):
            try:
                conns.append(await stack.enter_async_context(db.sibling()))
            except LoaderError as exc:
                log.warning("post-load: another database connection could not be opened "
                            "(%s); the steps share %d", exc, len(conns))
                break
        yield conns


async def _at_once(conns: Sequence[DatabaseLoader],
                   calls: Sequence[tuple[str, str, Callable[[DatabaseLoader], Awaitable[Any]]]],
                   summary: dict[str, Any], steps: dict[str, float]) -> None:
    """Each ``(step, key, call)`` on a connection of its own, all at once; each step timed."""

    def job(i: int, step: str, key: str,
            call: Callable[[DatabaseLoader], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            t0 = time.perf_counter()
            summary[key] = await call(conns[i % len(conns)])
            steps[step] = round(time.perf_counter() - t0, 3)
        return run

    await together([job(i, *c) for i, c in enumerate(calls)])


async def _features(conns: Sequence[DatabaseLoader], touched: Sequence[AccountDays]) -> int:
    """The feature store's materialize of each account, accounts shared among ``conns``."""
    todo = iter(touched)
    written = 0

    async def drain(db: DatabaseLoader) -> None:
        nonlocal written
        store_fs = FeatureStore(db)
        for t in todo:  # each connection takes the next account when it is free
            # Not ``written += await ...``: that reads ``written`` before the await, and
            # another connection's count added meanwhile would be lost.
            n = await store_fs.materialize(platform=t.platform, account_id=t.account_id,
                                           days=t.days)
            written += n

    await together([functools.partial(drain, c) for c in conns])
    return written


async def _history(db: DatabaseLoader, touched: list[AccountDays],
                   workers: EnrichWorkers | None = None, *, share: int = 1) -> int:
    """Rolling history of each touched account's days; returns the rows written.

    With worker processes, a block's rows are computed in one while the database writes
    the block before and reads the block after (``runtime.overlap``). ``share``: reads of
    at most ``HISTORY_READ_ROWS // share`` rows (another step runs at the same time).
    """
    budget = HISTORY_READ_ROWS // share
    workers = workers or EnrichWorkers(0)
    overlap = await workers.usable()
    n = 0
    analysed = False

    async def write(out: tuple[AccountDays, list[HistoryRow]]) -> None:
        nonlocal n
        t, rows = out
        n += await upsert_history_tuples(db, t.platform, t.account_id, rows)

    # Wide chunks a slice of ads at a time, the rest one read per block (narrow).
    narrow: list[tuple[AccountDays, list[list[str]]]] = []
    for t in touched:
        for block, per_day in await _history_blocks(db, t, _chunks(t.days), budget):
            if sum(per_day.values()) <= budget:
                narrow.append((t, block))
                continue
            # One chunk of a wide account (thousands of ads): its ads a slice at a time,
            # so memory holds about one slice's rows, with the same floats.
            if not analysed:  # once per step, whatever the number of wide chunks
                await refresh_statistics(db)
                analysed = True
            n += await sliced_history(db, t.platform, t.account_id, block,
                                      _minus(block[0][0], 28), block[-1][-1], sorted(per_day),
                                      budget, workers)

    async def read(item: tuple[AccountDays, list[list[str]]],
                   ) -> tuple[AccountDays, list[Any], list[list[str]]]:
        # One read for the block's chunks; each chunk's rows are those rolling_performance
        # gives for the rows its own read returned before (its 28 days back to its last
        # day, in the same order: the rows are date-major), so the floats are the same.
        t, block = item
        rows = await ad_sum_rows(db, platform=t.platform, account_id=t.account_id,
                                 first=_minus(block[0][0], 28), last=block[-1][-1])
        return t, rows, block

    async def compute(data: tuple[AccountDays, list[Any], list[list[str]]],
                      ) -> tuple[AccountDays, list[HistoryRow]]:
        # The block's chunks in one transaction: a commit rewrites every page it touched,
        # and each chunk touches every ad's pages of ad_history.
        t, rows, block = data
        return t, await workers.compute(history_in_key_order, rows, block)

    await overlapped(narrow, read, compute, write, overlap=overlap)
    return n


async def _history_blocks(db: DatabaseLoader, t: AccountDays, chunks: list[list[str]],
                          budget: int | None = None,
                          ) -> list[tuple[list[list[str]], dict[str, int]]]:
    """``chunks`` grouped so one read of ``ad_data`` serves each group, with its rows per day.

    Each chunk of history needs the 28 days before it: read alone, a 14-day chunk reads
    three times its rows. Consecutive chunks share one read while it holds at most
    ``budget`` rows (default :data:`HISTORY_READ_ROWS`), so memory stays bounded and an
    account of a few hundred ads reads its rows about once. A chunk larger than that is a
    block alone, which ``_history`` reads a slice of ads at a time (``history_slices``).
    """
    if not chunks:
        return []
    budget = HISTORY_READ_ROWS if budget is None else budget
    per_day = await db.fetch_dicts(
        "SELECT date AS day, COUNT(*) AS n FROM ad_data WHERE platform = ? AND account_id = ? "
        "AND date >= ? AND date <= ? GROUP BY date",
        [t.platform, t.account_id, _minus(chunks[0][0], 28), chunks[-1][-1]])
    size = sorted((str(r["day"]), int(r["n"])) for r in per_day)

    def days(block: list[list[str]]) -> dict[str, int]:
        first, last = _minus(block[0][0], 28), block[-1][-1]
        return {d: n for d, n in size if first <= d <= last}

    def rows(block: list[list[str]]) -> int:
        return sum(days(block).values())

    blocks = [[chunks[0]]]
    for chunk in chunks[1:]:
        if rows([*blocks[-1], chunk]) > budget:
            blocks.append([chunk])
        else:
            blocks[-1].append(chunk)
    return [(block, days(block)) for block in blocks]


async def _benchmarks(db: DatabaseLoader, platform: str, days: list[str],
                      workers: EnrichWorkers | None = None, *, share: int = 1) -> int:
    """Benchmarks of every ad of ``platform`` on ``days``; returns the rows written.

    With worker processes, a chunk's percentiles are computed in one while the database
    writes and reads (``runtime.overlap``). ``share``: reads and writes of at most
    ``1 / share`` of :data:`BENCHMARK_READ_ROWS` and :data:`BENCHMARK_WRITE_ROWS` rows
    (another step runs at the same time).
    """
    # Percentiles of every account's ads on these days move when one account's rows do.
    topic_map = await store.topics(db, platform)
    workers = workers or EnrichWorkers(0)
    n = 0
    pending: list[tuple[Any, ...]] = []

    async def read(chunk: list[str]) -> tuple[list[Any], list[str]]:
        rows = await ad_sum_rows(db, platform=platform, account_id=None, first=chunk[0],
                                 last=chunk[-1])
        return rows, chunk

    async def compute(data: tuple[list[Any], list[str]]) -> list[tuple[Any, ...]]:
        rows, chunk = data
        return await workers.compute(benchmark_rows_on, rows, frozenset(chunk), topic_map)

    async def write(rows: list[tuple[Any, ...]]) -> None:
        # Percentiles are per day, so chunks are independent; their rows are written
        # several chunks per transaction, in key order (fewer page rewrites per commit).
        nonlocal pending, n
        pending += rows
        if len(pending) >= BENCHMARK_WRITE_ROWS // share:
            n += await _write_benchmarks(db, pending)
            pending = []

    await overlapped(await _benchmark_chunks(db, platform, days, BENCHMARK_READ_ROWS // share),
                     read, compute, write,
                     overlap=await workers.usable())
    if pending:
        n += await _write_benchmarks(db, pending)
    return n


async def _benchmark_chunks(db: DatabaseLoader, platform: str, days: list[str],
                            budget: int | None = None) -> list[list[str]]:
    """``days`` in runs of at most :data:`CHUNK_DAYS` days and ``budget`` rows.

    ``budget`` defaults to :data:`BENCHMARK_READ_ROWS`. Each day's percentiles are its own,
    so any cut gives the same rows; cutting by rows bounds memory on a wide platform
    (23,000 ads: 14 days were 322,000 rows in memory at once). A day larger than the budget
    is a chunk alone. The rows counted are those a chunk's read returns: every account's,
    from its first to its last day.
    """
    if not days:
        return []
    budget = BENCHMARK_READ_ROWS if budget is None else budget
    platform_col = "+platform" if db.dialect.name == "sqlite" else "platform"  # date index
    per_day = await db.fetch_rows(
        f"SELECT date, COUNT(*) FROM ad_data WHERE {platform_col} = ? AND date >= ? "
        "AND date <= ? GROUP BY date", [platform, days[0], days[-1]])
    known = sorted((_iso(d), int(n)) for d, n in per_day)
    keys = [d for d, _ in known]
    cum = [0, *accumulate(n for _, n in known)]  # cum[i]: rows on the first i days known

    def rows(first: str, last: str) -> int:
        return cum[bisect_right(keys, last)] - cum[bisect_left(keys, first)]

    chunks = [[days[0]]]
    for day in days[1:]:
        current = chunks[-1]
        if len(current) < CHUNK_DAYS and rows(current[0], day) <= budget:
            current.append(day)
        else:
            chunks.append([day])
    return chunks


async def _write_benchmarks(db: DatabaseLoader, rows: list[tuple[Any, ...]]) -> int:
    rows.sort(key=benchmark_key)  # sorted runs, one per chunk: a merge
    return await upsert_benchmark_tuples(db, rows)


def freshness_day(t: AccountDays, *, mode: str, max_age_days: float) -> date:
    """The day an account's data ages from, for the timeliness score.

    A scheduled (or ``once``) run over recent days is about freshness: age counts from the
    account's today. A backfill, or a task run over a window that ended long ago, asked for
    older days on purpose: age counts from the day after the last day it asked for, so the
    score says whether the run reached the end of its window, not how old history is.
    """
    today = date.fromisoformat(t.today)
    after_window = date.fromisoformat(t.days[-1]) + timedelta(days=1)
    if mode == "task" and (today - after_window).days < max_age_days:
        return today
    return min(today, after_window)


async def _quality(db: DatabaseLoader, task: TaskConfig, touched: list[AccountDays],
                   cfg: QualityConfig, metrics: Metrics,
                   mode: str = "task") -> dict[str, dict[str, float]]:
    """Score each account on the days this run loaded (and only those), a month at a time."""
    limits: dict[str, float] = {str(k): v for k, v in cfg.thresholds.items()}
    fields = DEFAULT_COMPLETENESS_FIELDS
    if task.platform in NO_CREATIVE_TEXT:
        # Their reports carry no ad text at all: a missing headline is not a data gap.
        fields = tuple(f for f in fields if f != "headline")
    monitor = DataQualityMonitor(limits or None,
                                 completeness_fields=fields,
                                 drift_tolerance=cfg.drift_tolerance,
                                 max_age_days=cfg.max_age_days)
    thresholds = monitor.thresholds
    worst: dict[str, float] = {}
    scores: dict[str, dict[str, float]] = {}
    for t in touched:
        as_of = freshness_day(t, mode=mode, max_age_days=cfg.max_age_days)
        final = set(t.final)
        chunks = _chunks(t.days, QUALITY_DAYS)
        reports = []
        now = date.fromisoformat(t.today)
        for i, days in enumerate(chunks):
            totals = await store.account_rows(db, platform=t.platform,
                                              account_id=t.account_id,
                                              first=days[0], last=days[-1])
            expected = [d for d in days if d in final]
            acct_totals = [r for r in totals if _iso(r["date"]) in set(expected)] or None
            # Timeliness looks at the newest day: only the newest slice has it.
            dims = [d for d in DIMENSIONS if d != "timeliness" or i == len(chunks) - 1]
            # Only the days this run loaded: another run's rows between them are not ours.
            # The database computes the facts (no row read back unless a rule may note it).
            facts = await slice_facts(db, monitor, platform=t.platform,
                                      account_id=t.account_id, days=days, latest=now,
                                      dims=dims, sums=acct_totals is not None)
            if facts is None:
                rows = await store.ad_rows(db, platform=t.platform, account_id=t.account_id,
                                           first=days[0], last=days[-1])
                loaded = set(days)
                rows = [r for r in rows if _iso(r["date"]) in loaded]
                facts = monitor.facts(rows, dims, latest=now, seen=True,
                                      sums=acct_totals is not None)
            reports.append(monitor.check_facts(
                facts, dims, expected_days={(t.platform, t.account_id): expected},
                account_totals=acct_totals, now=now, as_of=as_of,
            ))
        report = monitor.combine(reports)
        report["details"]["scope"] = {"first_day": t.days[0], "last_day": t.days[-1],
                                      "days": len(t.days), "as_of": as_of.isoformat(),
                                      "mode": mode}
        await store_quality(db, task=task.name, run_id=t.run_id, platform=t.platform,
                                  account_id=t.account_id, report=report, thresholds=thresholds)
        scores[t.account_id] = dict(report["scores"])
        for dim, score in report["scores"].items():
            worst[dim] = min(worst.get(dim, 1.0), float(score))
            if not report["passed"][dim]:
                log.error("data quality ALERT: %s/%s %s score %.3f below %.3f (%d issues)",
                          t.platform, t.account_id, dim, score, thresholds.get(dim, 0.0),
                          sum(1 for i in report["issues"] if i.get("type") == dim))
    platform = touched[0].platform
    for dim, score in worst.items():
        # One gauge per platform and dimension (bounded labels): the worst account.
        metrics.data_quality.labels(platform, dim).set(score)
    return scores


def _iso(v: Any) -> str:
    """A day as ISO text (PostgreSQL may hand back ``date`` objects)."""
    return v.isoformat() if isinstance(v, date) else str(v)
