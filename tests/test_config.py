"""Config loading: strict TOML decoding, one-line errors, secret references, path lookup."""

from __future__ import annotations

import logging
import re
import textwrap
from pathlib import Path

import pytest

from within_daemon.config import (
    DEFAULT_CONFIG_PATHS,
    ENV_CONFIG,
    FACEBOOK_DEFAULT_BASE_URL,
    Config,
    LoadedConfig,
    Secret,
    find_config_path,
    load_config,
    parse_config,
    sqlite_path,
)
from within_daemon.errors import ConfigError, WithinError

ENV_TOKEN = "EAAB-env-token-value-1111"
FILE_TOKEN = "EAAB-file-token-value-2222"
LITERAL_TOKEN = "EAAB-literal-token-value-3333"

FULL = f"""\
[database]
url = "sqlite:///data/within.db"

[metrics]
listen = "127.0.0.1:9999"
enabled = false

[runtime]
queue_size = 8
batch_size = 250
grace_seconds = 5.5
timezone = "Europe/Berlin"

[platforms.facebook]
base_url = "http://127.0.0.1:8080/v23.0"
page_size = 100
async_after_days = 30
window_days = 3
timeout_seconds = 12.5
max_retries = 2
backoff_base_seconds = 0.5
stall_seconds = 120.0
poll_interval_seconds = 1.0
pace_above_percent = 80.0
max_pace_delay_seconds = 10.0
throttle_pause_seconds = 30.0
max_throttle_wait_seconds = 600.0
conversion_action_types = ["offsite_conversion.fb_pixel_purchase", "purchase"]
breaker_fail_max = 3
breaker_reset_seconds = 15.0

[[accounts]]
platform = "facebook"
account_id = "1000000001"
name = "From env"
rate_limit = 120
access_token = {{ env = "WITHIN_CFG_TOKEN" }}

[[accounts]]
platform = "facebook"
account_id = "1000000002"
access_token = {{ file = "secrets/fb.token" }}

[[accounts]]
platform = "facebook"
account_id = "1000000003"
rate_limit = 30.5
access_token = "{LITERAL_TOKEN}"

[[accounts]]
platform = "facebook"
account_id = "1000000004"

[[tasks]]
name = "ads-weekly"
pipeline = "AdDataPipeline"
cadence = "weekly"
run_time = "03:30"
lookback_days = 14
accounts = ["1000000001", "1000000002"]
destination = "database"
platform = "facebook"
validate = false
weekday = 2

[[tasks]]
name = "accounts_daily"
pipeline = "AccountDataPipeline"
"""


def write(folder: Path, text: str, name: str = "within.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def full_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WITHIN_CFG_TOKEN", ENV_TOKEN)
    conf = tmp_path / "conf"
    (conf / "secrets").mkdir(parents=True)
    (conf / "secrets" / "fb.token").write_text(FILE_TOKEN + "\n", encoding="utf-8")
    # Load from somewhere else so that "relative to the config folder" is really tested.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return write(conf, FULL)


def error_of(text: str, tmp_path: Path) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    assert "\n" not in msg, f"ConfigError must be one line: {msg!r}"
    assert msg.startswith(str(path.resolve())), msg
    return msg


# -- a full, valid file --------------------------------------------------------------------


def test_full_config_loads_every_key(full_config: Path) -> None:
    """A file that sets every section and key decodes into those exact values."""
    loaded = load_config(full_config)
    cfg = loaded.config
    assert isinstance(loaded, LoadedConfig)
    assert loaded.path == full_config.resolve()
    assert loaded.base_dir == full_config.resolve().parent
    assert cfg.database.url == "sqlite:///data/within.db"
    assert (cfg.metrics.listen, cfg.metrics.enabled) == ("127.0.0.1:9999", False)
    assert (cfg.runtime.queue_size, cfg.runtime.batch_size) == (8, 250)
    assert cfg.runtime.grace_seconds == 5.5
    assert cfg.runtime.timezone == "Europe/Berlin"
    fb = cfg.platforms.facebook
    assert fb.base_url == "http://127.0.0.1:8080/v23.0"
    assert (fb.page_size, fb.async_after_days, fb.window_days, fb.max_retries) == (100, 30, 3, 2)
    assert fb.timeout_seconds == 12.5
    assert fb.pace_above_percent == 80.0
    assert fb.throttle_pause_seconds == 30.0
    assert fb.conversion_action_types == ("offsite_conversion.fb_pixel_purchase", "purchase")
    assert (fb.breaker_fail_max, fb.breaker_reset_seconds) == (3, 15.0)
    assert [a.account_id for a in cfg.accounts] == [
        "1000000001", "1000000002", "1000000003", "1000000004"
    ]
    assert cfg.accounts[0].name == "From env"
    assert cfg.accounts[0].rate_limit == 120.0
    assert cfg.accounts[2].rate_limit == 30.5
    weekly, daily = cfg.tasks
    assert weekly.name == "ads-weekly"
    assert weekly.cadence == "weekly"
    assert weekly.run_time == "03:30"
    assert weekly.lookback_days == 14
    assert weekly.accounts == ("1000000001", "1000000002")
    assert weekly.validate is False
    assert weekly.weekday == 2
    assert (daily.pipeline, daily.cadence, daily.run_time) == (
        "AccountDataPipeline", "daily", "01:00"
    )


def test_full_config_resolves_env_file_and_literal_secrets(full_config: Path) -> None:
    """env, file (relative to the config folder, stripped) and literal secrets all resolve."""
    loaded = load_config(full_config)
    env_s = loaded.secret_for("facebook", "1000000001")
    file_s = loaded.secret_for("facebook", "1000000002")
    lit_s = loaded.secret_for("facebook", "1000000003")
    assert env_s is not None and env_s.reveal() == ENV_TOKEN
    assert env_s.source == "env:WITHIN_CFG_TOKEN"
    assert file_s is not None and file_s.reveal() == FILE_TOKEN
    assert file_s.source == f"file:{full_config.resolve().parent / 'secrets' / 'fb.token'}"
    assert lit_s is not None and lit_s.reveal() == LITERAL_TOKEN
    assert lit_s.source == "literal"
    assert loaded.secret_for("facebook", "1000000004") is None
    assert loaded.secret_for("facebook", "nope") is None


def test_literal_secret_logs_a_warning_without_the_value(
    full_config: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A plain-string token is accepted but warned about, naming the key and not the value."""
    with caplog.at_level(logging.WARNING, logger="within_daemon.config"):
        load_config(full_config)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    assert "accounts[2].access_token" in text
    assert "literal" in text
    assert LITERAL_TOKEN not in caplog.text


def test_reference_secrets_log_no_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An env reference is the preferred form and loads without any warning."""
    monkeypatch.setenv("WITHIN_CFG_TOKEN", ENV_TOKEN)
    path = write(tmp_path, """\
        [[accounts]]
        platform = "facebook"
        account_id = "1"
        access_token = { env = "WITHIN_CFG_TOKEN" }
    """)
    with caplog.at_level(logging.WARNING, logger="within_daemon.config"):
        load_config(path)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_accounts_for_task_follows_task_accounts_in_config_order(full_config: Path) -> None:
    """A task with accounts covers those; an empty list covers every account of its platform."""
    loaded = load_config(full_config)
    weekly, daily = loaded.config.tasks
    assert [a.account_id for a in loaded.accounts_for(weekly)] == ["1000000001", "1000000002"]
    assert len(loaded.accounts_for(daily)) == 4


# -- defaults ------------------------------------------------------------------------------


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    """An empty file is valid and every section takes its documented default."""
    loaded = load_config(write(tmp_path, ""))
    cfg = loaded.config
    assert cfg == Config()
    assert cfg.accounts == () and cfg.tasks == ()
    assert cfg.database.url == "sqlite:///within.db"
    assert cfg.metrics.listen == "127.0.0.1:9464"
    assert cfg.runtime.queue_size > 0 and cfg.runtime.batch_size > 0
    assert loaded.secrets == {}


def test_facebook_default_base_url_is_versioned_graph_url(tmp_path: Path) -> None:
    """Without base_url the connector talks to the real Graph API with an explicit version."""
    cfg = load_config(write(tmp_path, "[platforms.facebook]\npage_size = 50\n")).config
    assert cfg.platforms.facebook.page_size == 50
    assert cfg.platforms.facebook.base_url == FACEBOOK_DEFAULT_BASE_URL
    assert re.fullmatch(r"https://graph\.facebook\.com/v\d+\.\d+", FACEBOOK_DEFAULT_BASE_URL)


def test_task_defaults(tmp_path: Path) -> None:
    """A task with only a name is a daily AdDataPipeline at 01:00 into the database."""
    task = load_config(write(tmp_path, '[[tasks]]\nname = "t"\n')).config.tasks[0]
    assert task.pipeline == "AdDataPipeline"
    assert task.cadence == "daily"
    assert task.run_time == "01:00"
    assert task.destination == "database"
    assert task.platform == "facebook"
    assert task.accounts == ()
    assert task.validate is True


# -- unknown keys, wrong types, bad values -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where", "key"),
    [
        ("colour = 1\n", None, "colour"),
        ("[databse]\nurl = 'x'\n", None, "databse"),
        ("[database]\nurl = 'sqlite:///x.db'\npool = 3\n", "database", "pool"),
        ("[metrics]\nport = 9\n", "metrics", "port"),
        ("[platforms.snapchat]\nx = 1\n", "platforms", "snapchat"),
        ("[platforms.google]\nx = 1\n", "platforms.google", "x"),
        ("[platforms.facebook]\npagesize = 10\n", "platforms.facebook", "pagesize"),
        ("[[accounts]]\nplatform = 'facebook'\naccount_id = '1'\ntoken = 'x'\n",
         "accounts[0]", "token"),
        ("[[accounts]]\nplatform = 'facebook'\naccount_id = '1'\n"
         "[[accounts]]\nplatform = 'facebook'\naccount_id = '2'\nrate = 1\n",
         "accounts[1]", "rate"),
        ("[[accounts]]\nplatform = 'facebook'\naccount_id = '1'\n"
         "access_token = { env = 'X', value = 'y' }\n", "accounts[0].access_token", "value"),
        ("[[tasks]]\nname = 'a'\nschedule = 'daily'\n", "tasks[0]", "schedule"),
    ],
)
def test_unknown_key_is_an_error_naming_file_and_key_path(
    tmp_path: Path, text: str, where: str | None, key: str
) -> None:
    """Any unknown key, at any depth, is a one-line ConfigError naming the file and key path."""
    msg = error_of(text, tmp_path)
    assert f"`{key}`" in msg
    if where is not None:
        assert f": {where}: " in msg


def test_a_renamed_key_says_the_new_name(tmp_path: Path) -> None:
    msg = error_of("[enrichment]\ntext_workers = 2\n", tmp_path)
    assert ": enrichment: " in msg and "`text_workers`" in msg
    assert "renamed: write `workers` instead" in msg
    # Another unknown key there gets no such hint.
    assert "write `workers`" not in error_of("[enrichment]\nworker = 2\n", tmp_path)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[database]\nurl = 5\n", "database.url"),
        ("[metrics]\nenabled = 'yes'\n", "metrics.enabled"),
        ("[runtime]\nqueue_size = 0\n", "runtime.queue_size"),
        ("[runtime]\nbatch_size = 'many'\n", "runtime.batch_size"),
        ("[platforms.facebook]\npage_size = 6000\n", "platforms.facebook.page_size"),
        ("[platforms.facebook]\npace_above_percent = 120\n",
         "platforms.facebook.pace_above_percent"),
        ("[platforms.facebook]\nbase_url = 1\n", "platforms.facebook.base_url"),
        ("[[accounts]]\nplatform = 'myspace'\naccount_id = '1'\n", "accounts[0].platform"),
        ("[[accounts]]\nplatform = 'facebook'\naccount_id = ''\n", "accounts[0].account_id"),
        ("[[accounts]]\nplatform = 'facebook'\naccount_id = 1\n", "accounts[0].account_id"),
        ("[[accounts]]\nplatform = 'facebook'\naccount_id = '1'\nrate_limit = -5\n",
         "accounts[0].rate_limit"),
        ("[[accounts]]\nplatform = 'facebook'\naccount_id = '1'\naccess_token = 12\n",
         "accounts[0].access_token"),
        ("[[tasks]]\nname = 'a'\ncadence = 'monthly'\n", "tasks[0].cadence"),
        ("[[tasks]]\nname = 'a'\npipeline = 'Nope'\n", "tasks[0].pipeline"),
        ("[[tasks]]\nname = 'a'\ndestination = 's3'\n", "tasks[0].destination"),
        ("[[tasks]]\nname = 'a'\npipeline = 'AccountDataPipeline'\n"
         "destination = 'feature_store'\n", "tasks[0].destination"),
        ("[[tasks]]\nname = 'a'\npipeline = 'AccountDataPipeline'\nenrich = ['sentiment']\n",
         "tasks[0].enrich"),
        ("[[tasks]]\nname = 'a'\nrun_time = '25:00'\n", "tasks[0].run_time"),
        ("[[tasks]]\nname = 'a'\nrun_time = '1:00'\n", "tasks[0].run_time"),
        ("[[tasks]]\nname = 'a'\nrun_time = '12:60'\n", "tasks[0].run_time"),
        ("[[tasks]]\nname = 'a'\nlookback_days = '7'\n", "tasks[0].lookback_days"),
        ("[[tasks]]\nname = 'a'\nlookback_days = 0\n", "tasks[0].lookback_days"),
        ("[[tasks]]\nname = 'a'\nweekday = 7\n", "tasks[0].weekday"),
        ("[[tasks]]\nname = 'has space'\n", "tasks[0].name"),
        ("[[tasks]]\nname = 'a'\n[[tasks]]\nname = 'b'\nvalidate = 'no'\n",
         "tasks[1].validate"),
        ("[[tasks]]\ncadence = 'daily'\n", "tasks[0]"),
        ("[metrics]\nlisten = 'localhost'\n", "metrics.listen"),
        ("[metrics]\nlisten = ':9464'\n", "metrics.listen"),
    ],
)
def test_bad_value_is_an_error_naming_the_key(tmp_path: Path, text: str, where: str) -> None:
    """A wrong type, bad enum, out-of-range number or bad run_time names the exact key."""
    msg = error_of(text, tmp_path)
    assert f": {where}: " in msg


def test_toml_syntax_error_is_one_line_config_error(tmp_path: Path) -> None:
    """Broken TOML is a one-line ConfigError with the file and the line number."""
    msg = error_of("[database\nurl = 'x'\n", tmp_path)
    assert "line 1" in msg


def test_parse_config_uses_given_path_only_in_messages() -> None:
    """parse_config decodes text directly and names the given path in its errors."""
    cfg = parse_config(b"[database]\nurl = 'sqlite:///a.db'\n", Path("/nowhere/x.toml"))
    assert cfg.database.url == "sqlite:///a.db"
    with pytest.raises(ConfigError, match=r"^/nowhere/x\.toml: database: "):
        parse_config("[database]\nurl = 'a'\nx = 1\n", Path("/nowhere/x.toml"))


def test_config_error_is_a_within_error(tmp_path: Path) -> None:
    """ConfigError belongs to the daemon's tree and is never retriable."""
    with pytest.raises(WithinError) as info:
        load_config(tmp_path / "missing.toml")
    assert isinstance(info.value, ConfigError)
    assert info.value.retriable is False


def test_missing_config_file_names_the_path(tmp_path: Path) -> None:
    """A config path that does not exist is a ConfigError naming that path."""
    missing = tmp_path / "nope" / "within.toml"
    with pytest.raises(ConfigError, match="config file not found") as info:
        load_config(missing)
    assert str(missing.resolve()) in str(info.value)


def test_unreadable_config_path_is_config_error(tmp_path: Path) -> None:
    """A directory given as the config path is a ConfigError, not an OSError."""
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path)


# -- cross-key rules -----------------------------------------------------------------------


def test_duplicate_account_is_an_error(tmp_path: Path) -> None:
    """The same platform/account_id twice is rejected, naming the second entry."""
    msg = error_of(f"""\
        [[accounts]]
        platform = "facebook"
        account_id = "42"
        access_token = "{LITERAL_TOKEN}"

        [[accounts]]
        platform = "facebook"
        account_id = "42"
        access_token = "{LITERAL_TOKEN}"
    """, tmp_path)
    assert "accounts[1]" in msg
    assert "duplicate account facebook/42" in msg
    assert LITERAL_TOKEN not in msg


def test_account_without_connector_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A platform that decodes but has no connector yet is rejected at load time."""
    monkeypatch.setattr("within_daemon.config.SUPPORTED_PLATFORMS", ("facebook",))
    msg = error_of('[[accounts]]\nplatform = "google"\naccount_id = "1"\n', tmp_path)
    assert "accounts[0].platform" in msg
    assert "google" in msg


def test_task_with_unknown_account_is_an_error(tmp_path: Path) -> None:
    """A task that lists an account id not configured for its platform is rejected."""
    msg = error_of("""\
        [[accounts]]
        platform = "facebook"
        account_id = "1"

        [[tasks]]
        name = "t"
        accounts = ["1", "999"]
    """, tmp_path)
    assert "tasks[0].accounts" in msg
    assert "'999'" in msg


def test_duplicate_task_name_is_an_error(tmp_path: Path) -> None:
    """Two tasks with the same name are rejected, naming the second one."""
    msg = error_of('[[tasks]]\nname = "t"\n[[tasks]]\nname = "t"\n', tmp_path)
    assert "tasks[1].name" in msg


# -- secrets -------------------------------------------------------------------------------


def test_missing_env_var_names_variable_but_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unset env var is a ConfigError naming the variable and key, with no secret in it."""
    monkeypatch.delenv("WITHIN_CFG_MISSING", raising=False)
    monkeypatch.setenv("WITHIN_CFG_TOKEN", ENV_TOKEN)
    msg = error_of(f"""\
        [[accounts]]
        platform = "facebook"
        account_id = "1"
        access_token = "{LITERAL_TOKEN}"

        [[accounts]]
        platform = "facebook"
        account_id = "2"
        access_token = {{ env = "WITHIN_CFG_TOKEN" }}

        [[accounts]]
        platform = "facebook"
        account_id = "3"
        access_token = {{ env = "WITHIN_CFG_MISSING" }}
    """, tmp_path)
    assert "accounts[2].access_token" in msg
    assert "WITHIN_CFG_MISSING" in msg
    assert LITERAL_TOKEN not in msg
    assert ENV_TOKEN not in msg


def test_empty_env_var_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An env var that is set but empty is treated like a missing one."""
    monkeypatch.setenv("WITHIN_CFG_EMPTY", "")
    msg = error_of(
        '[[accounts]]\nplatform = "facebook"\naccount_id = "1"\n'
        'access_token = { env = "WITHIN_CFG_EMPTY" }\n', tmp_path,
    )
    assert "WITHIN_CFG_EMPTY" in msg


@pytest.mark.parametrize(
    "ref", ['{ env = "A", file = "b" }', "{}"], ids=["both", "neither"]
)
def test_secret_ref_needs_exactly_one_source(tmp_path: Path, ref: str) -> None:
    """A secret reference must give exactly one of env or file."""
    msg = error_of(
        f'[[accounts]]\nplatform = "facebook"\naccount_id = "1"\naccess_token = {ref}\n',
        tmp_path,
    )
    assert "accounts[0].access_token" in msg
    assert "exactly one of env or file" in msg


def test_secret_file_is_relative_to_config_folder_not_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative secret file is read next to the config, even when cwd has the same name."""
    conf = tmp_path / "conf"
    (conf / "s").mkdir(parents=True)
    (conf / "s" / "tok").write_text("  right-token-value \n", encoding="utf-8")
    cwd = tmp_path / "cwd"
    (cwd / "s").mkdir(parents=True)
    (cwd / "s" / "tok").write_text("wrong-token-value\n", encoding="utf-8")
    monkeypatch.chdir(cwd)
    path = write(conf, """\
        [[accounts]]
        platform = "facebook"
        account_id = "1"
        access_token = { file = "s/tok" }
    """)
    secret = load_config(path).secret_for("facebook", "1")
    assert secret is not None
    assert secret.reveal() == "right-token-value"


def test_absolute_secret_file(tmp_path: Path) -> None:
    """An absolute secret file path is used as is."""
    tok = tmp_path / "abs.token"
    tok.write_text(FILE_TOKEN, encoding="utf-8")
    path = write(tmp_path / "conf", f"""\
        [[accounts]]
        platform = "facebook"
        account_id = "1"
        access_token = {{ file = "{tok}" }}
    """)
    secret = load_config(path).secret_for("facebook", "1")
    assert secret is not None and secret.reveal() == FILE_TOKEN


def test_missing_secret_file_names_the_resolved_path(tmp_path: Path) -> None:
    """An unreadable secret file is a ConfigError naming the key and the resolved file."""
    msg = error_of(
        '[[accounts]]\nplatform = "facebook"\naccount_id = "1"\n'
        'access_token = { file = "no/such.token" }\n', tmp_path,
    )
    assert "accounts[0].access_token" in msg
    assert str(tmp_path.resolve() / "no" / "such.token") in msg


def test_empty_secret_file_is_an_error(tmp_path: Path) -> None:
    """A secret file holding only whitespace is rejected."""
    (tmp_path / "blank.token").write_text(" \n", encoding="utf-8")
    msg = error_of(
        '[[accounts]]\nplatform = "facebook"\naccount_id = "1"\n'
        'access_token = { file = "blank.token" }\n', tmp_path,
    )
    assert "is empty" in msg


def test_secret_repr_and_str_hide_the_value() -> None:
    """Secret's repr and str show the source only; reveal() gives the value."""
    s = Secret("hunter2-token", "env:X")
    assert "hunter2" not in repr(s)
    assert "hunter2" not in str(s)
    assert "hunter2" not in f"{s}"
    assert "env:X" in repr(s)
    assert s.reveal() == "hunter2-token"
    assert s == Secret("hunter2-token", "file:/y")
    assert s != Secret("other", "env:X")


def test_loaded_config_repr_hides_referenced_secrets(full_config: Path) -> None:
    """repr/str of a loaded config never contain env- or file-referenced token values."""
    loaded = load_config(full_config)
    for text in (repr(loaded), str(loaded), repr(loaded.secrets), repr(loaded.config)):
        assert ENV_TOKEN not in text
        assert FILE_TOKEN not in text


def test_loaded_config_repr_hides_literal_secret(full_config: Path) -> None:
    """The repr of a loaded config never contains a literal (plain string) token either."""
    loaded = load_config(full_config)
    assert LITERAL_TOKEN not in repr(loaded)
    assert LITERAL_TOKEN not in repr(loaded.config.accounts[2])


def test_toml_syntax_error_on_token_line_does_not_echo_token(tmp_path: Path) -> None:
    """A broken line holding a literal token yields an error without the token text."""
    msg = error_of(
        f'[[accounts]]\nplatform = "facebook"\naccount_id = "1"\n'
        f'access_token = "{LITERAL_TOKEN}\n', tmp_path,
    )
    assert LITERAL_TOKEN not in msg


# -- finding the file and the database -----------------------------------------------------


@pytest.fixture
def no_env_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_CONFIG, raising=False)


def test_find_config_explicit_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--config wins over $WITHIN_CONFIG and over an existing default file."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "within.toml").write_text("")
    monkeypatch.setenv(ENV_CONFIG, "/from/env.toml")
    assert find_config_path("/explicit.toml", ("within.toml",)) == Path("/explicit.toml")


def test_find_config_env_beats_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --config, $WITHIN_CONFIG wins over an existing default file."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "within.toml").write_text("")
    monkeypatch.setenv(ENV_CONFIG, "/from/env.toml")
    assert find_config_path(None, ("within.toml",)) == Path("/from/env.toml")
    assert find_config_path("", ("within.toml",)) == Path("/from/env.toml")


def test_find_config_first_existing_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_env_config: None
) -> None:
    """Without --config or env, the first default candidate that exists is used."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "second.toml").write_text("")
    (tmp_path / "third.toml").write_text("")
    found = find_config_path(None, ("first.toml", "second.toml", "third.toml"))
    assert found == Path("second.toml")


def test_find_config_default_candidates_start_with_cwd_file() -> None:
    """The built-in candidates are ./within.toml, then the system-wide file."""
    assert DEFAULT_CONFIG_PATHS[0] == "within.toml"
    assert DEFAULT_CONFIG_PATHS[-1].startswith("/etc/")


def test_find_config_none_found_is_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_env_config: None
) -> None:
    """No --config, no env and no default file is a ConfigError telling how to fix it."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        find_config_path(None, ("a.toml", str(tmp_path / "b.toml")))
    msg = str(info.value)
    assert "--config" in msg
    assert "WITHIN_CONFIG" in msg
    assert "a.toml" in msg


def test_sqlite_path_relative_to_config_folder(full_config: Path) -> None:
    """A relative sqlite url resolves against the config's folder, not the cwd."""
    loaded = load_config(full_config)
    got = sqlite_path(loaded.config.database.url, loaded.base_dir)
    assert got == full_config.resolve().parent / "data" / "within.db"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///within.db", Path("/base/within.db")),
        ("sqlite:///sub/dir/x.db", Path("/base/sub/dir/x.db")),
        ("sqlite:////var/lib/within/x.db", Path("/var/lib/within/x.db")),
        ("sqlite:///:memory:", None),
        ("postgresql://user@host/db", None),
    ],
)
def test_sqlite_path(url: str, expected: Path | None) -> None:
    """sqlite:/// urls map to files (relative against base), others to None."""
    assert sqlite_path(url, Path("/base")) == expected


def test_feature_store_destination_is_accepted_for_ad_tasks() -> None:
    """An ad task may have destination 'feature_store' (the seed's example)."""
    cfg = parse_config(b"[[tasks]]\nname = 'a'\ndestination = 'feature_store'\n"
                       b"enrich = ['sentiment']\n", Path("/nowhere/x.toml"))
    assert cfg.tasks[0].destination == "feature_store"


# -- a task's platform from its accounts ---------------------------------------------------

TWO_PLATFORMS = """\
[[accounts]]
platform = "facebook"
account_id = "1000000001"
access_token = "x"

[[accounts]]
platform = "google"
account_id = "1234567890"
refresh_token = "y"

[[accounts]]
platform = "google"
account_id = "1234567891"
refresh_token = "y"
"""


def parsed(tasks: str) -> Config:
    return parse_config(TWO_PLATFORMS + tasks, Path("/etc/within.toml"))


def test_task_platform_inferred_from_its_accounts() -> None:
    """A task listing only Google accounts is a Google task without saying so."""
    cfg = parsed('[[tasks]]\nname = "g"\naccounts = ["1234567890", "1234567891"]\n')
    assert cfg.tasks[0].platform == "google"
    cfg = parsed('[[tasks]]\nname = "f"\naccounts = ["1000000001"]\n')
    assert cfg.tasks[0].platform == "facebook"


def test_task_platform_written_is_still_accepted() -> None:
    """A written platform next to its accounts loads as before; no accounts: the default."""
    cfg = parsed('[[tasks]]\nname = "g"\nplatform = "google"\naccounts = ["1234567890"]\n'
                 '[[tasks]]\nname = "all"\n')
    assert [t.platform for t in cfg.tasks] == ["google", "facebook"]


def test_task_with_accounts_of_two_platforms_says_what_to_write() -> None:
    """Mixed platforms: one line naming each account's platform and the tasks to write."""
    with pytest.raises(ConfigError) as info:
        parsed('[[tasks]]\nname = "m"\naccounts = ["1000000001", "1234567890"]\n')
    msg = str(info.value)
    assert "\n" not in msg and "tasks[0].accounts" in msg
    assert "1000000001 is facebook" in msg and "1234567890 is google" in msg
    assert 'platform = "facebook", accounts = ["1000000001"]' in msg
    assert 'platform = "google", accounts = ["1234567890"]' in msg


def test_task_platform_that_contradicts_its_account_names_the_right_one() -> None:
    """A facebook task listing a Google account: the error says to write google."""
    with pytest.raises(ConfigError, match=r"'1234567890' is not a configured facebook account; "
                                          r'it is a google account: write platform = "google"'):
        parsed('[[tasks]]\nname = "g"\nplatform = "facebook"\naccounts = ["1234567890"]\n')


def test_check_config_shows_the_inferred_platform(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """check-config counts a task's accounts on the platform it inferred."""
    from within_daemon.cli import main

    path = write(tmp_path, """\
        [[accounts]]
        platform = "tiktok"
        account_id = "7100000000000000001"
        access_token = "t"

        [[tasks]]
        name = "tt"
        accounts = ["7100000000000000001"]
    """)
    assert main(["check-config", "--config", str(path)]) == 0
    assert "task tt: AdDataPipeline daily at 01:00, lookback 7d, 1 tiktok account(s)" in \
        capsys.readouterr().out
