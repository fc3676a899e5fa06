"""The HTTP face of one HCX Manager: read the request, make one backend call, render the wire shape.

No business rule lives here (moto's habit): handlers pull the path, query and JSON body out of the
request, call the one `HcxBackend` method that answers it and wrap the result in the envelope that
route uses on a real manager (hcx-api.md §2.1): the hybridity envelope (`success`, `completed`,
`time`, `version`, `data`) for pairing, certificates and inventory; bare `{"items": [...]}` for
meshes, appliances, extensions and mobility; flat objects for jobs, tasks and `{"id": jobId}`.
Backend errors (`sandbox.hcx.exceptions`) are rendered once, by the middleware in `urls.py`.
This module depends on aiohttp and the backend.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.hcx.exceptions import BadRequest, HcxError
from sandbox.hcx.models.pairing import PairingRefusal

if TYPE_CHECKING:
    from sandbox.hcx.models import HcxBackend

__all__ = ["TOKEN_HEADER", "USER", "HcxResponses"]

# Where the auth middleware leaves the session's user on the request.
USER: web.RequestKey[str] = web.RequestKey("hcx_user", str)
TOKEN_HEADER = "x-hm-authorization"  # noqa: S105 (a header name, not a secret)


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadRequest("body: not valid JSON") from None


def _user(request: web.Request) -> str:
    return request.get(USER, "")


class HcxResponses:
    def __init__(self, backend: HcxBackend) -> None:
        self.backend = backend

    def _envelope(self, data: Any) -> dict[str, Any]:
        b = self.backend
        return {"success": True, "completed": True, "time": b.epoch_ms(b.now), "version": "1.0", "data": data}

    # -- sessions -----------------------------------------------------------------------------------

    async def create_session(self, request: web.Request) -> web.Response:
        body = await _body(request)
        if not isinstance(body, dict):
            raise BadRequest('body: required, {"username": ..., "password": ...}')
        token = self.backend.create_session(body.get("username"), body.get("password"))
        return web.json_response(self._envelope({}), headers={TOKEN_HEADER: token})

    # -- pairing ------------------------------------------------------------------------------------

    async def list_cloud_configs(self, request: web.Request) -> web.Response:
        pairings = self.backend.list_cloud_configs()
        return web.json_response(self._envelope({"items": [p.to_wire(self.backend) for p in pairings]}))

    async def create_cloud_config(self, request: web.Request) -> web.Response:
        result = self.backend.create_site_pairing(await _body(request), _user(request))
        if isinstance(result, PairingRefusal):
            return web.json_response(result.to_wire(self.backend.epoch_ms(self.backend.now)))
        return web.json_response(self._envelope({"jobId": result.job_id}))

    async def delete_endpoint_pairing(self, request: web.Request) -> web.Response:
        removal = self.backend.delete_endpoint_pairing(request.match_info["endpointId"])
        # inferred: hcx-api.md §4.4 (item fields documented, the wrapper and status value are not)
        endpoint = {
            "endpointId": removal.endpoint_id,
            "requestId": removal.request_id,
            "status": "IN_PROGRESS",
            "didFail": False,
        }
        return web.json_response(self._envelope({"endpoints": [endpoint]}))

    async def import_certificate(self, request: web.Request) -> web.Response:
        body = await _body(request)
        # inferred: hcx-api.md §4.2, `data.items[].thumbprint` borrowed from the :9443 variant
        fingerprint = self.backend.import_certificate(
            body.get("certificate") if isinstance(body, dict) else None
        )
        return web.json_response(self._envelope({"items": [{"thumbprint": fingerprint}]}))

    async def get_job(self, request: web.Request) -> web.Response:
        job = self.backend.get_job(request.match_info["jobId"])
        return web.json_response(job.to_wire(self.backend))

    # -- service mesh, appliances, tasks -----------------------------------------------------------------

    async def list_service_meshes(self, request: web.Request) -> web.Response:
        meshes = self.backend.list_service_meshes()
        return web.json_response({"items": [m.to_wire(self.backend) for m in meshes]})

    async def get_service_mesh(self, request: web.Request) -> web.Response:
        mesh = self.backend.get_service_mesh(request.match_info["meshId"])
        return web.json_response(mesh.to_wire(self.backend))

    async def list_appliances(self, request: web.Request) -> web.Response:
        return web.json_response({"items": [a.to_wire() for a in self.backend.list_appliances()]})

    async def query_appliances(self, request: web.Request) -> web.Response:
        body = await _body(request) or {}
        if not isinstance(body, dict):
            raise BadRequest("body: must be a JSON object")
        return web.json_response({"items": [a.to_wire() for a in self.backend.query_appliances(body)]})

    async def get_interconnect_task(self, request: web.Request) -> web.Response:
        task = self.backend.get_interconnect_task(request.match_info["taskId"])
        return web.json_response(task.to_wire(self.backend))

    async def list_interconnect_tasks(self, request: web.Request) -> web.Response:
        tasks = [t.to_wire(self.backend) for t in self.backend.list_interconnect_tasks()]
        return web.json_response(
            {"items": tasks, "paging": {"offset": 0, "pageSize": len(tasks), "totalSize": len(tasks)}}
        )

    # -- network extension ----------------------------------------------------------------------------

    async def list_extensions(self, request: web.Request) -> web.Response:
        return web.json_response({"items": [e.to_wire(self.backend) for e in self.backend.list_extensions()]})

    async def create_extension(self, request: web.Request) -> web.Response:
        body = await _body(request)
        # inferred: hcx-api.md §6.2, the items-wrapped schema is probably a newer bulk form
        if isinstance(body, dict) and "items" in body:
            return self._extension_items(self.backend.extend_networks(body["items"], _user(request)))
        extension = self.backend.extend_network(body, _user(request))
        return web.json_response({"id": extension.job_id})

    def _extension_items(self, results: list[Any]) -> web.Response:
        items = []
        for r in results:
            if isinstance(r, HcxError):
                items.append(
                    {"stretchId": None, "warnings": [], "errors": [{"code": r.code, "message": r.message}]}
                )
            else:
                items.append(
                    {
                        "stretchId": r.stretch_id,
                        "sourceNetworkId": r.network.network_id,
                        "jobId": r.job_id,
                        "warnings": [],
                        "errors": [],
                    }
                )
        refused = [r for r in results if isinstance(r, HcxError)]
        status = refused[0].status if len(refused) == len(results) else 200
        return web.json_response({"data": {"items": items}, "warnings": [], "errors": []}, status=status)

    async def delete_extension(self, request: web.Request) -> web.Response:
        job = self.backend.unextend_network(request.match_info["stretchId"], _user(request))
        return web.json_response({"id": job.job_id})

    # -- inventory ------------------------------------------------------------------------------------

    async def list_resource_containers(self, request: web.Request) -> web.Response:
        return web.json_response(
            self._envelope({"items": self.backend.list_resource_containers(await _body(request))})
        )

    async def list_clouds(self, request: web.Request) -> web.Response:
        return web.json_response(self._envelope({"items": self.backend.list_clouds(await _body(request))}))

    async def list_networks(self, request: web.Request) -> web.Response:
        return web.json_response(self._envelope({"items": self.backend.list_networks(await _body(request))}))

    async def list_datastores(self, request: web.Request) -> web.Response:
        return web.json_response(
            self._envelope({"items": self.backend.list_datastores(await _body(request))})
        )

    async def list_containers(self, request: web.Request) -> web.Response:
        return web.json_response(
            self._envelope({"items": self.backend.list_containers(await _body(request))})
        )

    async def list_storage_profiles(self, request: web.Request) -> web.Response:
        return web.json_response(
            self._envelope({"items": self.backend.list_storage_profiles(await _body(request))})
        )

    async def list_virtual_machines(self, request: web.Request) -> web.Response:
        page = self.backend.list_virtual_machines(await _body(request), request.query.get("hcspUUID"))
        return web.json_response(self._envelope(page))

    # -- migrations -----------------------------------------------------------------------------------

    async def validate_migrations(self, request: web.Request) -> web.Response:
        results = self.backend.validate_migrations(await _body(request))
        return web.json_response({"items": [r.to_wire() for r in results]}, status=202)

    async def start_migrations(self, request: web.Request) -> web.Response:
        results = self.backend.start_migrations(await _body(request), _user(request))
        # The singular `warning` is what PowerCLI's metadata names (hcx-api.md §7.3).
        return web.json_response(
            {"items": [r.to_wire() for r in results], "errors": None, "warning": None}, status=202
        )

    async def migrations_action(self, request: web.Request) -> web.Response:
        action = request.query.get("action", "")
        body = await _body(request)
        if action == "query":
            return self._query(body)
        if action == "cancel":  # inferred: hcx-api.md §7.6
            return web.json_response({"items": self.backend.cancel_migrations(body)})
        if action in ("validate", "start"):
            # The v1 validate/start (hcx-api.md §7.7) is documented but not simulated: clients use v2.
            raise BadRequest(
                f"action={action}: the legacy nls 1.0 API is not simulated; use "
                f"/hybridity/api/mobility/migrations/{action}",
                code="UNSUPPORTED_API",
            )
        raise BadRequest("action: required, one of query, cancel")

    async def force_cancel_migrations(self, request: web.Request) -> web.Response:
        # inferred path: hcx-api.md §7.6
        return web.json_response({"items": self.backend.force_cancel_migrations(await _body(request))})

    async def schedule_migrations(self, request: web.Request) -> web.Response:
        # inferred: hcx-api.md §7.8 documents the path and body for Mobility Groups; that a plain
        # migration's group (migrationGroupId from start) answers it too is the simulator's choice
        result = self.backend.schedule_migrations(request.match_info["groupId"], await _body(request))
        return web.json_response(result)

    def _query(self, body: Any) -> web.Response:
        result = self.backend.query_migrations(body)
        b = self.backend
        # inferred: hcx-api.md §2.3 gives v1's paging; v2's place for it (data.paging) is a choice
        paging = {"totalSize": result.total, "offset": result.offset, "pageSize": result.page_size}
        if result.compat:
            items = [m.to_wire(b, moving) for m, moving in result.items]
            return web.json_response(
                {"success": True, "completed": True, "data": {"items": items, "paging": paging}}
            )
        rows = [m.to_wire_v1(b, moving) for m, moving in result.items]
        return web.json_response({"items" if result.by_id else "rows": rows, "paging": paging})
