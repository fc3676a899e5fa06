"""The wave engine's errors.

```
SharedError (shared.errors)
└── EngineError          something the wave engine cannot work with
    └── EngineStateError a stored state or input that does not fit the plan (wrong VM count,
                         a row with more columns than this release knows)
```

Activities report HCX's refusals as data (per-item errors), not as exceptions; only transport trouble
raises (the HCX client's `HcxError` tree), so Durable retries it. This module depends on
`shared.errors` only.
"""

from __future__ import annotations

from shared.errors import SharedError

__all__ = ["EngineError", "EngineStateError"]


class EngineError(SharedError):
    """Base class of the wave engine's errors."""


class EngineStateError(EngineError, ValueError):
    """A stored wave state or orchestrator input that does not match the plan or this release."""
