"""Migration validation, driven on the backend: every error and warning, and the spelling variants."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sandbox.hcx.exceptions import BadRequest, ItemsRejected

from .conftest import Env


def codes(env: Env, *items: dict[str, Any]) -> list[list[str]]:
    """Each item's error codes (validate raises when any item has errors)."""
    try:
        results = env.source.validate_migrations({"items": list(items)})
    except ItemsRejected as exc:
        return [[e["code"] for e in item["errors"] or []] for item in exc.items]
    return [[e["code"] for e in r.errors] for r in results]


def warnings(env: Env, item: dict[str, Any]) -> list[str]:
    return [w["code"] for w in env.source.validate_migrations({"items": [item]})[0].warnings]


def test_a_clean_item_validates_with_no_errors_or_warnings(env: Env) -> None:
    results = env.source.validate_migrations({"items": [env.item("app01")]})
    assert results[0].errors == []
    assert results[0].warnings == []
    assert results[0].entity_id == env.source.vm_by_name("app01").vm_id  # type: ignore[union-attr]
    assert env.source.migrations == {}


def test_validate_reports_every_item_when_one_fails(env: Env) -> None:
    bad = env.item("app02")
    bad["entity"] = {"entityId": "vm-9999"}
    with pytest.raises(ItemsRejected) as caught:
        env.source.validate_migrations({"items": [env.item("app01"), bad]})
    items = caught.value.items
    assert items[0]["errors"] is None
    assert items[1]["errors"][0]["code"] == "UNKNOWN_ENTITY"
    assert "vm-9999" in items[1]["errors"][0]["message"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"migrationType": "OsAssistedMigration"}, "MIGRATION_TYPE_NOT_SUPPORTED"),
        ({"source": {"endpointId": "someone-else"}}, "SOURCE_NOT_LOCAL"),
        ({"destination": {"endpointId": "not-paired"}}, "DESTINATION_NOT_PAIRED"),
        ({"serviceMeshId": "servicemesh-none"}, "SERVICE_MESH_NOT_FOUND"),
        ({"networkParams": {"networkMappings": []}}, "MISSING_NETWORK_MAPPING"),
        ({"storage": {"defaultStorage": {"name": "nope"}}}, "DATASTORE_NOT_FOUND"),
    ],
)
def test_request_errors(env: Env, change: dict[str, Any], code: str) -> None:
    assert codes(env, {**env.item("app01"), **change}) == [[code]]


def test_the_older_default_mappings_spelling_is_accepted(env: Env) -> None:
    item = env.item("app01", networkParams={"defaultMappings": env.mappings})
    assert codes(env, item) == [[]]


def test_a_mapping_may_name_the_source_network_by_id(env: Env) -> None:
    web = env.source.network_by_name("web")
    assert web is not None
    item = env.item("app01", networkParams={"networkMappings": [{"srcNetworkValue": web.network_id}]})
    assert codes(env, item) == [[]]


def test_no_pairing_means_no_destination(make_env: Callable[..., Env]) -> None:
    env = make_env(paired=False)
    assert codes(env, env.item("app01")) == [["DESTINATION_NOT_PAIRED"]]


def test_a_type_whose_service_is_not_in_any_mesh_is_refused(make_env: Callable[..., Env]) -> None:
    env = make_env(service_meshes=[{"name": "bulk-only", "services": ["INTERCONNECT", "BULK_MIGRATION"]}])
    assert codes(env, env.item("app01", "RAV")) == [["SERVICE_NOT_IN_MESH"]]
    assert codes(env, env.item("app01", "vMotion")) == [["SERVICE_NOT_IN_MESH"]]
    assert codes(env, env.item("app01")) == [[]]


def test_a_scenario_without_meshes_refuses_every_type(make_env: Callable[..., Env]) -> None:
    env = make_env(service_meshes=[])
    assert codes(env, env.item("app01")) == [["SERVICE_NOT_IN_MESH"]]


def test_a_mesh_that_is_not_committed_is_not_used(make_env: Callable[..., Env]) -> None:
    env = make_env(service_meshes=[{"name": "broken", "state": "UPDATE_FAILED"}])
    assert codes(env, env.item("app01")) == [["SERVICE_NOT_IN_MESH"]]


def test_rav_needs_the_enterprise_edition(make_env: Callable[..., Env]) -> None:
    env = make_env(source={"hcx": {"addon": "advanced"}})
    assert codes(env, env.item("app01", "RAV")) == [["LICENSE_REQUIRED"]]


def test_a_vm_with_an_active_migration_cannot_start_another(env: Env) -> None:
    env.start(env.item("app01"))
    assert codes(env, env.item("app01", "RAV")) == [["DUPLICATE_MIGRATION"]]


def test_the_same_vm_twice_in_one_request_is_refused_once(env: Env) -> None:
    assert codes(env, env.item("app01"), env.item("app01")) == [
        [],
        ["DUPLICATE_MIGRATION", "NAME_EXISTS_AT_DESTINATION"],
    ]


def test_cold_needs_a_powered_off_vm_and_vmotion_a_powered_on_one(make_env: Callable[..., Env]) -> None:
    env = make_env(
        source={
            "vms": [
                {"name": "off01", "power_state": "off", "networks": ["web"]},
                {"name": "app01", "networks": ["web"]},
            ]
        }
    )
    assert codes(env, env.item("app01", "ColdMigration")) == [["VM_POWERED_ON"]]
    assert codes(env, env.item("off01", "ColdMigration")) == [[]]
    assert codes(env, env.item("off01", "vMotion")) == [["VM_POWERED_OFF"]]


def test_vmotion_and_rav_need_hardware_version_nine(make_env: Callable[..., Env]) -> None:
    env = make_env(source={"vms": [{"name": "old01", "hardware_version": 8, "networks": ["web"]}]})
    assert codes(env, env.item("old01", "vMotion")) == [["HARDWARE_VERSION_UNSUPPORTED"]]
    assert codes(env, env.item("old01", "RAV")) == [["HARDWARE_VERSION_UNSUPPORTED"]]
    assert codes(env, env.item("old01")) == [[]]


@pytest.fixture
def messy(make_env: Callable[..., Env]) -> Env:
    return make_env(
        source={
            "vms": [
                {"name": "snap01", "snapshots": 2, "networks": ["web"]},
                {"name": "iso01", "iso_mounted": True, "networks": ["web"]},
                {"name": "cbt01", "cbt_enabled": True, "networks": ["web"]},
            ]
        }
    )


@pytest.mark.parametrize("option", ["removeSnapshots", "removeSnapshot"])
def test_snapshots_are_an_error_unless_removed(messy: Env, option: str) -> None:
    assert codes(messy, messy.item("snap01")) == [["SNAPSHOTS_PRESENT"]]
    profile = {"transferProfile": [{"option": option, "value": True}]}
    assert warnings(messy, messy.item("snap01", transferParams=profile)) == ["SNAPSHOTS_REMOVED"]


@pytest.mark.parametrize("option", ["removeISOs", "removeIso"])
def test_a_mounted_iso_is_an_error_unless_removed(messy: Env, option: str) -> None:
    assert codes(messy, messy.item("iso01")) == [["ISO_MOUNTED"]]
    options = {"options": {option: True}}
    assert warnings(messy, messy.item("iso01", switchoverParams=options)) == ["ISO_UNMOUNTED"]


def test_cbt_is_a_warning(messy: Env) -> None:
    assert warnings(messy, messy.item("cbt01")) == ["CBT_ENABLED"]


def test_a_name_already_at_the_destination_is_refused(make_env: Callable[..., Env]) -> None:
    env = make_env(destination={"vms": [{"name": "app01"}]})
    assert codes(env, env.item("app01")) == [["NAME_EXISTS_AT_DESTINATION"]]


def test_not_enough_destination_space_counts_earlier_items_and_running_migrations(
    make_env: Callable[..., Env],
) -> None:
    env = make_env(destination={"datastores": [{"name": "small", "capacity_gb": 1000, "free_gb": 250}]})
    # app01 and app02 provision 100 GiB each, db01 200 GiB: the third item no longer fits.
    assert codes(env, env.item("app01"), env.item("app02"), env.item("db01")) == [
        [],
        [],
        ["INSUFFICIENT_DATASTORE_SPACE"],
    ]
    env.start(env.item("app01"))
    assert codes(env, env.item("db01")) == [["INSUFFICIENT_DATASTORE_SPACE"]]


def test_an_impossible_switchover_window_is_refused(env: Env) -> None:
    backwards = {"schedule": {"startTime": env.ms(hours=2), "expiryTime": env.ms(hours=1)}}
    past = {"schedule": {"startTime": 0, "expiryTime": env.ms(hours=-1)}}
    assert codes(env, env.item("app01", switchoverParams=backwards)) == [["INVALID_SCHEDULE"]]
    assert codes(env, env.item("app01", switchoverParams=past)) == [["INVALID_SCHEDULE"]]


def test_a_window_on_vmotion_is_ignored_with_a_warning(env: Env) -> None:
    window = {"schedule": {"startTime": env.ms(hours=1), "expiryTime": env.ms(hours=2)}}
    assert warnings(env, env.item("app01", "vMotion", switchoverParams=window)) == ["SCHEDULE_IGNORED"]


def test_migration_type_accepts_the_powercli_names(env: Env) -> None:
    assert codes(env, env.item("app01", "Bulk")) == [[]]


def test_an_injected_validate_failure_fires_its_count_then_passes(make_env: Callable[..., Env]) -> None:
    env = make_env(
        faults={"vm_failures": [{"vm": "app01", "phase": "validate", "times": 2, "message": "nope"}]}
    )
    assert codes(env, env.item("app01")) == [["VALIDATION_FAILED"]]
    assert codes(env, env.item("app01")) == [["VALIDATION_FAILED"]]
    assert codes(env, env.item("app01")) == [[]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "items"),
        ({"items": [{"entity": {"entityId": "vm-1001"}}]}, "items[0].migrationType"),
        ({"items": [{"migrationType": "vMotion"}]}, "items[0].entity.entityId"),
        (
            {"items": [{"migrationType": "vMotion", "entity": {"entityId": "x"}, "tags": "t"}]},
            "items[0].tags",
        ),
    ],
)
def test_malformed_bodies_name_the_field(env: Env, body: dict[str, Any], field: str) -> None:
    with pytest.raises(BadRequest, match=field.replace("[", r"\[").replace("]", r"\]")):
        env.source.validate_migrations(body)
