"""The ARM simulator's HTTP layer: read the path and body, make one backend call, render ARM's wire shape.

Also here: the rendering of ARM conventions that are HTTP rather than state: paging (`value` plus an
absolute `nextLink` carrying `$skiptoken`), long-running operation responses (avs-arm.md §6: PUT 201/200
+ `Azure-AsyncOperation` + `Retry-After: 1`; PATCH 201/202 + `Location`; DELETE 202 + both, or 204 when
there is nothing to delete; POST actions 202 + `Location`), and the two monitors those headers point at.
No business rule lives here. This module depends on aiohttp, the ARM backend and its request bodies.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel

from sandbox.avs.bodies import (
    AddonBody,
    AuthorizationBody,
    CloudLinkBody,
    ClusterBody,
    ClusterPatch,
    DatastoreBody,
    GlobalReachBody,
    PrivateCloudPatch,
    SegmentBody,
    parse_body,
)
from sandbox.avs.exceptions import BadRequest, SubscriptionNotFound
from sandbox.avs.models import ArmBackend, ArmResource, Operation

__all__ = ["ArmResponses"]

M = TypeVar("M", bound=BaseModel)
RETRY_AFTER = "1"


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, status=status, headers=headers)


class ArmResponses:
    def __init__(self, backend: ArmBackend, page_size: int = 50) -> None:
        if page_size < 1:
            raise ValueError("page_size: must be at least 1")
        self.backend = backend
        self.page_size = page_size

    def _wire(self, resource: ArmResource) -> dict[str, Any]:
        # Rendered under the world lock: a test thread may be changing the same resource.
        with self.backend.world.lock:
            return resource.to_wire()

    # -- request parsing ---------------------------------------------------------------------------

    def _subscription(self, request: web.Request) -> None:
        sub = request.match_info["subscription"]
        if sub.lower() != self.backend.subscription_id.lower():
            raise SubscriptionNotFound(f"The subscription '{sub}' could not be found.")

    def _pc(self, request: web.Request) -> tuple[str, str]:
        self._subscription(request)
        return request.match_info["resource_group"], request.match_info["cloud"]

    @staticmethod
    async def _body(request: web.Request, model: type[M]) -> M:
        raw = await request.read()
        try:
            data = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise BadRequest("the request body is not valid JSON") from None
        return parse_body(model, data)

    # -- ARM conventions ---------------------------------------------------------------------------

    def _page(self, request: web.Request, items: list[Any]) -> web.Response:
        token = request.query.get("$skiptoken", "0")
        if not token.isdigit():
            raise BadRequest("$skiptoken: not a token this service issued", target="$skiptoken")
        skip = int(token)
        with self.backend.world.lock:
            body: dict[str, Any] = {"value": [i.to_wire() for i in items[skip : skip + self.page_size]]}
        if skip + self.page_size < len(items):
            body["nextLink"] = str(request.url.update_query({"$skiptoken": str(skip + self.page_size)}))
        return _json(body)

    @staticmethod
    def _monitor(request: web.Request, op: Operation, kind: str) -> str:
        version = request.query.get("api-version", "")
        return (
            f"{request.url.origin()}/subscriptions/{op.subscription}/providers/Microsoft.AVS/locations/"
            f"{op.location}/{kind}/{op.id}?api-version={version}"
        )

    def _put(self, request: web.Request, result: tuple[ArmResource, Operation, bool]) -> web.Response:
        resource, op, created = result
        headers = {
            "Azure-AsyncOperation": self._monitor(request, op, "operationStatuses"),
            "Retry-After": RETRY_AFTER,
        }
        # inferred: 201 for a new resource, 200 for an update (avs-arm.md §6 shows 201 on create).
        return _json(self._wire(resource), 201 if created else 200, headers)

    def _patch(self, request: web.Request, op: Operation, status: int) -> web.Response:
        headers = {"Location": self._monitor(request, op, "operationResults"), "Retry-After": RETRY_AFTER}
        body = self.backend.operation_result(op.id) if status == 201 else None
        return (
            _json(body, status, headers) if body is not None else web.Response(status=status, headers=headers)
        )

    def _accepted(self, request: web.Request, op: Operation | None) -> web.Response:
        """DELETE and POST actions: 202 with both monitors, or 204 when nothing had to happen."""
        # inferred: which monitor headers the live service sends per operation (avs-arm.md §12);
        # azure-core reads either, so DELETE carries both.
        if op is None:
            return web.Response(status=204)
        headers = {
            "Location": self._monitor(request, op, "operationResults"),
            "Retry-After": RETRY_AFTER,
        }
        if op.kind == "delete":
            headers["Azure-AsyncOperation"] = self._monitor(request, op, "operationStatuses")
        return web.Response(status=202, headers=headers)

    async def operation_status(self, request: web.Request) -> web.Response:
        self._subscription(request)
        op = self.backend.get_operation(request.match_info["operation"])
        # Each poll says when to come back; without it azure-core falls back to its 30 s default.
        headers = None if op.done else {"Retry-After": RETRY_AFTER}
        return _json(op.to_status(), headers=headers)

    async def operation_result(self, request: web.Request) -> web.Response:
        self._subscription(request)
        op = self.backend.get_operation(request.match_info["operation"])
        if not op.done:
            headers = {"Location": str(request.url), "Retry-After": RETRY_AFTER}
            return web.Response(status=202, headers=headers)
        if op.error is not None:
            return _json(op.error.to_wire(), op.error.status)
        body = self.backend.operation_result(op.id)
        return _json(body) if body is not None else web.Response(status=204)

    # -- privateClouds -----------------------------------------------------------------------------

    async def list_private_clouds_in_subscription(self, request: web.Request) -> web.Response:
        self._subscription(request)
        return self._page(request, self.backend.list_private_clouds())

    async def list_private_clouds(self, request: web.Request) -> web.Response:
        self._subscription(request)
        return self._page(request, self.backend.list_private_clouds(request.match_info["resource_group"]))

    async def get_private_cloud(self, request: web.Request) -> web.Response:
        return _json(self._wire(self.backend.get_private_cloud(*self._pc(request))))

    async def update_private_cloud(self, request: web.Request) -> web.Response:
        body = await self._body(request, PrivateCloudPatch)
        return self._patch(request, self.backend.update_private_cloud(*self._pc(request), body), 201)

    async def list_admin_credentials(self, request: web.Request) -> web.Response:
        return _json(self.backend.list_admin_credentials(*self._pc(request)))

    async def rotate_vcenter_password(self, request: web.Request) -> web.Response:
        return self._accepted(request, self.backend.rotate_vcenter_password(*self._pc(request)))

    async def rotate_nsxt_password(self, request: web.Request) -> web.Response:
        return self._accepted(request, self.backend.rotate_nsxt_password(*self._pc(request)))

    # -- addons and hcxEnterpriseSites -------------------------------------------------------------

    async def list_addons(self, request: web.Request) -> web.Response:
        return self._page(request, self.backend.list_addons(*self._pc(request)))

    async def get_addon(self, request: web.Request) -> web.Response:
        return _json(self._wire(self.backend.get_addon(*self._pc(request), request.match_info["name"])))

    async def create_or_update_addon(self, request: web.Request) -> web.Response:
        body = await self._body(request, AddonBody)
        pc = self._pc(request)
        return self._put(request, self.backend.create_or_update_addon(*pc, request.match_info["name"], body))

    async def delete_addon(self, request: web.Request) -> web.Response:
        return self._accepted(
            request, self.backend.delete_addon(*self._pc(request), request.match_info["name"])
        )

    async def list_hcx_enterprise_sites(self, request: web.Request) -> web.Response:
        return self._page(request, self.backend.list_hcx_enterprise_sites(*self._pc(request)))

    async def get_hcx_enterprise_site(self, request: web.Request) -> web.Response:
        site = self.backend.get_hcx_enterprise_site(*self._pc(request), request.match_info["name"])
        return _json(self._wire(site))

    async def create_or_update_hcx_enterprise_site(self, request: web.Request) -> web.Response:
        await request.read()  # every property is read-only; the body is `{}`
        pc = self._pc(request)
        site, created = self.backend.create_or_update_hcx_enterprise_site(*pc, request.match_info["name"])
        return _json(self._wire(site), 201 if created else 200)

    async def delete_hcx_enterprise_site(self, request: web.Request) -> web.Response:
        deleted = self.backend.delete_hcx_enterprise_site(*self._pc(request), request.match_info["name"])
        return web.Response(status=200 if deleted else 204)

    # -- cloudLinks, authorizations, globalReachConnections ----------------------------------------

    async def list_cloud_links(self, request: web.Request) -> web.Response:
        return self._page(request, self.backend.list_cloud_links(*self._pc(request)))

    async def get_cloud_link(self, request: web.Request) -> web.Response:
        return _json(self._wire(self.backend.get_cloud_link(*self._pc(request), request.match_info["name"])))

    async def create_or_update_cloud_link(self, request: web.Request) -> web.Response:
        body = await self._body(request, CloudLinkBody)
        pc = self._pc(request)
        return self._put(
            request, self.backend.create_or_update_cloud_link(*pc, request.match_info["name"], body)
        )

    async def delete_cloud_link(self, request: web.Request) -> web.Response:
        pc = self._pc(request)
        return self._accepted(request, self.backend.delete_cloud_link(*pc, request.match_info["name"]))

    async def list_authorizations(self, request: web.Request) -> web.Response:
        return self._page(request, self.backend.list_authorizations(*self._pc(request)))

    async def get_authorization(self, request: web.Request) -> web.Response:
        found = self.backend.get_authorization(*self._pc(request), request.match_info["name"])
        return _json(self._wire(found))

    async def create_or_update_authorization(self, request: web.Request) -> web.Response:
        body = await self._body(request, AuthorizationBody)
        pc, name = self._pc(request), request.match_info["name"]
        return self._put(request, self.backend.create_or_update_authorization(*pc, name, body))

    async def delete_authorization(self, request: web.Request) -> web.Response:
        pc = self._pc(request)
        return self._accepted(request, self.backend.delete_authorization(*pc, request.match_info["name"]))

    async def list_global_reach_connections(self, request: web.Request) -> web.Response:
        return self._page(request, self.backend.list_global_reach_connections(*self._pc(request)))

    async def get_global_reach_connection(self, request: web.Request) -> web.Response:
        found = self.backend.get_global_reach_connection(*self._pc(request), request.match_info["name"])
        return _json(self._wire(found))

    async def create_or_update_global_reach_connection(self, request: web.Request) -> web.Response:
        body = await self._body(request, GlobalReachBody)
        pc, name = self._pc(request), request.match_info["name"]
        return self._put(request, self.backend.create_or_update_global_reach_connection(*pc, name, body))

    async def delete_global_reach_connection(self, request: web.Request) -> web.Response:
        pc, name = self._pc(request), request.match_info["name"]
        return self._accepted(request, self.backend.delete_global_reach_connection(*pc, name))

    # -- workloadNetworks --------------------------------------------------------------------------

    async def list_workload_networks(self, request: web.Request) -> web.Response:
        return self._page(request, self.backend.list_workload_networks(*self._pc(request)))

    async def get_workload_network(self, request: web.Request) -> web.Response:
        return _json(self._wire(self.backend.get_workload_network(*self._pc(request))))

    async def list_gateways(self, request: web.Request) -> web.Response:
        return self._page(request, self.backend.list_gateways(*self._pc(request)))

    async def get_gateway(self, request: web.Request) -> web.Response:
        return _json(self._wire(self.backend.get_gateway(*self._pc(request), request.match_info["name"])))

    async def list_segments(self, request: web.Request) -> web.Response:
        return self._page(request, self.backend.list_segments(*self._pc(request)))

    async def get_segment(self, request: web.Request) -> web.Response:
        return _json(self._wire(self.backend.get_segment(*self._pc(request), request.match_info["name"])))

    async def create_segment(self, request: web.Request) -> web.Response:
        body = await self._body(request, SegmentBody)
        pc = self._pc(request)
        return self._put(request, self.backend.create_segment(*pc, request.match_info["name"], body))

    async def update_segment(self, request: web.Request) -> web.Response:
        body = await self._body(request, SegmentBody)
        pc = self._pc(request)
        return self._patch(request, self.backend.update_segment(*pc, request.match_info["name"], body), 202)

    async def delete_segment(self, request: web.Request) -> web.Response:
        pc = self._pc(request)
        return self._accepted(request, self.backend.delete_segment(*pc, request.match_info["name"]))

    # -- clusters and datastores -------------------------------------------------------------------

    async def list_clusters(self, request: web.Request) -> web.Response:
        return self._page(request, self.backend.list_clusters(*self._pc(request)))

    async def get_cluster(self, request: web.Request) -> web.Response:
        return _json(self._wire(self.backend.get_cluster(*self._pc(request), request.match_info["cluster"])))

    async def create_or_update_cluster(self, request: web.Request) -> web.Response:
        body = await self._body(request, ClusterBody)
        pc = self._pc(request)
        return self._put(
            request, self.backend.create_or_update_cluster(*pc, request.match_info["cluster"], body)
        )

    async def update_cluster(self, request: web.Request) -> web.Response:
        body = await self._body(request, ClusterPatch)
        pc = self._pc(request)
        return self._patch(
            request, self.backend.update_cluster(*pc, request.match_info["cluster"], body), 201
        )

    async def delete_cluster(self, request: web.Request) -> web.Response:
        pc = self._pc(request)
        return self._accepted(request, self.backend.delete_cluster(*pc, request.match_info["cluster"]))

    async def list_datastores(self, request: web.Request) -> web.Response:
        pc = self._pc(request)
        return self._page(request, self.backend.list_datastores(*pc, request.match_info["cluster"]))

    async def get_datastore(self, request: web.Request) -> web.Response:
        pc, cluster = self._pc(request), request.match_info["cluster"]
        return _json(self._wire(self.backend.get_datastore(*pc, cluster, request.match_info["name"])))

    async def create_or_update_datastore(self, request: web.Request) -> web.Response:
        body = await self._body(request, DatastoreBody)
        pc, cluster, name = self._pc(request), request.match_info["cluster"], request.match_info["name"]
        return self._put(request, self.backend.create_or_update_datastore(*pc, cluster, name, body))

    async def delete_datastore(self, request: web.Request) -> web.Response:
        pc, cluster, name = self._pc(request), request.match_info["cluster"], request.match_info["name"]
        return self._accepted(request, self.backend.delete_datastore(*pc, cluster, name))
