"""within-daemon: a long-running async ETL daemon for ad performance and creative data."""

from __future__ import annotations

__version__ = "0.1.0"
