"""Network Extension (L2E): stretch a source network to the destination through an NE appliance.

`POST l2Extensions` checks, in this order, and answers with errors naming the field:
the source network exists and is extendable (HCX refuses untagged VLAN 0, VMkernel, standard-switch,
private-VLAN and ephemeral-binding port groups: hcx-api.md §8), it is not already extended (409), the
NE appliance exists, belongs to a committed mesh offering NETWORK_EXTENSION and has room (8 networks),
MON (`features.mobilityOptimizedNetworking`, or the older `proximityRouting`) needs the Enterprise
edition, the destination is the paired site and the T1 gateway exists there. It then answers
`{"id": jobId}`; when the job ends the destination segment exists (created through ARM,
`world.arm.ensure_segment`, disconnected as an L2E target is) and the extension is complete, unless
`faults.extension_failures` names the network: then the job fails, once per listed failure.
`DELETE l2Extensions/{stretchId}` unextends with a job; the destination segment stays.

`operationStatus.state` values are inferred (hcx-api.md §6.1, §11): EXTENSION_IN_PROGRESS,
EXTENSION_COMPLETE, EXTENSION_FAILED, UNEXTENSION_IN_PROGRESS. So are the job durations and the
error codes. This module depends on the standard library, the scenario model and the backend mixins.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.hcx.exceptions import BadRequest, Conflict, Forbidden, HcxError, NotFound
from sandbox.hcx.ids import endpoint_id
from sandbox.hcx.models.core import operation
from sandbox.hcx.models.inventory import SEGMENT, InventoryMixin, NetworkRecord
from sandbox.hcx.models.jobs import Job
from sandbox.hcx.models.mesh import NE, NE_CAPACITY, Appliance, MeshMixin

if TYPE_CHECKING:
    from sandbox.core.world import Side

__all__ = ["Extension", "ExtensionsMixin"]

_EXTEND_SECONDS = 5 * 60  # inferred: not documented
_UNEXTEND_SECONDS = 3 * 60  # inferred: not documented
# inferred: hcx-api.md §6.1, §11 (operationStatus.state values are not enumerated anywhere)
IN_PROGRESS, COMPLETE, FAILED, UNEXTENDING = (
    "EXTENSION_IN_PROGRESS",
    "EXTENSION_COMPLETE",
    "EXTENSION_FAILED",
    "UNEXTENSION_IN_PROGRESS",
)
_REFUSED_KINDS = {
    "vmkernel": "VMkernel networks cannot be extended",
    "vss": "standard switch (VSS) port groups cannot be extended",
    "pvlan": "private VLAN port groups cannot be extended",
    "ephemeral": "port groups with ephemeral binding cannot be extended",
}


@dataclass
class Extension:
    stretch_id: str
    job_id: str
    network: NetworkRecord
    appliance: Appliance
    destination: Side
    gateway_id: str
    gateway: str
    netmask: str
    features: dict[str, bool]
    created: float
    state: str = IN_PROGRESS
    segment: str = ""

    def to_wire(self, core: ExtensionsMixin) -> dict[str, Any]:
        net, world = self.network, core.world
        vlan = net.spec.vlan if net.spec else 0
        peer_name = (
            self.appliance.name.replace("-I", "-R") if "-I" in self.appliance.name else self.appliance.name
        )
        return {
            "stretchId": self.stretch_id,
            "jobId": self.job_id,
            "gateway": self.gateway,
            "netmask": self.netmask,
            "networkName": net.name,  # also at the top level: a 9.x-era status script reads it here
            "operationStatus": {"state": self.state},
            "features": dict(self.features),
            "sourceNetwork": {
                "networkId": net.network_id,
                "networkName": net.name,
                "networkType": net.kind,
                "dvsId": "dvs-21",
                "dvsName": "DSwitch",
                "dvsMaxMtu": "1500",
                "layer2Id": str(vlan),
            },
            "destinationNetwork": {
                "networkId": f"/infra/segments/{self.segment}" if self.segment else "",
                "networkName": self.segment,
                "networkType": SEGMENT,
                "gatewayId": self.gateway_id,
            },
            "sourceAppliance": {
                "applianceId": self.appliance.appliance_id,
                "applianceName": self.appliance.name,
                "applianceType": NE,
            },
            "destinationAppliance": {"applianceName": peer_name, "applianceType": NE},
            "source": {
                "endpointId": core.endpoint_id,
                "endpointType": "VC",
                "resourceId": core.vcenter_uuid,
                "resourceType": "VC",
            },
            "destination": {
                "endpointId": endpoint_id(world, self.destination),
                "endpointType": "VC",
                "resourceType": "VC",
            },
            "creationDate": core.at(self.created).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        }


def _required(obj: dict[str, Any], key: str, where: str) -> Any:
    value = obj.get(key)
    if value in (None, ""):
        raise BadRequest(f"{where}.{key}: required")
    return value


def _section(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if not isinstance(value, dict):
        raise BadRequest(f"{key}: required, an object")
    return value


class ExtensionsMixin(InventoryMixin, MeshMixin):
    def _init_extensions(self) -> None:
        self.extensions: dict[str, Extension] = {}
        self._extension_faults: Counter[str] = Counter()
        for fault in self.world.scenario.faults.extension_failures:
            # inferred: the scenario gives no count, so each listed failure fires once (as VmFailure's
            # default), letting a retry succeed
            self._extension_faults[fault.network] += int(getattr(fault, "times", 1))

    def pairing_dependents(self) -> list[str]:
        live = [e for e in self.extensions.values() if e.state != FAILED]
        found = [f"{len(live)} network extension(s)"] if live else []
        return [*super().pairing_dependents(), *found]

    @operation
    def list_extensions(self) -> list[Extension]:
        return list(self.extensions.values())

    @operation
    def extend_network(self, body: object, username: str) -> Extension:
        if not isinstance(body, dict):
            raise BadRequest("body: must be a JSON object")
        return self._extend(body, username)

    @operation
    def extend_networks(self, items: object, username: str) -> list[Extension | HcxError]:
        """The items-wrapped form: each item is extended or refused on its own."""
        if not isinstance(items, list) or not items:
            raise BadRequest("items: required, a non-empty list")
        results: list[Extension | HcxError] = []
        for i, item in enumerate(items):
            try:
                if not isinstance(item, dict):
                    raise BadRequest(f"items[{i}]: must be an object")
                results.append(self._extend(item, username))
            except HcxError as exc:
                results.append(exc)
        return results

    @operation
    def unextend_network(self, stretch_id: str, username: str) -> Job:
        ext = self.extensions.get(stretch_id)
        if ext is None:
            raise NotFound(f"network extension {stretch_id} does not exist")
        if ext.state in (IN_PROGRESS, UNEXTENDING):
            raise Conflict(f"network extension {stretch_id} is {ext.state}", code="OPERATION_IN_PROGRESS")
        was_live = ext.state != FAILED
        ext.state = UNEXTENDING

        def finish(job: Job) -> None:
            self.extensions.pop(stretch_id, None)
            if was_live:
                ext.appliance.extension_count -= 1
            self.record("network_unextended", network=ext.network.name, stretch=stretch_id)

        job = self.new_job("NETWORK_UNEXTENSION", _UNEXTEND_SECONDS, username, finish)
        ext.job_id = job.job_id
        return job

    # -- the checks and the job -------------------------------------------------------------------------

    def _extend(self, body: dict[str, Any], username: str) -> Extension:
        network = self._source_network(_section(body, "sourceNetwork"))
        for ext in self.extensions.values():
            if ext.network is network and ext.state != FAILED:
                # inferred: hcx-api.md §10.5 (409 or errors; 409 chosen)
                raise Conflict(
                    f"network {network.name} is already extended ({ext.stretch_id})", code="ALREADY_EXTENDED"
                )
        appliance = self._ne_appliance(_section(body, "sourceAppliance"))
        features = self._features(body.get("features", {}))
        destination = self._destination(_section(body, "destination"))
        gateway_id = str(_required(_section(body, "destinationNetwork"), "gatewayId", "destinationNetwork"))
        # gatewayId is the destination Tier-1's name (hcx-api.md §6.2), so an unknown one is refused.
        if gateway_id not in self.world.cloud(destination).gateways:
            raise BadRequest(
                f"destinationNetwork.gatewayId: no Tier-1 gateway {gateway_id!r} at the destination",
                code="GATEWAY_NOT_FOUND",
            )
        gateway, netmask = self._addressing(body, network)
        ext = Extension(
            self.ids.uuid(),
            "",
            network,
            appliance,
            destination,
            gateway_id,
            gateway,
            netmask,
            features,
            self.now,
        )
        ext.stretch_id = f"stretch-{ext.stretch_id}"
        appliance.extension_count += 1
        self.extensions[ext.stretch_id] = ext
        job = self.new_job("NETWORK_EXTENSION", _EXTEND_SECONDS, username, lambda j: self._extended(ext, j))
        ext.job_id = job.job_id
        self.record(
            "network_extending",
            network=network.name,
            stretch=ext.stretch_id,
            mon=features["mobilityOptimizedNetworking"],
        )
        return ext

    def _extended(self, ext: Extension, job: Job) -> None:
        name = ext.network.name
        if self._extension_faults[name] > 0:
            self._extension_faults[name] -= 1
            fault = next(f for f in self.world.scenario.faults.extension_failures if f.network == name)
            ext.state, job.failed, job.message = FAILED, True, fault.message
            ext.appliance.extension_count -= 1
            self.record("network_extension_failed", network=name, stretch=ext.stretch_id)
            return
        vlan = ext.network.spec.vlan if ext.network.spec else 0
        # inferred: hcx-api.md §6.1 example `L2E_VLAN100-100-...`; the suffix is the simulator's
        ext.segment = f"L2E_{name}-{vlan}-{ext.stretch_id.removeprefix('stretch-')[:8]}"
        cidr = str(ipaddress.ip_interface(f"{ext.gateway}/{ext.netmask}"))
        if self.world.arm is not None:
            self.world.arm.ensure_segment(ext.destination, ext.segment, cidr, None)
        remote = self.inventory_of(ext.destination)
        if remote is not None:
            remote._add_segment(ext.segment, cidr, None)
        ext.state = COMPLETE
        self.record("network_extended", network=name, stretch=ext.stretch_id, segment=ext.segment)

    def _source_network(self, section: dict[str, Any]) -> NetworkRecord:
        ref = section.get("networkId") or section.get("networkName")
        if not isinstance(ref, str) or not ref:
            raise BadRequest("sourceNetwork.networkId: required (or sourceNetwork.networkName)")
        network = self.network_by_ref(ref)
        if network is None:
            raise BadRequest(
                f"sourceNetwork.networkId: no network {ref!r} at this site", code="NETWORK_NOT_FOUND"
            )
        spec = network.spec
        if spec is not None:
            if spec.kind in _REFUSED_KINDS:
                raise BadRequest(
                    f"sourceNetwork: {network.name}: {_REFUSED_KINDS[spec.kind]}",
                    code="NETWORK_NOT_SUPPORTED",
                )
            if spec.vlan == 0:
                raise BadRequest(
                    f"sourceNetwork: {network.name}: untagged port groups (VLAN 0/none) cannot be extended",
                    code="NETWORK_NOT_SUPPORTED",
                )
        return network

    def _ne_appliance(self, section: dict[str, Any]) -> Appliance:
        aid = _required(section, "applianceId", "sourceAppliance")
        appliance = self.appliances.get(str(aid))
        if appliance is None or appliance.kind != NE:
            raise BadRequest(
                f"sourceAppliance.applianceId: no Network Extension appliance {aid}",
                code="APPLIANCE_NOT_FOUND",
            )
        mesh = self.meshes[appliance.mesh_id]
        if "NETWORK_EXTENSION" not in mesh.services or mesh.state != "COMMITTED":
            raise BadRequest(
                f"sourceAppliance.applianceId: service mesh {mesh.name} ({mesh.state}) does not offer "
                "NETWORK_EXTENSION",
                code="SERVICE_NOT_AVAILABLE",
            )
        if appliance.extension_count >= NE_CAPACITY:
            raise BadRequest(
                f"sourceAppliance.applianceId: {appliance.name} already extends {NE_CAPACITY} networks",
                code="APPLIANCE_CAPACITY_EXCEEDED",
            )
        return appliance

    def _features(self, raw: object) -> dict[str, bool]:
        if not isinstance(raw, dict):
            raise BadRequest("features: must be an object")
        # inferred: hcx-api.md §6.2, §9: both spellings name one feature, MON (4.x) and proximity
        # routing (its older name), so either turns it on and both are reported
        mon = bool(raw.get("mobilityOptimizedNetworking")) or bool(raw.get("proximityRouting"))
        if mon and self.edition() != "enterprise":
            raise Forbidden(
                "features.mobilityOptimizedNetworking: MON needs the HCX Enterprise edition",
                code="MON_REQUIRES_ENTERPRISE",
            )
        return {
            "mobilityOptimizedNetworking": mon,
            "proximityRouting": mon,
            "egressOptimization": bool(raw.get("egressOptimization")),
        }

    def _destination(self, section: dict[str, Any]) -> Side:
        ep = _required(section, "endpointId", "destination")
        remote = self.pairing_remote()
        if remote is None or ep != endpoint_id(self.world, remote):
            raise BadRequest(
                f"destination.endpointId: {ep} is not a paired site", code="DESTINATION_NOT_PAIRED"
            )
        return remote

    def _addressing(self, body: dict[str, Any], network: NetworkRecord) -> tuple[str, str]:
        gateway, netmask = body.get("gateway"), body.get("netmask")
        if not gateway and network.gateway_cidr:
            iface = ipaddress.ip_interface(network.gateway_cidr)
            return str(iface.ip), str(iface.netmask)
        if not isinstance(gateway, str) or not gateway:
            raise BadRequest("gateway: required (the network has no known gateway)")
        if not isinstance(netmask, str) or not netmask:
            raise BadRequest("netmask: required")
        try:
            ipaddress.ip_interface(f"{gateway}/{netmask}")
        except ValueError:
            raise BadRequest(
                f"gateway/netmask: {gateway}/{netmask} is not a valid address and mask"
            ) from None
        return gateway, netmask
