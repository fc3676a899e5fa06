"""Service meshes, their appliances and interconnect tasks, as the scenario declares them.

A mesh joins the two clouds, so both managers list it, with one `serviceMeshId`; the source manager
is the initiator (its appliances are `-I<n>`, the destination's `-R<n>`). Each mesh has
`ix_appliances` interconnect appliances (they carry migration traffic, 1.6 Gbps each) and
`ne_appliances` Network Extension appliances (8 networks each). A scenario may leave the meshes out or
leave a service out of one, so preflight has something to find.

Each mesh carries the interconnect task that deployed it: SUCCESS for a COMMITTED mesh, FAILED for
UPDATE_FAILED, and RUNNING for DEPLOYING until the deployment ends, when the mesh becomes COMMITTED
(inferred: hcx-api.md §3.2 and §5.1; the task type name and the deploy time are not documented).
This module depends on the standard library, the scenario model and the core only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.core.scenario import ServiceMeshSpec
from sandbox.hcx.exceptions import BadRequest, NotFound
from sandbox.hcx.ids import appliance_id, endpoint_id, mesh_id
from sandbox.hcx.models.core import Core, operation

__all__ = ["NE_CAPACITY", "Appliance", "InterconnectTask", "Mesh", "MeshMixin"]

NE_CAPACITY = 8  # networks one Network Extension appliance extends (hcx-api.md §8)
IX, NE, WO = "HCX-WAN-IX", "HCX-NET-EXT", "HCX-WAN-OPT"  # inferred: hcx-api.md §5.4 (IX, WO names)
_DEPLOY_SECONDS = 30 * 60  # inferred: a mesh deploy "takes minutes" (hcx-api.md §3.2)


@dataclass
class Appliance:
    appliance_id: str
    name: str
    kind: str
    mesh_id: str
    mesh_name: str
    endpoint_id: str
    version: str
    extension_count: int = 0  # NE only: live extensions on this appliance

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "applianceId": self.appliance_id,
            "applianceName": self.name,
            "applianceType": self.kind,
            "serviceMeshId": self.mesh_id,
            "serviceMeshName": self.mesh_name,
            "endpointId": self.endpoint_id,
            "status": {"summary": {"overallStatus": "UP"}},
            "version": self.version,
            "applianceVersion": self.version,
        }
        if self.kind == NE:
            wire["networkExtensionCount"] = self.extension_count
        return wire


@dataclass
class InterconnectTask:
    task_id: str
    mesh: Mesh
    status: str  # QUEUED, RUNNING, SUCCESS, FAILED (hcx-api.md §3.2)
    started: float
    ended: float | None
    message: str = ""

    def to_wire(self, core: Core) -> dict[str, Any]:
        progress = (
            100 if self.ended is not None else min(99, int(100 * (core.now - self.started) / _DEPLOY_SECONDS))
        )
        errors = [{"code": "DEPLOYMENT_FAILED", "message": self.message}] if self.status == "FAILED" else []
        step_status = self.status
        return {
            "interconnectTaskId": self.task_id,
            "entityDetails": {"id": self.mesh.mesh_id, "type": "ServiceMesh", "name": self.mesh.name},
            "type": "createServiceMesh",  # inferred: hcx-api.md §3.2
            "status": self.status,
            "progress": progress,
            "message": self.message or {"SUCCESS": "Service mesh deployed"}.get(self.status, "Deploying"),
            "errorMessage": self.message if self.status == "FAILED" else "",
            "startTime": core.epoch_ms(self.started),
            "endTime": core.epoch_ms(self.ended) if self.ended is not None else 0,
            "request": {},
            "response": {},
            "steps": [
                {
                    "title": "Deploy appliances",
                    "status": step_status,
                    "progress": progress,
                    "startTime": core.epoch_ms(self.started),
                    "endTime": core.epoch_ms(self.ended) if self.ended is not None else 0,
                    "message": self.message,
                    "errors": errors,
                    "warnings": [],
                    "children": [],
                }
            ],
        }


@dataclass
class Mesh:
    mesh_id: str
    name: str
    services: list[str]
    state: str
    ix: list[Appliance] = field(default_factory=list)
    ne: list[Appliance] = field(default_factory=list)
    wo: list[Appliance] = field(default_factory=list)
    task: InterconnectTask | None = None

    def appliances(self) -> list[Appliance]:
        return [*self.ix, *self.ne, *self.wo]

    def to_wire(self, core: Core) -> dict[str, Any]:
        src, dst = core.world.cloud("source"), core.world.cloud("destination")
        src_ep, dst_ep = endpoint_id(core.world, "source"), endpoint_id(core.world, "destination")
        profile = {"source": f"{src.name}-cp", "destination": f"{dst.name}-cp"}
        return {
            "serviceMeshId": self.mesh_id,
            "name": self.name,
            "isLocalMesh": False,
            "state": self.state,
            "backingApplianceType": "PHOTON",
            "updateAvailable": False,
            "orchestratorInfo": {
                "type": "HCX",
                "info": {"srcSiteId": src_ep, "dstSiteId": dst_ep, "mobilityMeshId": self.mesh_id},
            },
            "lastTaskDetails": {
                "interconnectTaskId": self.task.task_id if self.task else "",
                "type": "createServiceMesh",
                "status": self.task.status if self.task else "SUCCESS",
            },
            "services": [{"name": s} for s in self.services],
            "switchPairCount": [
                {
                    "switches": [
                        {
                            "cmpId": core.vcenter_uuid,
                            "id": "dvs-21",
                            "type": "VmwareDistributedVirtualSwitch",
                            "name": "DSwitch",
                            "maxMtu": 1500,
                            "l2cApplianceCount": len(self.ne),
                        }
                    ],
                    "l2cApplianceCount": len(self.ne),
                }
            ],
            "wanoptConfig": {"uplinkMaxBandwidth": 10000},
            "trafficEnggCfg": {"isAppPathResiliencyEnabled": False, "isTcpFlowConditioningEnabled": False},
            "computeProfiles": [
                {
                    "endpointId": src_ep,
                    "endpointName": core.manager_name("source"),
                    "computeProfileId": f"{self.mesh_id}-cp-source",
                    "computeProfileName": profile["source"],
                    "isInitiator": True,
                },
                {
                    "endpointId": dst_ep,
                    "endpointName": core.manager_name("destination"),
                    "computeProfileId": f"{self.mesh_id}-cp-destination",
                    "computeProfileName": profile["destination"],
                    "isInitiator": False,
                },
            ],
            "appliances": [a.to_wire() for a in self.appliances()],
        }


class MeshMixin(Core):
    def _init_meshes(self) -> None:
        self.meshes: dict[str, Mesh] = {}
        self.tasks: dict[str, InterconnectTask] = {}
        self.appliances: dict[str, Appliance] = {}
        for spec in self.world.scenario.service_meshes:
            self._build_mesh(spec)

    def _build_mesh(self, spec: ServiceMeshSpec) -> None:
        mid = mesh_id(self.world, spec.name)
        mesh = Mesh(mid, spec.name, list(spec.services), spec.state)
        tag = "I" if self.side == "source" else "R"
        version = self.world.cloud(self.side).hcx.version

        def make(kind: str, short: str, index: int) -> Appliance:
            aid = appliance_id(self.world, self.side, spec.name, short, index)
            name = f"{spec.name}-{short}-{tag}{index}"
            appliance = Appliance(aid, name, kind, mid, spec.name, self.endpoint_id, version)
            self.appliances[aid] = appliance
            return appliance

        if "INTERCONNECT" in spec.services:
            mesh.ix = [make(IX, "IX", i + 1) for i in range(spec.ix_appliances)]
        if "NETWORK_EXTENSION" in spec.services:
            mesh.ne = [make(NE, "NE", i + 1) for i in range(spec.ne_appliances)]
        if "WANOPT" in spec.services:
            mesh.wo = [make(WO, "WO", i + 1) for i in range(spec.ix_appliances)]
        task = InterconnectTask(self.ids.uuid(), mesh, "SUCCESS", 0.0, 0.0)
        if spec.state == "UPDATE_FAILED":
            task.status, task.message = "FAILED", "Appliance deployment failed: uplink network unreachable"
        elif spec.state == "DEPLOYING":
            task.status, task.ended = "RUNNING", None
            self.timeline.at(_DEPLOY_SECONDS, lambda: self._mesh_deployed(mesh))
        mesh.task = task
        self.meshes[mid] = mesh
        self.tasks[task.task_id] = task

    def _mesh_deployed(self, mesh: Mesh) -> None:
        assert mesh.task is not None
        mesh.state, mesh.task.status, mesh.task.ended = "COMMITTED", "SUCCESS", self.now
        self.record("mesh_committed", mesh=mesh.name)

    def mesh_offering(self, service: str) -> Mesh | None:
        """The first usable mesh that offers `service` (a COMMITTED one with interconnect appliances)."""
        for mesh in self.meshes.values():
            if service in mesh.services and mesh.state == "COMMITTED" and mesh.ix:
                return mesh
        return None

    @operation
    def list_service_meshes(self) -> list[Mesh]:
        return list(self.meshes.values())

    @operation
    def get_service_mesh(self, mesh_id: str) -> Mesh:
        if mesh_id not in self.meshes:
            raise NotFound(f"service mesh {mesh_id} does not exist")
        return self.meshes[mesh_id]

    @operation
    def list_appliances(self) -> list[Appliance]:
        return list(self.appliances.values())

    @operation
    def query_appliances(self, query: dict[str, Any]) -> list[Appliance]:
        flt = query.get("filter", query)
        if not isinstance(flt, dict):
            raise BadRequest("filter: must be an object")
        out = list(self.appliances.values())
        if kind := flt.get("applianceType"):
            out = [a for a in out if a.kind == kind]
        if (endpoint := flt.get("endpointId")) and endpoint != self.endpoint_id:
            out = []  # appliances listed here are the local ones
        if mesh := flt.get("serviceMeshId"):
            out = [a for a in out if a.mesh_id == mesh]
        return out

    @operation
    def get_interconnect_task(self, task_id: str) -> InterconnectTask:
        if task_id not in self.tasks:
            raise NotFound(f"interconnect task {task_id} does not exist")
        return self.tasks[task_id]

    @operation
    def list_interconnect_tasks(self) -> list[InterconnectTask]:
        return list(self.tasks.values())
