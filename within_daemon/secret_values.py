"""Secrets in the config: references resolved into :class:`Secret` values that never show.

A secret is a reference (``{ env = "NAME" }`` or ``{ file = "/path" }``) or, with a
warning, a literal string. Resolving one reads it, strips stray whitespace (with a warning:
a pasted token often carries a space or a newline), and registers the value for redaction
(:mod:`within_daemon.redaction`), so it is masked in every output from then on, whether it
was read at start or on a reload.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .errors import ConfigError
from .platform_config import SecretRef
from .redaction import register_secret

log = logging.getLogger("within_daemon.config")


class Secret:
    """A resolved secret value whose ``repr`` and ``str`` never reveal it.

    Creating one registers the value for redaction, so a secret read at start, on a
    SIGHUP reload or anywhere else is masked in every output from then on.
    """

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str) -> None:
        self._value = value
        self.source = source
        register_secret(value)

    def reveal(self) -> str:
        """The secret itself; call it only where the value is sent to its API."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret(<{self.source}>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def resolve_secret(ref: str | SecretRef | None, *, where: str, base_dir: Path) -> Secret | None:
    """Turn a secret reference into a :class:`Secret`; errors name ``where``, not the value."""
    if ref is None:
        return None
    if isinstance(ref, str):
        log.warning("%s is a literal secret in the config file; prefer { env = ... }", where)
        return Secret(_stripped(ref, where, "the literal value"), "literal")
    if (ref.env is None) == (ref.file is None):
        raise ConfigError(f"{where}: give exactly one of env or file")
    if ref.env is not None:
        value = os.environ.get(ref.env)
        if not value or not value.strip():
            raise ConfigError(f"{where}: environment variable {ref.env} is not set or empty")
        return Secret(_stripped(value, where, f"environment variable {ref.env}"),
                      f"env:{ref.env}")
    assert ref.file is not None
    fpath = Path(ref.file)
    if not fpath.is_absolute():
        fpath = base_dir / fpath
    try:
        raw = fpath.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read secret file {fpath}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: secret file {fpath} is not UTF-8 text (byte "
                          f"{exc.start})") from None
    # A trailing newline is how editors save files: stripped without a warning.
    value = _stripped(raw.rstrip("\r\n"), where, f"secret file {fpath}")
    if not value:
        raise ConfigError(f"{where}: secret file {fpath} is empty")
    return Secret(value, f"file:{fpath}")


def _stripped(value: str, where: str, what: str) -> str:
    """A token with stray spaces or a newline (a copy-paste) works once stripped: warn."""
    clean = value.strip()
    if clean != value:
        log.warning("%s: %s has leading or trailing whitespace; it is stripped", where, what)
    return clean
