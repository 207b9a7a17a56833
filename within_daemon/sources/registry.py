"""Which connector class serves which platform, and how it is built from the config.

Each platform module registers a factory here when it is imported (``sources/__init__``
imports them all), so the engine builds connectors without knowing any platform.
"""

from __future__ import annotations

from collections.abc import Callable

import aiohttp

from ..config import AccountConfig, LoadedConfig
from ..errors import ConfigError
from ..observability.metrics import Metrics
from .http.client import HttpSource

ConnectorFactory = Callable[
    [AccountConfig, LoadedConfig, aiohttp.ClientSession, Metrics], HttpSource
]

FACTORIES: dict[str, ConnectorFactory] = {}


def register_connector(platform: str, factory: ConnectorFactory) -> None:
    FACTORIES[platform] = factory


def build_connector(
    acc: AccountConfig, loaded: LoadedConfig, session: aiohttp.ClientSession, metrics: Metrics
) -> HttpSource:
    """A connector for ``acc``; ConfigError if its platform has none or it lacks a secret."""
    factory = FACTORIES.get(acc.platform)
    if factory is None:
        raise ConfigError(f"no connector for platform {acc.platform!r}")
    return factory(acc, loaded, session, metrics)


def require(secret: object, what: str) -> None:
    """A missing secret is a config error naming what is missing (never the value)."""
    if secret is None:
        raise ConfigError(f"{what} is not configured")
