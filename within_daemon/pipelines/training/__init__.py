"""Versioned training datasets for the two models (ad score, account health), run once.

:class:`TrainingDataPipeline` (in :mod:`.pipeline`) builds them from the database into the
model store; the modules beside it are its parts: what each dataset holds
(:mod:`.datasets`), the time split and purge (:mod:`.split`) and the content hash that names
a version (:mod:`.hash`).
"""

from __future__ import annotations

from .datasets import (
    ACCOUNT_HEALTH,
    AD_SCORE,
    CREATIVE_FEATURES,
    DATASETS,
    AdMetric,
    HealthLabel,
    LabelConfig,
)
from .hash import content_hash
from .pipeline import TrainingDataPipeline
from .split import InsufficientDataError, split_dates

__all__ = [
    "ACCOUNT_HEALTH", "AD_SCORE", "CREATIVE_FEATURES", "DATASETS", "AdMetric", "HealthLabel",
    "InsufficientDataError", "LabelConfig", "TrainingDataPipeline", "content_hash",
    "split_dates",
]
