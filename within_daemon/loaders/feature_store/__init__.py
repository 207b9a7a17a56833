"""The feature store: latest feature values online, dated history offline, Parquet export.

:class:`FeatureStore` (in :mod:`.store`) is the way in; the modules beside it are its
parts and are not imported from outside this package: the statement text of both dialects
(:mod:`.sql`), the stored spellings of keys, times and values (:mod:`.values`) and the
Parquet export (:mod:`.export`). The tables are defined with the rest of the schema
(``loaders.schema``).
"""

from __future__ import annotations

from .store import FeatureStore
from .values import day_end, entity_key, normalize_ts, split_key

__all__ = ["FeatureStore", "day_end", "entity_key", "normalize_ts", "split_key"]
