"""Small shared helpers: the seed's ``retry_with_backoff`` decorator."""

from __future__ import annotations

from .retry import backoff_delay, retry_with_backoff

__all__ = ["backoff_delay", "retry_with_backoff"]
