"""The vSphere/NSX inventory one HCX Manager sees: VMs, networks, datastores and containers.

The inventory starts from the scenario (`world.inventory[side]` and the cloud's networks, segments,
datastores, folders and resource pools) and then changes as migrations run: a Bulk migration powers
the source VM off and renames it with a POSIX-timestamp suffix, the other types take it away, and
every completed migration adds the VM to the destination's inventory. Network Extension adds the
stretched segment at the destination.

The `service/inventory/*` calls select a site by `filter.cloud.local/remote`, by endpoint id
(`filter.cloud.endpointId`, `filter.endpointId`, `?hcspUUID=`), and answer in the hybridity
envelope. Items carry both the field spellings real clients read (`entity_id` and `id`, `type` and
`entityType`, `href`/`value` for networks; hcx-api.md §4.1, §6.2 and PY-OSAM), and resource
containers carry both the flat and the nested endpoint fields (hcx-api.md §4.1). The VM filters by
name and id and the paging envelope are inferred (hcx-api.md §2.3 gives only the request's paging).
Sizes are binary (GiB), as vSphere reports them. This module depends on the standard library, the
scenario model and the core only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.core.scenario import NetworkSpec, VmSpec
from sandbox.hcx.exceptions import BadRequest, NotFound
from sandbox.hcx.ids import endpoint_id
from sandbox.hcx.models.core import operation
from sandbox.hcx.models.pairing import PairingMixin

if TYPE_CHECKING:
    from sandbox.core.world import Side

__all__ = ["GIB", "DatastoreRecord", "InventoryMixin", "NetworkRecord", "VmRecord"]

GIB = 2**30
PORTGROUP, SEGMENT = "DistributedVirtualPortgroup", "NsxtSegment"
_FIRST_VM = 1001
_DATACENTER_ID, _DATACENTER = "datacenter-3", "SDDC-Datacenter"


@dataclass
class NetworkRecord:
    network_id: str
    name: str
    kind: str  # PORTGROUP or SEGMENT
    gateway_cidr: str | None = None
    spec: NetworkSpec | None = None  # port groups only: VLAN and kind drive the NE restrictions
    connected_gateway: str | None = None

    def to_wire(self, origin: dict[str, Any]) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "entity_id": self.network_id,
            "id": self.network_id,
            "name": self.name,
            "displayName": self.name,
            "entityType": self.kind,
            "type": self.kind,
            "href": self.network_id,
            "value": self.network_id,
            "_origin": origin,
        }
        if self.spec is not None:
            wire["vlanId"] = self.spec.vlan
            wire["dvsId"], wire["dvsName"] = "dvs-21", "DSwitch"
        if self.gateway_cidr:
            wire["gatewayCidr"] = self.gateway_cidr
        if self.kind == SEGMENT:
            wire["connectedGateway"] = self.connected_gateway or ""
        return wire


@dataclass
class DatastoreRecord:
    datastore_id: str
    name: str
    capacity_gb: float
    free_gb: float
    reserved_gb: float = 0.0  # promised to migrations in flight towards this datastore

    def available_gb(self) -> float:
        return self.free_gb - self.reserved_gb

    def to_wire(self, origin: dict[str, Any]) -> dict[str, Any]:
        capacity, free = int(self.capacity_gb * GIB), int(max(0.0, self.free_gb) * GIB)
        return {
            "entity_id": self.datastore_id,
            "id": self.datastore_id,
            "name": self.name,
            "entityType": "Datastore",
            "type": "Datastore",
            "capacity": capacity,
            "freeSpace": free,
            "summary": {"capacity": capacity, "freeSpace": free},
            "_origin": origin,
        }


@dataclass
class VmRecord:
    vm_id: str
    name: str
    spec: VmSpec
    power_state: str  # "on" or "off"
    networks: list[str]  # network names at this site
    folder: str
    datastore: str
    resource_pool: str
    snapshots: int = 0
    iso_mounted: bool = False
    cbt_enabled: bool = False
    arrived_by: str | None = None  # the migration that brought it here
    extra: dict[str, Any] = field(default_factory=dict)

    def to_wire(self, inv: InventoryMixin, origin: dict[str, Any]) -> dict[str, Any]:
        spec = self.spec
        nets = [inv.network_by_name(n) for n in self.networks]
        net_wire = [
            {"type": n.kind, "value": n.network_id, "id": n.network_id, "name": n.name, "displayName": n.name}
            for n in nets
            if n is not None
        ]
        power = "poweredOn" if self.power_state == "on" else "poweredOff"
        ds = inv.datastore_by_name(self.datastore)
        return {
            "entity_id": self.vm_id,
            "id": self.vm_id,
            "entityId": self.vm_id,
            "name": self.name,
            "entityType": "VirtualMachine",
            "type": "VirtualMachine",
            "powerState": power,
            "summary": {
                "guestFullName": spec.guest_os,
                "guestId": spec.guest_os,
                "memorySizeMB": spec.memory_mb,
                "numCpu": spec.cpus,
                "diskSize": int(spec.disk_gb * GIB),
                "usedSpace": int(spec.used * GIB),
                "memorySize": spec.memory_mb * 2**20,
                "powerState": power,
            },
            "network": net_wire,
            "networkDevices": [
                {"key": 4000 + i, "label": f"Network adapter {i + 1}", "network": n["id"]}
                for i, n in enumerate(net_wire)
            ],
            "datastore": [{"id": ds.datastore_id, "name": ds.name}] if ds else [],
            "folder": {"id": inv.folder_id(self.folder), "name": self.folder},
            "resourcePool": {"id": inv.pool_id(self.resource_pool), "name": self.resource_pool},
            "hardwareVersion": f"vmx-{spec.hardware_version}",
            "snapshotCount": self.snapshots,
            "hasSnapshots": self.snapshots > 0,
            "isoMounted": self.iso_mounted,
            "cbtEnabled": self.cbt_enabled,
            "_origin": origin,
        }


def _flag(value: object) -> bool:
    # PS-Lam sends the cloud filter as strings ("true"); PY-OSAM and TF as booleans.
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _as_list(value: object) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise BadRequest("filter: name and id filters are a string or a list of strings")


class InventoryMixin(PairingMixin):
    def _init_inventory(self) -> None:
        cloud = self.world.cloud(self.side)
        self.networks: dict[str, NetworkRecord] = {}
        for i, net in enumerate(cloud.networks):
            rec = NetworkRecord(f"dvportgroup-{101 + i}", net.name, PORTGROUP, net.gateway_cidr, net)
            self.networks[rec.network_id] = rec
        for seg in cloud.segments:
            self._add_segment(seg.name, seg.gateway_cidr, seg.connected_gateway)
        self.datastores: dict[str, DatastoreRecord] = {
            f"datastore-{11 + i}": DatastoreRecord(f"datastore-{11 + i}", d.name, d.capacity_gb, d.free_gb)
            for i, d in enumerate(cloud.datastores)
        }
        # A Bulk switchover moves the renamed source into "Migrated VMs" (anchors.md §1.1).
        self.folders: list[str] = list(dict.fromkeys([*cloud.folders, "Migrated VMs"]))
        self.pools: list[str] = list(cloud.resource_pools)
        self.clusters: list[str] = [c.name for c in cloud.clusters]
        self.vms: dict[str, VmRecord] = {}
        self._next_vm = _FIRST_VM
        default_ds = next(iter(self.datastores.values())).name
        for spec in self.world.inventory[self.side]:
            if spec.folder not in self.folders:
                self.folders.append(spec.folder)
            self._add_vm(
                VmRecord(
                    "",
                    spec.name,
                    spec,
                    spec.power_state,
                    list(spec.networks),
                    spec.folder,
                    default_ds,
                    self.pools[0] if self.pools else "Compute-ResourcePool",
                    spec.snapshots,
                    spec.iso_mounted,
                    spec.cbt_enabled,
                )
            )

    # -- lookups other families use -----------------------------------------------------------------

    def vm_by_id(self, vm_id: str) -> VmRecord | None:
        return self.vms.get(vm_id)

    def vm_by_name(self, name: str) -> VmRecord | None:
        for vm in self.vms.values():
            if vm.name == name:
                return vm
        return None

    def network_by_name(self, name: str) -> NetworkRecord | None:
        for net in self.networks.values():
            if net.name == name:
                return net
        return None

    def network_by_ref(self, ref: str) -> NetworkRecord | None:
        return self.networks.get(ref) or self.network_by_name(ref)

    def datastore_by_name(self, name: str) -> DatastoreRecord | None:
        for ds in self.datastores.values():
            if ds.name == name:
                return ds
        return None

    def datastore_by_ref(self, ref: str) -> DatastoreRecord | None:
        return self.datastores.get(ref) or self.datastore_by_name(ref)

    def folder_id(self, name: str) -> str:
        return f"group-v{20 + self.folders.index(name)}" if name in self.folders else "group-v1"

    def pool_id(self, name: str) -> str:
        return f"resgroup-{10 + self.pools.index(name)}" if name in self.pools else "resgroup-1"

    def origin_of(self) -> dict[str, Any]:
        return {
            "endpointId": self.endpoint_id,
            "endpointName": self.manager_name(self.side),
            "resourceId": self.vcenter_uuid,
            "resourceName": self._vcenter_name(),
        }

    def inventory_of(self, side: Side) -> InventoryMixin | None:
        """This manager's inventory, or the paired remote site's (through its manager)."""
        if side == self.side:
            return self
        peer = self.world.hcx.get(side)
        return peer if isinstance(peer, InventoryMixin) else None

    # -- changes other families make ----------------------------------------------------------------

    def _add_vm(self, vm: VmRecord) -> VmRecord:
        vm.vm_id = f"vm-{self._next_vm}"
        self._next_vm += 1
        self.vms[vm.vm_id] = vm
        return vm

    def _add_segment(
        self, name: str, gateway_cidr: str | None, connected_gateway: str | None
    ) -> NetworkRecord:
        existing = self.network_by_name(name)
        if existing is not None and existing.kind == SEGMENT:
            return existing
        rec = NetworkRecord(f"/infra/segments/{name}", name, SEGMENT, gateway_cidr, None, connected_gateway)
        self.networks[rec.network_id] = rec
        return rec

    # -- operations -----------------------------------------------------------------------------------

    @operation
    def list_resource_containers(self, body: object) -> list[dict[str, Any]]:
        out = []
        for side in self._sites(body):
            inv = self.inventory_of(side)
            if inv is None:
                continue
            origin = inv.origin_of()
            out.append(
                {
                    "url": self.world.hcx_urls.get(side) or f"https://{self.world.hcx_host(side)}",
                    "vcuuid": inv.vcenter_uuid,
                    "version": "8.0.3",
                    "buildNumber": "24022515",
                    "osType": "linux-x64",
                    "name": origin["resourceName"],
                    "resourceId": inv.vcenter_uuid,
                    "resourceType": "VC",
                    "resourceName": origin["resourceName"],
                    "vimId": inv.vcenter_uuid,
                    "vimServerUuid": inv.vcenter_uuid,
                    "endpointId": inv.endpoint_id,
                    "endpointName": origin["endpointName"],
                    "endpointType": "VC",
                    "endpoint": {"name": origin["endpointName"], "endpointId": inv.endpoint_id},
                }
            )
        return out

    @operation
    def list_clouds(self, body: object) -> list[dict[str, Any]]:
        return [
            {
                "endpointId": endpoint_id(self.world, side),
                "name": self.manager_name(side),
                "url": self.world.hcx_urls.get(side) or f"https://{self.world.hcx_host(side)}",
                "endpointType": "VC",  # inferred: hcx-api.md §4.1
                "cloudType": "nsp",  # inferred: hcx-api.md §4.1
            }
            for side in self._sites(body)
        ]

    @operation
    def list_networks(self, body: object) -> list[dict[str, Any]]:
        return self._items(body, lambda inv, origin: [n.to_wire(origin) for n in inv.networks.values()])

    @operation
    def list_datastores(self, body: object) -> list[dict[str, Any]]:
        return self._items(body, lambda inv, origin: [d.to_wire(origin) for d in inv.datastores.values()])

    @operation
    def list_storage_profiles(self, body: object) -> list[dict[str, Any]]:
        def profiles(inv: InventoryMixin, origin: dict[str, Any]) -> list[dict[str, Any]]:
            return [
                {
                    "entity_id": f"aa6d5a82-1c88-45da-85d3-3d74b91a5bad-{inv.side}",
                    "name": "vSAN Default Storage Policy",
                    "entityType": "storageProfile",
                    "type": "StorageProfile",
                    "_origin": origin,
                }
            ]

        return self._items(body, profiles)

    @operation
    def list_containers(self, body: object) -> list[dict[str, Any]]:
        flt = self._filter(body)
        wanted = _as_list(flt.get("entityType"))
        keys = {w.replace("_", "").lower() for w in wanted} if wanted else None

        def containers(inv: InventoryMixin, origin: dict[str, Any]) -> list[dict[str, Any]]:
            rows = [("Datacenter", _DATACENTER_ID, _DATACENTER)]
            rows += [("ClusterComputeResource", f"domain-c{8 + i}", c) for i, c in enumerate(inv.clusters)]
            rows += [("ResourcePool", inv.pool_id(p), p) for p in inv.pools]
            rows += [("Folder", inv.folder_id(f), f) for f in inv.folders]
            aliases = {"ClusterComputeResource": {"cluster", "clustercomputeresource", "computeresource"}}
            return [
                {
                    "entity_id": cid,
                    "id": cid,
                    "name": name,
                    "entityType": kind,
                    "type": kind,
                    "_origin": origin,
                }
                for kind, cid, name in rows
                if keys is None or kind.lower() in keys or keys & aliases.get(kind, set())
            ]

        return self._items(body, containers)

    @operation
    def list_virtual_machines(self, body: object, hcsp_uuid: str | None = None) -> dict[str, Any]:
        """One page of VMs: `{"items": [...], "paging": {...}}`."""
        flt = self._filter(body)
        # inferred: hcx-api.md §4.1, §2.3 (no VM filter is documented; name and id filters let a
        # client look one VM up without paging the whole inventory)
        names = _as_list(flt.get("name") or flt.get("entityName"))
        ids = _as_list(flt.get("entityId") or flt.get("entity_id") or flt.get("id"))
        paging = body.get("paging", {}) if isinstance(body, dict) else {}
        if not isinstance(paging, dict):
            raise BadRequest("paging: must be an object")
        skip = paging.get("skipCount", paging.get("offset", 0))
        size = paging.get("pageSize", 1000)  # inferred: PY-OSAM's page size as the default
        if not isinstance(skip, int) or skip < 0:
            raise BadRequest("paging.skipCount: must be a non-negative integer")
        if not isinstance(size, int) or size < 1:
            raise BadRequest("paging.pageSize: must be a positive integer")
        rows: list[tuple[InventoryMixin, VmRecord]] = []
        for side in self._sites(body, hcsp_uuid):
            inv = self.inventory_of(side)
            if inv is None:
                continue
            rows += [
                (inv, vm)
                for vm in inv.vms.values()
                if (names is None or vm.name in names) and (ids is None or vm.vm_id in ids)
            ]
        page = rows[skip : skip + size]
        # inferred: hcx-api.md §2.3 (only the request's paging is documented)
        return {
            "items": [vm.to_wire(inv, inv.origin_of()) for inv, vm in page],
            "paging": {"skipCount": skip, "pageSize": size, "totalCount": len(rows), "totalSize": len(rows)},
        }

    # -- helpers ------------------------------------------------------------------------------------------

    def _vcenter_name(self) -> str:
        return f"vc.{self.world.cloud(self.side).name}.avs.local"

    def _filter(self, body: object) -> dict[str, Any]:
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise BadRequest("body: must be a JSON object")
        flt = body.get("filter", body)  # PS-Lam sends the cloud selector without the wrapper
        if not isinstance(flt, dict):
            raise BadRequest("filter: must be an object")
        return flt

    def _sites(self, body: object, hcsp_uuid: str | None = None) -> list[Side]:
        flt = self._filter(body)
        cloud = flt.get("cloud", {})
        if not isinstance(cloud, dict):
            raise BadRequest("filter.cloud: must be an object")
        endpoint = cloud.get("endpointId") or flt.get("endpointId") or hcsp_uuid
        remote = self.pairing_remote()
        if endpoint:
            if endpoint == self.endpoint_id:
                return [self.side]
            if remote is not None and endpoint == endpoint_id(self.world, remote):
                return [remote]
            raise NotFound(f"endpoint {endpoint} is neither this HCX Manager nor a paired site")
        # TF's cloud/list puts the flags straight in the filter; everyone else under `cloud`.
        local = _flag(cloud.get("local", flt.get("local")))
        wants_remote = _flag(cloud.get("remote", flt.get("remote")))
        sites: list[Side] = [self.side] if local or not wants_remote else []
        if wants_remote and remote is not None:
            sites.append(remote)
        return sites

    def pairing_remote(self) -> Side | None:
        pairing = self.pairing_to(self.peer_side)
        return pairing.remote if pairing else None

    def _items(self, body: object, render: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for side in self._sites(body):
            inv = self.inventory_of(side)
            if inv is not None:
                out += render(inv, inv.origin_of())
        return out
