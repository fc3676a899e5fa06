"""HTTP triggers: ASP.NET route templates, methods, auth levels with function keys, responses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtime import LocalRuntime
from runtime.http.routes import Route, RouteTable
from tests.apps.triggers_app import build_app


@pytest.fixture
def inbox() -> list[Any]:
    return []


@pytest.fixture
def served(tmp_path: Path, inbox: list[Any]) -> Iterator[LocalRuntime]:
    with LocalRuntime(build_app(inbox), tmp_path / "s.sqlite") as rt:
        yield rt


@pytest.fixture
def keyed(tmp_path: Path, inbox: list[Any]) -> Iterator[LocalRuntime]:
    settings = {"LOCAL_FUNCTION_KEYS": "fkey-1, fkey-2", "LOCAL_MASTER_KEY": "mkey"}
    with LocalRuntime(build_app(inbox), tmp_path / "s.sqlite", settings=settings) as rt:
        yield rt


def test_route_constraints_choose_the_function(served: LocalRuntime) -> None:
    assert httpx.get(f"{served.base_url}/api/items/42").json() == {"id": 42, "kind": "number"}
    assert httpx.get(f"{served.base_url}/api/items/widget?q=1").json() == {"name": "widget", "q": "1"}
    assert httpx.get(f"{served.base_url}/api/items/w1dget").status_code == 404


def test_catch_all_route_and_any_method(served: LocalRuntime) -> None:
    response = httpx.put(f"{served.base_url}/api/files/a/b/c.txt")
    assert response.status_code == 200
    assert response.text == "PUT a/b/c.txt"
    assert response.headers["Content-Type"].startswith("text/plain")


def test_a_method_the_function_does_not_accept_is_404(served: LocalRuntime) -> None:
    assert httpx.post(f"{served.base_url}/api/items/42").status_code == 404


def test_no_keys_configured_means_no_key_check(served: LocalRuntime) -> None:
    assert httpx.get(f"{served.base_url}/api/secure").text == "function level ok"
    assert httpx.get(f"{served.base_url}/api/admin-only").text == "admin level ok"


def test_function_level_accepts_function_and_master_keys(keyed: LocalRuntime) -> None:
    url = f"{keyed.base_url}/api/secure"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, params={"code": "wrong"}).status_code == 401
    assert httpx.get(url, params={"code": "fkey-2"}).status_code == 200
    assert httpx.get(url, headers={"x-functions-key": "fkey-1"}).status_code == 200
    assert httpx.get(url, params={"code": "mkey"}).status_code == 200


def test_admin_level_accepts_only_the_master_key(keyed: LocalRuntime) -> None:
    url = f"{keyed.base_url}/api/admin-only"
    assert httpx.get(url, params={"code": "fkey-1"}).status_code == 401
    assert httpx.get(url, params={"code": "mkey"}).status_code == 200


def test_durable_webhooks_need_the_system_key_when_keys_exist(tmp_path: Path) -> None:
    from tests.apps.durable_app import Journal
    from tests.apps.durable_app import build_app as build_durable

    settings = {"LOCAL_MASTER_KEY": "mkey"}
    with LocalRuntime(build_durable(Journal()), tmp_path / "s.sqlite", settings=settings) as rt:
        start = httpx.post(f"{rt.base_url}/api/orchestrators/sequence", json=["k"])
        assert start.status_code == 202  # the starter is anonymous in this app; its client uses the RPC base
        status_url = start.json()["statusQueryGetUri"]
        assert "code=" in status_url
        assert rt.wait_for_idle(timeout=10.0)
        assert httpx.get(status_url).status_code == 200
        bare = status_url.split("?")[0]
        assert httpx.get(bare).status_code == 401
        assert httpx.get(bare, params={"code": "mkey"}).status_code == 200


def test_an_exception_in_a_function_is_500_and_the_runtime_keeps_serving(tmp_path: Path) -> None:
    from tests.apps.durable_app import Journal
    from tests.apps.durable_app import build_app as build_durable

    with LocalRuntime(build_durable(Journal()), tmp_path / "s.sqlite") as rt:
        assert httpx.get(f"{rt.base_url}/api/sync/boom").status_code == 500
        echo = httpx.post(f"{rt.base_url}/api/sync/echo", content=b"payload")
        assert echo.status_code == 201
        assert echo.content == b"payload"
        assert echo.headers["X-Echo"] == "yes"


def test_returning_none_is_204(served: LocalRuntime, inbox: list[Any]) -> None:
    assert httpx.post(f"{served.base_url}/api/nothing", content=b"x").status_code == 204
    assert inbox == [("nothing", "x")]


def test_paths_outside_the_route_prefix_are_404(served: LocalRuntime) -> None:
    assert httpx.get(f"{served.base_url}/items/42").status_code == 404
    assert httpx.get(f"{served.base_url}/admin/host/ping").status_code == 200


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("orchestrators/{functionName}/{instanceId?}", "orchestrators/run", {"functionName": "run"}),
        (
            "orchestrators/{functionName}/{instanceId?}",
            "orchestrators/run/i1",
            {"functionName": "run", "instanceId": "i1"},
        ),
        ("v{major:int:min(2)}/ping", "v3/ping", {"major": "3"}),
        ("v{major:int:min(2)}/ping", "v1/ping", None),
        (
            "users/{id:guid}",
            "users/3f2504e0-4f89-11d3-9a0c-0305e82c3301",
            {"id": "3f2504e0-4f89-11d3-9a0c-0305e82c3301"},
        ),
        ("users/{id:guid}", "users/42", None),
        ("codes/{code:regex(^[A-Z]{{3}}$)}", "codes/ABC", {"code": "ABC"}),
        ("codes/{code:length(3)}", "codes/ABCD", None),
        ("pages/{page=1}", "pages", {"page": "1"}),
        ("Static/Path", "static/path", {}),
    ],
)
def test_route_templates(template: str, path: str, expected: dict[str, str] | None) -> None:
    route = Route(template, frozenset(), None)
    assert route.match(path) == expected


def test_literal_routes_win_over_parameters() -> None:
    table = RouteTable(
        [Route("items/{name}", frozenset(), "param"), Route("items/special", frozenset(), "literal")]
    )
    found = table.match("GET", "items/special")
    assert found is not None
    assert found[0].target == "literal"
