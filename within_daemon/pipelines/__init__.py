"""Wiring: which source feeds which transforms into which loader."""

from __future__ import annotations

from .ad_data_pipeline import AccountDataPipeline, AdDataPipeline
from .engine import Engine, TaskResult, open_engine
from .internal_pipeline import InternalDataPipeline
from .platform_data_pipeline import PlatformDataPipeline

__all__ = [
    "AccountDataPipeline", "AdDataPipeline", "Engine", "InternalDataPipeline",
    "PlatformDataPipeline", "TaskResult", "open_engine",
]
