"""The URLs the runtime hands out: management links and the Durable client binding (durable.md §8.1).

The client binding is the JSON the host passes to a `durable_client_input` parameter; the SDK's own
middleware turns it into the real `DurableOrchestrationClient`, which sends every operation to
`rpcBaseUrl` (the host's loopback RPC endpoint; here `/durabletask/` on the same server) and builds
check-status responses from `managementUrls` (the public webhook, with the request's origin swapped
in). When function keys are configured, management URLs carry the Durable extension's system key as
`code=`, as in Azure; it never appears in logs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

__all__ = ["DURABLE_RPC_PREFIX", "DURABLE_WEBHOOK_PREFIX", "EVENTGRID_WEBHOOK_PREFIX", "Urls"]

DURABLE_WEBHOOK_PREFIX = "/runtime/webhooks/durabletask"
DURABLE_RPC_PREFIX = "/durabletask"
EVENTGRID_WEBHOOK_PREFIX = "/runtime/webhooks/eventgrid"
_PLACEHOLDER = "INSTANCEID"


@dataclass(frozen=True)
class Urls:
    base_url: str  # http://host:port as clients reach the server
    rpc_base_url: str  # http://127.0.0.1:port, the loopback origin for the client binding
    hub_name: str
    durable_key: str | None = None

    @property
    def webhook_base(self) -> str:
        return self.base_url + DURABLE_WEBHOOK_PREFIX

    def _query(self, hub: str | None, connection: str | None) -> str:
        query = f"taskHub={quote(hub or self.hub_name)}&connection={quote(connection or 'Storage')}"
        if self.durable_key:
            query += f"&code={quote(self.durable_key)}"
        return query

    def management_payload(
        self,
        instance_id: str,
        *,
        origin: str | None = None,
        hub: str | None = None,
        connection: str | None = None,
    ) -> dict[str, str]:
        """The check-status payload of the HTTP start API (the extension's HttpManagementPayload)."""
        base = (origin or self.base_url) + DURABLE_WEBHOOK_PREFIX
        prefix = f"{base}/instances/{quote(instance_id, safe='')}"
        query = self._query(hub, connection)
        return {
            "id": instance_id,
            "statusQueryGetUri": f"{prefix}?{query}",
            "sendEventPostUri": f"{prefix}/raiseEvent/{{eventName}}?{query}",
            "terminatePostUri": f"{prefix}/terminate?reason={{text}}&{query}",
            "purgeHistoryDeleteUri": f"{prefix}?{query}",
            "restartPostUri": f"{prefix}/restart?{query}",
            "suspendPostUri": f"{prefix}/suspend?reason={{text}}&{query}",
            "resumePostUri": f"{prefix}/resume?reason={{text}}&{query}",
        }

    def client_binding(self, binding: dict[str, Any]) -> str:
        hub = binding.get("taskHub") or self.hub_name
        connection = binding.get("connectionName")
        query = self._query(hub, connection)
        prefix = f"{self.webhook_base}/instances/{_PLACEHOLDER}"
        management = {
            "id": _PLACEHOLDER,
            "statusQueryGetUri": f"{prefix}?{query}",
            "sendEventPostUri": f"{prefix}/raiseEvent/{{eventName}}?{query}",
            "terminatePostUri": f"{prefix}/terminate?reason={{text}}&{query}",
            "rewindPostUri": f"{prefix}/rewind?reason={{text}}&{query}",
            "purgeHistoryDeleteUri": f"{prefix}?{query}",
            "restartPostUri": f"{prefix}/restart?{query}",
            "suspendPostUri": f"{prefix}/suspend?reason={{text}}&{query}",
            "resumePostUri": f"{prefix}/resume?reason={{text}}&{query}",
        }
        code = f"code={quote(self.durable_key)}" if self.durable_key else ""
        creation = f"{self.webhook_base}/orchestrators/{{functionName}}[/{{instanceId}}]"
        return json.dumps(
            {
                "taskHubName": hub,
                "creationUrls": {
                    "createNewInstancePostUri": f"{creation}?{code}".rstrip("?"),
                    "createAndWaitOnNewInstancePostUri": (
                        f"{creation}?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}"
                        + (f"&{code}" if code else "")
                    ),
                },
                "managementUrls": management,
                "baseUrl": self.webhook_base,
                "requiredQueryStringParameters": code,
                "rpcBaseUrl": f"{self.rpc_base_url}{DURABLE_RPC_PREFIX}/",
            }
        )
