"""Tables for what the daemon derives from the loaded rows (schema migration 2).

- ``ad_creative_features``: per ad, the text and image enrichments of its current creative
  (typed columns, one per feature, so models and SQL read them directly);
- ``ad_history`` / ``ad_benchmarks``: per ad and day, rolling 7/28-day performance and
  percentiles among comparable ads;
- the rollup tables of ``transforms.aggregation.ROLLUP_TABLES``;
- ``quality_reports``: one row per check, account and dimension.

Column lists come from the enrichment modules themselves, so a feature cannot exist in
code without its column.
"""

from __future__ import annotations

from ..schema import AD_FIELDS, AD_KEY
from ..transforms.aggregation import ROLLUP_TABLES
from ..transforms.enrichment import competitive, entities, history, image, sentiment, topics
from .sqlite_schema import SQLITE, Dialect, column_type

#: Enrichments computed once per creative, stored in ``ad_creative_features``.
CREATIVE_COLUMNS: tuple[tuple[str, str], ...] = (
    *sentiment.columns(), *topics.columns(), *entities.columns(), *image.columns(),
)
HISTORY_COLUMNS: tuple[tuple[str, str], ...] = tuple(history.columns())
BENCHMARK_COLUMNS: tuple[tuple[str, str], ...] = (("topic", "TEXT"), *competitive.columns())

AD_KEY_COLUMNS = ("platform", "account_id", "ad_id")
AD_DAY_KEY_COLUMNS = ("platform", "account_id", "ad_id", "date")


def _table(name: str, key: tuple[str, ...], cols: tuple[tuple[str, str], ...],
           extra: tuple[tuple[str, str], ...], d: Dialect) -> str:
    lines = [f"  {k} TEXT NOT NULL" for k in key]
    lines += [f"  {c} {t}" for c, t in (*extra, *cols)]
    lines.append(f"  PRIMARY KEY ({', '.join(key)})")
    return f"CREATE TABLE IF NOT EXISTS {name} (\n" + ",\n".join(lines) + f"\n){d.table_suffix}"


def analytics_ddl(d: Dialect = SQLITE) -> list[str]:
    """DDL of migration 2."""
    out = [
        _table("ad_creative_features", AD_KEY_COLUMNS, CREATIVE_COLUMNS,
               (("creative_hash", "TEXT NOT NULL"), ("enrichments", "TEXT NOT NULL"),
                ("enriched_at", "TEXT NOT NULL")), d),
        _table("ad_history", AD_DAY_KEY_COLUMNS, HISTORY_COLUMNS,
               (("computed_at", "TEXT NOT NULL"),), d),
        _table("ad_benchmarks", AD_DAY_KEY_COLUMNS, BENCHMARK_COLUMNS,
               (("computed_at", "TEXT NOT NULL"),), d),
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
    for name, (cols, key) in ROLLUP_TABLES.items():
        lines = [f"  {c} {t}" for c, t in cols] + [f"  PRIMARY KEY ({', '.join(key)})"]
        out.append(f"CREATE TABLE IF NOT EXISTS {name} (\n" + ",\n".join(lines)
                   + f"\n){d.table_suffix}")
    return out


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
    "ad_creative_features", "ad_history", "ad_benchmarks", "quality_reports",
    "unified_ad_data", *ROLLUP_TABLES,
)
