"""Azure Storage queue triggers and queue output bindings, through `azure-storage-queue`.

The listener does what the Functions queue extension (5.x) does, with host.json `extensions.queues`:

* polls each trigger queue of the app, backing off exponentially from 100 ms to
  `maxPollingInterval` while the queue is empty, receiving `batchSize` messages at a time;
* decodes each message as `messageEncoding` says (base64 by default); a message that is not valid
  base64 goes straight to the poison queue, as the extension's decoding-failure handler does;
* calls the function with a real `func.QueueMessage` (the real `QueueMessageInConverter`), or with the
  text/bytes when its parameter is annotated `str`/`bytes`;
* deletes the message on success; on failure makes it visible again after `visibilityTimeout`, and once
  it has been dequeued `maxDequeueCount` times moves it to `<queue>-poison` (created on demand).

The connection comes from the binding's `connection` app setting (default `AzureWebJobsStorage`);
`UseDevelopmentStorage=true` means Azurite on its default ports. Output bindings of type `queue` are
sent the same way (the queue is created if missing, as the extension does).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import inspect
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.functions import meta
from azure.functions.queue import QueueMessageInConverter
from azure.storage.queue import QueueClient, QueueMessage

from runtime.engine import Engine
from runtime.errors import ConfigError
from runtime.functions import FunctionSpec
from runtime.invoke import Invoker
from runtime.settings import QueueSettings, storage_connection

__all__ = ["QueueListener", "QueueSender"]

log = logging.getLogger("runtime.queues")

_MIN_POLL = 0.1


def _client(connection_setting: str, queue: str) -> QueueClient:
    return QueueClient.from_connection_string(storage_connection(connection_setting), queue)


def _encode(body: bytes, encoding: str) -> str:
    return base64.b64encode(body).decode("ascii") if encoding == "base64" else body.decode("utf-8")


class QueueSender:
    """The `OutputSink` for queue output bindings."""

    def __init__(self, settings: QueueSettings, on_sent: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self._on_sent = on_sent

    def deliver(self, function: str, binding: dict[str, Any], value: Any) -> None:
        if binding.get("type") != "queue":
            log.warning(
                "function %s set output binding %s of type %s, which the local runtime does not deliver",
                function,
                binding.get("name"),
                binding.get("type"),
            )
            return
        queue = str(binding["queueName"])
        client = _client(str(binding.get("connection") or "AzureWebJobsStorage"), queue)
        with contextlib.suppress(ResourceExistsError):
            client.create_queue()
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            if hasattr(item, "get_body"):
                item = item.get_body()
            body = item if isinstance(item, bytes) else str(item).encode("utf-8")
            client.send_message(_encode(body, self.settings.message_encoding))
        if self._on_sent is not None:
            self._on_sent(queue)


class _Poller:
    """One trigger function's queue."""

    def __init__(self, spec: FunctionSpec, settings: QueueSettings, invoker: Invoker, engine: Engine) -> None:
        self.spec = spec
        self.settings = settings
        self.invoker = invoker
        self.engine = engine
        trigger = spec.trigger
        self.queue = str(trigger["queueName"])
        self.connection = str(trigger.get("connection") or "AzureWebJobsStorage")
        self.client = _client(self.connection, self.queue)
        self.poison = _client(self.connection, f"{self.queue}-poison")
        self.wake = threading.Event()
        self.annotation = _annotation(spec.user_function, str(trigger["name"]))

    def run(self, stopping: threading.Event) -> None:
        delay = _MIN_POLL
        maximum = max(_MIN_POLL, self.settings.max_polling_interval.total_seconds())
        pool = ThreadPoolExecutor(
            max_workers=self.settings.batch_size, thread_name_prefix=f"queue-{self.queue}"
        )
        try:
            while not stopping.is_set():
                try:
                    messages = list(
                        self.client.receive_messages(
                            messages_per_page=self.settings.batch_size,
                            max_messages=self.settings.batch_size,
                            visibility_timeout=600,
                        )
                    )
                except ResourceNotFoundError:
                    messages = []
                except Exception as exc:
                    log.warning("queue %s: cannot receive messages (%s)", self.queue, type(exc).__name__)
                    messages = []
                if messages:
                    delay = _MIN_POLL
                    with self.engine.busy():
                        list(pool.map(self.process, messages))
                    continue
                self.wake.wait(delay)
                self.wake.clear()
                delay = min(delay * 2, maximum)
        finally:
            pool.shutdown(wait=True)

    def process(self, message: QueueMessage) -> None:
        raw = message.content if isinstance(message.content, str) else bytes(message.content).decode("utf-8")
        count = int(message.dequeue_count or 1)
        if count > self.settings.max_dequeue_count:
            self._to_poison(message, raw, "dequeue count already over maxDequeueCount")
            return
        if self.settings.message_encoding == "base64":
            try:
                body = base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                self._to_poison(message, raw, "not valid base64 (host.json messageEncoding is base64)")
                return
        else:
            body = raw.encode("utf-8")
        try:
            self.invoker.call(self.spec, self._argument(message, body, count))
        except Exception:
            log.exception("Executed 'Functions.%s' (Failed) for message %s", self.spec.name, message.id)
            if count >= self.settings.max_dequeue_count:
                self._to_poison(message, raw, f"failed {count} times")
            else:
                self.client.update_message(
                    message, visibility_timeout=int(self.settings.visibility_timeout.total_seconds())
                )
            return
        self.client.delete_message(message)

    def _argument(self, message: QueueMessage, body: bytes, count: int) -> Any:
        if self.annotation is str:
            return body.decode("utf-8")
        if self.annotation is bytes:
            return body
        try:
            datum = meta.Datum(body.decode("utf-8"), "string")
        except UnicodeDecodeError:
            datum = meta.Datum(body, "bytes")
        fields = {
            "Id": message.id,
            "ExpirationTime": _iso(message.expires_on),
            "InsertionTime": _iso(message.inserted_on),
            "NextVisibleTime": _iso(message.next_visible_on),
            "PopReceipt": message.pop_receipt,
        }
        metadata = {name: meta.Datum(value, "string") for name, value in fields.items() if value is not None}
        metadata["DequeueCount"] = meta.Datum(count, "int")
        return QueueMessageInConverter.decode(datum, trigger_metadata=metadata)

    def _to_poison(self, message: QueueMessage, raw: str, why: str) -> None:
        log.warning("queue %s: moving message %s to %s-poison: %s", self.queue, message.id, self.queue, why)
        with contextlib.suppress(ResourceExistsError):
            self.poison.create_queue()
        self.poison.send_message(raw)
        self.client.delete_message(message)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _annotation(function: Callable[..., Any], parameter: str) -> Any:
    try:
        return inspect.signature(function).parameters[parameter].annotation
    except (KeyError, TypeError, ValueError):
        return None


class QueueListener:
    """Polls every queue trigger of the app until stopped."""

    def __init__(
        self, specs: list[FunctionSpec], settings: QueueSettings, invoker: Invoker, engine: Engine
    ) -> None:
        self.pollers: list[_Poller] = []
        for spec in specs:
            try:
                self.pollers.append(_Poller(spec, settings, invoker, engine))
            except (ConfigError, ValueError) as exc:
                # As the host does, one misconfigured function is reported and the others still run.
                log.error("queue trigger %s is disabled: %s", spec.name, exc)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for poller in self.pollers:
            thread = threading.Thread(
                target=poller.run, args=(self._stopping,), name=f"runtime-queue-{poller.queue}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def message_sent(self, queue: str) -> None:
        """An output binding wrote to `queue`: poll it now (the host's SharedQueueWatcher)."""
        for poller in self.pollers:
            if poller.queue == queue:
                poller.wake.set()

    def stop(self) -> None:
        self._stopping.set()
        for poller in self.pollers:
            poller.wake.set()
        for thread in self._threads:
            thread.join(15)
