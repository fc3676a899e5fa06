"""Activities that talk to Microsoft.AVS (ARM): cloud facts, the HCX add-on, connectivity, segments.

Each activity does one bounded piece of work and returns; long operations are started by one
activity (an ARM PUT/PATCH sent with `polling=False`, so nothing waits in the worker) and followed by
another that reads the resource's state, with a durable timer between reads. Every activity checks
before it creates, so running it twice is harmless:

* `get_cloud_facts`: the private cloud, its HCX add-on and its NSX Tier-1 gateways; a missing or
  invisible cloud is the finding PRIVATE_CLOUD_NOT_FOUND.
* `ensure_hcx_addon` / `check_hcx_addon`: install the HCX add-on (Enterprise offer) where the plan
  allows it, then follow its provisioning state.
* `check_connectivity` / `ensure_connectivity`: AVS Interconnect (a cloud link from source to
  destination, same region) or ExpressRoute Global Reach (an authorization on the destination's
  circuit, redeemed by a connection on the source; avs-arm.md §8.2). `ensure_connectivity` is one step
  of that recipe per call and says where it stands; the authorization key is read and used inside the
  call and never returned.
* `connect_segment_to_gateway` / `check_segment`: network cutover (issue 5) — attach the destination
  segment to its Tier-1 gateway.

Results are small JSON dicts; ARM errors the operator must act on come back as findings, transient
ones raise so the orchestrator retries. This module depends on azure-mgmt-avs and `shared`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Any, Literal

import azure.durable_functions as df
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.mgmt.avs import models
from pydantic import BaseModel, ConfigDict

from activities import _clients
from shared.avs import private_cloud_facts
from shared.cloud import parse_private_cloud_id, same_resource
from shared.findings import finding

__all__ = [
    "ENTERPRISE_OFFER",
    "CloudRef",
    "ConnectivityRequest",
    "SegmentRequest",
    "bp",
]

log = logging.getLogger("activities.avs")
bp = df.Blueprint()

# The offer new installs get (avs-arm.md §7.3); Enterprise is what RAV and MON need.
ENTERPRISE_OFFER = "VMware MaaS Cloud Provider (Enterprise)"


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CloudRef(_Payload):
    cloud_id: str
    side: Literal["source", "destination"] = "source"


class ConnectivityRequest(_Payload):
    source: str
    destination: str
    mode: Literal["interconnect", "global_reach"]
    # Deterministic resource names (from the plan id), so a re-run finds what an earlier run made.
    name: str
    # The destination circuit (Global Reach): from the destination's CloudFacts.
    destination_circuit: str | None = None


class SegmentRequest(_Payload):
    cloud_id: str
    segment: str
    gateway: str


def _text(value: object) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    return "" if value is None else str(value)


# Provisioning states that end an ARM operation badly; anything unknown is still running.
_ENDED_BADLY = ("failed", "canceled", "cancelled")


def _leaf(path: str) -> str:
    """The last segment of a gateway path or id (`/infra/tier-1s/tnt-t1` → `tnt-t1`)."""
    return path.rstrip("/").split("/")[-1]


@contextmanager
def _arm_for(cloud_id: str) -> Iterator[tuple[Any, Any]]:
    """(parsed cloud id, AVS client for its subscription), closed when the block ends."""
    ref = parse_private_cloud_id(cloud_id)
    client = _clients.arm(_clients.settings(), cloud_id)
    try:
        yield ref, client
    finally:
        client.close()


def _arm_message(exc: HttpResponseError) -> str:
    error = exc.error
    if error is not None and error.message:
        return f"{error.code}: {error.message}" if error.code else str(error.message)
    return f"HTTP {exc.status_code} {exc.reason or ''}".strip()


# --- facts ---------------------------------------------------------------------------------------------


@bp.activity_trigger(input_name="payload")
def get_cloud_facts(payload: dict[str, Any]) -> dict[str, Any]:
    """`{"facts": CloudFacts, "gateways": [Tier-1 names]}`, or `{"finding": ...}` when it is not there."""
    request = CloudRef.model_validate(payload)
    with _arm_for(request.cloud_id) as (ref, client):
        try:
            facts = private_cloud_facts(client, ref)
        except (ResourceNotFoundError, ClientAuthenticationError) as exc:
            status = getattr(exc, "status_code", None)
            return {
                "finding": finding(
                    "PRIVATE_CLOUD_NOT_FOUND",
                    f"the {request.side} private cloud {ref.name!r} was not found or is not visible to the "
                    f"app's identity (HTTP {status})",
                    resource=ref.id,
                ).model_dump(mode="json")
            }
        except HttpResponseError as exc:
            if exc.status_code == 403:
                return {
                    "finding": finding(
                        "PRIVATE_CLOUD_NOT_FOUND",
                        f"the app's identity may not read the {request.side} private cloud {ref.name!r}",
                        resource=ref.id,
                    ).model_dump(mode="json")
                }
            raise
        gateways: list[str] = []
        for gateway in client.workload_networks.list_gateways(ref.resource_group, ref.name):
            props = gateway.properties
            gateways.append((props.display_name if props is not None else None) or gateway.name or "")
        return {"facts": facts.model_dump(mode="json"), "gateways": [g for g in gateways if g]}


# --- the HCX add-on --------------------------------------------------------------------------------


def _hcx_addon(client: Any, ref: Any) -> Any | None:
    for addon in client.addons.list(ref.resource_group, ref.name):
        props = addon.properties
        if props is not None and _text(props.addon_type).upper() == "HCX":
            return addon
    return None


@bp.activity_trigger(input_name="payload")
def ensure_hcx_addon(payload: dict[str, Any]) -> dict[str, Any]:
    """Start installing the HCX add-on unless one exists; never waits for the installation."""
    request = CloudRef.model_validate(payload)
    with _arm_for(request.cloud_id) as (ref, client):
        existing = _hcx_addon(client, ref)
        if existing is not None:
            return {"started": False, "state": _text(existing.properties.provisioning_state)}
        body = models.Addon(properties=models.AddonHcxProperties(offer=ENTERPRISE_OFFER))
        try:
            client.addons.begin_create_or_update(ref.resource_group, ref.name, "hcx", body, polling=False)
        except HttpResponseError as exc:
            if exc.status_code is not None and 400 <= exc.status_code < 500 and exc.status_code != 429:
                return {
                    "started": False,
                    "finding": finding(
                        "HCX_ADDON_INSTALL_FAILED",
                        f"ARM refused to install HCX on {ref.name!r}: {_arm_message(exc)}",
                        resource=ref.id,
                    ).model_dump(mode="json"),
                }
            raise
        log.info("started installing the HCX add-on on %s", ref.id)
        return {"started": True, "state": "Building"}


@bp.activity_trigger(input_name="payload")
def check_hcx_addon(payload: dict[str, Any]) -> dict[str, Any]:
    """`{"state": provisioningState, "done": bool, "failed": bool}` of the HCX add-on."""
    request = CloudRef.model_validate(payload)
    with _arm_for(request.cloud_id) as (ref, client):
        addon = _hcx_addon(client, ref)
    if addon is None:
        return {"state": "Missing", "done": False, "failed": True}
    state = _text(addon.properties.provisioning_state) or "Unknown"
    failed = state.lower() in _ENDED_BADLY
    return {"state": state, "done": state.lower() == "succeeded", "failed": failed}


# --- connectivity ----------------------------------------------------------------------------------


def _interconnect(client: Any, source: Any, destination_id: str) -> tuple[str, str]:
    """(state, link id) of a cloud link from `source` to the destination."""
    for link in client.cloud_links.list(source.resource_group, source.name):
        props = link.properties
        if props is None or not props.linked_cloud or not same_resource(props.linked_cloud, destination_id):
            continue
        status = _text(props.status).lower()
        if status == "active":
            return "connected", link.id or ""
        if status in ("failed", "disconnected"):
            return "failed", link.id or ""
        return "pending", link.id or ""
    return "missing", ""


def _global_reach(client: Any, source: Any, destination_circuit: str | None) -> tuple[str, str]:
    """(state, connection id) of a Global Reach connection from `source` to the destination circuit."""
    for connection in client.global_reach_connections.list(source.resource_group, source.name):
        props = connection.properties
        peer = props.peer_express_route_circuit if props is not None else None
        if not peer or destination_circuit is None or peer.lower() != destination_circuit.lower():
            continue
        provisioning = _text(props.provisioning_state).lower()
        status = _text(props.circuit_connection_status).lower()
        if provisioning in _ENDED_BADLY:
            return "failed", connection.id or ""
        if status == "connected":
            return "connected", connection.id or ""
        return "pending", connection.id or ""
    return "missing", ""


@bp.activity_trigger(input_name="payload")
def check_connectivity(payload: dict[str, Any]) -> dict[str, Any]:
    """`{"state": connected|pending|missing|failed, "resource"}` of the link between the clouds."""
    request = ConnectivityRequest.model_validate(payload)
    with _arm_for(request.source) as (source, client):
        if request.mode == "interconnect":
            state, resource = _interconnect(client, source, request.destination)
        else:
            state, resource = _global_reach(client, source, request.destination_circuit)
    return {"state": state, "resource": resource}


@bp.activity_trigger(input_name="payload")
def ensure_connectivity(payload: dict[str, Any]) -> dict[str, Any]:
    """One step towards a link between the clouds; call again until it answers connected or failed.

    Interconnect: create the cloud link (source → destination). Global Reach: create the authorization
    on the destination, and once its key exists, the connection on the source that redeems it.
    """
    request = ConnectivityRequest.model_validate(payload)
    source = parse_private_cloud_id(request.source)
    destination = parse_private_cloud_id(request.destination)
    config = _clients.settings()
    client = _clients.arm(config, request.source)
    try:
        if request.mode == "interconnect":
            state, resource = _interconnect(client, source, request.destination)
            if state != "missing":
                return {"state": state, "resource": resource}
            body = models.CloudLink(properties=models.CloudLinkProperties(linked_cloud=destination.id))
            client.cloud_links.begin_create_or_update(
                source.resource_group, source.name, request.name, body, polling=False
            )
            log.info("creating cloud link %s from %s to %s", request.name, source.id, destination.id)
            return {"state": "pending", "resource": f"{source.id}/cloudLinks/{request.name}"}
        state, resource = _global_reach(client, source, request.destination_circuit)
        if state != "missing":
            return {"state": state, "resource": resource}
        if request.destination_circuit is None:
            return {
                "state": "failed",
                "resource": destination.id,
                "message": "the destination has no ExpressRoute circuit",
            }
        return _global_reach_step(client, config, request, source, destination)
    except HttpResponseError as exc:
        if exc.status_code is not None and 400 <= exc.status_code < 500 and exc.status_code not in (409, 429):
            return {"state": "failed", "resource": source.id, "message": _arm_message(exc)}
        raise
    finally:
        client.close()


def _global_reach_step(
    client: Any, config: Any, request: ConnectivityRequest, source: Any, destination: Any
) -> dict[str, Any]:
    peer = (
        client
        if source.subscription_id == destination.subscription_id
        else _clients.arm(config, request.destination)
    )
    try:
        try:
            authorization = peer.authorizations.get(
                destination.resource_group, destination.name, request.name
            )
        except ResourceNotFoundError:
            peer.authorizations.begin_create_or_update(
                destination.resource_group,
                destination.name,
                request.name,
                models.ExpressRouteAuthorization(properties=models.ExpressRouteAuthorizationProperties()),
                polling=False,
            )
            log.info("creating ExpressRoute authorization %s on %s", request.name, destination.id)
            return {"state": "authorizing", "resource": f"{destination.id}/authorizations/{request.name}"}
        props = authorization.properties
        provisioning = _text(props.provisioning_state).lower() if props is not None else ""
        if provisioning in _ENDED_BADLY:
            return {
                "state": "failed",
                "resource": authorization.id or "",
                "message": f"the authorization is {provisioning}",
            }
        key = props.express_route_authorization_key if props is not None else None
        if provisioning != "succeeded" or not key:
            return {"state": "authorizing", "resource": authorization.id or ""}
        body = models.GlobalReachConnection(
            properties=models.GlobalReachConnectionProperties(
                peer_express_route_circuit=request.destination_circuit, authorization_key=key
            )
        )
        client.global_reach_connections.begin_create_or_update(
            source.resource_group, source.name, request.name, body, polling=False
        )
        del key, body  # the key is a credential for the circuit: it goes to ARM and nowhere else
        log.info("creating Global Reach connection %s on %s", request.name, source.id)
        return {"state": "pending", "resource": f"{source.id}/globalReachConnections/{request.name}"}
    finally:
        if peer is not client:
            peer.close()


# --- network cutover (issue 5) --------------------------------------------------------------------


def _gateway_path(name: str) -> str:
    return name if name.startswith("/infra/") else f"/infra/tier-1s/{name}"


@bp.activity_trigger(input_name="payload")
def connect_segment_to_gateway(payload: dict[str, Any]) -> dict[str, Any]:
    """Attach a destination segment to a Tier-1 gateway (PATCH connectedGateway), unless it is."""
    request = SegmentRequest.model_validate(payload)
    with _arm_for(request.cloud_id) as (ref, client):
        segment = client.workload_networks.get_segment(ref.resource_group, ref.name, request.segment)
        current = segment.properties.connected_gateway if segment.properties is not None else None
        if current and _leaf(current) == _leaf(request.gateway):
            return {"started": False, "connected_gateway": current}
        body = models.WorkloadNetworkSegment(
            properties=models.WorkloadNetworkSegmentProperties(
                connected_gateway=_gateway_path(request.gateway)
            )
        )
        client.workload_networks.begin_update_segments(
            ref.resource_group, ref.name, request.segment, body, polling=False
        )
        return {"started": True, "connected_gateway": _gateway_path(request.gateway)}


@bp.activity_trigger(input_name="payload")
def check_segment(payload: dict[str, Any]) -> dict[str, Any]:
    """`{"connected_gateway", "state", "done"}` of a destination segment."""
    request = SegmentRequest.model_validate(payload)
    with _arm_for(request.cloud_id) as (ref, client):
        segment = client.workload_networks.get_segment(ref.resource_group, ref.name, request.segment)
    props = segment.properties
    gateway = props.connected_gateway if props is not None else None
    state = _text(props.provisioning_state) if props is not None else ""
    attached = bool(gateway) and _leaf(gateway or "") == _leaf(request.gateway)
    done = attached and state.lower() in ("", "succeeded")
    return {"connected_gateway": gateway, "state": state, "done": done}
