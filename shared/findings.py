# ruff: noqa: E501  (CODES keeps one code per line so adding one is a one-line change)
"""Findings: what preflight, the preparation phases and the wave engine report to the operator.

A finding is structured data, not a log line: a stable UPPER_SNAKE `code`, a `severity`, a `message`
about this occurrence, a `remedy` that says what to do, and the `resource` concerned (an ARM id, an
HCX URL, a VM or network name, or a JSON pointer into the plan). Findings travel through Durable state,
custom status, events and the HTTP API, so they are plain JSON and never hold secrets.

Every code lives in `CODES`, with its default severity and remedy; adding one is one line there, then
`python -m shared.findings --write-docs` regenerates the table in docs/findings.md (a test checks it is
current). Build findings with `finding(code, message, resource=...)`, which fills severity and remedy
from the table. This module depends on pydantic only.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "CODES",
    "Code",
    "Finding",
    "Severity",
    "blocking",
    "finding",
    "markdown_table",
]

Severity = Literal["error", "warning", "info"]
_CODE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$")


class Code(NamedTuple):
    severity: Severity
    summary: str
    remedy: str


# One line per code. Severity is the default; a caller may downgrade or upgrade it for one occurrence.
# fmt: off
CODES: dict[str, Code] = {
    # The plan and the facts it is checked against (shared.plan.check_against).
    "PLAN_INVALID": Code("error", "The plan is malformed or contradicts itself", "Fix the plan field named by the finding's resource (a JSON pointer) and submit it again."),
    "SAME_PRIVATE_CLOUD": Code("error", "Source and destination are the same private cloud", "Set `destination` to the private cloud the workloads move to."),
    "MON_BETWEEN_GEN2": Code("error", "MON requested between two Generation 2 private clouds", "Set `mon: false` on the extension: HCX MON is not supported between two Gen 2 clouds (it is between Gen 1 and Gen 2)."),
    "HCX_ENTERPRISE_REQUIRED": Code("error", "RAV or MON needs HCX Enterprise", "Install the HCX add-on with the Enterprise offer, or use `bulk`/`vmotion` and `mon: false`."),
    "CONNECTIVITY_MODE_MISMATCH": Code("error", "The forced connectivity mode does not fit the clouds' regions", "Use `interconnect` within one region and `global_reach` across regions, or set `connectivity.mode: auto`."),
    "GEN2_CONNECTIVITY_EXTERNAL": Code("warning", "Gen 2 connectivity is VNet peering or an ExpressRoute gateway, outside Microsoft.AVS", "Peer the VNets (Gen 2 to Gen 2) or redeem the Gen 1 cloud's authorization key on the Gen 2 VNet's gateway, then run again."),
    "SWITCHOVER_WINDOW_PASSED": Code("error", "A switchover window has already ended", "Move the window into the future, or remove it to switch over as soon as the transfer completes."),
    # Selecting VMs (MigrationPlan.assign_vms).
    "VM_NOT_FOUND_AT_SOURCE": Code("error", "A VM named by the plan is not in the source inventory", "Check the name (names are case-sensitive) or remove the VM from the wave."),
    "VM_NAME_AMBIGUOUS_AT_SOURCE": Code("error", "Several source VMs share a name the plan uses", "Rename the duplicates in vCenter so each VM name is unique, then run again."),
    "VM_SELECTED_BY_SEVERAL_WAVES": Code("warning", "A VM matches the selection of more than one wave", "Nothing to do if the first wave is right; otherwise name the VM explicitly in the wave it belongs to."),
    "WAVE_EMPTY": Code("warning", "A wave selects no VMs", "Check the wave's folders and name patterns against the source inventory."),
    # Preflight (ARM and HCX).
    "PRIVATE_CLOUD_NOT_FOUND": Code("error", "A private cloud does not exist or is not visible to the app", "Check the ARM id and grant the app's identity Reader on the private cloud."),
    "PRIVATE_CLOUD_NOT_READY": Code("error", "A private cloud is not in the Succeeded state", "Wait until the private cloud's provisioning state is Succeeded, then run again."),
    "HCX_ADDON_MISSING": Code("error", "The HCX add-on is not installed and the plan does not allow installing it", "Install HCX on the private cloud, or set `hcx.install_addon: true`."),
    "CONNECTIVITY_MISSING": Code("error", "The private clouds are not connected and the plan does not allow creating the link", "Create the AVS Interconnect (same region) or Global Reach connection (across regions), or set `connectivity.allow_create: true`."),
    "GLOBAL_REACH_NOT_CONNECTED": Code("error", "The Global Reach connection exists but is not Connected", "Check the ExpressRoute authorization key and peer circuit, then run again."),
    "HCX_UNREACHABLE": Code("error", "An HCX Manager could not be reached", "Check connectivity from the app to the HCX Manager on TCP 443 and its health in the Azure portal."),
    "HCX_LOGIN_FAILED": Code("error", "An HCX Manager refused the cloudadmin credentials", "Check that the credentials are current; if you override them, update HCX_*_USERNAME/PASSWORD."),
    "HCX_TLS_UNTRUSTED": Code("error", "The app does not trust an HCX Manager's TLS certificate", "Pin the certificate's SHA-256 fingerprint in `hcx.trusted_fingerprints`, or add its CA to HCX_CA_BUNDLE."),
    "VM_NAME_TAKEN_AT_DESTINATION": Code("error", "A VM with the same name already exists at the destination", "Rename or remove the destination VM, or leave this VM out of the plan."),
    "DATASTORE_CAPACITY": Code("error", "The destination datastore lacks space for the VMs' disks", "Free space, add capacity, or target another datastore in the wave's placement."),
    "NE_CAPACITY": Code("error", "Not enough Network Extension appliance capacity for the requested extensions", "Add NE appliances to the service mesh (8 networks each) or extend fewer networks."),
    "SOURCE_NETWORK_MISSING": Code("error", "A network the plan names does not exist at the source", "Check the port group name in `network_extensions` or `network_mappings`."),
    "DESTINATION_NETWORK_MISSING": Code("error", "A declared destination network does not exist at the destination", "Create the NSX segment at the destination, or fix `destination_networks`."),
    # Site pairing and service mesh.
    "HCX_CERTIFICATE_NOT_PINNED": Code("error", "The remote HCX Manager's certificate is untrusted and no fingerprint is pinned", "Verify the fingerprint shown out of band, then add it to `hcx.trusted_fingerprints` and submit again."),
    "HCX_CERTIFICATE_PIN_MISMATCH": Code("error", "The remote HCX Manager's certificate matches none of the pinned fingerprints", "If the certificate changed legitimately, pin the fingerprint shown; otherwise investigate before pairing."),
    "SITE_PAIRING_FAILED": Code("error", "HCX could not create the site pairing", "Read HCX's message in the finding; fix the cause (credentials, reachability) and run again."),
    "SERVICE_MESH_MISSING": Code("error", "No service mesh pairs the two sites", "Create a service mesh between the sites in HCX, or name an existing one in `hcx.service_mesh`."),
    "SERVICE_MESH_SERVICES_MISSING": Code("error", "The service mesh lacks services the plan needs", "Edit the service mesh to enable the listed services (e.g. RAV, NETWORK_EXTENSION)."),
    # Network extension.
    "EXTENSION_FAILED": Code("error", "A network extension job failed", "Read HCX's message in the finding, fix the cause, and run again; the extension is retried."),
    # Preparation (orchestrators/prepare.py): fixes that failed, and resolution against the inventories.
    "HCX_ADDON_INSTALL_FAILED": Code("error", "Installing the HCX add-on failed", "Read ARM's message in the finding; install HCX from the Azure portal or fix the cause, then run again."),
    "CONNECTIVITY_CREATE_FAILED": Code("error", "Creating the link between the private clouds failed", "Read ARM's message in the finding; create the AVS Interconnect or Global Reach connection by hand or fix the cause, then run again."),
    "NETWORK_MAPPING_MISSING": Code("error", "A VM's network is neither extended nor mapped to a destination network", "Extend the network in `network_extensions` or add a `network_mappings` entry for it."),
    "DESTINATION_GATEWAY_MISSING": Code("error", "A Tier-1 gateway named by a network extension does not exist at the destination", "Check `destination_gateway` against the destination's NSX Tier-1 gateways."),
    "PLACEMENT_NOT_FOUND": Code("error", "A cluster, resource pool, datastore or folder named in a placement does not exist at the destination", "Fix the wave's `placement` (names are case-sensitive) or create the object at the destination."),
    "PREPARATION_ERROR": Code("error", "An unexpected error stopped the preparation", "Read the message; if it names an outage, run again once the service answers; otherwise report it with the migration id."),
    # The wave engine (shared.engine) and network cutover.
    "MIGRATION_VALIDATION_FAILED": Code("error", "HCX refused to validate a VM's migration", "Read HCX's message; fix the VM (snapshots, mounted ISO, power state, a name taken at the destination) or the plan, then POST /api/migrations/{id}/retry."),
    "MIGRATION_WARNING": Code("warning", "HCX accepted a migration with a warning", "Nothing to do if the change HCX announces is expected (e.g. snapshots removed); otherwise fix the VM before its wave runs."),
    "VM_MIGRATION_RETRIED": Code("info", "A migration attempt failed and the VM was retried with seed checkpoint", "Nothing to do; the VM's final state and attempts are in the report."),
    "VM_MIGRATION_FAILED": Code("error", "A VM's migration failed after every attempt", "Read HCX's message, fix the cause, then POST /api/migrations/{id}/retry: seed checkpoint resumes the copy."),
    "VM_VERIFICATION_FAILED": Code("error", "A migrated VM is not as expected at the destination or the source", "Compare the VM at the destination (power state, networks) and the source copy with the report, and correct them by hand."),
    "WAVE_HALTED": Code("error", "A wave stopped because more VMs failed than its limit allows", "Fix the failures, then POST /api/migrations/{id}/retry, or cancel the migration."),
    "APPROVAL_TIMED_OUT": Code("warning", "Nobody approved a switchover before the approval timed out", "The plan's on_timeout policy was applied; approve earlier next time or lengthen approval.timeout."),
    "CUTOVER_SKIPPED": Code("warning", "An extended network was not cut over", "VMs still use it at the source, or its approval did not come: cut it over when ready (HCX unextend with gateway connection)."),
    "CUTOVER_FAILED": Code("error", "Unextending a network or connecting its segment to the gateway failed", "Read the message, then finish the cutover by hand in HCX and NSX, or run the migration's cutover again."),
}
# fmt: on


class Finding(BaseModel):
    """One thing worth telling the operator, with what to do about it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    severity: Severity
    message: str
    remedy: str
    # What the finding is about: an ARM id, an HCX URL, a VM or network name, or a plan JSON pointer.
    resource: str | None = None
    # Small machine-readable facts (e.g. a certificate fingerprint). Never secrets.
    details: dict[str, str | int | float | bool | None] = Field(default_factory=dict)

    @field_validator("code")
    @classmethod
    def _known_code(cls, value: str) -> str:
        if not _CODE.match(value):
            raise ValueError(f"finding codes are UPPER_SNAKE, got {value!r}")
        if value not in CODES:
            raise ValueError(f"unknown finding code {value!r}: add it to shared.findings.CODES")
        return value


def finding(
    code: str,
    message: str,
    *,
    resource: str | None = None,
    severity: Severity | None = None,
    remedy: str | None = None,
    details: dict[str, Any] | None = None,
) -> Finding:
    """A `Finding` for a registered `code`, with its default severity and remedy unless given."""
    entry = CODES.get(code)
    if entry is None:
        raise ValueError(f"unknown finding code {code!r}: add it to shared.findings.CODES")
    return Finding(
        code=code,
        severity=severity or entry.severity,
        message=message,
        remedy=remedy or entry.remedy,
        resource=resource,
        details=details or {},
    )


def blocking(findings: list[Finding]) -> bool:
    """True when any finding is an error: the phase must stop before it changes anything."""
    return any(f.severity == "error" for f in findings)


_BEGIN = "<!-- BEGIN GENERATED: python -m shared.findings --write-docs -->"
_END = "<!-- END GENERATED -->"
_DOC = Path(__file__).resolve().parent.parent / "docs" / "findings.md"


def markdown_table() -> str:
    """The docs/findings.md table, one row per registered code, sorted by code."""
    rows = ["| code | severity | what it means | remedy |", "| --- | --- | --- | --- |"]
    for code, entry in sorted(CODES.items()):
        remedy = entry.remedy.replace("|", "\\|")
        rows.append(f"| `{code}` | {entry.severity} | {entry.summary} | {remedy} |")
    return "\n".join(rows) + "\n"


def render_doc(current: str) -> str:
    """`current` (docs/findings.md) with the generated table between its markers replaced."""
    head, sep, rest = current.partition(_BEGIN)
    if not sep or _END not in rest:
        raise ValueError(f"docs/findings.md lacks the markers {_BEGIN!r} ... {_END!r}")
    tail = rest.split(_END, 1)[1]
    return f"{head}{_BEGIN}\n{markdown_table()}{_END}{tail}"


def main(argv: list[str]) -> int:
    if argv == ["--write-docs"]:
        _DOC.write_text(render_doc(_DOC.read_text()))
        print(f"wrote {_DOC}")
        return 0
    if argv == ["--markdown"]:
        sys.stdout.write(markdown_table())
        return 0
    print("usage: python -m shared.findings --markdown | --write-docs", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
