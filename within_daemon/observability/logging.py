"""Logging set-up: context fields on every line, JSON lines off a terminal, tokens redacted.

``platform``, ``account_id`` and ``run_id`` come from contextvars that the source actors
and pipelines set, so every log line in their scope carries them without passing them
around. A redaction filter scrubs every registered secret and anything that looks like a
token (see :mod:`within_daemon.redaction`, re-exported here).
"""

from __future__ import annotations

import contextvars
import io
import logging
import sys
import time
from typing import Any, TextIO

import msgspec

from ..redaction import redact, register_secret

platform_var: contextvars.ContextVar[str] = contextvars.ContextVar("platform", default="")
account_var: contextvars.ContextVar[str] = contextvars.ContextVar("account_id", default="")
run_var: contextvars.ContextVar[str] = contextvars.ContextVar("run_id", default="")

__all__ = ["RedactingStream", "redact", "register_secret", "setup_logging"]


class RedactingStream(io.TextIOBase):
    """A text stream that redacts what is written before passing it on.

    The CLI puts its stdout and stderr behind one, so nothing a command prints shows a secret.
    """

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner

    @classmethod
    def wrap(cls, stream: TextIO) -> TextIO:
        """``stream`` behind redaction (once: a wrapped stream is returned as it is)."""
        return stream if isinstance(stream, cls) else cls(stream)  # type: ignore[return-value]

    def write(self, s: str) -> int:
        self.inner.write(redact(s))
        return len(s)

    def flush(self) -> None:
        self.inner.flush()

    def isatty(self) -> bool:
        return self.inner.isatty()

    def fileno(self) -> int:
        return self.inner.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.inner, "encoding", "utf-8")


class ContextFilter(logging.Filter):
    """Adds platform, account and run id to the record and redacts its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.platform = platform_var.get()
        record.account_id = account_var.get()
        record.run_id = run_var.get()
        msg = record.getMessage()
        red = redact(msg)
        if red != msg:
            record.msg, record.args = red, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for journald, Docker and log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key in ("platform", "account_id", "run_id"):
            val = getattr(record, key, "")
            if val:
                out[key] = val
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        return msgspec.json.encode(out).decode()


class TextFormatter(logging.Formatter):
    """Short human lines for a terminal, with the context in brackets."""

    def format(self, record: logging.LogRecord) -> str:
        ctx = "/".join(
            v for v in (getattr(record, "platform", ""), getattr(record, "account_id", "")) if v
        )
        head = time.strftime("%H:%M:%S", time.localtime(record.created))
        where = f"[{ctx}] " if ctx else ""
        line = f"{head} {record.levelname:<7} {where}{redact(record.getMessage())}"
        if record.exc_info:
            line += "\n" + redact(self.formatException(record.exc_info))
        return line


def setup_logging(level: str = "INFO", *, json_lines: bool | None = None) -> None:
    """Configure the root logger once; ``json_lines=None`` picks JSON when stderr is no TTY."""
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # aiohttp's access log and apscheduler's per-job chatter drown the daemon's own lines.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
