"""Contract: what the wave engine relies on in the HCX client and the sandbox's HCX Manager.

Attempt tags on migration items and the tag filter of the query (how a start finds a migration it
already started), moving a held switchover window (how approval releases a wave), looking VMs up by
entity id (verification of the source), and the phase times a query reports.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from runtime.clock import VirtualClock
from sandbox import Sandbox
from shared.hcx import HcxClient, migration_item
from shared.prepared import PreparedContext
from tests.engine import world


@pytest.fixture
def prepared(sandbox: Sandbox, clock: VirtualClock) -> PreparedContext:
    plan = world.plan_for(sandbox, [{"name": "one", "vms": ["web-01", "web-02"]}])
    return world.prepare(sandbox, plan, clock)


@pytest.fixture
def hcx(sandbox: Sandbox) -> HcxClient:
    return world.hcx_for(sandbox)


def spec(sandbox: Sandbox, prepared: PreparedContext, vm: str, **update: object):  # type: ignore[no-untyped-def]
    plan = world.plan_for(sandbox, [{"name": "one", "vms": ["web-01", "web-02"]}])
    return prepared.migration_spec(plan, 0, vm).model_copy(update=update)


def test_a_tagged_migration_is_found_by_its_tag_and_only_by_it(
    sandbox: Sandbox, prepared: PreparedContext, hcx: HcxClient
) -> None:
    labelled = spec(sandbox, prepared, "web-01", tags=["t:web-01:1"], group_name="engine-test/one")
    item = migration_item(labelled)
    assert item["tags"] == ["t:web-01:1"]
    [started] = hcx.start_migrations([item])
    [found] = hcx.query_migrations(tags=["t:web-01:1"])
    assert (found.migration_id, found.tags, found.migration_group_name) == (
        started.migration_id,
        ["t:web-01:1"],
        "engine-test/one",
    )
    assert hcx.query_migrations(tags=["t:web-01:2"]) == []


def test_a_held_switchover_waits_until_it_is_rescheduled_then_completes(
    sandbox: Sandbox, prepared: PreparedContext, hcx: HcxClient, clock: VirtualClock
) -> None:
    hold = clock.now() + timedelta(days=365)
    [started] = hcx.start_migrations([migration_item(spec(sandbox, prepared, "web-01", window_start=hold))])
    assert started.migration_id is not None
    assert started.migration_group_id is not None
    clock.advance(timedelta(hours=3))
    [waiting] = hcx.query_migrations(migration_ids=[started.migration_id])
    assert waiting.state == "WAITING_FOR_SWITCHOVER"
    refused = hcx.reschedule_switchover(started.migration_group_id, [started.migration_id], None, None)
    assert refused == {}
    clock.advance(timedelta(minutes=30))
    [done] = hcx.query_migrations(migration_ids=[started.migration_id])
    assert done.succeeded, done.state
    assert done.progress.transfer_end is not None
    assert done.progress.switchover_start is not None
    assert done.progress.switchover_end is not None
    assert done.progress.transfer_end <= done.progress.switchover_start <= done.progress.switchover_end


def test_rescheduling_a_finished_migration_is_refused_per_migration(
    sandbox: Sandbox, prepared: PreparedContext, hcx: HcxClient, clock: VirtualClock
) -> None:
    [started] = hcx.start_migrations([migration_item(spec(sandbox, prepared, "web-02"))])
    clock.advance(timedelta(hours=3))
    assert started.migration_id is not None
    assert started.migration_group_id is not None
    refused = hcx.reschedule_switchover(
        started.migration_group_id, [started.migration_id], clock.now(), clock.now() + timedelta(hours=1)
    )
    assert list(refused) == [started.migration_id]
    assert "MIGRATION_COMPLETE" in refused[started.migration_id][0].message


def test_vms_are_looked_up_by_entity_id(prepared: PreparedContext, hcx: HcxClient) -> None:
    wanted = prepared.waves[0].vms[1]
    [vm] = hcx.virtual_machines(prepared.pairing.source.endpoint_id, ids=[wanted.entity_id])
    assert (vm.id, vm.name) == (wanted.entity_id, wanted.name)
