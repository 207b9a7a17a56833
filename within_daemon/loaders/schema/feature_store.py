"""The feature store's tables (schema migration 6): ``feature_online`` and ``feature_history``.

Long format, one row per (entity, key, feature), ``WITHOUT ROWID`` on SQLite so the primary
key is the table's own B-tree; on PostgreSQL a plain heap plus its primary-key index, the
text key columns ``COLLATE "C"`` so keys compare byte by byte as in SQLite. What the
columns mean, and why, is told in ``loaders.feature_store``.
"""

from __future__ import annotations

from within_daemon.features import ENTITIES

from .dialect import SQLITE, Dialect

FEATURE_TABLES: tuple[str, ...] = ("feature_online", "feature_history")


def feature_store_ddl(d: Dialect = SQLITE) -> list[str]:
    """DDL of migration 6."""
    options = ", ".join(o for o in (
        "WITHOUT ROWID" if d.name == "sqlite" else "", d.table_suffix.strip()) if o)
    suffix = f" {options}" if options else ""
    entities = ", ".join(f"'{e}'" for e in ENTITIES)
    # SQLite compares TEXT as bytes; PostgreSQL by the database's locale, in which
    # "ad_2" < "ad1" and the index order (the export's page order) would differ. "C" is
    # byte order there too, and the faster comparison.
    key = "TEXT NOT NULL" + ("" if d.name == "sqlite" else ' COLLATE "C"')
    return [
        f"""CREATE TABLE IF NOT EXISTS feature_online (
  entity {key} CHECK (entity IN ({entities})),
  entity_key {key},
  feature {key},
  value_real REAL,
  value_text TEXT,
  event_timestamp {key},
  PRIMARY KEY (entity, entity_key, feature)
){suffix}""",
        f"""CREATE TABLE IF NOT EXISTS feature_history (
  entity {key} CHECK (entity IN ({entities})),
  entity_key {key},
  feature {key},
  event_timestamp {key},
  created_timestamp TEXT NOT NULL,
  value_real REAL,
  value_text TEXT,
  PRIMARY KEY (entity, entity_key, feature, event_timestamp)
){suffix}""",
    ]
