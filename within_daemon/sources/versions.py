"""Every platform API version the connectors can call, with release and sunset dates.

A version is a dated fact: the vendors publish when each one stops answering, and a daemon
that calls a sunset version fails on every request. So the dates live in one table with
their source, and ``check_versions`` turns the configured versions into notices: a warning
within ``WARN_DAYS`` of a sunset, a refusal past it, each one line naming the config key and
the replacement. ``sunset_timestamp`` feeds the gauge
``within_api_version_sunset_timestamp_seconds{platform}`` that the alert rules watch.

Facebook and Google carry their version in ``[platforms.<name>] base_url``; TikTok's is in its
base URL too (v1.3); Amazon's reporting version (v3) is part of the connector's paths. Sunset
dates marked ``estimated`` are the vendor's projections (a month, entered as its first day
so the warning comes early), not announced dates.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Literal, NamedTuple

from ..config import LoadedConfig
from ..errors import ConfigError
from ..observability.metrics import Metrics
from ..platform_config import PlatformsConfig

log = logging.getLogger(__name__)

#: Warn this many days before a configured version's sunset.
WARN_DAYS = 60

_FB = ("Meta Marketing API version history, developers.facebook.com/documentation/"
       "ads-commerce/marketing-api/marketing-api-changelog/versions (checked 2026-12)")
_FB_OLD = ("Meta Marketing API changelog, developers.facebook.com/docs/marketing-api/"
           "marketing-api-changelog/versions (v21.0: October 2, 2024 - September 9, 2025)")
_GOOGLE_BLOG = "Google Ads developer blog, '{v} sunset reminder' (developers.google.com/ads/blog)"
_GOOGLE_PLAN = ("Google Ads developer blog 2025-09-04 'More frequent releases coming': projected "
                "sunset (estimate); release notes for the release date")


class ApiVersion(NamedTuple):
    """One version of one platform's API."""

    platform: str
    version: str
    released: date | None
    #: The day requests start failing; ``None`` while the vendor has announced none.
    sunset: date | None
    #: The sunset is the vendor's projection, not an announced date.
    estimated: bool
    source: str


VERSIONS: tuple[ApiVersion, ...] = (
    ApiVersion("facebook", "v21.0", date(2024, 10, 2), date(2025, 9, 9), False, _FB_OLD),
    ApiVersion("facebook", "v22.0", date(2025, 1, 21), date(2026, 2, 19), False, _FB),
    ApiVersion("facebook", "v23.0", date(2025, 5, 29), date(2026, 6, 9), False, _FB),
    ApiVersion("facebook", "v24.0", date(2025, 10, 8), date(2026, 11, 10), False, _FB),
    ApiVersion("facebook", "v25.0", date(2026, 2, 18), date(2027, 2, 23), False, _FB),
    ApiVersion("facebook", "v26.0", date(2026, 7, 29), None, False, _FB),
    ApiVersion("facebook", "v27.0", date(2026, 11, 4), None, False, _FB),
    ApiVersion("google", "v19", None, date(2026, 2, 11), False, _GOOGLE_BLOG.format(v="v19")),
    ApiVersion("google", "v20", None, date(2026, 6, 10), False, _GOOGLE_BLOG.format(v="v20")),
    ApiVersion("google", "v21", None, date(2026, 8, 5), False, _GOOGLE_BLOG.format(v="v21")),
    ApiVersion("google", "v22", None, date(2026, 10, 7), False, _GOOGLE_BLOG.format(v="v22")),
    ApiVersion("google", "v23", None, date(2027, 2, 1), True, _GOOGLE_PLAN),
    ApiVersion("google", "v24", None, date(2027, 5, 1), True, _GOOGLE_PLAN),
    ApiVersion("google", "v25", date(2026, 7, 22), date(2027, 8, 1), True, _GOOGLE_PLAN),
    ApiVersion("google", "v26", date(2026, 10, 14), date(2027, 11, 1), True,
               "Google Ads developer blog 2026-10-14 'Announcing v26 of the Google Ads API'; "
               "sunset projected for November 2027 (estimate)"),
    ApiVersion("tiktok", "v1.3", None, None, False,
               "TikTok API for Business, business-api.tiktok.com/open_api/v1.3 (current)"),
    ApiVersion("amazon", "v3", None, None, False,
               "Amazon Ads reporting v3 (/reporting/reports), current"),
)

#: What the connectors use unless the config says otherwise: the newest supported version.
DEFAULT_VERSIONS = {"facebook": "v27.0", "google": "v26", "tiktok": "v1.3", "amazon": "v3"}

_IN_URL = re.compile(r"/(v\d+(?:\.\d+)?)(?=/|$)")


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.lstrip("v").split("."))


def find(platform: str, version: str) -> ApiVersion | None:
    """The table entry of ``version``, or ``None`` when the table does not know it."""
    return next((v for v in VERSIONS if v.platform == platform and v.version == version), None)


def config_key(platform: str) -> str:
    """The config key that selects a platform's version."""
    return f"platforms.{platform}.base_url"


def configured_version(platform: str, platforms: PlatformsConfig) -> str | None:
    """The version a platform's connector calls, read from its base URL."""
    if platform == "amazon":
        return DEFAULT_VERSIONS["amazon"]  # the connector's paths carry reporting v3
    section = getattr(platforms, platform, None)
    base_url = getattr(section, "base_url", None)
    if not isinstance(base_url, str):
        return None
    found = _IN_URL.findall(base_url.rstrip("/"))
    return found[-1] if found else None


def replacement_url(platform: str, base_url: str) -> str:
    """``base_url`` with its version swapped for the default one."""
    new = DEFAULT_VERSIONS[platform]
    m = list(_IN_URL.finditer(base_url.rstrip("/")))
    if not m:
        return base_url
    last = m[-1]
    return base_url[: last.start(1)] + new + base_url[last.end(1):]


def effective_sunset(platform: str, version: str) -> date | None:
    """The sunset of ``version``; a version older than every known one is long sunset."""
    entry = find(platform, version)
    if entry is not None:
        return entry.sunset
    known = [v for v in VERSIONS if v.platform == platform]
    try:
        older = known and _key(version) < min(_key(v.version) for v in known)
    except ValueError:
        return None
    if older:
        oldest = min(known, key=lambda v: _key(v.version))
        return oldest.sunset or oldest.released
    return None


class VersionNotice(NamedTuple):
    """What ``check_versions`` found about one platform's configured version."""

    platform: str
    version: str
    level: Literal["expired", "warn", "unknown"]
    sunset: date | None
    message: str


def check_versions(
    platforms: PlatformsConfig, used: Iterable[str], today: date
) -> list[VersionNotice]:
    """Notices for the platforms in ``used``: past sunset, within ``WARN_DAYS``, or unknown."""
    out: list[VersionNotice] = []
    for platform in sorted(set(used)):
        if platform not in DEFAULT_VERSIONS:
            continue  # the internal source calls no vendor API
        version = configured_version(platform, platforms)
        if version is None:
            continue
        key = config_key(platform)
        base_url = str(getattr(getattr(platforms, platform), "base_url", ""))
        fix = f"set {key} = \"{replacement_url(platform, base_url)}\""
        sunset = effective_sunset(platform, version)
        entry = find(platform, version)
        est = " (estimated)" if entry is not None and entry.estimated else ""
        if sunset is not None and sunset <= today:
            when = f"on {sunset}" if entry is not None else f"by {sunset} at the latest"
            out.append(VersionNotice(
                platform, version, "expired", sunset,
                f"{key}: {platform} API {version} was sunset {when}; every call fails: {fix}",
            ))
        elif sunset is not None and (sunset - today).days <= WARN_DAYS:
            out.append(VersionNotice(
                platform, version, "warn", sunset,
                f"{key}: {platform} API {version} sunsets on {sunset}{est}, in "
                f"{(sunset - today).days} days; {fix}",
            ))
        elif entry is None and sunset is None:
            known = ", ".join(v.version for v in VERSIONS if v.platform == platform)
            out.append(VersionNotice(
                platform, version, "unknown", None,
                f"{key}: {platform} API {version} is not in the version table; its sunset "
                f"is unknown (known: {known})",
            ))
    return out


def sunset_timestamp(platform: str, platforms: PlatformsConfig) -> float:
    """Unix time (UTC midnight) the configured version sunsets; 0 when none is announced."""
    version = configured_version(platform, platforms)
    sunset = effective_sunset(platform, version) if version else None
    if sunset is None:
        return 0.0
    return datetime(sunset.year, sunset.month, sunset.day, tzinfo=UTC).timestamp()


def enforce_versions(
    platforms: PlatformsConfig, used: Iterable[str], today: date, *, where: str,
    metrics: Metrics | None = None,
) -> list[VersionNotice]:
    """Log the warnings, set the sunset gauges, and refuse a sunset version.

    Raises ``ConfigError`` (one line: ``where``, the key, the replacement) for the first
    platform whose configured version is past its sunset; returns the notices otherwise.
    """
    used = sorted(set(used))
    if metrics is not None:
        for platform in used:
            if platform in DEFAULT_VERSIONS:
                metrics.api_version_sunset.labels(platform).set(
                    sunset_timestamp(platform, platforms))
    notices = check_versions(platforms, used, today)
    for n in notices:
        if n.level == "expired":
            raise ConfigError(f"{where}: {n.message}")
        log.warning("%s", n.message)
    return notices


def enforce_config_versions(loaded: LoadedConfig, metrics: Metrics | None = None) -> list[str]:
    """:func:`enforce_versions` for the platforms a config's accounts use, as of today (UTC).

    The one entry point of check-config, the commands that start runs, and a reload.
    """
    used = {a.platform for a in loaded.config.accounts}
    notices = enforce_versions(loaded.config.platforms, used, datetime.now(UTC).date(),
                               where=str(loaded.path), metrics=metrics)
    return [n.message for n in notices]
