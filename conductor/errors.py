"""The CLI's errors: each becomes one line on stderr, with what to do, and a non-zero exit.

    ConductorError            anything the CLI reports without a traceback (exit 1)
    ├── InputError            a file or option the operator gave cannot be used (exit 2)
    │   ├── RvtoolsError      an RVTools export that cannot be read or lacks a needed column
    │   └── PlanFileError     a plan file that is missing, unreadable or invalid
    └── EndpointError         the Function App cannot be reached or refuses the key (exit 3)

Messages never carry secrets: the function key and passwords are never formatted into them. This
module depends on nothing.
"""

from __future__ import annotations

__all__ = ["ConductorError", "EndpointError", "InputError", "PlanFileError", "RvtoolsError"]


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
