"""The rollup tables: one per grain of ``transforms.aggregation.ROLLUP_GRAIN``.

The columns come from the transform's ``ROLLUP_FIELDS`` (``(name, Python type)``) through
:func:`~.columns.sql_columns`, so a rollup column cannot exist in code without its column
here. Text keys are ``NOT NULL`` (the transform coalesces them to ``""``: a ``NULL`` in a
primary key never matches on upsert), as are the two counts; sums and ratios may be
``NULL``.
"""

from __future__ import annotations

from within_daemon.transforms.aggregation import ROLLUP_FIELDS, ROLLUP_KEYS

from .columns import sql_columns
from .dialect import SQLITE, Dialect

#: Rollup table -> (columns as ``(name, SQL type)`` in result order, primary key).
ROLLUP_TABLES: dict[str, tuple[list[tuple[str, str]], tuple[str, ...]]] = {
    name: ([*sql_columns(always, not_null=True), *sql_columns(maybe)], ROLLUP_KEYS[name])
    for name, (always, maybe) in ROLLUP_FIELDS.items()
}


def rollup_ddl(name: str, d: Dialect = SQLITE) -> str:
    """``CREATE TABLE`` of one rollup table, as today's column types have it."""
    cols, key = ROLLUP_TABLES[name]
    lines = [f"  {c} {t}" for c, t in cols] + [f"  PRIMARY KEY ({', '.join(key)})"]
    return (f"CREATE TABLE IF NOT EXISTS {name} (\n" + ",\n".join(lines)
            + f"\n){d.table_suffix}")
