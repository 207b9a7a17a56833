"""The ``quality_reports`` table: each post-load quality check's scores, and the newest ones.

One row per check, account and dimension (``schema.analytics``): the score, the threshold
it was held to, whether it passed, and up to 50 of the issues behind it as JSON. The
post-load step (``pipelines.analytics``) writes them; ``within-daemon quality`` reads the
newest per account and dimension.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .database import DatabaseLoader

QUALITY_COLUMNS = ("created_at", "task", "run_id", "platform", "account_id", "dimension",
                   "score", "threshold", "passed", "record_count", "issues_json")
_QUALITY_INSERT = (f"INSERT INTO quality_reports ({', '.join(QUALITY_COLUMNS)}) VALUES "
                   f"({', '.join('?' * len(QUALITY_COLUMNS))})")


async def store_quality(db: DatabaseLoader, *, task: str, run_id: str | None, platform: str,
                        account_id: str, report: Mapping[str, Any],
                        thresholds: Mapping[str, float]) -> None:
    """One row per dimension of ``report`` (a ``DataQualityMonitor`` report)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = []
    for dim, score in report["scores"].items():
        issues = [i for i in report["issues"] if i.get("type") == dim][:50]
        rows.append((now, task, run_id, platform, account_id, dim, float(score),
                     float(thresholds.get(dim, 0.0)), int(bool(report["passed"][dim])),
                     int(report["record_count"]), json.dumps(issues, default=str)))
    await db.execute_in_transaction([(_QUALITY_INSERT, rows)])


async def latest_quality(db: DatabaseLoader) -> list[dict[str, Any]]:
    """The newest score per (platform, account, dimension), sorted by those three."""
    rows = await db.fetch_dicts(
        "SELECT q.platform, q.account_id, q.dimension, q.score, q.threshold, q.passed, "
        "q.record_count, q.created_at, q.task FROM quality_reports q "
        "JOIN (SELECT platform, account_id, dimension, MAX(id) AS id FROM quality_reports "
        "GROUP BY platform, account_id, dimension) m ON m.id = q.id")
    # Sorted here, not by ORDER BY: PostgreSQL would sort by the database's collation.
    return sorted(rows, key=lambda r: (r["platform"], r["account_id"], r["dimension"]))
