"""The Event Grid webhook: `/runtime/webhooks/EventGrid?functionName=<name>`.

Behaviour of the Event Grid extension's `HttpRequestProcessor`: header `aeg-event-type` selects the
subscription-validation handshake (answered `{"validationResponse": code}`), `Notification` (one
function call per event, in parallel; any failure answers 500 so Event Grid retries, otherwise 202)
or `Unsubscribe` (202); anything else is 400. CloudEvents subscriptions validate with an `OPTIONS`
request answered with `WebHook-Allowed-Origin`. Events may be sent one (a JSON object) or batched (a
JSON array), in the Event Grid schema or CloudEvents 1.0 (structured mode). Each event is decoded by
the real `EventGridEventInConverter`, which returns a `func.EventGridEvent` or `func.CloudEvent`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import Executor
from typing import Any

from aiohttp import web
from azure.functions import meta
from azure.functions.eventgrid import EventGridEventInConverter

from runtime.engine import Engine
from runtime.errors import BadRequest, NotFound
from runtime.functions import FunctionIndex
from runtime.http.auth import Keys
from runtime.invoke import Invoker

__all__ = ["EventGridWebhook"]

log = logging.getLogger("runtime.eventgrid")

_EVENTGRID_FIELDS = ("id", "eventType", "subject", "eventTime", "data", "dataVersion")
_CLOUDEVENT_FIELDS = ("id", "source", "type", "specversion")
_ORIGINS = (
    "eventgrid.azure.net",
    "eventgrid.azure.us",
    "eventgrid.azure.eaglex.ic.gov",
    "eventgrid.azure.microsoft.scloud",
    "eventgrid.azure.cn",
)


def _check_event(event: Any, position: int) -> None:
    if not isinstance(event, dict):
        raise BadRequest(f"event {position}: expected a JSON object")
    required = _CLOUDEVENT_FIELDS if "specversion" in event else _EVENTGRID_FIELDS
    missing = [name for name in required if name not in event]
    if missing:
        schema = "CloudEvents 1.0" if "specversion" in event else "Event Grid"
        raise BadRequest(f"event {position}: {schema} schema field {missing[0]!r} is missing")


class EventGridWebhook:
    def __init__(
        self, functions: FunctionIndex, invoker: Invoker, engine: Engine, keys: Keys, pool: Executor
    ):
        self.functions = functions
        self.invoker = invoker
        self.engine = engine
        self.keys = keys
        self.pool = pool

    async def handle(self, request: web.Request) -> web.Response:
        name = request.query.get("functionName", "")
        spec = self.functions.event_grid.get(name)
        if spec is None:
            raise NotFound(f"cannot find function: '{name}'")
        self.keys.check_system("eventgrid", Keys.presented(request.query, request.headers))
        if request.method == "OPTIONS":
            origin = request.headers.get("WebHook-Request-Origin", "")
            allowed = origin if origin in _ORIGINS else _ORIGINS[0]
            return web.Response(status=200, headers={"WebHook-Allowed-Origin": allowed})
        if request.method != "POST":
            raise NotFound(f"the Event Grid webhook does not serve {request.method}")
        kind = request.headers.get("aeg-event-type", "").lower()
        if kind == "unsubscribe":
            return web.Response(status=202)
        if kind not in ("subscriptionvalidation", "notification"):
            raise BadRequest(
                "header aeg-event-type must be SubscriptionValidation, Notification or Unsubscribe"
            )
        try:
            payload = json.loads(await request.text())
        except ValueError as exc:
            raise BadRequest(f"the body is not JSON: {exc}") from exc
        if kind == "subscriptionvalidation":
            return web.json_response({"validationResponse": _validation_code(payload)})
        events = payload if isinstance(payload, list) else [payload]
        for position, event in enumerate(events):
            _check_event(event, position)
        with self.engine.busy():
            results = await asyncio.gather(
                *(self._invoke(spec, event) for event in events), return_exceptions=True
            )
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            return web.Response(status=500, text=f"{type(failures[0]).__name__}: {failures[0]}")
        return web.Response(status=202)

    async def _invoke(self, spec: Any, event: dict[str, Any]) -> None:
        value = EventGridEventInConverter.decode(meta.Datum(json.dumps(event), "json"), trigger_metadata={})
        try:
            await self.invoker.call_async(spec, value, self.pool)
        except Exception:
            log.exception("Executed 'Functions.%s' (Failed) for event %s", spec.name, event.get("id"))
            raise


def _validation_code(payload: Any) -> str:
    try:
        if isinstance(payload, list):
            return str(payload[0]["data"]["validationCode"])
        data = payload["data"]
        # The data is double-encoded in the CloudEvent subscription event.
        if isinstance(data, str):
            data = json.loads(data)
        return str(data["validationCode"])
    except (LookupError, TypeError, ValueError) as exc:
        raise BadRequest("subscription validation event has no data.validationCode") from exc
