"""Pure transforms between extraction and loading: normalize, validate (later: enrich, monitor).

Nothing here does I/O or imports ``within_daemon.sources`` / ``within_daemon.loaders``, so
every transform can be unit-tested and benchmarked on plain lists of dicts.
"""

from __future__ import annotations

from within_daemon.transforms.normalization import CrossPlatformNormalizer, DataNormalizer
from within_daemon.transforms.validation import DataValidator

# Slot for later modules: DataEnricher (enrichment.py), DataQualityMonitor (quality.py).

__all__ = ["CrossPlatformNormalizer", "DataNormalizer", "DataValidator"]
