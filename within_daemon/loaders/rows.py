"""Parameter tuples the loader binds, in the column order of :mod:`.statements`.

A record is a ``records.AdDay`` / ``AccountDay`` (the pipeline's: its fields are the table's
columns in order, so ``msgspec.structs.astuple`` is the row) or the seed's dict form
(``DatabaseLoader.write_batch`` called with dicts).

Kept apart from the statement text, but built from the same column lists
(``FACT_TABLES``), so a field added to the schema reaches the DDL, the upsert and these
tuples together. Quarantine encoding never fails and never makes the database refuse the row:
a strange record is why it is there (NUL and lone surrogates are stored as escapes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

import msgspec

from within_daemon.errors import LoaderError
from within_daemon.records import UNSET, AccountDay, AdDay, Record
from within_daemon.redaction import redact

from .schema.tables import FACT_TABLES

_GETTERS = {k: itemgetter(*t.fields) for k, t in FACT_TABLES.items()}
_FULL_GETTERS = {k: itemgetter(*t.fields, *t.extras) for k, t in FACT_TABLES.items()}
#: The record Struct of each kind; its fields are the table's ``fields`` then ``extras``.
_STRUCTS: dict[str, type[Record]] = {"ad": AdDay, "account": AccountDay}
_astuple = msgspec.structs.astuple


def fact_rows(kind: str, records: Sequence[Record] | Sequence[dict[str, Any]], run_id: str,
              fetched_at: str, loaded_at: str,
              context: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """Bind tuples for ``upsert[kind]``: a record has the table's fields, and may have extras.

    ``extras`` columns come from the record when it has them (not None, not ``UNSET``),
    else from ``context`` (the batch-wide value), else NULL.
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
    struct = _STRUCTS[kind]
    all_unset, all_none = (UNSET,) * ne, (None,) * ne

    def bind(r: Any) -> tuple[Any, ...]:
        if r.__class__ is struct:
            t = _astuple(r)
            if not ne:
                return (*t, *prov)
            tail = t[n:]
            if tail == all_unset or tail == all_none:
                tail = extra
            elif UNSET in tail or None in tail:
                tail = tuple(x if v is None or v is UNSET else v
                             for v, x in zip(tail, extra, strict=True))
            return (*t[:n], *tail, *prov)
        # A dict: fast paths by key count, the seed fields only or every extra too.
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
_INT_RANGE = (-(2**63), 2**64)
_MAX_DEPTH = 64


def safe_text(text: str) -> str:
    """``text`` as any database stores it: lone surrogates and NUL spelled as escapes."""
    if text.isascii():
        return text.replace("\x00", "\\x00") if "\x00" in text else text
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _plain(obj: Any, depth: int = 0) -> Any:
    """A JSON-encodable copy: escaped surrogates, huge ints and odd objects by description."""
    if obj is None or isinstance(obj, bool | float):
        return obj if not isinstance(obj, float) or obj - obj == 0 else repr(obj)
    if isinstance(obj, str):
        return safe_text(obj)
    if isinstance(obj, int):
        return obj if _INT_RANGE[0] <= obj < _INT_RANGE[1] else f"<int of {obj.bit_length()} bits>"
    if depth >= _MAX_DEPTH:
        return "<nested too deep>"
    if isinstance(obj, dict):
        return {safe_text(str(_plain(k, depth + 1))): _plain(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(x, depth + 1) for x in obj]
    try:
        return safe_text(str(obj))
    except Exception:  # noqa: BLE001 - a value whose str() fails is still quarantined
        return f"<unprintable {type(obj).__name__}>"


def _encode(obj: Any) -> str:
    # Quarantine must never fail because the rejected record is strange (that is why it is
    # there): a value msgspec refuses (a lone surrogate, an int past 4300 digits, deep
    # nesting) is encoded from a plain, escaped copy instead of raising.
    try:
        return _raw_encoder.encode(obj).decode()
    except (TypeError, ValueError, msgspec.EncodeError, RecursionError):
        return _raw_encoder.encode(_plain(obj)).decode()


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


#: Indexed quarantine columns (platform, account_id) stay far below PostgreSQL's btree limit
#: of 2704 bytes an entry: the value that got a row refused may be exactly a huge id.
MAX_INDEXED_CHARS = 256


def _short(text: str) -> str:
    if len(text) <= MAX_INDEXED_CHARS:
        return text
    return f"{text[:MAX_INDEXED_CHARS - 20]}...<{len(text)} chars>"


def _opt_text(v: str | None) -> str | None:
    return None if v is None else _short(safe_text(str(v)))


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
        record_key = ("|".join(_short(safe_text(str(_plain(raw.get(k, ""))))) for k in key)
                      if isinstance(raw, dict) else None)
        # Rejected text is stored verbatim except for secrets (an echoed token in a raw row).
        out.append((run_id, task, _opt_text(platform), _opt_text(account_id), kind,
                    record_key and redact(record_key), redact(safe_text(reason(errors))),
                    redact(_encode(errors)), redact(_encode(raw)), now))
    return out
