"""What the HCX client raises: one tree, converted at the boundary from httpx errors and HCX bodies.

```
HcxError                      (shared.errors.SharedError) .status, .messages, .retryable
├── HcxAuthError              401/403: the manager refused our credentials (after one re-login)
├── HcxNotFound               404
├── HcxConflict               409: it already exists / a conflicting operation runs
├── HcxValidationError        400: .errors and .warnings from the body; .items per request item
├── HcxPairingError           the manager refused to pair (HCX's text, e.g. "Login failure")
├── HcxCertificateUntrusted   pairing: the remote manager's certificate is not trusted;
│                             .pem and .fingerprint of that certificate, .pinned: whether pins existed
├── HcxTlsError               our own TLS to the manager failed verification; .fingerprint, .pem
├── HcxProtocolError          an answer the client cannot read (no token, not JSON)
└── HcxUnavailable            5xx, 429, connection refused/reset; retryable
    └── HcxTimeout            the manager did not answer in time; retryable like its parent
```

`retryable` says whether trying the same call again later can succeed; the client itself retries only
idempotent calls. Messages carry HCX's own words (they help the operator) but never a password or a
token: the client redacts the secrets it knows before raising. The two certificate errors turn into
the findings the pairing phase reports (`to_finding()`). This module depends on pydantic and
`shared.errors`, `shared.findings`, `shared.tls` only.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.errors import SharedError
from shared.findings import Finding, finding
from shared.tls import format_fingerprint

__all__ = [
    "HcxAuthError",
    "HcxCertificateUntrusted",
    "HcxConflict",
    "HcxError",
    "HcxMessage",
    "HcxNotFound",
    "HcxPairingError",
    "HcxProtocolError",
    "HcxTimeout",
    "HcxTlsError",
    "HcxUnavailable",
    "HcxValidationError",
]


class HcxMessage(BaseModel):
    """One error or warning from an HCX body, normalised: code, message, and data (e.g. a certificate)."""

    model_config = ConfigDict(frozen=True)

    code: str = ""
    message: str = ""
    data: Any = None


class HcxError(SharedError):
    """Base of every HCX client error."""

    retryable = False

    def __init__(
        self, message: str, *, status: int | None = None, messages: list[HcxMessage] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.messages = messages or []


class HcxAuthError(HcxError):
    """The HCX Manager refused the credentials (or the token, even after logging in again)."""


class HcxNotFound(HcxError):
    """The resource (job, extension, pairing, migration) does not exist."""


class HcxConflict(HcxError):
    """The resource already exists, or a conflicting operation is running."""


class HcxValidationError(HcxError):
    """HCX refused the request's content; `errors`/`warnings` and, for batches, `items` say why."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        errors: list[HcxMessage] | None = None,
        warnings: list[HcxMessage] | None = None,
        items: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message, status=status, messages=errors)
        self.errors = errors or []
        self.warnings = warnings or []
        self.items = items or []


class HcxPairingError(HcxError):
    """HCX refused to create the site pairing, for a reason other than certificate trust."""


class HcxCertificateUntrusted(HcxError):
    """Pairing stopped at the certificate-trust step: the remote manager's certificate is untrusted.

    `pem` and `fingerprint` (64 lowercase hex) identify the certificate HCX showed; `pinned` is True
    when the plan pinned fingerprints but none matched, False when it pinned none.
    """

    def __init__(self, message: str, *, url: str, pem: str, fingerprint: str, pinned: bool = False) -> None:
        super().__init__(message)
        self.url = url
        self.pem = pem
        self.fingerprint = fingerprint
        self.pinned = pinned

    def to_finding(self) -> Finding:
        """The pairing phase's finding: the fingerprint to verify and pin, never the PEM body."""
        shown = format_fingerprint(self.fingerprint)
        if self.pinned:
            code, what = "HCX_CERTIFICATE_PIN_MISMATCH", "matches none of the pinned fingerprints"
        else:
            code, what = "HCX_CERTIFICATE_NOT_PINNED", "is not trusted and no fingerprint is pinned"
        return finding(
            code,
            f"the certificate of the HCX Manager at {self.url} (SHA-256 {shown}) {what}",
            resource=self.url,
            details={"fingerprint": self.fingerprint, "fingerprint_display": shown},
        )


class HcxTlsError(HcxError):
    """The client's own TLS connection to the manager failed verification."""

    def __init__(
        self, message: str, *, url: str, fingerprint: str | None = None, pem: str | None = None
    ) -> None:
        super().__init__(message)
        self.url = url
        self.fingerprint = fingerprint
        self.pem = pem

    def to_finding(self) -> Finding:
        shown = format_fingerprint(self.fingerprint) if self.fingerprint else "unknown"
        return finding(
            "HCX_TLS_UNTRUSTED",
            f"the app does not trust the TLS certificate of the HCX Manager at {self.url} (SHA-256 {shown})",
            resource=self.url,
            details={"fingerprint": self.fingerprint, "fingerprint_display": shown},
        )


class HcxProtocolError(HcxError):
    """An answer the client cannot interpret (e.g. a login without a token header)."""


class HcxUnavailable(HcxError):
    """The manager is unreachable or overloaded (5xx, 429, connection errors); try again later."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        messages: list[HcxMessage] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, messages=messages)
        self.retry_after = retry_after


class HcxTimeout(HcxUnavailable):
    """The manager did not answer within the client's timeout."""
