"""Request statistics of an emulator, and the ``/_sandbox`` admin routes over HTTP.

``Stats`` records what the clients actually sent, so tests assert on behaviour (how many
calls, which ``limit``, how long a throttled client waited) rather than on the client's
internals. ``handle_admin`` lets a test in another process set faults and read the stats.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

import msgspec
from aiohttp import web

from within_daemon.sandbox.faults.plan import FaultPlan, normalize_account


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One served request as the emulator saw it (query includes form fields of a POST)."""

    method: str
    path: str
    query: dict[str, str]
    account_id: str
    kind: str
    status: int
    at: float  # time.monotonic() when the request arrived


class Stats:
    """Counters by (account, path kind, status) and the most recent requests."""

    def __init__(self, keep: int = 10_000) -> None:
        self.counts: Counter[tuple[str, str, int]] = Counter()
        self.recent: deque[RequestRecord] = deque(maxlen=keep)
        #: Client sockets seen (peer address): how many connections the clients opened.
        self.peers: set[tuple[str, int]] = set()

    def record(self, rec: RequestRecord) -> None:
        self.counts[(rec.account_id, rec.kind, rec.status)] += 1
        self.recent.append(rec)

    def count(
        self, account_id: str | None = None, kind: str | None = None, status: int | None = None
    ) -> int:
        acct = normalize_account(account_id)
        return sum(
            n for (a, k, s), n in self.counts.items()
            if (acct is None or a == acct)
            and (kind is None or k == kind)
            and (status is None or s == status)
        )

    def requests(
        self, account_id: str | None = None, kind: str | None = None
    ) -> list[RequestRecord]:
        acct = normalize_account(account_id)
        return [
            r for r in self.recent
            if (acct is None or r.account_id == acct) and (kind is None or r.kind == kind)
        ]

    def limits(self, kind: str = "insights", account_id: str | None = None) -> list[int]:
        """The ``limit`` values clients sent, in order (requests without one are skipped)."""
        return [
            int(r.query["limit"]) for r in self.requests(account_id, kind)
            if r.query.get("limit", "").isdigit()
        ]

    def reset(self) -> None:
        self.counts.clear()
        self.recent.clear()
        self.peers.clear()

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": [
                {"account_id": a, "kind": k, "status": s, "n": n}
                for (a, k, s), n in sorted(self.counts.items())
            ],
            "recent": [
                {"method": r.method, "path": r.path, "query": r.query, "account_id": r.account_id,
                 "kind": r.kind, "status": r.status, "at": r.at}
                for r in self.recent
            ],
        }


async def handle_admin(request: web.Request, plan: FaultPlan, stats: Stats) -> web.Response:
    """``/_sandbox/faults`` (POST one, GET all, DELETE) and ``/_sandbox/stats`` (GET, DELETE).

    POST takes the keyword arguments of ``FaultPlan.add`` as JSON:
    ``{"account_id": "1000000001", "kind": "throttle", "count": 2, "path": "insights", ...}``.
    """
    tail = request.path.split("/_sandbox/", 1)[1].rstrip("/")
    method, q = request.method, request.query
    payload: Any
    try:
        if tail == "faults" and method == "POST":
            spec = msgspec.json.decode(await request.read(), type=dict[str, Any])
            kind, account = spec.pop("kind"), spec.pop("account_id", None)
            payload = {"fault": plan.add(kind, account, **spec).to_dict()}
        elif tail == "faults" and method == "DELETE":
            payload = {"removed": plan.clear(q.get("account_id"), q.get("kind"))}
        elif tail == "faults" and method == "GET":
            payload = {"faults": [f.to_dict() for f in plan]}
        elif tail == "stats" and method == "GET":
            payload = stats.to_dict()
        elif tail == "stats" and method == "DELETE":
            stats.reset()
            payload = {"reset": True}
        else:
            return web.json_response({"error": f"no sandbox route {method} {tail}"}, status=404)
    except (msgspec.DecodeError, KeyError, TypeError, ValueError) as exc:
        return web.json_response({"error": f"bad fault spec: {exc!r}"}, status=400)
    return web.Response(body=msgspec.json.encode(payload), content_type="application/json")


def now() -> float:
    """The clock ``RequestRecord.at`` uses (monotonic: waits are measured, not dated)."""
    return time.monotonic()
