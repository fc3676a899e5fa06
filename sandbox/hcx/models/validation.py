"""Checking mobility migration items: the errors and warnings validate and start report.

Every check runs on every item and all errors and warnings are reported at once. Errors: unknown
entity, migration type not run here, source not local, destination not paired, no usable service
mesh offering the type's service (or the chosen mesh lacks it), RAV without the Enterprise edition, an
active migration of the VM already (exactly-once), Cold on a powered-on VM, vMotion of a powered-off
VM, vMotion/RAV below hardware version 9, snapshots or a mounted ISO the request does not remove, a
VM network without a mapping, the VM's name already present at the destination, an unknown or
too-small destination datastore, an impossible switchover window, and injected `validate`/`start`
faults. Warnings: snapshots or ISOs that will be removed, CBT enabled, a window on a type that cannot
be scheduled. Items of one request see what earlier items claimed (the VM, its name at the
destination, datastore space). This module depends on the standard library and the backend mixins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.hcx.exceptions import BadRequest
from sandbox.hcx.ids import endpoint_id
from sandbox.hcx.models.inventory import DatastoreRecord, InventoryMixin, VmRecord
from sandbox.hcx.models.lifecycle import LifecycleMixin
from sandbox.hcx.models.mesh import Mesh
from sandbox.hcx.models.migration import ACTIVE_STATES, BULK, COLD, RAV, VMOTION, WIRE_TYPES, Migration
from sandbox.hcx.models.request import MigrationRequest, parse_item

__all__ = ["SERVICE", "ItemResult", "ValidationMixin"]

# inferred: Cold migration rides on the VMOTION service; RAV needs the RAV service (hcx-api.md §5.1)
SERVICE = {BULK: "BULK_MIGRATION", RAV: "RAV", VMOTION: "VMOTION", COLD: "VMOTION"}


@dataclass
class ItemResult:
    entity_id: str | None
    errors: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    migration: Migration | None = None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "entityId": self.entity_id,
            "errors": self.errors or None,
            "warnings": self.warnings,
        }
        if self.migration is not None:
            wire["migrationId"] = self.migration.migration_id
            wire["migrationGroupId"] = self.migration.group_id
        return wire


@dataclass
class _Checked:
    vm: VmRecord | None = None
    mesh: Mesh | None = None
    datastore: DatastoreRecord | None = None


@dataclass
class _Pending:
    """What earlier items of the same request already claimed."""

    vms: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    space: dict[str, float] = field(default_factory=dict)  # GiB per destination datastore id


class ValidationMixin(LifecycleMixin):
    def _check_all(self, body: object, phase: str) -> list[tuple[ItemResult, MigrationRequest, _Checked]]:
        if not isinstance(body, dict) or not isinstance(body.get("items"), list) or not body["items"]:
            raise BadRequest('items: required, a non-empty list of migrations ({"items": [...]})')
        defaults = {k: body.get(k) for k in ("tags", "migrationGroupName")}
        pending = _Pending()
        out = []
        for i, raw in enumerate(body["items"]):
            req = parse_item(i, raw, defaults)
            result = ItemResult(req.entity_id)
            found = self._check(req, result, pending)
            if found.vm is not None and self._consume_fault(found.vm.name, phase):
                code = "VALIDATION_FAILED" if phase == "validate" else "START_FAILED"
                self._error(result, code, self._fault_message(found.vm.name, phase))
            if not result.errors and found.vm is not None and found.datastore is not None:
                pending.vms.add(found.vm.vm_id)
                pending.names.add(found.vm.name)
                ds_id = found.datastore.datastore_id
                pending.space[ds_id] = pending.space.get(ds_id, 0.0) + found.vm.spec.disk_gb
            out.append((result, req, found))
        return out

    def _consume_fault(self, vm: str, phase: str) -> bool:
        if self.vm_faults[(vm, phase)] > 0:
            self.vm_faults[(vm, phase)] -= 1
            self.record("fault_injected", vm=vm, phase=phase)
            return True
        return False

    @staticmethod
    def _error(result: ItemResult, code: str, message: str) -> None:
        # inferred: hcx-api.md §7.2 (error codes are UPPER_SNAKE strings; the names are ours)
        result.errors.append({"code": code, "message": message})

    @staticmethod
    def _warn(result: ItemResult, code: str, message: str) -> None:
        result.warnings.append({"code": code, "message": message})

    def _check(self, req: MigrationRequest, result: ItemResult, pending: _Pending) -> _Checked:
        found = _Checked()
        where = f"items[{req.index}]"
        vm = self.vm_by_id(req.entity_id) if req.entity_id else self.vm_by_name(req.entity_name or "")
        if vm is None:
            self._error(
                result,
                "UNKNOWN_ENTITY",
                f"{where}.entity.entityId: no VM {req.entity_id or req.entity_name} at this site",
            )
        else:
            result.entity_id = vm.vm_id
        if req.kind is None:
            kinds = ", ".join(t[0] for t in WIRE_TYPES.values())
            self._error(
                result,
                "MIGRATION_TYPE_NOT_SUPPORTED",
                f"{where}.migrationType: {req.wire_type} is not one of {kinds}",
            )
        if req.source_endpoint and req.source_endpoint != self.endpoint_id:
            self._error(
                result,
                "SOURCE_NOT_LOCAL",
                f"{where}.source.endpointId: a migration starts at the manager of the VM's site "
                f"({self.endpoint_id})",
            )
        remote = self.pairing_remote()
        if remote is None:
            self._error(
                result, "DESTINATION_NOT_PAIRED", f"{where}.destination: this HCX Manager has no site pairing"
            )
        elif req.destination_endpoint and req.destination_endpoint != endpoint_id(self.world, remote):
            self._error(
                result,
                "DESTINATION_NOT_PAIRED",
                f"{where}.destination.endpointId: {req.destination_endpoint} is not a paired site",
            )
        if req.kind is not None:
            found.mesh = self._choose_mesh(req, result, where)
            if req.kind == RAV and self.edition() != "enterprise":
                self._error(
                    result, "LICENSE_REQUIRED", f"{where}.migrationType: RAV needs the HCX Enterprise edition"
                )
        if vm is not None and req.kind is not None:
            self._check_vm(req, vm, result, pending, where)
            remote_inv = self.inventory_of(remote) if remote is not None else None
            if remote_inv is not None:
                found.datastore = self._check_destination(req, vm, remote_inv, result, pending, where)
        self._check_schedule(req, result, where)
        found.vm = vm
        return found

    def _choose_mesh(self, req: MigrationRequest, result: ItemResult, where: str) -> Mesh | None:
        assert req.kind is not None
        service = SERVICE[req.kind]
        if req.mesh_ref:
            mesh = self.meshes.get(req.mesh_ref) or next(
                (m for m in self.meshes.values() if m.name == req.mesh_ref), None
            )
            if mesh is None:
                self._error(
                    result, "SERVICE_MESH_NOT_FOUND", f"{where}.serviceMeshId: no service mesh {req.mesh_ref}"
                )
            elif service not in mesh.services or mesh.state != "COMMITTED" or not mesh.ix:
                self._error(
                    result,
                    "SERVICE_NOT_IN_MESH",
                    f"{where}.serviceMeshId: service mesh {mesh.name} ({mesh.state}) does not offer "
                    f"{service}",
                )
                return None
            return mesh
        mesh = self.mesh_offering(service)
        if mesh is None:
            self._error(
                result,
                "SERVICE_NOT_IN_MESH",
                f"{where}.migrationType: no committed service mesh offers {service}",
            )
        return mesh

    def _check_vm(
        self, req: MigrationRequest, vm: VmRecord, result: ItemResult, pending: _Pending, where: str
    ) -> None:
        active = next((m for m in self.migrations.values() if m.vm is vm and m.state in ACTIVE_STATES), None)
        if active is not None or vm.vm_id in pending.vms:
            ref = active.migration_id if active else "an earlier item of this request"
            self._error(
                result,
                "DUPLICATE_MIGRATION",
                f"{where}.entity: {vm.name} already has an active migration ({ref})",
            )
        if req.kind == COLD and vm.power_state == "on":
            self._error(
                result, "VM_POWERED_ON", f"{where}.migrationType: Cold migration needs {vm.name} powered off"
            )
        if req.kind == VMOTION and vm.power_state == "off":
            self._error(
                result,
                "VM_POWERED_OFF",
                f"{where}.migrationType: vMotion needs {vm.name} powered on; use ColdMigration",
            )
        # anchors.md §1.1: vMotion and RAV need hardware version 9 or later.
        if req.kind in (VMOTION, RAV) and vm.spec.hardware_version < 9:
            self._error(
                result,
                "HARDWARE_VERSION_UNSUPPORTED",
                f"{where}.entity: {req.kind} needs hardware version 9 or later "
                f"({vm.name} has {vm.spec.hardware_version})",
            )
        # inferred: snapshots and ISOs are errors unless the request removes them (hcx-api.md §7.1
        # options), CBT a warning
        if vm.snapshots:
            if req.remove_snapshots:
                self._warn(
                    result,
                    "SNAPSHOTS_REMOVED",
                    f"{vm.name} has {vm.snapshots} snapshot(s); they will be removed",
                )
            else:
                self._error(
                    result,
                    "SNAPSHOTS_PRESENT",
                    f"{where}.transferParams.transferProfile: {vm.name} has snapshots; set removeSnapshots",
                )
        if vm.iso_mounted:
            if req.remove_isos:
                self._warn(result, "ISO_UNMOUNTED", f"{vm.name} has a mounted ISO; it will be unmounted")
            else:
                self._error(
                    result,
                    "ISO_MOUNTED",
                    f"{where}.transferParams.transferProfile: {vm.name} has a mounted ISO; set removeISOs",
                )
        if vm.cbt_enabled:
            self._warn(
                result,
                "CBT_ENABLED",
                f"{vm.name} has Changed Block Tracking enabled; it is reset on the copy",
            )
        missing = []
        for name in vm.networks:
            net = self.network_by_name(name)
            if req.destination_network_for(net.network_id if net else name, name) is None:
                missing.append(name)
        if missing:
            self._error(
                result,
                "MISSING_NETWORK_MAPPING",
                f"{where}.networkParams.networkMappings: no mapping for {', '.join(missing)}",
            )

    def _check_destination(
        self,
        req: MigrationRequest,
        vm: VmRecord,
        remote: InventoryMixin,
        result: ItemResult,
        pending: _Pending,
        where: str,
    ) -> DatastoreRecord | None:
        if remote.vm_by_name(vm.name) is not None or vm.name in pending.names:
            self._error(
                result,
                "NAME_EXISTS_AT_DESTINATION",
                f"{where}.entity: a VM named {vm.name} already exists at the destination",
            )
        if req.datastore_ref:
            ds = remote.datastore_by_ref(req.datastore_ref)
        else:
            ds = next(iter(remote.datastores.values()), None)  # inferred: the first datastore by default
        if ds is None:
            self._error(
                result,
                "DATASTORE_NOT_FOUND",
                f"{where}.storage.defaultStorage: no datastore {req.datastore_ref} at the destination",
            )
            return None
        available = ds.available_gb() - pending.space.get(ds.datastore_id, 0.0)
        if available < vm.spec.disk_gb:
            self._error(
                result,
                "INSUFFICIENT_DATASTORE_SPACE",
                f"{where}.storage.defaultStorage: {ds.name} has {max(0.0, available):.1f} GiB available, "
                f"{vm.name} needs {vm.spec.disk_gb:.1f} GiB",
            )
        return ds

    def _check_schedule(self, req: MigrationRequest, result: ItemResult, where: str) -> None:
        start, expiry = req.switchover_start_ms, req.switchover_expiry_ms
        if start and expiry and expiry <= start:
            self._error(
                result,
                "INVALID_SCHEDULE",
                f"{where}.switchoverParams.schedule.expiryTime: must be after startTime",
            )
        elif expiry and expiry <= self.epoch_ms(self.now):
            self._error(
                result, "INVALID_SCHEDULE", f"{where}.switchoverParams.schedule.expiryTime: already passed"
            )
        # anchors.md §1.1: vMotion "cannot be scheduled or delayed"; Cold is treated alike (inferred)
        if (start or expiry) and req.kind in (VMOTION, COLD):
            self._warn(
                result,
                "SCHEDULE_IGNORED",
                f"{req.kind} switchovers cannot be scheduled; the window is ignored",
            )
