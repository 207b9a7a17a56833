"""The config tree: the frozen msgspec Structs one TOML file decodes into.

Every section is strict (``forbid_unknown_fields``) and constrained with
``Annotated[..., Meta(...)]``, so a type alone rejects most mistakes; the cross-key rules,
the loading and the secret resolution are in :mod:`within_daemon.config`, which also
re-exports every name here. ``LoadedConfig`` is a decoded tree with its file and its
resolved secrets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from .platform_config import AmazonRegion, PlatformsConfig, SecretRef, masked_repr
from .secret_values import Secret

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
    """The enrichment stage: image limits (images are untrusted downloads), worker processes."""

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
    #: Worker processes for the text enrichers (sentiment, topics, entities) and, as many
    #: again, for image decoding, so that their CPU runs on another core while the daemon
    #: loads, and hostile image bytes are decoded outside it; 0: text in the daemon's
    #: process, images in its threads. 2 by default: a backfill of ads that each have
    #: their own image is bound by decoding them (23,000 ads x 7 days on 2 cores: 83.7 s
    #: with 1, 67.6 s with 2; bench/README.md); each process holds about 50 MB.
    workers: Annotated[int, Meta(ge=0, le=32)] = 2


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
