"""Connectivity between the two private clouds: AVS Interconnect and ExpressRoute Global Reach.

* `cloudLinks` (AVS Interconnect, same region, Gen 1): a link on A that turns `Active` puts its id in
  B's `externalCloudLinks` (avs-arm.md §7.5, §8.1).
* `authorizations` issue a key on a cloud's own circuit; a `globalReachConnections` resource on the
  other cloud redeems it against that circuit and its `circuitConnectionStatus` goes Connecting ->
  Connected over simulated time (avs-arm.md §7.6, §7.7, §8.2). An authorization serves one connection.
* Gen 2 clouds have no circuit; they connect through their VNet, outside this API, which the scenario
  states as `connectivity.vnet_peering`.

`clouds_connected()` is what the HCX simulators ask before a site pairing. This module depends on the
backend base and the private-cloud family.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.avs.bodies import AuthorizationBody, CloudLinkBody, GlobalReachBody
from sandbox.avs.exceptions import BadRequest
from sandbox.avs.models.base import DURATIONS, ArmResource, Operation, locked
from sandbox.avs.models.clouds import CloudsMixin, PrivateCloud, carve
from sandbox.core.world import Side

__all__ = ["Authorization", "CloudLink", "ConnectivityMixin", "GlobalReachConnection"]


@dataclass(kw_only=True)
class CloudLink(ArmResource):
    type = "Microsoft.AVS/privateClouds/cloudLinks"
    linked_cloud: str
    status: str = "Building"

    def properties(self) -> dict[str, Any]:
        return {"linkedCloud": self.linked_cloud, "status": self.status}


@dataclass(kw_only=True)
class Authorization(ArmResource):
    type = "Microsoft.AVS/privateClouds/authorizations"
    express_route_id: str
    key: str | None = field(default=None, repr=False)
    used_by: str | None = None

    def properties(self) -> dict[str, Any]:
        props: dict[str, Any] = {"expressRouteId": self.express_route_id}
        if self.key is not None:  # the key appears only once provisioning is done (avs-arm.md §7.6)
            props["expressRouteAuthorizationId"] = f"{self.express_route_id}/authorizations/{self.name}"
            props["expressRouteAuthorizationKey"] = self.key
        return props


@dataclass(kw_only=True)
class GlobalReachConnection(ArmResource):
    type = "Microsoft.AVS/privateClouds/globalReachConnections"
    express_route_id: str
    peer_circuit: str
    authorization_key: str = field(repr=False)
    address_prefix: str
    status: str = "Disconnected"
    peer_side: Side | None = None

    def properties(self) -> dict[str, Any]:
        return {
            "addressPrefix": self.address_prefix,
            "authorizationKey": self.authorization_key,
            "circuitConnectionStatus": self.status,
            "expressRouteId": self.express_route_id,
            "peerExpressRouteCircuit": self.peer_circuit,
        }


class ConnectivityMixin(CloudsMixin):
    def _seed_connectivity(self) -> None:
        conn = self.world.scenario.connectivity
        start = self.world.scenario.start
        src, dst = self.clouds["source"], self.clouds["destination"]
        self._gr_index = 0
        if conn.interconnect:
            link = self._new_link(src, dst, f"to-{dst.name}", start)
            self._activate_link(link, src, dst, start)
        if conn.global_reach != "none":
            auth = self._new_authorization(dst, f"to-{src.name}", dst.express_route_id or "", start)
            self._issue_key(auth, start)
            gr = self._new_connection(
                src, f"to-{dst.name}", dst.express_route_id or "", auth.key or "", start
            )
            self._provisioned(gr, auth, "destination", start)
            if conn.global_reach == "connected":
                gr.status = "Connected"

    # -- what the HCX simulators ask (ArmView) -----------------------------------------------------

    @locked
    def clouds_connected(self) -> bool:
        """True when traffic can flow between the clouds: an Active cloud link, a Connected Global
        Reach connection, or (Gen 2) the scenario's VNet connectivity."""
        if self.world.scenario.connectivity.vnet_peering:
            return True
        for link in self.all_of(CloudLink):
            if isinstance(link, CloudLink) and link.status == "Active":
                return True
        for gr in self.all_of(GlobalReachConnection):
            if (
                isinstance(gr, GlobalReachConnection)
                and gr.status == "Connected"
                and gr.peer_side is not None
            ):
                return True
        return False

    def _gen1(self, pc: PrivateCloud, what: str) -> None:
        if pc.generation != 1:
            # inferred: Gen 2 clouds have no ExpressRoute circuit; they connect through their VNet.
            raise BadRequest(
                f"{what} is not supported on a Generation 2 private cloud; connect its virtual network "
                "instead (VNet peering or an ExpressRoute gateway connection)",
                code="NotSupportedOnGen2",
            )

    # -- cloudLinks --------------------------------------------------------------------------------

    def _new_link(self, pc: PrivateCloud, peer: PrivateCloud, name: str, at: datetime) -> CloudLink:
        link = CloudLink(
            id=f"{pc.id}/cloudLinks/{name}",
            name=name,
            side=pc.side,
            created_at=at,
            modified_at=at,
            linked_cloud=peer.id,
        )
        self.store(f"{pc.id}/cloudLinks", link)
        return link

    def _activate_link(self, link: CloudLink, pc: PrivateCloud, peer: PrivateCloud, at: datetime) -> None:
        link.status, link.provisioning_state, link.modified_at = "Active", "Succeeded", at
        if link.id not in peer.external_cloud_links:
            peer.external_cloud_links.append(link.id)

    @locked
    def list_cloud_links(self, resource_group: str, cloud: str) -> list[CloudLink]:
        pc = self.cloud_at(resource_group, cloud)
        return [x for x in self.items(f"{pc.id}/cloudLinks") if isinstance(x, CloudLink)]

    @locked
    def get_cloud_link(self, resource_group: str, cloud: str, name: str) -> CloudLink:
        pc = self.cloud_at(resource_group, cloud)
        found = self.lookup(f"{pc.id}/cloudLinks", name, "cloud link")
        assert isinstance(found, CloudLink)
        return found

    @locked
    def create_or_update_cloud_link(
        self, resource_group: str, cloud: str, name: str, body: CloudLinkBody
    ) -> tuple[CloudLink, Operation, bool]:
        pc = self.cloud_at(resource_group, cloud)
        self._gen1(pc, "AVS Interconnect (cloudLinks)")
        target = body.properties.linked_cloud.rstrip("/").lower()
        peer = next((c for c in self.clouds.values() if c.id.lower() == target and c is not pc), None)
        if peer is None:
            # inferred: the error code; real ARM's wording for an unknown linked cloud is undocumented.
            raise BadRequest(
                "properties.linkedCloud: not the resource id of another private cloud in this subscription",
                code="InvalidLinkedCloud",
                target="properties.linkedCloud",
            )
        self._gen1(peer, "AVS Interconnect (cloudLinks)")
        if peer.location != pc.location:
            # inferred: avs-arm.md §8.1 says Interconnect is same-region; the refusal's code is ours.
            raise BadRequest(
                f"properties.linkedCloud: AVS Interconnect links private clouds in the same region only "
                f"({pc.location} vs {peer.location}); use ExpressRoute Global Reach across regions",
                code="CrossRegionCloudLinkNotSupported",
                target="properties.linkedCloud",
            )
        existing = self.find(f"{pc.id}/cloudLinks", name)
        link = existing if isinstance(existing, CloudLink) else self._new_link(pc, peer, name, self.now())
        link.provisioning_state = "Updating"
        self.record("cloud_link.requested", cloud=pc.name, link=name, peer=peer.name)

        def done(at: datetime) -> None:
            self._activate_link(link, pc, peer, at)
            self.record("cloud_link.active", at, cloud=pc.name, link=name, peer=peer.name)

        return link, self.begin("put", link.id, pc.side, DURATIONS["cloudLink"], done), existing is None

    @locked
    def delete_cloud_link(self, resource_group: str, cloud: str, name: str) -> Operation | None:
        pc = self.cloud_at(resource_group, cloud)
        link = self.find(f"{pc.id}/cloudLinks", name)
        if not isinstance(link, CloudLink):
            return None
        link.status, link.provisioning_state = "Deleting", "Deleting"

        def done(at: datetime) -> None:
            self.discard(f"{pc.id}/cloudLinks", name)
            for other in self.clouds.values():
                if link.id in other.external_cloud_links:
                    other.external_cloud_links.remove(link.id)
            self.record("cloud_link.deleted", at, cloud=pc.name, link=name)

        return self.begin("delete", link.id, pc.side, DURATIONS["delete"], done)

    # -- authorizations ----------------------------------------------------------------------------

    def _new_authorization(self, pc: PrivateCloud, name: str, circuit: str, at: datetime) -> Authorization:
        auth = Authorization(
            id=f"{pc.id}/authorizations/{name}",
            name=name,
            side=pc.side,
            created_at=at,
            modified_at=at,
            provisioning_state="Updating",
            express_route_id=circuit,
        )
        self.store(f"{pc.id}/authorizations", auth)
        return auth

    def _issue_key(self, auth: Authorization, at: datetime) -> None:
        auth.key = self.uuid()
        auth.provisioning_state, auth.modified_at = "Succeeded", at

    @locked
    def list_authorizations(self, resource_group: str, cloud: str) -> list[Authorization]:
        pc = self.cloud_at(resource_group, cloud)
        return [x for x in self.items(f"{pc.id}/authorizations") if isinstance(x, Authorization)]

    @locked
    def get_authorization(self, resource_group: str, cloud: str, name: str) -> Authorization:
        pc = self.cloud_at(resource_group, cloud)
        found = self.lookup(f"{pc.id}/authorizations", name, "authorization")
        assert isinstance(found, Authorization)
        return found

    @locked
    def create_or_update_authorization(
        self, resource_group: str, cloud: str, name: str, body: AuthorizationBody
    ) -> tuple[Authorization, Operation, bool]:
        pc = self.cloud_at(resource_group, cloud)
        self._gen1(pc, "An ExpressRoute authorization")
        own = pc.express_route_id or ""
        circuit = body.properties.express_route_id or own
        if circuit.lower() != own.lower():
            # inferred: an authorization is issued on the cloud's own circuit (avs-arm.md §7.6 default).
            raise BadRequest(
                "properties.expressRouteId: must be this private cloud's own circuit "
                "(properties.circuit.expressRouteID)",
                target="properties.expressRouteId",
            )
        existing = self.find(f"{pc.id}/authorizations", name)
        if isinstance(existing, Authorization):
            # Idempotent: re-putting an authorization keeps its key.
            return (
                existing,
                self.begin("put", existing.id, pc.side, DURATIONS["authorization"], lambda at: None),
                False,
            )
        auth = self._new_authorization(pc, name, own, self.now())

        def done(at: datetime) -> None:
            self._issue_key(auth, at)
            self.record("authorization.issued", at, cloud=pc.name, authorization=name)

        return auth, self.begin("put", auth.id, pc.side, DURATIONS["authorization"], done), True

    @locked
    def delete_authorization(self, resource_group: str, cloud: str, name: str) -> Operation | None:
        pc = self.cloud_at(resource_group, cloud)
        auth = self.find(f"{pc.id}/authorizations", name)
        if not isinstance(auth, Authorization):
            return None
        auth.provisioning_state = "Deleting"

        def done(at: datetime) -> None:
            self.discard(f"{pc.id}/authorizations", name)
            self.record("authorization.deleted", at, cloud=pc.name, authorization=name)

        return self.begin("delete", auth.id, pc.side, DURATIONS["delete"], done)

    # -- globalReachConnections --------------------------------------------------------------------

    def _new_connection(
        self, pc: PrivateCloud, name: str, peer_circuit: str, key: str, at: datetime
    ) -> GlobalReachConnection:
        # inferred: a /29 per connection carved from the cloud's circuit range (avs-arm.md §7.7 says
        # only "/29 carved from the network block"), after the two /30 circuit subnets.
        block = ipaddress.IPv4Network(carve(pc.network_block)["circuit_block"])
        prefix = list(block.subnets(new_prefix=29))[2 + self._gr_index % 30]
        self._gr_index += 1
        gr = GlobalReachConnection(
            id=f"{pc.id}/globalReachConnections/{name}",
            name=name,
            side=pc.side,
            created_at=at,
            modified_at=at,
            provisioning_state="Updating",
            express_route_id=pc.express_route_id or "",
            peer_circuit=peer_circuit,
            authorization_key=key,
            address_prefix=str(prefix),
            status="Connecting",
        )
        self.store(f"{pc.id}/globalReachConnections", gr)
        return gr

    def _provisioned(self, gr: GlobalReachConnection, auth: Authorization, peer: Side, at: datetime) -> None:
        # inferred: Connecting until BGP comes up some minutes after provisioning (avs-arm.md §7.7 lists
        # the states, not their timing); one authorization serves one connection (§8.2).
        gr.provisioning_state, gr.modified_at, gr.peer_side = "Succeeded", at, peer
        auth.used_by = gr.id

        def connected(when: datetime) -> None:
            if gr.provisioning_state == "Succeeded" and gr.status == "Connecting":
                gr.status, gr.modified_at = "Connected", when
                self.record(
                    "global_reach.connected", when, cloud=self.clouds[gr.side].name, connection=gr.name
                )

        self.timeline.at(at + DURATIONS["globalReach.connect"], connected)

    def _redeemable(self, pc: PrivateCloud, circuit: str, key: str) -> tuple[Authorization, Side]:
        # inferred: a bad circuit or key fails the operation asynchronously (as ExpressRoute does),
        # with error codes of our naming; the key itself never appears in the message.
        peer = next(
            (
                c
                for c in self.clouds.values()
                if c.express_route_id and c.express_route_id.lower() == circuit.lower()
            ),
            None,
        )
        if peer is None or peer is pc:
            raise self.failed(
                "The peer ExpressRoute circuit is not another private cloud's circuit.", "InvalidPeerCircuit"
            )
        for auth in self.items(f"{peer.id}/authorizations"):
            if isinstance(auth, Authorization) and auth.key is not None and auth.key == key:
                if auth.used_by is not None:
                    raise self.failed(
                        "The authorization key has already been redeemed.", "AuthorizationKeyUsed"
                    )
                return auth, peer.side
        raise self.failed(
            "The authorization key is not valid for the peer circuit.", "InvalidAuthorizationKey"
        )

    @locked
    def list_global_reach_connections(self, resource_group: str, cloud: str) -> list[GlobalReachConnection]:
        pc = self.cloud_at(resource_group, cloud)
        return [
            x for x in self.items(f"{pc.id}/globalReachConnections") if isinstance(x, GlobalReachConnection)
        ]

    @locked
    def get_global_reach_connection(
        self, resource_group: str, cloud: str, name: str
    ) -> GlobalReachConnection:
        pc = self.cloud_at(resource_group, cloud)
        found = self.lookup(f"{pc.id}/globalReachConnections", name, "global reach connection")
        assert isinstance(found, GlobalReachConnection)
        return found

    @locked
    def create_or_update_global_reach_connection(
        self, resource_group: str, cloud: str, name: str, body: GlobalReachBody
    ) -> tuple[GlobalReachConnection, Operation, bool]:
        pc = self.cloud_at(resource_group, cloud)
        self._gen1(pc, "ExpressRoute Global Reach")
        props = body.properties
        if not props.peer_express_route_circuit:
            raise BadRequest(
                "properties.peerExpressRouteCircuit: required", target="properties.peerExpressRouteCircuit"
            )
        if not props.authorization_key:
            raise BadRequest("properties.authorizationKey: required", target="properties.authorizationKey")
        existing = self.find(f"{pc.id}/globalReachConnections", name)
        if isinstance(existing, GlobalReachConnection) and existing.provisioning_state == "Succeeded":
            same = existing.peer_circuit.lower() == props.peer_express_route_circuit.lower()
            if same and existing.authorization_key == props.authorization_key:
                # Idempotent re-put of the same connection.
                return (
                    existing,
                    self.begin("put", existing.id, pc.side, DURATIONS["globalReach"], lambda at: None),
                    False,
                )
        if existing is not None:
            self.discard(f"{pc.id}/globalReachConnections", name)
        gr = self._new_connection(
            pc, name, props.peer_express_route_circuit, props.authorization_key, self.now()
        )
        self.record("global_reach.requested", cloud=pc.name, connection=name)

        def done(at: datetime) -> None:
            try:
                auth, peer = self._redeemable(pc, gr.peer_circuit, gr.authorization_key)
            except Exception:
                gr.provisioning_state, gr.status, gr.modified_at = "Failed", "Disconnected", at
                self.record("global_reach.failed", at, cloud=pc.name, connection=name)
                raise
            self._provisioned(gr, auth, peer, at)
            self.record("global_reach.provisioned", at, cloud=pc.name, connection=name)

        return gr, self.begin("put", gr.id, pc.side, DURATIONS["globalReach"], done), existing is None

    @locked
    def delete_global_reach_connection(self, resource_group: str, cloud: str, name: str) -> Operation | None:
        pc = self.cloud_at(resource_group, cloud)
        gr = self.find(f"{pc.id}/globalReachConnections", name)
        if not isinstance(gr, GlobalReachConnection):
            return None
        gr.provisioning_state = "Deleting"

        def done(at: datetime) -> None:
            self.discard(f"{pc.id}/globalReachConnections", name)
            gr.status = "Disconnected"
            for auth in self.all_of(Authorization):
                if isinstance(auth, Authorization) and auth.used_by == gr.id:
                    auth.used_by = None
            self.record("global_reach.deleted", at, cloud=pc.name, connection=name)

        return self.begin("delete", gr.id, pc.side, DURATIONS["delete"], done)
