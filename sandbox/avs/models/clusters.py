"""Clusters and their datastores (Microsoft.AVS `clusters`, `clusters/{name}/datastores`).

Creating or resizing a cluster and attaching a datastore are long-running operations on simulated
time; the management cluster (the first, which hosts vCenter, NSX and HCX) cannot be deleted. Shapes
follow avs-arm.md §7.9. This module depends on the backend base and the private-cloud family.
"""

from __future__ import annotations

from datetime import datetime

from sandbox.avs.bodies import ClusterBody, ClusterPatch, DatastoreBody
from sandbox.avs.exceptions import BadRequest, Conflict
from sandbox.avs.models.base import DURATIONS, Operation, locked
from sandbox.avs.models.clouds import CloudsMixin, Cluster, Datastore

__all__ = ["ClustersMixin"]


class ClustersMixin(CloudsMixin):
    # -- clusters ----------------------------------------------------------------------------------

    @locked
    def list_clusters(self, resource_group: str, cloud: str) -> list[Cluster]:
        pc = self.cloud_at(resource_group, cloud)
        return [c for c in self.items(f"{pc.id}/clusters") if isinstance(c, Cluster)]

    @locked
    def get_cluster(self, resource_group: str, cloud: str, name: str) -> Cluster:
        return self._cluster(resource_group, cloud, name)

    def _cluster(self, resource_group: str, cloud: str, name: str) -> Cluster:
        pc = self.cloud_at(resource_group, cloud)
        found = self.lookup(f"{pc.id}/clusters", name, "cluster")
        assert isinstance(found, Cluster)
        return found

    @locked
    def create_or_update_cluster(
        self, resource_group: str, cloud: str, name: str, body: ClusterBody
    ) -> tuple[Cluster, Operation, bool]:
        pc = self.cloud_at(resource_group, cloud)
        existing = self.find(f"{pc.id}/clusters", name)
        size = body.properties.cluster_size or 3
        if isinstance(existing, Cluster):
            return existing, self._resize(existing, size, "put"), False
        siblings = [c for c in self.items(f"{pc.id}/clusters") if isinstance(c, Cluster)]
        next_id = max((c.cluster_id for c in siblings), default=0) + 1
        cluster = self._new_cluster(
            pc.side, name, body.sku.name, size, next_id, f"vsanDatastore{next_id}", self.now()
        )
        cluster.provisioning_state = "Building"
        self.store(f"{pc.id}/clusters", cluster)

        def done(at: datetime) -> None:
            cluster.provisioning_state, cluster.modified_at = "Succeeded", at
            self.record("cluster.created", at, cloud=pc.name, cluster=name, hosts=size)

        return cluster, self.begin("put", cluster.id, pc.side, DURATIONS["cluster"], done), True

    @locked
    def update_cluster(self, resource_group: str, cloud: str, name: str, body: ClusterPatch) -> Operation:
        cluster = self._cluster(resource_group, cloud, name)
        return self._resize(cluster, body.properties.cluster_size or cluster.cluster_size, "patch")

    def _resize(self, cluster: Cluster, size: int, kind: str) -> Operation:
        cluster.provisioning_state = "Updating"
        cloud_id = cluster.id.rsplit("/clusters/", 1)[0]
        region = self.world.cloud(cluster.side).region

        def done(at: datetime) -> None:
            cluster.cluster_size = size
            cluster.hosts = self._hosts(cloud_id, region, cluster.cluster_id, size)
            cluster.provisioning_state, cluster.modified_at = "Succeeded", at
            self.record("cluster.resized", at, cluster=cluster.name, hosts=size)

        return self.begin(
            "patch" if kind == "patch" else "put",
            cluster.id,
            cluster.side,
            DURATIONS["cluster.update"],
            done,
            result=cluster.to_wire,
        )

    @locked
    def delete_cluster(self, resource_group: str, cloud: str, name: str) -> Operation | None:
        pc = self.cloud_at(resource_group, cloud)
        found = self.find(f"{pc.id}/clusters", name)
        if found is None:
            return None
        assert isinstance(found, Cluster)
        if found is pc.management_cluster:
            # inferred: AVS refuses to remove the management cluster (it hosts vCenter, NSX and HCX).
            raise Conflict(f"Cluster '{name}' is the management cluster and cannot be deleted.")
        found.provisioning_state = "Deleting"

        def done(at: datetime) -> None:
            self.discard(f"{pc.id}/clusters", name)
            self.record("cluster.deleted", at, cloud=pc.name, cluster=name)

        return self.begin("delete", found.id, pc.side, DURATIONS["delete"], done)

    # -- datastores --------------------------------------------------------------------------------

    @locked
    def list_datastores(self, resource_group: str, cloud: str, cluster: str) -> list[Datastore]:
        parent = self._cluster(resource_group, cloud, cluster)
        return [d for d in self.items(f"{parent.id}/datastores") if isinstance(d, Datastore)]

    @locked
    def get_datastore(self, resource_group: str, cloud: str, cluster: str, name: str) -> Datastore:
        parent = self._cluster(resource_group, cloud, cluster)
        found = self.lookup(f"{parent.id}/datastores", name, "datastore")
        assert isinstance(found, Datastore)
        return found

    @locked
    def create_or_update_datastore(
        self, resource_group: str, cloud: str, cluster: str, name: str, body: DatastoreBody
    ) -> tuple[Datastore, Operation, bool]:
        parent = self._cluster(resource_group, cloud, cluster)
        kind, volume = body.properties.volume()
        existing = self.find(f"{parent.id}/datastores", name)
        if isinstance(existing, Datastore) and existing.volume_kind != kind:
            raise BadRequest(f"properties.{kind}: datastore '{name}' is a {existing.volume_kind}")
        now = self.now()
        store = existing if isinstance(existing, Datastore) else None
        if store is None:
            store = Datastore(
                id=f"{parent.id}/datastores/{name}",
                name=name,
                side=parent.side,
                created_at=now,
                modified_at=now,
                volume_kind=kind,
                volume=volume,
                status="Detached",
            )
            self.store(f"{parent.id}/datastores", store)
        store.provisioning_state = "Creating" if existing is None else "Updating"
        target = store

        def done(at: datetime) -> None:
            target.volume, target.status = dict(volume), "Accessible"
            target.provisioning_state, target.modified_at = "Succeeded", at
            self.record("datastore.attached", at, cluster=parent.name, datastore=name)

        return store, self.begin("put", store.id, parent.side, DURATIONS["datastore"], done), existing is None

    @locked
    def delete_datastore(self, resource_group: str, cloud: str, cluster: str, name: str) -> Operation | None:
        parent = self._cluster(resource_group, cloud, cluster)
        found = self.find(f"{parent.id}/datastores", name)
        if found is None:
            return None
        found.provisioning_state = "Deleting"

        def done(at: datetime) -> None:
            self.discard(f"{parent.id}/datastores", name)
            self.record("datastore.detached", at, cluster=parent.name, datastore=name)

        return self.begin("delete", found.id, parent.side, DURATIONS["delete"], done)
