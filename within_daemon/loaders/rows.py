"""Parameter tuples the loader binds, in the column order of :mod:`.sqlite_schema`'s statements.

Kept apart from the statement text, but built from the same column lists
(``FACT_TABLES``), so a field added to the schema reaches the DDL, the upsert and these
tuples together. Quarantine encoding never fails: a strange record is why it is there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

import msgspec

from within_daemon.errors import LoaderError

from .sqlite_schema import FACT_TABLES

_GETTERS = {k: itemgetter(*t.fields) for k, t in FACT_TABLES.items()}
_FULL_GETTERS = {k: itemgetter(*t.fields, *t.extras) for k, t in FACT_TABLES.items()}


def fact_rows(kind: str, records: Sequence[dict[str, Any]], run_id: str, fetched_at: str,
              loaded_at: str, context: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """Bind tuples for ``upsert[kind]``: a record has the table's fields, and may have extras.

    ``extras`` columns come from the record when it has them, else from ``context`` (the
    batch-wide value), else NULL.
    """
    table = FACT_TABLES.get(kind)
    if table is None:
        raise LoaderError(f"unknown record kind {kind!r} (expected 'ad' or 'account')")
    get, full, n = _GETTERS[kind], _FULL_GETTERS[kind], len(table.fields)
    names, ne = table.extras, len(table.extras)
    ctx = context or {}
    extra = tuple(ctx.get(e) for e in names)
    fill = any(x is not None for x in extra)
    allowed = set(names)
    prov = (run_id, fetched_at, loaded_at)

    def bind(r: dict[str, Any]) -> tuple[Any, ...]:
        # Fast paths by key count: the seed fields only, or every extra too.
        k = len(r)
        if k == n:
            return (*get(r), *extra, *prov)
        if k == n + ne:
            vals = full(r)
            if fill and None in vals[n:]:
                vals = (*vals[:n], *(x if v is None else v
                                     for v, x in zip(vals[n:], extra, strict=True)))
            return (*vals, *prov)
        if not set(r).difference(table.fields) <= allowed:
            raise KeyError("stray key")
        return (*get(r), *(x if (v := r.get(e)) is None else v
                           for e, x in zip(names, extra, strict=True)), *prov)

    try:
        return [bind(r) for r in records]
    except (KeyError, TypeError, AttributeError):
        pass
    want = set(table.fields)
    for i, r in enumerate(records):
        keys = set(r) if isinstance(r, dict) else set()
        if not want <= keys or not keys - want <= allowed:
            raise LoaderError(f"{kind} record {i} has the wrong keys: "
                              f"missing {sorted(want - keys)}, "
                              f"extra {sorted(keys - want - allowed)}")
    raise LoaderError(f"{kind} records could not be read")


def ledger_rows(task: str, kind: str, run_id: str,
                complete_days: Iterable[tuple[str, str, str, int]],
                now: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Bind tuples for ``ledger_upsert`` and ``ledger_history``."""
    days = list(complete_days)
    ledger = [(task, p, a, day, kind, "complete", run_id, int(n), now, now)
              for p, a, day, n in days]
    history = [(task, p, a, day, kind, run_id, int(n), now) for p, a, day, n in days]
    return ledger, history


_raw_encoder = msgspec.json.Encoder(enc_hook=str)  # anything odd in a raw record -> its str()


def _encode(obj: Any) -> str:
    # Quarantine must never fail because the rejected record is strange (that is why it is
    # there), so an unencodable value degrades to its repr instead of raising.
    try:
        return _raw_encoder.encode(obj).decode()
    except (TypeError, ValueError, msgspec.EncodeError, RecursionError):
        return _raw_encoder.encode(repr(obj)).decode()


def reason(errors: Iterable[Any]) -> str:
    """Validator errors as one readable line: ``clicks: must be <= impressions (12 > 5)``."""
    parts = []
    for e in errors:
        if not isinstance(e, dict):  # tolerate plain strings rather than lose the record
            parts.append(str(e))
            continue
        field, message = e.get("field"), e.get("message") or e.get("msg") or str(e)
        parts.append(f"{field}: {message}" if field else str(message))
    return "; ".join(parts) or "rejected"


def quarantine_rows(
    run_id: str, task: str, kind: str,
    items: Iterable[tuple[str | None, str | None, Any, list[dict[str, Any]]]], now: str,
) -> list[tuple[Any, ...]]:
    """Bind tuples for ``quarantine`` from ``(platform, account_id, raw, errors)`` items."""
    if kind not in FACT_TABLES:
        raise LoaderError(f"unknown record kind {kind!r} (expected 'ad' or 'account')")
    key = FACT_TABLES[kind].key
    out = []
    for platform, account_id, raw, errors in items:
        # The natural key as far as the raw record has it, so a reject can be found again.
        record_key = "|".join(str(raw.get(k, "")) for k in key) if isinstance(raw, dict) else None
        out.append((run_id, task, platform, account_id, kind, record_key, reason(errors),
                    _encode(errors), _encode(raw), now))
    return out
