"""Contract: the HCX client parses every example response in reference/hcx-api.md.

Each fixture in tests/shared/fixtures/hcx/ is named after the section it comes from (s3.1 = §3.1).
Fenced JSON examples were copied as they are ("{...}" placeholders written as {}); examples the
reference gives inline or in prose were written out with the fields it names. Every answer goes
through the real client and httpx stack (only the server is scripted), and the test checks the parsed
values against the document.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.hcx import (
    HcxCertificateUntrusted,
    HcxPairingError,
    HcxUnavailable,
    HcxValidationError,
    InterconnectTask,
    envelope,
    extension_request,
)
from shared.tls import fingerprint
from tests.shared.hcx_fakes import ScriptedHcx, client_for, credentials, fixture

API = "/hybridity/api"


def test_s3_1_job_is_parsed_with_epoch_millisecond_times() -> None:
    server = ScriptedHcx().on("GET", f"{API}/jobs/3f1c", (200, fixture("s3.1-job.json")))
    job = client_for(server).get_job("3f1c")
    assert (job.job_id, job.is_done, job.did_fail, job.percent_complete) == ("3f1c...", True, False, 100)
    assert job.finished
    assert job.succeeded
    assert job.start_time == datetime(2023, 11, 14, 22, 13, 20, 100000, tzinfo=UTC)
    assert job.end_time == datetime(2023, 11, 14, 22, 14, 20, tzinfo=UTC)
    assert job.username == "administrator@vsphere.local"


def test_s3_2_interconnect_task_is_running_and_not_finished() -> None:
    server = ScriptedHcx().on(
        "GET", f"{API}/interconnect/tasks/a1b2", (200, fixture("s3.2-interconnect-task.json"))
    )
    task = client_for(server).get_interconnect_task("a1b2")
    assert (task.status, task.progress, task.message, task.type) == (
        "RUNNING",
        40,
        "Deploying appliances",
        "createServiceMesh",
    )
    assert task.entity_details["type"] == "ServiceMesh"
    assert not task.finished
    assert task.end_time is None  # 0 means unset


def test_s2_2_failed_interconnect_task_carries_its_message() -> None:
    task = InterconnectTask.model_validate(fixture("s2.2-task-failed.json"))
    assert task.finished
    assert not task.succeeded
    assert task.failure_message == "Appliance deployment failed"


def test_s4_3_pairings_are_listed_from_the_hybridity_envelope() -> None:
    server = ScriptedHcx().on("GET", f"{API}/cloudConfigs", (200, fixture("s4.3-cloud-configs.json")))
    client = client_for(server)
    [pairing] = client.list_cloud_configs()
    assert (pairing.endpoint_id, pairing.cloud_type, pairing.cloud_name, pairing.version) == (
        "20250522180456277-46f9...",
        "nsp",
        "hcx-cloud",
        "4.8.0",
    )
    assert client.find_pairing("https://HCX-CLOUD.example.com/") == pairing


def test_s4_2_pairing_start_returns_the_job_id() -> None:
    server = ScriptedHcx().on("POST", f"{API}/cloudConfigs", (200, fixture("s4.2-pairing-started.json")))
    job_id = client_for(server).create_cloud_config(
        "https://hcx-cloud.example.com/", credentials("remote-pw")
    )
    assert job_id == "6a0e4d2c-7f3b-4c1e-8d9a-0b1c2d3e4f5a"
    sent = server.calls("POST", f"{API}/cloudConfigs")[0]
    assert b'"remote"' in sent.content  # the body is wrapped in "remote" (hcx-api.md §4.2)
    assert b'"url":"https://hcx-cloud.example.com"' in sent.content.replace(b" ", b"")


def test_s2_2_untrusted_certificate_carries_the_pem_and_its_fingerprint() -> None:
    body = fixture("s2.2-pairing-untrusted-certificate.json")
    server = ScriptedHcx().on("POST", f"{API}/cloudConfigs", (200, body))
    with pytest.raises(HcxCertificateUntrusted) as caught:
        client_for(server).create_cloud_config("https://hcx-cloud.example.com", credentials("remote-pw"))
    pem = body["errors"][0]["data"][0]["certificate"]
    assert caught.value.pem == pem
    assert caught.value.fingerprint == fingerprint(pem)
    assert caught.value.url == "https://hcx-cloud.example.com"


def test_s2_2_login_failure_is_a_pairing_error_with_hcx_text() -> None:
    server = ScriptedHcx().on(
        "POST", f"{API}/cloudConfigs", (200, fixture("s2.2-pairing-login-failure.json"))
    )
    with pytest.raises(HcxPairingError, match="Failed to log in to the remote site"):
        client_for(server).create_cloud_config("https://hcx-cloud.example.com", credentials("remote-pw"))


def test_s4_2_certificate_import_succeeds() -> None:
    server = ScriptedHcx().on(
        "POST", f"{API}/admin/certificates", (200, fixture("s4.2-certificate-imported.json"))
    )
    client_for(server).trust_certificate("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    assert len(server.calls("POST", f"{API}/admin/certificates")) == 1


def test_s4_2_appliance_port_certificate_list_unwraps_data_items() -> None:
    [cert] = envelope.items(fixture("s4.2-appliance-certificates.json"))
    assert cert["thumbprint"] == "ab" * 32


def test_s4_4_unpair_is_accepted() -> None:
    server = ScriptedHcx().on("DELETE", f"{API}/endpointPairing/e-1", (200, fixture("s4.4-unpair.json")))
    assert client_for(server).delete_endpoint_pairing("e-1") is True
    assert envelope.data(fixture("s4.4-unpair.json"))["endpoints"][0]["status"] == "IN_PROGRESS"


def test_s4_1_resource_containers_in_both_shapes() -> None:
    server = ScriptedHcx().on(
        "POST",
        f"{API}/service/inventory/resourcecontainer/list",
        (200, fixture("s4.1-resource-containers-nested.json")),
        (200, fixture("s4.1-resource-containers-flat.json")),
    )
    client = client_for(server)
    nested, flat = client.resource_containers()[0], client.resource_containers()[0]
    for container in (nested, flat):
        assert container.endpoint_id == "20250606141804337-10615006-abbc-464e-876c-66c0a70f27dd"
        assert container.endpoint_name == "hcx-local"
        assert container.resource_id == "0b5d7bd6-2f9e-4c4f-9a8c-1f2e3d4c5b6a"
        assert container.resource_type == "VC"


def test_s4_1_clouds_are_listed() -> None:
    server = ScriptedHcx().on(
        "POST", f"{API}/service/inventory/cloud/list", (200, fixture("s4.1-clouds.json"))
    )
    [cloud] = client_for(server).clouds(local=False)
    assert (cloud.name, cloud.url, cloud.endpoint_type) == (
        "hcx-cloud",
        "https://hcx-cloud.example.com",
        "VC",
    )
    sent = server.calls("POST", f"{API}/service/inventory/cloud/list")[0]
    assert sent.content == b'{"filter":{"remote":true}}'


def test_s5_1_service_mesh_with_its_services() -> None:
    server = ScriptedHcx().on(
        "GET", f"{API}/interconnect/serviceMesh", (200, fixture("s5.1-service-meshes.json"))
    )
    [mesh] = client_for(server).list_service_meshes()
    assert mesh.service_mesh_id == "servicemesh-fb5509e1-b47b-4166-a130-491380284922"
    assert mesh.services == ["INTERCONNECT", "VMOTION", "BULK_MIGRATION", "NETWORK_EXTENSION"]
    assert mesh.missing_services({"RAV", "BULK_MIGRATION"}) == {"RAV"}
    assert mesh.healthy  # no state reported


def test_s5_2_mesh_creation_answer_unwraps_data() -> None:
    assert envelope.data(fixture("s5.2-mesh-created.json"))["interconnectTaskId"] == "a1b2c3"


def test_s5_4_appliances_with_either_version_field() -> None:
    server = ScriptedHcx().on("GET", f"{API}/interconnect/appliances", (200, fixture("s5.4-appliances.json")))
    ix, ne = client_for(server).list_appliances()
    assert (ix.version, ix.overall_status, ix.is_network_extension) == ("4.10.2", "UP", False)
    assert (ne.version, ne.network_extension_count, ne.free_extension_slots) == ("4.10.2", 3, 5)


def test_s5_4_appliance_query_sends_the_filter_and_reads_capacity() -> None:
    server = ScriptedHcx().on(
        "POST", f"{API}/interconnect/appliances/query", (200, fixture("s5.4-appliances-query.json"))
    )
    [ne] = client_for(server).query_appliances(endpoint_id="e-1")
    assert (ne.network_extension_count, ne.free_extension_slots) == (8, 0)
    sent = server.calls("POST", f"{API}/interconnect/appliances/query")[0]
    assert sent.content == b'{"filter":{"applianceType":"HCX-NET-EXT","endpointId":"e-1"}}'


def test_s6_1_extension_with_mon_and_state() -> None:
    server = ScriptedHcx().on("GET", f"{API}/l2Extensions", (200, fixture("s6.1-l2-extensions.json")))
    [ext] = client_for(server).list_l2_extensions()
    assert (ext.stretch_id, ext.state, ext.mon, ext.failed) == (
        "stretch-...",
        "EXTENSION_COMPLETE",
        True,
        False,
    )
    assert (ext.source_network_name, ext.source_network_id, ext.destination_gateway) == (
        "VLAN100",
        "dvportgroup-44",
        "T1-GW",
    )
    assert ext.creation_date == datetime(2024, 1, 1, tzinfo=UTC)


def test_s6_2_extension_start_in_both_answer_forms() -> None:
    server = ScriptedHcx().on(
        "POST",
        f"{API}/l2Extensions",
        (200, fixture("s6.2-extension-started.json")),
        (200, fixture("s6.2-extension-started-bulk.json")),
    )
    client = client_for(server)
    classic = client.create_l2_extension({"gateway": "192.168.10.1"})
    assert (classic.job_id, classic.stretch_id) == ("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", None)
    bulk = client.create_l2_extension({"items": []})
    assert (bulk.job_id, bulk.stretch_id) == (None, "stretch-1f2e3d")


def test_s2_2_refused_extension_raises_with_the_item_errors() -> None:
    server = ScriptedHcx().on("POST", f"{API}/l2Extensions", (200, fixture("s2.2-extension-refused.json")))
    with pytest.raises(HcxValidationError) as caught:
        client_for(server).create_l2_extension({"gateway": "192.168.10.1"})
    assert {e.code for e in caught.value.errors} == {"EXTENSION_FAILED", "NE_APPLIANCE_FULL"}
    assert [w.message for w in caught.value.warnings] == ["MON is off"]


def test_s6_3_unextend_returns_the_job_id() -> None:
    server = ScriptedHcx().on(
        "DELETE", f"{API}/l2Extensions/stretch-1", (200, fixture("s6.3-unextend-started.json"))
    )
    assert client_for(server).delete_l2_extension("stretch-1") == "1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809"


def test_s6_2_extension_request_body_has_the_4x_shape() -> None:
    from shared.hcx import InventoryNetwork, SiteRef

    body = extension_request(
        vc_guid="vc-uuid",
        network=InventoryNetwork.model_validate(
            {"entity_id": "dvportgroup-44", "name": "VLAN100", "entityType": "DistributedVirtualPortgroup"}
        ),
        gateway="192.168.10.1",
        netmask="255.255.255.0",
        destination=SiteRef(
            endpoint_id="e-2", endpoint_name="hcx-cloud", resource_id="vc-2", resource_name="vc2"
        ),
        destination_gateway="T1-GW",
        appliance_id="app-ne-1",
        mon=True,
    )
    assert body["sourceNetwork"] == {
        "networkId": "dvportgroup-44",
        "networkName": "VLAN100",
        "networkType": "DistributedVirtualPortgroup",
    }
    assert body["features"] == {"egressOptimization": False, "mobilityOptimizedNetworking": True}
    assert body["destinationNetwork"] == {"gatewayId": "T1-GW"}
    assert body["destination"]["endpointId"] == "e-2"


def test_s7_2_validation_accepted_with_warnings() -> None:
    server = ScriptedHcx().on(
        "POST", f"{API}/mobility/migrations/validate", (202, fixture("s7.2-validate-accepted.json"))
    )
    first, second = client_for(server).validate_migrations([{}, {}])
    assert (first.ok, first.migration_id, first.warnings) == (True, "m-1", [])
    assert second.ok
    assert [w.message for w in second.warnings] == ["VMware Tools is out of date"]


def test_s7_2_validation_refused_with_400_returns_per_item_errors() -> None:
    server = ScriptedHcx().on(
        "POST", f"{API}/mobility/migrations/validate", (400, fixture("s7.2-validate-refused.json"))
    )
    [result] = client_for(server).validate_migrations([{}])
    assert not result.ok
    assert (result.entity_id, result.errors[0].code) == ("vm-1234", "NETWORK_MAPPING_MISSING")
    assert result.warnings[0].message == "VM has an ISO mounted"


def test_s2_2_mobility_refusal_items_are_read() -> None:
    server = ScriptedHcx().on(
        "POST", f"{API}/mobility/migrations/start", (400, fixture("s2.2-mobility-refused.json"))
    )
    [result] = client_for(server).start_migrations([{}])
    assert result.errors[0].message == "Mobility group with same name exist."


def test_s7_3_start_returns_migration_and_group_ids() -> None:
    server = ScriptedHcx().on("POST", f"{API}/mobility/migrations/start", (202, fixture("s7.3-start.json")))
    [started] = client_for(server).start_migrations([{}])
    assert (started.migration_id, started.migration_group_id, started.entity_id, started.ok) == (
        "3c2b1a09-8f7e-6d5c-4b3a-291807f6e5d4",
        "9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0",
        "vm-1234",
        True,
    )


def test_s7_4_query_v2_item_with_progress() -> None:
    server = ScriptedHcx().on(
        "POST", f"{API}/migrations?action=query", (200, fixture("s7.4-query-migrations.json"))
    )
    client = client_for(server)
    [migration] = client.query_migrations(migration_ids=["<id>"])
    assert (migration.entity_id, migration.entity_name, migration.state, migration.version) == (
        "vm-1234",
        "app01",
        "TRANSFER_IN_PROGRESS",
        2,
    )
    assert not migration.finished
    assert migration.percent == 50.0
    assert (migration.progress.bytes_transferred, migration.progress.bytes_total) == (
        21474836480,
        42949672960,
    )
    assert migration.creation_date == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert migration.window_start is None  # startTime 0: no window
    sent = server.calls("POST", f"{API}/migrations?action=query")[0]
    assert b'"compat":2.1' in sent.content
    assert b'"migrationId":["<id>"]' in sent.content


def test_s7_4_query_v1_rows_are_read_leniently() -> None:
    server = ScriptedHcx().on(
        "POST", f"{API}/migrations?action=query", (200, fixture("s7.4-query-v1-rows.json"))
    )
    [row] = client_for(server).query_migrations()
    assert (row.migration_id, row.entity_name, row.state, row.percent) == (
        "legacy-1",
        "old01",
        "MIGRATING",
        40,
    )
    assert not row.finished


def test_s1_3_appliance_api_error_shape_is_understood() -> None:
    errors, _ = envelope.messages(fixture("s1.3-appliance-error.json"))
    assert [(e.code, e.message) for e in errors] == [("INVALID_CREDENTIALS", "Invalid username or password.")]


def test_s1_1_login_while_sso_is_not_configured_is_retryable() -> None:
    from tests.shared.hcx_fakes import FIXTURES

    server = ScriptedHcx()
    server.login_answer = (
        200,
        (FIXTURES / "s1.1-login-sso-not-ready.xml").read_text(),
        {"content-type": "application/xml"},
    )
    with pytest.raises(HcxUnavailable, match="SSO not configured") as caught:
        client_for(server).login()
    assert caught.value.retryable
