"""Actor machinery: bounded queues, the actor base class, supervision. Knows nothing of ads."""

from __future__ import annotations

from .actors import Actor, QueueSet

__all__ = ["Actor", "QueueSet"]
