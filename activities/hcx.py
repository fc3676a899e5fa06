"""Activities that talk to the HCX Managers: reachability, inventory, pairing, meshes, extensions.

Every activity logs in with the cloudadmin credentials it fetches itself (`activities._clients`),
does one bounded thing and returns a small JSON result; long operations (pairing, extension jobs)
are started by one activity and followed by `check_hcx_job` / `check_extensions` between durable
timers. Everything checks before it creates:

* `check_hcx_managers`: both managers answer a login over verified TLS; their versions.
* `preflight_inventory`: both inventories against the plan (`shared.preflight.inventory_findings`),
  plus Network Extension capacity when the meshes are already visible; changes nothing.
* `ensure_site_pairing`: pair source → destination unless paired; the destination certificate is
  imported only when it matches a pinned fingerprint (`HcxClient.pair_site`), otherwise the finding
  shows the fingerprint to pin.
* `check_hcx_job`: a pairing or extension job's end and HCX's message.
* `check_service_mesh`: the usable meshes (`shared.preflight.usable_meshes`) and NE capacity.
* `ensure_network_extensions` / `check_extensions` / `unextend_network`: extend what is missing (a
  failed earlier attempt is cleaned up first), follow the jobs, remove a failed or cut-over extension.
* `build_prepared_context`: both inventories, the pairing and the extensions resolved into the
  `PreparedContext` the wave engine consumes.

Operator-actionable outcomes (untrusted certificates, refused logins, refusals with HCX's message)
come back as findings; transient failures (HCX unavailable, a certificate that cannot be read) raise,
and the orchestrator retries them. This module depends on `shared.hcx`, `shared.preflight` and
`shared.prepared`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import azure.durable_functions as df
from pydantic import BaseModel, ConfigDict, Field

from activities import _clients
from shared.cloud import CloudFacts
from shared.errors import CredentialsError
from shared.findings import Finding, finding
from shared.hcx import (
    HcxAuthError,
    HcxCertificateUntrusted,
    HcxClient,
    HcxConflict,
    HcxNotFound,
    HcxPairingError,
    HcxTlsError,
    HcxValidationError,
    InventoryNetwork,
    L2Extension,
    SiteRef,
    extension_request,
)
from shared.plan import MigrationPlan, VmRef
from shared.preflight import SiteInventory, inventory_findings, ne_capacity, resolve_waves, usable_meshes
from shared.prepared import CloudSide, ExtensionRef, MeshRef, PreparedContext, SitePairingRef
from shared.tls import fetch_certificate, normalise_fingerprint

__all__ = [
    "ContextRequest",
    "ExtensionJob",
    "ExtensionJobs",
    "JobRequest",
    "Manager",
    "PlanRequest",
    "UnextendRequest",
    "bp",
]

log = logging.getLogger("activities.hcx")
bp = df.Blueprint()


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Manager(_Payload):
    """One HCX Manager: which side, its private cloud (for the credentials) and its URL."""

    side: Literal["source", "destination"]
    cloud_id: str
    url: str


class PlanRequest(_Payload):
    """Both managers, the plan's pins, and (for the checks that need them) the plan and more."""

    source: Manager
    destination: Manager
    pins: list[str] = Field(default_factory=list)
    plan: dict[str, Any] | None = None
    gateways: list[str] | None = None
    mesh_ids: list[str] | None = None


class JobRequest(_Payload):
    manager: Manager
    pins: list[str] = Field(default_factory=list)
    job_id: str


class ExtensionJob(_Payload):
    network: str
    job_id: str | None = None
    stretch_id: str | None = None


class ExtensionJobs(_Payload):
    manager: Manager
    pins: list[str] = Field(default_factory=list)
    jobs: list[ExtensionJob]


class UnextendRequest(_Payload):
    manager: Manager
    pins: list[str] = Field(default_factory=list)
    stretch_id: str


class ContextRequest(_Payload):
    request: PlanRequest
    digest: str
    prepared_at: datetime
    source: CloudFacts
    destination: CloudFacts
    versions: dict[str, dict[str, str | None]] = Field(default_factory=dict)
    meshes: list[MeshRef] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)


def _plan(request: PlanRequest) -> MigrationPlan:
    if request.plan is None:
        raise ValueError("this activity needs the plan")
    return MigrationPlan.model_validate(request.plan)


def _client(manager: Manager, pins: Sequence[str]) -> Any:
    return _clients.hcx(manager.side, manager.cloud_id, manager.url, pins)


def _manager_finding(exc: Exception, manager: Manager) -> Finding | None:
    """The finding an operator acts on for a manager we cannot use; None for transient failures."""
    if isinstance(exc, HcxTlsError):
        return exc.to_finding()
    if isinstance(exc, HcxAuthError):
        return finding(
            "HCX_LOGIN_FAILED",
            f"the {manager.side} HCX Manager at {manager.url} refused the cloudadmin credentials",
            resource=manager.url,
        )
    if isinstance(exc, CredentialsError):
        return finding("HCX_LOGIN_FAILED", str(exc), resource=manager.cloud_id)
    return None


def _dump(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    return [f.model_dump(mode="json") for f in findings]


def _local_site(client: HcxClient) -> SiteRef:
    containers = client.resource_containers(local=True)
    if not containers:
        raise RuntimeError(f"HCX Manager {client.url} reports no local vCenter")
    return SiteRef.of(containers[0])


def _read_site(client: HcxClient) -> SiteInventory:
    site = _local_site(client)
    endpoint = site.endpoint_id
    return SiteInventory(
        site=site,
        vms=client.virtual_machines(endpoint),
        networks=client.networks(endpoint),
        datastores=client.datastores(endpoint),
        containers=client.containers(endpoint),
    )


def _version(client: HcxClient, endpoint_id: str) -> str | None:
    # inferred: hcx-api.md has no 4.x "version of this manager" call; the interconnect appliances run
    # the manager's version and report it (§5.4), and a pairing reports the remote one (§4.3).
    versions = [
        a.version for a in client.list_appliances() if a.version and a.endpoint_id in (None, endpoint_id)
    ]
    return versions[0] if versions else None


# --- preflight ------------------------------------------------------------------------------------


@bp.activity_trigger(input_name="payload")
def check_hcx_managers(payload: dict[str, Any]) -> dict[str, Any]:
    """Log in to both managers; `{"managers": {side: {url, reachable, version}}, "findings"}`."""
    request = PlanRequest.model_validate(payload)
    managers: dict[str, dict[str, Any]] = {}
    findings: list[Finding] = []
    for manager in (request.source, request.destination):
        entry: dict[str, Any] = {"url": manager.url, "reachable": False, "version": None}
        try:
            with _client(manager, request.pins) as client:
                client.login()
                entry["reachable"] = True
                entry["version"] = _version(client, _local_site(client).endpoint_id)
        except Exception as exc:
            found = _manager_finding(exc, manager)
            if found is None:
                raise
            findings.append(found)
        managers[manager.side] = entry
    return {"managers": managers, "findings": _dump(findings)}


@bp.activity_trigger(input_name="payload")
def preflight_inventory(payload: dict[str, Any]) -> dict[str, Any]:
    """The plan against both inventories; `{"findings", "waves": [{name, vms, disk_bytes}]}`."""
    request = PlanRequest.model_validate(payload)
    plan = _plan(request)
    with _client(request.source, request.pins) as source_client:
        source = _read_site(source_client)
        # Meshes exist only once the sites are paired; when they are visible, check NE room now.
        appliances = source_client.list_appliances()
        extensions = source_client.list_l2_extensions() if appliances else []
    with _client(request.destination, request.pins) as destination_client:
        destination = _read_site(destination_client)
    findings, assignment = inventory_findings(plan, source, destination, request.gateways)
    if appliances and plan.network_extensions:
        local = [a for a in appliances if a.endpoint_id in (None, source.site.endpoint_id)]
        findings += ne_capacity(plan, extensions, local)
    waves = []
    for wave in plan.waves:
        names = assignment.waves.get(wave.name, [])
        disk = sum(vm.disk_bytes for vm in (source.vm(n) for n in names) if vm is not None)
        waves.append({"name": wave.name, "vms": len(names), "disk_bytes": disk})
    return {"findings": _dump(findings), "waves": waves}


# --- site pairing ---------------------------------------------------------------------------------


def _pairing_pins(request: PlanRequest) -> list[str]:
    """The plan's pins that may identify the destination: all but the source manager's own.

    One list pins both managers (for the app's TLS) and the pairing; a pin that is the source's own
    certificate says nothing about the destination, so a plan that pins only the source gets
    HCX_CERTIFICATE_NOT_PINNED (not PIN_MISMATCH) when the destination's certificate is untrusted.
    """
    own = fetch_certificate(request.source.url).fingerprint
    return [p for p in request.pins if normalise_fingerprint(p) != own]


@bp.activity_trigger(input_name="payload")
def ensure_site_pairing(payload: dict[str, Any]) -> dict[str, Any]:
    """Pair the source manager with the destination unless paired.

    `{"state": "existing"|"started"|"blocked", "job_id", "endpoint_id", "imported_fingerprint",
    "findings"}`; the destination's credentials are fetched here, sent to the source manager in the
    pairing request, and dropped.
    """
    request = PlanRequest.model_validate(payload)
    remote_url = request.destination.url
    try:
        with _client(request.source, request.pins) as client:
            existing = client.find_pairing(remote_url)
            if existing is not None:
                return {"state": "existing", "endpoint_id": existing.endpoint_id, "findings": []}
            remote = _clients.remote_credentials("destination", request.destination.cloud_id)
            result = client.pair_site(remote_url, remote, _pairing_pins(request))
            del remote
    except HcxCertificateUntrusted as untrusted:
        return {"state": "blocked", "findings": _dump([untrusted.to_finding()])}
    except HcxPairingError as refused:
        found = finding(
            "SITE_PAIRING_FAILED",
            f"HCX could not pair with {remote_url}: {refused}",
            resource=remote_url,
        )
        return {"state": "blocked", "findings": _dump([found])}
    except Exception as exc:
        found_or_none = _manager_finding(exc, request.source)
        if found_or_none is None:
            raise
        return {"state": "blocked", "findings": _dump([found_or_none])}
    if result.existing is not None:
        return {"state": "existing", "endpoint_id": result.existing.endpoint_id, "findings": []}
    log.info("site pairing with %s started (job %s)", remote_url, result.job_id)
    return {
        "state": "started",
        "job_id": result.job_id,
        "imported_fingerprint": result.imported_fingerprint,
        "findings": [],
    }


@bp.activity_trigger(input_name="payload")
def check_hcx_job(payload: dict[str, Any]) -> dict[str, Any]:
    """`{"finished", "succeeded", "message", "endpoint_id"}` of an HCX job."""
    request = JobRequest.model_validate(payload)
    with _client(request.manager, request.pins) as client:
        job = client.get_job(request.job_id)
    return {
        "finished": job.finished,
        "succeeded": job.succeeded,
        "message": job.error_message,
        "endpoint_id": job.endpoint_id,
        "percent": job.percent_complete,
    }


# --- service mesh ---------------------------------------------------------------------------------


@bp.activity_trigger(input_name="payload")
def check_service_mesh(payload: dict[str, Any]) -> dict[str, Any]:
    """`{"meshes": [MeshRef], "findings"}`: the meshes the plan can use, and NE capacity on them."""
    request = PlanRequest.model_validate(payload)
    plan = _plan(request)
    with _client(request.source, request.pins) as client:
        local = _local_site(client)
        pairing = client.find_pairing(request.destination.url)
        remote_endpoint = pairing.endpoint_id if pairing is not None else ""
        meshes = client.list_service_meshes()
        appliances = client.list_appliances()
        extensions = client.list_l2_extensions() if plan.network_extensions else []
    usable, findings = usable_meshes(plan, meshes, appliances, local.endpoint_id, remote_endpoint)
    if usable and plan.network_extensions:
        ids = {m.service_mesh_id for m in usable if "NETWORK_EXTENSION" in m.services}
        local_appliances = [a for a in appliances if a.endpoint_id in (None, local.endpoint_id)]
        findings += ne_capacity(plan, extensions, local_appliances, ids)
    return {"meshes": [m.model_dump(mode="json") for m in usable], "findings": _dump(findings)}


# --- network extension ----------------------------------------------------------------------------


def _live(extensions: Sequence[L2Extension], network: str) -> L2Extension | None:
    return next((e for e in extensions if e.source_network_name == network and not e.failed), None)


@bp.activity_trigger(input_name="payload")
def ensure_network_extensions(payload: dict[str, Any]) -> dict[str, Any]:
    """Extend every plan network not yet extended; `{"jobs": [ExtensionJob], "findings"}`.

    Live extensions are left alone (their stretch is returned without a job); an earlier failed
    attempt on a network is removed before it is extended again.
    """
    request = PlanRequest.model_validate(payload)
    plan = _plan(request)
    mesh_ids = set(request.mesh_ids or [])
    jobs: list[dict[str, Any]] = []
    findings: list[Finding] = []
    with _client(request.source, request.pins) as client:
        local = _local_site(client)
        pairing = client.find_pairing(request.destination.url)
        remotes = client.resource_containers(local=False, remote=True)
        remote = next(
            (c for c in remotes if pairing is not None and c.endpoint_id == pairing.endpoint_id),
            remotes[0] if remotes else None,
        )
        if remote is None:
            raise RuntimeError("the source HCX Manager reports no paired remote site")
        destination = SiteRef.of(remote)
        existing = client.list_l2_extensions()
        networks = {n.name: n for n in client.networks(local.endpoint_id)}
        slots = {
            a.appliance_id: a.free_extension_slots
            for a in client.query_appliances(endpoint_id=local.endpoint_id)
            if a.is_network_extension and (not mesh_ids or a.service_mesh_id in mesh_ids)
        }
        for e, ext in enumerate(plan.network_extensions):
            live = _live(existing, ext.source_network)
            if live is not None:
                jobs.append({"network": ext.source_network, "job_id": None, "stretch_id": live.stretch_id})
                continue
            for failed in (x for x in existing if x.source_network_name == ext.source_network and x.failed):
                with contextlib.suppress(HcxNotFound, HcxConflict):  # already gone, or being removed
                    client.delete_l2_extension(failed.stretch_id)
            network = networks.get(ext.source_network)
            if network is None:
                findings.append(
                    finding(
                        "SOURCE_NETWORK_MISSING",
                        f"the source has no network {ext.source_network!r} to extend",
                        resource=f"/network_extensions/{e}/source_network",
                    )
                )
                continue
            appliance = next((a for a, free in sorted(slots.items()) if free > 0), None)
            if appliance is None:
                findings += ne_capacity(plan, existing, [])
                break
            body = extension_request(
                vc_guid=local.resource_id,
                network=network,
                gateway=ext.gateway,
                netmask=ext.netmask,
                destination=destination,
                destination_gateway=ext.destination_gateway,
                appliance_id=appliance,
                mon=ext.mon,
            )
            try:
                started = client.create_l2_extension(body)
            except HcxConflict:
                # Extended meanwhile (by an earlier run of this activity): follow it by listing.
                jobs.append({"network": ext.source_network, "job_id": None, "stretch_id": None})
                continue
            except HcxValidationError as refused:
                findings.append(
                    finding(
                        "EXTENSION_FAILED",
                        f"HCX refused to extend {ext.source_network!r}: {refused}",
                        resource=f"/network_extensions/{e}",
                    )
                )
                continue
            slots[appliance] -= 1
            log.info("extending %s (job %s)", ext.source_network, started.job_id)
            jobs.append(
                {"network": ext.source_network, "job_id": started.job_id, "stretch_id": started.stretch_id}
            )
    return {"jobs": jobs, "findings": _dump(findings)}


@bp.activity_trigger(input_name="payload")
def check_extensions(payload: dict[str, Any]) -> dict[str, Any]:
    """`{"done": bool, "networks": [{name, state, stretch_id, segment, mon, message}]}`.

    A network is `extended` when its job succeeded (or, without a job, its extension is live and not
    in progress), `failed` with HCX's message when the job or the extension failed, else `extending`.
    """
    request = ExtensionJobs.model_validate(payload)
    networks: list[dict[str, Any]] = []
    with _client(request.manager, request.pins) as client:
        extensions = client.list_l2_extensions()
        for job in request.jobs:
            ext = next(
                (e for e in extensions if e.stretch_id == job.stretch_id)
                if job.stretch_id
                else (e for e in extensions if e.source_network_name == job.network and not e.failed),
                None,
            )
            if ext is None:
                ext = next((e for e in extensions if e.source_network_name == job.network), None)
            state, message = "extending", None
            if job.job_id:
                result = client.get_job(job.job_id)
                if result.finished:
                    state = "extended" if result.succeeded else "failed"
                    message = result.error_message
            elif ext is not None:
                progress = (ext.state or "").upper()
                state = "failed" if ext.failed else ("extending" if "PROGRESS" in progress else "extended")
            if ext is not None and ext.failed:
                state = "failed"
            segment = ext.destination_network.get("networkName") if ext is not None else None
            networks.append(
                {
                    "name": job.network,
                    "state": state,
                    "stretch_id": ext.stretch_id if ext is not None else job.stretch_id,
                    "segment": segment or None,
                    "mon": ext.mon if ext is not None else None,
                    "message": message if state == "failed" else None,
                }
            )
    return {"done": all(n["state"] != "extending" for n in networks), "networks": networks}


@bp.activity_trigger(input_name="payload")
def unextend_network(payload: dict[str, Any]) -> dict[str, Any]:
    """Remove an extension (a failed attempt, or a network cut over); `{"job_id"}`, None if gone."""
    request = UnextendRequest.model_validate(payload)
    with _client(request.manager, request.pins) as client:
        try:
            return {"job_id": client.delete_l2_extension(request.stretch_id)}
        except HcxNotFound:
            return {"job_id": None}


# --- the prepared context -------------------------------------------------------------------------


def _segments(
    plan: MigrationPlan, extensions: Sequence[L2Extension], destination: SiteInventory
) -> tuple[dict[str, InventoryNetwork], list[ExtensionRef], list[Finding]]:
    segments: dict[str, InventoryNetwork] = {}
    refs: list[ExtensionRef] = []
    findings: list[Finding] = []
    for e, ext in enumerate(plan.network_extensions):
        live = _live(extensions, ext.source_network)
        name = str(live.destination_network.get("networkName") or "") if live is not None else ""
        network = destination.network(name) if name else None
        if network is None and live is not None:
            # inferred: hcx-api.md §6.1 — the L2E segment is named L2E_<network>-<vlan>-<suffix>; look it
            # up by that prefix when a manager leaves destinationNetwork.networkName out.
            network = next(
                (n for n in destination.networks if n.name.startswith(f"L2E_{ext.source_network}-")), None
            )
        if live is None or network is None:
            findings.append(
                finding(
                    "EXTENSION_FAILED",
                    f"network {ext.source_network!r} has no live extension with a destination segment",
                    resource=f"/network_extensions/{e}",
                )
            )
            continue
        segments[ext.source_network] = network
        refs.append(
            ExtensionRef(
                source_network=ext.source_network,
                stretch_id=live.stretch_id,
                destination_segment=network.name,
                destination_segment_id=network.id,
                destination_gateway=ext.destination_gateway,
                gateway_cidr=ext.gateway_cidr,
                mon=live.mon,
            )
        )
    return segments, refs, findings


def _side(facts: CloudFacts, version: dict[str, str | None] | None) -> CloudSide:
    return CloudSide(
        cloud_id=facts.id,
        name=facts.name,
        region=facts.region,
        generation=facts.generation,
        hcx_url=facts.hcx_url or "",
        hcx_version=(version or {}).get("version"),
        hcx_build=(version or {}).get("build"),
        hcx_enterprise=facts.hcx_enterprise,
    )


@bp.activity_trigger(input_name="payload")
def build_prepared_context(payload: dict[str, Any]) -> dict[str, Any]:
    """`{"context": PreparedContext}` or `{"findings": [...]}` when something cannot be resolved."""
    request = ContextRequest.model_validate(payload)
    plan = _plan(request.request)
    pins = request.request.pins
    with _client(request.request.source, pins) as client:
        source = _read_site(client)
        pairing = client.find_pairing(request.request.destination.url)
        remotes = client.resource_containers(local=False, remote=True)
        extensions = client.list_l2_extensions() if plan.network_extensions else []
    remote = next((c for c in remotes if pairing is not None and c.endpoint_id == pairing.endpoint_id), None)
    if pairing is None or remote is None:
        found = finding(
            "SITE_PAIRING_FAILED",
            f"the source HCX Manager has no pairing with {request.request.destination.url}",
            resource=request.request.destination.url,
        )
        return {"findings": _dump([found])}
    # inferred: entity ids are vCenter managed-object ids, the same whichever manager reports them,
    # so the destination's own inventory gives the ids the source manager's migration items need.
    with _client(request.request.destination, pins) as client:
        destination = _read_site(client)
    segments, refs, findings = _segments(plan, extensions, destination)
    if findings:
        return {"findings": _dump(findings)}
    assignment = plan.assign_vms(VmRef(v.name, v.folder) for v in source.vms)
    waves, folders = resolve_waves(plan, assignment, source, destination, segments)
    versions = dict(request.versions)
    remote_version = {"version": pairing.version, "build": pairing.build_number}
    if not (versions.get("destination") or {}).get("version"):
        versions["destination"] = remote_version
    context = PreparedContext(
        plan_id=plan.id,
        digest=request.digest,
        prepared_at=request.prepared_at,
        source=_side(request.source, versions.get("source")),
        destination=_side(request.destination, versions.get("destination")),
        pairing=SitePairingRef(
            source=source.site, destination=SiteRef.of(remote), destination_type=pairing.cloud_type
        ),
        meshes=request.meshes,
        waves=waves,
        extensions=refs,
        destination_folders=folders,
        findings=[f for f in request.findings if f.severity != "error"],
    )
    return {"context": context.model_dump(mode="json")}
