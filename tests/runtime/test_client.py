"""The real `DurableOrchestrationClient`, injected into HTTP functions, against the runtime's API."""

from __future__ import annotations

import httpx

from runtime import LocalRuntime


def client_call(rt: LocalRuntime, instance_id: str, operation: str, **kwargs: object) -> httpx.Response:
    return httpx.post(f"{rt.base_url}/api/client/{instance_id}/{operation}", **kwargs)  # type: ignore[arg-type]


def test_client_get_status_sees_output_and_history(runtime: LocalRuntime) -> None:
    instance_id = runtime.start_new("sequence", ["Ana"])
    assert runtime.wait_for_idle(timeout=10.0)
    body = httpx.get(f"{runtime.base_url}/api/client/{instance_id}").json()
    assert body["exists"] is True
    assert body["runtimeStatus"] == "Completed"
    assert body["output"] == ["Hello Ana!"]
    # The host returns historyEvents, which the SDK leaves as an extra attribute (durable.md §8.3).
    assert [e["EventType"] for e in body["historyEvents"]][-1] == "ExecutionCompleted"


def test_client_get_status_of_an_unknown_instance_is_falsy(runtime: LocalRuntime) -> None:
    assert httpx.get(f"{runtime.base_url}/api/client/nobody").json()["exists"] is False


def test_client_raise_event_double_encodes_the_payload(runtime: LocalRuntime) -> None:
    instance_id = runtime.start_new("events_in_order", {})
    assert runtime.wait_for_idle(timeout=10.0)
    assert (
        client_call(
            runtime, instance_id, "raise", params={"event": "First"}, json={"by": "alice"}
        ).status_code
        == 200
    )
    assert client_call(runtime, instance_id, "raise", params={"event": "Second"}, json=[1]).status_code == 200
    assert runtime.wait_for_idle(timeout=10.0)
    # json.dumps(data) sent through aiohttp's json=: the orchestrator gets strings (durable.md §6.4).
    assert runtime.get_status(instance_id)["output"] == ['{"by": "alice"}', "[1]"]


def test_client_raise_event_on_a_finished_instance_raises_gone(runtime: LocalRuntime) -> None:
    instance_id = runtime.start_new("sequence", ["x"])
    assert runtime.wait_for_idle(timeout=10.0)
    response = client_call(runtime, instance_id, "raise", params={"event": "First"}, json=1)
    assert response.status_code == 500  # the function raised the client's "is gone" exception


def test_client_terminate_and_purge(runtime: LocalRuntime) -> None:
    instance_id = runtime.start_new("events_in_order", {})
    assert runtime.wait_for_idle(timeout=10.0)
    assert client_call(runtime, instance_id, "terminate", params={"reason": "stop"}).json() == {
        "terminated": True
    }
    assert runtime.wait_for_idle(timeout=10.0)
    assert runtime.get_status(instance_id)["runtimeStatus"] == "Terminated"
    assert client_call(runtime, instance_id, "purge").json() == {"deleted": 1}
    assert client_call(runtime, instance_id, "purge").json() == {"deleted": 0}


def test_client_get_status_by_prefix(runtime: LocalRuntime) -> None:
    for name in ("job-a", "job-b", "other"):
        runtime.start_new("sequence", ["x"], instance_id=name)
    assert runtime.wait_for_idle(timeout=10.0)
    assert client_call(runtime, "job-", "list").json() == {"ids": ["job-a", "job-b"]}


def test_check_status_response_links_use_the_callers_origin(runtime: LocalRuntime) -> None:
    response = httpx.post(
        f"{runtime.base_url}/api/orchestrators/sequence", json=["y"], headers={"Host": "example.test:8080"}
    )
    assert response.status_code == 202
    assert response.json()["statusQueryGetUri"].startswith(
        "http://example.test:8080/runtime/webhooks/durabletask/"
    )
