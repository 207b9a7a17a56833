"""The schema language of the validator compiled into one check per field (pure, no I/O).

``compile_field(field, spec)`` turns one schema entry (``type``, ``required``,
``max_length``, ``allowed``, ``min``, ``max``; the language is described in
:mod:`.validation`) into ``(field, required, check)``, where ``check(value)`` returns a
message or None. A spec that does not fit fails here, when the validator is built.
``unstorable(value)`` says why no database column can hold a value, and the two message
helpers keep an offending value short (a huge integer is shown by its size: its ``repr`` is
slow and, past 4300 digits, an error). :mod:`.validation` builds its validator on these.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

Check = Callable[[Any], str | None]

RULE_NAMES = frozenset({"type", "required", "max_length", "allowed", "min", "max"})
TYPE_NAMES = ("string", "integer", "float", "date")
_NUM = (int, float)
_DATE_CACHE_MAX = 50_000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: A lone surrogate: not encodable as UTF-8, so neither database driver can send it.
SURROGATE = re.compile("[\ud800-\udfff]")


def show_number(v: Any) -> str:
    """A number for a message; a huge int by its size (past 4300 digits str() raises)."""
    return f"<int of {v.bit_length()} bits>" if v.__class__ is int and v.bit_length() > 64 \
        else str(v)


def show_value(v: Any) -> str:
    """Short description of an offending value for error messages."""
    if v.__class__ is int and v.bit_length() > 64:
        # repr of a huge int is slow and, past 4300 digits, a ValueError
        return f"int of {v.bit_length()} bits"
    text = repr(v)
    return f"{type(v).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _string_check(max_len: int | None, allowed: frozenset[Any] | None) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, str):
            return f"expected string, got {show_value(v)}"
        if max_len is not None and len(v) > max_len:
            return f"longer than max_length {max_len} ({len(v)} characters)"
        if allowed is not None and v not in allowed:
            return f"{v!r} is not one of {sorted(allowed, key=str)}"
        return None

    return check


def _number_check(
    integer: bool, lo: float | None, hi: float | None, allowed: frozenset[Any] | None
) -> Check:
    expected = "integer" if integer else "float"

    def check(v: Any) -> str | None:
        cls = v.__class__
        if cls is not int:
            if cls is bool or not isinstance(v, _NUM):
                return f"expected {expected}, got {show_value(v)}"
            if isinstance(v, float):
                if v - v != 0:  # nan or inf
                    return f"expected a finite {expected}, got {v!r}"
                if integer and not v.is_integer():
                    return f"expected integer, got non-integral {v!r}"
        if (integer or cls is int) and not INT64_MIN <= v <= INT64_MAX:
            return f"{show_value(v)} is outside the 64-bit integer range a database column holds"
        if lo is not None and v < lo:
            return f"{show_number(v)} is below min {lo}"
        if hi is not None and v > hi:
            return f"{show_number(v)} is above max {hi}"
        if allowed is not None and v not in allowed:
            return f"{v!r} is not one of {sorted(allowed, key=str)}"
        return None

    return check


def _date_check(allowed: frozenset[Any] | None) -> Check:
    seen: set[str] = set()  # the same few dates repeat on every record of a batch

    def check(v: Any) -> str | None:
        if v.__class__ is str:
            if v not in seen:
                if len(v) != 10 or v[4] != "-" or v[7] != "-":
                    return f"expected ISO date YYYY-MM-DD, got {show_value(v)}"
                try:
                    _dt.date.fromisoformat(v)
                except ValueError:
                    return f"{v!r} is not a calendar date"
                if len(seen) >= _DATE_CACHE_MAX:
                    seen.clear()
                seen.add(v)
        elif not isinstance(v, _dt.date) or isinstance(v, _dt.datetime):
            return f"expected date, got {show_value(v)}"
        if allowed is not None and v not in allowed:
            return f"{v!r} is not one of {sorted(allowed, key=str)}"
        return None

    return check


def unstorable(v: Any) -> str | None:
    """Why no database column can hold ``v`` (None when one can); see the module docstring."""
    cls = v.__class__
    if cls is str:
        if "\x00" in v:
            return "text contains a NUL character, which the database cannot store"
        if not v.isascii() and SURROGATE.search(v) is not None:
            return "text contains a lone surrogate, which is not valid Unicode"
    elif cls is int:
        if not INT64_MIN <= v <= INT64_MAX:
            return f"{show_value(v)} is outside the 64-bit integer range a database column holds"
    elif cls is float:
        if v - v != 0:  # nan or inf
            return f"expected a finite number, got {v!r}"
    return None


def _any_check(allowed: frozenset[Any]) -> Check:
    def check(v: Any) -> str | None:
        try:
            ok = v in allowed
        except TypeError:  # unhashable, so certainly not an allowed value
            ok = False
        return None if ok else f"{show_value(v)} is not one of {sorted(allowed, key=str)}"

    return check


def _bound(field: str, rule: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, _NUM):
        raise ValueError(f"schema field {field!r}: {rule!r} must be a number, got {value!r}")
    return value


def compile_field(field: str, spec: Any) -> tuple[str, bool, Check | None]:
    """One schema entry -> ``(field, required, check)``; raises ValueError on a bad spec."""
    if not isinstance(spec, Mapping):
        raise ValueError(f"schema field {field!r}: rules must be a mapping, got {spec!r}")
    unknown = set(spec) - RULE_NAMES
    if unknown:
        raise ValueError(
            f"schema field {field!r}: unknown rule(s) {sorted(unknown)}; "
            f"known rules are {sorted(RULE_NAMES)}"
        )
    typ = spec.get("type")
    if typ is not None and typ not in TYPE_NAMES:
        raise ValueError(f"schema field {field!r}: unknown type {typ!r}; use one of {TYPE_NAMES}")
    required = spec.get("required", False)
    if not isinstance(required, bool):
        raise ValueError(f"schema field {field!r}: 'required' must be true or false")
    allowed_raw = spec.get("allowed")
    allowed = None
    if allowed_raw is not None:
        if isinstance(allowed_raw, str) or not isinstance(allowed_raw, Iterable):
            raise ValueError(f"schema field {field!r}: 'allowed' must be a list of values")
        allowed = frozenset(allowed_raw)
    max_len = spec.get("max_length")
    if max_len is not None:
        if typ != "string":
            raise ValueError(f"schema field {field!r}: 'max_length' needs type 'string'")
        if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 0:
            raise ValueError(f"schema field {field!r}: 'max_length' must be an int >= 0")
    lo = _bound(field, "min", spec.get("min"))
    hi = _bound(field, "max", spec.get("max"))
    if (lo is not None or hi is not None) and typ not in ("integer", "float"):
        raise ValueError(f"schema field {field!r}: 'min'/'max' need type 'integer' or 'float'")
    check: Check | None
    if typ == "string":
        check = _string_check(max_len, allowed)
    elif typ in ("integer", "float"):
        check = _number_check(typ == "integer", lo, hi, allowed)
    elif typ == "date":
        check = _date_check(allowed)
    else:
        check = None if allowed is None else _any_check(allowed)
    return field, required, check
