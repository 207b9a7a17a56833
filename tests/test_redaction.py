"""Secrets are masked at the points where text leaves: errors, tables, reprs, URLs, streams."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from within_daemon import redaction
from within_daemon.cli import main
from within_daemon.config import Secret, load_config
from within_daemon.errors import AuthError, ConfigError, TransientError
from within_daemon.loaders import DatabaseLoader
from within_daemon.loaders.backends import redact as redact_db_url
from within_daemon.loaders.rows import quarantine_rows
from within_daemon.observability.logging import RedactingStream
from within_daemon.redaction import redact, redact_url, register_secret, url_password


@pytest.fixture(autouse=True)
def fresh_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no registered secrets and leaves none behind."""
    monkeypatch.setattr(redaction, "_static", set())
    monkeypatch.setattr(redaction, "_slots", {})
    monkeypatch.setattr(redaction, "_ordered", ())


def test_error_message_is_redacted_when_made() -> None:
    """A SourceError built from an echoed token or form holds *** in args, str and repr."""
    register_secret("EAAB-echoed-token-1")
    exc = AuthError("Graph error 190: Malformed access token EAAB-echoed-token-1",
                    platform="facebook")
    form = TransientError('refused: {"refresh_token": "1//abc", "client_secret": "GOCSPX-x"}')
    for text in (str(exc), repr(exc), str(exc.args), str(form), repr(form)):
        assert "EAAB-echoed-token-1" not in text
        assert "1//abc" not in text and "GOCSPX-x" not in text
    assert str(exc) == "Graph error 190: Malformed access token ***"


def test_secret_registered_after_the_error_is_masked_when_shown() -> None:
    """An error made before its secret was known (a reload) is redacted when displayed."""
    exc = ConfigError("token is late-secret-42")
    register_secret("late-secret-42")
    assert str(exc) == "token is ***"


def test_percent_encoded_secret_is_masked() -> None:
    """A secret with URL-special characters is masked in its percent-encoded form too."""
    register_secret("s3cr/t+value=")
    assert redact("url=/x?tok=s3cr%2Ft%2Bvalue%3D&a=1") == "url=/x?tok=***&a=1"


def test_slot_replaces_the_previous_value() -> None:
    """A keyed secret (an account's OAuth token) replaces its slot's previous value."""
    register_secret("ya29.first-token", slot="oauth:google:1")
    register_secret("ya29.second-token", slot="oauth:google:1")
    assert redaction.known_secret_count() == 1
    assert redact("ya29.second-token") == "***"


@pytest.mark.parametrize("url", [
    "postgresql://within@db.internal:5432/within?password=pg-pw-1234&sslmode=require",
    "postgresql://within:pg-pw-1234@db.internal:5432/within",
    "postgresql://within@db/within?sslmode=require&password=pg-pw-1234",
])
def test_database_password_is_masked_in_both_spellings(url: str) -> None:
    """A PostgreSQL password as user:pw@ or as ?password= is *** wherever the URL is shown."""
    assert url_password(url) == "pg-pw-1234"
    for shown in (redact_url(url), redact_db_url(url), DatabaseLoader.from_url(url).display_url):
        assert "pg-pw-1234" not in shown
        assert "***" in shown
    assert "sslmode=require" in redact_url(url) or "sslmode" not in url


def test_check_config_masks_a_query_password(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """check-config prints a ?password= database URL masked."""
    cfg = tmp_path / "within.toml"
    cfg.write_text('[database]\nurl = "postgresql://w@db/within?password=pg-pw-5678"\n')
    assert main(["check-config", "--config", str(cfg)]) == 0
    out = capsys.readouterr()
    assert "postgresql://w@db/within?password=***" in out.out
    assert "pg-pw-5678" not in out.out + out.err


def test_config_reprs_mask_literal_secrets(tmp_path: Path) -> None:
    """Every config object's repr hides literal client secrets, tokens and URL passwords."""
    planted = ["GOCSPX-literal-9", "google-client-id-9", "dev-token-9", "amzn-secret-9",
               "amzn-client-9", "EAAB-literal-9", "rt-literal-9", "pg-pw-9", "sqlpw-9"]
    cfg = tmp_path / "within.toml"
    cfg.write_text(f"""
[database]
url = "postgresql://w:{planted[7]}@db/within"
[platforms.google]
client_secret = "{planted[0]}"
client_id = "{planted[1]}"
developer_token = "{planted[2]}"
[platforms.amazon]
client_secret = "{planted[3]}"
client_id = "{planted[4]}"
[platforms.internal]
sql_url = "postgresql://r@db/src?password={planted[8]}"
[[accounts]]
platform = "facebook"
account_id = "1"
access_token = "{planted[5]}"
[[accounts]]
platform = "google"
account_id = "2"
refresh_token = "{planted[6]}"
[[accounts]]
platform = "amazon"
account_id = "3"
refresh_token = "{planted[6]}"
""")
    loaded = load_config(cfg)
    c = loaded.config
    texts = [repr(loaded), str(loaded), repr(c), repr(c.platforms), repr(c.platforms.google),
             repr(c.platforms.amazon), repr(c.platforms.internal), repr(c.database),
             *map(repr, c.accounts)]
    for text in texts:
        assert [p for p in planted if p in text] == []
    assert "'<literal secret>'" in repr(c.platforms.google)


def test_every_resolved_secret_is_registered_even_on_a_reload(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a config (at start or on SIGHUP) registers each secret it resolves."""
    cfg = tmp_path / "within.toml"
    monkeypatch.setenv("TOK_A", "first-token-aaaa")
    cfg.write_text('[[accounts]]\nplatform = "facebook"\naccount_id = "1"\n'
                   'access_token = { env = "TOK_A" }\n')
    load_config(cfg)
    (tmp_path / "b.token").write_text("reloaded-token-bbbb\n")
    cfg.write_text(cfg.read_text() + '[[accounts]]\nplatform = "facebook"\naccount_id = "2"\n'
                   'access_token = { file = "b.token" }\n')
    load_config(cfg)  # what Service.reload does
    assert redact("first-token-aaaa reloaded-token-bbbb") == "*** ***"


def test_secret_object_registers_itself() -> None:
    """Any Secret made anywhere (a connector, a test) is masked from then on."""
    Secret("made-by-hand-123", "literal")
    assert redact("x made-by-hand-123 y") == "x *** y"


def test_quarantine_rows_hold_no_secret() -> None:
    """Reason, errors and raw text of a quarantined record are redacted."""
    register_secret("EAAB-in-a-row-77")
    raw = {"ad_id": "1", "date": "2026-01-01", "note": "token EAAB-in-a-row-77",
           "url": "https://cdn.example/x.png?access_token=zzz999"}
    errs = [{"field": "note", "message": "bad value 'EAAB-in-a-row-77'"}]
    rows = quarantine_rows("r1", "t", "ad", [("facebook", "1", raw, errs)], "now")
    text = repr(rows)
    assert "EAAB-in-a-row-77" not in text and "zzz999" not in text
    assert "note: bad value '***'" in text


def test_redacting_stream_masks_what_is_printed() -> None:
    """The CLI's stdout/stderr wrapper masks registered secrets and credential shapes."""
    register_secret("printed-secret-1")
    buf = io.StringIO()
    stream = RedactingStream.wrap(buf)
    assert RedactingStream.wrap(stream) is stream
    print("a printed-secret-1 b Bearer abc.def", file=stream)
    assert buf.getvalue() == "a *** b Bearer ***\n"
