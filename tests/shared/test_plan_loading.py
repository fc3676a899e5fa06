"""Reading plans: JSON and YAML, field errors with JSON pointers, normalisation, and the digest."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from shared.plan import MAX_PLAN_BYTES, MigrationPlan, PlanError, load_plan, parse_plan
from tests.shared.plan_data import PIN, PLAN_YAML, SOURCE, full_plan, minimal_plan


def errors_of(data: object) -> list[dict[str, str]]:
    with pytest.raises(PlanError) as caught:
        parse_plan(data)
    return caught.value.errors


def paths_of(data: object) -> list[str]:
    return [e["path"] for e in errors_of(data)]


def test_yaml_and_json_forms_load_to_the_same_plan() -> None:
    from_yaml = load_plan(PLAN_YAML, content_type="application/yaml")
    from_json = load_plan(json.dumps(full_plan(), default=str).encode(), content_type="application/json")
    assert from_yaml == from_json
    assert from_yaml.digest() == from_json.digest()
    assert from_yaml.waves[2].name == "wave-3"
    assert from_yaml.migration.approval.timeout == timedelta(hours=4)


def test_the_format_is_sniffed_when_no_content_type_is_given() -> None:
    assert load_plan(json.dumps(minimal_plan())).id == "minimal-plan"
    assert load_plan(yaml.safe_dump(minimal_plan())).id == "minimal-plan"
    assert load_plan(json.dumps(minimal_plan()), content_type="text/plain").id == "minimal-plan"


def test_a_json_content_type_parses_as_json_and_names_the_position_of_the_error() -> None:
    with pytest.raises(PlanError) as caught:
        load_plan("id: x\nwaves: []\n", content_type="application/json; charset=utf-8")
    assert caught.value.errors[0]["path"] == ""
    assert "not valid JSON" in caught.value.errors[0]["message"]
    assert "line 1" in caught.value.errors[0]["message"]


def test_malformed_yaml_reports_the_line() -> None:
    with pytest.raises(PlanError) as caught:
        load_plan("id: a\nwaves:\n  - name: [unclosed\n")
    assert "not valid YAML" in caught.value.errors[0]["message"]
    assert "line" in caught.value.errors[0]["message"]


@pytest.mark.parametrize(
    ("text", "content_type"),
    [
        ('{"id": "a", "id": "b"}', "application/json"),
        ("id: a\nid: b\n", "application/yaml"),
    ],
)
def test_duplicate_keys_are_refused_rather_than_silently_overwritten(text: str, content_type: str) -> None:
    with pytest.raises(PlanError) as caught:
        load_plan(text, content_type=content_type)
    assert "duplicate key 'id'" in caught.value.errors[0]["message"]


@pytest.mark.parametrize("document", ["[1, 2]", "just text", "42"])
def test_a_document_that_is_not_a_mapping_is_refused(document: str) -> None:
    with pytest.raises(PlanError) as caught:
        load_plan(document)
    assert caught.value.errors == [{"path": "", "message": "a plan must be a JSON/YAML object (a mapping)"}]


def test_empty_oversized_and_non_utf8_input_is_refused_before_parsing() -> None:
    for body in (b"", b"  \n", b"\xff\xfe\x00garbage", b"x" * (MAX_PLAN_BYTES + 1)):
        with pytest.raises(PlanError) as caught:
            load_plan(body)
        assert caught.value.errors[0]["path"] == ""


def test_a_utf8_bom_is_accepted() -> None:
    assert load_plan(b"\xef\xbb\xbf" + json.dumps(minimal_plan()).encode()).id == "minimal-plan"


def test_unknown_and_missing_fields_are_named_by_json_pointer() -> None:
    data = minimal_plan()
    del data["source"]
    data["waves"][0]["vmz"] = ["typo"]
    errors = errors_of(data)
    assert {"path": "/source", "message": "is required"} in errors
    assert {"path": "/waves/0/vmz", "message": "unknown field (check its spelling and place)"} in errors


@pytest.mark.parametrize(
    "bad", ["Upper-Case", "ab", "-leading", "trailing-", "has_underscore", "x" * 64, "a b c"]
)
def test_plan_ids_are_restricted_to_a_safe_instance_id_charset(bad: str) -> None:
    data = minimal_plan()
    data["id"] = bad
    [error] = errors_of(data)
    assert error["path"] == "/id"
    assert "a-z, 0-9 and '-'" in error["message"]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.AVS/privateClouds/pc", "GUID"),
        ("/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg", "privateClouds"),
        (
            "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/"
            "virtualMachines/pc",
            "Microsoft.Compute",
        ),
    ],
)
def test_private_cloud_ids_are_parsed_and_bad_ones_named(value: str, fragment: str) -> None:
    data = minimal_plan()
    data["source"] = value
    [error] = errors_of(data)
    assert error["path"] == "/source"
    assert fragment in error["message"]


def test_private_cloud_ids_are_canonicalised_and_parsed() -> None:
    data = minimal_plan()
    data["source"] = SOURCE.lower().replace("microsoft.avs", "MICROSOFT.AVS") + "/"
    plan = parse_plan(data)
    assert plan.source_ref.resource_group == "rg-east"
    assert plan.source_ref.name == "pc-east"
    assert "/providers/Microsoft.AVS/privateClouds/pc-east" in plan.source


def test_fingerprints_in_either_form_are_normalised_to_lowercase_hex() -> None:
    data = minimal_plan()
    data["hcx"] = {"trusted_fingerprints": [PIN, PIN.replace(":", "").lower()]}
    plan = parse_plan(data)
    assert plan.hcx.trusted_fingerprints == [PIN.replace(":", "").lower()] * 2


def test_a_sha1_thumbprint_is_refused_with_a_hint() -> None:
    data = minimal_plan()
    data["hcx"] = {"trusted_fingerprints": ["ab" * 20]}
    [error] = errors_of(data)
    assert error["path"] == "/hcx/trusted_fingerprints/0"
    assert "SHA-1" in error["message"]


def test_switchover_windows_need_a_timezone_and_are_kept_in_utc() -> None:
    data = minimal_plan()
    data["migration"] = {"switchover_window": {"start": "2026-01-10T22:00:00", "end": "2026-01-11T04:00:00Z"}}
    assert errors_of(data) == [
        {
            "path": "/migration/switchover_window/start",
            "message": "must include a timezone, e.g. 2026-01-10T22:00:00Z",
        }
    ]
    data["migration"]["switchover_window"]["start"] = "2026-01-10T23:00:00+01:00"
    window = parse_plan(data).migration.switchover_window
    assert window is not None
    assert window.start == datetime(2026, 1, 10, 22, 0, tzinfo=UTC)
    assert window.start.utcoffset() == timedelta(0)


def test_a_wave_window_that_is_neither_a_window_nor_immediate_is_explained() -> None:
    data = minimal_plan()
    data["waves"][0]["migration"] = {"switchover_window": "tonight"}
    assert errors_of(data) == [
        {
            "path": "/waves/0/migration/switchover_window",
            "message": "must be a window {start, end}, the string 'immediate', or null to inherit",
        }
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("1h30m", timedelta(minutes=90)),
        ("PT4H", timedelta(hours=4)),
        (600, timedelta(minutes=10)),
    ],
)
def test_durations_accept_short_and_iso_forms(text: object, expected: timedelta) -> None:
    data = minimal_plan()
    data["limits"] = {"poll": {"small_vm": text}}
    assert parse_plan(data).limits.poll.small_vm == expected


def test_a_zero_duration_is_refused() -> None:
    data = minimal_plan()
    data["migration"] = {"approval": {"timeout": "0s"}}
    assert paths_of(data) == ["/migration/approval/timeout"]


@pytest.mark.parametrize(
    "cidr", ["10.1.100.0/24", "10.1.100.255/24", "10.1.100.1", "10.1.100.1/32", "fe80::1/64"]
)
def test_extension_gateways_must_be_a_host_address_with_a_prefix(cidr: str) -> None:
    data = minimal_plan()
    data["network_extensions"] = [{"source_network": "V", "gateway_cidr": cidr, "destination_gateway": "T1"}]
    assert paths_of(data) == ["/network_extensions/0/gateway_cidr"]


def test_an_extension_exposes_gateway_and_netmask_for_hcx() -> None:
    data = minimal_plan()
    data["network_extensions"] = [
        {"source_network": "V", "gateway_cidr": "10.1.100.1/22", "destination_gateway": "T1"}
    ]
    ext = parse_plan(data).network_extensions[0]
    assert (ext.gateway, ext.netmask) == ("10.1.100.1", "255.255.252.0")


@pytest.mark.parametrize(
    "url",
    [
        "http://topic.example.net/api/events",
        "https://topic.example.net/api/events?aeg-sas-key=s3cr3t-value",
        "https://user:s3cr3t-value@topic.example.net/api/events",
    ],
)
def test_notification_endpoints_cannot_carry_secrets(url: str) -> None:
    data = minimal_plan()
    data["notifications"] = {"event_grid_topic": url}
    [error] = errors_of(data)
    assert error["path"] == "/notifications/event_grid_topic"
    assert "s3cr3t-value" not in error["message"]


def test_webhooks_reference_an_app_setting_and_never_take_a_url() -> None:
    data = minimal_plan()
    data["notifications"] = {"webhooks": [{"name": "ops", "url": "https://hooks.example/x?sig=abc"}]}
    assert set(paths_of(data)) == {"/notifications/webhooks/0/url_setting", "/notifications/webhooks/0/url"}


def test_plan_errors_become_plan_invalid_findings_at_their_pointers() -> None:
    data = minimal_plan()
    data["id"] = "BAD"
    data["waves"][0]["vms"] = ["a", "a"]
    with pytest.raises(PlanError) as caught:
        parse_plan(data)
    assert [(f.code, f.resource) for f in caught.value.findings()] == [("PLAN_INVALID", "/id")]


def test_error_messages_never_echo_the_submitted_value() -> None:
    data = minimal_plan()
    data["hcx"] = {"trusted_fingerprints": ["hunter2-is-my-password"], "service_mesh": ["hunter2"]}
    with pytest.raises(PlanError) as caught:
        parse_plan(data)
    assert "hunter2" not in str(caught.value)


class TestDigest:
    def test_is_the_sha256_of_the_canonical_json_without_defaults(self) -> None:
        plan = parse_plan(minimal_plan())
        canonical = json.dumps(
            {
                "id": "minimal-plan",
                "source": plan.source,
                "destination": plan.destination,
                "waves": [{"name": "wave-1", "vms": ["app01", "app02"]}],
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        assert plan.digest() == hashlib.sha256(canonical.encode()).hexdigest()

    def test_does_not_change_with_key_order_format_or_spelled_out_defaults(self) -> None:
        data = minimal_plan()
        reordered = dict(reversed(list(data.items())))
        explicit = minimal_plan() | {
            "connectivity": {"mode": "auto"},
            "limits": {"max_attempts": 3},
            "version": 1,
        }
        digests = {
            parse_plan(data).digest(),
            load_plan(yaml.safe_dump(reordered)).digest(),
            parse_plan(explicit).digest(),
        }
        assert len(digests) == 1

    def test_changes_when_the_plan_changes(self) -> None:
        data = minimal_plan()
        before = parse_plan(data).digest()
        data["waves"][0]["vms"].append("app03")
        assert parse_plan(data).digest() != before

    def test_survives_the_durable_payload_round_trip(self) -> None:
        plan = load_plan(PLAN_YAML)
        again = MigrationPlan.model_validate(json.loads(json.dumps(plan.model_dump(mode="json"))))
        assert again == plan
        assert again.digest() == plan.digest()
        assert again.effective("wave-2") == plan.effective("wave-2")
