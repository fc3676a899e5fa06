"""Queue triggers against a real Azurite: decoding, dequeue counts, poison queue, output bindings."""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient

from runtime import LocalRuntime
from tests.apps.triggers_app import build_app
from tests.azurite import azurite

pytestmark = pytest.mark.azurite

FAST_QUEUES = {"extensions": {"queues": {"maxPollingInterval": "00:00:00.200", "maxDequeueCount": 5}}}


@pytest.fixture
def connection(tmp_path: Path) -> Iterator[str]:
    with azurite(tmp_path / "azurite", ("queue",)) as connection_string:
        yield connection_string


@pytest.fixture
def inbox() -> list[Any]:
    return []


def queue(connection: str, name: str) -> QueueClient:
    client = QueueClient.from_connection_string(connection, name)
    with contextlib.suppress(ResourceExistsError):
        client.create_queue()
    return client


def serve(tmp_path: Path, inbox: list[Any], connection: str, host_json: dict[str, Any]) -> LocalRuntime:
    return LocalRuntime(
        build_app(inbox),
        tmp_path / "s.sqlite",
        settings={"AzureWebJobsStorage": connection},
        host_json=host_json,
    )


def eventually(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.05)


def test_base64_message_is_decoded_and_deleted_after_success(
    tmp_path: Path, inbox: list[Any], connection: str
) -> None:
    orders = queue(connection, "orders")
    with serve(tmp_path, inbox, connection, FAST_QUEUES):
        orders.send_message(base64.b64encode(b'{"order": 1}').decode())
        eventually(lambda: len(inbox) == 1)
        kind, text, dequeue_count, message_id = inbox[0]
        assert (kind, text, dequeue_count) == ("queue", '{"order": 1}', 1)
        assert message_id
        eventually(lambda: orders.get_queue_properties().approximate_message_count == 0)


def test_failing_message_is_retried_then_moved_to_the_poison_queue(
    tmp_path: Path, inbox: list[Any], connection: str
) -> None:
    orders = queue(connection, "orders")
    poison = QueueClient.from_connection_string(connection, "orders-poison")
    with serve(tmp_path, inbox, connection, FAST_QUEUES):
        orders.send_message(base64.b64encode(b"please fail").decode())
        eventually(lambda: _count(poison) == 1)
        assert [count for _, _, count, _ in inbox] == [1, 2, 3, 4, 5]
        (message,) = list(poison.peek_messages())
        assert base64.b64decode(message.content) == b"please fail"
        assert orders.get_queue_properties().approximate_message_count == 0


def test_message_that_is_not_base64_goes_straight_to_poison(
    tmp_path: Path, inbox: list[Any], connection: str
) -> None:
    orders = queue(connection, "orders")
    poison = QueueClient.from_connection_string(connection, "orders-poison")
    with serve(tmp_path, inbox, connection, FAST_QUEUES):
        orders.send_message("plain text, not base64!")
        eventually(lambda: _count(poison) == 1)
        assert inbox == []


def test_message_encoding_none_delivers_the_text_as_is(
    tmp_path: Path, inbox: list[Any], connection: str
) -> None:
    orders = queue(connection, "orders")
    settings = {"extensions": {"queues": {"maxPollingInterval": "00:00:00.200", "messageEncoding": "none"}}}
    with serve(tmp_path, inbox, connection, settings):
        orders.send_message("raw text")
        eventually(lambda: len(inbox) == 1)
        assert inbox[0][1] == "raw text"


def test_queue_output_binding_feeds_the_queue_trigger(
    tmp_path: Path, inbox: list[Any], connection: str
) -> None:
    with serve(tmp_path, inbox, connection, FAST_QUEUES) as rt:
        response = httpx.post(f"{rt.base_url}/api/enqueue", content=b"from http")
        assert response.status_code == 202
        eventually(lambda: len(inbox) == 1)
        assert inbox[0][1] == "from http"


def _count(client: QueueClient) -> int:
    try:
        return int(client.get_queue_properties().approximate_message_count)
    except Exception:
        return 0
