"""Errors of the Microsoft.AVS ARM simulator; each carries its wire status and ARM error code.

The backend raises them; the HTTP layer renders `to_wire()` as the ARM error body
`{"error": {"code", "message", "target"?, "details": []}}`, which azure-core maps to
`ClientAuthenticationError` (401), `ResourceNotFoundError` (404), `ResourceExistsError` (409) and
`HttpResponseError` (anything else). Messages never carry secrets (keys, passwords, tokens).

    ArmError
    ├── BadRequest                 400  InvalidRequestContent, MissingApiVersionParameter, ...
    ├── AuthenticationFailed       401  AuthenticationFailed, InvalidAuthenticationToken
    ├── ResourceNotFound           404  ResourceNotFound
    │   ├── ResourceGroupNotFound  404  ResourceGroupNotFound
    │   └── SubscriptionNotFound   404  SubscriptionNotFound
    ├── Conflict                   409  Conflict (never MissingSubscriptionRegistration, which would make
    │                                   azure-mgmt-core try to register the provider)
    └── OperationFailed            the status a failed long-running operation reports (not raised to a client)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ArmError",
    "AuthenticationFailed",
    "BadRequest",
    "Conflict",
    "OperationFailed",
    "ResourceGroupNotFound",
    "ResourceNotFound",
    "SubscriptionNotFound",
]


class ArmError(Exception):
    status = 500
    code = "InternalServerError"

    def __init__(self, message: str, *, code: str | None = None, target: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.target = target

    def to_wire(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target:
            error["target"] = self.target
        error["details"] = []
        return {"error": error}


class BadRequest(ArmError):
    status = 400
    code = "InvalidRequestContent"


class AuthenticationFailed(ArmError):
    status = 401
    code = "AuthenticationFailed"


class ResourceNotFound(ArmError):
    status = 404
    code = "ResourceNotFound"


class ResourceGroupNotFound(ResourceNotFound):
    code = "ResourceGroupNotFound"


class SubscriptionNotFound(ResourceNotFound):
    code = "SubscriptionNotFound"


class Conflict(ArmError):
    status = 409
    code = "Conflict"


class OperationFailed(ArmError):
    """Why a long-running operation ended `Failed`; served in the operation status, not as a response."""

    status = 400
    code = "OperationFailed"
