"""The ``image_failures`` table (schema migration 10): image fetches that failed, by URL.

One row per failed URL (its sha256 is the key) with the failure status and until when to
believe it; ``loaders.image_failures`` reads and writes it for the image fetcher.
"""

from __future__ import annotations

from .dialect import SQLITE, Dialect


def image_failures_ddl(d: Dialect = SQLITE) -> list[str]:
    """DDL of migration 10."""
    return [f"""CREATE TABLE IF NOT EXISTS image_failures (
  url_sha256 TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  image_status TEXT NOT NULL,
  image_error TEXT,
  failed_at TEXT NOT NULL,
  retry_after TEXT NOT NULL,
  failures INTEGER NOT NULL DEFAULT 1
){d.table_suffix}"""]
