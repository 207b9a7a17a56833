"""The ordered list of schema migrations, the same on SQLite and PostgreSQL.

Migrations are append-only: a released migration is never edited, a schema change is a new
entry (its DDL in the module of its tables, beside this one). The loader applies the
pending ones at open, each in one transaction, and records them in ``schema_migrations``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .analytics import analytics_ddl, creative_history_ddl, unified_ddl
from .audience import audience_ddl, audience_level_ddl
from .conversions import as_released, conversions_to_real
from .dialect import SQLITE, Dialect
from .feature_store import feature_store_ddl, feature_views_ddl
from .image_failures import image_failures_ddl
from .ledger_kinds import ledger_audience_kind
from .post_load import post_load_ddl
from .tables import ACCOUNT_TABLE, AD_TABLE, cluster_ddl, fact_table_ddl, support_ddl

MIGRATIONS_TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def migrations(d: Dialect = SQLITE) -> tuple[Migration, ...]:
    """The ordered migration list; append new versions, never edit applied ones."""
    # Migrations 1-3 build their DDL from today's column types; as_released keeps the
    # conversion columns INTEGER there, as released, and migration 13 makes them REAL.
    return (
        Migration(
            1,
            "fact tables, quarantine, runs, ledger",
            as_released((fact_table_ddl(AD_TABLE, d), fact_table_ddl(ACCOUNT_TABLE, d),
                         *support_ddl(d))),
        ),
        Migration(
            2,
            "creative features, history, benchmarks, rollups, quality reports",
            as_released(analytics_ddl(d)),
        ),
        Migration(3, "unified cross-platform dataset", as_released(unified_ddl(d))),
        Migration(4, "audience insights", tuple(audience_ddl(d))),
        Migration(5, "attribution window of ad rows",
                  ("ALTER TABLE ad_data ADD COLUMN attribution_window TEXT",)),
        Migration(6, "feature store", tuple(feature_store_ddl(d))),
        Migration(7, "replicas, leases and task slots for several daemons", (
            *cluster_ddl(d), "ALTER TABLE runs ADD COLUMN holder TEXT")),
        Migration(8, "dated versions of ad creatives", tuple(creative_history_ddl(d))),
        Migration(9, "link clicks of ad rows", (
            "ALTER TABLE ad_data ADD COLUMN link_clicks INTEGER",
        )),
        Migration(10, "image fetch failures", tuple(image_failures_ddl(d))),
        Migration(12, "audience level: ad, or ad group (Google)", tuple(audience_level_ddl())),
        # Last, so the tables it rebuilds (SQLite) already have every column added before.
        Migration(13, "conversions as real numbers (fractional attribution)",
                  conversions_to_real(d)),
        Migration(14, "ledger kind 'audience' (days of the audience breakdowns)",
                  ledger_audience_kind(d)),
        Migration(15, "feature history as one wide table per feature view",
                  tuple(feature_views_ddl(d))),
        Migration(16, "how far each account's post-load got", tuple(post_load_ddl(d))),
    )
