"""Request parameters of the TikTok emulator, read as the API reads them.

GET parameters arrive as strings; lists (``fields``, ``dimensions``, ``metrics``,
``filtering``, ``advertiser_ids``) as JSON arrays. A bad value is the envelope error
``bad_param`` builds (code 40002, HTTP 200, like every TikTok application error).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from within_daemon.sandbox.tiktok.data import bad_param

MAX_PAGE_SIZE = 1000


def json_list(params: dict[str, str], name: str) -> list[Any] | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise bad_param(f"{name}: Invalid JSON array.") from None
    if not isinstance(value, list):
        raise bad_param(f"{name}: Not a valid list.")
    return value


def int_param(params: dict[str, str], name: str, default: int, hi: int) -> int:
    raw = params.get(name, "")
    if raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= hi:
        raise bad_param(f"{name}: must be an integer between 1 and {hi}.")
    return int(raw)


def day_param(params: dict[str, str], name: str) -> int:
    try:
        return dt.date.fromisoformat(params[name]).toordinal()
    except KeyError:
        raise bad_param(f"{name}: Missing data for required field.") from None
    except ValueError:
        raise bad_param(f"{name}: Not a valid date (YYYY-MM-DD).") from None
