"""End to end: network cutover after a wave, in plan order, never with VMs still at the source."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.avs import avs_client
from shared.cloud import parse_private_cloud_id
from tests.engine import world
from tests.engine.rig import Rig

pytestmark = pytest.mark.slow

MOVED = ["web-01", "web-02", "web-03", "web-04", "app-01"]  # app-02 and the db VMs stay behind


def migrate(rig: Rig, cutover: dict[str, Any], *, manual: bool = False) -> dict[str, Any]:
    """Migrate MOVED in one wave, then return the cutover orchestrator's input."""
    rig.prepare([{"name": "front", "vms": MOVED}], network_cutover=cutover)
    instance = rig.start_wave()
    rig.run()
    for _ in range(200 if manual else 0):  # a manual clock: move time until the wave is done
        if rig.status(instance)["runtimeStatus"] == "Completed":
            break
        rig.advance(timedelta(minutes=5))
    assert rig.status(instance)["output"]["outcome"] == "completed"
    assert rig.plan is not None
    assert rig.prepared is not None
    return {
        "plan": rig.plan.model_dump(mode="json"),
        "prepared": rig.prepared.model_copy(update={"waves": []}).model_dump(mode="json"),
        "moved": [vm.entity_id for vm in rig.prepared.waves[0].vms],
    }


def segment_gateway(rig: Rig, segment: str) -> str | None:
    cloud = parse_private_cloud_id(rig.sandbox.cloud_id("destination"))
    client = avs_client(world.settings_for(rig.sandbox), cloud.subscription_id, retry_total=0)
    with client:
        found = client.workload_networks.get_segment(cloud.resource_group, cloud.name, segment)
    return found.properties.connected_gateway if found.properties else None


def test_networks_are_cut_over_in_order_and_never_with_vms_at_the_source(tmp_path: Path) -> None:
    with Rig.open(tmp_path) as rig:
        data = migrate(rig, {"networks": ["app", "web", "db"]})
        rig.start("cutover_networks", data, "mig-engine-test:cutover")
        rig.run()
        output = rig.status("mig-engine-test:cutover")["output"]
        results = [(r["network"], r["state"]) for r in output["networks"]]
        assert results == [("app", "skipped"), ("web", "cut_over"), ("db", "skipped")]
        reasons = {r["network"]: r["reason"] for r in output["networks"]}
        assert "app-02" in reasons["app"]
        assert "db-01" in reasons["db"]
        extensions = {e["network"] for e in rig.hcx()["extensions"]}
        assert extensions == {"app", "db"}  # web was unextended, the others stay extended
        assert rig.prepared is not None
        web = next(e for e in rig.prepared.extensions if e.source_network == "web")
        app = next(e for e in rig.prepared.extensions if e.source_network == "app")
        assert (segment_gateway(rig, web.destination_segment) or "").endswith("TNT21-T1")
        assert segment_gateway(rig, app.destination_segment) is None


def test_a_cutover_waits_for_its_approval(tmp_path: Path) -> None:
    with Rig.open(tmp_path, auto_advance=False) as rig:
        data = migrate(
            rig, manual=True, cutover={"networks": ["web"], "approval": {"required": True, "timeout": "4h"}}
        )
        instance = "mig-engine-test:cutover"
        rig.start("cutover_networks", data, instance)
        rig.run()
        rig.advance(timedelta(minutes=1))
        assert rig.custom(instance)["state"] == "approval"
        rig.advance(timedelta(hours=1))
        assert {e["network"] for e in rig.hcx()["extensions"]} == {"web", "app", "db"}  # nothing yet
        rig.raise_event(instance, "approve", {"network": "web", "request_id": "n-1"})
        for _ in range(60):
            if rig.status(instance)["runtimeStatus"] == "Completed":
                break
            rig.advance(timedelta(seconds=30))
        [result] = rig.status(instance)["output"]["networks"]
        assert result["state"] == "cut_over"
        assert "web" not in {e["network"] for e in rig.hcx()["extensions"]}
