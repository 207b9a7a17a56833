"""OAuth2 refresh-token flow shared by Google Ads and Amazon Ads (Login with Amazon).

``OAuthClient.token()`` returns a cached access token and refreshes it shortly before
``expires_in`` runs out; ``invalidate()`` after a 401 forces the next call to refresh once,
so an expired token costs one refresh, not an auth failure. A refused refresh (bad client
or revoked refresh token: 400/401 ``invalid_grant`` / ``invalid_client``) is an
``AuthError``; a 5xx or network failure while refreshing is transient.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import aiohttp
import anyio
import msgspec

from ...config import Secret
from ...errors import AuthError, TransientError
from ...redaction import register_secret
from .bodies import MAX_TOKEN_BODY_BYTES, read_body

log = logging.getLogger(__name__)

#: Refresh this long before the token would expire, so no request carries a dying token.
EARLY_REFRESH_SECONDS = 120.0


class TokenAnswer(msgspec.Struct, frozen=True):
    """The token endpoint's answer (Google and LwA); other fields (``scope``) are ignored."""

    access_token: str
    expires_in: float = 3600.0
    token_type: str = "Bearer"


_decode = msgspec.json.Decoder(TokenAnswer)


class OAuthClient:
    """Access tokens from a refresh token, cached until shortly before they expire."""

    def __init__(
        self,
        *,
        platform: str,
        account_id: str,
        token_url: str,
        client_id: Secret,
        client_secret: Secret,
        refresh_token: Secret,
        session: aiohttp.ClientSession,
        timeout: float = 30.0,
    ) -> None:
        self.platform = platform
        self.account_id = account_id
        self.token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._session = session
        self._timeout = timeout
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = anyio.Lock()
        self.refreshes = 0

    @property
    def expires_at(self) -> float:
        """Monotonic time the cached token expires (0 before the first refresh)."""
        return self._expires_at

    def invalidate(self) -> None:
        """The platform said 401: drop the cached token so the next call refreshes."""
        self._token = None
        self._expires_at = 0.0

    async def token(self) -> str:
        async with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at - EARLY_REFRESH_SECONDS:
                await self._refresh()
            assert self._token is not None
            return self._token

    async def _refresh(self) -> None:
        session = self._session
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh_token.reveal(),
            "client_id": self._client_id.reveal(),
            "client_secret": self._client_secret.reveal(),
        }
        kw: dict[str, Any] = {"platform": self.platform, "account_id": self.account_id}
        try:
            async with session.post(
                self.token_url, data=form, timeout=aiohttp.ClientTimeout(total=self._timeout)
            ) as resp:
                body = await read_body(resp, self, "token refresh", MAX_TOKEN_BODY_BYTES)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TransientError(f"token refresh: {type(exc).__name__}: {exc}", **kw) from None
        if status >= 500 or status == 429:
            raise TransientError(f"token refresh: HTTP {status}", status=status, **kw)
        if status != 200:
            reason = body[:200].decode("utf-8", "replace")
            raise AuthError(f"token refresh refused (HTTP {status}): {reason}", status=status,
                            **kw)
        try:
            answer = _decode.decode(body)
        except (msgspec.MsgspecError, RecursionError) as exc:
            raise TransientError(f"token refresh: unreadable answer: {exc}", **kw) from None
        self._token = answer.access_token
        # A minted token is a secret like the configured ones; its slot replaces the
        # account's previous token, so hourly refreshes do not grow the registry.
        register_secret(answer.access_token, slot=f"oauth:{self.platform}:{self.account_id}")
        self._expires_at = time.monotonic() + max(0.0, answer.expires_in)
        self.refreshes += 1
        log.info("%s access token refreshed; valid for %.0fs", self.platform, answer.expires_in)
