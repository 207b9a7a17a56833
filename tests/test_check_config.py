"""check-config checks what it can, one stderr line per problem and exit 2; run does too."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from within_daemon.cli import EXIT_CONFIG, EXIT_OK, main
from within_daemon.config import load_config

from .integration.proc import ENV

FB = '[[accounts]]\nplatform = "facebook"\naccount_id = "1"\naccess_token = { env = "TOK" }\n'


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOK", "a-good-token-1")


def check(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str,
                                                                                   str]:
    cfg = tmp_path / "within.toml"
    cfg.write_text(text)
    code = main(["--no-log-json", "check-config", "--config", str(cfg)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_every_problem_is_one_line_and_exit_2(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Zone, URLs, database, mapping, credentials and listen host: one line each, exit 2."""
    text = f"""
[database]
url = "mysql://db/within"
[metrics]
listen = "no-such-host.invalid:9464"
[runtime]
timezone = "Europe/Atlantis"
[platforms.facebook]
base_url = "ftp://graph.example/v21.0"
[platforms.google]
base_url = "https:///v20"
[platforms.internal]
drop_folder = "drop"
field_map = {{ date = "day" }}
date_format = "%Y-%"
{FB}
[[accounts]]
platform = "google"
account_id = "2"
refresh_token = {{ env = "TOK" }}
[[accounts]]
platform = "amazon"
account_id = "3"
[[tasks]]
name = "files"
platform = "internal"
"""
    code, out, err = check(tmp_path, text, capsys)
    assert code == EXIT_CONFIG
    lines = [ln for ln in err.splitlines() if ln.startswith("config error: ")]
    assert len(lines) == len(err.splitlines())
    wanted = ["runtime.timezone: unknown time zone 'Europe/Atlantis'",
              "database.url: unsupported database url scheme 'mysql'",
              "platforms.facebook.base_url: expected an http:// or https:// URL",
              "platforms.google.base_url: the URL has no host",
              "platforms.internal: field_map must map the required fields",
              "platforms.internal: date_format '%Y-%'",
              "platforms.google.client_id is needed",
              "platforms.google.client_secret is needed",
              "accounts: amazon/3 needs a refresh_token",
              "platforms.amazon.client_secret is needed",
              "metrics.listen: host 'no-such-host.invalid' does not resolve"]
    for w in wanted:
        assert sum(w in ln for ln in lines) == 1, (w, lines)
    assert out == ""


@pytest.mark.parametrize(("text", "where"), [
    (FB.replace('account_id = "1"', 'account_id = "1"\nrate_limit = inf'),
     "accounts[0].rate_limit: expected a finite number"),
    (FB.replace('account_id = "1"', 'account_id = "1"\nrate_limit = 1e999'),
     "accounts[0].rate_limit"),
    ('[metrics]\nlisten = "127.0.0.1:70000"\n', "metrics.listen: port 70000 is not in"),
    ('[metrics]\nlisten = "127.0.0.1:0"\n', "metrics.listen: port 0 is not in"),
])
def test_bad_number_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                text: str, where: str) -> None:
    """An infinite rate_limit or a listen port outside 1..65535 is refused in one line."""
    code, _, err = check(tmp_path, text, capsys)
    assert code == EXIT_CONFIG
    assert len(err.splitlines()) == 1 and where in err, err


def test_token_with_stray_whitespace_is_stripped_with_a_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A pasted token with spaces or a newline works stripped, and check-config warns."""
    monkeypatch.setenv("TOK", "  a-good-token-1\n")
    (tmp_path / "t.token").write_text("\ta-file-token-2  \n")
    text = FB + FB.replace('"1"', '"2"').replace('{ env = "TOK" }', '{ file = "t.token" }')
    code, out, err = check(tmp_path, text, capsys)
    assert code == EXIT_OK, err
    assert "environment variable TOK has leading or trailing whitespace" in err
    assert "t.token has leading or trailing whitespace" in err
    assert "a-good-token-1" not in err + out
    loaded = load_config(tmp_path / "within.toml")
    assert loaded.secret_for("facebook", "1").reveal() == "a-good-token-1"  # type: ignore[union-attr]
    assert loaded.secret_for("facebook", "2").reveal() == "a-file-token-2"  # type: ignore[union-attr]


def test_plain_http_to_another_host_is_a_warning(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """http:// to a non-loopback API host warns (tokens in clear) but the config is valid."""
    code, _, err = check(tmp_path, '[platforms.facebook]\nbase_url = "http://graph.example"\n'
                         + FB, capsys)
    assert code == EXIT_OK
    assert "plain http to graph.example" in err


def test_run_with_metrics_port_in_use_is_one_line_exit_2(tmp_path: Path) -> None:
    """A metrics port held by another process fails `run` in one line, no traceback."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        cfg = tmp_path / "within.toml"
        cfg.write_text(f'[database]\nurl = "sqlite:///x.db"\n[metrics]\n'
                       f'listen = "127.0.0.1:{port}"\n' + FB)
        res = subprocess.run([sys.executable, "-m", "within_daemon", "run", "--config",
                              str(cfg)], capture_output=True, text=True, timeout=60,
                             env={**ENV, "TOK": "a-good-token-1"})
    assert res.returncode == EXIT_CONFIG, res.stderr
    errors = [ln for ln in res.stderr.splitlines() if "error" in ln.lower()]
    assert len(errors) == 1, res.stderr
    assert f"metrics.listen: cannot listen on 127.0.0.1:{port}" in errors[0]
    assert "Traceback" not in res.stderr
