"""Image fetches that failed, remembered in the database so a restart does not refetch them.

A poison image (a decompression bomb, a 50 MB body, a host that hangs) costs its full time
and bandwidth on every fetch; the fetcher's in-memory cache forgets it at every restart.
This table keeps each failed URL (by its sha256) with the failure status and until when to
believe it: a failure of the image itself (too large, corrupt, refused host...) for
:data:`PERMANENT_TTL`, a failure that may pass (timeout, HTTP 5xx, connection error) for
:data:`TRANSIENT_TTL`. Migration 10 creates it (``loaders.schema.image_failures``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

import anyio

from within_daemon.transforms.enrichment.image import (
    STATUS_FETCH_ERROR,
    STATUS_HTTP_ERROR,
    STATUS_TIMEOUT,
    ImageFeatures,
    failed,
)

from .database import DatabaseLoader
from .rows import safe_text
from .statements import chunks

PERMANENT_TTL = timedelta(days=30)
TRANSIENT_TTL = timedelta(hours=6)
TRANSIENT = frozenset({STATUS_TIMEOUT, STATUS_HTTP_ERROR, STATUS_FETCH_ERROR})
_MAX_URL_CHARS = 2000


def _key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds")


_UPSERT = (
    "INSERT INTO image_failures (url_sha256, url, image_status, image_error, failed_at,"
    " retry_after, failures) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (url_sha256) DO"
    " UPDATE SET image_status = excluded.image_status, image_error ="
    " excluded.image_error, failed_at = excluded.failed_at, retry_after ="
    " excluded.retry_after, failures = image_failures.failures + excluded.failures")


class _Group:
    """One write of queued failures: done when it is committed (or failed)."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.error: Exception | None = None


class ImageFailureStore:
    """The ``image_failures`` table through a :class:`DatabaseLoader`."""

    def __init__(self, db: DatabaseLoader) -> None:
        self.db = db
        self._pending: list[tuple[object, ...]] = []
        self._group: _Group | None = None

    async def failures(self, urls: Collection[str], *,
                       now: datetime | None = None) -> dict[str, ImageFeatures]:
        """The failures still believed for ``urls`` (by URL)."""
        by_key = {_key(u): u for u in urls}
        out: dict[str, ImageFeatures] = {}
        stamp = _iso(now or datetime.now(UTC))
        for part in chunks(list(by_key)):
            rows = await self.db.fetch_dicts(
                "SELECT url_sha256, image_status, image_error FROM image_failures "
                f"WHERE url_sha256 IN ({', '.join('?' * len(part))}) AND retry_after > ?",
                [*part, stamp])
            for r in rows:
                try:
                    out[by_key[r["url_sha256"]]] = failed(r["image_status"], r["image_error"])
                except ValueError:  # a status this version no longer knows: refetch
                    continue
        return out

    async def record(self, url: str, features: ImageFeatures, *,
                     now: datetime | None = None) -> None:
        """Remember that ``url`` failed with ``features``' status (once it returns).

        Failures recorded at once share one transaction (group commit): the first caller
        waits one turn of the event loop, takes every row queued by then and writes
        them; the others wait for that write. A burst of failures (a refused host, a CDN
        down: each image of a batch at once) cost one transaction per URL before, 23,000
        on one backfill.
        """
        if features.ok:
            return
        t = now or datetime.now(UTC)
        ttl = TRANSIENT_TTL if features.image_status in TRANSIENT else PERMANENT_TTL
        self._pending.append((
            _key(url), safe_text(url[:_MAX_URL_CHARS]), features.image_status,
            None if features.image_error is None else safe_text(features.image_error),
            _iso(t), _iso(t + ttl)))
        group = self._group
        if group is not None:  # a write is gathering rows: this one goes with it
            await group.done.wait()
            if group.error is not None:
                raise group.error
            return
        group = self._group = _Group()
        try:
            await anyio.sleep(0)  # the failures of the same moment join this write
            rows, self._pending, self._group = self._pending, [], None
            # One row per URL: a URL failing twice in the group keeps its last failure
            # and counts both.
            last: dict[str, tuple[object, ...]] = {}
            count: dict[str, int] = {}
            for r in rows:
                last[str(r[0])] = r
                count[str(r[0])] = count.get(str(r[0]), 0) + 1
            await self.db.execute_in_transaction([(_UPSERT, [
                (*r, count[k]) for k, r in last.items()])])
        except BaseException as exc:
            group.error = exc if isinstance(exc, Exception) else None
            if self._group is group:
                self._group = None
            raise
        finally:
            group.done.set()
