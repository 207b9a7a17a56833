"""Schema migration 13: conversions become real numbers in every table that stores them.

Until migration 13 ``conversions`` (ad rows, rollups, the unified dataset) and
``daily_conversions`` (account rows) were ``INTEGER``, as the seed's schema has them. Google's
``metrics.conversions`` is a double (data-driven attribution credits fractions of a
conversion to each ad; docs/api-reference.md §0), and rounding each ad-day loses conversions, skews
CPA
and makes ad rows disagree with the account's total, so the columns are ``REAL`` now.

Migrations 1 to 3 are released and must keep creating what they created, so their DDL (built
from today's column types) is passed through :func:`as_released` to spell the conversion
columns ``INTEGER`` again; a new database then takes the same path as an old one.

How each backend changes a column's type:

- PostgreSQL types columns for real (``BIGINT`` would refuse 2.5): ``ALTER COLUMN ... TYPE``
  (``REAL`` is rendered ``DOUBLE PRECISION`` by the backend), which rewrites the table.
- SQLite tables here are ``STRICT``: the declared type is enforced, so an ``INTEGER``
  column rejects 2.5 ("cannot store REAL value in INTEGER column"), and SQLite cannot alter a
  column's type. Each table is rebuilt as SQLite's documented "12-step" procedure does
  (sqlite.org/lang_altertable.html, "making other kinds of table schema changes"): create
  the new table, copy every row, drop the old one, rename, re-create its indexes. All inside
  the migration's one transaction, so an interrupted migration leaves the old tables.
  Whole numbers already stored are copied as REAL (2 -> 2.0), which loses nothing.

The rebuilt tables take the column lists migration 13 knows: the fact tables' extras are
frozen in ``_FROZEN_EXTRAS``; the rollup and unified tables come from today's definitions, so a
later change to those tables must freeze their migration-13 form here first.
"""

from __future__ import annotations

import re

from .analytics import unified_ddl
from .dialect import Dialect
from .rollups import ROLLUP_TABLES, rollup_ddl
from .tables import ACCOUNT_TABLE, AD_TABLE, PROVENANCE, fact_table_ddl

#: The conversion columns and the tables that carry them.
CONVERSION_COLUMNS: dict[str, tuple[str, ...]] = {
    "ad_data": ("conversions",),
    "account_data": ("daily_conversions",),
    "unified_ad_data": ("conversions",),
    **{name: ("conversions",) for name in ROLLUP_TABLES},
}
#: The fact tables' columns added by migrations before 13, frozen here: a column a later
#: migration adds must not appear in this rebuild (it does not exist yet when 13 runs).
_FROZEN_EXTRAS: dict[str, tuple[str, ...]] = {
    "ad_data": ("attribution_window", "link_clicks"), "account_data": ()}
#: Indexes to re-create after a SQLite rebuild (dropping a table drops its indexes).
_INDEXES: dict[str, tuple[str, ...]] = {
    "ad_data": ("CREATE INDEX IF NOT EXISTS ad_data_by_date ON ad_data (date)",),
    "unified_ad_data": (
        "CREATE INDEX IF NOT EXISTS unified_ad_data_by_date ON unified_ad_data (date)",),
}
_RELEASED = re.compile(r"\b((?:daily_)?conversions) REAL\b")


def as_released(statements: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """DDL of migrations 1-3 as released: the conversion columns ``INTEGER``."""
    return tuple(_RELEASED.sub(r"\1 INTEGER", s) for s in statements)


def _create(table: str, d: Dialect) -> tuple[str, tuple[str, ...]]:
    """Today's ``CREATE TABLE`` of ``table`` (named ``table``) and its columns in order."""
    if table in ("ad_data", "account_data"):
        t = AD_TABLE if table == "ad_data" else ACCOUNT_TABLE
        # Column order as the released migrations left it: extras were added by ALTER.
        extras = _FROZEN_EXTRAS[table]
        return fact_table_ddl(t, d, extras=extras), (*t.fields, *PROVENANCE, *extras)
    if table == "unified_ad_data":
        ddl = unified_ddl(d)[0]
    else:
        ddl = rollup_ddl(table, d)
    cols = tuple(re.findall(r"^  (\w+) ", ddl, flags=re.MULTILINE))
    return ddl, tuple(c for c in cols if c != "PRIMARY")


def conversions_to_real(d: Dialect) -> tuple[str, ...]:
    """Statements of migration 13 on one backend."""
    out: list[str] = []
    for table, columns in CONVERSION_COLUMNS.items():
        if d.name == "postgresql":
            out += [f"ALTER TABLE {table} ALTER COLUMN {c} TYPE REAL" for c in columns]
            continue
        ddl, cols = _create(table, d)
        head = f"CREATE TABLE IF NOT EXISTS {table} ("
        if not ddl.startswith(head):
            raise RuntimeError(f"unexpected DDL of {table}: {ddl[:60]!r}")
        new = f"{table}__m9"
        names = ", ".join(cols)
        out += [
            f"DROP TABLE IF EXISTS {new}",
            f"CREATE TABLE {new} (" + ddl[len(head):],
            f"INSERT INTO {new} ({names}) SELECT {names} FROM {table}",
            f"DROP TABLE {table}",
            f"ALTER TABLE {new} RENAME TO {table}",
            *_INDEXES.get(table, ()),
        ]
    return tuple(out)
