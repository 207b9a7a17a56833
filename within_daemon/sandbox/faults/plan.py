"""Switchable faults: the ``Fault`` record and the ``FaultPlan`` an emulator asks per request.

A ``FaultPlan`` is a small ordered list of ``Fault``s; the server asks it, per request, whether
a fault of some kind applies to ``(account, path kind)`` and consumes one use when it fires.
Faults are plain data so that a test in another process can set them over HTTP with the same
fields it would pass from Python.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

#: Kinds every FaultPlan accepts besides the platform's own (see ``transport``).
#: ``latency`` (``delay`` seconds on every request) and ``rate_limit`` (each account's own
#: ``limits[account]`` requests per minute, a token bucket of ``burst``; over it a 429)
#: model a real API for benchmarks and are never used up.
TRANSPORT_FAULTS = ("http_error", "html_error", "cut_body", "truncated_json", "slow_body",
                    "latency", "rate_limit")
#: The hostile bodies every plan accepts too (see ``bodies``).
BODY_FAULT_KINDS = frozenset({"huge_body", "gzip_bomb_body", "deep_json"})


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
