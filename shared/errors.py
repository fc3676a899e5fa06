"""The error tree of `shared/`: one base class, one subclass per concern.

```
SharedError
├── PlanError            a plan that cannot be used; `.errors` lists {"path": JSON pointer, "message"}
├── SettingsError        an app setting that is missing or malformed; names the setting, never its value
├── TrustError           TLS trust could not be established (bad CA bundle)
│   └── PeerUnreachable  the peer's certificate could not be read (shared.tls)
├── CredentialsError     cloudadmin credentials could not be fetched
├── ForbiddenOperation   an operation the app refuses by policy (rotating cloudadmin passwords)
└── HcxError             everything the HCX client raises (tree drawn in `shared/hcx/errors.py`)
```

Messages never carry secrets: they name fields and settings, not their values. This module depends on
nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.findings import Finding

__all__ = [
    "CredentialsError",
    "ForbiddenOperation",
    "PlanError",
    "SettingsError",
    "SharedError",
    "TrustError",
]


class SharedError(Exception):
    """Base class of every error raised by `shared/`."""


class PlanError(SharedError, ValueError):
    """A plan that is malformed or contradicts itself.

    `errors` holds one `{"path": "/waves/1/vms/0", "message": "..."}` per problem, with RFC 6901 JSON
    pointers into the submitted document ("" is the document itself).
    """

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        lines = [f"{e['path'] or '/'}: {e['message']}" for e in errors]
        super().__init__("invalid plan: " + "; ".join(lines))

    def findings(self) -> list[Finding]:
        """One PLAN_INVALID finding per problem, its JSON pointer as the resource (shared.findings)."""
        from shared.findings import finding  # findings depend on pydantic; this module on nothing

        return [finding("PLAN_INVALID", e["message"], resource=e["path"] or "/") for e in self.errors]


class SettingsError(SharedError, ValueError):
    """An app setting is missing, malformed or not allowed here; the message names the setting."""


class TrustError(SharedError):
    """TLS trust for a peer could not be established."""


class CredentialsError(SharedError):
    """The cloudadmin credentials of a private cloud could not be obtained."""


class ForbiddenOperation(SharedError):
    """An operation the app refuses by policy, whoever asks (e.g. rotating cloudadmin passwords)."""
