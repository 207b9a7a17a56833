"""What a config must satisfy beyond its types: checked by check-config, at start, on reload.

Decoding (:mod:`within_daemon.config`) proves each value has the right type and range;
this module checks what needs the rest of the package or the outside world: that the time
zone exists and every task's schedule can be built in it, that URLs have a scheme and a
host, that the database URL is one we can open, that the internal source's mapping
works, that every account has the credentials its platform needs, and that
``[metrics] listen`` names a port and a host that resolves. Each problem is one line
naming the key; warnings (a token sent over plain http to another machine) are lines too
but do not make the config invalid.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .config import LoadedConfig, TaskConfig
from .errors import LoaderError
from .loaders import DatabaseLoader
from .tasks import registry
from .tasks.scheduler import trigger_for
from .transforms.normalize.internal import InternalMapping, mapping_problems

_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def all_tasks(loaded: LoadedConfig) -> list[TaskConfig]:
    """The config's tasks plus those registered from Python (as the daemon runs them)."""
    tasks = {t.name: t for t in registry.tasks.values()}
    tasks.update({t.name: t for t in loaded.config.tasks})
    return list(tasks.values())


def time_zone_problem(name: str) -> str | None:
    """Why ``name`` is no usable time zone, or None."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {name!r} (use an IANA name such as 'Europe/Berlin')"
    return None


def _url_problems(key: str, url: str, warnings: list[str]) -> list[str]:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        return [f"{key}: not a URL ({exc})"]
    if parts.scheme not in ("http", "https"):
        return [f"{key}: expected an http:// or https:// URL, got scheme {parts.scheme!r}"]
    if not host:
        return [f"{key}: the URL has no host"]
    if parts.username is not None or parts.password is not None:
        return [f"{key}: credentials in the URL are not allowed (use the token settings)"]
    if parts.scheme == "http" and host not in _LOOPBACK:
        warnings.append(f"{key}: plain http to {host} sends tokens unencrypted; use https")
    return []


def _credential_problems(loaded: LoadedConfig) -> list[str]:
    """The secrets each account's platform needs (what the connector factories require)."""
    out: list[str] = []
    for acc in loaded.config.accounts:
        p, a = acc.platform, acc.account_id
        token = loaded.secret_for(p, a)
        refresh = loaded.account_secret(p, a, "refresh_token")
        if p in ("facebook", "tiktok") and token is None:
            out.append(f"accounts: {p}/{a} needs an access_token")
        elif p == "google":
            if refresh is None and token is None:
                out.append(f"accounts: google/{a} needs a refresh_token")
            elif refresh is not None:
                out += [f"platforms.google.{k} is needed for google/{a}'s refresh_token"
                        for k in ("client_id", "client_secret")
                        if loaded.platform_secret("google", k) is None]
        elif p == "amazon":
            if refresh is None:
                out.append(f"accounts: amazon/{a} needs a refresh_token")
            out += [f"platforms.amazon.{k} is needed for amazon/{a}"
                    for k in ("client_id", "client_secret")
                    if loaded.platform_secret("amazon", k) is None]
    return list(dict.fromkeys(out))  # one line per missing key, however many accounts


def listen_problem(listen: str, *, resolve: bool = True) -> str | None:
    """Why ``[metrics] listen`` cannot be served, or None (a port in use shows at start)."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return f"metrics.listen: port {port!r} is not in 1..65535"
    if resolve:
        try:
            socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM,
                               flags=socket.AI_PASSIVE)
        except (socket.gaierror, UnicodeError) as exc:
            return f"metrics.listen: host {host!r} does not resolve ({exc})"
    return None


def config_problems(loaded: LoadedConfig, *, resolve: bool = True,
                    warnings: list[str] | None = None) -> list[str]:
    """Every problem of a loaded config, one line each naming the file and the key."""
    cfg, path = loaded.config, loaded.path
    warn: list[str] = [] if warnings is None else warnings
    out: list[str] = []
    tz_problem = time_zone_problem(cfg.runtime.timezone)
    if tz_problem:
        out.append(f"runtime.timezone: {tz_problem}")
    else:
        for task in all_tasks(loaded):
            try:
                trigger_for(task, cfg.runtime.timezone, jitter=None)
            except (ValueError, TypeError) as exc:
                out.append(f"tasks.{task.name}: its schedule cannot be built: {exc}")
    try:
        DatabaseLoader.from_url(cfg.database.url, base_dir=loaded.base_dir)
    except LoaderError as exc:
        out.append(f"database.url: {exc}")
    used = {a.platform for a in cfg.accounts} | {t.platform for t in all_tasks(loaded)}
    for platform in sorted(used - {"internal"}):
        section = cfg.platforms.get(platform)
        for key in ("base_url", "token_url"):
            url = getattr(section, key, None)
            if isinstance(url, str):
                out += _url_problems(f"platforms.{platform}.{key}", url, warn)
    internal = cfg.platforms.internal
    if "internal" in used or internal.drop_folder or internal.sql_url:
        mapping = InternalMapping(field_map=dict(internal.field_map),
                                  constants=dict(internal.constants),
                                  date_format=internal.date_format)
        out += [f"platforms.internal: {p}" for p in mapping_problems(mapping)]
        if internal.sql_url and not internal.sql_url.startswith("sqlite:///"):
            out.append("platforms.internal.sql_url: only sqlite:///path is supported")
    out += _credential_problems(loaded)
    if cfg.metrics.enabled:
        problem = listen_problem(cfg.metrics.listen, resolve=resolve)
        if problem:
            out.append(problem)
    return [f"{path}: {line}" for line in out]
