"""Columns from feature fields: the one place a Python scalar type becomes an SQL type.

Enrichers describe what they fill as ``(name, scalar type)`` (``transforms.enrichment
.fields``); the derived tables are built from those lists through :func:`sql_columns`, so a
feature cannot exist in code without its column, and no transform names a database type.
Types are SQLite's spelling; the PostgreSQL backend widens them when it runs the DDL.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

#: Booleans are stored as 0/1 integers (SQLite has no boolean; PostgreSQL reads them alike).
SQL_TYPES: Final[dict[type, str]] = {bool: "INTEGER", int: "INTEGER", float: "REAL", str: "TEXT"}


def sql_type(scalar: type) -> str:
    """The column type of a feature of this scalar type."""
    try:
        return SQL_TYPES[scalar]
    except KeyError:
        raise TypeError(f"no column type for {scalar!r}; features are bool/int/float/str") \
            from None


def sql_columns(fields: Iterable[tuple[str, type]], *,
                not_null: bool = False) -> tuple[tuple[str, str], ...]:
    """``(column, SQL type)`` for each ``(field, scalar type)``; NOT NULL when asked."""
    suffix = " NOT NULL" if not_null else ""
    return tuple((name, sql_type(scalar) + suffix) for name, scalar in fields)
