"""Private clouds and the cloudadmin credentials (Microsoft.AVS `privateClouds`).

Shapes follow avs-arm.md §7.1, §7.2 and §7.9. A Gen 1 cloud carries an ExpressRoute `circuit`; a
Gen 2 cloud carries `virtualNetworkId` and no circuit (avs-arm.md §7.1, inferred from the spec's Gen 2
example). `endpoints.hcxCloudManager` appears only while the HCX add-on is installed and points at
that cloud's HCX Manager simulator. This module depends on the backend base and the sandbox world.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sandbox.avs.bodies import PrivateCloudPatch
from sandbox.avs.models.base import DURATIONS, ArmResource, BackendBase, Operation, locked
from sandbox.core.world import SIDES, Credentials, Side

if TYPE_CHECKING:
    from sandbox.core.world import World

__all__ = ["CloudsMixin", "Cluster", "Datastore", "PrivateCloud", "carve"]


def carve(network_block: str) -> dict[str, str]:
    """The ranges AVS carves out of a cloud's /22 (shapes from the PrivateClouds_Get example)."""
    q = list(ipaddress.IPv4Network(network_block).subnets(new_prefix=24))
    mgmt, vmotion_block, hcx, circuit = q
    provisioning, vmotion = vmotion_block.subnets(new_prefix=25)
    circuits = list(circuit.subnets(new_prefix=30))
    return {
        "management": str(mgmt),
        "provisioning": str(provisioning),
        "vmotion": str(vmotion),
        "vcenter_ip": str(mgmt.network_address + 2),
        "nsxt_ip": str(mgmt.network_address + 3),
        # The HCX Cloud Manager answers on x.x.x.9 of its range (avs-arm.md §8.2).
        "hcx_ip": str(hcx.network_address + 9),
        "primary": str(circuits[0]),
        "secondary": str(circuits[1]),
        "circuit_block": str(circuit),
    }


def _tag(text: str, n: int = 22) -> str:
    return hashlib.sha256(text.lower().encode()).hexdigest()[:n]


@dataclass(kw_only=True)
class Cluster(ArmResource):
    type = "Microsoft.AVS/privateClouds/clusters"
    sku: str
    cluster_size: int
    cluster_id: int
    hosts: list[str]
    vsan_datastore: str

    def properties(self) -> dict[str, Any]:
        return {
            "clusterSize": self.cluster_size,
            "clusterId": self.cluster_id,
            "hosts": list(self.hosts),
            "vsanDatastoreName": self.vsan_datastore,
        }

    def to_wire(self) -> dict[str, Any]:
        return {**super().to_wire(), "sku": {"name": self.sku}}


@dataclass(kw_only=True)
class Datastore(ArmResource):
    type = "Microsoft.AVS/privateClouds/clusters/datastores"
    volume_kind: str
    volume: dict[str, Any]
    status: str = "Accessible"

    def properties(self) -> dict[str, Any]:
        return {self.volume_kind: dict(self.volume), "status": self.status}


@dataclass(kw_only=True)
class PrivateCloud(ArmResource):
    type = "Microsoft.AVS/privateClouds"
    world: World = field(repr=False)
    location: str
    sku: str
    generation: int
    network_block: str
    management_cluster: Cluster
    tags: dict[str, str] = field(default_factory=dict)
    internet: str = "Disabled"
    extended_network_blocks: list[str] = field(default_factory=list)
    external_cloud_links: list[str] = field(default_factory=list)
    hcx_installed: bool = False

    @property
    def express_route_id(self) -> str | None:
        """The Microsoft-managed ExpressRoute circuit of a Gen 1 cloud (Gen 2 has none)."""
        # inferred: the id's shape imitates the spec example (tntNN-cust-p01-<region>-er); values are ours.
        if self.generation != 1:
            return None
        n = int(_tag(self.id, 4), 16) % 90 + 10
        sub = _tag("circuit:" + self.id, 32)
        sub = f"{sub[:8]}-{sub[8:12]}-{sub[12:16]}-{sub[16:20]}-{sub[20:32]}"
        base = f"tnt{n}-cust-p01-{self.location}"
        return (
            f"/subscriptions/{sub}/resourceGroups/{base}/providers/Microsoft.Network"
            f"/expressRouteCircuits/{base}-er"
        )

    def endpoints(self) -> dict[str, str]:
        ranges = carve(self.network_block)
        tag, region = _tag(self.id), self.location
        out = {
            "nsxtManager": f"https://nsx.{tag}.{region}.avs.azure.com/",
            "vcsa": f"https://vc.{tag}.{region}.avs.azure.com/",
            "nsxtManagerIp": ranges["nsxt_ip"],
            "vcenterIp": ranges["vcenter_ip"],
        }
        if self.hcx_installed:
            # inferred: the endpoint is absent until the HCX add-on is installed.
            side = self.side
            url = self.world.hcx_urls.get(side) or f"https://{self.world.hcx_host(side)}"
            out["hcxCloudManager"] = url.rstrip("/") + "/"
            out["hcxCloudManagerIp"] = ranges["hcx_ip"]
        return out

    def properties(self) -> dict[str, Any]:
        ranges = carve(self.network_block)
        mc = self.management_cluster
        props: dict[str, Any] = {
            "availability": {"strategy": "SingleZone", "zone": 1},
            "managementCluster": {**mc.properties(), "provisioningState": mc.provisioning_state},
            "networkBlock": self.network_block,
            "internet": self.internet,
            "identitySources": [],
            "endpoints": self.endpoints(),
            "managementNetwork": ranges["management"],
            "provisioningNetwork": ranges["provisioning"],
            "vmotionNetwork": ranges["vmotion"],
            "externalCloudLinks": list(self.external_cloud_links),
            "extendedNetworkBlocks": list(self.extended_network_blocks),
            "nsxPublicIpQuotaRaised": "Disabled",
            "encryption": {"status": "Disabled"},
        }
        if self.generation == 1:
            props["circuit"] = {
                "primarySubnet": ranges["primary"],
                "secondarySubnet": ranges["secondary"],
                "expressRouteID": self.express_route_id,
                "expressRoutePrivatePeeringID": f"{self.express_route_id}/peerings/AzurePrivatePeering",
            }
        else:
            props["virtualNetworkId"] = (
                f"/subscriptions/{self.world.scenario.subscription_id}/resourceGroups/"
                f"{self.world.cloud(self.side).resource_group}/providers/Microsoft.Network/virtualNetworks/"
                f"{self.name}-vnet"
            )
            props["dnsZoneType"] = "Private"
        return props

    def to_wire(self) -> dict[str, Any]:
        return {
            **super().to_wire(),
            "location": self.location,
            "tags": dict(self.tags),
            "sku": {"name": self.sku},
            "identity": {"type": "None"},
        }


class CloudsMixin(BackendBase):
    """privateClouds, clusters, datastores, listAdminCredentials and the rotate actions."""

    clouds: dict[Side, PrivateCloud]

    def _seed_clouds(self) -> None:
        self.clouds = {}
        self._nsxt = {side: self._generated_password(f"password:nsxt:{side}") for side in SIDES}
        self._rotations = 0
        created = self.world.scenario.start
        for side in SIDES:
            spec = self.world.cloud(side)
            cloud_id = self.world.cloud_id(side)
            vsan = next(
                (d.name for d in spec.datastores if d.name.lower().startswith("vsan")), "vsanDatastore"
            )
            clusters = [
                self._new_cluster(
                    side, c.name, c.sku, c.hosts, i + 1, vsan if i == 0 else f"vsanDatastore{i + 1}", created
                )
                for i, c in enumerate(spec.clusters)
            ]
            for cluster in clusters:
                self.store(f"{cloud_id}/clusters", cluster)
            cloud = PrivateCloud(
                id=cloud_id,
                name=spec.name,
                side=side,
                created_at=created,
                modified_at=created,
                provisioning_state=spec.provisioning_state,
                world=self.world,
                location=spec.region,
                sku=spec.sku if spec.generation == 1 else spec.sku.lower(),
                generation=spec.generation,
                network_block=spec.network_block,
                management_cluster=clusters[0],
            )
            self.clouds[side] = cloud
            self.store(self._clouds_collection(side), cloud)
            first = clusters[0]
            for ds in spec.datastores:
                if ds.name == vsan:
                    continue
                # inferred: scenario datastores other than vSAN surface as Elastic SAN volumes.
                target = (
                    f"/subscriptions/{self.subscription_id}/resourceGroups/{spec.resource_group}/providers"
                    f"/Microsoft.ElasticSan/elasticSans/{spec.name}-esan/volumegroups/avs/volumes/{ds.name}"
                )
                self.store(
                    f"{first.id}/datastores",
                    Datastore(
                        id=f"{first.id}/datastores/{ds.name}",
                        name=ds.name,
                        side=side,
                        created_at=created,
                        modified_at=created,
                        volume_kind="elasticSanVolume",
                        volume={"targetId": target},
                    ),
                )

    def _clouds_collection(self, side: Side) -> str:
        rg = self.world.cloud(side).resource_group
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{rg}/providers/Microsoft.AVS/privateClouds"
        )

    def _generated_password(self, stream: str) -> str:
        rng = self.world.rng(stream)
        alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        return "Sbx!" + "".join(rng.choice(alphabet) for _ in range(20))

    def _new_cluster(
        self, side: Side, name: str, sku: str, size: int, cluster_id: int, vsan: str, now: datetime
    ) -> Cluster:
        cloud_id = self.world.cloud_id(side)
        region = self.world.cloud(side).region
        return Cluster(
            id=f"{cloud_id}/clusters/{name}",
            name=name,
            side=side,
            created_at=now,
            modified_at=now,
            sku=sku,
            cluster_size=size,
            cluster_id=cluster_id,
            hosts=self._hosts(cloud_id, region, cluster_id, size),
            vsan_datastore=vsan,
        )

    @staticmethod
    def _hosts(cloud_id: str, region: str, cluster_id: int, size: int) -> list[str]:
        tag = _tag(cloud_id, 8)
        return [f"esx{cluster_id:02d}-{i:02d}.{tag}.{region}.avs.azure.com" for i in range(1, size + 1)]

    def cloud_at(self, resource_group: str, name: str) -> PrivateCloud:
        return self.clouds[self.side_of(resource_group, name)]

    # -- privateClouds -----------------------------------------------------------------------------

    @locked
    def list_private_clouds(self, resource_group: str | None = None) -> list[PrivateCloud]:
        if resource_group is not None and resource_group.lower() not in self.resource_groups():
            self.side_of(resource_group, "")  # raises ResourceGroupNotFound
        return [
            cloud
            for side, cloud in self.clouds.items()
            if resource_group is None
            or self.world.cloud(side).resource_group.lower() == resource_group.lower()
        ]

    @locked
    def get_private_cloud(self, resource_group: str, name: str) -> PrivateCloud:
        return self.cloud_at(resource_group, name)

    @locked
    def update_private_cloud(self, resource_group: str, name: str, body: PrivateCloudPatch) -> Operation:
        cloud = self.cloud_at(resource_group, name)
        cloud.provisioning_state = "Updating"
        props = body.properties

        def done(at: datetime) -> None:
            if body.tags is not None:
                cloud.tags = dict(body.tags)
            if props.internet is not None:
                cloud.internet = props.internet
            if props.extended_network_blocks is not None:
                cloud.extended_network_blocks = list(props.extended_network_blocks)
            size = props.management_cluster.cluster_size if props.management_cluster else None
            if size is not None:
                mc = cloud.management_cluster
                mc.cluster_size = size
                mc.hosts = self._hosts(cloud.id, cloud.location, mc.cluster_id, size)
            cloud.provisioning_state, cloud.modified_at = "Succeeded", at
            self.record("private_cloud.updated", at, cloud=cloud.name)

        return self.begin(
            "patch", cloud.id, cloud.side, DURATIONS["privateCloud.update"], done, result=cloud.to_wire
        )

    @locked
    def list_admin_credentials(self, resource_group: str, name: str) -> dict[str, str]:
        side = self.side_of(resource_group, name)
        creds = self.world.credentials[side]
        return {
            "nsxtUsername": "admin",
            "nsxtPassword": self._nsxt[side],
            "vcenterUsername": creds.username,
            "vcenterPassword": creds.password,
        }

    @locked
    def rotate_vcenter_password(self, resource_group: str, name: str) -> Operation:
        """A new cloudadmin password; HCX sessions and pairings using the old one stop working."""
        cloud = self.cloud_at(resource_group, name)

        def done(at: datetime) -> None:
            self._rotations += 1
            old = self.world.credentials[cloud.side]
            password = self._generated_password(f"password:{cloud.side}:rotation:{self._rotations}")
            self.world.credentials[cloud.side] = Credentials(old.username, password)
            self.record("credentials.rotated", at, cloud=cloud.name, account="vcenter")

        return self.begin("post", cloud.id, cloud.side, DURATIONS["rotate"], done)

    @locked
    def rotate_nsxt_password(self, resource_group: str, name: str) -> Operation:
        cloud = self.cloud_at(resource_group, name)

        def done(at: datetime) -> None:
            self._rotations += 1
            self._nsxt[cloud.side] = self._generated_password(f"password:nsxt:rotation:{self._rotations}")
            self.record("credentials.rotated", at, cloud=cloud.name, account="nsxt")

        return self.begin("post", cloud.id, cloud.side, DURATIONS["rotate"], done)
