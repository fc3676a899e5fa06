"""Status: the custom statuses orchestrators publish, and the domain view the HTTP API serves.

Orchestrators publish small custom statuses (never secrets, always a non-empty dict, findings capped):

* root `mig-{id}` — `root_status(...)`: phase, plan id, digest, the waves' states, findings;
* prepare child `mig-{id}:prepare` — `prepare_status(...)`: the preparation phase, its current step,
  findings, the network extensions' states and the actions taken (or, when validating, planned);
* wave children `mig-{id}:wave-NN` (issue 5) — their own compact shape (design_orchestration.md).

`migration_view(root, children)` merges them into what `GET /api/migrations/{id}` answers, reading
custom statuses and outputs only (never histories), so the cost of a status call does not grow with
a migration's age. While the root waits on a child, the child's phase is the migration's phase.
Waves come from, in order of preference: a wave child's custom status, the root's `waves` list, and
the prepared context (the prepare child's output); `WAVE_STATE_KEYS` names the fields copied from a
wave child, so the wave engine extends the view by publishing them, without changing this module.

`MigrationStatus` and `MigrationSummary` are the wire shapes of those two views, as pydantic models,
for the OpenAPI document (`shared.openapi`); the builders still return plain dicts, and a test checks
that what they return fits the models. This module depends on pydantic, `shared.findings` and the
Durable SDK's runtime status enum only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus
from pydantic import BaseModel, ConfigDict, Field

from shared.engine.status import vm_rows
from shared.findings import Finding

__all__ = [
    "DONE_PHASES",
    "MAX_STATUS_FINDINGS",
    "PHASES",
    "MigrationStatus",
    "MigrationSummary",
    "NetworkView",
    "Snapshot",
    "WaveView",
    "migration_view",
    "prepare_status",
    "root_status",
    "summary_view",
]

# Every phase a migration reports, in the order they happen (the last four are ends).
PHASES = (
    "submitted",
    "preflight",
    "pairing",
    "service_mesh",
    "network_extension",
    "prepared",
    "waves",
    "cutover",
    "report",
    "completed",
    "blocked",
    "failed",
    "cancelled",
)
# Phases the prepare child reports; the root shows them while it waits on the child.
PREPARE_PHASES = frozenset({"preflight", "pairing", "service_mesh", "network_extension"})
DONE_PHASES = frozenset({"completed", "blocked", "failed", "cancelled"})
# Custom status is stored with the instance and read on every status call: keep it small.
MAX_STATUS_FINDINGS = 50
# What a wave child's custom status may carry into the view (design_orchestration.md, wave child).
WAVE_STATE_KEYS = (
    "state",
    "window",
    "counts",
    "warnings",
    "vms",
    "eta",
    "percent",
    "bytes_done",
    "bytes_total",
    # The wave engine's (shared/engine/status.py, docs/engine.md).
    "approval",
    "eta_within_window",
    "retries",
    "failures",
    "max_failures",
    "halted",
    "cancel",
    "started",
    "ended",
    "polls",
    "timeline",
)
_TERMINAL_RUNTIME = frozenset({"Completed", "Failed", "Terminated", "Canceled"})


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _findings(findings: Sequence[Finding | Mapping[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    items = [f.model_dump(mode="json") if isinstance(f, Finding) else dict(f) for f in findings]
    # Errors first, so the cap never hides what blocked the migration.
    items.sort(key=lambda f: {"error": 0, "warning": 1}.get(str(f.get("severity")), 2))
    return items[:MAX_STATUS_FINDINGS], len(items)


def root_status(
    *,
    phase: str,
    plan_id: str,
    digest: str,
    updated: datetime,
    findings: Sequence[Finding | Mapping[str, Any]] = (),
    waves: Sequence[Mapping[str, Any]] = (),
    wave: int | None = None,
    networks: Sequence[Mapping[str, Any]] = (),
    detail: str = "",
) -> dict[str, Any]:
    """The root orchestrator's custom status (design_orchestration.md "Status")."""
    shown, total = _findings(findings)
    status: dict[str, Any] = {
        "phase": phase,
        "plan_id": plan_id,
        "digest": digest,
        "wave": wave,
        "waves": [dict(w) for w in waves],
        "findings": shown,
        "findings_total": total,
        "networks": [dict(n) for n in networks],
        "updated": _iso(updated),
    }
    if detail:
        status["detail"] = detail
    return status


def prepare_status(
    *,
    phase: str,
    step: str,
    updated: datetime,
    findings: Sequence[Finding | Mapping[str, Any]] = (),
    networks: Sequence[Mapping[str, Any]] = (),
    actions: Sequence[str] = (),
    validate_only: bool = False,
) -> dict[str, Any]:
    """The prepare child's custom status: phase detail, findings, extensions, actions."""
    shown, total = _findings(findings)
    return {
        "phase": phase,
        "step": step,
        "validate_only": validate_only,
        "findings": shown,
        "findings_total": total,
        "networks": [dict(n) for n in networks],
        "actions": list(actions),
        "updated": _iso(updated),
    }


@dataclass(frozen=True)
class Snapshot:
    """One instance as the Durable status API shows it (custom status and output already parsed)."""

    instance_id: str
    runtime_status: str
    custom_status: Any = None
    output: Any = None
    created: str | None = None
    updated: str | None = None
    input: Any = None

    @property
    def custom(self) -> dict[str, Any]:
        return self.custom_status if isinstance(self.custom_status, dict) else {}

    @property
    def finished(self) -> bool:
        return self.runtime_status in _TERMINAL_RUNTIME


def _phase(root: Snapshot, prepare: Snapshot | None) -> str:
    custom = root.custom
    phase = str(custom.get("phase") or "submitted")
    if root.runtime_status == "Terminated":
        return "cancelled"
    if root.runtime_status == "Failed":
        return "failed"
    if phase in PREPARE_PHASES and prepare is not None and not root.finished:
        child = str(prepare.custom.get("phase") or phase)
        return child if child in PREPARE_PHASES else phase
    return phase


def _waves(
    root: Snapshot, prepare: Snapshot | None, wave_children: Iterable[Snapshot]
) -> list[dict[str, Any]]:
    plan_waves: list[dict[str, Any]] = []
    context = prepare.output.get("context") if prepare and isinstance(prepare.output, dict) else None
    if isinstance(context, dict):
        for wave in context.get("waves") or []:
            vms = wave.get("vms") or []
            plan_waves.append(
                {
                    "name": wave.get("name"),
                    "type": wave.get("type"),
                    "state": "prepared",
                    "vm_count": len(vms),
                    "disk_bytes": sum(int(v.get("disk_bytes") or 0) for v in vms),
                    "used_bytes": sum(int(v.get("used_bytes") or 0) for v in vms),
                    "vms": {v.get("name"): {"state": "ready"} for v in vms},
                }
            )
    by_name = {w["name"]: w for w in plan_waves}
    for listed in root.custom.get("waves") or []:
        if not isinstance(listed, dict) or "name" not in listed:
            continue
        wave = by_name.setdefault(listed["name"], {"name": listed["name"]})
        if wave not in plan_waves:
            plan_waves.append(wave)
        wave.update({k: v for k, v in listed.items() if k != "name"})
    for child in wave_children:
        custom = child.custom
        name = custom.get("wave")
        if name is None:
            continue
        wave = by_name.setdefault(name, {"name": name})
        if wave not in plan_waves:
            plan_waves.append(wave)
        wave["instance"] = child.instance_id
        for key in WAVE_STATE_KEYS:
            if key in custom:
                wave[key] = custom[key]
        if "vms" in custom or "vm_states" in custom:
            # One shape for every wave: {name: {state, attempts, percent, bytes...}}. A large wave
            # publishes its VMs compactly; the names come from the prepared context, in its order.
            prepared_vms = wave.get("vms")
            names = [str(n) for n in prepared_vms] if isinstance(prepared_vms, dict) else None
            rows = vm_rows(custom, names if "vm_states" in custom else None)
            wave["vms"] = {row.pop("name"): row for row in rows}
    return plan_waves


def migration_view(root: Snapshot, children: Iterable[Snapshot] = ()) -> dict[str, Any]:
    """The domain status of one migration: phase, findings, networks, waves, per-VM state."""
    kids = list(children)
    prepare = next((c for c in kids if c.instance_id.endswith(":prepare")), None)
    waves = [c for c in kids if ":wave-" in c.instance_id]
    custom = root.custom
    phase = _phase(root, prepare)
    findings = list(custom.get("findings") or [])
    total = int(custom.get("findings_total") or len(findings))
    networks = list(custom.get("networks") or [])
    step = ""
    actions: list[Any] = []
    if prepare is not None:
        pc = prepare.custom
        step = str(pc.get("step") or "")
        actions = list(pc.get("actions") or [])
        if not root.finished or not findings:
            # The child's findings are the fresher ones while it runs; keep the root's once it ended.
            child_findings = list(pc.get("findings") or [])
            if child_findings:
                findings, total = child_findings, int(pc.get("findings_total") or len(child_findings))
        if not networks:
            networks = list(pc.get("networks") or [])
    view: dict[str, Any] = {
        "id": custom.get("plan_id") or root.instance_id.removeprefix("mig-"),
        "instance_id": root.instance_id,
        "runtime_status": root.runtime_status,
        "phase": phase,
        "done": root.finished,
        "digest": custom.get("digest"),
        "step": step,
        "created": root.created,
        "updated": root.updated,
        "findings": findings,
        "findings_total": total,
        "networks": networks,
        "actions": actions,
        "waves": _waves(root, prepare, waves),
    }
    if "detail" in custom:
        view["detail"] = custom["detail"]
    if root.finished:
        view["result"] = root.output
    return view


def summary_view(root: Snapshot) -> dict[str, Any]:
    """One line of `GET /api/migrations`: identity, phase and counts, from the root alone."""
    custom = root.custom
    return {
        "id": custom.get("plan_id") or root.instance_id.removeprefix("mig-"),
        "instance_id": root.instance_id,
        "runtime_status": root.runtime_status,
        "phase": _phase(root, None),
        "digest": custom.get("digest"),
        "created": root.created,
        "updated": root.updated,
        "findings_total": int(custom.get("findings_total") or 0),
        "waves": len(custom.get("waves") or []),
    }


# --- the wire shapes of the views above (shared.openapi publishes them) ------------------------------
# Only the fields a client may rely on are declared; nested parts allow more, so the wave engine can
# publish new wave fields (WAVE_STATE_KEYS) without breaking a client that validates answers.

_Phase = Field(description="Where the migration is.", json_schema_extra={"enum": list(PHASES)})
_Runtime = Field(
    description="The Durable runtime status of the root instance.",
    json_schema_extra={"enum": [s.value for s in OrchestrationRuntimeStatus]},
)


class NetworkView(BaseModel):
    """One extended network as the preparation reports it."""

    model_config = ConfigDict(extra="allow")

    name: str
    state: str = Field(description="e.g. extending, extended, failed")


class WaveView(BaseModel):
    """One wave: the prepared figures, then the wave engine's live state (its custom status)."""

    model_config = ConfigDict(extra="allow")

    name: str
    type: str | None = None
    state: str | None = None
    vm_count: int | None = None
    disk_bytes: int | None = None
    used_bytes: int | None = None
    instance: str | None = Field(None, description="The wave's Durable instance, once it runs.")
    vms: dict[str, Any] | None = Field(
        None, description="Per VM: {state} when prepared, the engine's row later."
    )


class MigrationStatus(BaseModel):
    """`GET /api/migrations/{id}`: one migration, merged from its instances' custom statuses."""

    id: str
    instance_id: str
    runtime_status: str = _Runtime
    phase: str = _Phase
    done: bool = Field(description="True once the migration ended, well or not: then read `phase`.")
    digest: str | None
    step: str = Field(description="What the current phase is doing, in words.")
    created: str | None
    updated: str | None
    findings: list[Finding] = Field(description="Errors first, at most MAX_STATUS_FINDINGS.")
    findings_total: int
    networks: list[NetworkView]
    actions: list[str] = Field(description="What the preparation did (or, validating, would do).")
    waves: list[WaveView]
    detail: str | None = Field(None, description="Why the migration ended as it did, when it says.")
    result: Any = Field(None, description="The root's output; present only once the migration ended.")


class MigrationSummary(BaseModel):
    """One line of `GET /api/migrations`, from the root instance alone."""

    id: str
    instance_id: str
    runtime_status: str = _Runtime
    phase: str = _Phase
    digest: str | None
    created: str | None
    updated: str | None
    findings_total: int
    waves: int = Field(description="How many waves the root lists.")
