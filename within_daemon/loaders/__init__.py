"""Destinations for normalized records; today the SQLite database loader.

``DatabaseLoader.from_url(config.database.url, base_dir=...)`` is the entry point; the
feature-store and model-store loaders named in the seed document are not written yet.
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
