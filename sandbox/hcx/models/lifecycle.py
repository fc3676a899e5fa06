"""The migration state machines, driven by the manager's time line.

Per type (anchors.md §1.1, hcx-api.md §7.5):

* Bulk: base sync of the used bytes; then, until the switchover window opens, a delta sync every
  2 h (RPO) of what the VM wrote since the last sync began (`churn_gb_per_hour`); then switchover:
  power the source off, final sync, power the copy on at the destination. The source stays behind,
  powered off and renamed `<name>-<POSIX seconds>`.
* RAV: replication as Bulk (in parallel), then a vMotion cutover of the last delta and memory. One
  cutover at a time per interconnect appliance; the others keep delta-syncing while they wait.
* vMotion: one at a time per manager (inferred: "VMware only supports serial HCX vMotion
  migrations", anchors.md §1.1, read as per manager); copies used disk and memory, then switches.
* Cold: powered-off VMs only; copies the used bytes, then registers the VM at the destination.

Admission: Bulk and RAV hold a concurrency slot from transfer to the end (300 per manager, 200 per
service mesh); extra requests wait QUEUED in arrival order (inferred: hcx-api.md §10.6). A slot's
migrations spread over the mesh's interconnect appliances, least loaded first.

Windows: `switchoverParams.schedule.startTime` holds the switchover until then; if `expiryTime`
passes before the switchover starts the migration fails (inferred: hcx-api.md §10.6). vMotion and
Cold cannot be scheduled (anchors.md §1.1) and ignore the window. A transfer schedule's
`startTime` holds the whole migration QUEUED until then (inferred).

Faults (`faults.vm_failures`): `transfer` fails the copy halfway, `switchover` fails it after the
power-off; each listed failure fires once, then the VM behaves. A failed or cancelled Bulk/RAV
migration leaves its base-sync bytes at the destination as a seed checkpoint; a retry that asks for
`longRecovery` resumes from them (hcx-api.md §7.1, "re-use seed data on target").

The fixed step durations below are the simulator's choice (inferred: anchors.md §5 gives only
ranges). This module depends on the standard library and the backend mixins only.
"""

from __future__ import annotations

from collections import Counter, deque
from typing import TYPE_CHECKING

from sandbox.hcx.models.inventory import GIB, InventoryMixin, VmRecord
from sandbox.hcx.models.mesh import MeshMixin
from sandbox.hcx.models.migration import (
    BULK,
    CANCELLED,
    CANCELLING,
    COLD,
    COMPLETE,
    FAILED,
    QUEUED,
    RAV,
    SWITCHOVER,
    TRANSFER,
    TRANSFER_FAILED,
    VMOTION,
    WAITING,
    Migration,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["MAX_PER_MANAGER", "MAX_PER_MESH", "RPO_SECONDS", "LifecycleMixin"]

MAX_PER_MANAGER = 300  # concurrent Bulk + RAV per HCX Manager (anchors.md §1.5)
MAX_PER_MESH = 200  # concurrent Bulk + RAV per service mesh (anchors.md §1.5)
RPO_SECONDS = 2 * 3600  # Bulk/RAV delta-sync interval while waiting for switchover
_POWER_OFF = 60.0  # inferred: seconds for a guest shutdown at switchover
_POWER_ON = 120.0  # inferred: seconds to instantiate and boot the copy at the destination
_CUTOVER = 60.0  # inferred: RAV vMotion stun and switch
_VMOTION_SWITCH = 30.0  # inferred: vMotion stun and switch
_COLD_REGISTER = 60.0  # inferred: register the cold copy at the destination
_CANCEL = 30.0  # inferred: cleanup before a cancel is final
SLOTTED = (BULK, RAV)


class LifecycleMixin(InventoryMixin, MeshMixin):
    def _init_lifecycle(self) -> None:
        self.migrations: dict[str, Migration] = {}
        self._queue: list[Migration] = []
        self._active_total = 0
        self._active_mesh: Counter[str] = Counter()
        self._ix_load: Counter[str] = Counter()
        self._vmotion: Migration | None = None
        self._switch_holder: dict[str, Migration] = {}
        self._switch_waiting: dict[str, deque[Migration]] = {}
        self._checkpoints: dict[str, float] = {}
        self._admit_timer: int | None = None
        self.peaks: Counter[str] = Counter()
        self.vm_faults: Counter[tuple[str, str]] = Counter()
        for fault in self.world.scenario.faults.vm_failures:
            self.vm_faults[(fault.vm, fault.phase)] += fault.times

    # -- helpers ------------------------------------------------------------------------------------

    def _log(self, m: Migration, message: str) -> None:
        m.message, m.updated = message, self.now
        m.log.append((self.now, message))

    def _set(self, m: Migration, state: str, message: str) -> None:
        m.state = state
        self._log(m, message)
        self.record("migration_state", migration=m.migration_id, vm=m.entity_name, state=state)

    def _flow(self, m: Migration, kind: str, size: float, then: Callable[[Migration, float], None]) -> None:
        assert m.appliance is not None
        m.flow_seq += 1
        flow = f"{m.migration_id}#{m.flow_seq}"
        m.flow, m.flow_kind = flow, kind

        def finished() -> None:
            m.flow = None
            m.done += size
            then(m, size)

        self.timeline.transfer(flow, m.appliance.appliance_id, size, finished)

    def _after(self, m: Migration, name: str, seconds: float, then: Callable[[Migration], None]) -> None:
        def fire() -> None:
            m.timers.pop(name, None)
            if not m.terminal:
                then(m)

        self.timeline.cancel(m.timers.get(name))
        m.timers[name] = self.timeline.at(self.now + seconds, fire)

    def _fault(self, m: Migration, phase: str) -> bool:
        key = (m.entity_name, phase)
        if self.vm_faults[key] > 0:
            self.vm_faults[key] -= 1
            return True
        return False

    def _fault_message(self, vm: str, phase: str) -> str:
        for fault in self.world.scenario.faults.vm_failures:
            if fault.vm == vm and fault.phase == phase:
                return fault.message
        return "Injected failure"

    def _window(self, m: Migration) -> tuple[float | None, float | None]:
        req = m.request
        start = self.t_from_ms(req.switchover_start_ms) if req.switchover_start_ms else None
        expiry = self.t_from_ms(req.switchover_expiry_ms) if req.switchover_expiry_ms else None
        return start, expiry

    # -- admission ---------------------------------------------------------------------------------

    def _enqueue(self, m: Migration) -> None:
        self.migrations[m.migration_id] = m
        self._queue.append(m)
        _, expiry = self._window(m)
        if expiry is not None and m.kind in SLOTTED:
            self._after(m, "expiry", expiry - self.now, self._expire)
        self._admit()

    def _admit(self) -> None:
        waiting: list[Migration] = []
        next_start: float | None = None
        for m in self._queue:
            if m.state != QUEUED:
                continue  # cancelled or failed while it waited
            # inferred: a transfer schedule holds the whole migration (hcx-api.md §7.1 documents the
            # field, not its effect)
            not_before = self.t_from_ms(m.request.transfer_start_ms) if m.request.transfer_start_ms else 0.0
            if not_before > self.now:
                next_start = not_before if next_start is None else min(next_start, not_before)
                waiting.append(m)
            elif m.kind in SLOTTED:
                # inferred: hcx-api.md §10.6 (requests beyond the limits wait, in arrival order)
                if self._active_total >= MAX_PER_MANAGER or self._active_mesh[m.mesh.mesh_id] >= MAX_PER_MESH:
                    waiting.append(m)
                else:
                    self._take_slot(m)
                    self._begin_transfer(m)
            elif m.kind == VMOTION:
                # inferred: anchors.md §1.1 "only serial HCX vMotion", read as one per manager
                if self._vmotion is not None:
                    waiting.append(m)
                else:
                    self._vmotion = m
                    self._assign_appliance(m)
                    self._begin_transfer(m)
            else:
                self._assign_appliance(m)
                self._begin_transfer(m)
        self._queue = waiting
        self.timeline.cancel(self._admit_timer)
        self._admit_timer = self.timeline.at(next_start, self._admit) if next_start is not None else None

    def _assign_appliance(self, m: Migration) -> None:
        # inferred: HCX 4.8+ uses several IX per mesh (anchors.md §1.1); least-loaded placement is ours
        m.appliance = min(m.mesh.ix, key=lambda a: (self._ix_load[a.appliance_id], a.name))
        self._ix_load[m.appliance.appliance_id] += 1

    def _take_slot(self, m: Migration) -> None:
        m.holds_slot = True
        self._active_total += 1
        self._active_mesh[m.mesh.mesh_id] += 1
        self._assign_appliance(m)
        self._peak("concurrent_migrations", self._active_total)
        self._peak(f"mesh:{m.mesh.name}:concurrent_migrations", self._active_mesh[m.mesh.mesh_id])

    def _peak(self, name: str, value: int) -> None:
        self.peaks[name] = max(self.peaks[name], value)
        self.world.stats.peak(f"{self.source_name}:{name}", value)

    def _stop_work(self, m: Migration) -> None:
        """Cancel the migration's timers and stop its transfer, counting what had moved."""
        for timer in m.timers.values():
            self.timeline.cancel(timer)
        m.timers.clear()
        if m.flow is not None:
            moved = self.timeline.stop_transfer(m.flow)
            m.done += moved
            if m.flow_kind == "base":
                m.base_done += moved
            m.flow = None

    def _release(self, m: Migration) -> None:
        """Give back everything a migration holds; called once, when it reaches a terminal state."""
        if m.holds_slot:
            m.holds_slot = False
            self._active_total -= 1
            self._active_mesh[m.mesh.mesh_id] -= 1
        if m.appliance is not None:
            self._ix_load[m.appliance.appliance_id] -= 1
        self._stop_work(m)
        m.datastore.reserved_gb -= m.vm.spec.disk_gb
        if self._vmotion is m:
            self._vmotion = None
        if m.appliance is not None and self._switch_holder.get(m.appliance.appliance_id) is m:
            del self._switch_holder[m.appliance.appliance_id]
            self._next_switchover(m.appliance.appliance_id)
        self._admit()

    # -- transfer ----------------------------------------------------------------------------------

    def _begin_transfer(self, m: Migration) -> None:
        m.transfer_start = self.now
        m.dirty_since = self.now
        spec = m.vm.spec
        used = spec.used * GIB
        if m.kind in SLOTTED:
            m.seeded = (
                min(used, self._checkpoints.get(m.entity_name, 0.0)) if m.request.long_recovery else 0.0
            )
            size = used - m.seeded
            m.total, m.done, m.base_done = used, m.seeded, m.seeded
            kind, text = "base", "Base sync in progress"
            if m.seeded:
                text = f"Base sync resumed from seed checkpoint ({int(m.seeded)} bytes)"
        else:
            size = used + (spec.memory_mb * 2**20 if m.kind == VMOTION else 0)
            m.total = size
            kind, text = "copy", "Transfer in progress"
        self._set(m, TRANSFER, text)
        if self._fault(m, "transfer"):
            self._flow(m, kind, size / 2, self._transfer_fault)
        else:
            self._flow(m, kind, size, self._transferred)

    def _transfer_fault(self, m: Migration, size: float) -> None:
        if m.flow_kind == "base":
            m.base_done += size
        self._fail(m, TRANSFER_FAILED, self._fault_message(m.entity_name, "transfer"))

    def _transferred(self, m: Migration, size: float) -> None:
        m.transfer_end = self.now
        if m.kind in SLOTTED:
            m.base_done += size
            self._log(m, "Base sync complete")
            self._ready(m)
        else:
            self._begin_switchover(m)

    def _schedule_delta(self, m: Migration) -> None:
        if "delta" not in m.timers and m.flow is None:
            self._after(m, "delta", max(0.0, m.dirty_since + RPO_SECONDS - self.now), self._delta)

    def _delta(self, m: Migration) -> None:
        if m.state != WAITING or m.flow is not None:
            return
        size = m.vm.spec.churn_gb_per_hour * GIB * (self.now - m.dirty_since) / 3600
        started = self.now
        m.total += size
        m.deltas += 1
        self._log(m, f"Delta sync {m.deltas} in progress")

        def synced(m: Migration, size: float) -> None:
            m.dirty_since = started
            self._log(m, f"Delta sync {m.deltas} complete")
            self.record("delta_sync", migration=m.migration_id, vm=m.entity_name, bytes=int(size))
            self._ready(m)

        self._flow(m, "delta", size, synced)

    # -- switchover --------------------------------------------------------------------------------

    def _ready(self, m: Migration) -> None:
        """Replicated: switch over now if the window and the appliance allow, else wait and sync."""
        if m.state not in (TRANSFER, WAITING):
            return
        start, _ = self._window(m)
        if start is not None and start > self.now:
            self._wait(m, "Waiting for the switchover window")
            if "window" not in m.timers:
                self._after(m, "window", start - self.now, self._ready)
            return
        if m.kind == RAV:
            # One cutover at a time per interconnect appliance (anchors.md §1.1: serial per IX).
            assert m.appliance is not None
            key = m.appliance.appliance_id
            holder = self._switch_holder.get(key)
            if holder is None:
                self._switch_holder[key] = m
            elif holder is not m:
                queue = self._switch_waiting.setdefault(key, deque())
                if m not in queue:
                    queue.append(m)
                self._wait(m, "Waiting for the appliance's serial switchover")
                return
        if m.flow is not None:
            return  # a delta sync is running; it calls back when done
        self.timeline.cancel(m.timers.pop("delta", None))
        self._begin_switchover(m)

    def _rescheduled(self, m: Migration) -> None:
        """The switchover schedule changed: re-arm its timers and look at the window again."""
        for name in ("window", "expiry"):
            self.timeline.cancel(m.timers.pop(name, None))
        _, expiry = self._window(m)
        if expiry is not None and m.kind in SLOTTED:
            self._after(m, "expiry", max(0.0, expiry - self.now), self._expire)
        if m.state == WAITING:
            self._ready(m)

    def _wait(self, m: Migration, message: str) -> None:
        if m.state != WAITING:
            self._set(m, WAITING, message)
        elif m.message != message and m.flow is None:
            self._log(m, message)
        self._schedule_delta(m)

    def _next_switchover(self, appliance: str) -> None:
        queue = self._switch_waiting.get(appliance)
        while queue and appliance not in self._switch_holder:
            nxt = queue.popleft()
            if not nxt.terminal:
                self._ready(nxt)

    def _begin_switchover(self, m: Migration) -> None:
        m.switchover_start = self.now
        self._set(m, SWITCHOVER, "Switchover in progress")
        self.timeline.cancel(m.timers.pop("expiry", None))
        if self._fault(m, "switchover"):
            self._after(m, "step", _POWER_OFF, self._switchover_fault)
            return
        if m.kind == BULK:
            self._after(m, "step", _POWER_OFF, self._bulk_final_sync)
        elif m.kind == RAV:
            size = self._pending_churn(m) + m.vm.spec.memory_mb * 2**20
            m.total += size
            self._flow(m, "final", size, lambda m, _: self._after(m, "step", _CUTOVER, self._complete))
        elif m.kind == VMOTION:
            self._after(m, "step", _VMOTION_SWITCH, self._complete)
        else:
            self._after(m, "step", _COLD_REGISTER, self._complete)

    def _pending_churn(self, m: Migration) -> float:
        return m.vm.spec.churn_gb_per_hour * GIB * (self.now - m.dirty_since) / 3600

    def _bulk_final_sync(self, m: Migration) -> None:
        # Only a VM that was running is powered off here (and powered on at the destination).
        m.source_powered_off = m.vm.power_state == "on"
        m.vm.power_state = "off"
        self._log(m, "Source powered off; final sync in progress")
        size = self._pending_churn(m)
        m.total += size
        self._flow(m, "final", size, lambda m, _: self._after(m, "step", _POWER_ON, self._complete))

    def _switchover_fault(self, m: Migration) -> None:
        self._fail(m, FAILED, self._fault_message(m.entity_name, "switchover"))

    def _expire(self, m: Migration) -> None:
        # inferred: hcx-api.md §10.6 (fail when expiryTime passes before the switchover starts)
        if m.state not in (SWITCHOVER, CANCELLING):
            self._fail(m, FAILED, "The switchover window expired before the switchover could start")

    # -- endings -----------------------------------------------------------------------------------

    def _complete(self, m: Migration) -> None:
        m.completed = m.switchover_end = self.now
        self._set(m, COMPLETE, "Migration complete")
        self._release(m)
        m.datastore.free_gb -= m.vm.spec.disk_gb
        self._checkpoints.pop(m.entity_name, None)
        source = m.vm
        original_power = "on" if m.source_powered_off else source.power_state
        if m.kind == BULK:
            source.name = f"{m.entity_name}-{int(self.epoch_ms(self.now) / 1000)}"
            source.power_state = "off"
            source.folder = "Migrated VMs"
        else:
            self.vms.pop(source.vm_id, None)
            home = self.datastore_by_name(source.datastore)
            if home is not None:
                home.free_gb += source.spec.disk_gb
        self._arrive(m, original_power)

    def _arrive(self, m: Migration, power: str) -> None:
        remote = self.inventory_of(self.peer_side)
        if remote is None:
            return
        req, source = m.request, m.vm
        networks = []
        for name in source.networks:
            net = self.network_by_name(name)
            mapping = req.destination_network_for(net.network_id if net else name, name)
            networks.append(
                str(mapping.get("destNetworkName") or mapping.get("destNetworkId")) if mapping else name
            )
        arrived = remote._add_vm(
            VmRecord(
                "",
                m.entity_name,
                source.spec,
                "off" if m.kind == COLD else power,
                networks,
                req.folder or source.folder,
                m.datastore.name,
                req.resource_pool or (remote.pools[0] if remote.pools else source.resource_pool),
                0,
                False,
                source.cbt_enabled,
                arrived_by=m.migration_id,
            )
        )
        self.world.record(
            remote.source_name, "vm_arrived", at=self.at(self.now), vm=arrived.name, vm_id=arrived.vm_id
        )

    def _fail(self, m: Migration, state: str, message: str) -> None:
        m.errors.append(message)
        if m.source_powered_off:
            m.vm.power_state, m.source_powered_off = "on", False
        m.completed = self.now
        self._set(m, state, message)
        self._release(m)
        self._keep_checkpoint(m)

    def _keep_checkpoint(self, m: Migration) -> None:
        # inferred: hcx-api.md §7.1 ("re-use seed data on target"): Bulk/RAV keep their base-sync
        # bytes after a failure or cancel; vMotion and Cold keep nothing
        if m.kind in SLOTTED and m.base_done > 0:
            self._checkpoints[m.entity_name] = max(self._checkpoints.get(m.entity_name, 0.0), m.base_done)

    def _cancel(self, m: Migration, keep_seed: bool) -> None:
        if m.source_powered_off:
            m.vm.power_state, m.source_powered_off = "on", False
        self._stop_work(m)
        self._set(m, CANCELLING, "Cancel in progress")

        def cancelled(m: Migration) -> None:
            m.completed = self.now
            self._set(m, CANCELLED, "Migration cancelled")
            self._release(m)
            if keep_seed:
                self._keep_checkpoint(m)
            else:
                self._checkpoints.pop(m.entity_name, None)

        self._after(m, "cancel", _CANCEL, cancelled)
