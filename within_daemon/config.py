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
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from .errors import ConfigError
from .platform_config import (
    FACEBOOK_DEFAULT_BASE_URL,
    PLATFORM_SECRET_FIELDS,
    AmazonConfig,
    AmazonRegion,
    FacebookConfig,
    GoogleConfig,
    PlatformsConfig,
    SecretRef,
    TikTokConfig,
    masked_repr,
)
from .redaction import url_password
from .secret_values import Secret, resolve_secret

log = logging.getLogger(__name__)

DEFAULT_CONFIG_PATHS: tuple[str, ...] = ("within.toml", "/etc/within-daemon/within.toml")
ENV_CONFIG = "WITHIN_CONFIG"
#: Platforms whose connector is built; an account on another platform is a config error.
SUPPORTED_PLATFORMS: tuple[str, ...] = ("facebook", "google", "amazon", "tiktok", "internal")

__all__ = [
    "AmazonConfig", "FacebookConfig", "GoogleConfig", "PlatformsConfig", "Secret", "SecretRef",
    "TikTokConfig", "FACEBOOK_DEFAULT_BASE_URL", "resolve_secret",
]

Positive = Annotated[int, Meta(gt=0)]
PositiveFloat = Annotated[float, Meta(gt=0)]
RunTime = Annotated[str, Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Platform = Literal["facebook", "google", "amazon", "tiktok", "internal"]
Pipeline = Literal[
    "AdDataPipeline", "AccountDataPipeline", "PlatformDataPipeline", "TrainingDataPipeline",
]
Cadence = Literal["hourly", "daily", "weekly"]
#: ``database``: the rows are loaded (and the daemon's post-load steps run; a failure of
#: those is logged, never a failed run). ``feature_store``: the rows are loaded and the
#: feature store is materialized for the days they cover; a run whose features could not
#: be written is not a success. Ad tasks only: the features are computed from ad rows.
Destination = Literal["database", "feature_store"]
Enrichment = Literal[
    "sentiment", "topic_classification", "entity_extraction", "image_analysis",
    "historical_performance", "competitive_analysis", "audience_insights",
]
QualityDimension = Literal[
    "completeness", "accuracy", "consistency", "timeliness", "uniqueness", "validity",
]


class DatabaseConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    #: ``sqlite:///within.db`` (embedded) or ``postgresql://user@host:5432/within``.
    url: str = "sqlite:///within.db"

    __repr__ = masked_repr


class ClusterConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Several daemons on one database: accounts split by leases, slots run once."""

    #: None: on for PostgreSQL, off for SQLite (one machine, one daemon).
    enabled: bool | None = None
    #: A replica that has not renewed its leases for this long is taken to be dead; its
    #: accounts move to the others and resume from the ledger.
    lease_seconds: Annotated[float, Meta(ge=1.0)] = 30.0
    #: Identifies this replica in leases and runs; default host:pid:random.
    replica_id: Annotated[str, Meta(min_length=1, max_length=128)] | None = None


class MetricsConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    #: host:port of the /metrics, /healthz and /status server; loopback by default.
    listen: str = "127.0.0.1:9464"
    enabled: bool = True


class RuntimeConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    #: Capacity of each bounded queue between actors (in messages, each up to a page).
    queue_size: Positive = 16
    #: Records per loader transaction.
    batch_size: Positive = 1000
    #: Seconds an in-flight batch may take to finish after SIGTERM.
    grace_seconds: PositiveFloat = 30.0
    timezone: str = "UTC"
    #: Scheduled runs start each account after a random delay up to this many seconds,
    #: so that a thousand accounts do not hit the APIs in the same second.
    account_jitter_seconds: Annotated[float, Meta(ge=0)] = 30.0
    #: Keep-alive connections per platform host, shared by all accounts of that host.
    http_pool_per_host: Positive = 64


class AccountConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    platform: Platform
    account_id: Annotated[str, Meta(min_length=1, max_length=64)]
    access_token: str | SecretRef | None = None
    #: OAuth refresh token (Google Ads, Amazon Ads).
    refresh_token: str | SecretRef | None = None
    #: Google Ads manager account id sent as ``login-customer-id`` (digits only).
    login_customer_id: Annotated[str, Meta(pattern=r"^\d+$")] | None = None
    #: Requests per minute this account may make.
    rate_limit: PositiveFloat = 200.0
    name: str | None = None
    #: Amazon only: the API region of the profile (its API and token hosts follow it).
    region: AmazonRegion | None = None
    #: Amazon only: this account's own API / token host (beats ``region``).
    base_url: str | None = None
    token_url: str | None = None

    # A literal token sits in this struct as a plain string: never show it.
    __repr__ = masked_repr


class TaskConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
    pipeline: Pipeline = "AdDataPipeline"
    cadence: Cadence = "daily"
    run_time: RunTime = "01:00"
    lookback_days: Annotated[int, Meta(ge=1, le=3650)] = 7
    #: Account ids this task covers; empty means every account of ``platform``.
    accounts: tuple[str, ...] = ()
    destination: Destination = "database"
    platform: Platform = "facebook"
    validate: bool = True
    #: Weekday for weekly tasks (0 = Monday).
    weekday: Annotated[int, Meta(ge=0, le=6)] = 0
    #: Enrichment plugins this task runs (``audience_insights``: Facebook, Google, TikTok).
    enrich: tuple[Enrichment, ...] = ()


class QualityConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Data quality checks after each ad task run (``DataQualityMonitor``)."""

    enabled: bool = True
    #: Score below which a dimension fails (and an alert-level log line is written).
    thresholds: dict[QualityDimension, Annotated[float, Meta(ge=0, le=1)]] = msgspec.field(
        default_factory=dict)
    #: Relative difference allowed between summed ad rows and the account's own totals.
    drift_tolerance: Annotated[float, Meta(ge=0)] = 0.01
    #: Age (days) of an account's newest day at which timeliness reaches 0.
    max_age_days: PositiveFloat = 7.0


class FieldRule(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """One field's rule in the seed's schema language."""

    type: Literal["string", "integer", "float", "date"] | None = None
    required: bool = False
    max_length: int | None = None
    allowed: tuple[str | int | float, ...] | None = None
    min: float | None = None
    max: float | None = None

    def as_schema(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v)
                for k, v in msgspec.structs.asdict(self).items() if v is not None}


class ValidationConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Per-field rules that replace the built-in ones (``[validation.ad.<field>]``)."""

    ad: dict[str, FieldRule] = msgspec.field(default_factory=dict)
    account: dict[str, FieldRule] = msgspec.field(default_factory=dict)


class ReportingConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The cross-platform dataset's reporting currency and FX table."""

    currency: Annotated[str, Meta(pattern=r"^[A-Z]{3}$")] = "USD"
    #: Units of ``currency`` per one unit of each other currency, e.g. ``EUR = 1.08``.
    fx_rates: dict[Annotated[str, Meta(pattern=r"^[A-Z]{3}$")],
                   Annotated[float, Meta(gt=0)]] = msgspec.field(default_factory=dict)


class ModelStoreConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Where versioned training datasets are written (relative to the config's folder)."""

    root: str = "models"
    horizon_days: Annotated[int, Meta(ge=1, le=90)] = 7


class EnrichmentConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Limits of the ``image_analysis`` enrichment (images are untrusted downloads)."""

    image_timeout_seconds: PositiveFloat = 10.0
    image_max_bytes: Positive = 5 * 1024 * 1024
    image_max_concurrency: Positive = 8
    #: Longest the image stage may hold one batch; images not done by then are left for
    #: a later batch (a slow image host must not stall loading).
    image_batch_seconds: PositiveFloat = 30.0
    #: Only these hosts (``cdn.example.com``, ``*.example.com``); empty: any public host.
    image_allowed_hosts: tuple[str, ...] = ()
    #: Let image URLs point at 127.0.0.1 / ::1. For the sandbox and tests, whose emulators
    #: serve images there; never in production (SECURITY.md).
    image_allow_loopback: bool = False


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    database: DatabaseConfig = msgspec.field(default_factory=DatabaseConfig)
    cluster: ClusterConfig = msgspec.field(default_factory=ClusterConfig)
    metrics: MetricsConfig = msgspec.field(default_factory=MetricsConfig)
    runtime: RuntimeConfig = msgspec.field(default_factory=RuntimeConfig)
    platforms: PlatformsConfig = msgspec.field(default_factory=PlatformsConfig)
    accounts: tuple[AccountConfig, ...] = ()
    tasks: tuple[TaskConfig, ...] = ()
    quality: QualityConfig = msgspec.field(default_factory=QualityConfig)
    validation: ValidationConfig = msgspec.field(default_factory=ValidationConfig)
    reporting: ReportingConfig = msgspec.field(default_factory=ReportingConfig)
    model_store: ModelStoreConfig = msgspec.field(default_factory=ModelStoreConfig)
    enrichment: EnrichmentConfig = msgspec.field(default_factory=EnrichmentConfig)


class LoadedConfig(msgspec.Struct, frozen=True):
    """A validated config plus what loading it resolved: its folder and the secrets."""

    path: Path
    config: Config
    secrets: dict[tuple[str, str], Secret | None]
    #: Other resolved secrets by key path: ``accounts.<platform>.<id>.refresh_token``,
    #: ``platforms.<platform>.client_secret`` ...
    other_secrets: dict[str, Secret] = msgspec.field(default_factory=dict)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def secret_for(self, platform: str, account_id: str) -> Secret | None:
        return self.secrets.get((platform, account_id))

    def account_secret(self, platform: str, account_id: str, name: str) -> Secret | None:
        """Another secret of an account, e.g. its ``refresh_token``."""
        if name == "access_token":
            return self.secret_for(platform, account_id)
        return self.other_secrets.get(f"accounts.{platform}.{account_id}.{name}")

    def platform_secret(self, platform: str, name: str) -> Secret | None:
        """A secret of a platform section, e.g. Google's ``developer_token``."""
        return self.other_secrets.get(f"platforms.{platform}.{name}")

    def all_secrets(self) -> list[Secret]:
        """Every resolved secret (each was registered for redaction when resolved)."""
        return [s for s in self.secrets.values() if s is not None] + list(
            self.other_secrets.values())

    def accounts_for(self, task: TaskConfig) -> list[AccountConfig]:
        """The configured accounts a task covers, in config order."""
        wanted = set(task.accounts)
        return [
            a for a in self.config.accounts
            if a.platform == task.platform and (not wanted or a.account_id in wanted)
        ]


_PATH_RE = re.compile(r" - at `\$\.?([^`]*)`$")


def _explain(path: Path, exc: msgspec.MsgspecError) -> ConfigError:
    """One line: file, key path, what was expected."""
    text = str(exc)
    where = ""
    m = _PATH_RE.search(text)
    if m:
        where = m.group(1) or "(top level)"
        text = text[: m.start()]
    prefix = f"{path}: {where}: " if where else f"{path}: "
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
