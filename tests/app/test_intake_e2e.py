"""The queue and Event Grid paths end to end, against a real Azurite and the sandbox.

The queue trigger reads `migration-requests` (base64 messages, as the Functions host does); a plan
that cannot run goes straight to `migration-requests-poison` with its reason logged. The Event Grid
trigger takes custom `MigrationRequested` events (both schemas) and Blob Created events for plan
files in the `plans` container, read from Azurite's blob service with the AzureWebJobsStorage
connection (in Azure: the app's managed identity, see shared/intake.py).
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient

from tests.app.conftest import Factory, Stack, plan, scenario
from tests.azurite import azurite

pytestmark = pytest.mark.azurite

SAME = "weu-consolidation"
NOTIFY = {"aeg-event-type": "Notification"}


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[str]:
    with azurite(tmp_path / "azurite", ("blob", "queue")) as connection:
        yield connection


@pytest.fixture
def world(stack_factory: Factory, storage: str) -> Iterator[Stack]:
    with stack_factory(scenario("same-region"), settings={"AzureWebJobsStorage": storage}) as stack:
        yield stack


def as_json(data: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(json.dumps(data, default=str)))


def queue(connection: str, name: str) -> QueueClient:
    client = QueueClient.from_connection_string(connection, name)
    with contextlib.suppress(ResourceExistsError):
        client.create_queue()
    return client


def put(connection: str, text: str) -> None:
    queue(connection, "migration-requests").send_message(base64.b64encode(text.encode()).decode())


def eventually(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.1)


def started(stack: Stack, plan_id: str) -> bool:
    return stack.get(f"migrations/{plan_id}").status_code != 404


def webhook(stack: Stack) -> str:
    return f"{stack.runtime.base_url}/runtime/webhooks/EventGrid?functionName=eventgrid_intake"


# --- the queue -----------------------------------------------------------------------------------------


def test_a_queued_plan_is_prepared_and_a_duplicate_message_is_idempotent(
    world: Stack, storage: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hcx_conductor.api")
    text = yaml.safe_dump(plan("same-region"))
    put(storage, text)
    put(storage, text)
    eventually(lambda: started(world, SAME))
    view = world.finished(SAME)
    eventually(
        lambda: queue(storage, "migration-requests").get_queue_properties().approximate_message_count == 0
    )
    world.settle()
    assert view["phase"] == "completed"
    assert world.get("migrations").json()["count"] == 1
    assert world.requests("hcx:source")["POST /hybridity/api/cloudConfigs"] == 2  # untrusted, then paired
    # The second message found the first's instance (before or after its first episode).
    assert re.search(r"is already \w+: nothing started|existing from queue", caplog.text)


def test_an_invalid_queued_plan_goes_to_poison_with_its_reason_logged_and_reaches_nothing(
    world: Stack, storage: str, caplog: pytest.LogCaptureFixture
) -> None:
    data = plan("same-region")
    data["waves"][1]["vms"] = ["ops-jump-01"]
    text = json.dumps(data, default=str)
    put(storage, text)
    poison = queue(storage, "migration-requests-poison")
    eventually(lambda: poison.get_queue_properties().approximate_message_count == 1)
    [message] = poison.receive_messages()
    assert base64.b64decode(message.content).decode() == text
    assert "/waves/1/vms/0" in caplog.text
    world.settle()
    assert world.get("migrations").json()["count"] == 0
    assert world.all_requests() == {}


# --- Event Grid -----------------------------------------------------------------------------------


def test_a_migration_requested_event_in_the_event_grid_schema_starts_the_migration(world: Stack) -> None:
    event = {
        "id": "req-1",
        "topic": "/subscriptions/x/resourceGroups/ops/providers/Microsoft.EventGrid/topics/requests",
        "subject": "requests/weu",
        "eventType": "MigrationRequested",
        "eventTime": "2026-01-05T09:00:00Z",
        "data": as_json(plan("same-region")),
        "dataVersion": "1.0",
    }
    response = httpx.post(webhook(world), json=[event], headers=NOTIFY, timeout=60)
    assert response.status_code == 202
    assert world.finished(SAME)["phase"] == "completed"


def test_a_migration_requested_cloudevent_starts_the_migration(world: Stack) -> None:
    event = {
        "specversion": "1.0",
        "id": "req-2",
        "source": "/ops/requests",
        "type": "Contoso.Ops.MigrationRequested",
        "subject": "requests/weu",
        "time": "2026-01-05T09:00:00Z",
        "data": {"plan": as_json(plan("same-region"))},
    }
    response = httpx.post(webhook(world), json=event, headers=NOTIFY, timeout=60)
    assert response.status_code == 202
    assert world.finished(SAME)["phase"] == "completed"


def test_an_invalid_plan_in_an_event_is_logged_naming_the_field_and_reaches_nothing(
    world: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    data = as_json(plan("same-region"))
    data["source"] = "not-an-arm-id"
    event = {
        "specversion": "1.0",
        "id": "req-3",
        "source": "/ops",
        "type": "MigrationRequested",
        "data": data,
    }
    response = httpx.post(webhook(world), json=event, headers=NOTIFY, timeout=60)
    assert response.status_code == 202  # handled: a retry would fail the same way
    assert "invalid plan, not started: /source:" in caplog.text
    world.settle()
    assert world.get("migrations").json()["count"] == 0
    assert world.all_requests() == {}


def test_a_plan_file_dropped_in_the_plans_container_is_read_and_prepared(world: Stack, storage: str) -> None:
    service = BlobServiceClient.from_connection_string(storage)
    container = service.get_container_client("plans")
    container.create_container()
    blob = container.upload_blob("2026/weu.yaml", yaml.safe_dump(plan("same-region")).encode())
    event = {
        "id": "blob-1",
        "topic": "/subscriptions/x/resourceGroups/app/providers/Microsoft.Storage/storageAccounts/st",
        "subject": "/blobServices/default/containers/plans/blobs/2026/weu.yaml",
        "eventType": "Microsoft.Storage.BlobCreated",
        "eventTime": "2026-01-05T09:00:00Z",
        "data": {
            "api": "PutBlob",
            "contentType": "application/octet-stream",
            "url": blob.url,
            "blobType": "BlockBlob",
        },
        "dataVersion": "",
    }
    response = httpx.post(webhook(world), json=[event], headers=NOTIFY, timeout=60)
    assert response.status_code == 202
    view = world.finished(SAME)
    assert view["phase"] == "completed"


def test_blobs_outside_the_plans_container_are_ignored(
    world: Stack, storage: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hcx_conductor.api")
    service = BlobServiceClient.from_connection_string(storage)
    container = service.get_container_client("other")
    container.create_container()
    blob = container.upload_blob("weu.yaml", yaml.safe_dump(plan("same-region")).encode())
    event = {
        "specversion": "1.0",
        "id": "blob-2",
        "source": "/st",
        "type": "Microsoft.Storage.BlobCreated",
        "data": {"url": blob.url},
    }
    assert httpx.post(webhook(world), json=event, headers=NOTIFY, timeout=60).status_code == 202
    assert "outside the 'plans' container" in caplog.text
    world.settle()
    assert world.get("migrations").json()["count"] == 0
