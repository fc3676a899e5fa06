"""A large wave in several generations and batches: bounded history, one HCX query per poll, HCX's
limits held. A reduced variant of examples/scenarios/large.yaml (benchmarks/engine_bench.py runs the
full 1,000 VMs); the engine's tuning is shrunk so even this wave validates and starts in many
batches and continues as new many times.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sandbox.core.scenario import parse_scenario
from shared.plan import parse_plan
from tests.engine import world
from tests.engine.rig import Rig

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
VMS = 120
HISTORY_LIMIT = 1000


def large_scenario(count: int):  # type: ignore[no-untyped-def]
    data = yaml.safe_load((REPO / "examples" / "scenarios" / "large.yaml").read_text())
    data["source"]["vm_generators"][0]["count"] = count
    # Sessions that never expire here, so no request is repeated after a re-login and the request
    # counts below are exactly the engine's own.
    data["faults"] = {"token_ttl_minutes": 10_000_000}
    return parse_scenario(data)


def large_plan(rig: Rig):  # type: ignore[no-untyped-def]
    sb = rig.sandbox
    nets = [f"net-{k:02d}" for k in range(1, 21)]
    return parse_plan(
        {
            "id": "large",
            "source": sb.cloud_id("source"),
            "destination": sb.cloud_id("destination"),
            "hcx": {
                "trusted_fingerprints": [sb.hcx_fingerprint("source"), sb.hcx_fingerprint("destination")]
            },
            "network_extensions": [
                {"source_network": net, "gateway_cidr": f"10.20.{k}.1/24", "destination_gateway": "TNT41-T1"}
                for k, net in enumerate(nets, start=1)
            ],
            "limits": {"max_concurrent_migrations": 60},
            "waves": [{"name": "all", "selection": {"folders": ["Workloads"]}}],
        }
    )


def test_a_large_wave_keeps_every_history_short_and_polls_with_one_query(tmp_path: Path) -> None:
    with Rig.open(tmp_path, large_scenario(VMS)) as rig:
        rig.plan = large_plan(rig)
        rig.prepared = world.prepare(rig.sandbox, rig.plan, rig.clock)
        before = dict(rig.sandbox.stats()["requests"]["hcx:source"])
        tuning = {"validate_batch": 25, "start_batch": 15, "steps_per_generation": 6}
        instance = rig.start_wave(0, tuning=tuning)
        rig.run(timeout=300)
        status = rig.status(instance)
        assert status["output"]["outcome"] == "completed", status["customStatus"]["counts"]
        custom = status["customStatus"]
        assert custom["counts"] == {"migrated": VMS}
        assert custom["generation"] >= 5  # it continued as new many times
        assert rig.runtime.stats.max_history <= HISTORY_LIMIT
        peaks = rig.hcx()["concurrency"]["peaks"]
        assert peaks["concurrent_migrations"] == 60  # the plan's limit, reached and never passed
        assert {k: v for k, v in peaks.items() if k.startswith("mesh:")} == {
            "mesh:mesh-a:concurrent_migrations": 30,
            "mesh:mesh-b:concurrent_migrations": 30,
        }  # spread across the two meshes
        after = rig.sandbox.stats()["requests"]["hcx:source"]
        made = {k: v - before.get(k, 0) for k, v in after.items()}
        starts = made["POST /hybridity/api/mobility/migrations/start"]
        assert made["POST /hybridity/api/mobility/migrations/validate"] == VMS // 25 + (VMS % 25 > 0)
        # Every poll is ONE query, and every start call is preceded by ONE look for its tags.
        assert made["POST /hybridity/api/migrations"] == custom["polls"] + starts
        assert rig.sandbox.stats()["migration_starts"] == dict.fromkeys(
            rig.sandbox.stats()["migration_starts"], 1
        )
