"""The Durable HTTP API: the host's status codes, headers and bodies, and bad input answered 4xx."""

from __future__ import annotations

import httpx
import pytest

from runtime import LocalRuntime


@pytest.fixture
def api(runtime: LocalRuntime) -> str:
    return runtime.durable_base_url


def start_waiting(runtime: LocalRuntime, instance_id: str = "waiting-1") -> str:
    """An instance that stays Running until it gets events First and Second."""
    runtime.start_new("events_in_order", {}, instance_id=instance_id)
    assert runtime.wait_for_idle(timeout=10.0)
    return instance_id


def test_start_with_a_raw_object_body_returns_the_check_status_payload(
    api: str, runtime: LocalRuntime
) -> None:
    response = httpx.post(f"{api}/orchestrators/async_activity/my-id", json={"a": 1})
    assert response.status_code == 202
    assert response.headers["Retry-After"] == "10"
    payload = response.json()
    assert payload["id"] == "my-id"
    assert set(payload) >= {
        "statusQueryGetUri",
        "sendEventPostUri",
        "terminatePostUri",
        "purgeHistoryDeleteUri",
    }
    assert runtime.wait_for_idle(timeout=10.0)
    status = httpx.get(payload["statusQueryGetUri"]).json()
    assert status["input"] == {"a": 1}
    assert status["output"] == {"echo": {"a": 1}}


def test_start_and_wait_returns_200_with_the_output_when_it_finishes_in_time(api: str) -> None:
    response = httpx.post(
        f"{api}/orchestrators/async_activity?timeout=10&pollingInterval=0.05", json={"b": 2}
    )
    assert response.status_code == 200
    assert response.json() == {"echo": {"b": 2}}


def test_start_of_an_unknown_orchestrator_is_400_with_an_exception_message(api: str) -> None:
    response = httpx.post(f"{api}/orchestrators/no_such_orchestrator", json={})
    assert response.status_code == 400
    assert "no_such_orchestrator" in response.json()["ExceptionMessage"]


def test_start_with_malformed_json_is_400(api: str) -> None:
    response = httpx.post(
        f"{api}/orchestrators/sequence", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "Invalid JSON content" in response.json()["Message"]


def test_start_with_a_reserved_instance_id_is_400(api: str) -> None:
    response = httpx.post(f"{api}/orchestrators/sequence/@entity", json={})
    assert response.status_code == 400
    assert "instanceId" in response.json()["Message"]


def test_start_over_a_running_instance_is_409(api: str, runtime: LocalRuntime) -> None:
    start_waiting(runtime)
    response = httpx.post(f"{api}/orchestrators/events_in_order/waiting-1", json={})
    assert response.status_code == 409


def test_status_of_a_running_instance_is_202_with_location_and_retry_after(
    api: str, runtime: LocalRuntime
) -> None:
    start_waiting(runtime)
    response = httpx.get(f"{api}/instances/waiting-1")
    assert response.status_code == 202
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Location"].endswith("/instances/waiting-1")
    body = response.json()
    assert body["runtimeStatus"] == "Running"
    assert body["createdTime"].endswith("Z")


def test_status_of_an_unknown_instance_is_404(api: str) -> None:
    assert httpx.get(f"{api}/instances/nobody").status_code == 404


def test_show_input_false_hides_the_input_and_show_history_adds_events(
    api: str, runtime: LocalRuntime
) -> None:
    instance_id = runtime.start_new("sequence", ["A"])
    assert runtime.wait_for_idle(timeout=10.0)
    plain = httpx.get(f"{api}/instances/{instance_id}?showInput=false").json()
    assert plain["input"] is None
    assert "historyEvents" not in plain
    full = httpx.get(f"{api}/instances/{instance_id}?showHistory=true&showHistoryOutput=true").json()
    kinds = [e["EventType"] for e in full["historyEvents"]]
    assert kinds == ["ExecutionStarted", "TaskCompleted", "ExecutionCompleted"]
    assert full["historyEvents"][1]["FunctionName"] == "hello"
    assert full["historyEvents"][1]["Result"] == "Hello A!"


def test_failed_instance_is_200_or_500_when_asked(api: str, runtime: LocalRuntime) -> None:
    instance_id = runtime.start_new("failing", {})
    assert runtime.wait_for_idle(timeout=10.0)
    assert httpx.get(f"{api}/instances/{instance_id}").status_code == 200
    assert (
        httpx.get(f"{api}/instances/{instance_id}?returnInternalServerErrorOnFailure=true").status_code == 500
    )


def test_list_filters_by_status_and_prefix_and_pages_with_a_continuation_token(
    api: str, runtime: LocalRuntime
) -> None:
    for n in range(5):
        runtime.start_new("sequence", ["x"], instance_id=f"batch-{n}")
    start_waiting(runtime, "other-1")
    assert runtime.wait_for_idle(timeout=10.0)
    running = httpx.get(f"{api}/instances/?runtimeStatus=Running").json()
    assert [s["instanceId"] for s in running] == ["other-1"]
    seen: list[str] = []
    headers: dict[str, str] = {}
    while True:
        page = httpx.get(f"{api}/instances/?instanceIdPrefix=batch-&top=2", headers=headers)
        assert page.status_code == 200
        seen += [s["instanceId"] for s in page.json()]
        token = page.headers.get("x-ms-continuation-token")
        if not token:
            break
        headers = {"x-ms-continuation-token": token}
    assert sorted(seen) == [f"batch-{n}" for n in range(5)]
    assert len(seen) == 5


def test_list_with_an_unknown_status_names_the_field(api: str) -> None:
    response = httpx.get(f"{api}/instances/?runtimeStatus=Sleeping")
    assert response.status_code == 400
    assert "runtimeStatus" in response.json()["Message"]


def test_raise_event_status_codes(api: str, runtime: LocalRuntime) -> None:
    start_waiting(runtime)
    assert httpx.post(f"{api}/instances/nobody/raiseEvent/First", json=1).status_code == 404
    wrong_type = httpx.post(
        f"{api}/instances/waiting-1/raiseEvent/First", content=b"1", headers={"Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 400
    bad_json = httpx.post(
        f"{api}/instances/waiting-1/raiseEvent/First",
        content=b"{",
        headers={"Content-Type": "application/json"},
    )
    assert bad_json.status_code == 400
    assert httpx.post(f"{api}/instances/waiting-1/raiseEvent/First", json="one").status_code == 202
    assert httpx.post(f"{api}/instances/waiting-1/raiseEvent/Second", json=[2]).status_code == 202
    assert runtime.wait_for_idle(timeout=10.0)
    assert runtime.get_status("waiting-1")["output"] == ["one", [2]]
    assert httpx.post(f"{api}/instances/waiting-1/raiseEvent/Third", json=3).status_code == 410


def test_terminate_status_codes(api: str, runtime: LocalRuntime) -> None:
    start_waiting(runtime)
    assert httpx.post(f"{api}/instances/nobody/terminate?reason=x").status_code == 404
    assert httpx.post(f"{api}/instances/waiting-1/terminate?reason=enough").status_code == 202
    assert runtime.wait_for_idle(timeout=10.0)
    assert runtime.get_status("waiting-1")["runtimeStatus"] == "Terminated"
    assert httpx.post(f"{api}/instances/waiting-1/terminate?reason=again").status_code == 410


def test_purge_rules(api: str, runtime: LocalRuntime) -> None:
    start_waiting(runtime)
    assert httpx.delete(f"{api}/instances/waiting-1").status_code == 412
    assert httpx.delete(f"{api}/instances/nobody").status_code == 404
    assert httpx.delete(f"{api}/instances/").status_code == 400  # createdTimeFrom is required
    assert httpx.delete(f"{api}/instances/?createdTimeFrom=2026-01-01T00:00:00Z").status_code == 404
    runtime.start_new("sequence", ["x"], instance_id="done-1")
    assert runtime.wait_for_idle(timeout=10.0)
    response = httpx.delete(f"{api}/instances/?createdTimeFrom=2026-01-01T00:00:00Z&runtimeStatus=Completed")
    assert response.status_code == 200
    assert response.json() == {"instancesDeleted": 1}
    assert runtime.get_status("waiting-1")["runtimeStatus"] == "Running"


def test_suspended_instance_holds_events_until_resumed(api: str, runtime: LocalRuntime) -> None:
    start_waiting(runtime)
    assert httpx.post(f"{api}/instances/waiting-1/suspend?reason=hold").status_code == 202
    runtime.raise_event("waiting-1", "First", 1)
    runtime.raise_event("waiting-1", "Second", 2)
    assert runtime.wait_for_idle(timeout=10.0)
    assert runtime.get_status("waiting-1")["runtimeStatus"] == "Suspended"
    assert httpx.post(f"{api}/instances/waiting-1/resume?reason=go").status_code == 202
    assert runtime.wait_for_idle(timeout=10.0)
    assert runtime.get_status("waiting-1")["output"] == [1, 2]


def test_restart_starts_the_same_orchestration_with_the_same_input(api: str, runtime: LocalRuntime) -> None:
    runtime.start_new("sequence", ["again"], instance_id="first-run")
    assert runtime.wait_for_idle(timeout=10.0)
    response = httpx.post(f"{api}/instances/first-run/restart")
    assert response.status_code == 202
    new_id = response.json()["id"]
    assert new_id != "first-run"
    assert runtime.wait_for_idle(timeout=10.0)
    assert runtime.get_status(new_id)["output"] == ["Hello again!"]


def test_rewind_is_412_unless_failed_and_501_otherwise(api: str, runtime: LocalRuntime) -> None:
    start_waiting(runtime)
    assert httpx.post(f"{api}/instances/waiting-1/rewind?reason=x").status_code == 412
    failed = runtime.start_new("failing", {})
    assert runtime.wait_for_idle(timeout=10.0)
    assert httpx.post(f"{api}/instances/{failed}/rewind?reason=x").status_code == 501


def test_entities_are_not_implemented(api: str) -> None:
    assert httpx.get(f"{api}/entities/counter/k").status_code == 501


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/orchestrators/sequence"),
        ("PUT", "/instances/x"),
        ("GET", "/instances/x/terminate"),
        ("GET", "/nope"),
    ],
)
def test_wrong_methods_and_unknown_paths_are_404(api: str, method: str, path: str) -> None:
    assert httpx.request(method, f"{api}{path}").status_code == 404


def test_oversized_body_is_413_and_the_runtime_keeps_serving(tmp_path, journal) -> None:  # type: ignore[no-untyped-def]
    from tests.apps.durable_app import build_app

    with LocalRuntime(build_app(journal), tmp_path / "s.sqlite", max_body_bytes=1024) as rt:
        big = httpx.post(f"{rt.durable_base_url}/orchestrators/sequence", json=["x" * 2000])
        assert big.status_code == 413
        assert "1024" in big.json()["Message"]
        assert httpx.post(f"{rt.durable_base_url}/orchestrators/sequence", json=["small"]).status_code == 202


def test_the_rpc_base_serves_the_same_api(runtime: LocalRuntime) -> None:
    instance_id = runtime.start_new("sequence", ["rpc"])
    assert runtime.wait_for_idle(timeout=10.0)
    response = httpx.get(f"{runtime.base_url}/durabletask/instances/{instance_id}")
    assert response.status_code == 200
    assert response.json()["output"] == ["Hello rpc!"]
