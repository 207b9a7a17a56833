"""The GAQL subset the Google Ads sandbox understands: parsing, date ranges, conditions.

``parse_gaql`` reads ``SELECT … FROM <resource> [WHERE …] [ORDER BY …] [LIMIT n]`` with
conditions joined by ``AND`` (``BETWEEN``, comparisons, ``IN``, ``DURING``); a query the
API would refuse raises ``GaqlError`` with the QueryError enum name Google would send.
``camel`` gives the REST JSON spelling of a field path. Used by ``data``.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from dataclasses import dataclass
from typing import Any


class GaqlError(ValueError):
    """A query the API would refuse: ``reason`` is the QueryError enum name."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: str
    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    fields: tuple[str, ...]
    resource: str
    conditions: tuple[Condition, ...]
    limit: int | None


_QUERY = re.compile(
    r"^\s*SELECT\s+(?P<select>.+?)\s+FROM\s+(?P<res>[a-z_]+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+ORDER\s+BY\s+(?P<order>.+?))?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?(?:\s+PARAMETERS\s+.+?)?\s*$", re.I | re.S)
_LIT = r"'[^']*'|\"[^\"]*\"|-?[A-Za-z0-9_.]+"
_COND = re.compile(
    rf"(?P<field>[a-z][a-z0-9_.]*)\s*(?:(?i:BETWEEN)\s+(?P<lo>{_LIT})\s+(?i:AND)\s+(?P<hi>{_LIT})"
    rf"|(?P<op>!=|>=|<=|=|>|<|(?i:NOT\s+IN|IN|DURING))\s*(?P<val>\([^)]*\)|{_LIT}))\s*")
_AND = re.compile(r"(?i:AND)\s+")
_FIELD = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


def _literal(raw: str) -> Any:
    if raw[:1] in "'\"":
        return raw[1:-1]
    try:
        return int(raw)
    except ValueError:
        try:
            return float(raw)
        except ValueError:
            return raw  # an enum name or a DURING constant


def parse_gaql(text: str) -> Query:
    """Parse the supported GAQL subset; ``GaqlError`` names what the API would say."""
    m = _QUERY.match(text)
    if m is None:
        raise GaqlError("UNEXPECTED_INPUT", f"Error in query: unexpected input {text[:60]!r}.")
    fields = tuple(f.strip() for f in m.group("select").split(","))
    for f in fields:
        if not _FIELD.match(f):
            raise GaqlError("UNRECOGNIZED_FIELD", f"Unrecognized field in the query: '{f}'.")
    conds: list[Condition] = []
    where, pos = m.group("where") or "", 0
    while pos < len(where):
        c = _COND.match(where, pos)
        if c is None:
            raise GaqlError("UNEXPECTED_INPUT", f"Error in query: unexpected input "
                                                f"{where[pos:pos + 40]!r}.")
        if c.group("lo") is not None:
            conds.append(Condition(c.group("field"), "BETWEEN",
                                   (_literal(c.group("lo")), _literal(c.group("hi")))))
        else:
            op = " ".join(c.group("op").upper().split())
            val = c.group("val")
            vals = (tuple(_literal(v.strip()) for v in val[1:-1].split(",") if v.strip())
                    if val.startswith("(") else (_literal(val),))
            conds.append(Condition(c.group("field"), op, vals))
        pos = c.end()
        if pos < len(where):
            a = _AND.match(where, pos)
            if a is None:
                raise GaqlError("UNEXPECTED_INPUT", "Error in query: expected AND.")
            pos = a.end()
    limit = int(m.group("limit")) if m.group("limit") else None
    return Query(text, fields, m.group("res").lower(), tuple(conds), limit)


def camel(path: str) -> str:
    """``ad_group_ad.ad.final_urls`` -> ``adGroupAd.ad.finalUrls`` (the REST JSON names)."""
    return ".".join(
        p.split("_")[0] + "".join(w.title() for w in p.split("_")[1:]) for p in path.split(".")
    )


_DURING = {"TODAY": (0, 0), "YESTERDAY": (1, 1), "LAST_7_DAYS": (7, 1), "LAST_14_DAYS": (14, 1),
           "LAST_30_DAYS": (30, 1)}


def date_range(q: Query, today: int) -> tuple[int | None, int | None]:
    lo: int | None = None
    hi: int | None = None

    def day(v: Any) -> int:
        try:
            return dt.date.fromisoformat(str(v)).toordinal()
        except ValueError:
            raise GaqlError("INVALID_VALUE_WITH_BETWEEN_OPERATOR",
                            f"Invalid date literal {v!r}.") from None

    for c in q.conditions:
        if c.field != "segments.date":
            continue
        a = b = None
        if c.op == "BETWEEN":
            a, b = day(c.values[0]), day(c.values[1])
        elif c.op in ("=", ">=", ">"):
            a = day(c.values[0]) + (c.op == ">")
            b = a if c.op == "=" else None
        elif c.op in ("<=", "<"):
            b = day(c.values[0]) - (c.op == "<")
        elif c.op == "DURING":
            back = _DURING.get(str(c.values[0]).upper())
            if back is None:
                raise GaqlError("INVALID_VALUE_WITH_DURING_OPERATOR",
                                f"Unsupported DURING value {c.values[0]!r}.")
            a, b = today - back[0], today - back[1]
        else:
            raise GaqlError("PROHIBITED_FIELD_IN_SELECT_WHERE_CLAUSE",
                            f"Operator {c.op} is not supported on segments.date here.")
        lo = a if lo is None or (a is not None and a > lo) else lo
        hi = b if hi is None or (b is not None and b < hi) else hi
    return lo, hi


_OPS = {"=": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge,
        "<": operator.lt, "<=": operator.le}


def _bool_text(v: Any) -> str:
    return str(v).upper()


def holds(c: Condition, row: dict[str, Any]) -> bool:
    """Numbers compare as numbers, booleans as TRUE/FALSE, the rest (enums) as strings."""
    v = row.get(c.field)
    conv: Any = (_bool_text if isinstance(v, bool) else float if isinstance(v, int | float)
                 else str)
    try:
        want = [conv(x) for x in c.values]
        v = conv("" if v is None else v)
    except ValueError:
        raise GaqlError("INVALID_VALUE", f"Cannot compare {c.field} with {c.values}.") from None
    if c.op in ("IN", "NOT IN"):
        return (v in want) == (c.op == "IN")
    if c.op not in _OPS:
        raise GaqlError("INVALID_OPERATOR", f"Cannot apply {c.op} to {c.field}.")
    return bool(_OPS[c.op](v, want[0]))
