"""`MigrationPlan`: the whole plan, and the questions the preparation phases and wave engine ask it.

* `digest()`: sha256 of the plan's canonical JSON. Defaults are left out, so adding an optional field
  in a later release does not change the digest of an existing plan, and `{mon: false}` and `{}` are
  the same plan.
* `effective(wave)`: the wave's settings with the defaults merged in (`EffectiveWave`).
* `assign_vms(inventory)`: which source VMs each wave migrates, with findings for names that are
  missing, ambiguous or selected twice.
* `required_services()`, `extension(name)`, `destination_for(wave, network)`, `admission_limit(...)`.

Validating a `MigrationPlan` (`model_validate`, `parse_plan`, `load_plan`) also runs the cross-field
checks of `shared.plan.checks`, so a contradictory plan cannot be constructed anywhere in the app.
This module depends on pydantic and the other `shared.plan` modules only.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from typing import Literal, NamedTuple

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from shared.cloud import PrivateCloudRef, parse_private_cloud_id
from shared.findings import Finding, finding
from shared.plan.models import (
    CloudId,
    Connectivity,
    HcxSettings,
    Limits,
    MigrationOverride,
    MigrationSettings,
    MigrationType,
    Name,
    NetworkCutover,
    NetworkExtension,
    NetworkMapping,
    Notifications,
    PlanId,
    PlanModel,
    Wave,
)

__all__ = ["Assignment", "EffectiveWave", "MigrationPlan", "VmRef", "merge_settings"]

# HCX limits on concurrent Bulk + RAV migrations (hcx-api.md §8).
PER_SERVICE_MESH = 200
PER_MANAGER = 300

# Service-mesh services each migration type needs. inferred: hcx-api.md §5.1 lists the names; that
# Cold travels the vMotion path and that RAV needs Bulk and vMotion enabled beside it follow the HCX
# user guide's descriptions, not an API source.
_SERVICES: dict[str, frozenset[str]] = {
    "bulk": frozenset({"BULK_MIGRATION"}),
    "vmotion": frozenset({"VMOTION"}),
    "cold": frozenset({"VMOTION"}),
    "rav": frozenset({"RAV", "BULK_MIGRATION", "VMOTION"}),
}


class VmRef(NamedTuple):
    """A source VM as `assign_vms` needs it: its name and the name of its folder."""

    name: str
    folder: str | None = None


class EffectiveWave(PlanModel):
    """One wave with every setting resolved: the defaults merged with the wave's overrides."""

    index: int
    name: str
    vms: list[str]
    migration: MigrationSettings
    max_failures: int
    max_attempts: int
    on_halt: Literal["finish_in_flight", "cancel_in_flight"]


class Assignment(NamedTuple):
    """Which VMs each wave migrates (by wave name, in plan order), and what was wrong on the way."""

    waves: dict[str, list[str]]
    findings: list[Finding]


def merge_settings(defaults: MigrationSettings, override: MigrationOverride | None) -> MigrationSettings:
    """`defaults` with a wave's `override` applied, field by field (see models.py for the rules)."""
    if override is None:
        return defaults
    update: dict[str, object] = {}
    if override.type is not None:
        update["type"] = override.type
    if override.switchover_window is not None:
        update["switchover_window"] = (
            None if override.switchover_window == "immediate" else override.switchover_window
        )
    if override.approval is not None:
        update["approval"] = defaults.approval.model_copy(update=_set_fields(override.approval))
    if override.options is not None:
        update["options"] = defaults.options.model_copy(update=_set_fields(override.options))
    if override.placement is not None:
        changes = _set_fields(override.placement)
        # Cluster and resource pool are one choice: setting one replaces the inherited other.
        if "cluster" in changes and "resource_pool" not in changes:
            changes["resource_pool"] = None
        if "resource_pool" in changes and "cluster" not in changes:
            changes["cluster"] = None
        update["placement"] = defaults.placement.model_copy(update=changes)
    if override.network_mappings is not None:
        merged = {m.source: m for m in defaults.network_mappings}
        merged.update({m.source: m for m in override.network_mappings})
        update["network_mappings"] = list(merged.values())
    return defaults.model_copy(update=update)


def _set_fields(model: PlanModel) -> dict[str, object]:
    return {
        name: getattr(model, name) for name in type(model).model_fields if getattr(model, name) is not None
    }


class MigrationPlan(PlanModel):
    """A migration of workloads between two AVS private clouds with HCX, in waves."""

    version: Literal[1] = 1
    """The plan format's version; only 1 exists."""

    id: PlanId
    """The plan's identity and idempotency key; the Durable instance id derives from it."""

    description: str = ""
    source: CloudId
    destination: CloudId
    connectivity: Connectivity = Field(default_factory=Connectivity)
    hcx: HcxSettings = Field(default_factory=HcxSettings)
    network_extensions: list[NetworkExtension] = Field(default_factory=list)
    destination_networks: list[Name] = Field(default_factory=list)
    """NSX segments that already exist at the destination and that network mappings may target."""

    migration: MigrationSettings = Field(default_factory=MigrationSettings)
    waves: list[Wave] = Field(min_length=1)
    limits: Limits = Field(default_factory=Limits)
    network_cutover: NetworkCutover | None = None
    notifications: Notifications = Field(default_factory=Notifications)

    @model_validator(mode="after")
    def _no_contradictions(self) -> MigrationPlan:
        from shared.plan.checks import contradictions  # checks reads this model; import late

        issues = contradictions(self)
        if issues:
            raise PydanticCustomError(
                "plan_contradiction",
                "{summary}",
                {"summary": "; ".join(f"{i['path']}: {i['message']}" for i in issues), "issues": issues},
            )
        return self

    # --- identity ---

    def digest(self) -> str:
        """Hex sha256 of the canonical JSON (sorted keys, defaults omitted): same plan, same digest."""
        data = self.model_dump(mode="json", exclude_defaults=True)
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @property
    def source_ref(self) -> PrivateCloudRef:
        return parse_private_cloud_id(self.source)

    @property
    def destination_ref(self) -> PrivateCloudRef:
        return parse_private_cloud_id(self.destination)

    # --- waves ---

    def wave_index(self, wave: str | int | Wave) -> int:
        if isinstance(wave, int):
            if not 0 <= wave < len(self.waves):
                raise KeyError(f"the plan has no wave #{wave}")
            return wave
        name = wave.name if isinstance(wave, Wave) else wave
        for index, candidate in enumerate(self.waves):
            if candidate.name == name:
                return index
        raise KeyError(f"the plan has no wave named {name!r}")

    def effective(self, wave: str | int | Wave) -> EffectiveWave:
        """The wave (by name, index or object) with the defaults merged into its overrides."""
        index = self.wave_index(wave)
        spec = self.waves[index]
        return EffectiveWave(
            index=index,
            name=spec.name,
            vms=list(spec.vms),
            migration=merge_settings(self.migration, spec.migration),
            max_failures=self.limits.max_failures_per_wave
            if spec.max_failures is None
            else spec.max_failures,
            max_attempts=self.limits.max_attempts,
            on_halt=self.limits.on_halt,
        )

    def migration_types(self) -> set[MigrationType]:
        return {self.effective(i).migration.type for i in range(len(self.waves))}

    def assign_vms(self, inventory: Iterable[VmRef]) -> Assignment:
        """Resolve every wave's VMs against the source inventory.

        Explicit names win over selections; a VM that several waves' selections match goes to the
        first of them (with a warning). Names missing from the inventory, or carried by several
        source VMs, are errors; a wave left with no VMs is a warning.
        """
        vms = list(inventory)
        counts = Counter(vm.name for vm in vms)
        explicit = {name for wave in self.waves for name in wave.vms}
        result: dict[str, list[str]] = {wave.name: [] for wave in self.waves}
        findings: list[Finding] = []
        chosen_by: dict[str, str] = {}
        for w, wave in enumerate(self.waves):
            for k, name in enumerate(wave.vms):
                if counts[name] == 0:
                    findings.append(
                        finding(
                            "VM_NOT_FOUND_AT_SOURCE",
                            f"VM {name!r} of wave {wave.name!r} is not in the source inventory",
                            resource=f"/waves/{w}/vms/{k}",
                        )
                    )
                    continue
                result[wave.name].append(name)
            selection = wave.selection
            if selection is None:
                continue
            excluded = set(selection.exclude)
            folders = set(selection.folders)
            for vm in vms:
                if vm.name in explicit or vm.name in excluded:
                    continue
                matched = (vm.folder is not None and vm.folder in folders) or any(
                    fnmatch.fnmatchcase(vm.name, pattern) for pattern in selection.name_patterns
                )
                if not matched:
                    continue
                first = chosen_by.get(vm.name)
                if first is None:
                    chosen_by[vm.name] = wave.name
                    if vm.name not in result[wave.name]:
                        result[wave.name].append(vm.name)
                elif first != wave.name:
                    findings.append(
                        finding(
                            "VM_SELECTED_BY_SEVERAL_WAVES",
                            f"VM {vm.name!r} matches the selection of waves {first!r} and {wave.name!r}; "
                            f"it migrates in {first!r}",
                            resource=f"/waves/{w}/selection",
                        )
                    )
        for name in sorted({n for names in result.values() for n in names if counts[n] > 1}):
            findings.append(
                finding(
                    "VM_NAME_AMBIGUOUS_AT_SOURCE",
                    f"{counts[name]} source VMs are named {name!r}",
                    resource=name,
                )
            )
        for w, wave in enumerate(self.waves):
            if not result[wave.name]:
                findings.append(
                    finding("WAVE_EMPTY", f"wave {wave.name!r} selects no VMs", resource=f"/waves/{w}")
                )
        return Assignment(result, findings)

    # --- networks and services ---

    def extension(self, source_network: str) -> NetworkExtension | None:
        return next((e for e in self.network_extensions if e.source_network == source_network), None)

    def mapping_for(self, wave: str | int | Wave, source_network: str) -> NetworkMapping | None:
        """Where a VM of `wave` on `source_network` lands.

        An explicit mapping wins; otherwise an extended network maps to its own extension (whose
        destination is named after the source network); otherwise None (no mapping: preflight's call).
        """
        for mapping in self.effective(wave).migration.network_mappings:
            if mapping.source == source_network:
                return mapping
        if self.extension(source_network) is not None:
            return NetworkMapping(source=source_network, destination=source_network)
        return None

    def required_services(self) -> set[str]:
        """HCX service-mesh services the plan's migration types and extensions need."""
        services = {"INTERCONNECT"}
        for kind in self.migration_types():
            services |= _SERVICES[kind]
        if self.network_extensions:
            services.add("NETWORK_EXTENSION")
        return services

    def enterprise_features(self) -> list[tuple[str, str]]:
        """(JSON pointer, what) for every use of an HCX Enterprise feature (RAV, MON)."""
        uses: list[tuple[str, str]] = []
        if self.migration.type == "rav":
            uses.append(("/migration/type", "RAV migration"))
        for w, wave in enumerate(self.waves):
            if wave.migration is not None and wave.migration.type == "rav":
                uses.append((f"/waves/{w}/migration/type", f"RAV migration in wave {wave.name!r}"))
        for e, ext in enumerate(self.network_extensions):
            if ext.mon:
                uses.append((f"/network_extensions/{e}/mon", f"MON on {ext.source_network!r}"))
        return uses

    def admission_limit(self, service_meshes: int = 1, manager_limit: int = PER_MANAGER) -> int:
        """Most Bulk/RAV migrations in flight: the lowest of the plan's, the meshes' and the manager's."""
        limits = [max(1, service_meshes) * PER_SERVICE_MESH, manager_limit]
        if self.limits.max_concurrent_migrations is not None:
            limits.append(self.limits.max_concurrent_migrations)
        return min(limits)
