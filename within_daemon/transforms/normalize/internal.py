"""The company's own rows -> normalized ad-day records, by a configured field map (pure).

Internal data has no fixed shape: ``[platforms.internal]`` says which source column feeds
which unified field (``field_map``), which fields are the same for every row
(``constants``) and how the date column is spelled (``date_format``). This module applies
that mapping; it does no I/O.

Values are coerced like the other normalizers do: counts to ``int``, money and ratios to
``float``, dates (``date``, ``start_date``, ``end_date``) to ISO strings, ids to strings.
An empty cell is ``None``. A value that does not parse stays raw, so the validator names it
and the pipeline quarantines the row. ``platform`` is always ``"internal"``; a missing
``account_id`` is the pipeline's account. Derived fields are computed only when the source
does not map them: ``ctr`` = clicks / impressions, ``conversion_rate`` = conversions /
clicks, ``cpa`` = spend / conversions, ``roas`` = revenue / spend. A mapped ``ctr`` must
be a fraction (0.02), not a percentage.

One record per input row, in input order, so the validator's ``index`` points at the row.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import msgspec

from within_daemon.records import AdDay
from within_daemon.schema import AD_DATA_SCHEMA, AD_FIELDS, AccountInfo
from within_daemon.transforms.normalize.values import (
    NormalizerSettings,
    as_conversions,
    as_float,
    as_int,
    derived_ratios,
)

PLATFORM = "internal"

#: Conversions are real numbers (attribution models credit fractions; see schema.py).
COUNT_FIELDS = frozenset({"impressions", "clicks"})
FLOAT_FIELDS = frozenset({"ctr", "spend", "conversion_rate", "cpa", "roas", "relevance_score",
                          "quality_score", "revenue", "conversions"})
DATE_FIELDS = frozenset({"date", "start_date", "end_date"})
ID_FIELDS = frozenset({"ad_id", "account_id", "campaign_id", "ad_group_id"})
STATUSES = frozenset({"active", "paused", "archived", "deleted", "other"})
#: Words other ad systems use for the same states (Google's ENABLED / REMOVED, ...).
_STATUS_ALIASES = {"enabled": "active", "disabled": "paused", "removed": "deleted"}
_INT64_MAX = 2**63 - 1
#: Fields the source must provide (by column or constant), or every row would be rejected.
REQUIRED_FIELDS: tuple[str, ...] = tuple(
    f for f, rule in AD_DATA_SCHEMA.items()
    if rule.get("required") and f not in ("platform", "account_id")
)



def _internal_schema() -> dict[str, dict[str, Any]]:
    """The default ad schema, plus a type for every field a mapping can fill.

    The API normalizers compute ``cpa``, ``campaign_id`` ... themselves, so the default
    schema need not type them; here any field can come raw from a column, and a raw
    ``"n/a"`` in a REAL column (or a 20-digit count) would make the database refuse the
    whole chunk instead of one row being quarantined.
    """
    schema = {f: dict(rule) for f, rule in AD_DATA_SCHEMA.items()}
    for f in AD_FIELDS:
        rule = schema.setdefault(f, {})
        if f in COUNT_FIELDS:
            rule.setdefault("type", "integer")
            rule["max"] = _INT64_MAX
        elif f in FLOAT_FIELDS:
            rule.setdefault("type", "float")
        elif f in DATE_FIELDS:
            rule.setdefault("type", "date")
        else:
            rule.setdefault("type", "string")
    return schema


#: Validation schema for internal records (a superset of ``AD_DATA_SCHEMA``).
INTERNAL_AD_SCHEMA: dict[str, dict[str, Any]] = _internal_schema()


class InternalMapping(msgspec.Struct, frozen=True, kw_only=True):
    """How source columns become unified fields (from ``[platforms.internal]``)."""

    field_map: dict[str, str]
    constants: dict[str, str] = msgspec.field(default_factory=dict)
    date_format: str = "%Y-%m-%d"
    #: ``account_id`` of rows that neither map nor set one.
    account_id: str | None = None


def mapping_problems(mapping: InternalMapping) -> list[str]:
    """What is wrong with a mapping, one sentence each (empty when it can be used)."""
    out: list[str] = []
    known = set(AD_FIELDS)
    for where, fields in (("field_map", mapping.field_map), ("constants", mapping.constants)):
        unknown = sorted(set(fields) - known)
        if unknown:
            out.append(f"{where} names unknown fields {unknown}")
        if "platform" in fields:
            out.append(f"{where} may not set platform (it is always {PLATFORM!r})")
    both = sorted(set(mapping.field_map) & set(mapping.constants))
    if both:
        out.append(f"fields {both} are in both field_map and constants; keep one")
    have = set(mapping.field_map) | set(mapping.constants)
    missing = [f for f in REQUIRED_FIELDS if f not in have]
    if missing:
        out.append(f"field_map must map the required fields {missing}")
    try:
        _dt.datetime.strptime(_dt.date(2024, 1, 31).strftime(mapping.date_format),
                              mapping.date_format)
    except ValueError as exc:
        out.append(f"date_format {mapping.date_format!r} does not round-trip a date: {exc}")
    return out


def _blank(v: Any) -> bool:
    return v is None or (v.__class__ is str and not v.strip())


def _id(v: Any) -> Any:
    """Ids as strings: integral numbers (SQL INTEGER ids, JSON numbers) become digits."""
    if v.__class__ is int:
        return str(v)
    if v.__class__ is float and v.is_integer():
        return str(int(v))
    if v.__class__ is str:
        return v.strip()
    return v


def _date_parser(fmt: str) -> Callable[[Any], Any]:
    """A parser to ISO for one format; cached per value, since a batch repeats few dates."""
    seen: dict[str, str] = {}

    def parse(v: Any) -> Any:
        if isinstance(v, _dt.datetime):
            return v.date().isoformat()
        if isinstance(v, _dt.date):
            return v.isoformat()
        if v.__class__ is int:  # 20240131 with date_format "%Y%m%d"
            text = str(v)
        elif v.__class__ is str:
            text = v.strip()
        else:
            return v
        hit = seen.get(text)
        if hit is not None:
            return hit
        try:
            iso = _dt.datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            # SQL DATETIME columns come back as "2024-01-31 00:00:00": accept a time part
            # after a date that parses on its own.
            head, sep, _ = text.partition(" ") if " " in text else text.partition("T")
            if not sep:
                return v
            try:
                iso = _dt.datetime.strptime(head, fmt).date().isoformat()
            except ValueError:
                return v
        if len(seen) < 10_000:
            seen[text] = iso
        return iso

    return parse


def _status(v: Any) -> Any:
    if v.__class__ is not str:
        return v
    s = v.strip().lower()
    s = _STATUS_ALIASES.get(s, s)
    return s if s in STATUSES else "other"


def _text(v: Any) -> Any:
    return v.strip() if v.__class__ is str else v


def _coercers(mapping: InternalMapping) -> dict[str, Callable[[Any], Any]]:
    date = _date_parser(mapping.date_format)
    out: dict[str, Callable[[Any], Any]] = {}
    for f in AD_FIELDS:
        if f in COUNT_FIELDS:
            out[f] = as_int
        elif f == "conversions":
            out[f] = as_conversions
        elif f in FLOAT_FIELDS:
            out[f] = as_float
        elif f in DATE_FIELDS:
            out[f] = date
        elif f in ID_FIELDS:
            out[f] = _id
        elif f == "status":
            out[f] = _status
        else:
            out[f] = _text
    return out


def normalize_internal(rows: Iterable[Any], mapping: InternalMapping) -> list[AdDay]:
    """Source rows (dicts keyed by column) -> ad-day records (``AD_FIELDS``, no extras).

    Fields are set by name from the field map, so a record is built as a dict first.
    """
    coerce = _coercers(mapping)
    # Constants are parsed once: they are strings in the config whatever the field's type.
    fixed = {f: coerce[f](v) for f, v in mapping.constants.items() if not _blank(v)}
    columns = [(f, c) for f, c in mapping.field_map.items() if f in coerce and f != "platform"]
    template: dict[str, Any] = dict.fromkeys(AD_FIELDS)
    template.update(fixed)
    template["platform"] = PLATFORM
    if template["account_id"] is None:
        template["account_id"] = mapping.account_id
    derive_ctr = "ctr" not in mapping.field_map and "ctr" not in fixed
    derive_cr = "conversion_rate" not in mapping.field_map and "conversion_rate" not in fixed
    derive_cpa = "cpa" not in mapping.field_map and "cpa" not in fixed
    derive_roas = "roas" not in mapping.field_map and "roas" not in fixed
    out: list[AdDay] = []
    for row in rows:
        if not isinstance(row, Mapping):
            row = {}
        rec = template.copy()
        for field, col in columns:
            v = row.get(col)
            rec[field] = None if _blank(v) else coerce[field](v)
        if rec["account_id"] is None:
            rec["account_id"] = mapping.account_id  # a blank cell falls back, like no column
        _derive(rec, derive_ctr, derive_cr, derive_cpa, derive_roas)
        out.append(AdDay(**rec))
    return out


def _derive(rec: dict[str, Any], ctr: bool, cr: bool, cpa: bool, roas: bool) -> None:
    values = derived_ratios(rec["impressions"], rec["clicks"], rec["spend"],
                            rec["conversions"], rec["revenue"])
    # Only the ratios the mapping does not supply itself are derived.
    for name, wanted, value in zip(("ctr", "conversion_rate", "cpa", "roas"),
                                   (ctr, cr, cpa, roas), values, strict=True):
        if wanted:
            rec[name] = value


def internal_ads(
    cfg: NormalizerSettings,
    data: Iterable[Any],
    *,
    ads: Mapping[str, Any] | None = None,
    account: AccountInfo,
) -> list[AdDay]:
    """The form in ``normalize.registry``: the mapping travels in ``account.details``.

    ``details`` holds an ``InternalMapping`` under ``mapping``, or its parts (``field_map``,
    ``constants``, ``date_format``); the account id is the account's.
    """
    acct = account.details
    mapping = acct.get("mapping")
    if not isinstance(mapping, InternalMapping):
        mapping = InternalMapping(
            field_map=dict(acct.get("field_map") or {}),
            constants=dict(acct.get("constants") or {}),
            date_format=str(acct.get("date_format") or "%Y-%m-%d"),
            account_id=account.account_id,
        )
    return normalize_internal(data, mapping)
