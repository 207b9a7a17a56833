"""The TikTok API for Business answers the connector reads, as frozen msgspec Structs.

Every answer is the envelope ``{"code", "message", "request_id", "data"}``
(docs/api-reference.md §4.1): ``code`` 0 is success, anything else an error delivered with
HTTP 200 and ``data`` ``{}``. Pages (reports, ``ad/get``, ``adgroup/get``) carry
``data{"list", "page_info{page, page_size, total_number, total_page}"}`` (§4.2, §4.5);
``advertiser/info`` carries ``data{"list": [advertiser...]}``. Because an error's ``data``
is ``{}``, the payload's fields are optional here and the connector requires them once
the code said success (:func:`page_of`). Unknown fields are ignored (TikTok adds fields);
ids come as strings or as JSON numbers, so they are ``str | int``.

The rows of a page (report rows, ads, ad groups) stay ``dict[str, Any]``: one poison value
must cost its row, which validation quarantines, never the whole page.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

from ...errors import AnswerShapeError
from ..http.answers import Answer

T = TypeVar("T")


class Envelope(msgspec.Struct, Generic[T], frozen=True):
    """``{code, message, request_id, data}``; ``data`` is ``None`` only if absent."""

    code: int | str
    message: str | None = None
    request_id: str | None = None
    data: T | None = None


class PageInfo(msgspec.Struct, frozen=True):
    total_number: int
    total_page: int
    page: int | None = None
    page_size: int | None = None


class PageData(msgspec.Struct, frozen=True):
    """``data`` of a paged answer: rows (raw) and the page counts."""

    rows: list[dict[str, Any]] | None = msgspec.field(default=None, name="list")
    page_info: PageInfo | None = None


class Advertiser(msgspec.Struct, frozen=True):
    """One entry of ``advertiser/info``'s list (only the fields asked for come back)."""

    advertiser_id: str | int | None = None
    name: str | None = None
    currency: str | None = None
    timezone: str | None = None
    display_timezone: str | None = None
    status: str | None = None


class AdvertiserData(msgspec.Struct, frozen=True):
    advertisers: list[Advertiser] | None = msgspec.field(default=None, name="list")


class Head(msgspec.Struct, frozen=True):
    """The envelope without its payload: enough to classify an error answer."""

    code: int | str | None = None
    message: str | None = None
    request_id: str | None = None


PAGE: Answer[Envelope[PageData]] = Answer(Envelope[PageData], "TikTok page")
ADVERTISER: Answer[Envelope[AdvertiserData]] = Answer(Envelope[AdvertiserData],
                                                      "advertiser/info")
HEAD = msgspec.json.Decoder(Head)


def page_of(env: Envelope[PageData], *, endpoint: str, account_id: str,
            page: int) -> tuple[list[dict[str, Any]], PageInfo]:
    """The rows and counts of a successful page; AnswerShapeError if ``data`` lacks them.

    A page with no rows may leave ``list`` out (as long as it says ``total_number`` 0).
    """
    data = env.data
    info = data.page_info if data is not None else None
    if data is None or info is None:
        path = "$.data" if data is None else "$.data.page_info"
        raise AnswerShapeError(
            f"tiktok {endpoint}: answer of an unexpected shape: page {page} without "
            f"{path[2:]} - at `{path}`", endpoint=endpoint, path=path, platform="tiktok",
            account_id=account_id, status=200)
    if data.rows is None:
        if info.total_number != 0:
            raise AnswerShapeError(
                f"tiktok {endpoint}: answer of an unexpected shape: page {page} without "
                f"data.list but total_number {info.total_number} - at `$.data.list`",
                endpoint=endpoint, path="$.data.list", platform="tiktok",
                account_id=account_id, status=200)
        return [], info
    return data.rows, info
