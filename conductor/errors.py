"""The CLI's errors: each becomes one line on stderr, with what to do, and a non-zero exit.

    ConductorError            anything the CLI reports without a traceback (exit 1)
    ├── InputError            a file or option the operator gave cannot be used (exit 2)
    │   ├── RvtoolsError      an RVTools export that cannot be read or lacks a needed column
    │   └── PlanFileError     a plan file that is missing, unreadable or invalid
    ├── MigrationNotFound     the app has no migration under that id (404)
    ├── RequestRefused        the app refused a request as the client's mistake (400, 409, 410)
    ├── ReportUnavailable     the migration has no report (yet), or it cannot be read
    └── EndpointError         the Function App cannot be reached or refuses the key (exit 3)
        ├── KeyRefused        401/403: a missing or wrong function key (never retried)
        └── NotServed         404 for a route: not this app, or an older version of it

Messages never carry secrets: the function key and passwords are never formatted into them. This
module depends on nothing.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConductorError",
    "EndpointError",
    "InputError",
    "KeyRefused",
    "MigrationNotFound",
    "NotServed",
    "PlanFileError",
    "ReportUnavailable",
    "RequestRefused",
    "RvtoolsError",
]


class ConductorError(Exception):
    """An error the operator can act on. `hint` says what to do about it."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def line(self) -> str:
        """The one line the CLI prints."""
        return f"{self.message} — {self.hint}" if self.hint else self.message


class InputError(ConductorError):
    exit_code = 2


class RvtoolsError(InputError):
    pass


class PlanFileError(InputError):
    pass


class EndpointError(ConductorError):
    exit_code = 3


class KeyRefused(EndpointError):
    """401/403: the app wants a (different) function key. Retrying will not help."""


class NotServed(EndpointError):
    """404 for a route: the endpoint is not this app, or an older version of it."""


class ReportUnavailable(ConductorError):
    """No report to write: the migration still runs, never reached the report, or it cannot be read."""


class MigrationNotFound(ConductorError):
    """The app has no migration under that id (404)."""


class RequestRefused(ConductorError):
    """The app refused the request as the client's mistake (400/409): `body` holds its reasons."""

    def __init__(self, message: str, hint: str | None, status: int, body: dict[str, Any]) -> None:
        super().__init__(message, hint)
        self.status = status
        self.body = body

    def line(self) -> str:
        details = "".join(
            f"\n  {e.get('path') or '/'}: {e.get('message')}"
            for e in self.body.get("errors") or []
            if isinstance(e, dict)
        )
        return super().line() + details
