"""Verification at both sites, through the real activity against the sandbox after a real migration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from activities.migrations import verify_vms
from shared.engine import HcxTarget, VerifyItem, VerifyRequest
from tests.engine.rig import Rig

pytestmark = pytest.mark.slow


def call(function: Any, payload: dict[str, Any]) -> Any:
    return function._function.get_user_function()(payload)


def test_a_migrated_vm_is_checked_at_the_destination_and_its_bulk_source(tmp_path: Path) -> None:
    with Rig.open(tmp_path) as rig:
        prepared = rig.prepare([{"name": "web", "vms": ["web-01"]}])
        instance = rig.start_wave()
        rig.run()
        assert rig.status(instance)["output"]["outcome"] == "completed"
        vm = prepared.waves[0].vms[0]
        segment = prepared.waves[0].networks[0].destination_name
        assert rig.plan is not None

        def verify(**changes: Any) -> list[Any]:
            item = VerifyItem(
                name="web-01", entity_id=vm.entity_id, type="bulk", powered_on=True, networks=[segment]
            )
            request = VerifyRequest(
                target=HcxTarget(
                    hcx_url=prepared.source.hcx_url,
                    cloud_id=prepared.source.cloud_id,
                    pins=list(rig.plan.hcx.trusted_fingerprints),  # type: ignore[union-attr]
                ),
                source_endpoint=prepared.pairing.source.endpoint_id,
                destination_endpoint=prepared.pairing.destination.endpoint_id,
                vms=[item.model_copy(update=changes)],
            )
            [answer] = call(verify_vms, request.model_dump(mode="json"))
            return list(answer)

        assert verify() == [True, []]
        ok, problems = verify(networks=["seg-elsewhere"])
        assert not ok
        assert "networks" in problems[0]
        ok, problems = verify(powered_on=False)
        assert problems == ["powered on at the destination, expected off"]
        ok, problems = verify(name="web-02")  # never migrated
        assert problems == ["0 VMs named web-02 at the destination (expected 1)"]
