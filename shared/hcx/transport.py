"""One authenticated HTTP session with an HCX Manager: login, re-login, retries, timeouts, errors.

* **Login** is `POST /hybridity/api/sessions`; 200 or 202 both succeed and the token comes back in the
  `x-hm-authorization` header, looked up case-insensitively. Login happens lazily, before the first
  call. While SSO is still being configured HCX answers with an XML body and no token; that is
  reported as retryable unavailability.
* **401** on any call: log in again once and repeat the call (a 401 means HCX did not act on it).
* **Retries** with exponential backoff and full jitter, honouring Retry-After, for idempotent calls
  only (GETs, deletes, and POSTs that read, like inventory and queries): 5xx, 429, timeouts and
  connection errors. A call that creates or starts something is never repeated after it may have
  reached HCX; only a failure to connect (nothing was sent) is retried for it.
* **Timeouts** on connect, read, write and pool.
* **Errors** are converted once, here: httpx exceptions and HCX status codes become the
  `shared.hcx.errors` tree, with HCX's messages and any known secret redacted.

TLS is always verified: the caller passes an `ssl.SSLContext` (see `shared.tls`) or a factory for one,
built lazily so that constructing a client does no I/O. The token, the password and request bodies are
never logged; the repr shows the URL and user only. This module depends on httpx and `shared.hcx`.
"""

from __future__ import annotations

import logging
import random
import ssl
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from shared.hcx.envelope import first_message, messages
from shared.hcx.errors import (
    HcxAuthError,
    HcxConflict,
    HcxError,
    HcxNotFound,
    HcxProtocolError,
    HcxTimeout,
    HcxTlsError,
    HcxUnavailable,
    HcxValidationError,
)

__all__ = ["DEFAULT_TIMEOUT", "TOKEN_HEADER", "HcxSession", "RetryPolicy"]

TOKEN_HEADER = "x-hm-authorization"  # noqa: S105 - a header name
SESSIONS = "/hybridity/api/sessions"
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=30.0, pool=10.0)
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})

log = logging.getLogger("shared.hcx")


class RetryPolicy:
    """Exponential backoff with full jitter; `sleep` and `rng` are injectable for tests."""

    def __init__(
        self,
        attempts: int = 4,
        base: float = 0.5,
        cap: float = 20.0,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.attempts = attempts  # retries after the first try
        self.base = base
        self.cap = cap
        self.sleep = sleep
        self.rng = rng or random.Random()

    def delay(self, retry: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.cap)
        return self.rng.uniform(0, min(self.cap, self.base * 2**retry))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _server_time(response: httpx.Response) -> datetime | None:
    """The manager's clock when it answered (HTTP `Date`), or None when absent or unreadable."""
    value = response.headers.get("date")
    try:
        return parsedate_to_datetime(value).astimezone(UTC) if value else None
    except (TypeError, ValueError):
        return None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


class HcxSession:
    """An authenticated session with one HCX Manager (see the module docstring)."""

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        *,
        verify: ssl.SSLContext | Callable[[], ssl.SSLContext],
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.username = username
        self._password = password
        self._verify = verify
        self._timeout = timeout
        self._transport = transport
        self._retry = retry or RetryPolicy()
        self._client: httpx.Client | None = None
        self._token: str | None = None
        self._secrets: set[str] = {password}
        self.logins = 0  # how many times this session logged in (for tests and diagnostics)
        # The manager's clock at this thread's last successful answer: progress is timed by when HCX
        # measured it, not by when the caller happened to look. Per thread, because activities share
        # a cached session and another thread's later answer must not re-date this one's figures.
        self._answered = threading.local()

    def __repr__(self) -> str:
        return f"HcxSession(url={self.url!r}, user={self.username!r})"

    @property
    def server_time(self) -> datetime | None:
        """HCX's `Date` on the last successful answer this thread received, if it sent one."""
        at: datetime | None = getattr(self._answered, "at", None)
        return at

    # --- lifecycle ---

    def _http(self) -> httpx.Client:
        if self._client is None:
            # An injected transport (tests, an in-process sandbox) owns its own TLS; otherwise build the
            # verifying context now, at first use, so constructing a client does no I/O.
            verify: ssl.SSLContext | bool = True
            if self._transport is None:
                verify = self._verify if isinstance(self._verify, ssl.SSLContext) else self._verify()
            self._client = httpx.Client(
                base_url=self.url,
                verify=verify,
                timeout=self._timeout,
                transport=self._transport,
                headers={"Accept": "application/json"},
                follow_redirects=False,
                # Proxies, netrc and SSL_CERT_* from the environment must not change who we trust or
                # add credentials behind our back.
                trust_env=False,
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        self._token = None

    def remember_secret(self, secret: str) -> None:
        """Redact `secret` (e.g. a remote password sent in a pairing) from every error message."""
        if secret:
            self._secrets.add(secret)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "**********")
        if self._token:
            text = text.replace(self._token, "**********")
        return text

    # --- login ---

    def login(self) -> None:
        """Log in now (normally done lazily); raises HcxAuthError on refused credentials."""
        body = {"username": self.username, "password": self._password}
        response = self._send("POST", SESSIONS, json=body, idempotent=True, authenticated=False)
        if response.status_code in (401, 403):
            raise HcxAuthError(
                f"HCX Manager {self.url} refused the credentials of {self.username!r}",
                status=response.status_code,
            )
        if response.status_code not in (200, 202):
            raise self._error(response)
        token = next((v for k, v in response.headers.items() if k.lower() == TOKEN_HEADER), None)
        if not token:
            if "<entries>" in response.text or "Trusted root" in response.text:
                # SSO is still being configured on the manager: come back later (hcx-api.md §1.1).
                raise HcxUnavailable(
                    f"HCX Manager {self.url} is not ready for logins yet (SSO not configured)"
                )
            raise HcxProtocolError(
                f"HCX Manager {self.url} answered the login without an {TOKEN_HEADER} header"
            )
        self._token = token
        self.logins += 1
        log.info("logged in to HCX Manager %s as %s", self.url, self.username)

    # --- requests ---

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotent: bool,
        ok: tuple[int, ...] = (200, 201, 202, 204),
    ) -> Any:
        """Send one call and return its parsed JSON body (None if empty); raises the HcxError tree."""
        relogged = False
        while True:
            if self._token is None:
                self.login()
            response = self._send(method, path, json=json, params=params, idempotent=idempotent)
            if response.status_code == 401 and not relogged:
                log.info("HCX Manager %s answered 401; logging in again once", self.url)
                self._token = None
                relogged = True
                continue
            if response.status_code in ok:
                self._answered.at = _server_time(response)
                return _json(response) if response.content else None
            raise self._error(response)

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotent: bool,
        authenticated: bool = True,
    ) -> httpx.Response:
        headers = {TOKEN_HEADER: self._token} if authenticated and self._token else {}
        retry = 0
        while True:
            started = time.monotonic()
            failure: HcxUnavailable
            try:
                response = self._http().request(method, path, json=json, params=params, headers=headers)
            except httpx.ConnectError as exc:
                self._raise_if_untrusted(exc)
                # Nothing reached HCX, so even a call that creates something may be sent again.
                failure = HcxUnavailable(f"cannot connect to HCX Manager {self.url}: {self._reason(exc)}")
                if retry >= self._retry.attempts:
                    raise failure from None
            except httpx.TimeoutException as exc:
                failure = HcxTimeout(f"HCX Manager {self.url} did not answer {method} {path} in time")
                if not idempotent or retry >= self._retry.attempts:
                    raise failure from exc
            except httpx.TransportError as exc:
                failure = HcxUnavailable(
                    f"HCX Manager {self.url} dropped {method} {path}: {self._reason(exc)}"
                )
                if not idempotent or retry >= self._retry.attempts:
                    raise failure from None
            else:
                elapsed = (time.monotonic() - started) * 1000
                log.debug("HCX %s %s -> %s in %.0f ms", method, path, response.status_code, elapsed)
                retryable = response.status_code in _RETRY_STATUS and (
                    idempotent or response.status_code == 429
                )
                if not retryable or retry >= self._retry.attempts:
                    return response
                failure = HcxUnavailable(
                    f"HCX Manager {self.url} answered {response.status_code}",
                    status=response.status_code,
                    retry_after=_retry_after(response),
                )
            pause = self._retry.delay(retry, failure.retry_after)
            log.info("retrying HCX %s %s in %.1f s after: %s", method, path, pause, failure)
            self._retry.sleep(pause)
            retry += 1

    def _reason(self, exc: Exception) -> str:
        return self.redact(str(exc) or exc.__class__.__name__)

    def _raise_if_untrusted(self, exc: httpx.ConnectError) -> None:
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, ssl.SSLCertVerificationError):
                from shared.tls import PeerUnreachable, fetch_certificate  # only on this rare path

                try:
                    remote = fetch_certificate(self.url)
                except PeerUnreachable:
                    fingerprint = pem = None
                else:
                    fingerprint, pem = remote.fingerprint, remote.pem
                raise HcxTlsError(
                    f"the TLS certificate of HCX Manager {self.url} is not trusted ({cause.verify_message}); "
                    f"pin its SHA-256 fingerprint {fingerprint or '(unknown)'} "
                    "or add its CA to HCX_CA_BUNDLE",
                    url=self.url,
                    fingerprint=fingerprint,
                    pem=pem,
                ) from None
            cause = cause.__cause__ or cause.__context__

    def _error(self, response: httpx.Response) -> HcxError:
        body = _json(response)
        errors, warnings = (
            [m.model_copy(update={"message": self.redact(m.message)}) for m in found]
            for found in messages(body)
        )
        status = response.status_code
        what = f"{response.request.method} {response.request.url.path}"
        text = self.redact(first_message(body, default=response.reason_phrase or ""))
        message = f"HCX {what} answered {status}" + (f": {text}" if text else "")
        if status in (401, 403):
            return HcxAuthError(message, status=status, messages=errors)
        if status == 404:
            return HcxNotFound(message, status=status, messages=errors)
        if status == 409:
            return HcxConflict(message, status=status, messages=errors)
        if status in _RETRY_STATUS:
            return HcxUnavailable(message, status=status, messages=errors, retry_after=_retry_after(response))
        if 400 <= status < 500:
            items = (
                body.get("items") if isinstance(body, dict) and isinstance(body.get("items"), list) else []
            )
            return HcxValidationError(message, status=status, errors=errors, warnings=warnings, items=items)
        return HcxError(message, status=status, messages=errors)
