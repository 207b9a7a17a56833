"""Which connector class serves which platform: one explicit table, built here.

Adding a platform is one package under ``sources/`` and one line in :data:`CONNECTORS`;
nothing registers itself when imported. Each class builds itself from the config
(``from_config``: its secrets, its platform section), so the engine builds connectors
without knowing any platform.
"""

from __future__ import annotations

from typing import Protocol

import aiohttp

from ..config import AccountConfig, LoadedConfig
from ..errors import ConfigError
from ..observability.metrics import Metrics
from .amazon.connector import AmazonAdsConnector
from .facebook.connector import FacebookAdsConnector
from .google.connector import GoogleAdsConnector
from .http.client import HttpSource
from .tiktok.connector import TikTokAdsConnector


class ConnectorClass(Protocol):
    """A connector class: it builds one account's connector from the config."""

    def from_config(self, acc: AccountConfig, loaded: LoadedConfig,
                    session: aiohttp.ClientSession, metrics: Metrics) -> HttpSource: ...


#: platform -> the connector class of its accounts
CONNECTORS: dict[str, ConnectorClass] = {
    "facebook": FacebookAdsConnector,
    "google": GoogleAdsConnector,
    "amazon": AmazonAdsConnector,
    "tiktok": TikTokAdsConnector,
}


def build_connector(
    acc: AccountConfig, loaded: LoadedConfig, session: aiohttp.ClientSession, metrics: Metrics
) -> HttpSource:
    """A connector for ``acc``; ConfigError if its platform has none or it lacks a secret."""
    cls = CONNECTORS.get(acc.platform)
    if cls is None:
        raise ConfigError(f"no connector for platform {acc.platform!r}")
    return cls.from_config(acc, loaded, session, metrics)
