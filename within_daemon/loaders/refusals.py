"""Which database errors are about the values of a batch, as opposed to the connection.

The loader bisects a batch the database refuses (:mod:`.isolate`); that only makes sense
when the refusal is about some rows' values. A dropped connection, a lock timeout or a
failover is retried as a whole instead.
"""

from __future__ import annotations

import sqlite3

#: SQLSTATE classes of errors about the data, not the connection: 22 data exception (a NUL
#: in text, a number out of range), 23 integrity constraint (a CHECK), 54 program limit
#: exceeded (an index row too large for its btree page).
_REFUSED_SQLSTATE = ("22", "23", "54")


def refused_values(exc: BaseException) -> bool:
    """True when the database (or its driver) refused the values, not the connection.

    asyncpg reports server errors with ``sqlstate`` and values it cannot encode as
    TypeError / ValueError / OverflowError (UnicodeEncodeError for a lone surrogate);
    sqlite3 raises IntegrityError for CHECK and STRICT type failures, OverflowError for
    integers past 64 bits and ProgrammingError for a value of a type it cannot bind.
    """
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate[:2] in _REFUSED_SQLSTATE
    if isinstance(exc, sqlite3.IntegrityError | sqlite3.DataError):
        return True
    if isinstance(exc, sqlite3.ProgrammingError):
        return str(exc).startswith("Error binding parameter")
    if isinstance(exc, sqlite3.Error):
        return False
    return isinstance(exc, TypeError | ValueError | OverflowError)


def first_line(exc: BaseException) -> str:
    """The reason of a database error: its first line, at most 300 characters."""
    # PostgreSQL's DETAIL lines repeat the whole failing row; the first line is the reason.
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return first if len(first) <= 300 else first[:297] + "..."
