"""Event Grid webhook: validation handshakes and deliveries in both schemas, single and batched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtime import LocalRuntime
from tests.apps.triggers_app import build_app


@pytest.fixture
def inbox() -> list[Any]:
    return []


@pytest.fixture
def webhook(tmp_path: Path, inbox: list[Any]) -> Iterator[str]:
    with LocalRuntime(build_app(inbox), tmp_path / "s.sqlite") as rt:
        yield f"{rt.base_url}/runtime/webhooks/EventGrid?functionName=on_event"


def eventgrid_event(event_id: str, data: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "topic": "/subscriptions/x/resourceGroups/rg",
        "subject": "migrations/wave-1",
        "eventType": "HcxConductor.WaveCompleted",
        "eventTime": "2026-01-05T09:00:00Z",
        "data": data,
        "dataVersion": "1.0",
    }


def cloud_event(event_id: str, data: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "/hcx-conductor",
        "type": "HcxConductor.WaveCompleted",
        "time": "2026-01-05T09:00:00Z",
        "subject": "wave-1",
        "data": data,
    }


NOTIFY = {"aeg-event-type": "Notification"}


def test_event_grid_subscription_validation_echoes_the_code(webhook: str) -> None:
    validation = [
        {
            "id": "v1",
            "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
            "subject": "",
            "eventTime": "2026-01-05T09:00:00Z",
            "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},
            "dataVersion": "1",
        }
    ]
    response = httpx.post(webhook, json=validation, headers={"aeg-event-type": "SubscriptionValidation"})
    assert response.status_code == 200
    assert response.json() == {"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}


def test_cloudevents_validation_handshake_answers_the_allowed_origin(webhook: str) -> None:
    response = httpx.options(webhook, headers={"WebHook-Request-Origin": "eventgrid.azure.net"})
    assert response.status_code == 200
    assert response.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"


def test_batched_event_grid_events_call_the_function_once_each(webhook: str, inbox: list[Any]) -> None:
    events = [eventgrid_event("e1", {"wave": 1}), eventgrid_event("e2", {"wave": 2})]
    response = httpx.post(webhook, json=events, headers=NOTIFY)
    assert response.status_code == 202
    assert sorted(inbox) == [
        ("eventgrid", "EventGridEvent", "e1", {"wave": 1}),
        ("eventgrid", "EventGridEvent", "e2", {"wave": 2}),
    ]


def test_single_cloudevent_is_delivered_as_a_cloudevent(webhook: str, inbox: list[Any]) -> None:
    response = httpx.post(
        webhook,
        json=cloud_event("c1", {"wave": 3}),
        headers={**NOTIFY, "Content-Type": "application/cloudevents+json"},
    )
    assert response.status_code == 202
    assert inbox == [("eventgrid", "CloudEvent", "c1", {"wave": 3})]


def test_batched_cloudevents(webhook: str, inbox: list[Any]) -> None:
    response = httpx.post(webhook, json=[cloud_event("c2", 1), cloud_event("c3", 2)], headers=NOTIFY)
    assert response.status_code == 202
    assert sorted(item[2] for item in inbox) == ["c2", "c3"]


def test_a_failing_function_answers_500_so_event_grid_retries(webhook: str) -> None:
    response = httpx.post(webhook, json=[eventgrid_event("e3", {"please": "fail"})], headers=NOTIFY)
    assert response.status_code == 500


def test_bad_requests_are_4xx(webhook: str, inbox: list[Any]) -> None:
    base = webhook.split("?")[0]
    assert httpx.post(f"{base}?functionName=nope", json=[], headers=NOTIFY).status_code == 404
    assert httpx.post(webhook, json=[eventgrid_event("e4", 1)]).status_code == 400  # no aeg-event-type
    bad_json = httpx.post(webhook, content=b"[{", headers={**NOTIFY, "Content-Type": "application/json"})
    assert bad_json.status_code == 400
    missing = {k: v for k, v in eventgrid_event("e5", 1).items() if k != "eventType"}
    response = httpx.post(webhook, json=[missing], headers=NOTIFY)
    assert response.status_code == 400
    assert "eventType" in response.json()["Message"]
    assert httpx.post(webhook, json=[], headers={"aeg-event-type": "Unsubscribe"}).status_code == 202
    assert inbox == []
