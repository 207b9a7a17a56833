"""Secret redaction: one registry of known secret values and the scrubber every output uses.

Every :class:`~within_daemon.config.Secret` registers its value here when it is created (at
start, on a SIGHUP reload, for an OAuth access token when it is minted), and every place
where text leaves the process runs it through :func:`redact`: log lines, exception
messages (:class:`~within_daemon.errors.WithinError`), error text stored in ``runs.error``
and the quarantine, and the CLI's stdout and stderr. Besides the registered values, the
scrubber masks anything shaped like a credential (``access_token=...``, ``Bearer ...``,
``"client_secret": "..."``, a password in a URL), so that a secret this process never
saw (an echo of a rotated token, a password typed into a URL) is hidden as well.

This module is stdlib only and imports nothing from the package: every layer may use it.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import quote, quote_plus, unquote, urlsplit, urlunsplit

MASK = "***"

#: Secrets shorter than this are not registered: masking "abc" everywhere would mangle text
#: and such a value is no secret anyway.
MIN_SECRET_LENGTH = 4

_KEYS = (r"access[_-]?token|refresh[_-]?token|client[_-]?secret|developer[_-]?token"
         r"|id[_-]?token|password|passwd|api[_-]?key|secret")

_PATTERNS = (
    # key=value in query strings and forms: access_token=..., &password=...
    re.compile(rf"(?i)((?:{_KEYS})=)[^&\s\"',;)}}\]]+"),
    # JSON and Python reprs: "client_secret": "...", 'refresh_token': '...'
    re.compile(rf"(?i)([\"'](?:{_KEYS})[\"']\s*:\s*[\"'])[^\"']+"),
    # Headers: Access-Token: ..., Authorization: Bearer ..., developer-token: ...
    re.compile(r"(?i)((?:access-token|developer-token|x-api-key)[\"']?\s*[:=]\s*[\"']?)"
               r"[^\s\"',]+"),
    re.compile(r"(?i)(Bearer\s+)[^\s\"',]+"),
    # user:password@host in any URL
    re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+(@)"),
)

#: Every pattern above needs one of these words; text without any skips them (most text).
_HINT = re.compile(r"(?i)token|secret|passw|api[_-]?key|bearer|://")

_lock = threading.Lock()
#: Registered values; a keyed slot (an account's current OAuth access token) replaces its
#: previous value, so minting a token every hour does not grow the set without bound.
_static: set[str] = set()
_slots: dict[str, str] = {}
_ordered: tuple[str, ...] = ()


def _rebuild() -> None:
    global _ordered
    values = _static | set(_slots.values())
    # A secret sent in a query string or a form appears percent-encoded in URLs and echoes.
    variants = {v for s in values for v in (quote(s, safe=""), quote_plus(s))}
    # Longest first: a secret that contains another is masked whole.
    _ordered = tuple(sorted(values | variants, key=len, reverse=True))


def register_secret(value: str, *, slot: str | None = None) -> None:
    """Remember a secret value so that no output of this process can show it.

    ``slot`` names a secret that is replaced over time (an account's access token): the
    new value takes the old one's place instead of adding to the set.
    """
    value = value.strip()
    if len(value) < MIN_SECRET_LENGTH:
        return
    with _lock:
        if slot is None:
            if value in _static:
                return
            _static.add(value)
        else:
            if _slots.get(slot) == value:
                return
            _slots[slot] = value
        _rebuild()


def known_secret_count() -> int:
    """How many secret values are registered (for tests and the start-up log)."""
    return len(_ordered)


def redact(text: str) -> str:
    """``text`` with every registered secret and credential-shaped part replaced by ``***``."""
    if not text:
        return text
    for s in _ordered:
        if s in text:
            text = text.replace(s, MASK)
    if _HINT.search(text):
        for pattern in _PATTERNS:
            text = pattern.sub(_keep_prefix, text)
    return text


def _keep_prefix(m: re.Match[str]) -> str:
    tail = m.group(2) if m.re.groups >= 2 else ""
    return m.group(1) + MASK + tail


def redact_url(url: str) -> str:
    """A URL with its password hidden, given as ``user:pw@`` or as ``?password=``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", f":{MASK}@", 1)
    query = re.sub(r"(?i)((?:^|&)(?:password|passwd)=)[^&]*", rf"\g<1>{MASK}", parts.query)
    return redact(urlunsplit(parts._replace(netloc=netloc, query=query)))


def url_password(url: str) -> str | None:
    """The password of a database URL, from ``user:pw@`` or a ``password=`` parameter."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.password:
        return parts.password
    m = re.search(r"(?:^|&)(?:password|passwd)=([^&]*)", parts.query)
    if m and m.group(1):
        return unquote(m.group(1))
    return None
