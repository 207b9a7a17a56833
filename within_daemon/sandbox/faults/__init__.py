"""Switchable faults and request statistics shared by the sandbox emulators.

A ``FaultPlan`` is a small ordered list of ``Fault``s; the server asks it, per request, whether
a fault of some kind applies to ``(account, path kind)`` and consumes one use when it fires.
Faults are plain data so that a test in another process can set them over HTTP with the same
fields it would pass from Python. ``Stats`` records what the clients actually sent, so tests
assert on behaviour (how many calls, which ``limit``, how long a throttled client waited)
rather than on the client's internals.

Hostile bodies (:data:`BODY_FAULT_KINDS`, every emulator, through :func:`body_fault_middleware`)
answer a request with what a runaway or hostile server sends instead of the real answer:
``huge_body`` (``size`` bytes of valid JSON, announced in Content-Length or, with
``chunked``, not), ``gzip_bomb_body`` (``size`` bytes of JSON gzipped to about a thousandth,
``Content-Encoding: gzip``) and ``deep_json`` (arrays nested ``depth`` deep, answered with
``status``, 200 by default, so error bodies can be deep too). They are
global (no account, no path kind); ``path_contains`` narrows one to matching URL paths.
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
import zlib
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web


def normalize_account(account_id: str | None) -> str | None:
    """Accept ``act_123`` or ``123``; faults and stats key on the bare digits."""
    if account_id is None or account_id == "":
        return None
    return account_id[4:] if account_id.startswith("act_") else account_id


@dataclass(slots=True)
class Fault:
    """One switched-on fault: what, for whom, on which path kind, and how many more times."""

    kind: str
    account_id: str | None = None
    path: str | None = None
    #: Uses left; ``None`` means forever.
    remaining: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    #: How many requests this fault has affected so far.
    hits: int = 0

    def matches(self, kind: str, account_id: str | None, path: str) -> bool:
        return (
            self.kind == kind
            and (self.account_id is None or self.account_id == account_id)
            and (self.path is None or self.path == path or path == "*")
            and (self.remaining is None or self.remaining > 0)
        )

    def param(self, name: str, default: int) -> int:
        """An integer parameter (JSON and Python callers may send numbers or strings)."""
        return int(self.params.get(name, default))

    def opt_int(self, name: str) -> int | None:
        value = self.params.get(name)
        return None if value is None else int(value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "account_id": self.account_id, "path": self.path,
            "remaining": self.remaining, "hits": self.hits,
            **{k: v for k, v in self.params.items() if not k.startswith("_")},
        }


class FaultPlan:
    """The faults currently switched on; account-specific faults win over global ones."""

    def __init__(self, kinds: Iterable[str], paths: Iterable[str]) -> None:
        self.kinds = frozenset(kinds) | frozenset(TRANSPORT_FAULTS) | BODY_FAULT_KINDS
        self.paths = frozenset(paths)
        self._faults: list[Fault] = []

    def add(
        self,
        kind: str,
        account_id: str | None = None,
        *,
        count: int | None = None,
        path: str | None = None,
        **params: Any,
    ) -> Fault:
        """Switch on ``kind`` for ``account_id`` (``None``: every account)."""
        if kind not in self.kinds:
            raise ValueError(f"unknown fault kind {kind!r}; known: {sorted(self.kinds)}")
        if path is not None and path not in self.paths:
            raise ValueError(f"unknown path kind {path!r}; known: {sorted(self.paths)}")
        if count is not None and count < 1:
            raise ValueError("count must be >= 1 (omit it for 'forever')")
        fault = Fault(kind, normalize_account(account_id), path, count, dict(params))
        self._faults.append(fault)
        return fault

    def clear(self, account_id: str | None = None, kind: str | None = None) -> int:
        """Remove faults (all, or those of one account and/or kind); returns how many."""
        acct = normalize_account(account_id)
        keep = [
            f for f in self._faults
            if (acct is not None and f.account_id != acct) or (kind is not None and f.kind != kind)
        ]
        removed = len(self._faults) - len(keep)
        self._faults = keep
        return removed

    def __iter__(self) -> Iterator[Fault]:
        return iter(list(self._faults))

    def __len__(self) -> int:
        return len(self._faults)

    def peek(self, kind: str, account_id: str | None, path: str) -> Fault | None:
        """The fault of ``kind`` that would apply, without using it up."""
        if not self._faults:  # the common case on the hot path
            return None
        best: Fault | None = None
        for f in self._faults:
            if f.matches(kind, account_id, path):
                if f.account_id is not None:
                    return f
                best = best or f
        return best

    def take(
        self,
        kind: str,
        account_id: str | None,
        path: str,
        when: Callable[[Fault], bool] | None = None,
    ) -> Fault | None:
        """Like ``peek``, but counts one use when the fault applies (and ``when`` holds)."""
        fault = self.peek(kind, account_id, path)
        if fault is None or (when is not None and not when(fault)):
            return None
        self.use(fault)
        return fault

    def use(self, fault: Fault) -> None:
        fault.hits += 1
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining <= 0 and fault in self._faults:
                self._faults.remove(fault)


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


# -- hostile bodies ---------------------------------------------------------------------------

BODY_FAULT_KINDS = frozenset({"huge_body", "gzip_bomb_body", "deep_json"})
_MiB = 1 << 20
_FILL = b" " * _MiB  # JSON whitespace: the body stays valid JSON, only too big


@functools.cache
def gzip_bomb(size: int) -> bytes:
    """``{"data": [<size bytes of spaces>]}`` gzipped (about 1000:1), built once per size."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = [z.compress(b'{"data": [')]
    left = size
    while left > 0:
        step = min(left, _MiB)
        out.append(z.compress(_FILL[:step]))
        left -= step
    out.append(z.compress(b"]}"))
    out.append(z.flush())
    return b"".join(out)


def deep_json(depth: int) -> bytes:
    """``{"data": [[[...]]]}`` with ``depth`` nested arrays: valid, but past any decoder."""
    return b'{"data": ' + b"[" * depth + b"]" * depth + b"}"


async def _huge(request: web.Request, size: int, chunked: bool) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    if not chunked:
        resp.content_length = size
    await resp.prepare(request)
    head, tail = b'{"data": [', b"]}"
    left = size - len(head) - len(tail)
    try:
        await resp.write(head)
        while left > 0:
            step = min(left, _MiB)
            await resp.write(_FILL[:step])
            left -= step
        await resp.write(tail)
    except (ConnectionError, RuntimeError):
        pass  # the client hung up, as it should once past its cap
    return resp


def body_fault_middleware(plan: FaultPlan) -> Callable[..., Awaitable[web.StreamResponse]]:
    """An aiohttp middleware serving the hostile bodies of ``plan`` instead of the answer."""

    @web.middleware
    async def middleware(request: web.Request,
                         handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                         ) -> web.StreamResponse:
        if "/_sandbox/" in request.path or not len(plan):
            return await handler(request)

        def here(f: Fault) -> bool:
            return str(f.params.get("path_contains", "")) in request.path

        if f := plan.take("huge_body", None, "", when=here):
            return await _huge(request, f.param("size", 256 * _MiB),
                               bool(f.params.get("chunked", False)))
        if f := plan.take("gzip_bomb_body", None, "", when=here):
            return web.Response(body=gzip_bomb(f.param("size", 256 * _MiB)), headers={
                "Content-Type": "application/json", "Content-Encoding": "gzip"})
        if f := plan.take("deep_json", None, "", when=here):
            return web.Response(body=deep_json(f.param("depth", 100_000)),
                                status=f.param("status", 200), content_type="application/json")
        return await handler(request)

    return middleware


def now() -> float:
    """The clock ``RequestRecord.at`` uses (monotonic: waits are measured, not dated)."""
    return time.monotonic()


# -- transport faults: what proxies and networks do, the same for every emulator -------------
#
# These act around the platform's own handler (``PlatformEmulator._on_request``), so every
# emulator has them without code of its own: an error page from a load balancer instead of
# the API's error body, a connection cut in the middle of a body, a 200 whose JSON stops
# half-way, and a body that trickles in slower than the client's timeout. A "server down"
# (connection refused) is the emulator not listening: tests stop and restart ``serve``.

#: Kinds every FaultPlan accepts besides the platform's own. ``latency`` (``delay`` seconds
#: on every request) and ``rate_limit`` (each account's own ``limits[account]`` requests per
#: minute, a token bucket of ``burst``; over it a 429) model a real API for benchmarks and
#: are never used up.
TRANSPORT_FAULTS = ("http_error", "html_error", "cut_body", "truncated_json", "slow_body",
                    "latency", "rate_limit")
_ACCOUNT_IN_PATH = re.compile(r"/(?:act_|customers/)(\d+)")
_HTML_PAGE = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
              b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n")


class _Buckets:
    """Per-account token buckets of a ``rate_limit`` fault (kept on the fault's params)."""

    def __init__(self) -> None:
        self.state: dict[str, tuple[float, float]] = {}  # account -> (tokens, at)

    def admit(self, account: str, per_minute: float, burst: float) -> bool:
        t = time.monotonic()
        tokens, at = self.state.get(account, (burst, t))
        tokens = min(burst, tokens + (t - at) * per_minute / 60.0)
        if tokens < 1.0:
            self.state[account] = (tokens, t)
            return False
        self.state[account] = (tokens - 1.0, t)
        return True


def _over_rate(f: Fault, account: str | None) -> bool:
    limits = f.params.get("limits") or {}
    limit = limits.get(account) if account is not None else None
    if limit is None:
        return False
    buckets = f.params.setdefault("_buckets", _Buckets())
    return not buckets.admit(account or "", float(limit), float(f.params.get("burst", 2)))


def request_account(request: web.Request) -> str | None:
    """The account a request is for, where the platforms put it (path, query or header)."""
    m = _ACCOUNT_IN_PATH.search(request.path)
    if m is not None:
        return m.group(1)
    return (request.query.get("advertiser_id")
            or request.headers.get("Amazon-Advertising-API-Scope") or None)


async def with_transport_faults(
    request: web.Request, plan: FaultPlan, stats: Stats,
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> web.StreamResponse:
    """Serve ``request`` through ``handler`` unless a transport fault applies to it."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if isinstance(peer, tuple) and len(peer) >= 2:
        stats.peers.add((str(peer[0]), int(peer[1])))
    if not any(f.kind in TRANSPORT_FAULTS for f in plan):
        return await handler(request)
    acct = request_account(request)
    limited = plan.peek("rate_limit", acct, "*")
    refused = limited is not None and _over_rate(limited, acct)
    if (lat := plan.peek("latency", acct, "*")) is not None:
        await asyncio.sleep(float(lat.params.get("delay", 0.05)))
    if refused:
        stats.record(RequestRecord(request.method, request.path, {}, acct or "",
                                   "rate_limited", 429, now()))
        return web.Response(text="Too Many Requests", status=429)
    for kind in ("http_error", "html_error"):
        if f := plan.take(kind, acct, "*"):
            stats.record(RequestRecord(request.method, request.path, {}, acct or "", "transport",
                                       f.param("status", 503 if kind == "http_error" else 502),
                                       now()))
            headers = {}
            if f.params.get("retry_after") is not None:
                headers["Retry-After"] = str(f.params["retry_after"])
            if kind == "html_error":
                return web.Response(body=_HTML_PAGE, status=f.param("status", 502),
                                    content_type="text/html", headers=headers)
            return web.Response(text="Service Unavailable", status=f.param("status", 503),
                                headers=headers)
    body_faults = [f for k in ("cut_body", "truncated_json", "slow_body")
                   if (f := plan.peek(k, acct, "*")) is not None]
    resp = await handler(request)
    if not body_faults or not isinstance(resp, web.Response) or resp.prepared \
            or not isinstance(resp.body, bytes) or len(resp.body) < 2:
        return resp
    fault = body_faults[0]
    plan.use(fault)
    body = resp.body
    if fault.kind == "truncated_json":
        resp.body = body[: len(body) // 2]
        return resp
    out = web.StreamResponse(status=resp.status, headers=resp.headers)
    out.content_length = len(body)
    try:
        await out.prepare(request)
        await out.write(body[: len(body) // 2])
        if fault.kind == "cut_body":
            # The peer goes away mid-body: the client sees a short read, not a timeout.
            if request.transport is not None:
                request.transport.abort()
            return out
        await asyncio.sleep(float(fault.params.get("delay", 2.0)))
        await out.write(body[len(body) // 2:])
        await out.write_eof()
    except (ConnectionResetError, ConnectionError):
        pass  # the client gave up first (its timeout): nothing more to send
    return out
