"""The Function App's HTTP API (docs/api.md) as the CLI uses it: one small synchronous client.

httpx (already a runtime dependency, with verified TLS and certifi roots by default; `SSL_CERT_FILE`
adds a corporate CA) does the HTTP; this module only maps the app's answers to what an operator can
act on. The same client talks to the local runtime (`make serve`, the demo) and to a deployed
Function App: the endpoint is the app's base URL (`https://<app>.azurewebsites.net` or
`http://127.0.0.1:7071`, with or without `/api`), the function key travels in `x-functions-key`.

Secrets: the key is held in the client only to be sent. It never appears in a message, a repr or an
exception, and URLs the app returns (whose `code=` query carries the caller's key, for Logic Apps)
are shown only through `redact`. Depends on httpx and `conductor.errors` only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import httpx

from conductor.errors import (
    ConductorError,
    EndpointError,
    InputError,
    KeyRefused,
    MigrationNotFound,
    NotServed,
    RequestRefused,
)

__all__ = [
    "Answer",
    "AppClient",
    "EndpointError",
    "KeyRefused",
    "MigrationNotFound",
    "NotServed",
    "RequestRefused",
    "endpoint_and_key",
    "redact",
]

KEY_HINT = (
    "pass --key or set CONDUCTOR_FUNCTION_KEY (Azure portal: Function App → App keys; "
    "`az functionapp keys list`)"
)
ENDPOINT_HINT = "check --endpoint / CONDUCTOR_ENDPOINT, and that the app is running (`make serve` locally)"


@dataclass(frozen=True)
class Answer:
    """A 2xx answer: its status and JSON body."""

    status: int
    body: dict[str, Any]


def redact(url: str) -> str:
    """`url` without secrets: the `code` query parameter (a function key) becomes `***`."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [
        (k, "***" if k.lower() == "code" else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


def endpoint_and_key(endpoint: str | None, key: str | None) -> tuple[str, str | None]:
    """The API base (`…/api`) and the key. A `?code=` on the endpoint is taken as the key and removed,
    so a URL copied from the portal works and the key is never echoed back with the endpoint."""
    if not endpoint:
        raise InputError(
            "no endpoint: this command talks to the Function App",
            "pass --endpoint URL or set CONDUCTOR_ENDPOINT (http://127.0.0.1:7071 for `make serve`)",
        )
    parts = urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(
            f"--endpoint {redact(endpoint)!r}: not an http(s) URL",
            "e.g. https://<app>.azurewebsites.net or http://127.0.0.1:7071",
        )
    query = dict(parse_qsl(parts.query))
    key = key or query.get("code") or None
    path = parts.path.rstrip("/")
    if not path.endswith("/api"):
        path = f"{path}/api"
    return urlunsplit((parts.scheme, parts.netloc, path, "", "")), key


class AppClient:
    """`GET/POST /api/migrations…`: each method returns the JSON answer or raises a `ConductorError`."""

    def __init__(
        self,
        endpoint: str | None,
        key: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.api, key = endpoint_and_key(endpoint, key)
        headers = {"Accept": "application/json", "User-Agent": "hcx-conductor-cli"}
        if key:
            headers["x-functions-key"] = key
        self._http = httpx.Client(headers=headers, timeout=timeout, transport=transport)

    def __repr__(self) -> str:
        return f"AppClient({self.api!r})"  # never the key

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AppClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the API ---------------------------------------------------------------------------------

    def submit(self, content: bytes, content_type: str) -> Answer:
        """POST /migrations: 202 with `id`, `instance_id`, `digest`, `decision`."""
        return self._call("POST", "migrations", content=content, content_type=content_type)

    def validate(self, content: bytes, content_type: str) -> Answer:
        """POST /migrations/validate: preflight only (200 with findings, or 202 to poll)."""
        return self._call("POST", "migrations/validate", content=content, content_type=content_type)

    def validation(self, instance: str) -> Answer:
        return self._call("GET", f"validations/{quote(instance)}")

    def status(self, plan_id: str) -> Answer:
        """GET /migrations/{id}: 202 while running, 200 once it ended; the status document."""
        return self._call("GET", f"migrations/{quote(plan_id)}", plan_id=plan_id)

    def list(self, **filters: str) -> Answer:
        return self._call("GET", "migrations", params={k: v for k, v in filters.items() if v})

    def action(self, plan_id: str, name: str, body: dict[str, Any] | None = None) -> Answer:
        """POST /migrations/{id}/{approve|cancel|retry} with an optional JSON body."""
        content = json.dumps(body or {}).encode()
        return self._call(
            "POST",
            f"migrations/{quote(plan_id)}/{name}",
            content=content,
            content_type="application/json",
            plan_id=plan_id,
        )

    def report(self, plan_id: str) -> Answer:
        """GET /migrations/{id}/report: the report's JSON (`shared.report.MigrationReport`)."""
        return self._call("GET", f"migrations/{quote(plan_id)}/report", plan_id=plan_id)

    # --- plumbing --------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        content_type: str | None = None,
        params: dict[str, str] | None = None,
        plan_id: str | None = None,
    ) -> Answer:
        url = f"{self.api}/{path}"
        headers = {"Content-Type": content_type} if content_type else None
        try:
            response = self._http.request(method, url, content=content, headers=headers, params=params)
        except httpx.ConnectError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise EndpointError(
                    f"{self.api}: the TLS certificate could not be verified",
                    "set SSL_CERT_FILE to a CA bundle that trusts it (TLS is never turned off)",
                ) from None
            raise EndpointError(f"cannot reach {self.api}", ENDPOINT_HINT) from None
        except httpx.TimeoutException:
            raise EndpointError(f"{self.api} did not answer in time", ENDPOINT_HINT) from None
        except httpx.HTTPError as exc:
            raise EndpointError(f"{self.api}: {type(exc).__name__}", ENDPOINT_HINT) from None
        return self._answer(response, plan_id)

    def _answer(self, response: httpx.Response, plan_id: str | None) -> Answer:
        status = response.status_code
        body = _json(response)
        if 200 <= status < 300:
            return Answer(status, body)
        text = str(body.get("error") or body.get("Message") or response.reason_phrase or status)
        if status in (401, 403):
            refused = "refused the function key" if "x-functions-key" in self._http.headers else "needs a key"
            raise KeyRefused(f"{self.api} {refused} ({status})", KEY_HINT)
        if status == 404 and plan_id is not None and "error" in body:
            raise MigrationNotFound(
                f"no migration {plan_id!r} at {self.api}", "`conductor status` lists the migrations"
            )
        if status == 404:
            raise NotServed(
                f"{self.api}: {response.request.method} {response.request.url.path} is not served (404)",
                "check that the endpoint is an HCX Conductor Function App of this version",
            )
        if status in (400, 409, 410, 413):
            hint = "fix the plan (docs/plan.md)" if body.get("errors") else None
            raise RequestRefused(text, hint, status, body)
        raise ConductorError(
            f"{self.api} answered {status}: {text}", "the app's log (Application Insights) says why"
        )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {"value": body}
