"""Amazon Ads' HTTP side for one profile: hosts, Login with Amazon, request hooks, reports.

:class:`AmazonApi` is the base of :class:`~.connector.AmazonAdsConnector`: it finds the
profile's hosts (its own, its region's, or the platform's), sends each call with a fresh
LwA access token and the profile scope (a 401 invalidates the token and the call is sent
once more), maps Amazon's answers to our errors, and runs the async reports every row
comes from: create (200 or 202; a 425 "duplicate of <id>" reuses that report), poll with
growing intervals and a stall detector on status/``updatedAt``, re-create once on
``FAILED``, and stream the gzip download (``reports``), fetching again from a fresh URL
when it breaks midway and skipping the rows already sent. What is asked for, and how rows
become pages for the source actor, is the connector's part.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import anyio
import msgspec

from ...config import AmazonConfig, Secret
from ...errors import AuthError, ReportStalledError, SourceError, TransientError
from ...observability.metrics import Metrics
from ...platform_config import AMAZON_REGIONS, AmazonRegion
from ...schema import AccountInfo
from ...utils.retry import backoff_delay
from ..http.client import BACKOFF_FACTOR, HttpSource, Prepared
from ..http.oauth import OAuthClient
from ..http.pacing import UsageReading
from .answers import REPORT, Report
from .errors import (
    classify_error,
    duplicate_report_id,
    retry_after_seconds,
)
from .reports import (
    CREATE_ACCEPT,
    CREATE_CONTENT_TYPE,
    DONE,
    FAILED,
    PAGE_ROWS,
    SB_ADS_TYPE,
    STATUS_ACCEPT,
    download_rows,
)

log = logging.getLogger(__name__)


#: Longest wait between two status polls (reports can take hours; polling fast gets 429s).
MAX_POLL_SECONDS = 60.0
#: Status polls answered 401 even after a token refresh that are retried before the 401
#: stands (Amazon's polling 401s are transient; Airbyte retries them 5 times).
POLL_AUTH_RETRIES = 5


def hosts_for(config: AmazonConfig, region: AmazonRegion | None = None,
              base_url: str | None = None, token_url: str | None = None) -> tuple[str, str]:
    """API and token URLs of an account: its own, else its region's, else the platform's.

    A region's hosts are ``[platforms.amazon.regions.<R>]`` where configured, else Amazon's
    (``AMAZON_REGIONS``); an account without a region uses ``[platforms.amazon]``.
    """
    api, token = config.base_url, config.token_url
    if region is not None:
        over = config.regions.get(region)
        api, token = AMAZON_REGIONS[region]
        if over is not None:
            api, token = over.base_url or api, over.token_url or token
    return (base_url or api).rstrip("/"), token_url or token


class AmazonApi(HttpSource):
    """One Amazon Ads profile's calls: rate limited, circuit broken, OAuth refreshed."""

    platform = "amazon"

    def __init__(
        self,
        account_id: str,
        *,
        client_id: Secret,
        client_secret: Secret,
        refresh_token: Secret,
        rate_limit: float = 200.0,
        region: AmazonRegion | None = None,
        base_url: str | None = None,
        token_url: str | None = None,
        config: AmazonConfig | None = None,
        session: aiohttp.ClientSession | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config or AmazonConfig()
        super().__init__(account_id, rate_limit, self.config, session=session,
                         metrics=metrics)
        #: A profile lives on its region's host, and its tokens come from that region's LwA.
        self.region = region
        self.base_url, self.token_url = hosts_for(self.config, region, base_url, token_url)
        #: The configured window; None: the account type's (see ``get_account_info``).
        self.window = self.config.attribution_window
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._oauth: OAuthClient | None = None
        self._account_info: AccountInfo | None = None
        #: Day totals computed by ``active_counts`` for the next ``iter_account_rows``.
        self._account_rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
        #: Rows per page handed on from a streamed report download.
        self.page_rows = PAGE_ROWS

    @property
    def oauth(self) -> OAuthClient:
        # Built on first use: the session may be created lazily by the base class.
        if self._oauth is None:
            self._oauth = OAuthClient(
                platform=self.platform, account_id=self.account_id,
                token_url=self.token_url, client_id=self._client_id,
                client_secret=self._client_secret, refresh_token=self._refresh_token,
                session=self._get_session(), timeout=self.settings.timeout_seconds,
            )
        return self._oauth

    # -- platform hooks ------------------------------------------------------------------
    def read_usage(self, headers: Mapping[str, str]) -> UsageReading | None:
        """Amazon has no usage headers; a ``Retry-After`` pauses the account's pacer."""
        wait = retry_after_seconds(headers.get("Retry-After"))
        return None if wait is None else UsageReading(regain_seconds=wait)

    def classify(self, status: int, body: bytes, usage: UsageReading | None) -> SourceError:
        return classify_error(
            status, body, account_id=self.account_id, endpoint="api",
            retry_after=usage.regain_seconds if usage else None,
            throttle_pause=self.settings.throttle_pause_seconds,
        )

    # -- request hooks: LwA bearer token, profile scope, JSON create bodies, 2xx, 425 ------
    async def prepare(
        self, method: str, endpoint: str, params: Mapping[str, str] | None,
        data: Mapping[str, str] | None,
    ) -> Prepared:
        """``data={"json": text}`` is sent as the JSON body of a report create."""
        token = await self.oauth.token()
        headers = {
            "Authorization": f"Bearer {token}",
            "Amazon-Advertising-API-ClientId": self._client_id.reveal(),
        }
        if endpoint != "profiles":  # the profile list is the one call without a scope
            headers["Amazon-Advertising-API-Scope"] = self.account_id
        payload: bytes | None = None
        if data is not None and "json" in data:
            payload = data["json"].encode()
            sb = endpoint == "sb_ads"
            headers["Content-Type"] = SB_ADS_TYPE if sb else CREATE_CONTENT_TYPE
            headers["Accept"] = SB_ADS_TYPE if sb else CREATE_ACCEPT
        elif endpoint == "report_status":
            headers["Accept"] = STATUS_ACCEPT
        return Prepared(params or None, payload, headers)

    def refresh_credentials(self) -> bool:
        # The cached token may have expired early or been revoked server side.
        self.oauth.invalidate()
        return True

    def success_status(self, status: int) -> bool:
        return 200 <= status < 300  # a report create answers 200 or 202

    def special_answer(self, status: int, body: bytes, endpoint: str) -> Report | None:
        if status == 425 and endpoint == "report_create":
            twin = duplicate_report_id(body)
            if twin is not None:
                log.info("report create is a duplicate of in-flight report %s; reusing it", twin)
                return Report(report_id=twin, status="PENDING")
        return None

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    # -- reports -------------------------------------------------------------------------
    async def create_report(self, body: dict[str, Any]) -> str:
        """Create one report (or reuse its in-flight duplicate) and return its id."""
        created = await self.request(
            "POST", self._url("/reporting/reports"), endpoint="report_create", answer=REPORT,
            data={"json": msgspec.json.encode(body).decode()},
        )
        if not created.report_id:
            raise TransientError("report_create: an empty reportId in the answer",
                                 platform=self.platform, account_id=self.account_id)
        return created.report_id

    async def report_status(self, report_id: str) -> Report:
        return await self.request("GET", self._url(f"/reporting/reports/{report_id}"),
                                  endpoint="report_status", answer=REPORT)

    async def wait_report(self, report_id: str) -> Report:
        """Poll until the report is COMPLETED (with a ``url``) or failed; return its status.

        A stall is the status and ``updatedAt`` not moving for ``stall_seconds``: a report
        that keeps changing may take hours, and that is Amazon working as designed.
        """
        interval = self.config.poll_interval_seconds
        last: tuple[str | None, str | None] | None = None
        last_move = time.monotonic()
        refused = 0
        while True:
            await anyio.sleep(interval)
            try:
                st = await self.report_status(report_id)
            except AuthError as exc:
                # Polls answer 401 now and then even with a fresh token (the request has
                # already refreshed once); the report is fine, so poll again, a bounded
                # number of times, before the 401 stops the account.
                refused += 1
                if refused > POLL_AUTH_RETRIES:
                    raise
                log.warning("report %s: status poll refused (%s); polling again (%d/%d)",
                            report_id, exc, refused, POLL_AUTH_RETRIES)
                self.oauth.invalidate()
                continue
            refused = 0
            status = st.status
            if (status == DONE and st.url) or status in FAILED:
                return st
            now = time.monotonic()
            mark = (status, st.updated_at)
            if mark != last:
                last, last_move = mark, now
            elif now - last_move > self.config.stall_seconds:
                raise ReportStalledError(
                    f"report {report_id} stuck in {status} (updatedAt {mark[1]}) for "
                    f"{now - last_move:.0f}s", platform=self.platform, account_id=self.account_id,
                )
            interval = min(interval * 1.5, MAX_POLL_SECONDS)

    async def run_report(self, body: dict[str, Any]) -> tuple[str, Report]:
        """Create and wait; a failed report is created again once before the error stands."""
        for attempt in (1, 2):
            report_id = await self.create_report(body)
            st = await self.wait_report(report_id)
            if st.status not in FAILED:
                return report_id, st
            msg = f"report {report_id} {st.status}: {st.failure_reason or '-'}"
            if attempt == 2:
                raise TransientError(msg, platform=self.platform, account_id=self.account_id)
            log.warning("%s; creating the report again", msg)
        raise AssertionError("unreachable")

    async def report_rows(self, body: dict[str, Any]) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of the rows of one report, downloading again (skipping rows sent) on breaks."""
        report_id, st = await self.run_report(body)
        sent = 0
        failures = 0
        while True:
            try:
                async for page in download_rows(
                    self._get_session(), str(st.url), report_id=report_id, skip=sent,
                    max_bytes=self.config.max_report_bytes, account_id=self.account_id,
                    timeout=self.settings.timeout_seconds, page_rows=self.page_rows,
                    on_error=self._count_error,
                ):
                    sent += len(page)
                    yield page
                return
            except TransientError as exc:
                failures += 1
                if failures > self.settings.max_retries:
                    raise
                delay = backoff_delay(failures - 1, BACKOFF_FACTOR,
                                      base=self.settings.backoff_base_seconds)
                log.warning("%s; downloading again in %.1fs (fresh URL)", exc, delay)
                await anyio.sleep(delay)
                st = await self.report_status(report_id)
                if not st.url:
                    raise TransientError(f"report {report_id}: no download URL any more",
                                         platform=self.platform,
                                         account_id=self.account_id) from exc
