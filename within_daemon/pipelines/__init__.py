"""Wiring: which source feeds which transforms into which loader."""

from __future__ import annotations

from .ad_data_pipeline import AccountDataPipeline, AdDataPipeline
from .engine import Engine, TaskResult, open_engine

__all__ = ["AccountDataPipeline", "AdDataPipeline", "Engine", "TaskResult", "open_engine"]
