"""Switchable faults and request statistics shared by the sandbox emulators.

``plan`` holds the ``Fault`` record and the ``FaultPlan`` each emulator asks per request;
``stats`` what the clients sent (``Stats``, ``RequestRecord``) and the ``/_sandbox`` admin
routes; ``bodies`` the hostile bodies every emulator can answer with; ``transport`` the
faults of proxies and networks (error pages, cut or slow bodies, latency, rate limits).
Every name stays importable from ``within_daemon.sandbox.faults``.
"""

from __future__ import annotations

from within_daemon.sandbox.faults.bodies import body_fault_middleware, deep_json, gzip_bomb
from within_daemon.sandbox.faults.plan import (
    BODY_FAULT_KINDS,
    TRANSPORT_FAULTS,
    Fault,
    FaultPlan,
    normalize_account,
)
from within_daemon.sandbox.faults.stats import RequestRecord, Stats, handle_admin, now
from within_daemon.sandbox.faults.transport import request_account, with_transport_faults

__all__ = [
    "BODY_FAULT_KINDS", "TRANSPORT_FAULTS", "Fault", "FaultPlan", "RequestRecord", "Stats",
    "body_fault_middleware", "deep_json", "gzip_bomb", "handle_admin", "normalize_account",
    "now", "request_account", "with_transport_faults",
]
