"""Per-platform config sections (``[platforms.<name>]``), strict like the rest of the config.

Every platform shares the transport knobs of :class:`HttpKnobs` (timeouts, retries,
pacing, throttle budget, circuit breaker, date windows); each adds its own endpoints and
options. Secrets (client secrets, developer tokens) are references like account tokens.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from .redaction import redact_url

Positive = Annotated[int, Meta(gt=0)]
PositiveFloat = Annotated[float, Meta(gt=0)]
NonNegFloat = Annotated[float, Meta(ge=0)]

# The versions are dated facts: see sources/versions.py for their sunsets and sources.
FACEBOOK_DEFAULT_BASE_URL = "https://graph.facebook.com/v27.0"
GOOGLE_DEFAULT_BASE_URL = "https://googleads.googleapis.com/v26"
GOOGLE_DEFAULT_TOKEN_URL = "https://oauth2.googleapis.com/token"
AMAZON_DEFAULT_BASE_URL = "https://advertising-api.amazon.com"
AMAZON_DEFAULT_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
AmazonRegion = Literal["NA", "EU", "FE"]
#: Amazon Ads API and Login-with-Amazon token hosts per region: a profile is served by its
#: region's host only (Amazon Ads "API endpoints" page; LwA "access tokens" guide; Airbyte
#: source-amazon-ads URL_MAPPING; docs/api-reference.md §0 and §3.1).
AMAZON_REGIONS: dict[str, tuple[str, str]] = {
    "NA": ("https://advertising-api.amazon.com", "https://api.amazon.com/auth/o2/token"),
    "EU": ("https://advertising-api-eu.amazon.com", "https://api.amazon.co.uk/auth/o2/token"),
    "FE": ("https://advertising-api-fe.amazon.com", "https://api.amazon.co.jp/auth/o2/token"),
}
TIKTOK_DEFAULT_BASE_URL = "https://business-api.tiktok.com/open_api/v1.3"


class SecretRef(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Where a secret comes from: an environment variable or a file (exactly one)."""

    env: str | None = None
    file: str | None = None


SecretValue = str | SecretRef | None

#: Config keys that hold secrets; a plain string there is a literal secret.
SECRET_KEYS = frozenset({"access_token", "refresh_token", "client_id", "client_secret",
                         "developer_token"})


def masked_repr(obj: msgspec.Struct) -> str:
    """``repr`` of a config Struct that shows no literal secret and no URL password.

    msgspec's own repr prints every field; a literal ``client_secret = "..."`` would then
    reach any log line or traceback that shows the config.
    """
    def shown(name: str, value: Any) -> str:
        if name in SECRET_KEYS and isinstance(value, str):
            return "'<literal secret>'"
        if name.endswith("url") and isinstance(value, str):
            return repr(redact_url(value))
        return repr(value)

    fields = ", ".join(f"{n}={shown(n, getattr(obj, n))}" for n in obj.__struct_fields__)
    return f"{type(obj).__name__}({fields})"


class HttpKnobs(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Transport settings every platform has."""

    #: Days per request window; each window is checkpointed on its own.
    window_days: Positive = 7
    #: A request window longer than this many days uses the platform's async reports, if
    #: it has any (decided per window: a long backfill of short windows pages synchronously).
    async_after_days: Positive = 14
    #: ... and so does a window whose expected rows (ads listed x its days) pass this: a
    #: large report is what async jobs are for, a small one answers faster synchronously.
    async_after_rows: Positive = 250_000
    timeout_seconds: PositiveFloat = 60.0
    max_retries: Annotated[int, Meta(ge=0)] = 5
    backoff_base_seconds: PositiveFloat = 1.0
    #: An async report whose progress does not move for this long is declared stalled.
    stall_seconds: PositiveFloat = 600.0
    poll_interval_seconds: PositiveFloat = 2.0
    #: Slow down when the platform's reported usage crosses this percentage.
    pace_above_percent: Annotated[float, Meta(gt=0, le=100)] = 75.0
    #: Longest extra wait per request while pacing (reached at 100% usage).
    max_pace_delay_seconds: NonNegFloat = 30.0
    #: Base wait after a throttle that names no wait (and the pause at 100% usage); it
    #: doubles, with full jitter, for each throttle in a row. A platform's own hint
    #: (retryDelay, Retry-After, Facebook's regain times) is waited as given instead.
    throttle_pause_seconds: NonNegFloat = 10.0
    #: Longest backoff drawn for throttles without a hint.
    throttle_max_pause_seconds: PositiveFloat = 900.0
    #: Throttle waiting one account may do in a run; past it the account is parked
    #: until the platform lets it back, and the next run resumes from the ledger.
    max_throttle_wait_seconds: NonNegFloat = 7200.0
    #: Days after which the platform stops changing a day's numbers: older days are pulled
    #: again every ``settle_every_days`` until then (pipelines/settling.py); 0 turns it off.
    settle_days: Annotated[int, Meta(ge=0, le=120)] = 28
    settle_every_days: Positive = 7
    breaker_fail_max: Positive = 5
    breaker_reset_seconds: PositiveFloat = 60.0
    #: Waiting on an open circuit (platform down for this account) one scheduled or
    #: ``once`` run may do before it ends; the account is probed every
    #: ``breaker_reset_seconds`` meanwhile.
    max_outage_seconds: NonNegFloat = 1800.0
    #: The same for ``backfill``; unset means no limit (until Ctrl-C).
    backfill_max_outage_seconds: NonNegFloat | None = None
    #: Largest decoded API answer read (bytes); unset: the platform's default (64 MiB,
    #: Google 256 MiB, Amazon 16 MiB; see sources/http/bodies.py).
    max_body_bytes: Positive | None = None


class FacebookConfig(HttpKnobs, frozen=True, forbid_unknown_fields=True, kw_only=True):
    base_url: str = FACEBOOK_DEFAULT_BASE_URL
    # Async jobs may sit at 0 % ("Job Not Started") for many minutes: a stall is no
    # progress for half an hour, and a job gets an hour before it is created again.
    stall_seconds: PositiveFloat = 1800.0
    job_budget_seconds: PositiveFloat = 3600.0
    page_size: Annotated[int, Meta(gt=0, le=5000)] = 500
    #: Ads Manager's "Purchases" column by default (reference §0; docs/metrics.md).
    conversion_action_types: tuple[str, ...] = ("omni_purchase",)

    __repr__ = masked_repr


class GoogleConfig(HttpKnobs, frozen=True, forbid_unknown_fields=True, kw_only=True):
    base_url: str = GOOGLE_DEFAULT_BASE_URL
    token_url: str = GOOGLE_DEFAULT_TOKEN_URL
    developer_token: SecretValue = None
    client_id: SecretValue = None
    client_secret: SecretValue = None
    #: Conversions land on the click date for the conversion window (30 days by default);
    #: the account's own longest window replaces this once the connector has read it.
    settle_days: Annotated[int, Meta(ge=0, le=120)] = 30
    #: searchStream (one answer per query) or search with nextPageToken; API v17+ fixes
    #: the page size of search itself, so there is no page size knob.
    use_search_stream: bool = True

    __repr__ = masked_repr


class AmazonHosts(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Hosts of one Amazon region, replacing Amazon's own (a proxy, a test stand-in)."""

    base_url: str | None = None
    token_url: str | None = None


class AmazonConfig(HttpKnobs, frozen=True, forbid_unknown_fields=True, kw_only=True):
    #: Hosts of accounts without a ``region`` (North America by default).
    base_url: str = AMAZON_DEFAULT_BASE_URL
    token_url: str = AMAZON_DEFAULT_TOKEN_URL
    #: Per region, hosts that replace ``AMAZON_REGIONS`` for accounts with that ``region``.
    regions: dict[AmazonRegion, AmazonHosts] = msgspec.field(default_factory=dict)
    client_id: SecretValue = None
    client_secret: SecretValue = None
    #: Attribution window for conversions and sales, recorded with the rows. Unset: the
    #: console's own per account type, 7d for sellers and 14d for vendors (reference §0).
    attribution_window: Literal["1d", "7d", "14d", "30d"] | None = None
    #: Largest decompressed report accepted (a gzip bomb is refused, not unpacked).
    max_report_bytes: Positive = 512 * 1024 * 1024
    window_days: Annotated[int, Meta(gt=0, le=31)] = 31
    # Amazon's Retry-After is short and exact: honour it instead of a long minimum pause.
    throttle_pause_seconds: NonNegFloat = 2.0
    # Reports may sit in PROCESSING for hours without their updatedAt moving.
    stall_seconds: PositiveFloat = 4 * 3600.0
    #: Sales land for 7 days (14 for vendors), plus cancellations.
    settle_days: Annotated[int, Meta(ge=0, le=120)] = 14
    #: Ad products whose campaign reports make the account totals (sp is always pulled):
    #: Sponsored Brands and Display are part of the console's totals.
    ad_products: tuple[Literal["sp", "sb", "sd"], ...] = ("sp", "sb", "sd")

    __repr__ = masked_repr


class TikTokConfig(HttpKnobs, frozen=True, forbid_unknown_fields=True, kw_only=True):
    base_url: str = TIKTOK_DEFAULT_BASE_URL
    page_size: Annotated[int, Meta(gt=0, le=1000)] = 1000
    window_days: Annotated[int, Meta(gt=0, le=30)] = 30
    # TikTok's limits are queries per second and its throttles name no wait: back off
    # from one second, not from a minute.
    throttle_pause_seconds: NonNegFloat = 1.0

    __repr__ = masked_repr


class InternalConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The company's own data: files dropped in a folder, and/or one SQL query."""

    #: Folder watched for ``*.csv`` / ``*.jsonl`` files (relative to the config's folder).
    drop_folder: str | None = None
    #: Where a file is moved once all its rows are committed (default: <drop_folder>/done).
    done_folder: str | None = None
    #: Glob patterns of files to load.
    patterns: tuple[str, ...] = ("*.csv", "*.jsonl")
    #: A dropped file is loaded once unchanged this long (and ending with a newline), so a
    #: file still being written is never read half-way.
    settle_seconds: NonNegFloat = 30.0
    #: Database to query (``sqlite:///path``) and the query; it must return the mapped
    #: source columns. ``:since`` and ``:until`` are bound to the window's first and last day.
    sql_url: str | None = None
    sql_query: str | None = None
    #: Unified-schema field -> source column name (only the mapped fields are set).
    field_map: dict[str, str] = msgspec.field(default_factory=dict)
    #: Values for unified fields the source does not carry (e.g. currency = "USD").
    constants: dict[str, str] = msgspec.field(default_factory=dict)
    #: Date format of the source's date column (Python strptime); ISO by default.
    date_format: str = "%Y-%m-%d"
    window_days: Positive = 31

    __repr__ = masked_repr


class PlatformsConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    facebook: FacebookConfig = msgspec.field(default_factory=FacebookConfig)
    google: GoogleConfig = msgspec.field(default_factory=GoogleConfig)
    amazon: AmazonConfig = msgspec.field(default_factory=AmazonConfig)
    tiktok: TikTokConfig = msgspec.field(default_factory=TikTokConfig)
    internal: InternalConfig = msgspec.field(default_factory=InternalConfig)

    def get(self, platform: str) -> HttpKnobs:
        """The section of ``platform``."""
        cfg = getattr(self, platform, None)
        if not isinstance(cfg, HttpKnobs):
            raise KeyError(f"no [platforms.{platform}] section")
        return cfg


#: Platform secrets resolved at load time: (platform, key) for each SecretValue field.
PLATFORM_SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    "google": ("developer_token", "client_id", "client_secret"),
    "amazon": ("client_id", "client_secret"),
}
