"""The local runtime's errors: one tree, so callers catch exactly what they can act on.

```
LocalRuntimeError                 anything the runtime raises on purpose
├── ConfigError                   bad start-up input: app reference, host.json, settings, clock spec
├── StoreError                    the SQLite state file cannot be used (wrong schema, not a database)
└── ApiError                      a Durable/webhook API refusal; `status` is the HTTP code it maps to
    ├── BadRequest           400  malformed JSON, unknown function, bad query value or instance id
    ├── Unauthorized         401  a function key was required and missing or wrong
    ├── NotFound             404  unknown instance, function or route
    ├── Conflict             409  an instance with this id is still running
    ├── Gone                 410  the instance already finished
    ├── PreconditionFailed   412  the operation needs another instance state (purge, rewind)
    ├── PayloadTooLarge      413  request body over the documented limit
    └── NotImplementedByRuntime 501  a Durable feature this runtime does not model (entities, rewind)
```

Messages name the field and the reason; they never carry secrets (keys, tokens, connection strings).
A Python exception raised by a *function* is not part of this tree: the runtime records it (a failed
activity, a failed orchestration, a 500 from an HTTP trigger) and keeps running.
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "BadRequest",
    "ConfigError",
    "Conflict",
    "Gone",
    "LocalRuntimeError",
    "NotFound",
    "NotImplementedByRuntime",
    "PayloadTooLarge",
    "PreconditionFailed",
    "StoreError",
    "Unauthorized",
]


class LocalRuntimeError(Exception):
    """Base of every error the local runtime raises on purpose."""


class ConfigError(LocalRuntimeError):
    """Start-up input is unusable; the message names the setting, flag or file and why."""


class StoreError(LocalRuntimeError):
    """The SQLite state file cannot be opened or has an unexpected schema."""


class ApiError(LocalRuntimeError):
    """A refusal the HTTP layer renders as `status` with a JSON body carrying `message`."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class Gone(ApiError):
    status = 410


class PreconditionFailed(ApiError):
    status = 412


class PayloadTooLarge(ApiError):
    status = 413


class NotImplementedByRuntime(ApiError):
    status = 501
