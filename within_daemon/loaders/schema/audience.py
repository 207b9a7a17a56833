"""Tables of the audience insights (schema migrations 4 and 12).

- ``audience_data``: per ad, day, age band and gender, the delivery of that segment;
- ``ad_audience_summary``: per ad, the top age band and the gender split of its impressions.

Their columns come from ``transforms.enrichment.audience``. Migration 12 adds ``level`` to
both: ``ad``, or ``ad_group`` for Google, whose demographics exist per ad group only
(``ad_id`` then holds the ad group id). Google's age and gender come apart: an age row has
``gender = "all"``, a gender row ``age = "all"``. The writes are in ``loaders.audience``.
"""

from __future__ import annotations

from collections.abc import Sequence

from within_daemon.transforms.enrichment import audience

from .dialect import SQLITE, Dialect
from .tables import keyed_table_ddl

AUDIENCE_TABLE = "audience_data"
SUMMARY_TABLE = "ad_audience_summary"
AUDIENCE_TABLES: tuple[str, ...] = (AUDIENCE_TABLE, SUMMARY_TABLE)


def _table(name: str, key: Sequence[str], cols: Sequence[tuple[str, str]], d: Dialect) -> str:
    return keyed_table_ddl(name, key, (*cols, ("computed_at", "TEXT NOT NULL")), d)


def audience_ddl(d: Dialect = SQLITE) -> list[str]:
    """DDL of migration 4."""
    return [
        _table(AUDIENCE_TABLE, audience.AUDIENCE_KEY, audience.AUDIENCE_COLUMNS, d),
        _table(SUMMARY_TABLE, audience.SUMMARY_KEY, audience.columns(), d),
    ]


def audience_level_ddl() -> list[str]:
    """DDL of migration 12: what ``ad_id`` names (existing rows are Facebook ads)."""
    return [f"ALTER TABLE {t} ADD COLUMN level TEXT NOT NULL DEFAULT 'ad'"
            for t in AUDIENCE_TABLES]
