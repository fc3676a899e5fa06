"""Errors an HCX Manager simulator answers with; each carries its wire status and code.

The backend (`models/`) raises these and never builds a response; `responses.py` renders them with
`to_wire()`. The tree:

    HcxError                       500 INTERNAL_ERROR (never raised for a client's mistake)
    ├── BadRequest                 400 BAD_REQUEST: a malformed body; the message names the field
    ├── ItemsRejected              400: validate/start items that failed, body `{"items": [...]}`
    ├── Unauthorized               401 UNAUTHORIZED: no, unknown or expired session token; bad login
    ├── Forbidden                  403 FORBIDDEN: the licence (add-on edition) lacks the feature
    ├── NotFound                   404 NOT_FOUND: no such job, pairing, extension, migration, route
    ├── Conflict                   409 CONFLICT: the resource's state does not allow the operation
    └── ServiceUnavailable         503 SERVICE_UNAVAILABLE: the HCX add-on is not installed

Body shape: real HCX is inconsistent about error bodies (hcx-api.md §2.2); the simulator uses
`{"errors": [{"code": "<UPPER_SNAKE>", "message": "..."}]}`. # inferred: hcx-api.md §2.2
Messages never contain secrets (passwords, tokens). This module depends on the standard library only.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BadRequest",
    "Conflict",
    "Forbidden",
    "HcxError",
    "ItemsRejected",
    "NotFound",
    "ServiceUnavailable",
    "Unauthorized",
]


class HcxError(Exception):
    status = 500
    code = "INTERNAL_ERROR"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def to_wire(self) -> dict[str, Any]:
        # inferred: hcx-api.md §2.2 (no documented 4xx body; this is the blueprint's default)
        return {"errors": [{"code": self.code, "message": self.message}]}


class BadRequest(HcxError):
    status = 400
    code = "BAD_REQUEST"


class ItemsRejected(HcxError):
    """Every item of a validate/start request failed; the body lists each item's errors."""

    status = 400
    code = "VALIDATION_FAILED"

    def __init__(self, items: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(items)} item(s) failed validation")
        self.items = items

    def to_wire(self) -> dict[str, Any]:
        return {"items": self.items}


class Unauthorized(HcxError):
    status = 401
    code = "UNAUTHORIZED"


class Forbidden(HcxError):
    status = 403
    code = "FORBIDDEN"


class NotFound(HcxError):
    status = 404
    code = "NOT_FOUND"


class Conflict(HcxError):
    status = 409
    code = "CONFLICT"


class ServiceUnavailable(HcxError):
    status = 503
    code = "SERVICE_UNAVAILABLE"
