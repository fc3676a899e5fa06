"""CloudEvents the app emits, and their delivery: an Event Grid topic, the plan's webhooks, or the log.

Events are CloudEvents 1.0 as plain JSON dicts (so they can travel through Durable history), typed
`HcxConductor.<Name>` (`TYPES`), with source `/hcx-conductor` and subject
`migrations/{id}[/waves/{wave}[/vms/{vm}]]`. Orchestrators build them with the helpers below, giving
each a deterministic id from `context.new_uuid()` and the orchestration time, so a replayed or re-run
activity sends the same event again and a subscriber can drop the duplicate by id.

`deliver(events, ...)` sends one batch:

* to `EVENTGRID_TOPIC_ENDPOINT` and to the plan's `notifications.event_grid_topic`, with
  azure-eventgrid's `EventGridPublisherClient` authenticated by the app's identity (managed identity
  in Azure, `DefaultAzureCredential` on a workstation) — Event Grid Data Sender on the topic;
* to each of the plan's webhooks, whose URL lives in an app setting (it usually embeds a signature),
  as a CloudEvents batch (`application/cloudevents-batch+json`) over verified TLS;
* to the log (logger `hcx_conductor.events`, one JSON line per event) when no topic is configured.

A destination that fails is logged (by name, never by URL) and reported in the result; delivery never
fails the migration. Events carry names, states and findings — never credentials. `EVENTS_CA_BUNDLE`
adds a CA for topics and webhooks (e.g. a TLS-inspecting proxy). This module depends on
azure-eventgrid, the standard library's urllib and `shared.tls`/`shared.findings`/`shared.identity`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.findings import Finding
from shared.identity import app_credential

__all__ = [
    "SOURCE",
    "TYPES",
    "Delivery",
    "cloud_event",
    "deliver",
    "finding_raised",
    "migration_completed",
    "migration_failed",
    "phase_changed",
    "subject",
]

log = logging.getLogger("hcx_conductor.events")

SOURCE = "/hcx-conductor"
PREFIX = "HcxConductor."
# Every type the app emits (docs/api.md "Events"); the wave engine emits the wave and VM ones.
TYPES = frozenset(
    PREFIX + name
    for name in (
        "MigrationPhaseChanged",
        "FindingRaised",
        "WaveStarted",
        "WaveCompleted",
        "VmMigrated",
        "VmFailed",
        "ApprovalNeeded",
        "MigrationCompleted",
        "MigrationFailed",
    )
)
WEBHOOK_TIMEOUT = 15.0


def subject(plan_id: str, wave: str | None = None, vm: str | None = None) -> str:
    """`migrations/{id}[/waves/{wave}[/vms/{vm}]]`."""
    text = f"migrations/{plan_id}"
    if wave is not None:
        text += f"/waves/{wave}"
        if vm is not None:
            text += f"/vms/{vm}"
    return text


def cloud_event(
    name: str,
    plan_id: str,
    *,
    event_id: str,
    time: datetime,
    data: Mapping[str, Any],
    wave: str | None = None,
    vm: str | None = None,
) -> dict[str, Any]:
    """One CloudEvents 1.0 event as JSON; `name` without the prefix, e.g. "MigrationPhaseChanged"."""
    kind = name if name.startswith(PREFIX) else PREFIX + name
    if kind not in TYPES:
        raise ValueError(f"unknown event type {kind!r}: add it to shared.events.TYPES and docs/api.md")
    body: dict[str, Any] = {"migration_id": plan_id}
    if wave is not None:
        body["wave"] = wave
    if vm is not None:
        body["vm"] = vm
    body.update(data)
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": SOURCE,
        "type": kind,
        "subject": subject(plan_id, wave, vm),
        "time": time.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": body,
    }


def phase_changed(
    plan_id: str, phase: str, previous: str | None, *, event_id: str, time: datetime, detail: str = ""
) -> dict[str, Any]:
    data: dict[str, Any] = {"phase": phase, "previous_phase": previous}
    if detail:
        data["detail"] = detail
    return cloud_event("MigrationPhaseChanged", plan_id, event_id=event_id, time=time, data=data)


def finding_raised(plan_id: str, found: Finding, *, event_id: str, time: datetime) -> dict[str, Any]:
    return cloud_event(
        "FindingRaised",
        plan_id,
        event_id=event_id,
        time=time,
        data={"finding": found.model_dump(mode="json")},
    )


def migration_failed(
    plan_id: str, phase: str, reason: str, codes: Sequence[str], *, event_id: str, time: datetime
) -> dict[str, Any]:
    data = {"phase": phase, "reason": reason, "finding_codes": list(codes)}
    return cloud_event("MigrationFailed", plan_id, event_id=event_id, time=time, data=data)


def migration_completed(
    plan_id: str, phase: str, summary: Mapping[str, Any], *, event_id: str, time: datetime
) -> dict[str, Any]:
    return cloud_event(
        "MigrationCompleted", plan_id, event_id=event_id, time=time, data={"phase": phase, **summary}
    )


# --- delivery --------------------------------------------------------------------------------------


@dataclass
class Delivery:
    """What `deliver` did: destinations reached (by name) and those that failed."""

    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    logged: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"sent": self.sent, "failed": self.failed, "logged": self.logged}


def _ca_bundle(environ: Mapping[str, str]) -> str | None:
    return environ.get("EVENTS_CA_BUNDLE", "").strip() or None


def _send_to_topic(endpoint: str, events: list[dict[str, Any]], credential: Any, ca: str | None) -> None:
    from azure.core.messaging import CloudEvent
    from azure.eventgrid import EventGridPublisherClient

    from shared.tls import combined_ca_bundle

    client = EventGridPublisherClient(endpoint, credential)
    with client:
        # azure-eventgrid 4.22 drops constructor options for Event Grid topics (only namespaces get
        # them), so the CA bundle goes with the request, where the transport honours it.
        client.send([CloudEvent.from_dict(e) for e in events], connection_verify=combined_ca_bundle(ca))


def _send_to_webhook(url: str, events: list[dict[str, Any]], ca: str | None) -> None:
    # urllib, not httpx: httpx logs every request URL at INFO, and a webhook URL carries its signature.
    from urllib.request import Request, urlopen

    from shared.tls import default_context

    if not url.startswith("https://"):
        raise ValueError("webhooks are https only")
    request = Request(  # noqa: S310 - the scheme is checked above
        url,
        data=json.dumps(events).encode("utf-8"),
        headers={"Content-Type": "application/cloudevents-batch+json; charset=utf-8"},
        method="POST",
    )
    with urlopen(request, timeout=WEBHOOK_TIMEOUT, context=default_context(ca)) as response:  # noqa: S310
        if response.status >= 300:
            raise OSError(f"the webhook answered HTTP {response.status}")


def deliver(
    events: list[dict[str, Any]],
    *,
    plan_topic: str | None = None,
    webhooks: Sequence[Mapping[str, str]] = (),
    environ: Mapping[str, str] | None = None,
    credential: Any = None,
) -> Delivery:
    """Send `events` to every configured destination; never raises for a destination's failure.

    `webhooks` are the plan's `{"name", "url_setting"}` entries; `credential` overrides the identity
    (tests). Destinations are named in logs and in the result as "topic:<host>" / "webhook:<name>".
    """
    env = os.environ if environ is None else environ
    result = Delivery()
    if not events:
        return result
    ca = _ca_bundle(env)
    topics = [t for t in (env.get("EVENTGRID_TOPIC_ENDPOINT", "").strip() or None, plan_topic) if t]
    for endpoint in dict.fromkeys(topics):
        name = "topic:" + (endpoint.split("/")[2] if "//" in endpoint else endpoint)
        try:
            _send_to_topic(endpoint, events, credential or app_credential(env), ca)
        except Exception as exc:  # a notification never stops a migration
            log.warning("could not send %d event(s) to %s: %s", len(events), name, type(exc).__name__)
            result.failed.append(name)
        else:
            result.sent.append(name)
    for hook in webhooks:
        name = f"webhook:{hook.get('name')}"
        setting = str(hook.get("url_setting") or "")
        url = env.get(setting, "").strip()
        if not url.startswith("https://"):
            log.warning("%s: app setting %s is missing or not an https URL; not sent", name, setting)
            result.failed.append(name)
            continue
        try:
            _send_to_webhook(url, events, ca)
        except Exception as exc:  # the URL carries a signature: name the webhook, never the URL
            log.warning("could not send %d event(s) to %s: %s", len(events), name, type(exc).__name__)
            result.failed.append(name)
        else:
            result.sent.append(name)
    if not topics:
        for event in events:
            log.info("event %s", json.dumps(event, sort_keys=True))
            result.logged += 1
    return result
