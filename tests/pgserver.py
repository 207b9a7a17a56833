"""A throwaway PostgreSQL server for the tests, started from the installed binaries.

``initdb`` into a temporary directory, ``pg_ctl start`` listening on a Unix socket in that
directory only (no TCP port to collide with), a fresh database per test, ``pg_ctl stop -m
immediate`` at the end. PostgreSQL refuses to run as root, so under root (CI containers) the
server runs as the ``postgres`` user the Debian package creates (or ``nobody``).

Where no binaries exist the fixtures skip with a reason that names what to install; with
``CI`` set in the environment a missing server is an error instead, so CI cannot go green
by skipping the PostgreSQL suites.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

MISSING = ("PostgreSQL server binaries not found (install Debian's 'postgresql' package, "
           "or put initdb/pg_ctl on PATH or in WITHIN_PG_BINDIR)")


def find_bindir() -> Path | None:
    """Where initdb and pg_ctl live: $WITHIN_PG_BINDIR only if set, else Debian's, then PATH."""
    env = os.environ.get("WITHIN_PG_BINDIR")
    if env:
        p = Path(env)
        ok = all((p / b).exists() for b in ("initdb", "pg_ctl", "postgres"))
        return p if ok else None
    candidates: list[Path] = []
    # Debian keeps server binaries out of PATH, one folder per major version; newest first.
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                    key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                    else 0, reverse=True)
    candidates += [Path(p) for p in debian]
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(os.path.realpath(on_path)).parent)
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_ctl").exists() and (c / "postgres").exists():
            return c
    return None


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' user exists")


@dataclass
class PgServer:
    """A running server; :meth:`create_database` hands out a fresh database's URL."""

    bindir: Path
    root: Path
    user: str | None
    #: False (tests): fsync and synchronous commit off. True (benchmarks): server defaults.
    durable: bool = False

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    @property
    def superuser(self) -> str:
        return self.user or pwd.getpwuid(os.geteuid()).pw_name

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.superuser}@/{database}?host={self.socket_dir}"

    def _cmd(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), user=self.user, check=check, capture_output=True,
                              text=True, timeout=120)

    def start(self) -> None:
        data = self.root / "data"
        self.socket_dir.mkdir(parents=True)
        if self.user:
            entry = pwd.getpwnam(self.user)
            for p in (self.root, self.socket_dir):
                os.chown(p, entry.pw_uid, entry.pw_gid)
        self._cmd(str(self.bindir / "initdb"), "-D", str(data), "-A", "trust", "-U",
                  self.superuser, "-E", "UTF8", "--locale=C", "--no-sync")
        # fsync off for tests: a test server's durability is worthless and fsyncs dominate
        # its time. A benchmark keeps the defaults, which is what users run.
        opts = (f"-c listen_addresses='' -c unix_socket_directories='{self.socket_dir}' "
                "-c max_connections=200")
        if not self.durable:
            opts += (" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                     " -c shared_buffers=64MB")
        res = self._cmd(str(self.bindir / "pg_ctl"), "-D", str(data), "-o", opts,
                        "-l", str(self.root / "server.log"), "-w", "-t", "60", "start",
                        check=False)
        if res.returncode != 0:
            log = (self.root / "server.log")
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {res.stderr}\n{tail}")

    def restart(self) -> None:
        """Stop (fast: open sessions are terminated, as on a real restart) and start again."""
        # -l: the new postmaster must not inherit our captured pipes (the call would wait
        # for their end, which is the server's).
        res = self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast",
                        "-l", str(self.root / "server.log"), "-w", "-t", "60", "restart",
                        check=False)
        if res.returncode != 0:
            raise RuntimeError(f"pg_ctl restart failed: {res.stderr}")

    def stop(self) -> None:
        self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m",
                  "immediate", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, owner: str | None = None) -> str:
        """A new database's url; with ``owner`` (an existing role) owned by it, its url's user."""
        name = "t_" + uuid.uuid4().hex[:12]
        self._cmd(str(self.bindir / "createdb"), "-h", str(self.socket_dir), "-U",
                  self.superuser, *(("-O", owner) if owner else ()), name)
        url = self.url(name)
        return url if owner is None else url.replace(f"//{self.superuser}@", f"//{owner}@")


def start_server(*, durable: bool = False) -> PgServer:
    bindir = find_bindir()
    if bindir is None:
        raise FileNotFoundError(MISSING)
    user = _run_as()
    # /tmp rather than pytest's tmp_path: a Unix socket path must stay under ~100 bytes,
    # and the unprivileged server user must be able to reach the folder.
    root = Path(tempfile.mkdtemp(prefix="within-pg-"))
    os.chmod(root, 0o755)
    server = PgServer(bindir, root, user, durable)
    try:
        server.start()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server
