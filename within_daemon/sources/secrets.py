"""The secrets a connector is built with: a missing one is a config error that names it.

Each connector's ``from_config`` asks for its secrets here, so the message says which key
of the config file to fill in (never the value of anything).
"""

from __future__ import annotations

from typing import TypeVar

from ..errors import ConfigError

T = TypeVar("T")


def require(secret: T | None, what: str) -> T:
    """``secret`` itself; ConfigError naming ``what`` when it is not configured."""
    if secret is None:
        raise ConfigError(f"{what} is not configured")
    return secret
