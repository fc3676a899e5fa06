"""Cross-field checks of a plan: contradictions within the plan, and against the facts about the clouds.

Two stages, because the plan alone cannot know everything:

1. `contradictions(plan)` runs whenever a plan is validated. Each issue is `{"path", "message"}` with
   the JSON pointer of the field at fault. When a wave inherits the conflicting value, the pointer
   names the wave's own field and the message says where the inherited value comes from.
2. `check_against(plan, source, destination, now=None)` runs in preflight with the `CloudFacts` read
   from ARM. It catches what only the clouds know: generations (MON between two Gen 2 clouds), the
   HCX licence actually installed, regions against a forced connectivity mode, provisioning states,
   and windows that have already passed. It returns findings, never raises.

This module depends on the plan models, `shared.cloud` and `shared.findings` only.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from shared.cloud import CloudFacts, same_resource
from shared.findings import Finding, finding
from shared.plan.models import MigrationOverride, MigrationSettings, NetworkMapping, SwitchoverWindow
from shared.plan.plan import merge_settings

if TYPE_CHECKING:
    from shared.plan.plan import MigrationPlan

__all__ = ["check_against", "contradictions"]

Issue = dict[str, str]
# Types whose switchover HCX cannot schedule: vMotion switches over live, Cold runs at once.
UNSCHEDULABLE = frozenset({"vmotion", "cold"})


def _issue(path: str, message: str) -> Issue:
    return {"path": path, "message": message}


def contradictions(plan: MigrationPlan) -> list[Issue]:
    """Every contradiction in `plan`, in document order; empty when the plan is coherent."""
    issues: list[Issue] = []
    if same_resource(plan.source, plan.destination):
        issues.append(_issue("/destination", "the destination is the same private cloud as the source"))
    issues += _networks(plan)
    known = {e.source_network for e in plan.network_extensions} | set(plan.destination_networks)
    issues += _settings(plan, plan.migration, None, "/migration", known)
    issues += _waves(plan, known)
    issues += _cutover(plan)
    hooks: set[str] = set()
    for i, hook in enumerate(plan.notifications.webhooks):
        if hook.name in hooks:
            issues.append(
                _issue(f"/notifications/webhooks/{i}/name", f"webhook name {hook.name!r} is used twice")
            )
        hooks.add(hook.name)
    return issues


def _networks(plan: MigrationPlan) -> list[Issue]:
    issues: list[Issue] = []
    seen: dict[str, int] = {}
    for i, ext in enumerate(plan.network_extensions):
        if ext.source_network in seen:
            issues.append(
                _issue(
                    f"/network_extensions/{i}/source_network",
                    f"network {ext.source_network!r} is already extended by "
                    f"/network_extensions/{seen[ext.source_network]}",
                )
            )
        seen.setdefault(ext.source_network, i)
        if ext.mon and plan.hcx.licence == "advanced":
            issues.append(
                _issue(
                    f"/network_extensions/{i}/mon", "MON needs HCX Enterprise, but hcx.licence is 'advanced'"
                )
            )
    declared: set[str] = set()
    for i, name in enumerate(plan.destination_networks):
        if name in declared:
            issues.append(_issue(f"/destination_networks/{i}", f"network {name!r} is declared twice"))
        elif name in seen:
            issues.append(
                _issue(
                    f"/destination_networks/{i}",
                    f"{name!r} is also an extended network, so a mapping to it would be ambiguous",
                )
            )
        declared.add(name)
    return issues


def _settings(
    plan: MigrationPlan,
    effective: MigrationSettings,
    override: MigrationOverride | None,
    base: str,
    known: set[str],
) -> list[Issue]:
    """Check one scope: the defaults (override None) or a wave (its override merged into defaults).

    A rule is reported in a wave's scope only when the wave sets at least one of the fields involved;
    otherwise it was already reported once for the defaults.
    """
    issues: list[Issue] = []
    in_wave = override is not None
    own_type = override.type is not None if override else True
    own_window = (override.switchover_window is not None) if override else True
    own_required = (
        (override.approval is not None and override.approval.required is not None) if override else True
    )
    kind = effective.type

    if kind in UNSCHEDULABLE and effective.switchover_window is not None and (own_type or own_window):
        if own_window:
            issues.append(
                _issue(
                    f"{base}/switchover_window",
                    f"{kind} switchover cannot be scheduled, so it takes no window",
                )
            )
        else:
            issues.append(
                _issue(
                    f"{base}/type",
                    f"{kind} switchover cannot be scheduled, but this wave inherits "
                    "/migration/switchover_window; set `switchover_window: immediate` in the wave",
                )
            )
    if kind in UNSCHEDULABLE and effective.approval.required and (own_type or own_required):
        if own_required:
            issues.append(
                _issue(
                    f"{base}/approval/required",
                    f"{kind} switchover cannot wait for approval; approval applies to bulk and rav",
                )
            )
        else:
            issues.append(
                _issue(
                    f"{base}/type",
                    f"{kind} switchover cannot wait for approval, but this wave inherits "
                    "/migration/approval/required; set `approval: {required: false}` in the wave",
                )
            )
    window = override.switchover_window if override else effective.switchover_window
    if isinstance(window, SwitchoverWindow) and window.end <= window.start:
        issues.append(_issue(f"{base}/switchover_window/end", "the window must end after it starts"))
    if kind == "rav" and own_type and plan.hcx.licence == "advanced":
        issues.append(_issue(f"{base}/type", "RAV needs HCX Enterprise, but hcx.licence is 'advanced'"))
    placement = override.placement if override else effective.placement
    if placement is not None and placement.cluster is not None and placement.resource_pool is not None:
        issues.append(
            _issue(
                f"{base}/placement", "give either cluster or resource_pool: both name the compute container"
            )
        )
    mappings: list[NetworkMapping] = (
        (override.network_mappings or []) if in_wave and override else effective.network_mappings
    )
    sources: set[str] = set()
    for k, mapping in enumerate(mappings):
        if mapping.source in sources:
            issues.append(
                _issue(
                    f"{base}/network_mappings/{k}/source",
                    f"network {mapping.source!r} is mapped more than once",
                )
            )
        if mapping.destination not in known:
            issues.append(
                _issue(
                    f"{base}/network_mappings/{k}/destination",
                    f"{mapping.destination!r} is neither extended by the plan (network_extensions) "
                    "nor declared in destination_networks",
                )
            )
        sources.add(mapping.source)
    return issues


def _waves(plan: MigrationPlan, known: set[str]) -> list[Issue]:
    issues: list[Issue] = []
    wave_names: dict[str, int] = {}
    owner: dict[str, tuple[int, int]] = {}
    for w, wave in enumerate(plan.waves):
        if wave.name in wave_names:
            issues.append(
                _issue(
                    f"/waves/{w}/name",
                    f"wave name {wave.name!r} is already used by /waves/{wave_names[wave.name]}",
                )
            )
        wave_names.setdefault(wave.name, w)
        for k, vm in enumerate(wave.vms):
            if vm in owner:
                ow, ok = owner[vm]
                where = "this wave" if ow == w else f"wave {plan.waves[ow].name!r}"
                issues.append(
                    _issue(f"/waves/{w}/vms/{k}", f"VM {vm!r} is already in {where} (/waves/{ow}/vms/{ok})")
                )
            else:
                owner[vm] = (w, k)
        selection = wave.selection
        if not wave.vms and (selection is None or not (selection.folders or selection.name_patterns)):
            issues.append(_issue(f"/waves/{w}", "the wave names no VMs and selects none (vms or selection)"))
        if wave.migration is not None:
            effective = merge_settings(plan.migration, wave.migration)
            issues += _settings(plan, effective, wave.migration, f"/waves/{w}/migration", known)
    return issues


def _cutover(plan: MigrationPlan) -> list[Issue]:
    issues: list[Issue] = []
    if plan.network_cutover is None:
        return issues
    extended = {e.source_network for e in plan.network_extensions}
    seen: set[str] = set()
    for i, name in enumerate(plan.network_cutover.networks):
        path = f"/network_cutover/networks/{i}"
        if name in seen:
            issues.append(_issue(path, f"network {name!r} is listed twice"))
        elif name not in extended:
            issues.append(_issue(path, f"{name!r} is not extended by the plan, so it cannot be cut over"))
        seen.add(name)
    return issues


# --- stage 2: against the facts --------------------------------------------------------------------


def check_against(
    plan: MigrationPlan,
    source: CloudFacts,
    destination: CloudFacts,
    now: datetime | None = None,
) -> list[Finding]:
    """Findings about `plan` that need the facts about both clouds (and, for windows, the time)."""
    findings: list[Finding] = []
    sides = (("source", source), ("destination", destination))
    for side, facts in sides:
        if facts.provisioning_state.lower() != "succeeded":
            findings.append(
                finding(
                    "PRIVATE_CLOUD_NOT_READY",
                    f"the {side} private cloud {facts.name!r} is {facts.provisioning_state}, not Succeeded",
                    resource=facts.id,
                )
            )
    if source.generation == 2 and destination.generation == 2:
        for e, ext in enumerate(plan.network_extensions):
            if ext.mon:
                findings.append(
                    finding(
                        "MON_BETWEEN_GEN2",
                        f"MON is requested for {ext.source_network!r}, "
                        "but both private clouds are Generation 2",
                        resource=f"/network_extensions/{e}/mon",
                    )
                )
    enterprise_uses = plan.enterprise_features()
    for side, facts in sides:
        if not facts.hcx_installed:
            if not plan.hcx.install_addon:
                findings.append(
                    finding(
                        "HCX_ADDON_MISSING",
                        f"HCX is not installed on the {side} private cloud {facts.name!r}",
                        resource=facts.id,
                    )
                )
        elif enterprise_uses and not facts.hcx_enterprise:
            uses = ", ".join(what for _, what in enterprise_uses)
            findings.append(
                finding(
                    "HCX_ENTERPRISE_REQUIRED",
                    f"the {side} HCX add-on is {facts.hcx_addon_offer!r}, but the plan uses {uses}",
                    resource=facts.id,
                    details={"uses": ", ".join(path for path, _ in enterprise_uses)},
                )
            )
    findings += _connectivity(plan, source, destination)
    if now is not None:
        findings += _windows_passed(plan, now)
    return findings


def _connectivity(plan: MigrationPlan, source: CloudFacts, destination: CloudFacts) -> list[Finding]:
    if 2 in (source.generation, destination.generation):
        # cloudLinks and Global Reach are Gen 1 tools; Gen 2 connects by VNet peering or an ER gateway.
        # inferred: avs-arm.md §8.3
        return [
            finding(
                "GEN2_CONNECTIVITY_EXTERNAL",
                "a Generation 2 private cloud is involved: the app cannot create or verify the link through "
                "Microsoft.AVS and relies on HCX reachability instead",
                resource="/connectivity",
            )
        ]
    same_region = source.region.replace(" ", "").lower() == destination.region.replace(" ", "").lower()
    mode = plan.connectivity.mode
    if mode == "interconnect" and not same_region:
        return [
            finding(
                "CONNECTIVITY_MODE_MISMATCH",
                f"AVS Interconnect links clouds in one region, but the clouds are in {source.region} and "
                f"{destination.region}",
                resource="/connectivity/mode",
            )
        ]
    if mode == "global_reach" and same_region:
        return [
            finding(
                "CONNECTIVITY_MODE_MISMATCH",
                f"both clouds are in {source.region}; AVS Interconnect is the usual link within a region",
                resource="/connectivity/mode",
                severity="warning",
            )
        ]
    return []


def _windows_passed(plan: MigrationPlan, now: datetime) -> list[Finding]:
    findings: list[Finding] = []
    scopes = [("/migration/switchover_window", plan.migration.switchover_window)]
    for w, wave in enumerate(plan.waves):
        window = wave.migration.switchover_window if wave.migration else None
        if isinstance(window, SwitchoverWindow):
            scopes.append((f"/waves/{w}/migration/switchover_window", window))
    for path, window in scopes:
        if window is not None and window.end <= now:
            findings.append(
                finding(
                    "SWITCHOVER_WINDOW_PASSED",
                    f"the switchover window ended at {window.end.isoformat()}",
                    resource=path,
                )
            )
    return findings
