"""Destinations for normalized records: the database loader (SQLite or PostgreSQL).

``DatabaseLoader.from_url(config.database.url, base_dir=...)`` is the entry point; the
feature store (:mod:`.feature_store`) and the model store (:mod:`.model_store`) build on it.
"""

from __future__ import annotations

from within_daemon.loaders.database import (
    CompleteDay,
    DatabaseLoader,
    FinalStatus,
    Kind,
    QuarantineItem,
    RunStatus,
)

__all__ = ["CompleteDay", "DatabaseLoader", "FinalStatus", "Kind", "QuarantineItem", "RunStatus"]
