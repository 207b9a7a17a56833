"""Pure transforms between extraction and loading: normalize, validate, aggregate, monitor.

Nothing here does I/O or imports ``within_daemon.sources`` / ``within_daemon.loaders``, so
every transform can be unit-tested and benchmarked on plain lists of dicts.
"""

from __future__ import annotations

from within_daemon.transforms.aggregation import DataAggregator
from within_daemon.transforms.enrichment.enricher import DataEnricher
from within_daemon.transforms.normalize.normalizer import CrossPlatformNormalizer, DataNormalizer
from within_daemon.transforms.quality import DataQualityMonitor
from within_daemon.transforms.validation import DataValidator

__all__ = [
    "CrossPlatformNormalizer", "DataAggregator", "DataEnricher", "DataNormalizer",
    "DataQualityMonitor", "DataValidator",
]
