"""What the daemon opens before it runs anything: the database and, in a cluster, the replica.

Each opener takes the exit stack the caller leaves through, and registers its own closing
on it, so resources arrive built (a database that knows its replica's id and lease fence)
and leave in reverse order.
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack

from ..config import LoadedConfig
from ..loaders import DatabaseLoader
from ..loaders.database import Fence
from ..observability.metrics import Metrics
from .cluster import Cluster, Replica, default_replica_id

log = logging.getLogger(__name__)


async def open_database(loaded: LoadedConfig, *, holder: str | None = None,
                        fence: Fence | None = None) -> DatabaseLoader:
    """Open (and migrate) the database; mark runs a crash left ``running`` interrupted.

    ``holder`` and ``fence`` are a cluster replica's id and lease lookup: every batch the
    loader writes then checks its lease in the same transaction.
    """
    db = DatabaseLoader.from_url(loaded.config.database.url, base_dir=loaded.base_dir,
                                 holder=holder, fence=fence)
    await db.open()
    interrupted = await db.mark_interrupted_runs()
    if interrupted:
        log.warning("%d run(s) were interrupted by the last exit; they resume on their next "
                    "run: %s", len(interrupted), ", ".join(interrupted[:5]))
    return db


async def open_replica(loaded: LoadedConfig, metrics: Metrics,
                       stack: AsyncExitStack) -> Replica:
    """Join the cluster: a lease connection of its own, a first heartbeat, a clean leave.

    Leases get their own connection: a long write on the loader's (a rollup refresh) must
    not delay a renewal past the lease. On exit the replica hands its leases over at once
    (instead of after they expire), then closes that connection.
    """
    cc = loaded.config.cluster
    lease_db = DatabaseLoader.from_url(loaded.config.database.url, base_dir=loaded.base_dir)
    await lease_db.open()
    stack.push_async_callback(lease_db.close)
    replica = Replica(Cluster(lease_db, cc.replica_id or default_replica_id(),
                              cc.lease_seconds), metrics)
    stack.push_async_callback(replica.leave)
    await replica.cluster.heartbeat()
    return replica
