"""Facebook Graph's HTTP side for one ad account: token, usage pacing, paging, async jobs.

:class:`FacebookApi` is the base of :class:`~.connector.FacebookAdsConnector`: it sends
every call with the access token in the ``Authorization`` header, reads the usage headers
that pace the account, maps Graph's answers (an error object in a 200 answer included) to
our errors, follows ``paging.next`` until it is absent (halving the page size when Graph
asks for less data, refusing a link to another host), and runs async insights jobs (create,
poll through ``jobs``, re-create once on failure, then page the results). Which objects
and insights are asked for is the connector's part.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any, TypeVar

import aiohttp
from yarl import URL

from ...config import FACEBOOK_DEFAULT_BASE_URL, FacebookConfig, Secret
from ...errors import ReduceDataError, SourceError, TransientError
from ...observability.metrics import Metrics
from ...schema import AccountInfo
from ..http.answers import Answer
from ..http.client import HttpSource
from ..http.clock import Clock
from ..http.pacing import UsageReading, read_usage_headers
from .answers import JOB_CREATED, JOB_STATUS, PAGE
from .errors import classify_error, error_object
from .jobs import wait_for_job

log = logging.getLogger(__name__)


T = TypeVar("T")

#: Below this page size a "reduce the amount of data" error is not worth halving further.
MIN_PAGE = 10


class FacebookApi(HttpSource):
    """One Facebook ad account's calls: rate limited, paced by usage headers, circuit broken."""

    platform = "facebook"

    def __init__(
        self,
        account_id: str,
        access_token: str | Secret,
        rate_limit: float = 200.0,
        *,
        config: FacebookConfig | None = None,
        base_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
        metrics: Metrics | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.config = config or FacebookConfig()
        super().__init__(
            account_id.removeprefix("act_"), rate_limit, self.config,
            session=session, metrics=metrics, clock=clock,
        )
        self._token = access_token if isinstance(access_token, Secret) else Secret(
            access_token, "argument"
        )
        self.base_url = (base_url or self.config.base_url or FACEBOOK_DEFAULT_BASE_URL).rstrip("/")
        self._origin = URL(self.base_url).origin()
        self._account_info: AccountInfo | None = None

    # -- platform hooks ------------------------------------------------------------------
    def auth_headers(self) -> dict[str, str]:
        # In a header, not the query: URLs end up in logs, error texts and paging.next.
        return {"Authorization": f"OAuth {self._token.reveal()}"}

    def read_usage(self, headers: Mapping[str, str]) -> UsageReading | None:
        return read_usage_headers(headers)

    def classify(self, status: int, body: bytes, usage: UsageReading | None) -> SourceError:
        return classify_error(
            status, body, account_id=self.account_id,
            regain_seconds=usage.regain_seconds if usage else 0.0,
            throttle_pause=self.settings.throttle_pause_seconds,
        )

    def error_answer(self, body: bytes, usage: UsageReading | None) -> SourceError | None:
        # Graph may answer 200 with an error object in place of the page.
        if error_object(body) is not None:
            return self.classify(400, body, usage)
        return None

    # -- low level -----------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    async def _get(self, path: str, params: Mapping[str, str], endpoint: str,
                   answer: Answer[T]) -> T:
        return await self.request("GET", self._url(path), endpoint=endpoint, answer=answer,
                                  params=params)

    async def pages(
        self, path: str, params: Mapping[str, str], *, endpoint: str
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield ``data`` of each page, following ``paging.next`` until it is absent."""
        url = self._url(path)
        query: dict[str, str] = dict(params)
        while True:
            try:
                page = await self.request("GET", url, endpoint=endpoint, answer=PAGE,
                                          params=query)
            except ReduceDataError:
                limit = int(query.get("limit", "25"))
                if limit <= MIN_PAGE:
                    raise
                query["limit"] = str(max(MIN_PAGE, limit // 2))
                log.warning("%s: platform asked for less data; page size %s -> %s",
                            endpoint, limit, query["limit"])
                continue
            yield page.data
            nxt = page.paging.next if page.paging is not None else None
            if not nxt:
                return
            nurl = URL(nxt)
            if nurl.origin() != self._origin:
                raise TransientError(
                    f"{endpoint}: paging.next points to another host ({nurl.host})",
                    platform=self.platform, account_id=self.account_id,
                )
            # Keep the cursor and the platform's params, but our page size; a token in the
            # link is dropped (ours travels in the Authorization header).
            page_size = query.get("limit")
            query = {k: v for k, v in nurl.query.items() if k != "access_token"}
            if page_size is not None:
                query["limit"] = page_size
            url = str(nurl.with_query(None))

    async def _async_insights(
        self, params: dict[str, str]
    ) -> AsyncIterator[list[dict[str, Any]]]:
        attempts = 0
        while True:
            try:
                run_id = await self.run_report_job(params)
                break
            except TransientError:
                # A failed, stalled or overrunning job is re-created once before the
                # window fails.
                attempts += 1
                if attempts > 1:
                    raise
                log.warning("async insights job failed; creating it again")
        async for page in self.pages(
            f"{run_id}/insights", {"limit": params["limit"]}, endpoint="job_results"
        ):
            yield page

    async def run_report_job(self, params: Mapping[str, str]) -> str:
        """Create an async insights job and poll it to completion; return its id."""
        created = await self.request(
            "POST", self._url(f"act_{self.account_id}/insights"), endpoint="job_create",
            answer=JOB_CREATED, data=params,
        )
        run_id = str(created.report_run_id)
        if not run_id:
            raise TransientError("job_create: no report_run_id in the answer",
                                 platform=self.platform, account_id=self.account_id)
        await wait_for_job(
            run_id,
            lambda rid: self._get(
                rid, {"fields": "id,async_status,async_percent_completion"}, "job_status",
                JOB_STATUS),
            clock=self.clock, poll_interval=self.config.poll_interval_seconds,
            stall_seconds=self.config.stall_seconds,
            budget_seconds=self.config.job_budget_seconds,
            platform=self.platform, account_id=self.account_id,
        )
        return run_id
