"""The source actor: pulls one account's data for one run, window by window.

It sends every page downstream as soon as it arrives (memory stays bounded by the queue,
not by the range) and a ``WindowDone`` after the last page of each window. Windows that
fail are reported and left incomplete. An outage does not fail a window: the connector
waits for its circuit's probe and carries on from the page it was on, within the run's
outage budget (``max_outage_seconds``; unlimited for a backfill). An expired token, a
spent outage budget or an account paused past its throttle budget stop this account only,
and the run's error names which (``auth:``, ``outage_budget:``, ``paused:``). A daemon
stop interrupts a wait at once. Today's (and later) days are never marked complete:
their numbers are still moving.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from ..errors import AccountPausedError, AuthError, CircuitOpenError, SourceError
from ..observability.logging import account_var, platform_var, run_var
from ..schema import AccountInfo
from ..sources.http.client import HttpSource
from .messages import RawPage, RunRef, SourceDone, SourceMsg, WindowDone

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Errors after which this account's run stops instead of trying its next window.
STOP_ACCOUNT = (AuthError, CircuitOpenError, AccountPausedError)


class Interrupted(Exception):
    """The daemon is stopping: leave the current window incomplete."""


def windows(days: Sequence[str], size: int) -> list[tuple[str, str, tuple[str, ...]]]:
    """Group sorted ISO days into runs of consecutive days, at most ``size`` long."""
    out: list[tuple[str, str, tuple[str, ...]]] = []
    cur: list[str] = []
    for d in sorted(days):
        if cur and (
            len(cur) >= size
            or date.fromisoformat(d) - date.fromisoformat(cur[-1]) != timedelta(days=1)
        ):
            out.append((cur[0], cur[-1], tuple(cur)))
            cur = []
        cur.append(d)
    if cur:
        out.append((cur[0], cur[-1], tuple(cur)))
    return out


def window_uses_async(days: int, ads: int | None, *, after_days: int, after_rows: int) -> bool:
    """Whether one request window goes through an async report job.

    Decided per window by its own size, not by the length of the whole run: Meta's sync
    insights answer a small request at once, and async jobs are for reports large enough
    to time out (error 100/1504018, reference §1.8). Each job costs a create and several
    status polls (the first after ``poll_interval_seconds``), so a 1,000-day backfill of
    7-day windows sent through jobs one after another spent most of its time waiting.
    ``ads`` is the size of the ads listing (``None`` when not listed: account rows).
    """
    return days > after_days or (ads is not None and ads * days > after_rows)


def account_today(account: AccountInfo, now: datetime | None = None) -> str:
    """Today's date in the ad account's own time zone (its days are the platform's days).

    A day is only final once it is over where the account lives: at 01:00 UTC it is still
    yesterday afternoon in Los Angeles. ``now`` (aware) replaces the clock in tests.
    """
    name = account.timezone
    try:
        tz = ZoneInfo(str(name)) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        tz = UTC
    return (now.astimezone(tz) if now else datetime.now(tz)).date().isoformat()


class AccountStop:
    """Stop flag of one account's pull: the engine's stop, or the account's own.

    A cluster replica that loses an account's lease stops pulling it at the next page
    (its writes are refused by the fence anyway); the other accounts go on.
    """

    def __init__(self, engine_stop: anyio.Event, stopped: set[tuple[str, str]],
                 key: tuple[str, str]) -> None:
        self.engine_stop, self.stopped, self.key = engine_stop, stopped, key

    def is_set(self) -> bool:
        return self.engine_stop.is_set() or self.key in self.stopped


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SourceActor:
    """Extracts one (platform, account) for one run and feeds the transform queue."""

    def __init__(
        self,
        ref: RunRef,
        connector: HttpSource,
        outbox: MemoryObjectSendStream[SourceMsg],
        *,
        days: Sequence[str],
        today: date,
        window_days: int,
        async_after_days: int,
        async_after_rows: int,
        stop: anyio.Event | AccountStop,
        backfill: bool = False,
    ) -> None:
        self.ref = ref
        self.backfill = backfill
        self.connector = connector
        self.outbox = outbox
        self.days = list(days)
        self.today = today.isoformat()
        self.local_day: str | None = None
        self.window_days = window_days
        self.async_after_days = async_after_days
        self.async_after_rows = async_after_rows
        self.stop = stop
        self.pages_sent = 0

    async def run(self) -> None:
        platform_var.set(self.ref.platform)
        account_var.set(self.ref.account_id)
        run_var.set(self.ref.run_id)
        status: Any = "success"
        error: str | None = None
        failed = 0
        async with self.outbox:
            try:
                self.connector.begin_run()
                self.connector.use_outage_budget(backfill=self.backfill)
                account = await self._until_stopped(self.connector.get_account_info)
                self.local_day = account_today(account)
                self.today = min(self.today, self.local_day)
                await self._report_token_expiry()
                ads = await self._load_ads() if self.ref.kind == "ad" else None
                for since, until, wdays in windows(self.days, self.window_days):
                    if self.stop.is_set():
                        status, error = "interrupted", "stopped before all windows were pulled"
                        break
                    try:
                        await self._until_stopped(
                            self._pull_window, since, until, wdays, account, ads)
                    except (AccountPausedError, AuthError, CircuitOpenError, Interrupted):
                        raise
                    except SourceError as exc:
                        failed += 1
                        error = f"window {since}..{until}: {exc}"
                        log.error("window %s..%s failed: %s", since, until, exc)
                if failed and status == "success":
                    status = "partial" if failed < len(windows(self.days, self.window_days)) \
                        else "failed"
            except Interrupted as exc:
                status, error = "interrupted", str(exc)
            except STOP_ACCOUNT as exc:
                status, error = "failed", f"{exc.error_class}: {exc}"
                log.error("account stopped: %s", exc)
            except SourceError as exc:
                status, error = "failed", f"{exc.error_class}: {exc}"
                log.error("account failed: %s", exc)
            except Exception as exc:  # noqa: BLE001 - one broken account must not stop others
                status, error = "failed", f"internal error: {type(exc).__name__}: {exc}"
                log.exception("source actor crashed")
            finally:
                with anyio.CancelScope(shield=True):
                    await self.outbox.send(
                        SourceDone(self.ref, status, error=error, windows_failed=failed)
                    )

    async def _until_stopped(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``fn``; a daemon stop cancels it (an outage or throttle wait included)."""
        engine_stop = self.stop.engine_stop if isinstance(self.stop, AccountStop) else self.stop
        result: list[T] = []
        failed: list[Exception] = []

        async def body(scope: anyio.CancelScope) -> None:
            try:
                result.append(await fn(*args))
            except Exception as exc:  # noqa: BLE001 - re-raised below, outside the group
                failed.append(exc)
            scope.cancel()

        async with anyio.create_task_group() as tg:
            tg.start_soon(body, tg.cancel_scope)
            await engine_stop.wait()
            tg.cancel_scope.cancel()
        if failed:
            raise failed[0]
        if not result:
            raise Interrupted("stopped while waiting on the platform")
        return result[0]

    async def _report_token_expiry(self) -> None:
        metrics = self.connector.metrics
        if metrics is None or not self.connector.check_token_expiry():
            return
        expires = await self.connector.token_expiry()
        if expires is not None:
            metrics.token_expiry.labels(self.ref.platform, self.ref.account_id).set(expires)

    async def _load_ads(self) -> dict[str, Any]:
        ads: dict[str, Any] = {}
        async for page in self.connector.iter_ads():
            for ad in page:
                ads[str(ad.get("id"))] = ad
        return ads

    async def _pull_window(
        self,
        since: str,
        until: str,
        wdays: tuple[str, ...],
        account: AccountInfo,
        ads: dict[str, Any] | None,
    ) -> None:
        counts: dict[str, tuple[int | None, int | None]] | None = None
        use_async = window_uses_async(
            len(wdays), len(ads) if ads is not None else None,
            after_days=self.async_after_days, after_rows=self.async_after_rows)
        pages = self.connector.iter_ad_rows((since, until), use_async=use_async)
        if self.ref.kind == "account":
            counts = await self.connector.active_counts((since, until), use_async=use_async)
            pages = self.connector.iter_account_rows((since, until), use_async=use_async)
        async for rows in pages:
            if self.stop.is_set():
                raise Interrupted(f"stopped during window {since}..{until}")
            if not rows:
                continue
            await self.outbox.send(RawPage(
                self.ref, rows, _now_iso(), ads=ads, account=account, counts=counts,
                local_day=self.local_day,
            ))
            self.pages_sent += 1
        done = tuple(d for d in wdays if d < self.today)
        if done:
            await self.outbox.send(WindowDone(self.ref, done))
