"""An in-process HCX answer table for client tests: real client, real httpx stack, scripted answers.

`ScriptedHcx` is an httpx.MockTransport handler. It logs in like HCX (token in the
`x-hm-authorization` header, 401 without it), serves canned answers per (method, path[?action]),
can play a sequence of answers for one route (e.g. 503, 503, 200), and records every request so tests
can assert what the client sent. Each test builds its own instance.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from shared.hcx import HcxClient, RetryPolicy
from shared.settings import UserPassword

FIXTURES = Path(__file__).parent / "fixtures" / "hcx"
PASSWORD = "Sup3r-Secret-Pa55!"
URL = "https://hcx.source.example"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


Answer = tuple[int, Any] | tuple[int, Any, dict[str, str]]


class ScriptedHcx:
    def __init__(self, header: str = "x-hm-authorization") -> None:
        self.token_header = header
        self.tokens: set[str] = set()
        self.routes: dict[str, deque[Answer]] = defaultdict(deque)
        self.requests: list[httpx.Request] = []
        self.logins = 0
        self.login_answer: Answer | None = None

    def on(self, method: str, path: str, *answers: Answer) -> ScriptedHcx:
        self.routes[f"{method} {path}"].extend(answers)
        return self

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if f"{r.method} {_key(r)}" == f"{method} {path}"]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/hybridity/api/sessions":
            return self._login(request)
        if request.headers.get("x-hm-authorization") not in self.tokens:
            return httpx.Response(401)
        queue = self.routes.get(f"{request.method} {_key(request)}")
        if not queue:
            return httpx.Response(404, json={"errors": [{"code": "NOT_FOUND", "message": "no such route"}]})
        answer = queue[0] if len(queue) == 1 else queue.popleft()
        status, body, *rest = answer
        headers = rest[0] if rest else {}
        if isinstance(body, str):
            return httpx.Response(status, text=body, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    def _login(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body.get("password") != PASSWORD:
            return httpx.Response(401)
        if self.login_answer is not None:
            status, payload, *rest = self.login_answer
            return httpx.Response(status, text=payload, headers=rest[0] if rest else {})
        self.logins += 1
        token = f"token-{self.logins}"
        self.tokens.add(token)
        return httpx.Response(200, json={"success": True, "data": {}}, headers={self.token_header: token})


def _key(request: httpx.Request) -> str:
    action = request.url.params.get("action")
    return request.url.path + (f"?action={action}" if action else "")


def credentials(password: str = PASSWORD) -> UserPassword:
    return UserPassword(username="cloudadmin@vsphere.local", password=SecretStr(password))


class Sleeps(list[float]):
    """Records the pauses a RetryPolicy asks for, instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_for(server: ScriptedHcx, *, password: str = PASSWORD, sleeps: Sleeps | None = None) -> HcxClient:
    import random

    retry = RetryPolicy(
        attempts=3, base=0.5, cap=8.0, sleep=sleeps if sleeps is not None else Sleeps(), rng=random.Random(7)
    )
    return HcxClient(URL, credentials(password), transport=httpx.MockTransport(server), retry=retry)
