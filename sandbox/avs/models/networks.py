"""NSX workload networking through ARM: `workloadNetworks/default`, its Tier-1 gateways and segments.

Segments are what migrated VMs land on. HCX Network Extension creates the destination segment of an
extended network itself (`ensure_segment`, disconnected from any gateway); network cutover later
PATCHes its `connectedGateway` through ARM. Routed segments may not overlap within a cloud (NSX
refuses it; the exact error is inferred). Shapes follow avs-arm.md §7.8. This module depends on the
backend base and the private-cloud family.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.avs.bodies import SegmentBody
from sandbox.avs.exceptions import BadRequest
from sandbox.avs.models.base import DURATIONS, ArmResource, Operation, locked
from sandbox.avs.models.clouds import CloudsMixin, PrivateCloud
from sandbox.core.world import SIDES, Side

__all__ = ["Gateway", "NetworksMixin", "Segment", "WorkloadNetwork"]

T1_PREFIX = "/infra/tier-1s/"


@dataclass(kw_only=True)
class WorkloadNetwork(ArmResource):
    type = "Microsoft.AVS/privateClouds/workloadNetworks"


@dataclass(kw_only=True)
class Gateway(ArmResource):
    type = "Microsoft.AVS/privateClouds/workloadNetworks/gateways"

    def properties(self) -> dict[str, Any]:
        return {"displayName": self.name, "path": T1_PREFIX + self.name}


@dataclass(kw_only=True)
class Segment(ArmResource):
    type = "Microsoft.AVS/privateClouds/workloadNetworks/segments"
    display_name: str
    connected_gateway: str | None = None
    gateway_address: str | None = None
    dhcp_ranges: list[str] = field(default_factory=list)
    revision: int = 1
    status: str = "SUCCESS"

    def properties(self) -> dict[str, Any]:
        subnet: dict[str, Any] = {}
        if self.gateway_address is not None:
            subnet["gatewayAddress"] = self.gateway_address
        if self.dhcp_ranges:
            subnet["dhcpRanges"] = list(self.dhcp_ranges)
        props: dict[str, Any] = {
            "displayName": self.display_name,
            "subnet": subnet,
            "portVif": [],
            "status": self.status,
            "revision": self.revision,
        }
        if self.connected_gateway is not None:
            props["connectedGateway"] = self.connected_gateway
        return props


class NetworksMixin(CloudsMixin):
    def _seed_networks(self) -> None:
        start = self.world.scenario.start
        for side in SIDES:
            spec, cloud = self.world.cloud(side), self.clouds[side]
            base = f"{cloud.id}/workloadNetworks/default"
            self.store(
                f"{cloud.id}/workloadNetworks",
                WorkloadNetwork(id=base, name="default", side=side, created_at=start, modified_at=start),
            )
            for name in spec.gateways:
                gw = Gateway(
                    id=f"{base}/gateways/{name}", name=name, side=side, created_at=start, modified_at=start
                )
                self.store(f"{base}/gateways", gw)
            for seg in spec.segments:
                t1 = T1_PREFIX + seg.connected_gateway if seg.connected_gateway else None
                self.store(
                    f"{base}/segments",
                    Segment(
                        id=f"{base}/segments/{seg.name}",
                        name=seg.name,
                        side=side,
                        created_at=start,
                        modified_at=start,
                        display_name=seg.name,
                        connected_gateway=t1,
                        gateway_address=seg.gateway_cidr,
                    ),
                )

    @staticmethod
    def _base(pc: PrivateCloud) -> str:
        return f"{pc.id}/workloadNetworks/default"

    def _gateway_path(self, pc: PrivateCloud, value: str | None) -> str | None:
        """A Tier-1 path from what a client sent; a bare gateway name is accepted too (lenient)."""
        # inferred: real NSX wants the policy path; accepting the bare name is the simulator's leniency.
        if value is None or value == "":
            return None
        name = value[len(T1_PREFIX) :] if value.startswith(T1_PREFIX) else value
        if self.find(f"{self._base(pc)}/gateways", name) is None:
            known = [T1_PREFIX + g.name for g in self.items(f"{self._base(pc)}/gateways")]
            raise BadRequest(
                f"properties.connectedGateway: {value!r} is not a Tier-1 gateway of this private cloud; "
                f"known: {known}",
                target="properties.connectedGateway",
            )
        gateway = self.find(f"{self._base(pc)}/gateways", name)
        assert gateway is not None
        return T1_PREFIX + gateway.name

    def _check_overlap(self, pc: PrivateCloud, name: str, gateway: str | None, address: str | None) -> None:
        # inferred: NSX refuses overlapping routed subnets in one cloud; the code is ours.
        if gateway is None or address is None:
            return
        mine = ipaddress.ip_interface(address).network
        for other in self.items(f"{self._base(pc)}/segments"):
            if not isinstance(other, Segment) or other.name.lower() == name.lower():
                continue
            if other.connected_gateway is None or other.gateway_address is None:
                continue
            theirs = ipaddress.ip_interface(other.gateway_address).network
            if mine.overlaps(theirs):
                raise BadRequest(
                    f"properties.subnet.gatewayAddress: {mine} overlaps segment '{other.name}' ({theirs}), "
                    "which is connected to a gateway",
                    code="SegmentSubnetOverlap",
                    target="properties.subnet.gatewayAddress",
                )

    # -- what the HCX simulators ask (ArmView) -----------------------------------------------------

    @locked
    def ensure_segment(self, side: Side, name: str, gateway_cidr: str, connected_gateway: str | None) -> None:
        """Create or update an NSX segment at `side` at once (HCX Network Extension's own segment)."""
        pc = self.clouds[side]
        gateway = self._gateway_path(pc, connected_gateway)
        now = self.now()
        existing = self.find(f"{self._base(pc)}/segments", name)
        if isinstance(existing, Segment):
            existing.gateway_address, existing.connected_gateway = gateway_cidr, gateway
            existing.revision += 1
            existing.modified_at = now
        else:
            self.store(
                f"{self._base(pc)}/segments",
                Segment(
                    id=f"{self._base(pc)}/segments/{name}",
                    name=name,
                    side=side,
                    created_at=now,
                    modified_at=now,
                    display_name=name,
                    connected_gateway=gateway,
                    gateway_address=gateway_cidr,
                ),
            )
        self.record("segment.ensured", cloud=pc.name, segment=name, gateway=gateway or "")

    # -- workloadNetworks and gateways -------------------------------------------------------------

    @locked
    def list_workload_networks(self, resource_group: str, cloud: str) -> list[ArmResource]:
        pc = self.cloud_at(resource_group, cloud)
        return self.items(f"{pc.id}/workloadNetworks")

    @locked
    def get_workload_network(self, resource_group: str, cloud: str) -> ArmResource:
        pc = self.cloud_at(resource_group, cloud)
        return self.lookup(f"{pc.id}/workloadNetworks", "default", "workload network")

    @locked
    def list_gateways(self, resource_group: str, cloud: str) -> list[ArmResource]:
        pc = self.cloud_at(resource_group, cloud)
        return self.items(f"{self._base(pc)}/gateways")

    @locked
    def get_gateway(self, resource_group: str, cloud: str, name: str) -> ArmResource:
        pc = self.cloud_at(resource_group, cloud)
        return self.lookup(f"{self._base(pc)}/gateways", name, "gateway")

    # -- segments ----------------------------------------------------------------------------------

    @locked
    def list_segments(self, resource_group: str, cloud: str) -> list[Segment]:
        pc = self.cloud_at(resource_group, cloud)
        return [s for s in self.items(f"{self._base(pc)}/segments") if isinstance(s, Segment)]

    @locked
    def get_segment(self, resource_group: str, cloud: str, name: str) -> Segment:
        pc = self.cloud_at(resource_group, cloud)
        found = self.lookup(f"{self._base(pc)}/segments", name, "segment")
        assert isinstance(found, Segment)
        return found

    @locked
    def create_segment(
        self, resource_group: str, cloud: str, name: str, body: SegmentBody
    ) -> tuple[Segment, Operation, bool]:
        """PUT: the body replaces the segment's writable properties."""
        pc = self.cloud_at(resource_group, cloud)
        props = body.properties
        subnet = props.subnet
        address = subnet.gateway_address if subnet else None
        gateway = self._gateway_path(pc, props.connected_gateway)
        self._check_overlap(pc, name, gateway, address)
        existing = self.find(f"{self._base(pc)}/segments", name)
        now = self.now()
        if isinstance(existing, Segment):
            segment = existing
            segment.provisioning_state = "Updating"
        else:
            segment = Segment(
                id=f"{self._base(pc)}/segments/{name}",
                name=name,
                side=pc.side,
                created_at=now,
                modified_at=now,
                provisioning_state="Building",
                display_name=props.display_name or name,
            )
            self.store(f"{self._base(pc)}/segments", segment)

        def done(at: datetime) -> None:
            segment.display_name = props.display_name or name
            segment.connected_gateway, segment.gateway_address = gateway, address
            segment.dhcp_ranges = list(subnet.dhcp_ranges or []) if subnet else []
            if existing is not None:
                segment.revision += 1
            segment.provisioning_state, segment.modified_at = "Succeeded", at
            self.record(
                "segment.created" if existing is None else "segment.updated", at, cloud=pc.name, segment=name
            )

        return segment, self.begin("put", segment.id, pc.side, DURATIONS["segment"], done), existing is None

    @locked
    def update_segment(self, resource_group: str, cloud: str, name: str, body: SegmentBody) -> Operation:
        """PATCH: only the properties the body names change (network cutover sets connectedGateway)."""
        pc = self.cloud_at(resource_group, cloud)
        segment = self.get_segment(resource_group, cloud, name)
        props = body.properties
        sent = props.model_fields_set
        gateway = (
            self._gateway_path(pc, props.connected_gateway)
            if "connected_gateway" in sent
            else segment.connected_gateway
        )
        subnet = props.subnet
        address = subnet.gateway_address if subnet and subnet.gateway_address else segment.gateway_address
        self._check_overlap(pc, name, gateway, address)
        segment.provisioning_state = "Updating"

        def done(at: datetime) -> None:
            if props.display_name is not None:
                segment.display_name = props.display_name
            segment.connected_gateway, segment.gateway_address = gateway, address
            if subnet is not None and subnet.dhcp_ranges is not None:
                segment.dhcp_ranges = list(subnet.dhcp_ranges)
            segment.revision += 1
            segment.provisioning_state, segment.modified_at = "Succeeded", at
            self.record("segment.updated", at, cloud=pc.name, segment=name, gateway=gateway or "")

        return self.begin("patch", segment.id, pc.side, DURATIONS["segment"], done, result=segment.to_wire)

    @locked
    def delete_segment(self, resource_group: str, cloud: str, name: str) -> Operation | None:
        pc = self.cloud_at(resource_group, cloud)
        segment = self.find(f"{self._base(pc)}/segments", name)
        if segment is None:
            return None
        segment.provisioning_state = "Deleting"

        def done(at: datetime) -> None:
            self.discard(f"{self._base(pc)}/segments", name)
            self.record("segment.deleted", at, cloud=pc.name, segment=name)

        return self.begin("delete", segment.id, pc.side, DURATIONS["delete"], done)
