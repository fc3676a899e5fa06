"""The migration plan's data model (pydantic v2): what an operator submits, field by field.

Field names are snake_case in JSON and YAML. Every model forbids unknown fields, so a typo fails
loudly instead of silently meaning "default". Descriptions here become docs/plan.schema.json.

Inheritance: `MigrationPlan.migration` holds the defaults (`MigrationSettings`, every field has a
value); each wave may carry a `MigrationOverride` whose fields are all optional, where an absent or
null field means "inherit". A switchover window is cleared in an override with the string
`"immediate"`. Cross-field contradictions are checked in `shared.plan.checks`, not here, so each one
can be reported with the JSON pointer of the field at fault.

This module depends on pydantic and `shared.tls`/`shared.cloud` (pure helpers) only.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
)

from shared.cloud import parse_private_cloud_id
from shared.tls import normalise_fingerprint

__all__ = [
    "Approval",
    "ApprovalOverride",
    "Connectivity",
    "CutoverApproval",
    "HcxSettings",
    "Limits",
    "MigrationOptions",
    "MigrationOverride",
    "MigrationSettings",
    "MigrationType",
    "NetworkCutover",
    "NetworkExtension",
    "NetworkMapping",
    "Notifications",
    "OptionsOverride",
    "Placement",
    "PlanModel",
    "PollCadence",
    "SwitchoverWindow",
    "Wave",
    "WaveSelection",
    "Webhook",
]

MigrationType = Literal["bulk", "vmotion", "rav", "cold"]


class PlanModel(BaseModel):
    # A typo in a plan must fail loudly; a validated plan never changes (its digest is its identity).
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


# --- field types ---------------------------------------------------------------------------------

_PLAN_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_WAVE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?\s*$")


def _plan_id(value: str) -> str:
    if not _PLAN_ID.match(value):
        raise ValueError(
            "must be 3-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit "
            "(it becomes the Durable instance id)"
        )
    return value


def _wave_name(value: str) -> str:
    if not _WAVE_NAME.match(value):
        raise ValueError(
            "must be 1-63 characters of letters, digits, '.', '_' and '-', starting with a letter or digit"
        )
    return value


def _name(value: str) -> str:
    if not value or value != value.strip():
        raise ValueError("must be non-empty, without leading or trailing spaces")
    return value


def _setting_name(value: str) -> str:
    if not _SETTING_NAME.match(value):
        raise ValueError("must be an app setting name (letters, digits and '_', not starting with a digit)")
    return value


def _cloud_id(value: str) -> str:
    return parse_private_cloud_id(value).id


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _duration(value: Any) -> Any:
    # Accept "90s", "5m", "4h", "1d", "1h30m" besides ISO 8601 ("PT4H") and plain seconds.
    if isinstance(value, str) and value.strip() and not value.strip().upper().startswith("P"):
        match = _DURATION.match(value.lower())
        if match and any(match.groups()):
            d, h, m, s = (int(g) if g else 0 for g in match.groups())
            return timedelta(days=d, hours=h, minutes=m, seconds=s)
    return value


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be a positive duration")
    return value


def _https_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError("must be an https URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        # Keys and SAS signatures hide in user info and query strings: plans never hold secrets.
        raise ValueError("must not carry credentials, a query string or a fragment (plans hold no secrets)")
    return value


def _gateway_cidr(value: str) -> str:
    try:
        interface = ipaddress.IPv4Interface(value)
    except ValueError as exc:
        raise ValueError("must be the gateway address with its prefix length, e.g. 10.1.100.1/24") from exc
    network = interface.network
    if interface.network.prefixlen > 30:
        raise ValueError("the prefix length must be /30 or shorter for an extended network")
    if interface.ip in (network.network_address, network.broadcast_address):
        raise ValueError("the gateway must be a host address, not the network or broadcast address")
    return str(interface)


PlanId = Annotated[str, AfterValidator(_plan_id), Field(json_schema_extra={"pattern": _PLAN_ID.pattern})]
WaveName = Annotated[
    str, AfterValidator(_wave_name), Field(json_schema_extra={"pattern": _WAVE_NAME.pattern})
]
Name = Annotated[str, AfterValidator(_name), Field(min_length=1, max_length=255)]
VmName = Annotated[str, AfterValidator(_name), Field(min_length=1, max_length=80)]
CloudId = Annotated[
    str,
    AfterValidator(_cloud_id),
    Field(
        description="ARM id: /subscriptions/{id}/resourceGroups/{rg}"
        "/providers/Microsoft.AVS/privateClouds/{name}"
    ),
]
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]
Duration = Annotated[timedelta, BeforeValidator(_duration), AfterValidator(_positive)]
Fingerprint = Annotated[
    str,
    AfterValidator(normalise_fingerprint),
    Field(description="SHA-256 certificate fingerprint: 'AB:CD:…' or 64 hex digits; stored as lowercase hex"),
]
SettingName = Annotated[
    str,
    AfterValidator(_setting_name),
    Field(json_schema_extra={"pattern": _SETTING_NAME.pattern}),
]


# --- connectivity, HCX, networks -----------------------------------------------------------------


class Connectivity(PlanModel):
    """How the two private clouds reach each other."""

    mode: Literal["auto", "interconnect", "global_reach"] = "auto"
    """auto: AVS Interconnect within one region, ExpressRoute Global Reach across regions."""

    allow_create: bool = False
    """Whether the app may create the cloud link / Global Reach connection when it is missing."""

    def resolve(self, source_region: str, destination_region: str) -> Literal["interconnect", "global_reach"]:
        """The mode to use for these regions: the forced one, or the one `auto` picks."""
        if self.mode != "auto":
            return self.mode
        same = source_region.replace(" ", "").lower() == destination_region.replace(" ", "").lower()
        return "interconnect" if same else "global_reach"


class HcxSettings(PlanModel):
    """HCX on both private clouds and the trust used when pairing them."""

    install_addon: bool = False
    """Whether the app may install the HCX add-on (Enterprise offer) where it is missing."""

    licence: Literal["enterprise", "advanced"] | None = None
    """The HCX licence the operator expects; "advanced" forbids RAV and MON. None: check at preflight."""

    service_mesh: Name = "auto"
    """The service mesh to use, or "auto" to pick one that pairs the sites and has the needed services."""

    trusted_fingerprints: list[Fingerprint] = Field(default_factory=list)
    """Certificates to trust when pairing (and when the app talks to the HCX Managers): SHA-256 pins."""


class NetworkExtension(PlanModel):
    """One source network stretched to the destination with HCX Network Extension."""

    source_network: Name
    """The source port group's name, as vCenter shows it."""

    gateway_cidr: Annotated[str, AfterValidator(_gateway_cidr)]
    """The network's gateway with its prefix, e.g. 10.1.100.1/24."""

    destination_gateway: Name
    """The destination NSX Tier-1 gateway the extended segment attaches to (at cutover)."""

    mon: bool = False
    """Mobility Optimized Networking (HCX Enterprise; not between two Gen 2 clouds)."""

    @property
    def gateway(self) -> str:
        return str(ipaddress.IPv4Interface(self.gateway_cidr).ip)

    @property
    def netmask(self) -> str:
        return str(ipaddress.IPv4Interface(self.gateway_cidr).netmask)


class NetworkMapping(PlanModel):
    """Where VMs on a source network land: an extended network or a declared destination network."""

    source: Name
    """The source port group's name."""
    destination: Name
    """An extended network (named by its source network) or a name in `destination_networks`."""


# --- migration settings and overrides ------------------------------------------------------------


class SwitchoverWindow(PlanModel):
    """When switchover may happen, in absolute UTC (a timezone is required; it is converted to UTC)."""

    start: UtcDatetime
    """When switchover may begin, e.g. 2026-01-10T22:00:00Z."""
    end: UtcDatetime
    """When the window closes; HCX does not start a switchover after it."""


def _window_tag(value: Any) -> str:
    return "<immediate>" if isinstance(value, str) else "<window>"


# A window, or "immediate" (switch over as soon as the transfer completes).
WindowOrImmediate = Annotated[
    Annotated[SwitchoverWindow, Tag("<window>")] | Annotated[Literal["immediate"], Tag("<immediate>")],
    Discriminator(_window_tag),
]


class Approval(PlanModel):
    """Whether a person must approve before switchover opens, and what happens if nobody does."""

    required: bool = False
    """Wait for an `approve` event (for the migration or this wave) before switchover opens."""
    timeout: Duration = timedelta(hours=24)
    """Counted from when approval is requested (the wave's transfers are done)."""

    on_timeout: Literal["proceed", "skip_wave", "cancel"] = "cancel"
    """proceed: switch over anyway; skip_wave: cancel this wave's migrations and go on with the next
    wave; cancel: cancel the whole migration."""


class ApprovalOverride(PlanModel):
    """A wave's changes to the default approval; absent fields inherit."""

    required: bool | None = None
    timeout: Duration | None = None
    on_timeout: Literal["proceed", "skip_wave", "cancel"] | None = None


DiskProvisioning = Literal["thin", "thick", "same_as_source"]


class MigrationOptions(PlanModel):
    """HCX migration options (switchover and extended options)."""

    retain_mac: bool = True
    """Keep each VM's MAC addresses."""
    remove_snapshots: bool = True
    """Remove snapshots before switchover (HCX Bulk always removes them)."""
    remove_isos: bool = True
    """Unmount ISO images (vMotion and RAV refuse a mounted ISO)."""
    force_power_off: bool = False
    """Power the source VM off if a guest shutdown does not finish."""
    upgrade_hardware: bool = False
    """Upgrade the VM hardware version at the destination."""
    upgrade_tools: bool = False
    """Upgrade VMware Tools at the destination."""
    disk_provisioning: DiskProvisioning = "same_as_source"
    """Disk format at the destination."""
    seed_checkpoint: bool = True
    """Keep the target disks after a failure so a retry resumes (Bulk and RAV; ignored otherwise)."""


class OptionsOverride(PlanModel):
    """A wave's changes to the default options; absent fields inherit."""

    retain_mac: bool | None = None
    remove_snapshots: bool | None = None
    remove_isos: bool | None = None
    force_power_off: bool | None = None
    upgrade_hardware: bool | None = None
    upgrade_tools: bool | None = None
    disk_provisioning: DiskProvisioning | None = None
    seed_checkpoint: bool | None = None


class Placement(PlanModel):
    """Where migrated VMs land at the destination; unset fields let the app use the cloud's defaults.

    `cluster` and `resource_pool` are one choice (the compute container): an override that sets one
    replaces an inherited value of the other.
    """

    cluster: Name | None = None
    """The destination cluster (its root resource pool)."""
    resource_pool: Name | None = None
    """A destination resource pool, instead of a cluster."""
    datastore: Name | None = None
    """The destination datastore."""
    folder: Name | None = None
    """The destination VM folder."""


class MigrationSettings(PlanModel):
    """The plan-wide migration defaults; every field has a value."""

    type: MigrationType = "bulk"
    """bulk (replication, scheduled switchover), vmotion (live, one at a time), rav (replication then
    vMotion; HCX Enterprise) or cold (powered-off VMs)."""
    switchover_window: Annotated[
        SwitchoverWindow | None, BeforeValidator(lambda v: None if v == "immediate" else v)
    ] = None
    """When switchover may happen (bulk and rav only); null or "immediate": as soon as the transfer
    completes."""
    approval: Approval = Field(default_factory=Approval)
    """Whether switchover waits for a person's approval (bulk and rav only)."""
    options: MigrationOptions = Field(default_factory=MigrationOptions)
    placement: Placement = Field(default_factory=Placement)
    network_mappings: list[NetworkMapping] = Field(default_factory=list)
    """Where VMs on each source network land; extended networks map to their extension implicitly."""


class MigrationOverride(PlanModel):
    """A wave's changes to the defaults; absent or null fields inherit."""

    type: MigrationType | None = None
    switchover_window: WindowOrImmediate | None = None
    """A window, "immediate" to clear an inherited window, or null to inherit."""

    approval: ApprovalOverride | None = None
    options: OptionsOverride | None = None
    placement: Placement | None = None
    network_mappings: list[NetworkMapping] | None = None
    """Merged with the defaults by source network; a wave's mapping wins for the same source."""


# --- waves, limits, cutover, notifications -------------------------------------------------------


class WaveSelection(PlanModel):
    """VMs chosen from the source inventory by folder or name pattern, besides explicit names."""

    folders: list[Name] = Field(default_factory=list)
    """Folder names, matched exactly."""

    name_patterns: list[Name] = Field(default_factory=list)
    """Shell-style globs on VM names (`web-*`, `db-0?`), case-sensitive."""

    exclude: list[VmName] = Field(default_factory=list)
    """VMs the folders and patterns would select that stay out of this wave."""


class Wave(PlanModel):
    """A group of VMs migrated together, in plan order."""

    name: WaveName
    """Unique within the plan; shown in status, events and approvals."""
    description: str = ""
    vms: list[VmName] = Field(default_factory=list)
    """VM names, exactly as vCenter shows them. A VM may be named in one wave only."""
    selection: WaveSelection | None = None
    """VMs chosen by folder or name pattern, besides `vms`."""
    migration: MigrationOverride | None = None
    """Changes to the plan's `migration` defaults for this wave."""
    max_failures: Annotated[int, Field(ge=0)] | None = None
    """Overrides limits.max_failures_per_wave for this wave."""


class PollCadence(PlanModel):
    """How often the app asks HCX for progress; the defaults follow HCX's own estimate refresh."""

    small_vm: Duration = timedelta(seconds=90)
    """While a VM under 50 GB is in flight (durations: "90s", "5m", "4h" or ISO 8601 "PT5M")."""
    medium_vm: Duration = timedelta(minutes=5)
    """While the smallest VM in flight has 50 GB to 1 TB."""
    large_vm: Duration = timedelta(minutes=15)
    """While every VM in flight has 1 TB or more."""
    jobs: Duration = timedelta(seconds=10)
    """HCX jobs and tasks during preparation (pairing, extensions)."""

    def interval_for(self, disk_gb: float) -> timedelta:
        """The poll interval for one in-flight VM of `disk_gb` provisioned disk."""
        if disk_gb < 50:
            return self.small_vm
        if disk_gb < 1024:
            return self.medium_vm
        return self.large_vm


class Limits(PlanModel):
    """Bounds the wave engine keeps, on top of HCX's own (200 per mesh, 300 per manager)."""

    max_concurrent_migrations: Annotated[int, Field(ge=1, le=600)] | None = None
    """At most this many Bulk/RAV migrations in flight; None = only HCX's limits apply."""

    max_failures_per_wave: Annotated[int, Field(ge=0)] = 0
    """A wave halts when more VMs than this have failed for good (after their attempts)."""

    max_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    """HCX migrations per VM, the first included; retries use seed checkpoint."""

    on_halt: Literal["finish_in_flight", "cancel_in_flight"] = "finish_in_flight"
    """When a wave halts: let in-flight migrations finish, or cancel those not yet switched over."""

    poll: PollCadence = Field(default_factory=PollCadence)


class CutoverApproval(PlanModel):
    """Whether each network's cutover waits for a person's approval."""

    required: bool = False
    timeout: Duration = timedelta(hours=24)
    on_timeout: Literal["proceed", "skip"] = "skip"
    """proceed: cut over anyway; skip: leave the network extended (it can be cut over by hand)."""


class NetworkCutover(PlanModel):
    """Extended networks to cut over once all their VMs have moved, in this order."""

    networks: Annotated[list[Name], Field(min_length=1)]
    """Source network names from `network_extensions`, in cutover order."""
    approval: CutoverApproval = Field(default_factory=CutoverApproval)


class Webhook(PlanModel):
    """A webhook whose URL (which usually embeds a signature) lives in an app setting, never here."""

    name: WaveName
    url_setting: SettingName
    """The app setting (or Key Vault reference) holding the URL."""


class Notifications(PlanModel):
    """Where the app sends CloudEvents for this plan, besides the app-wide EVENTGRID_TOPIC_ENDPOINT."""

    event_grid_topic: Annotated[str, AfterValidator(_https_url)] | None = None
    """An Event Grid topic endpoint; the app authenticates with its managed identity."""

    webhooks: list[Webhook] = Field(default_factory=list)
