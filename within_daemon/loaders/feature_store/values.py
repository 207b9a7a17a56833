"""The feature store's stored spellings: timestamps, entity keys and typed values.

How a day, a request time, an entity and a feature value are written into (and read back
from) ``feature_online`` / ``feature_history``. These are pure functions with no database
access, shared by the store's reads and writes and by its Parquet export; they live apart
from :class:`~within_daemon.loaders.feature_store.FeatureStore` because the spellings are a
contract of the stored data (a change here changes what existing rows mean), not logic of
any one operation.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from within_daemon.errors import LoaderError
from within_daemon.features import FEATURES, FEATURES_BY_NAME, Entity, FeatureDef, features_of

# -- timestamps -------------------------------------------------------------------------------


def day_end(day: str) -> str:
    """The event timestamp of a day's values: ``2024-03-01`` -> ``2024-03-01T23:59:59Z``."""
    date.fromisoformat(day)  # reject anything that is not an ISO day
    return f"{day}T23:59:59Z"


def normalize_ts(value: str | datetime | date) -> str:
    """A request time in the stored spelling (UTC, whole seconds, ``Z``), rounded down.

    Rounding down keeps the comparison exact: stored times are whole seconds, so
    ``stored <= floor(t)`` exactly when ``stored <= t``. A naive time is taken as UTC; a bare
    date means its midnight (the start of the day: that day's own values are not yet known).
    """
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value)
        except ValueError as exc:
            raise LoaderError(f"not an ISO timestamp: {value!r}") from exc
    elif isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    else:
        raise LoaderError(f"not a timestamp: {value!r}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_stamp() -> str:
    """Now, as a ``created_timestamp`` (UTC, microseconds, ``Z``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(ts: str) -> datetime:
    """A stored timestamp back as an aware ``datetime``."""
    return datetime.fromisoformat(ts)


# -- keys and values --------------------------------------------------------------------------


def entity_key(platform: str, account_id: str, ad_id: str | None = None) -> str:
    """``"<platform>:<account_id>"`` or ``"<platform>:<account_id>:<ad_id>"``."""
    return f"{platform}:{account_id}" if ad_id is None else f"{platform}:{account_id}:{ad_id}"


def split_key(entity: Entity, key: str) -> tuple[str, ...]:
    """The key's parts: ``(platform, account_id)`` or ``(platform, account_id, ad_id)``."""
    parts = tuple(key.split(":", 2))
    if len(parts) != (3 if entity == "ad" else 2) or not all(parts):
        raise LoaderError(f"not an {entity} key: {key!r}")
    return parts


def account_of(key: str) -> str | None:
    """The account key of an ad or account key (``None`` if it has no account part)."""
    parts = key.split(":", 2)
    return f"{parts[0]}:{parts[1]}" if len(parts) >= 2 and parts[0] and parts[1] else None


def store_value(f: FeatureDef, v: Any) -> tuple[float | None, str | None]:
    """A value as its ``(value_real, value_text)`` columns."""
    if v is None:
        return None, None
    if f.dtype == "str":
        return None, str(v)
    return float(v), None


def load_value(f: FeatureDef, real: float | None, text: str | None) -> Any:
    """The value stored as ``(value_real, value_text)``, in the feature's type."""
    if f.dtype == "str":
        return text
    if real is None:
        return None
    return int(real) if f.dtype == "int" else float(real)


def load_column(f: FeatureDef, v: Any) -> Any:
    """A value read from ``f``'s column of its view table, in the feature's type."""
    if v is None or f.dtype == "str":
        return v
    return int(v) if f.dtype == "int" else float(v)


def check_entity(entity: str) -> Entity:
    """``entity`` if it is one the store knows, else a :class:`LoaderError`."""
    if entity == "ad":
        return "ad"
    if entity == "account":
        return "account"
    raise LoaderError(f"unknown entity {entity!r} (expected 'ad' or 'account')")


def feature_defs(names: Iterable[str] | None, entity: Entity | None = None) -> list[FeatureDef]:
    """The definitions of ``names`` (all, or all of ``entity``, for ``None``), checked."""
    if names is None:
        return list(FEATURES if entity is None else features_of(entity))
    out = []
    for n in names:
        f = FEATURES_BY_NAME.get(n)
        if f is None:
            raise LoaderError(f"unknown feature {n!r}; `within-daemon features` lists them")
        if entity is not None and f.entity != entity:
            raise LoaderError(f"feature {n!r} describes an {f.entity}, not an {entity}")
        out.append(f)
    return out
