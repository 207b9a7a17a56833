"""A schema compiled into one straight-line Python function that says "clean" or "look closer".

``compile_clean_check(schema, rules)`` generates, once per schema, the source of a function
``clean(rec) -> bool`` with every field's rules inlined (exact class tests, bounds, lengths,
allowed sets), the storability scan, and the default cross-field rules inlined too, then
``exec``s it. It answers True only when the full validator (``validation._record_errors``)
would find nothing; anything unusual (a subclass, a ``datetime.date``, a float where an
integer is declared, a rule it does not know) answers False, and the full validator then
runs and writes the messages. So the result is the full validator's by construction; the
generated function only makes the common, clean record cheap: one call per record instead
of one per field and rule (issue 15: validation was a third of the transform time).

The pipeline's records are ``records.AdDay`` / ``AccountDay`` Structs: with
``record_type`` the function reads their attributes instead of dict keys (a field the
Struct lacks reads as None, an ``UNSET`` extra as None, as a dict without the key would),
scans for storability only the fields whose rule does not already prove it (an in-range
integer, a finite float, an ISO date), and hands a rule it does not inline the record's
dict form, so its answer is the dict path's for the same record.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import msgspec

from within_daemon.records import UNSET, as_dict

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_DATE_CACHE_MAX = 50_000

CleanCheck = Callable[[Any], bool]
_GET = re.compile(r"get\('(\w+)'\)")

_NUM = "({x}.__class__ is int or {x}.__class__ is float)"
#: Cross-field rules written inline: each returns False exactly when the rule would fire.
_INLINE_RULES: dict[str, list[str]] = {
    "clicks_le_impressions": [
        "c = get('clicks'); i = get('impressions')",
        f"if {_NUM.format(x='c')} and {_NUM.format(x='i')} and c > i: return False",
    ],
    "daily_clicks_le_impressions": [
        "c = get('daily_clicks'); i = get('daily_impressions')",
        f"if {_NUM.format(x='c')} and {_NUM.format(x='i')} and c > i: return False",
    ],
    "spend_non_negative": [
        "s = get('spend')",
        f"if {_NUM.format(x='s')} and s < 0: return False",
    ],
    "ctr_consistent": [
        "r = get('ctr'); c = get('clicks'); i = get('impressions')",
        f"if {_NUM.format(x='r')} and {_NUM.format(x='c')} and {_NUM.format(x='i')}:",
        "    if i == 0: return False",
        "    try:",
        "        q = c / i",
        "    except OverflowError:",
        "        q = None",
        "    if q is not None and abs(r - q) > CTR_TOLERANCE: return False",
    ],
    # ISO dates compare as text; when either is not one, the rule cannot fire anyway.
    "end_date_after_start": [
        "e = get('end_date')",
        "if e is not None:",
        "    t = get('start_date')",
        "    if not (e.__class__ is str and t.__class__ is str and e >= t) and "
        "RULES['end_date_after_start'](rec) is not None: return False",
    ],
    "conversions_le_clicks": [
        "n = get('conversions'); c = get('clicks')",
        f"if {_NUM.format(x='n')} and {_NUM.format(x='c')} and n > c: return False",
    ],
}


def _remember_date(v: str, seen: set[str]) -> bool:
    """True (and remembered) when ``v`` is an ISO calendar date the date check accepts."""
    if len(v) != 10 or v[4] != "-" or v[7] != "-":
        return False
    try:
        _dt.date.fromisoformat(v)
    except ValueError:
        return False
    if len(seen) >= _DATE_CACHE_MAX:
        seen.clear()
    seen.add(v)
    return True


def _reader(record_type: type[msgspec.Struct] | None) -> Callable[[str], str]:
    """``name`` -> the expression that reads it from ``rec`` (a dict, or a Struct's field)."""
    if record_type is None:
        return lambda name: f"get({name!r})"
    info = msgspec.structs.fields(record_type)
    fields = {f.name for f in info}
    unset = {f.name for f in info if f.default is UNSET}

    def read(name: str) -> str:
        if name not in fields:
            return "None"
        return f"NOUNSET(rec.{name})" if name in unset else f"rec.{name}"

    return read


def _proved_storable(spec: Any) -> bool:
    """Whether passing the field's rule already proves its value storable.

    An ``integer`` passes only inside the 64-bit range, a ``float`` only finite, a ``date``
    (with no ``allowed`` list) only as a 10-character ISO date; None is storable. Strings
    may still hold a NUL or a lone surrogate, so they are scanned.
    """
    if not isinstance(spec, Mapping):
        return False
    typ = spec.get("type")
    return typ in ("integer", "float") or (typ == "date" and spec.get("allowed") is None)


def _no_unset(v: Any) -> Any:
    return None if v is UNSET else v


def _field_lines(i: int, field: str, spec: Mapping[str, Any], required: bool,
                 ns: dict[str, Any], check: Any, read: Callable[[str], str]) -> list[str]:
    typ = spec.get("type")
    allowed = spec.get("allowed")
    if allowed is not None:
        ns[f"A{i}"] = frozenset(allowed)
    ns[f"CHK{i}"] = check
    lines = [f"v = {read(field)}",
             "if v is None:", "    return False" if required else "    pass", "else:"]
    conds: list[str] = []
    lo, hi = spec.get("min"), spec.get("max")
    if typ == "string":
        conds.append("v.__class__ is str")
        if spec.get("max_length") is not None:
            conds.append(f"len(v) <= {int(spec['max_length'])}")
    elif typ in ("integer", "float"):
        whole = "(v.__class__ is int and INT64_MIN <= v <= INT64_MAX)"
        conds.append(whole if typ == "integer"
                     else f"(v.__class__ is float and v - v == 0.0 or {whole})")
        if lo is not None:
            ns[f"LO{i}"] = lo
            conds.append(f"v >= LO{i}")
        if hi is not None:
            ns[f"HI{i}"] = hi
            conds.append(f"v <= HI{i}")
    elif typ == "date" and allowed is None:
        ns[f"S{i}"] = set()
        conds.append(f"v.__class__ is str and (v in S{i} or REMEMBER(v, S{i}))")
    elif check is not None:
        # A date with an allowed list, or an untyped allowed list: the field's own check.
        return lines + [f"    if CHK{i}(v) is not None: return False"]
    if allowed is not None:
        conds.append(f"v in A{i}")
    if not conds:
        return lines + ["    pass"]
    return lines + [f"    if not ({' and '.join(conds)}): return False"]


def compile_clean_check(
    schema: Mapping[str, Any],
    fields: Sequence[tuple[str, bool, Any]],
    rules: Iterable[tuple[str, Callable[..., Any]]],
    *,
    surrogate: re.Pattern[str],
    ctr_tolerance: float,
    stock: Mapping[str, Callable[..., Any]],
    record_type: type[msgspec.Struct] | None = None,
) -> CleanCheck:
    """The generated ``clean(rec)`` for ``schema`` (its compiled ``fields``) and ``rules``.

    A rule is inlined only while it is still the ``stock`` function of its name. Without
    ``record_type`` the function takes a dict; with it, a record Struct of that type.
    """
    rule_list = list(rules)
    ns: dict[str, Any] = {
        "INT64_MIN": INT64_MIN, "INT64_MAX": INT64_MAX, "REMEMBER": _remember_date,
        "SURROGATE": surrogate, "CTR_TOLERANCE": ctr_tolerance,
        "RULES": dict(rule_list), "NOUNSET": _no_unset, "TODICT": as_dict,
    }
    read = _reader(record_type)
    # What a rule that is not inlined is handed: the record itself, or its dict form.
    arg = "rec" if record_type is None else "TODICT(rec)"
    body = ["get = rec.get"] if record_type is None else []
    for i, (field, required, check) in enumerate(fields):
        body += _field_lines(i, field, schema[field], required, ns, check, read)
    # Storability of every value, in the schema or not (see validation's docstring).
    scan = [
        "cls = v.__class__",
        "if cls is str:",
        "    if '\\x00' in v or (not v.isascii() and SURROGATE.search(v) is not None):",
        "        return False",
        "elif cls is int:",
        "    if not INT64_MIN <= v <= INT64_MAX: return False",
        "elif cls is float:",
        "    if v - v != 0: return False",
    ]
    if record_type is None:
        body += ["for v in rec.values():", "    if v is None: continue",
                 *(f"    {line}" for line in scan)]
    else:
        # A Struct's fields are known: the scan is unrolled over those whose rule above
        # has not already proved the value storable (see _proved_storable).
        for name in (f.name for f in msgspec.structs.fields(record_type)):
            if not _proved_storable(schema.get(name)):
                body += [f"v = rec.{name}", "if v is not None:",
                         *(f"    {line}" for line in scan)]
    for j, (name, fn) in enumerate(rule_list):
        inline = _INLINE_RULES.get(name)
        if inline is not None and stock.get(name) is fn:
            body += [_GET.sub(lambda m: read(m.group(1)), line).replace("](rec)", f"]({arg})")
                     for line in inline]
        else:
            ns[f"R{j}"] = fn
            body.append(f"if R{j}({arg}) is not None: return False")
    body.append("return True")
    src = "def clean(rec):\n" + "".join(f"    {line}\n" for line in body)
    exec(compile(src, f"<clean check of {len(fields)} fields>", "exec"), ns)  # noqa: S102
    clean: CleanCheck = ns["clean"]
    clean.__doc__ = src  # the generated source, for whoever debugs it
    return clean
