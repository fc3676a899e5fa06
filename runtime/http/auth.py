"""Function keys, as the host checks them when keys exist (durable.md §8.1, Functions HTTP auth).

Settings: `LOCAL_FUNCTION_KEYS` (comma-separated) authorise FUNCTION-level triggers; `LOCAL_MASTER_KEY`
authorises ADMIN level and everything a function key does. A key is presented as `?code=` or the
`x-functions-key` header. The Durable and Event Grid webhooks are system endpoints: they take the
master key or their extension's system key (`LOCAL_DURABLETASK_KEY`, `LOCAL_EVENTGRID_KEY`; when unset,
derived from the master key with HMAC-SHA256 so it survives restarts, or random per run if there is
no master key). With no keys configured nothing is checked, like `func start`.

Keys are compared in constant time and never logged or echoed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping

from runtime.errors import Unauthorized

__all__ = ["Keys"]


def _derive(master: str, extension: str) -> str:
    digest = hmac.new(master.encode(), extension.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class Keys:
    def __init__(self, settings: Mapping[str, str]) -> None:
        self._function_keys = [
            k.strip() for k in settings.get("LOCAL_FUNCTION_KEYS", "").split(",") if k.strip()
        ]
        self._master = settings.get("LOCAL_MASTER_KEY", "").strip() or None
        self.enabled = bool(self._function_keys or self._master)
        self.durable_key: str | None = None
        self.eventgrid_key: str | None = None
        if self.enabled:
            self.durable_key = settings.get("LOCAL_DURABLETASK_KEY") or self._system_key(
                "durabletask_extension"
            )
            self.eventgrid_key = settings.get("LOCAL_EVENTGRID_KEY") or self._system_key(
                "eventgrid_extension"
            )

    def __repr__(self) -> str:
        return f"Keys(enabled={self.enabled}, function_keys={len(self._function_keys)})"

    def _system_key(self, extension: str) -> str:
        return _derive(self._master, extension) if self._master else secrets.token_urlsafe(32)

    @staticmethod
    def presented(query: Mapping[str, str], headers: Mapping[str, str]) -> str | None:
        return query.get("code") or headers.get("x-functions-key")

    @staticmethod
    def _matches(key: str | None, candidates: list[str | None]) -> bool:
        if not key:
            return False
        found = False
        for candidate in candidates:
            if candidate is not None and hmac.compare_digest(key.encode(), candidate.encode()):
                found = True
        return found

    def check_function(self, level: str, key: str | None) -> None:
        """Authorise an HTTP trigger of `authLevel` level (ANONYMOUS, FUNCTION, ADMIN)."""
        level = level.upper()
        if not self.enabled or level == "ANONYMOUS":
            return
        allowed: list[str | None] = [self._master]
        if level != "ADMIN":
            allowed.extend(self._function_keys)
        if not self._matches(key, allowed):
            raise Unauthorized(f"this function requires a {level.lower()} key (?code= or x-functions-key)")

    def check_system(self, extension: str, key: str | None) -> None:
        """Authorise a webhook of `extension` ('durabletask' or 'eventgrid')."""
        if not self.enabled:
            return
        system = self.durable_key if extension == "durabletask" else self.eventgrid_key
        if not self._matches(key, [self._master, system]):
            raise Unauthorized(
                f"the {extension} webhook requires the master key or the {extension} system key"
            )
