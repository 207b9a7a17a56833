"""Cluster mode: several replicas on one database share the accounts by lease.

:mod:`.leases` is the database side (heartbeats, leases, once-per-cluster slot claims,
fencing tokens); :mod:`.replica` is what the service does with them in each round.
"""

from __future__ import annotations

from .leases import Cluster, Rebalance, cluster_enabled, cluster_view, default_replica_id, resource
from .replica import PRUNE_EVERY_SECONDS, Replica, StartFn, StopFn

__all__ = ["PRUNE_EVERY_SECONDS", "Cluster", "Rebalance", "Replica", "StartFn", "StopFn",
           "cluster_enabled", "cluster_view", "default_replica_id", "resource"]
