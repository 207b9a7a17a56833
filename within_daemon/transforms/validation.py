"""Schema and cross-field validation of normalized records (pure functions, no I/O).

Schema language (the seed's): each field maps to a dict of rules

* ``type``: ``string`` | ``integer`` | ``float`` | ``date``. ``integer`` rejects ``bool``
  and non-integral numbers (``3.0`` passes); ``float`` accepts ``int`` but not ``bool``,
  nan or inf; ``date`` is an ISO ``"YYYY-MM-DD"`` string or a ``datetime.date`` (not a
  ``datetime``).
* ``required``: the key must be present and not ``None``. Optional ``None`` is fine.
* ``max_length`` (strings), ``allowed`` (any type), ``min`` / ``max`` (numbers).

A schema is compiled once into one check closure per field and cached by identity, so an
unknown rule name or a rule that does not fit the type fails when the validator is built
(or a new schema is first used), never halfway through a batch. A cached schema must not
be mutated afterwards.

Cross-field rules (``CROSS_FIELD_RULES``) see the whole record; each one only fires when
its fields are present and correctly typed, so ad and account records share one rule set.

Storability (every field, in the schema or not): a value no database column can hold is an
error of its record, so one bad value is quarantined with a reason instead of making the
database refuse the whole batch. Text with a NUL character (PostgreSQL refuses it) or a lone
surrogate (not encodable as UTF-8, so neither driver can send it), an integer outside the
64-bit range (both databases' integer columns), and a nan or infinite float (SQLite stores
nan as NULL, PostgreSQL as NaN: the backends would disagree).

Records are the pipeline's ``records.AdDay`` / ``AccountDay`` Structs or the seed's dicts;
``split`` and ``record_errors`` take either (a Struct through its own compiled check, then,
if that cannot pass it, as its dict form), ``validate`` keeps the seed's dict shape.

The per-field checks and ``unstorable`` are compiled in :mod:`.validation_schema`, the
straight-line clean check in :mod:`.validation_compiled`; this module holds the cross-field
rules, the validator and the full (message-writing) path over one record.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeGuard

from within_daemon.records import AccountDay, AdDay, as_dict, is_record
from within_daemon.schema import AD_DATA_SCHEMA
from within_daemon.transforms.validation_compiled import CleanCheck, compile_clean_check
from within_daemon.transforms.validation_schema import (
    INT64_MAX,
    INT64_MIN,
    RULE_NAMES,
    SURROGATE,
    TYPE_NAMES,
    Check,
    compile_field,
    show_number,
    show_value,
    unstorable,
)

#: The validator and its rules; the schema compiler's names are re-exported from
#: ``validation_schema``, where they live.
__all__ = [
    "CROSS_FIELD_RULES", "CTR_TOLERANCE", "DEFAULT_CROSS_FIELD_RULES", "INT64_MAX", "INT64_MIN",
    "RULE_NAMES", "TYPE_NAMES", "Check", "CrossRule", "DataValidator", "Error", "Record",
    "compile_field", "record_key", "unstorable",
]

Record = Mapping[str, Any]
Error = dict[str, Any]
#: A cross-field rule returns ``(field, message, value)`` or ``None``.
CrossRule = Callable[[Record], tuple[str, str, Any] | None]

CTR_TOLERANCE = 1e-6


def _num(v: Any) -> TypeGuard[float]:
    return v.__class__ is int or v.__class__ is float


# --- cross-field rules ------------------------------------------------------------------


def _clicks_le_impressions(r: Record) -> tuple[str, str, Any] | None:
    c, i = r.get("clicks"), r.get("impressions")
    if _num(c) and _num(i) and c > i:
        return "clicks", f"clicks ({show_number(c)}) exceed impressions ({show_number(i)})", c
    return None


def _daily_clicks_le_impressions(r: Record) -> tuple[str, str, Any] | None:
    c, i = r.get("daily_clicks"), r.get("daily_impressions")
    if _num(c) and _num(i) and c > i:
        return ("daily_clicks",
                f"daily_clicks ({show_number(c)}) exceed daily_impressions ({show_number(i)})", c)
    return None


def _conversions_le_clicks(r: Record) -> tuple[str, str, Any] | None:
    v, c = r.get("conversions"), r.get("clicks")
    if _num(v) and _num(c) and v > c:
        return "conversions", f"conversions ({show_number(v)}) exceed clicks ({show_number(c)})", v
    return None


def _spend_non_negative(r: Record) -> tuple[str, str, Any] | None:
    s: Any = r.get("spend")
    if _num(s) and s < 0:
        return "spend", f"spend is negative ({show_number(s)})", s
    return None


def _as_date(v: Any) -> _dt.date | None:
    if isinstance(v, _dt.date) and not isinstance(v, _dt.datetime):
        return v
    if v.__class__ is str and len(v) == 10:
        try:
            return _dt.date.fromisoformat(v)
        except ValueError:
            return None
    return None


def _end_date_after_start(r: Record) -> tuple[str, str, Any] | None:
    end = r.get("end_date")
    if end is None:
        return None
    start = r.get("start_date")
    s, e = _as_date(start), _as_date(end)
    if s is not None and e is not None and e < s:
        return "end_date", f"end_date ({end}) is before start_date ({start})", end
    return None


def _ctr_consistent(r: Record) -> tuple[str, str, Any] | None:
    ctr, c, i = r.get("ctr"), r.get("clicks"), r.get("impressions")
    if not (_num(ctr) and _num(c) and _num(i)):
        return None
    if i == 0:
        return "ctr", f"ctr is {ctr} but impressions is 0", ctr
    try:
        ratio = c / i
    except OverflowError:  # counts past any float: the int64 check reports them
        return None
    if abs(ctr - ratio) > CTR_TOLERANCE:
        return "ctr", (f"ctr {ctr} != clicks / impressions "
                       f"({show_number(c)}/{show_number(i)} = {ratio:.6g})"), ctr
    return None


CROSS_FIELD_RULES: dict[str, CrossRule] = {
    "clicks_le_impressions": _clicks_le_impressions,
    "end_date_after_start": _end_date_after_start,
    "spend_non_negative": _spend_non_negative,
    "ctr_consistent": _ctr_consistent,
    "daily_clicks_le_impressions": _daily_clicks_le_impressions,
    # View-through conversions legitimately exceed clicks, so this one is opt-in.
    "conversions_le_clicks": _conversions_le_clicks,
}
#: The rules as shipped: the compiled check inlines these (and only while unreplaced).
_STOCK_RULES: dict[str, CrossRule] = dict(CROSS_FIELD_RULES)
DEFAULT_CROSS_FIELD_RULES: tuple[str, ...] = (
    "clicks_le_impressions", "end_date_after_start", "spend_non_negative", "ctr_consistent",
    "daily_clicks_le_impressions",
)


#: Compiled schemas a validator keeps (oldest dropped first).
SCHEMA_CACHE = 8


class _Compiled:
    """A schema's per-field checks plus the cross-field rules that apply to it."""

    __slots__ = ("checks", "clean", "fields", "rules")

    def __init__(self, schema: Mapping[str, Any], rules: Sequence[str]) -> None:
        if not isinstance(schema, Mapping):
            raise ValueError(f"schema must be a mapping of field -> rules, got {schema!r}")
        self.fields = tuple(compile_field(f, spec) for f, spec in schema.items())
        spend = schema.get("spend")
        spend_min = spend.get("min") if isinstance(spend, Mapping) else None
        if spend_min is not None and spend_min >= 0:
            # the schema's own min already reports negative spend; one error is enough
            rules = [r for r in rules if r != "spend_non_negative"]
        self.rules = tuple(CROSS_FIELD_RULES[r] for r in rules)
        #: True only for a plain dict the checks above would pass (see validation_compiled).
        pairs = [(r, CROSS_FIELD_RULES[r]) for r in rules]
        self.clean: CleanCheck = compile_clean_check(
            schema, self.fields, pairs,
            surrogate=SURROGATE, ctr_tolerance=CTR_TOLERANCE, stock=_STOCK_RULES)
        #: The compiled check by the class of record it reads (a dict, or each record Struct).
        self.checks: dict[type, CleanCheck] = {dict: self.clean}
        for cls in (AdDay, AccountDay):
            self.checks[cls] = compile_clean_check(
                schema, self.fields, pairs, surrogate=SURROGATE,
                ctr_tolerance=CTR_TOLERANCE, stock=_STOCK_RULES, record_type=cls)


def record_key(rec: Record) -> str | None:
    """Natural key for error reports: ``ad_id=… date=…`` (or ``account_id=…``)."""
    head = "ad_id" if rec.get("ad_id") is not None else "account_id"
    parts = [f"{f}={rec[f]}" for f in (head, "date") if rec.get(f) is not None]
    return " ".join(parts) or None


class DataValidator:
    """Validates normalized records against a schema plus cross-field rules."""

    def __init__(
        self,
        schema: Mapping[str, Any] | None = None,
        *,
        cross_field_rules: Iterable[str] = DEFAULT_CROSS_FIELD_RULES,
    ) -> None:
        rules = tuple(cross_field_rules)
        unknown = [r for r in rules if r not in CROSS_FIELD_RULES]
        if unknown:
            raise ValueError(
                f"unknown cross-field rule(s) {unknown}; known: {sorted(CROSS_FIELD_RULES)}"
            )
        self.cross_field_rules = rules
        # id(schema) -> (schema, its repr when compiled, compiled); holding the schema keeps
        # its id from being reused.
        self._cache: dict[int, tuple[Mapping[str, Any], str, _Compiled]] = {}
        self.schema: Mapping[str, Any] = AD_DATA_SCHEMA if schema is None else schema
        self._compiled(self.schema)

    def _compiled(self, schema: Mapping[str, Any] | None) -> _Compiled:
        if schema is None:
            # The validator's own schema: looked up per record by the quality checks, so
            # its contents are not re-read (replace ``self.schema`` rather than edit it).
            hit = self._cache.get(id(self.schema))
            if hit is not None and hit[0] is self.schema:
                return hit[2]
            schema = self.schema
        # A schema passed in is the seed's user-built dict: the same dict may have been
        # edited since it was compiled (a rule added in place), so its contents are
        # compared too; repr is microseconds against a batch's validation.
        shown = repr(schema)
        hit = self._cache.get(id(schema))
        if hit is not None and hit[0] is schema and hit[1] == shown:
            return hit[2]
        compiled = _Compiled(schema, self.cross_field_rules)
        if id(schema) not in self._cache and len(self._cache) >= SCHEMA_CACHE:
            # A caller building a fresh schema dict per call must not grow this forever.
            del self._cache[next(iter(self._cache))]
        self._cache[id(schema)] = (schema, shown, compiled)
        return compiled

    def clean_check(self, schema: Mapping[str, Any] | None = None) -> CleanCheck:
        """The schema's compiled check: True only for a dict with no errors at all."""
        return self._compiled(schema).clean

    def record_errors(
        self, rec: Any, index: int = 0, schema: Mapping[str, Any] | None = None
    ) -> list[Error]:
        """Errors of one record (empty list when it is valid)."""
        return _record_errors(rec, index, self._compiled(schema)) or []

    def validate(self, data: Any, schema: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Seed shape: ``{"valid": bool, "errors": [{field, message, index, key, value}]}``."""
        compiled = self._compiled(schema)
        records = [data] if isinstance(data, Mapping) or is_record(data) else data
        errors: list[Error] = []
        for index, rec in enumerate(records):
            errs = _record_errors(rec, index, compiled)
            if errs:
                errors.extend(errs)
        return {"valid": not errors, "errors": errors}

    def split(
        self, records: Iterable[Any], schema: Mapping[str, Any] | None = None
    ) -> tuple[list[Any], list[tuple[Any, list[Error]]]]:
        """Partition into good records and ``(bad record, its errors)`` pairs, order kept."""
        compiled = self._compiled(schema)
        checks = compiled.checks
        good: list[Any] = []
        bad: list[tuple[Any, list[Error]]] = []
        for index, rec in enumerate(records):
            clean = checks.get(rec.__class__)
            if clean is not None and clean(rec):
                good.append(rec)
                continue
            errs = _record_errors(rec, index, compiled)
            if errs:
                bad.append((rec, errs))
            else:
                good.append(rec)
        return good, bad


def _unstorable_fields(
    rec: Record, problems: list[tuple[str, str, Any]] | None
) -> list[tuple[str, str, Any]]:
    """Add an error for each unstorable value whose field has no error yet."""
    problems = problems or []
    flagged = {p[0] for p in problems}
    for field, v in rec.items():
        msg = unstorable(v)
        if msg is not None and field not in flagged:
            problems.append((field, msg, v))
    return problems


def _record_errors(rec: Any, index: int, compiled: _Compiled) -> list[Error] | None:
    """Hot path: no allocation unless something is wrong."""
    fast = compiled.checks.get(rec.__class__)
    if fast is not None and fast(rec):
        return None
    if is_record(rec):
        rec = as_dict(rec)  # the messages are the dict path's, for the same record
    if not isinstance(rec, Mapping):
        return [{"field": None, "message": f"record is not a mapping: {show_value(rec)}",
                 "index": index, "key": None, "value": rec}]
    problems: list[tuple[str, str, Any]] | None = None
    get = rec.get
    for field, required, check in compiled.fields:
        v = get(field)
        if v is None:
            if required:
                why = "required field is None" if field in rec else "required field is missing"
                problems = problems or []
                problems.append((field, why, None))
            continue
        if check is not None:
            msg = check(v)
            if msg is not None:
                problems = problems or []
                problems.append((field, msg, v))
    for v in rec.values():
        # Every value, typed by the schema or not. Inline class checks, and the field names
        # only on a hit: a call per value would double the cost of a clean record.
        if v is None:
            continue
        cls = v.__class__
        if cls is str:
            if "\x00" not in v and (v.isascii() or SURROGATE.search(v) is None):
                continue
        elif cls is int:
            if INT64_MIN <= v <= INT64_MAX:
                continue
        elif cls is not float or v - v == 0:
            continue
        problems = _unstorable_fields(rec, problems)
        break
    for rule in compiled.rules:
        found = rule(rec)
        if found is not None:
            problems = problems or []
            problems.append(found)
    if problems is None:
        return None
    key = record_key(rec)
    return [
        {"field": f, "message": m, "index": index, "key": key, "value": v}
        for f, m, v in problems
    ]
