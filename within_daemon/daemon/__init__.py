"""The daemon: the long-running service, the one-shot runs, the cluster, in one package.

- :mod:`.service`: ``Service`` (clock, signals, reload, watchdog, drain) and ``run_daemon``;
- :mod:`.oneshot`: ``run_once`` and ``run_backfill`` (``within-daemon once | backfill``);
- :mod:`.resources`: the database and the cluster membership, opened on one exit stack;
- :mod:`.cluster`: account leases and slot claims (``leases``), the replica's rounds;
- :mod:`.reload`: a SIGHUP's new state, built and checked before the swap;
- :mod:`.status`: the per-account entries of ``/status`` and ``within-daemon status``.

Only ``within_daemon.cli`` (and ``demo``) import this package; it imports the pipelines.
"""

from __future__ import annotations

from ..checks import all_tasks
from ..pipelines.registry import ACCOUNTLESS
from .oneshot import run_backfill, run_once, warn_if_leased
from .resources import open_database
from .service import Service, run_daemon

__all__ = ["ACCOUNTLESS", "Service", "all_tasks", "open_database", "run_backfill",
           "run_daemon", "run_once", "warn_if_leased"]
