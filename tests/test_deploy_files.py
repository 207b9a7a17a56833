"""Deployment files agree with the code: systemd unit, Dockerfile, .dockerignore, metrics doc."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from prometheus_client.metrics import MetricWrapperBase

from within_daemon import cli
from within_daemon.config import MetricsConfig, RuntimeConfig, parse_config, sqlite_path
from within_daemon.observability.metrics import Metrics
from within_daemon.observability.server import serve_http

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "systemd" / "within-daemon.service"
ENV_EXAMPLE = ROOT / "systemd" / "within-daemon.env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
METRICS_DOC = ROOT / "docs" / "metrics.md"
EXAMPLE_CONFIG = ROOT / "config" / "within.example.toml"
PACKAGE = ROOT / "within_daemon"

# -- parsers ------------------------------------------------------------------------------


def _logical_lines(text: str, comments: tuple[str, ...]) -> list[str]:
    """Join backslash continuations; drop blank and comment lines (also inside a join)."""
    out: list[str] = []
    buf = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(comments):
            continue
        if line.endswith("\\"):
            buf += line[:-1].rstrip() + " "
            continue
        out.append(buf + line)
        buf = ""
    if buf:
        out.append(buf.strip())
    return out


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """Sections of a unit file; every assignment of a key is kept, in order."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for line in _logical_lines(text, ("#", ";")):
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"assignment outside a section: {line!r}"
        key, sep, value = line.partition("=")
        assert sep, f"not a KEY=VALUE line: {line!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def parse_dockerfile(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs of a Dockerfile."""
    out = []
    for line in _logical_lines(text, ("#",)):
        instr, _, args = line.partition(" ")
        out.append((instr.upper(), args.strip()))
    return out


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [i for i, (ins, _) in enumerate(instructions) if ins == "FROM"]
    assert starts, "Dockerfile has no FROM"
    return instructions[starts[-1]:]


_SPAN_UNITS = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600}


def timespan_seconds(value: str) -> float:
    """A systemd time span ("45", "45s", "1min 30s") in seconds."""
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    total = 0.0
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]+)", value)
    assert parts and "".join(n + u for n, u in parts) == value.replace(" ", ""), value
    for number, unit in parts:
        total += float(number) * _SPAN_UNITS[unit]
    return total


def unit_exec_argv(value: str) -> list[str]:
    """An Exec*= line as argv, without systemd's "-@:+!" prefixes."""
    argv = shlex.split(value)
    argv[0] = argv[0].lstrip("-@:+!")
    return argv


def subcommands() -> set[str]:
    parser = cli.build_parser()
    for action in parser._actions:
        if action.choices and getattr(action, "dest", None) == "command":
            return set(action.choices)
    raise AssertionError("build_parser() has no subcommands")


@pytest.fixture(scope="module")
def unit() -> dict[str, dict[str, list[str]]]:
    return parse_unit(UNIT.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def service(unit: dict[str, dict[str, list[str]]]) -> dict[str, str]:
    """[Service] with the last assignment of each key (what systemd uses for scalars)."""
    return {k: v[-1] for k, v in unit["Service"].items()}


@pytest.fixture(scope="module")
def docker() -> list[tuple[str, str]]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def stage(docker: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return final_stage(docker)


def _last(stage: list[tuple[str, str]], instr: str) -> str:
    values = [args for ins, args in stage if ins == instr]
    assert values, f"final stage has no {instr}"
    return values[-1]


def _metrics_port() -> int:
    return int(MetricsConfig().listen.rpartition(":")[2])


def _unit_config_path(service: dict[str, str]) -> str:
    args = cli.build_parser().parse_args(unit_exec_argv(service["ExecStart"])[1:])
    return str(args.config)


# -- systemd unit -------------------------------------------------------------------------


def test_unit_is_type_notify(service: dict[str, str]) -> None:
    """The unit waits for the daemon's READY=1 and accepts it from the main process."""
    assert service["Type"] == "notify"
    assert service["NotifyAccess"] == "main"
    sends_ready = any('"READY=1"' in p.read_text(encoding="utf-8")
                      for p in (PACKAGE / "daemon").rglob("*.py"))
    assert sends_ready, "the daemon no longer sends READY=1"


def test_unit_watchdog_matches_the_daemon(service: dict[str, str]) -> None:
    """WatchdogSec= is set, and only because the daemon sends WATCHDOG=1 pings."""
    sends_pings = any("WATCHDOG=1" in p.read_text(encoding="utf-8")
                      for p in PACKAGE.rglob("*.py"))
    assert sends_pings
    assert service.get("WatchdogSec", "").rstrip("s").isdigit()


def test_unit_reload_sends_sighup_to_main_pid(service: dict[str, str]) -> None:
    """ExecReload= is kill -HUP $MAINPID (the daemon re-reads its config on SIGHUP)."""
    argv = unit_exec_argv(service["ExecReload"])
    assert Path(argv[0]).name == "kill"
    assert argv[-1] == "$MAINPID"
    sig = argv[1:-1]
    assert sig in (["-HUP"], ["-SIGHUP"], ["-s", "HUP"], ["-s", "SIGHUP"], ["-1"]), sig


def test_unit_stop_timeout_exceeds_the_drain_grace(service: dict[str, str]) -> None:
    """SIGKILL must come after the default grace_seconds drain that SIGTERM starts."""
    assert service.get("KillSignal", "SIGTERM") in ("SIGTERM", "TERM", "15")
    grace = RuntimeConfig().grace_seconds
    stop = timespan_seconds(service["TimeoutStopSec"])
    assert stop > grace, f"TimeoutStopSec={stop}s is not above grace_seconds={grace}s"
    assert stop >= grace + 5, "leave a few seconds for closing the database after the drain"


def test_unit_restart_policy(service: dict[str, str]) -> None:
    """Restart on failure, but not on a bad config (exit 2), which a restart cannot fix."""
    assert service["Restart"] == "on-failure"
    assert timespan_seconds(service["RestartSec"]) >= 1
    assert str(cli.EXIT_CONFIG) in service["RestartPreventExitStatus"].split()


def test_unit_execstart_runs_the_run_command(service: dict[str, str]) -> None:
    """ExecStart= is `within-daemon run --config PATH`, accepted by the real CLI parser."""
    argv = unit_exec_argv(service["ExecStart"])
    assert Path(argv[0]).is_absolute(), "systemd needs an absolute ExecStart path"
    assert Path(argv[0]).name == "within-daemon"
    assert argv[1] in subcommands()
    args = cli.build_parser().parse_args(argv[1:])
    assert args.command == "run"
    assert args.config == "/etc/within-daemon/within.toml"


def test_unit_user_state_and_secrets(service: dict[str, str]) -> None:
    """Unprivileged user, state directory for the database, optional env file for tokens."""
    assert service.get("DynamicUser") == "yes" or service.get("User") not in (None, "root", "0")
    assert service["StateDirectory"] == "within-daemon"
    env_files = service["EnvironmentFile"]
    assert env_files.startswith("-"), "a missing env file must not stop the service"
    assert env_files.lstrip("-") == "/etc/within-daemon/within.env"


HARDENING = {
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "NoNewPrivileges": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "RestrictNamespaces": "yes",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "SystemCallArchitectures": "native",
    "SystemCallFilter": "@system-service",
    "CapabilityBoundingSet": "",
    "UMask": "0077",
}


def test_unit_hardening(unit: dict[str, dict[str, list[str]]], service: dict[str, str]) -> None:
    """The sandboxing directives are present with their strict values."""
    wrong = {k: service.get(k) for k, v in HARDENING.items() if service.get(k) != v}
    assert not wrong, f"hardening keys missing or weakened: {wrong}"
    families = " ".join(unit["Service"]["RestrictAddressFamilies"]).split()
    assert set(families) == {"AF_UNIX", "AF_INET", "AF_INET6"}, families
    assert service.get("PrivateNetwork", "no") == "no", "the daemon needs the network"


def _verify_copy(tmp_path: Path, extra: str = "") -> subprocess.CompletedProcess[str]:
    """systemd-analyze verify on a copy whose ExecStart points at a binary that exists."""
    binary = shutil.which("within-daemon") or sys.executable
    text = UNIT.read_text(encoding="utf-8")
    text, n = re.subn(r"^ExecStart=\S+", f"ExecStart={binary}", text, flags=re.M)
    assert n == 1
    if extra:
        text = text.replace("[Service]\n", f"[Service]\n{extra}\n", 1)
    path = tmp_path / "within-daemon.service"
    path.write_text(text, encoding="utf-8")
    return subprocess.run(["systemd-analyze", "verify", "--man=no", str(path)],
                          capture_output=True, text=True, timeout=120)


def _unit_complaints(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [ln for ln in (proc.stdout + proc.stderr).splitlines() if "within-daemon" in ln]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed (package: systemd)")
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    """systemd-analyze verify accepts the unit without a single warning about it."""
    # First prove that a warning would be seen: verify exits 0 on unknown keys.
    probe = _verify_copy(tmp_path, extra="NoSuchDirective=1")
    assert any("NoSuchDirective" in ln for ln in _unit_complaints(probe)), probe
    proc = _verify_copy(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _unit_complaints(proc) == []


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed (package: systemd)")
def test_systemd_analyze_security_exposure(tmp_path: Path) -> None:
    """The offline security review rates the unit's exposure at 2.0 or lower ("OK")."""
    help_text = subprocess.run(["systemd-analyze", "security", "--help"], capture_output=True,
                               text=True, timeout=60).stdout
    if "--offline" not in help_text or "--threshold" not in help_text:
        pytest.skip("systemd-analyze security has no --offline/--threshold (systemd < 250)")
    assert _verify_copy(tmp_path).returncode == 0
    proc = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--threshold=20", "--no-pager",
         str(tmp_path / "within-daemon.service")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr


def test_env_example_names_every_token_variable() -> None:
    """Each { env = NAME } of the example config has a NAME= line in the env example."""
    if not EXAMPLE_CONFIG.exists():
        pytest.skip(f"{EXAMPLE_CONFIG.relative_to(ROOT)} is not in this checkout")
    cfg = tomllib.loads(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    wanted = {a["access_token"]["env"] for a in cfg.get("accounts", [])
              if isinstance(a.get("access_token"), dict) and "env" in a["access_token"]}
    assert wanted, "the example config references no environment variable"
    defined = {ln.partition("=")[0] for ln in _logical_lines(
        ENV_EXAMPLE.read_text(encoding="utf-8"), ("#",))}
    assert all(re.fullmatch(r"[A-Z_][A-Z0-9_]*", k) for k in defined), defined
    assert wanted <= defined, f"missing from the env example: {sorted(wanted - defined)}"


def test_example_database_lives_in_the_state_directory(
    service: dict[str, str], stage: list[tuple[str, str]]
) -> None:
    """The example config's SQLite file is inside StateDirectory= and the Docker VOLUME."""
    if not EXAMPLE_CONFIG.exists():
        pytest.skip(f"{EXAMPLE_CONFIG.relative_to(ROOT)} is not in this checkout")
    cfg = parse_config(EXAMPLE_CONFIG.read_bytes(), EXAMPLE_CONFIG)
    db = sqlite_path(cfg.database.url, Path("/etc/within-daemon"))
    assert db is not None
    state = Path("/var/lib") / service["StateDirectory"]
    assert db.parent == state
    assert str(state) in json.loads(_last(stage, "VOLUME"))


# -- Dockerfile ---------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_on_python_311_slim(docker: list[tuple[str, str]]) -> None:
    """Builder and runtime stages both start from python:3.11-slim; runtime copies the venv."""
    froms = [args.split()[0] for ins, args in docker if ins == "FROM"]
    assert len(froms) >= 2
    assert all(re.fullmatch(r"python:3\.11-slim(-\w+)?(@sha256:[0-9a-f]{64})?", f)
               for f in froms), froms
    assert any(ins == "COPY" and args.startswith("--from=") for ins, args in final_stage(docker))


def test_dockerfile_entrypoint_runs_the_daemon_under_tini(stage: list[tuple[str, str]]) -> None:
    """ENTRYPOINT is the exec form `tini -- within-daemon`, with tini installed from Debian."""
    entry = json.loads(_last(stage, "ENTRYPOINT"))
    assert entry == ["tini", "--", "within-daemon"]
    runs = " ".join(args for ins, args in stage if ins == "RUN")
    assert re.search(r"apt-get install [^&;]*\btini\b", runs), "tini is not installed"


def test_dockerfile_cmd_matches_the_unit(
    stage: list[tuple[str, str]], service: dict[str, str]
) -> None:
    """CMD is an existing subcommand and uses the same --config path as the systemd unit."""
    cmd = json.loads(_last(stage, "CMD"))
    assert cmd[0] in subcommands()
    args = cli.build_parser().parse_args(cmd)
    assert args.command == "run"
    assert args.config == _unit_config_path(service)


def test_dockerfile_runs_as_non_root(stage: list[tuple[str, str]]) -> None:
    """The final stage switches to a user that is not root."""
    user = _last(stage, "USER").split(":")[0]
    assert user not in ("root", "0", ""), user


def test_dockerfile_signals_ports_and_volume(
    stage: list[tuple[str, str]], service: dict[str, str]
) -> None:
    """STOPSIGNAL SIGTERM, the default metrics port exposed, the state dir as a volume."""
    assert _last(stage, "STOPSIGNAL") == "SIGTERM"
    exposed = {p.split("/")[0] for ins, args in stage if ins == "EXPOSE" for p in args.split()}
    assert str(_metrics_port()) in exposed
    assert json.loads(_last(stage, "VOLUME")) == ["/var/lib/" + service["StateDirectory"]]


def _healthcheck_argv(stage: list[tuple[str, str]]) -> list[str]:
    hc = _last(stage, "HEALTHCHECK")
    options, sep, cmd = hc.partition("CMD ")
    assert sep, f"HEALTHCHECK without CMD: {hc!r}"
    assert re.search(r"--timeout=\d+s", options)
    argv: list[str] = json.loads(cmd)
    return argv


def test_dockerfile_healthcheck_hits_healthz_on_the_metrics_port(
    stage: list[tuple[str, str]],
) -> None:
    """HEALTHCHECK asks /healthz on loopback at MetricsConfig's default port, without curl."""
    argv = _healthcheck_argv(stage)
    assert argv[0] == "python", "slim images have no curl: use python's urllib"
    urls = re.findall(r"http://[^'\"\s]+", " ".join(argv))
    assert urls == [f"http://127.0.0.1:{_metrics_port()}/healthz"], urls


async def _run_healthcheck(argv: list[str], port: int) -> int:
    code = [a.replace(f":{_metrics_port()}/", f":{port}/") for a in argv[1:]]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *code, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(proc.wait(), timeout=30)


async def test_dockerfile_healthcheck_command_tells_up_from_down(
    stage: list[tuple[str, str]],
) -> None:
    """The HEALTHCHECK command exits 0 against the real server and non-zero once it is gone."""
    argv = _healthcheck_argv(stage)

    async def ready() -> bool:
        return True

    async def status() -> dict[str, object]:
        return {}

    async with serve_http("127.0.0.1:0", Metrics(), ready=ready, status=status) as url:
        port = int(url.rpartition(":")[2])
        assert await _run_healthcheck(argv, port) == 0
    assert await _run_healthcheck(argv, port) != 0


def _dockerignore_regex(pattern: str) -> re.Pattern[str]:
    """Docker's matching: `*` and `?` stay inside one path element, `**` crosses them."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i:end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def test_dockerignore_keeps_the_build_inputs() -> None:
    """.dockerignore drops .git, venvs, caches and databases, but not what COPY needs."""
    rules = [(ln.startswith("!"), _dockerignore_regex(ln.lstrip("!").strip("/")))
             for ln in _logical_lines(DOCKERIGNORE.read_text(encoding="utf-8"), ("#",))]

    def ignored(path: str) -> bool:
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        hit = False
        for negated, rx in rules:  # the last matching rule wins, as in Docker
            if any(rx.fullmatch(p) for p in prefixes):
                hit = not negated
        return hit

    for path in (".git/config", ".venv/bin/python", "venv/bin/python", "within.db",
                 "data/x.db", "within.toml", ".pytest_cache/v", "within_daemon/__pycache__/a.pyc",
                 ".mypy_cache/x", ".ruff_cache/x", "within_daemon.egg-info/PKG-INFO"):
        assert ignored(path), f"{path} is sent to the Docker build context"
    copied = [args.split() for ins, args in parse_dockerfile(DOCKERFILE.read_text("utf-8"))
              if ins == "COPY" and not args.startswith("--from=")]
    sources = [src for args in copied for src in args[:-1] if "*" not in src]
    assert "pyproject.toml" in sources and "within_daemon" in sources, sources
    for path in [*sources, "within_daemon/cli.py", "within_daemon/data/demo.toml", "README.md"]:
        assert not ignored(path), f"{path} is needed by the Dockerfile but ignored"


# -- docs/metrics.md ----------------------------------------------------------------------


def _registered() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Scraped name -> (type, label names) for every metric that Metrics() registers."""
    m = Metrics()
    labels = {w._name: tuple(w._labelnames) for w in vars(m).values()
              if isinstance(w, MetricWrapperBase)}
    out = {}
    for fam in m.registry.collect():
        name = fam.name + "_total" if fam.type == "counter" else fam.name
        out[name] = (fam.type, labels[fam.name])
    return out


def _doc_rows() -> dict[str, tuple[str, tuple[str, ...]]]:
    rows = {}
    for line in METRICS_DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `within_"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == 4, f"expected | metric | type | labels | meaning |: {line!r}"
        name, mtype, label_cell, meaning = cells
        assert meaning, f"{name} has no meaning"
        rows[name.strip("`")] = (mtype, tuple(re.findall(r"`([a-z_]+)`", label_cell)))
    return rows


def test_metrics_doc_lists_every_registered_metric() -> None:
    """Each metric of Metrics() has a table row with its scraped name, type and labels."""
    registered, rows = _registered(), _doc_rows()
    assert len(registered) >= 19
    missing = sorted(set(registered) - set(rows))
    assert not missing, f"not documented in docs/metrics.md: {missing}"
    for name, (mtype, labels) in registered.items():
        assert rows[name] == (mtype, labels), f"{name}: doc says {rows[name]}"


def test_metrics_doc_names_only_existing_metrics() -> None:
    """Every within_ name in the doc (tables and PromQL) is a series the daemon exports."""
    suffixes = {"counter": ("_total", "_created"), "gauge": ("",),
                "histogram": ("_bucket", "_sum", "_count", "_created")}
    exported = set()
    for name, (mtype, _) in _registered().items():
        base = name.removesuffix("_total") if mtype == "counter" else name
        exported |= {base + s for s in suffixes[mtype]}
        exported.add(name)
    text = METRICS_DOC.read_text(encoding="utf-8")
    used = set(re.findall(r"\bwithin_[a-z0-9_]+", text)) - {"within_daemon"}  # the package
    unknown = sorted(used - exported)
    assert not unknown, f"docs/metrics.md names metrics that do not exist: {unknown}"
