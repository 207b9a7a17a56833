"""The daemon's configuration: one TOML file decoded into a frozen msgspec Struct tree.

Decoding is strict (unknown keys are errors) and every failure becomes one
``ConfigError`` line that names the file, the key path and what was expected. Secrets are
references (``{ env = "NAME" }`` or ``{ file = "/path" }``); they are resolved at load time
into :class:`Secret` objects whose ``repr`` never shows the value. A plain string is
accepted as a literal secret with a warning, because example configs and quick trials use
them.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from .errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_CONFIG_PATHS: tuple[str, ...] = ("within.toml", "/etc/within-daemon/within.toml")
ENV_CONFIG = "WITHIN_CONFIG"
FACEBOOK_DEFAULT_BASE_URL = "https://graph.facebook.com/v21.0"

Positive = Annotated[int, Meta(gt=0)]
PositiveFloat = Annotated[float, Meta(gt=0)]
RunTime = Annotated[str, Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Platform = Literal["facebook", "google", "amazon", "tiktok", "internal"]
Pipeline = Literal["AdDataPipeline", "AccountDataPipeline"]
Cadence = Literal["hourly", "daily", "weekly"]
Destination = Literal["database"]


class Secret:
    """A resolved secret value whose ``repr`` and ``str`` never reveal it."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str) -> None:
        self._value = value
        self.source = source

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


class SecretRef(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Where a secret comes from: an environment variable or a file (exactly one)."""

    env: str | None = None
    file: str | None = None


class DatabaseConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    url: str = "sqlite:///within.db"


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


class FacebookConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    base_url: str = FACEBOOK_DEFAULT_BASE_URL
    page_size: Annotated[int, Meta(gt=0, le=5000)] = 500
    #: Ranges longer than this many days are pulled through async insights jobs.
    async_after_days: Positive = 14
    #: Days per insights request window; each window is checkpointed on its own.
    window_days: Positive = 7
    timeout_seconds: PositiveFloat = 60.0
    max_retries: Annotated[int, Meta(ge=0)] = 5
    backoff_base_seconds: PositiveFloat = 1.0
    #: An async job whose progress does not move for this long is declared stalled.
    stall_seconds: PositiveFloat = 600.0
    poll_interval_seconds: PositiveFloat = 2.0
    #: Slow down when the highest usage header crosses this percentage.
    pace_above_percent: Annotated[float, Meta(gt=0, le=100)] = 75.0
    #: Longest extra wait per request while pacing (reached at 100% usage).
    max_pace_delay_seconds: Annotated[float, Meta(ge=0)] = 30.0
    #: Shortest pause after a throttle error or 100% usage.
    throttle_pause_seconds: Annotated[float, Meta(ge=0)] = 60.0
    #: Total throttle waiting one account may do in a run before it gives up until the next.
    max_throttle_wait_seconds: Annotated[float, Meta(ge=0)] = 7200.0
    conversion_action_types: tuple[str, ...] = ("offsite_conversion.fb_pixel_purchase",)
    breaker_fail_max: Positive = 5
    breaker_reset_seconds: PositiveFloat = 60.0


class PlatformsConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    facebook: FacebookConfig = msgspec.field(default_factory=FacebookConfig)


class AccountConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    platform: Platform
    account_id: Annotated[str, Meta(min_length=1, max_length=64)]
    access_token: str | SecretRef | None = None
    #: Requests per minute this account may make.
    rate_limit: PositiveFloat = 200.0
    name: str | None = None

    def __repr__(self) -> str:
        # A literal token sits in this struct as a plain string: never show it.
        tok = self.access_token
        shown = "'<literal secret>'" if isinstance(tok, str) else repr(tok)
        return (f"AccountConfig(platform={self.platform!r}, account_id={self.account_id!r}, "
                f"access_token={shown}, rate_limit={self.rate_limit!r}, name={self.name!r})")


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


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    database: DatabaseConfig = msgspec.field(default_factory=DatabaseConfig)
    metrics: MetricsConfig = msgspec.field(default_factory=MetricsConfig)
    runtime: RuntimeConfig = msgspec.field(default_factory=RuntimeConfig)
    platforms: PlatformsConfig = msgspec.field(default_factory=PlatformsConfig)
    accounts: tuple[AccountConfig, ...] = ()
    tasks: tuple[TaskConfig, ...] = ()


class LoadedConfig(msgspec.Struct, frozen=True):
    """A validated config plus what loading it resolved: its folder and the secrets."""

    path: Path
    config: Config
    secrets: dict[tuple[str, str], Secret | None]

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def secret_for(self, platform: str, account_id: str) -> Secret | None:
        return self.secrets.get((platform, account_id))

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


def resolve_secret(ref: str | SecretRef | None, *, where: str, base_dir: Path) -> Secret | None:
    """Turn a secret reference into a :class:`Secret`; errors name ``where``, not the value."""
    if ref is None:
        return None
    if isinstance(ref, str):
        log.warning("%s is a literal secret in the config file; prefer { env = ... }", where)
        return Secret(ref, "literal")
    if (ref.env is None) == (ref.file is None):
        raise ConfigError(f"{where}: give exactly one of env or file")
    if ref.env is not None:
        value = os.environ.get(ref.env)
        if not value:
            raise ConfigError(f"{where}: environment variable {ref.env} is not set or empty")
        return Secret(value, f"env:{ref.env}")
    assert ref.file is not None
    fpath = Path(ref.file)
    if not fpath.is_absolute():
        fpath = base_dir / fpath
    try:
        value = fpath.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read secret file {fpath}: {exc.strerror}") from None
    if not value:
        raise ConfigError(f"{where}: secret file {fpath} is empty")
    return Secret(value, f"file:{fpath}")


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
        if acc.platform != "facebook":
            raise ConfigError(
                f"{path}: accounts[{i}].platform: '{acc.platform}' has no connector yet "
                "(supported: facebook)"
            )
    names: set[str] = set()
    for i, task in enumerate(cfg.tasks):
        if task.name in names:
            raise ConfigError(f"{path}: tasks[{i}].name: duplicate task name '{task.name}'")
        names.add(task.name)
        for acc_id in task.accounts:
            if (task.platform, acc_id) not in seen:
                raise ConfigError(
                    f"{path}: tasks[{i}].accounts: '{acc_id}' is not a configured "
                    f"{task.platform} account"
                )
    host, sep, port = cfg.metrics.listen.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(
            f"{path}: metrics.listen: expected 'host:port', got {cfg.metrics.listen!r}"
        )


def parse_config(text: str | bytes, path: Path) -> Config:
    """Decode and check TOML text; ``path`` is only used in messages."""
    try:
        cfg = msgspec.toml.decode(text, type=Config)
    except msgspec.MsgspecError as exc:
        raise _explain(path, exc) from None
    _check(path, cfg)
    return cfg


def load_config(path: str | os.PathLike[str]) -> LoadedConfig:
    """Read, decode, check and resolve secrets; raise ConfigError with one clear line."""
    p = Path(path).expanduser().resolve()
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config file: {exc.strerror}") from None
    cfg = parse_config(raw, p)
    secrets: dict[tuple[str, str], Secret | None] = {}
    for i, acc in enumerate(cfg.accounts):
        secrets[(acc.platform, acc.account_id)] = resolve_secret(
            acc.access_token, where=f"{p}: accounts[{i}].access_token", base_dir=p.parent
        )
    return LoadedConfig(path=p, config=cfg, secrets=secrets)


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
