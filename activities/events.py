"""The events activity: deliver a batch of CloudEvents built by an orchestrator.

`emit_events({"events": [...], "plan_topic": url|None, "webhooks": [{"name", "url_setting"}]})`
hands the batch to `shared.events.deliver` (Event Grid topics with the app's identity, the plan's
webhooks, else the log) and returns what was sent. Event ids were fixed by the orchestrator
(`context.new_uuid()`), so a re-run of this activity re-sends the same ids and subscribers can drop
duplicates. A notification that fails is logged and reported, never raised: events never stop a
migration. This module depends on `shared.events`.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df
from pydantic import BaseModel, ConfigDict, Field

from shared.events import deliver

__all__ = ["EmitRequest", "bp"]

bp = df.Blueprint()


class EmitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    events: list[dict[str, Any]]
    plan_topic: str | None = None
    webhooks: list[dict[str, str]] = Field(default_factory=list)


@bp.activity_trigger(input_name="payload")
def emit_events(payload: dict[str, Any]) -> dict[str, Any]:
    request = EmitRequest.model_validate(payload)
    return deliver(request.events, plan_topic=request.plan_topic, webhooks=request.webhooks).to_json()
