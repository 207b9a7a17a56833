"""The daemon's configuration: one TOML file decoded into a frozen msgspec Struct tree.

Decoding is strict (unknown keys are errors) and every failure becomes one
``ConfigError`` line that names the file, the key path and what was expected. Secrets are
references (``{ env = "NAME" }`` or ``{ file = "/path" }``); they are resolved at load time
into :class:`Secret` objects whose ``repr`` never shows the value (see
:mod:`within_daemon.secret_values`). A plain string is accepted as a literal secret with a
warning, because example configs and quick trials use them.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from .config_types import (
    AccountConfig,
    Cadence,
    ClusterConfig,
    Config,
    DatabaseConfig,
    Destination,
    Enrichment,
    EnrichmentConfig,
    FieldRule,
    LoadedConfig,
    MetricsConfig,
    ModelStoreConfig,
    Pipeline,
    Platform,
    Positive,
    PositiveFloat,
    QualityConfig,
    QualityDimension,
    ReportingConfig,
    RunTime,
    RuntimeConfig,
    TaskConfig,
    ValidationConfig,
)
from .errors import ConfigError
from .platform_config import (
    FACEBOOK_DEFAULT_BASE_URL,
    PLATFORM_SECRET_FIELDS,
    AmazonConfig,
    FacebookConfig,
    GoogleConfig,
    PlatformsConfig,
    SecretRef,
    TikTokConfig,
)
from .redaction import url_password
from .secret_values import Secret, resolve_secret

log = logging.getLogger(__name__)

DEFAULT_CONFIG_PATHS: tuple[str, ...] = ("within.toml", "/etc/within-daemon/within.toml")
ENV_CONFIG = "WITHIN_CONFIG"
#: Platforms whose connector is built; an account on another platform is a config error.
SUPPORTED_PLATFORMS: tuple[str, ...] = ("facebook", "google", "amazon", "tiktok", "internal")

#: The config tree lives in ``config_types``; every name stays importable from here.
__all__ = [
    "AmazonConfig", "FacebookConfig", "GoogleConfig", "PlatformsConfig", "Secret", "SecretRef",
    "TikTokConfig", "FACEBOOK_DEFAULT_BASE_URL", "resolve_secret", "Positive", "PositiveFloat",
    "RunTime", "Platform", "Pipeline", "Cadence", "Destination", "Enrichment",
    "QualityDimension", "DatabaseConfig", "ClusterConfig", "MetricsConfig", "RuntimeConfig",
    "AccountConfig", "TaskConfig", "QualityConfig", "FieldRule", "ValidationConfig",
    "ReportingConfig", "ModelStoreConfig", "EnrichmentConfig", "Config", "LoadedConfig",
]

_PATH_RE = re.compile(r" - at `\$\.?([^`]*)`$")
_UNKNOWN_RE = re.compile(r"unknown field `([^`]*)`")
#: Keys renamed since a release, ``(section, old key)`` -> new key: an old config then
#: fails with the name to write instead of a bare "unknown field".
RENAMED: dict[tuple[str, str], str] = {
    # text_workers (text only) became workers (text and images) the day it was added.
    ("enrichment", "text_workers"): "workers",
}


def _explain(path: Path, exc: msgspec.MsgspecError) -> ConfigError:
    """One line: file, key path, what was expected."""
    text = str(exc)
    where = ""
    m = _PATH_RE.search(text)
    if m:
        where = m.group(1) or "(top level)"
        text = text[: m.start()]
    prefix = f"{path}: {where}: " if where else f"{path}: "
    unknown = _UNKNOWN_RE.search(text)
    if unknown and (where, unknown.group(1)) in RENAMED:
        text += f" (renamed: write `{RENAMED[(where, unknown.group(1))]}` instead)"
    return ConfigError(prefix + text)


def _check(path: Path, cfg: Config) -> None:
    """Cross-key rules that a type alone cannot say."""
    seen: set[tuple[str, str]] = set()
    for i, acc in enumerate(cfg.accounts):
        key = (acc.platform, acc.account_id)
        if key in seen:
            raise ConfigError(
                f"{path}: accounts[{i}]: duplicate account {acc.platform}/{acc.account_id}"
            )
        seen.add(key)
        if not math.isfinite(acc.rate_limit):
            raise ConfigError(f"{path}: accounts[{i}].rate_limit: expected a finite number of "
                              f"requests per minute, got {acc.rate_limit}")
        hosts = [k for k in ("region", "base_url", "token_url") if getattr(acc, k) is not None]
        if hosts and acc.platform != "amazon":
            raise ConfigError(
                f"{path}: accounts[{i}].{hosts[0]}: only amazon accounts choose their hosts "
                f"per account (use [platforms.{acc.platform}] base_url)"
            )
        if acc.platform not in SUPPORTED_PLATFORMS:
            raise ConfigError(
                f"{path}: accounts[{i}].platform: '{acc.platform}' has no connector yet "
                f"(supported: {', '.join(SUPPORTED_PLATFORMS)})"
            )
    names: set[str] = set()
    for i, task in enumerate(cfg.tasks):
        if task.name in names:
            raise ConfigError(f"{path}: tasks[{i}].name: duplicate task name '{task.name}'")
        names.add(task.name)
        if task.enrich and task.pipeline != "AdDataPipeline":
            raise ConfigError(
                f"{path}: tasks[{i}].enrich: enrichments apply to ad rows (AdDataPipeline "
                f"tasks), not {task.pipeline}"
            )
        if task.destination == "feature_store" and task.pipeline != "AdDataPipeline":
            raise ConfigError(
                f"{path}: tasks[{i}].destination: 'feature_store' is for AdDataPipeline tasks "
                f"(features are computed from ad rows), not {task.pipeline}"
            )
        for acc_id in task.accounts:
            if (task.platform, acc_id) not in seen:
                elsewhere = sorted(p for p, a in seen if a == acc_id)
                hint = (f'; it is a {"/".join(elsewhere)} account: write platform = '
                        f'"{elsewhere[0]}" in the task' if elsewhere else "")
                raise ConfigError(
                    f"{path}: tasks[{i}].accounts: '{acc_id}' is not a configured "
                    f"{task.platform} account{hint}"
                )
    host, sep, port = cfg.metrics.listen.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(
            f"{path}: metrics.listen: expected 'host:port', got {cfg.metrics.listen!r}"
        )
    if not 1 <= int(port) <= 65535:
        raise ConfigError(f"{path}: metrics.listen: port {port} is not in 1..65535")


def parse_config(text: str | bytes, path: Path) -> Config:
    """Decode and check TOML text; ``path`` is only used in messages."""
    try:
        cfg = msgspec.toml.decode(text, type=Config)
    except msgspec.MsgspecError as exc:
        raise _explain(path, exc) from None
    cfg = _infer_task_platforms(path, cfg, msgspec.toml.decode(text))
    _check(path, cfg)
    return cfg


def _infer_task_platforms(path: Path, cfg: Config, raw: Any) -> Config:
    """A task without ``platform`` takes the one platform its listed accounts belong to.

    ``platform`` written in the file always wins (and is checked by :func:`_check`); a task
    that lists no accounts keeps the default. Accounts of several platforms are an error
    that says how to split the task.
    """
    raw_tasks = raw.get("tasks", []) if isinstance(raw, dict) else []
    owners: dict[str, list[str]] = {}
    for acc in cfg.accounts:
        owners.setdefault(acc.account_id, []).append(acc.platform)
    tasks = list(cfg.tasks)
    for i, task in enumerate(tasks):
        given = i < len(raw_tasks) and isinstance(raw_tasks[i], dict) \
            and "platform" in raw_tasks[i]
        if given or not task.accounts or any(a not in owners for a in task.accounts):
            continue  # unknown ids are reported by _check with the task's platform
        common = set.intersection(*(set(owners[a]) for a in task.accounts))
        if len(common) == 1:
            tasks[i] = msgspec.structs.replace(task, platform=common.pop())
        elif not common:
            by: dict[str, list[str]] = {}
            for a in task.accounts:
                by.setdefault(owners[a][0], []).append(a)
            split = "; ".join(
                f'platform = "{p}", accounts = [{", ".join(repr(a) for a in ids)}]'
                for p, ids in by.items()).replace("'", '"')
            found = ", ".join(f"{a} is {'/'.join(owners[a])}" for a in task.accounts)
            raise ConfigError(
                f"{path}: tasks[{i}].accounts: accounts of several platforms in one task "
                f"({found}); write one task per platform: {split}")
        elif task.platform not in common:
            raise ConfigError(
                f"{path}: tasks[{i}]: accounts {list(task.accounts)} exist on several "
                f"platforms ({', '.join(sorted(common))}); write platform = "
                f'"{sorted(common)[0]}" (or another of them) in the task')
    return msgspec.structs.replace(cfg, tasks=tuple(tasks)) if tasks != list(cfg.tasks) else cfg


def load_config(path: str | os.PathLike[str]) -> LoadedConfig:
    """Read, decode, check and resolve secrets; raise ConfigError with one clear line."""
    p = Path(path).expanduser().resolve()
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config file: {exc.strerror}") from None
    return resolve_config(parse_config(raw, p), p)


def resolve_config(cfg: Config, p: Path) -> LoadedConfig:
    """Resolve the secrets of a parsed config; ``p`` is the file it came from."""
    secrets: dict[tuple[str, str], Secret | None] = {}
    other: dict[str, Secret] = {}
    for i, acc in enumerate(cfg.accounts):
        secrets[(acc.platform, acc.account_id)] = resolve_secret(
            acc.access_token, where=f"{p}: accounts[{i}].access_token", base_dir=p.parent
        )
        refresh = resolve_secret(
            acc.refresh_token, where=f"{p}: accounts[{i}].refresh_token", base_dir=p.parent
        )
        if refresh is not None:
            other[f"accounts.{acc.platform}.{acc.account_id}.refresh_token"] = refresh
    used = {a.platform for a in cfg.accounts}
    for platform, fields in PLATFORM_SECRET_FIELDS.items():
        if platform not in used:
            continue  # secrets of a platform nobody uses need not be set
        section = cfg.platforms.get(platform)
        for name in fields:
            value = resolve_secret(getattr(section, name), base_dir=p.parent,
                                   where=f"{p}: platforms.{platform}.{name}")
            if value is not None:
                other[f"platforms.{platform}.{name}"] = value
    for key, url in (("database.url", cfg.database.url),
                     ("platforms.internal.sql_url", cfg.platforms.internal.sql_url)):
        password = url_password(url) if url else None
        if password:  # a password inside a database url is a secret too
            other[key] = Secret(password, f"url:{key}")
    return LoadedConfig(path=p, config=cfg, secrets=secrets, other_secrets=other)


def find_config_path(
    explicit: str | None, candidates: Sequence[str] = DEFAULT_CONFIG_PATHS
) -> Path:
    """``--config`` wins, then ``$WITHIN_CONFIG``, then the first default file that exists."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env)
    for cand in candidates:
        if Path(cand).exists():
            return Path(cand)
    raise ConfigError(
        "no config file: pass --config PATH, set $WITHIN_CONFIG, or create "
        + " or ".join(candidates)
    )


def sqlite_path(url: str, base_dir: Path) -> Path | None:
    """The file behind a ``sqlite:///`` url, relative paths against the config's folder."""
    if not url.startswith("sqlite:///"):
        return None
    rest = url[len("sqlite:///"):]
    if rest == ":memory:":
        return None
    p = Path(rest)
    return p if p.is_absolute() else base_dir / p
