"""Tables for what the daemon derives from the loaded rows (schema migrations 2, 3 and 8).

- ``ad_creative_features``: per ad, the text and image enrichments of its current creative
  (typed columns, one per feature, so models and SQL read them directly);
- ``ad_creative_history``: every creative an ad has been seen with, each valid from the day
  it was first observed, so a dated row can take the creative it ran with that day
  (migration 8; see :func:`creative_history_ddl`);
- ``ad_history`` / ``ad_benchmarks``: per ad and day, rolling 7/28-day performance and
  percentiles among comparable ads;
- the rollup tables (``schema.rollups``);
- ``quality_reports``: one row per check, account and dimension.

Column lists come from the enrichment modules themselves, so a feature cannot exist in
code without its column.
"""

from __future__ import annotations

from within_daemon.schema import AD_FIELDS, AD_KEY
from within_daemon.transforms.enrichment import (
    competitive,
    entities,
    history,
    image,
    sentiment,
    topics,
)

from .columns import sql_columns
from .dialect import SQLITE, Dialect, day_check
from .rollups import ROLLUP_TABLES, rollup_ddl
from .tables import column_type, keyed_table_ddl

#: Enrichments computed once per creative, stored in ``ad_creative_features``.
CREATIVE_COLUMNS: tuple[tuple[str, str], ...] = sql_columns((
    *sentiment.fields(), *topics.fields(), *entities.fields(), *image.fields(),
))
HISTORY_COLUMNS: tuple[tuple[str, str], ...] = sql_columns(history.fields())
BENCHMARK_COLUMNS: tuple[tuple[str, str], ...] = sql_columns((("topic", str),
                                                              *competitive.fields()))

AD_KEY_COLUMNS = ("platform", "account_id", "ad_id")
AD_DAY_KEY_COLUMNS = ("platform", "account_id", "ad_id", "date")
CREATIVE_VERSION_KEY_COLUMNS = ("platform", "account_id", "ad_id", "valid_from")

#: ``valid_from`` of the first version known of an ad: it is taken to have held since the
#: beginning. The daemon only ever sees an ad's creative as it is when it looks (a backfill
#: of last year's days comes with today's creative), so before the first observation there
#: is nothing better to say; the dated ad rows of earlier days get that first version.
#: ``date.min``: a valid ISO day for Python too, and before every real one.
BEGINNING = "0001-01-01"


def analytics_ddl(d: Dialect = SQLITE) -> list[str]:
    """DDL of migration 2."""
    out = [
        keyed_table_ddl("ad_creative_features", AD_KEY_COLUMNS, (
            ("creative_hash", "TEXT NOT NULL"), ("enrichments", "TEXT NOT NULL"),
            ("enriched_at", "TEXT NOT NULL"), *CREATIVE_COLUMNS), d),
        keyed_table_ddl("ad_history", AD_DAY_KEY_COLUMNS,
                        (("computed_at", "TEXT NOT NULL"), *HISTORY_COLUMNS), d),
        keyed_table_ddl("ad_benchmarks", AD_DAY_KEY_COLUMNS,
                        (("computed_at", "TEXT NOT NULL"), *BENCHMARK_COLUMNS), d),
        f"""CREATE TABLE IF NOT EXISTS quality_reports (
  id {d.serial_pk},
  created_at TEXT NOT NULL,
  task TEXT NOT NULL,
  run_id TEXT,
  platform TEXT NOT NULL,
  account_id TEXT NOT NULL,
  dimension TEXT NOT NULL,
  score REAL NOT NULL,
  threshold REAL NOT NULL,
  passed INTEGER NOT NULL,
  record_count INTEGER NOT NULL,
  issues_json TEXT NOT NULL
){d.table_suffix}""",
        "CREATE INDEX IF NOT EXISTS quality_reports_latest "
        "ON quality_reports (platform, account_id, dimension, created_at)",
        # Rollups and benchmarks select whole days across accounts.
        "CREATE INDEX IF NOT EXISTS ad_data_by_date ON ad_data (date)",
    ]
    out += [rollup_ddl(name, d) for name in ROLLUP_TABLES]
    return out


def creative_history_ddl(d: Dialect = SQLITE) -> list[str]:
    """DDL of migration 8: the versions of each ad's creative, seeded with the current ones.

    One row per (ad, ``valid_from``): the creative's hash and enrichment columns as
    ``ad_creative_features`` has them, ``observed_at`` (when the version was first seen) and
    ``enriched_at`` (when its columns were last computed). A version holds from its
    ``valid_from`` day (the account's day) until the next version's. The creatives already
    stored become first versions, valid from :data:`BEGINNING`.
    """
    cols = ", ".join(c for c, _ in CREATIVE_COLUMNS)
    lines = [f"  {k} TEXT NOT NULL" for k in AD_KEY_COLUMNS]
    lines.append(f"  valid_from TEXT NOT NULL CHECK ({day_check('valid_from', d)})")
    lines += [f"  {c} TEXT NOT NULL" for c in (
        "creative_hash", "enrichments", "enriched_at", "observed_at")]
    lines += [f"  {c} {t}" for c, t in CREATIVE_COLUMNS]
    lines.append(f"  PRIMARY KEY ({', '.join(CREATIVE_VERSION_KEY_COLUMNS)})")
    return [
        "CREATE TABLE IF NOT EXISTS ad_creative_history (\n" + ",\n".join(lines)
        + f"\n){d.table_suffix}",
        "INSERT INTO ad_creative_history (platform, account_id, ad_id, valid_from, "
        f"creative_hash, enrichments, enriched_at, observed_at, {cols}) "
        f"SELECT platform, account_id, ad_id, '{BEGINNING}', creative_hash, enrichments, "
        f"enriched_at, enriched_at, {cols} FROM ad_creative_features",
    ]


def unified_ddl(d: Dialect = SQLITE) -> list[str]:
    """DDL of migration 3: the cross-platform dataset in one reporting currency."""
    out: list[str] = []
    unified = [(f, column_type(f)) for f in AD_FIELDS] + [
        ("spend_reporting", "REAL"), ("revenue_reporting", "REAL"), ("cpa_reporting", "REAL"),
        ("reporting_currency", "TEXT NOT NULL"), ("fx_rate", "REAL NOT NULL"),
        ("built_at", "TEXT NOT NULL")]
    lines = [f"  {c} {t}{' NOT NULL' if c in AD_KEY and 'NOT NULL' not in t else ''}"
             for c, t in unified]
    out.append("CREATE TABLE IF NOT EXISTS unified_ad_data (\n" + ",\n".join(lines)
               + f",\n  PRIMARY KEY ({', '.join(AD_KEY)})\n){d.table_suffix}")
    out.append("CREATE INDEX IF NOT EXISTS unified_ad_data_by_date ON unified_ad_data (date)")
    return out


ANALYTICS_TABLES: tuple[str, ...] = (
    "ad_creative_features", "ad_creative_history", "ad_history", "ad_benchmarks",
    "quality_reports", "unified_ad_data", *ROLLUP_TABLES,
)
