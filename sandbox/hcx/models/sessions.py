"""Sessions: `POST /hybridity/api/sessions` issues the `x-hm-authorization` token every call needs.

The credentials are the cloud's cloudadmin (vSphere SSO) ones, `world.credentials[side]`, the same
`listAdminCredentials` returns through ARM. Tokens are opaque random strings; they expire after
`faults.token_ttl_minutes` of simulated time from issue, after which calls answer 401 and the client
must log in again (inferred: hcx-api.md §1.2, token lifetime is undocumented). Tokens are secrets:
they never enter the event log or an error message. This module depends on the standard library
and the core only.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from sandbox.hcx.exceptions import BadRequest, Unauthorized
from sandbox.hcx.models.core import Core, operation

__all__ = ["SessionsMixin"]


@dataclass(frozen=True)
class _Session:
    username: str
    expires: float


class SessionsMixin(Core):
    def _init_sessions(self) -> None:
        self._sessions: dict[str, _Session] = {}

    @operation
    def create_session(self, username: object, password: object) -> str:
        """Log in; returns the token for the `x-hm-authorization` response header."""
        if not isinstance(username, str) or not username:
            raise BadRequest("username: required, a non-empty string")
        if not isinstance(password, str):
            raise BadRequest("password: required, a string")
        expected = self.world.credentials[self.side]
        # Compare in constant time, both fields always, so timing says nothing about which was wrong.
        user_ok = hmac.compare_digest(username.lower().encode(), expected.username.lower().encode())
        password_ok = hmac.compare_digest(password.encode(), expected.password.encode())
        if not (user_ok and password_ok):
            self.record("login_failed", username=username)
            raise Unauthorized("Authentication failed: invalid username or password")
        self._drop_expired()
        token = secrets.token_urlsafe(32)
        # inferred: hcx-api.md §1.2 (lifetime undocumented): a fixed lifetime from issue, not idle time
        ttl = self.world.scenario.faults.token_ttl_minutes * 60
        self._sessions[token] = _Session(expected.username, self.now + ttl)
        self.record("session_created", username=expected.username)
        return token

    @operation
    def authenticate(self, token: str | None) -> str:
        """The user a token belongs to; 401 when it is missing, unknown or expired."""
        if not token:
            raise Unauthorized("x-hm-authorization header is required")
        session = self._sessions.get(token)
        if session is None:
            raise Unauthorized("session token is not valid")
        if self.now >= session.expires:
            del self._sessions[token]
            raise Unauthorized("session token has expired")
        return session.username

    def _drop_expired(self) -> None:
        expired = [token for token, s in self._sessions.items() if self.now >= s.expires]
        for token in expired:
            del self._sessions[token]
