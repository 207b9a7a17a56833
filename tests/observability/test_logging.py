"""Log lines: JSON shape, context fields from contextvars, token and secret redaction."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from within_daemon import redaction
from within_daemon.observability.logging import (
    ContextFilter,
    JsonFormatter,
    TextFormatter,
    account_var,
    platform_var,
    redact,
    register_secret,
    run_var,
)

TOKEN = "EAABsbCS1iHgBAKZCZBZCtoken123"


@pytest.fixture(autouse=True)
def fresh_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no registered secrets and leaves none behind."""
    monkeypatch.setattr(redaction, "_static", set())
    monkeypatch.setattr(redaction, "_slots", {})
    monkeypatch.setattr(redaction, "_ordered", ())


class Capture:
    """A real logger wired like setup_logging does it, writing into a buffer."""

    def __init__(self, formatter: logging.Formatter) -> None:
        self.buf = io.StringIO()
        self.handler = logging.StreamHandler(self.buf)
        self.handler.addFilter(ContextFilter())
        self.handler.setFormatter(formatter)
        self.log = logging.getLogger(f"within_daemon.test_logging.{id(self)}")
        self.log.handlers = [self.handler]
        self.log.propagate = False
        self.log.setLevel(logging.DEBUG)

    def lines(self) -> list[str]:
        return self.buf.getvalue().splitlines()

    def objects(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines()]

    def close(self) -> None:
        self.log.handlers = []


@pytest.fixture
def jcap() -> Iterator[Capture]:
    cap = Capture(JsonFormatter())
    yield cap
    cap.close()


@pytest.fixture
def context() -> Iterator[None]:
    tokens = [platform_var.set("facebook"), account_var.set("act_42"), run_var.set("run-7")]
    yield
    for var, tok in zip((platform_var, account_var, run_var), tokens, strict=True):
        var.reset(tok)


# -- JSON lines ----------------------------------------------------------------------------


def test_json_one_object_per_line_with_context(jcap: Capture, context: None) -> None:
    """Each record is one JSON line carrying platform, account_id and run_id."""
    jcap.log.info("fetched %d rows", 25)
    jcap.log.warning("multi\nline message")
    lines = jcap.lines()
    assert len(lines) == 2
    first, second = jcap.objects()
    assert first["msg"] == "fetched 25 rows"
    assert first["level"] == "info"
    assert first["logger"] == jcap.log.name
    assert (first["platform"], first["account_id"], first["run_id"]) == (
        "facebook", "act_42", "run-7"
    )
    assert second["msg"] == "multi\nline message"
    assert second["level"] == "warning"
    assert first["ts"].endswith("Z") and "T" in first["ts"]


def test_json_without_context_has_no_context_keys(jcap: Capture) -> None:
    """Outside any source/pipeline scope the context keys are left out."""
    jcap.log.info("daemon started")
    (obj,) = jcap.objects()
    assert obj["msg"] == "daemon started"
    assert not {"platform", "account_id", "run_id"} & obj.keys()


async def test_context_follows_contextvars_per_task(jcap: Capture) -> None:
    """Context set in one scope does not leak into lines logged after it is reset."""
    tok = account_var.set("act_1")
    jcap.log.info("inside")
    account_var.reset(tok)
    jcap.log.info("outside")
    inside, outside = jcap.objects()
    assert inside["account_id"] == "act_1"
    assert "account_id" not in outside


def test_json_exception_is_included_and_redacted(jcap: Capture, context: None) -> None:
    """Exception text is put under 'exc' with tokens and registered secrets scrubbed."""
    register_secret("sup3r-s3cret-value")
    try:
        raise RuntimeError(
            f"GET https://graph.facebook.com/v21.0/act_1/ads?access_token={TOKEN}&limit=5 "
            "failed; app secret sup3r-s3cret-value"
        )
    except RuntimeError:
        jcap.log.exception("request failed")
    (obj,) = jcap.objects()
    assert obj["msg"] == "request failed"
    assert "RuntimeError" in obj["exc"]
    assert "Traceback" in obj["exc"]
    assert TOKEN not in obj["exc"]
    assert "sup3r-s3cret-value" not in obj["exc"]
    assert "access_token=***" in obj["exc"]
    assert TOKEN not in jcap.buf.getvalue()


def test_text_formatter_context_and_redacted_exception(context: None) -> None:
    """The terminal format shows [platform/account] and redacts exception text too."""
    cap = Capture(TextFormatter())
    try:
        try:
            raise ValueError(f"Authorization: Bearer {TOKEN}")
        except ValueError:
            cap.log.exception("boom %s", "now")
        out = cap.buf.getvalue()
        assert "[facebook/act_42]" in out
        assert "boom now" in out
        assert "ValueError" in out
        assert TOKEN not in out
    finally:
        cap.close()


# -- redaction -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"GET /v21.0/act_1/insights?access_token={TOKEN}&fields=spend", "&fields=spend"),
        (f"GET /v21.0/me?fields=id&access_token={TOKEN}", "fields=id&access_token=***"),
        (f"url='https://x/?ACCESS_TOKEN={TOKEN}'", "ACCESS_TOKEN=***"),
        (f"Authorization: Bearer {TOKEN}", "Bearer ***"),
        (f"headers={{'Authorization': 'Bearer {TOKEN}'}}", "Bearer ***"),
        (f"Access-Token: {TOKEN}", "Access-Token: ***"),
        (f'{{"Access-Token": "{TOKEN}"}}', "***"),
        (f"refresh_token={TOKEN}&client_secret={TOKEN}", "refresh_token=***&client_secret=***"),
    ],
)
def test_redact_token_patterns(text: str, kept: str) -> None:
    """Tokens in URLs, Bearer headers and Access-Token headers become ***."""
    out = redact(text)
    assert TOKEN not in out
    assert kept in out


def test_redact_leaves_ordinary_text_alone() -> None:
    """Text without tokens comes back unchanged."""
    text = "fetched 500 rows for act_42 in 1.2s (page 3, after=NzIZD)"
    assert redact(text) == text


def test_registered_secret_is_scrubbed_anywhere() -> None:
    """A registered secret is replaced verbatim wherever it appears, even without a prefix."""
    register_secret("plain-secret-xyz")
    assert redact("token is plain-secret-xyz, again plain-secret-xyz") == (
        "token is ***, again ***"
    )


def test_short_secrets_are_not_registered() -> None:
    """Values under 4 characters are not registered (they would mangle ordinary text)."""
    register_secret("abc")
    assert redact("abcdef abc") == "abcdef abc"


def test_filter_redacts_message_and_args(context: None) -> None:
    """ContextFilter scrubs the formatted message, including %-args, and adds the context."""
    register_secret("s3cr3t-from-config")
    rec = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "calling %s with %s",
        (f"https://graph.facebook.com/v21.0/act_1?access_token={TOKEN}", "s3cr3t-from-config"),
        None,
    )
    assert ContextFilter().filter(rec) is True
    msg = rec.getMessage()
    assert TOKEN not in msg
    assert "s3cr3t-from-config" not in msg
    assert msg.startswith("calling https://graph.facebook.com/v21.0/act_1?access_token=***")
    assert (rec.platform, rec.account_id, rec.run_id) == (  # type: ignore[attr-defined]
        "facebook", "act_42", "run-7"
    )


def test_filter_keeps_clean_records_untouched() -> None:
    """A record with nothing to redact keeps its msg and args (lazy formatting intact)."""
    rec = logging.LogRecord("x", logging.INFO, __file__, 1, "rows=%d", (5,), None)
    ContextFilter().filter(rec)
    assert rec.msg == "rows=%d"
    assert rec.args == (5,)


def test_json_line_never_contains_token(jcap: Capture, context: None) -> None:
    """End to end: a token logged through the handler never reaches the output."""
    register_secret(TOKEN)
    jcap.log.info("token=%s url=%s", TOKEN, f"/x?access_token={TOKEN}")
    jcap.log.info({"note": TOKEN})
    out = jcap.buf.getvalue()
    assert TOKEN not in out
    assert len(jcap.objects()) == 2
