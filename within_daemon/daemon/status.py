"""Per-account status for ``/status`` and ``within-daemon status``.

Every configured account is listed, whether or not it has run in this process (an account
a SIGHUP just added shows as ``idle`` with its next scheduled run before its first pull).
An entry joins what the config says (tasks covering the account), what the engine's
connector knows (circuit, pause, usage: every key of ``Engine.account_states`` is passed
through, so a new connector fact appears without touching this module), runs in flight,
the account's last finished run and the next scheduled tick of its tasks.

``state`` is the one word that matters most, in this order: ``circuit_open`` (the breaker
refuses calls), ``paused`` (throttled until ``paused_until``), ``running``, ``idle``.
``flags`` lists every condition that holds, including ``token_expiring`` (the access token
expires within ``TOKEN_WARN_SECONDS``) and ``token_expired``. New conditions are added to
``FLAG_ORDER`` and set in :func:`account_entry`. In cluster mode the service adds
``leased_here`` (whether this replica pulls the account). Everything here is pure except
:meth:`LastRuns.seed`, which reads the runs table once at start.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..config import AccountConfig, LoadedConfig, TaskConfig
from ..loaders.schema.tables import AUDIENCE_PIPELINE
from ..observability.metrics import Metrics

if TYPE_CHECKING:
    from ..loaders import DatabaseLoader

#: Warn this long before an access token expires (the WithinTokenExpiringSoon alert's 7 days).
TOKEN_WARN_SECONDS = 7 * 86400
#: Conditions from the most to the least urgent; ``state`` is the first one that holds
#: among those that are states (token conditions are flags only).
FLAG_ORDER: tuple[str, ...] = (
    "circuit_open", "paused", "token_expired", "running", "token_expiring",
)
STATES: tuple[str, ...] = ("circuit_open", "paused", "running", "idle")
#: What an account shows before its connector exists (it has not been pulled yet).
#: Facts other parts of the daemon add to an entry (through ``Engine.account_states``) that
#: ``describe`` prints when present: (key, label).
EXTRA_FACTS: tuple[tuple[str, str], ...] = (
    ("next_probe_at", "next probe"), ("last_failure", "last failure"))
NO_CONNECTOR: dict[str, Any] = {"circuit": "closed", "paused_seconds": 0.0,
                                "usage_percent": None, "requests": 0}


def iso(ts: float | None) -> str | None:
    """A unix time as ISO 8601 UTC text (None stays None)."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def next_runs_of(scheduler: Any) -> dict[str, datetime | None]:
    """Each task's next tick from an APScheduler 3 scheduler (none before it exists)."""
    if scheduler is None:
        return {}
    # A job added before the scheduler started has no next_run_time attribute yet.
    return {job.id: getattr(job, "next_run_time", None) for job in scheduler.get_jobs()}


def token_expiry_of(metrics: Metrics) -> dict[tuple[str, str], float]:
    """Token expiry per account as the runs last looked it up (the exported gauge)."""
    out: dict[tuple[str, str], float] = {}
    for metric in metrics.token_expiry.collect():
        for sample in metric.samples:
            out[(sample.labels["platform"], sample.labels["account_id"])] = sample.value
    return out


def iso_or_none(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


class LastRuns:
    """Each account's newest finished run: seeded from the runs table, then kept current."""

    def __init__(self) -> None:
        self.runs: dict[tuple[str, str], dict[str, Any]] = {}

    def note(self, task: str, accounts: Iterable[Any]) -> None:
        """Record the per-account results (``AccountResult``) of a finished task run."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        for a in accounts:
            self.runs[(a.platform, a.account_id)] = {
                "task": task, "run_id": a.run_id, "status": a.status, "finished_at": now,
                "loaded": a.loaded, "error": a.error}

    async def seed(self, db: DatabaseLoader) -> None:
        """The newest run per account from earlier processes, so a restart still shows it."""
        rows = await db.fetch_dicts(
            "SELECT r.task, r.run_id, r.status, r.platform, r.account_id, r.started_at, "
            "r.finished_at, r.records_loaded FROM runs r JOIN (SELECT platform, account_id, "
            "MAX(started_at) AS s FROM runs WHERE account_id IS NOT NULL "
            "AND (pipeline IS NULL OR pipeline <> ?) "
            "GROUP BY platform, account_id) m ON m.platform = r.platform AND "
            "m.account_id = r.account_id AND m.s = r.started_at",
            # The account's last pull, as note() keeps it live (not its audience run).
            (AUDIENCE_PIPELINE,))
        for r in rows:
            self.runs.setdefault((str(r["platform"]), str(r["account_id"])), {
                "task": r["task"], "run_id": r["run_id"], "status": r["status"],
                "started_at": str(r["started_at"]),
                "finished_at": None if r["finished_at"] is None else str(r["finished_at"]),
                "loaded": r["records_loaded"], "error": None})


def account_entry(
    acc: AccountConfig,
    *,
    tasks: Sequence[str],
    connector: Mapping[str, Any] | None,
    running: Sequence[str],
    last_run: Mapping[str, Any] | None,
    next_run: Mapping[str, Any] | None,
    token_expires_at: float | None,
    now: float,
) -> dict[str, Any]:
    """The status entry of one account (see the module docstring for its fields)."""
    conn = {**NO_CONNECTOR, **(connector or {})}
    paused = float(conn.get("paused_seconds") or 0.0)
    flags: set[str] = set()
    if conn.get("circuit") not in (None, "closed"):
        flags.add("circuit_open")
    if paused > 0:
        flags.add("paused")
    if running:
        flags.add("running")
    if token_expires_at:  # 0 or None: never expires, or not known yet
        left = token_expires_at - now
        if left <= 0:
            flags.add("token_expired")
        elif left < TOKEN_WARN_SECONDS:
            flags.add("token_expiring")
    ordered = [f for f in FLAG_ORDER if f in flags]
    state = next((f for f in ordered if f in STATES), "idle")
    return {
        **conn,
        "platform": acc.platform,
        "account_id": acc.account_id,
        "state": state,
        "flags": ordered,
        "paused_until": iso(now + paused) if paused > 0 else None,
        "token_expires_at": iso(token_expires_at) if token_expires_at else None,
        "tasks": list(tasks),
        "running_tasks": list(running),
        "connected": connector is not None,
        "last_run": dict(last_run) if last_run else None,
        "next_run": dict(next_run) if next_run else None,
    }


def accounts_status(
    loaded: LoadedConfig,
    tasks: Iterable[TaskConfig],
    *,
    connectors: Iterable[Mapping[str, Any]],
    running: Iterable[tuple[str, str]],
    last_runs: Mapping[tuple[str, str], Mapping[str, Any]],
    next_runs: Mapping[str, datetime | None],
    token_expiry: Mapping[tuple[str, str], float],
    now: float,
) -> list[dict[str, Any]]:
    """One entry per configured account, in config order.

    ``running`` holds (task, account_id) pairs in flight, ``last_runs`` the newest finished
    run per (platform, account_id), ``next_runs`` each task's next tick (None: paused or
    not scheduled), ``token_expiry`` unix times per (platform, account_id).
    """
    covering: dict[tuple[str, str], list[TaskConfig]] = {}
    for t in tasks:
        for a in loaded.accounts_for(t):
            covering.setdefault((a.platform, a.account_id), []).append(t)
    conns = {(c["platform"], c["account_id"]): c for c in connectors}
    busy: dict[str, list[str]] = {}
    for task_name, account_id in running:
        busy.setdefault(account_id, []).append(task_name)
    out = []
    for acc in loaded.config.accounts:
        key = (acc.platform, acc.account_id)
        mine = covering.get(key, [])
        names = {t.name for t in mine}
        upcoming = [(at, t.name) for t in mine if (at := next_runs.get(t.name)) is not None]
        nxt = min(upcoming) if upcoming else None
        out.append(account_entry(
            acc, tasks=[t.name for t in mine], connector=conns.get(key),
            running=sorted(n for n in busy.get(acc.account_id, []) if n in names),
            last_run=last_runs.get(key),
            next_run=None if nxt is None else {"task": nxt[1], "at": nxt[0].isoformat()},
            token_expires_at=token_expiry.get(key), now=now,
        ))
    return out


def describe(entry: Mapping[str, Any]) -> str:
    """One line for ``within-daemon status``: state, why, last and next run."""
    parts = [entry.get("state", "idle").replace("_", " ")]
    if entry.get("paused_until"):
        parts.append(f"paused until {entry['paused_until']}")
    if entry.get("circuit") not in (None, "closed"):
        parts.append(f"circuit {entry['circuit']}")
    for key, label in EXTRA_FACTS:
        if entry.get(key) is not None:
            parts.append(f"{label} {entry[key]}")
    if entry.get("stopped"):
        parts.append(f"last run stopped: {entry['stopped'].get('reason')}")
    if "token_expired" in entry.get("flags", ()):
        parts.append(f"TOKEN EXPIRED {entry.get('token_expires_at')}")
    elif "token_expiring" in entry.get("flags", ()):
        parts.append(f"token expiring {entry.get('token_expires_at')}")
    if entry.get("running_tasks"):
        parts.append("running " + ", ".join(entry["running_tasks"]))
    last = entry.get("last_run")
    if last:
        parts.append(f"last {last.get('task')} {last.get('status')} "
                     f"at {last.get('finished_at') or last.get('started_at')}")
    else:
        parts.append("last none yet")
    nxt = entry.get("next_run")
    parts.append(f"next {nxt['task']} at {nxt['at']}" if nxt else "next none scheduled")
    if entry.get("usage_percent") is not None:
        parts.append(f"usage {entry['usage_percent']:.0f}%")
    parts.append(f"{entry.get('requests', 0)} requests")
    return f"account {entry['platform']}/{entry['account_id']}: " + "; ".join(parts)


def status_document(
    loaded: LoadedConfig,
    tasks: Iterable[TaskConfig],
    accounts: list[dict[str, Any]],
    *,
    running: Mapping[tuple[str, str], float],
    last: Mapping[str, Mapping[str, Any]],
    next_runs: Mapping[str, datetime | None],
    stopping: bool,
    reloads: int,
    cluster: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The whole ``/status`` answer: tasks, the account entries and the views over them."""
    return {
        "config": str(loaded.path),
        "stopping": stopping,
        "reloads": reloads,
        "tasks": [
            {"name": t.name, "pipeline": t.pipeline, "cadence": t.cadence,
             "run_time": t.run_time, "platform": t.platform,
             "running_accounts": sorted(a for (n, a) in running if n == t.name),
             "last_run": last.get(t.name),
             "next_run": iso_or_none(next_runs.get(t.name))}
            for t in tasks
        ],
        "accounts": accounts,
        "parked_accounts": [a for a in accounts if a["paused_seconds"] > 0],
        "open_circuits": [a for a in accounts if a["circuit"] != "closed"],
        # Runs ended early by a spent budget: why, and when the account is probed next.
        "stopped_accounts": [a for a in accounts if a.get("stopped")],
        "cluster": dict(cluster) if cluster is not None else None,
    }
