"""The emulator's stand-in for S3: pre-signed report URLs, their checks, chunked objects.

A finished report is downloaded from a pre-signed URL (``X-Amz-Date``, ``X-Amz-Expires``,
``X-Amz-Signature``; the signature is an HMAC here, under a key each emulator draws at
start). Like S3, the download refuses a wrong signature and a request that also carries an
``Authorization`` header (one auth mechanism only), and answers 403 once the URL expired.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time

from aiohttp import web

from within_daemon.sandbox.amazon.errors import s3_error

CHUNK = 64 * 1024


def signature(key: bytes, report_id: str, stamp: str, expires: str) -> str:
    msg = f"{report_id}|{stamp}|{expires}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def signed_url(key: bytes, base_url: str, report_id: str, ttl: int) -> str:
    """The download URL of a report, signed now and good for ``ttl`` seconds."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    expires = str(ttl)
    return (f"{base_url}/s3/offline-report-storage/{report_id}.json.gz?"
            f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={stamp}&X-Amz-Expires={expires}"
            f"&X-Amz-Signature={signature(key, report_id, stamp, expires)}")


def url_expired(key: bytes, request: web.Request, report_id: str) -> bool:
    """Whether a well-signed download URL has expired; raise S3's error for a bad one."""
    q = request.query
    stamp, expires = q.get("X-Amz-Date", ""), q.get("X-Amz-Expires", "")
    if not hmac.compare_digest(q.get("X-Amz-Signature", ""),
                               signature(key, report_id, stamp, expires)):
        raise s3_error(403, "SignatureDoesNotMatch", "The request signature we calculated "
                       "does not match the signature you provided.")
    if "Authorization" in request.headers:
        raise s3_error(400, "InvalidArgument", "Only one auth mechanism allowed; only the "
                       "X-Amz-Algorithm query parameter, Signature query string parameter "
                       "or the Authorization header should be specified")
    signed = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    return signed.timestamp() + int(expires) < time.time()


async def send_object(request: web.Request, payload: bytes) -> web.StreamResponse:
    """The object's bytes with their length, written in chunks as S3 streams them."""
    resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream",
                                       "Content-Length": str(len(payload))})
    await resp.prepare(request)
    for i in range(0, len(payload), CHUNK):
        await resp.write(payload[i:i + CHUNK])
    await resp.write_eof()
    return resp
