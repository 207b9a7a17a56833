"""One exception tree for the daemon; each class says whether a retry can help.

::

    WithinError
    ├── ConfigError                 bad or unreadable config (never retriable)
    ├── SourceError                 anything a platform API did to us
    │   ├── TransientError          5xx, timeouts, resets, is_transient, truncated bodies (retry)
    │   │   ├── ThrottledError      platform throttle codes / 429; carries retry_after seconds
    │   │   └── ReportStalledError  an async report stopped making progress (retry: a new job)
    │   ├── ReduceDataError         "reduce the amount of data": retry with a smaller page
    │   ├── AuthError               expired or invalid token: stop this account, no retry storm
    │   ├── PermanentSourceError    4xx the platform will keep returning (bad params, permissions)
    │   │   └── AnswerShapeError    valid JSON of another shape than the API's (names platform,
    │   │                           endpoint and the path, ``$.paging.cursors.after``)
    │   ├── AccountPausedError      the account is paused until a known time (usage pacing)
    │   └── CircuitOpenError        our breaker for this account is open (requests wait to probe)
    │       └── OutageBudgetSpent   the circuit stayed open past the run's outage budget
    │                               (``sources/http/waits.py``): the account's run ends
    ├── ValidationFailure           a record broke its schema (quarantined, never raised to the run)
    └── LoaderError                 the database refused a write
        ├── LeaseLostError          another replica holds the account now (never retried)
        └── RowsRefusedError        the database refused values of the batch (the loader bisects)

``tests/test_errors.py`` holds this drawing to the classes. ``retriable`` is a class
attribute so that the retry decorator and the circuit breaker can
classify an error without a table of types.

Messages are redacted when the error is made (:func:`within_daemon.redaction.redact`): an
API answer that echoes a token, a token endpoint that echoes its form, or a URL that
carries a secret becomes ``***`` before the text can reach a log, a table or a terminal.
"""

from __future__ import annotations

from .redaction import redact


class WithinError(Exception):
    """Root of every error the daemon raises on purpose; its text never holds a secret."""

    retriable: bool = False

    def __init__(self, *args: object) -> None:
        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))

    def __str__(self) -> str:
        # Again at display time: a secret registered after the error was made (a reload).
        return redact(super().__str__())


class ConfigError(WithinError):
    """The configuration file is missing, malformed or inconsistent."""


class SourceError(WithinError):
    """A platform API call failed; ``platform`` and ``account_id`` say where."""

    def __init__(
        self,
        message: str,
        *,
        platform: str = "",
        account_id: str = "",
        code: int | None = None,
        subcode: int | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.platform = platform
        self.account_id = account_id
        self.code = code
        self.subcode = subcode
        self.status = status

    @property
    def error_class(self) -> str:
        """A short, bounded label for metrics."""
        return _CLASS_LABELS.get(type(self), "other")


class TransientError(SourceError):
    """A failure that a later identical request may not see."""

    retriable = True


class ThrottledError(TransientError):
    """The platform asked us to slow down; wait ``retry_after`` seconds before retrying.

    ``hint`` is the platform's own wait when it named one (``retryDelay``, ``Retry-After``,
    Facebook's regain times), else ``None`` and the connector backs off; ``app_wide`` says
    the quota of the whole app is spent, not just this account's.
    """

    def __init__(self, message: str, *, retry_after: float = 60.0, hint: float | None = None,
                 app_wide: bool = False, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.hint = hint
        self.retry_after = hint if hint is not None else retry_after
        self.app_wide = app_wide


class ReduceDataError(SourceError):
    """The platform wants a smaller request: the caller halves the page size and retries."""


class AuthError(SourceError):
    """The token is expired or invalid; retrying will not help until someone fixes it."""


class PermanentSourceError(SourceError):
    """A client error that repeats on every try (bad parameter, missing permission)."""


class AnswerShapeError(PermanentSourceError):
    """An answer is valid JSON but not of the shape we decode: a type at a path is wrong.

    The same request would get the same answer (the API changed, or a proxy answers for
    it), so it is not retried. ``endpoint`` and ``path`` (msgspec's, ``$.data.page_info``)
    say where; the message names both and the platform. Rows inside a page are never
    checked here: they stay dicts, and a bad row costs that row in validation.
    """

    def __init__(self, message: str, *, endpoint: str = "", path: str = "",
                 **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.endpoint = endpoint
        self.path = path


class AccountPausedError(SourceError):
    """The account is paused by usage pacing until ``until`` (monotonic seconds)."""

    def __init__(self, message: str, *, until: float, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.until = until


class CircuitOpenError(SourceError):
    """The per-account circuit breaker is open; the connector waits for its next probe."""


class ReportStalledError(TransientError):
    """An async report's progress stopped moving for longer than the stall window."""


class ValidationFailure(WithinError):
    """A record failed validation; carries the validator's error list."""


class LoaderError(WithinError):
    """Writing to a destination failed."""


class LeaseLostError(LoaderError):
    """A replica wrote for an account whose lease it no longer holds: refused, not retried."""


class RowsRefusedError(LoaderError):
    """The database refused values of a batch (a constraint, a type, an encoding).

    Retrying the same rows cannot help; the loader splits the batch to find the rows the
    database refuses and quarantines them. ``detail`` is the database's own short reason.
    """

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail or message


_CLASS_LABELS: dict[type[SourceError], str] = {
    SourceError: "other",
    TransientError: "transient",
    ThrottledError: "throttled",
    ReduceDataError: "reduce_data",
    AuthError: "auth",
    PermanentSourceError: "permanent",
    AnswerShapeError: "answer_shape",
    AccountPausedError: "paused",
    CircuitOpenError: "circuit_open",
    ReportStalledError: "stalled",
}
