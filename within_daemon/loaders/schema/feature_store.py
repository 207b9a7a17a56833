"""The feature store's tables: ``feature_online`` (migration 6) and the feature views (15).

``feature_online`` is long, one row per (entity, key, feature): the newest value of each.
The history is one wide table per feature view, as Feast's offline store holds it: a view
is the features read from one source table for one entity (``features.FEATURES`` grouped
by ``(source_table, entity)``), its table ``feature_view_<entity>_<source_table>`` holds
one row per ``(entity_key, event_timestamp)`` with one typed column per feature (``REAL``
for numbers, ``TEXT`` for text) and the row's ``created_timestamp``. Migration 6 stored
the history long (one row per entity, key, feature and day: 18 B-tree rows per ad-day);
migration 15 pivots those rows into the view tables, drops the long table and leaves a
``VIEW`` named ``feature_history`` with the long columns, which unpivots the view tables,
so SQL written against the long table still reads the same rows.

``WITHOUT ROWID`` on SQLite so the primary key is the table's own B-tree; on PostgreSQL a
plain heap plus its primary-key index, the text key columns ``COLLATE "C"`` so keys compare
byte by byte as in SQLite. What the columns mean, and why, is told in
``loaders.feature_store``.

A view's columns are those of its features when migration 15 ran: a feature added to
``features.py`` later needs a migration of its own (``ALTER TABLE ... ADD COLUMN`` and the
``feature_history`` view created again, :func:`history_view_ddl`); the loader refuses to
open a database whose view tables lack a defined feature's column
(:func:`missing_feature_columns`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from within_daemon.features import ENTITIES, FEATURES, Entity, FeatureDef

from .dialect import SQLITE, Dialect

FEATURE_TABLES: tuple[str, ...] = ("feature_online", "feature_history")
#: The long columns of ``feature_history`` (the table of migration 6, the view since 15).
FEATURE_HISTORY_COLUMNS = ("entity", "entity_key", "feature", "event_timestamp",
                           "created_timestamp", "value_real", "value_text")
#: A view table's columns before its features' (names a feature may not take).
VIEW_KEY_COLUMNS = ("entity_key", "event_timestamp", "created_timestamp")

_IDENT = re.compile(r"[a-z_][a-z0-9_]*\Z")


@dataclass(frozen=True)
class FeatureView:
    """The features of one entity read from one source table, and their wide table."""

    entity: Entity
    source_table: str
    features: tuple[FeatureDef, ...]

    @property
    def table(self) -> str:
        return f"feature_view_{self.entity}_{self.source_table}"


def feature_views(features: Iterable[FeatureDef] = FEATURES) -> tuple[FeatureView, ...]:
    """The views of ``features``, in the order their first feature is defined; checked."""
    groups: dict[tuple[Entity, str], list[FeatureDef]] = {}
    for f in features:
        # Names become table and column names in statement text: identifiers only.
        if not (_IDENT.match(f.name) and _IDENT.match(f.source_table)
                and _IDENT.match(f.source_column)):
            raise ValueError(f"feature {f.name!r}: not an identifier")
        if f.name in VIEW_KEY_COLUMNS:
            raise ValueError(f"feature {f.name!r}: the name of a view table's key column")
        groups.setdefault((f.entity, f.source_table), []).append(f)
    return tuple(FeatureView(e, t, tuple(fs)) for (e, t), fs in groups.items())


#: The views of today's definitions.
FEATURE_VIEWS: tuple[FeatureView, ...] = feature_views()


def _options(d: Dialect) -> tuple[str, str]:
    """(table suffix, text key column type) in ``d``'s spelling."""
    options = ", ".join(o for o in (
        "WITHOUT ROWID" if d.name == "sqlite" else "", d.table_suffix.strip()) if o)
    # SQLite compares TEXT as bytes; PostgreSQL by the database's locale, in which
    # "ad_2" < "ad1" and the index order (the export's page order) would differ. "C" is
    # byte order there too, and the faster comparison.
    key = "TEXT NOT NULL" + ("" if d.name == "sqlite" else ' COLLATE "C"')
    return (f" {options}" if options else ""), key


def feature_store_ddl(d: Dialect = SQLITE) -> list[str]:
    """DDL of migration 6 (the long history table; migration 15 replaces it)."""
    suffix, key = _options(d)
    entities = ", ".join(f"'{e}'" for e in ENTITIES)
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


def column_type(f: FeatureDef) -> str:
    """A feature's column type in its view table (numbers as ``float(v)`` always were)."""
    return "TEXT" if f.dtype == "str" else "REAL"


def view_table_ddl(v: FeatureView, d: Dialect = SQLITE) -> str:
    suffix, key = _options(d)
    cols = "".join(f"  {f.name} {column_type(f)},\n" for f in v.features)
    return (f"CREATE TABLE IF NOT EXISTS {v.table} (\n  entity_key {key},\n"
            f"  event_timestamp {key},\n  created_timestamp TEXT NOT NULL,\n{cols}"
            f"  PRIMARY KEY (entity_key, event_timestamp)\n){suffix}")


def history_view_ddl(d: Dialect = SQLITE,
                     views: Sequence[FeatureView] = FEATURE_VIEWS) -> list[str]:
    """``feature_history`` as a ``VIEW`` unpivoting ``views``: the long rows, as before.

    Every view row gives one long row per feature of the view, ``NULL`` values included:
    the rows the long table held, since materializing wrote every feature of a source row.
    """
    c = "" if d.name == "sqlite" else ' COLLATE "C"'  # as the long table's key columns
    parts = []
    for v in views:
        for f in v.features:
            real, text = (("CAST(NULL AS REAL)", f.name) if f.dtype == "str"
                          else (f.name, "CAST(NULL AS TEXT)"))
            parts.append(
                f"SELECT CAST('{v.entity}' AS TEXT){c} AS entity, entity_key, "
                f"CAST('{f.name}' AS TEXT){c} AS feature, event_timestamp, created_timestamp, "
                f"{real} AS value_real, {text} AS value_text FROM {v.table}")
    return ["DROP VIEW IF EXISTS feature_history",
            "CREATE VIEW feature_history AS " + " UNION ALL ".join(parts)]


def _pivot(v: FeatureView) -> str:
    """The long rows of ``v``'s features into its table; a row's created = its values' max."""
    cols = ", ".join(f.name for f in v.features)
    vals = ", ".join(
        f"MAX(CASE WHEN feature = '{f.name}' THEN value_{'text' if f.dtype == 'str' else 'real'}"
        " END)" for f in v.features)
    names = ", ".join(f"'{f.name}'" for f in v.features)
    return (f"INSERT INTO {v.table} (entity_key, event_timestamp, created_timestamp, {cols}) "
            f"SELECT entity_key, event_timestamp, MAX(created_timestamp), {vals} "
            f"FROM feature_history WHERE entity = '{v.entity}' AND feature IN ({names}) "
            "GROUP BY entity_key, event_timestamp")


def feature_views_ddl(d: Dialect = SQLITE) -> list[str]:
    """Migration 15: the view tables, the long rows pivoted in, ``feature_history`` a view.

    A long row of a feature no longer defined is dropped with the long table. A view row
    takes ``NULL`` for a feature that had no long row on its day (the long table had one
    for every feature of a source row, unless the feature was added later).
    """
    return [*(view_table_ddl(v, d) for v in FEATURE_VIEWS),
            *(_pivot(v) for v in FEATURE_VIEWS),
            "DROP TABLE feature_history",
            *history_view_ddl(d)]


def missing_feature_columns(have: dict[str, set[str]]) -> list[str]:
    """``table.column`` of each defined feature absent from ``have`` (table -> columns)."""
    return [f"{v.table}.{f.name}" for v in FEATURE_VIEWS for f in v.features
            if f.name not in have.get(v.table, set())]
