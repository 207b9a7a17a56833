"""Metrics, structured logging and the health/metrics HTTP server."""

from __future__ import annotations

from .metrics import Metrics

__all__ = ["Metrics"]
