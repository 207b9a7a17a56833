"""The two SQL dialects the loader speaks, SQLite and PostgreSQL, and where they differ.

Every table and statement is written once, in SQLite's spelling with ``?`` markers; a
:class:`Dialect` holds the few bits that differ (surrogate key, ``STRICT``, null-safe
equality, the server clock, the day check). :data:`SQLITE` and :data:`POSTGRES` are the
two instances; the PostgreSQL backend (``loaders.backends``) also renumbers the markers and
widens the numeric types when it runs a statement.
"""

from __future__ import annotations

from dataclasses import dataclass

# A cheap shape check: the ledger and the fact tables must agree on how a day is spelled, or
# "is this day complete?" silently answers no.
_ISO_DAY = "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'"


@dataclass(frozen=True)
class Dialect:
    """The few bits of SQL that differ between databases."""

    name: str
    #: Positional parameter marker as the statements are written ("?" for both backends).
    placeholder: str
    #: Column definition of a surrogate integer primary key.
    serial_pk: str
    #: Appended to CREATE TABLE; SQLite's STRICT makes a wrong type an error, not a coercion.
    table_suffix: str
    #: Equality that holds for two NULLs.
    null_safe_eq: str = "IS"
    #: The database server's clock in unix seconds (leases compare against one clock, not
    #: each replica's).
    now_epoch: str = "((julianday('now') - 2440587.5) * 86400.0)"

    def params(self, n: int) -> str:
        return ", ".join([self.placeholder] * n)

    def render(self, sql: str) -> str:
        """A statement written with ``?`` markers and ``IS ?``, in this dialect's spelling."""
        # Statements are written once with "?" markers (no literal in them contains "?") and
        # "IS" for null-safe equality; a dialect swaps in its own spelling.
        return sql.replace(" IS ?", f" {self.null_safe_eq} ?").replace("?", self.placeholder)


SQLITE = Dialect(
    name="sqlite", placeholder="?", serial_pk="INTEGER PRIMARY KEY", table_suffix=" STRICT",
)
#: Statements keep "?" here; the PostgreSQL backend numbers them ($1, $2, ...) when it runs
#: them, together with every other statement the modules above the loader write.
POSTGRES = Dialect(
    name="postgresql", placeholder="?", serial_pk="BIGSERIAL PRIMARY KEY", table_suffix="",
    null_safe_eq="IS NOT DISTINCT FROM",
    now_epoch="CAST(extract(epoch from clock_timestamp()) AS DOUBLE PRECISION)",
)


def day_check(column: str, d: Dialect) -> str:
    if d.name == "sqlite":
        return f"{column} GLOB {_ISO_DAY}"
    return f"{column} ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$'"
