"""The wave engine's activity payloads and results: plain JSON in and out of Durable history.

Each migration activity takes one of these models as `model_dump(mode="json")` and validates it
first; results are short lists and dicts the engine applies (`shared.engine.wave`). No payload holds
a secret: an `HcxTarget` names the manager, the private cloud whose cloudadmin the activity fetches
for itself, and the certificate pins.

Tags. Every HCX migration the engine starts carries one tag naming the run, wave, VM and attempt
(`attempt_tag`); the start activity looks for that tag before it starts anything, so a start that is
re-run after a crash finds the migration it already started instead of starting a second one.

This module depends on pydantic and `shared.hcx` request types only.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.hcx.migrations import MigrationSpec

__all__ = [
    "TAG_PREFIX",
    "CancelRequest",
    "HcxTarget",
    "NetworkUseRequest",
    "QueryRequest",
    "RescheduleRequest",
    "SpecBatch",
    "StartItem",
    "StartRequest",
    "ValidateRequest",
    "VerifyItem",
    "VerifyRequest",
    "attempt_tag",
]

TAG_PREFIX = "hcx-conductor"


def attempt_tag(plan_id: str, run: str, wave: int, vm: str, attempt: int) -> str:
    """The one tag of one HCX migration: plan, run, wave, VM and attempt.

    Plan ids and the run are [a-z0-9-], the wave is a number and the attempt the last field, so two
    different (VM, attempt) pairs never give the same tag, whatever characters a VM name holds.
    """
    return f"{TAG_PREFIX}:{plan_id}:{run}:{wave}:{vm}:{attempt}"


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HcxTarget(_Payload):
    """Which HCX Manager to talk to and how to trust it; credentials are fetched by the activity."""

    hcx_url: str
    cloud_id: str
    """The private cloud whose cloudadmin logs in (listAdminCredentials or the HCX_* override)."""
    side: Literal["source", "destination"] = "source"
    pins: list[str] = Field(default_factory=list)
    """SHA-256 fingerprints the manager's certificate may match (the plan's trusted_fingerprints)."""


class SpecBatch(_Payload):
    """Many `MigrationSpec`s, factored: what they share once, what differs per VM.

    A wave's specs share nearly everything (sites, placement, options, window); sent whole, a batch of
    fifty would repeat it fifty times in the history, which every episode parses again. `pack` keeps
    the shared fields in `base`, each distinct network target and placement list once, and per VM only
    its own fields with indices into those lists; `specs()` rebuilds them exactly.
    """

    base: dict[str, Any] = Field(default_factory=dict)
    networks: list[dict[str, Any]] = Field(default_factory=list)
    placements: list[list[dict[str, Any]]] = Field(default_factory=list)
    vms: list[dict[str, Any]] = Field(default_factory=list)

    @classmethod
    def pack(cls, specs: list[MigrationSpec]) -> SpecBatch:
        dumps = [spec.model_dump(mode="json") for spec in specs]
        if not dumps:
            return cls()
        shared = {
            key: value
            for key, value in dumps[0].items()
            if key not in ("networks", "placement") and all(d[key] == value for d in dumps[1:])
        }
        networks: list[dict[str, Any]] = []
        placements: list[list[dict[str, Any]]] = []
        vms = []
        for d in dumps:
            own = {k: v for k, v in d.items() if k not in shared and k not in ("networks", "placement")}
            own["n"] = [_index(networks, n) for n in d["networks"]]
            own["p"] = _index(placements, d["placement"])
            vms.append(own)
        return cls(base=shared, networks=networks, placements=placements, vms=vms)

    def specs(self) -> list[MigrationSpec]:
        out = []
        for own in self.vms:
            fields = {k: v for k, v in own.items() if k not in ("n", "p")}
            fields["networks"] = [self.networks[k] for k in own.get("n", [])]
            fields["placement"] = self.placements[own["p"]] if own.get("p") is not None else []
            out.append(MigrationSpec.model_validate({**self.base, **fields}))
        return out


def _index(found: list[Any], value: Any) -> int:
    for k, seen in enumerate(found):
        if seen == value:
            return k
    found.append(value)
    return len(found) - 1


class ValidateRequest(_Payload):
    target: HcxTarget
    batch: SpecBatch


class StartItem(_Payload):
    """One migration the engine decided to start (the engine's side; the wire carries a SpecBatch)."""

    spec: MigrationSpec
    """The migration, its `tags` holding the attempt tag."""
    tag: str
    held: bool = False
    """Started with its switchover held until the wave is approved."""


class StartRequest(_Payload):
    """Migrations to start; each spec's first tag is its attempt tag."""

    target: HcxTarget
    batch: SpecBatch


class QueryRequest(_Payload):
    target: HcxTarget
    migration_ids: list[str]


class CancelRequest(_Payload):
    target: HcxTarget
    migration_ids: list[str]


class RescheduleRequest(_Payload):
    target: HcxTarget
    groups: dict[str, list[str]]
    """Migration ids by migration group id (HCX changes schedules per group)."""
    start: int = 0
    """Epoch seconds the switchover window opens; 0 with `end` 0 clears the schedule."""
    end: int = 0


class VerifyItem(_Payload):
    name: str
    entity_id: str
    type: Literal["bulk", "vmotion", "rav", "cold"]
    powered_on: bool
    """The power state expected at the destination (the source's, except Cold: off)."""
    networks: list[str] = Field(default_factory=list)
    """Destination network names expected on the VM's NICs."""


class VerifyRequest(_Payload):
    target: HcxTarget
    source_endpoint: str
    destination_endpoint: str
    vms: list[VerifyItem]


class NetworkUseRequest(_Payload):
    """Which source VMs still use some networks (network cutover's safety check)."""

    target: HcxTarget
    source_endpoint: str
    networks: list[str]
    moved: list[str] = Field(default_factory=list)
    """Entity ids of the VMs this migration moved: their powered-off Bulk copies do not count."""
