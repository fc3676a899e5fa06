"""Contract: the real azure-mgmt-avs wrapper and the HCX client against the sandbox, over verified TLS.

One behaviour per test, each on a fresh sandbox (ephemeral ports on 127.0.0.1) and a virtual clock.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.core.pipeline.transport import RequestsTransport
from azure.mgmt.avs import AVSClient

from runtime.clock import VirtualClock
from sandbox import Sandbox, load_scenario
from sandbox.core.faults import FaultRule
from shared.avs import avs_client, private_cloud_facts
from shared.cloud import CloudFacts
from shared.credentials import cloudadmin_credentials
from shared.errors import ForbiddenOperation
from shared.hcx import (
    HcxAuthError,
    HcxCertificateUntrusted,
    HcxClient,
    HcxTlsError,
    HcxUnavailable,
    MigrationSpec,
    NetworkTarget,
    PlacementRef,
    RetryPolicy,
    SiteRef,
    migration_item,
)
from shared.plan import check_against, parse_plan
from shared.settings import Settings, UserPassword, load_settings
from shared.tls import normalise_fingerprint
from tests.shared.hcx_fakes import Sleeps

SCENARIOS = Path(__file__).resolve().parents[2] / "examples" / "scenarios"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=datetime(2026, 1, 5, 9, 0, tzinfo=UTC))


@pytest.fixture
def sandbox(clock: VirtualClock) -> Iterator[Sandbox]:
    with Sandbox(load_scenario(SCENARIOS / "same-region.yaml"), clock=clock) as sb:
        yield sb


@pytest.fixture
def settings(sandbox: Sandbox) -> Settings:
    return load_settings(sandbox.app_settings())


@pytest.fixture
def arm(settings: Settings, sandbox: Sandbox) -> AVSClient:
    return avs_client(settings, sandbox.subscription_id, retry_total=0)


def admin(side: str, sandbox: Sandbox, settings: Settings, arm: AVSClient) -> UserPassword:
    return cloudadmin_credentials(side, sandbox.cloud_id(side), settings, arm)  # type: ignore[arg-type]


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def hcx(sandbox: Sandbox, settings: Settings, arm: AVSClient, sleeps: Sleeps) -> Iterator[HcxClient]:
    retry = RetryPolicy(attempts=3, sleep=sleeps, rng=random.Random(3))
    client = HcxClient.for_settings(
        settings,
        sandbox.hcx_url("source"),
        admin("source", sandbox, settings, arm),
        pins=[sandbox.hcx_fingerprint("source")],
        retry=retry,
    )
    yield client
    client.close()


def requests(sandbox: Sandbox, server: str, route: str) -> int:
    return int(sandbox.stats()["requests"].get(server, {}).get(route, 0))


class TestAvs:
    def test_private_cloud_facts_read_the_cloud_and_its_hcx_addon(
        self, sandbox: Sandbox, arm: AVSClient
    ) -> None:
        facts = private_cloud_facts(arm, sandbox.cloud_id("source"))
        assert (facts.name, facts.region, facts.generation, facts.provisioning_state) == (
            "pc-weu-prod",
            "westeurope",
            1,
            "Succeeded",
        )
        assert facts.hcx_url == sandbox.hcx_url("source")
        assert facts.hcx_enterprise
        assert facts.circuit_id is not None

    def test_facts_feed_the_plan_check(self, sandbox: Sandbox, arm: AVSClient) -> None:
        source = private_cloud_facts(arm, sandbox.cloud_id("source"))
        destination = private_cloud_facts(arm, sandbox.cloud_id("destination"))
        plan = parse_plan(
            {
                "id": "same-region",
                "source": sandbox.cloud_id("source"),
                "destination": sandbox.cloud_id("destination"),
                "connectivity": {"mode": "global_reach"},
                "waves": [{"name": "w1", "vms": ["app-web-01"]}],
            }
        )
        found = check_against(plan, source, destination)
        assert [(f.code, f.severity) for f in found] == [("CONNECTIVITY_MODE_MISMATCH", "warning")]

    def test_cloudadmin_credentials_come_from_list_admin_credentials_and_never_show(
        self, sandbox: Sandbox, settings: Settings, arm: AVSClient
    ) -> None:
        creds = admin("source", sandbox, settings, arm)
        assert creds.username == "cloudadmin@vsphere.local"
        secret = creds.password.get_secret_value()
        assert secret == sandbox.world.credentials["source"].password
        assert secret not in repr(creds)
        assert secret not in str(creds)
        assert secret not in creds.model_dump_json()

    def test_settings_overrides_win_over_arm(self, sandbox: Sandbox, arm: AVSClient) -> None:
        env = sandbox.app_settings() | {
            "HCX_SOURCE_USERNAME": "ops@vsphere.local",
            "HCX_SOURCE_PASSWORD": "from-kv",
        }
        creds = cloudadmin_credentials("source", sandbox.cloud_id("source"), load_settings(env), arm)
        assert creds.username == "ops@vsphere.local"
        assert requests(sandbox, "arm", _LIST_ADMIN) == 0

    def test_throttling_is_retried_after_the_retry_after_delay(
        self, sandbox: Sandbox, settings: Settings
    ) -> None:
        class RecordingTransport(RequestsTransport):
            def __init__(self, **kwargs: object) -> None:
                super().__init__(**kwargs)
                self.sleeps: list[float] = []

            def sleep(self, duration: float) -> None:
                self.sleeps.append(duration)

        from shared.tls import combined_ca_bundle

        transport = RecordingTransport(connection_verify=combined_ca_bundle(settings.avs_ca_bundle))
        client = avs_client(settings, sandbox.subscription_id, transport=transport)
        sandbox.faults.add(FaultRule(server="arm", status=429, times=2, retry_after=7, method="GET"))
        assert private_cloud_facts(client, sandbox.cloud_id("source")).name == "pc-weu-prod"
        assert transport.sleeps == [7, 7]
        assert sandbox.stats()["faults"]["arm"]["429"] == 2

    def test_password_rotation_is_refused_before_it_leaves_the_process(
        self, sandbox: Sandbox, arm: AVSClient
    ) -> None:
        with pytest.raises(ForbiddenOperation):
            arm.private_clouds.begin_rotate_vcenter_password("rg-avs-weu-prod", "pc-weu-prod")
        with pytest.raises(ForbiddenOperation):
            arm.private_clouds.begin_rotate_nsxt_password("rg-avs-weu-prod", "pc-weu-prod")
        assert not any("rotate" in route.lower() for route in sandbox.stats()["requests"].get("arm", {}))


_LIST_ADMIN = (
    "POST /subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.AVS/"
    "privateClouds/{cloud}/listAdminCredentials"
)


class TestHcxSession:
    def test_login_and_read_the_service_mesh(self, hcx: HcxClient) -> None:
        [mesh] = hcx.list_service_meshes()
        assert mesh.name == "mesh-weu"
        assert mesh.missing_services({"INTERCONNECT", "BULK_MIGRATION", "RAV", "NETWORK_EXTENSION"}) == set()
        assert hcx.logins == 1

    def test_an_expired_token_leads_to_one_new_login(
        self, hcx: HcxClient, clock: VirtualClock, sandbox: Sandbox
    ) -> None:
        hcx.list_service_meshes()
        clock.advance(timedelta(minutes=31))  # past the scenario's token lifetime
        assert len(hcx.list_service_meshes()) == 1
        assert hcx.logins == 2
        assert requests(sandbox, "hcx:source", "POST /hybridity/api/sessions") == 2

    def test_wrong_credentials_are_refused(self, sandbox: Sandbox, settings: Settings) -> None:
        wrong = UserPassword.model_validate({"username": "cloudadmin@vsphere.local", "password": "not-it"})
        client = HcxClient.for_settings(
            settings, sandbox.hcx_url("source"), wrong, pins=[sandbox.hcx_fingerprint("source")]
        )
        with pytest.raises(HcxAuthError):
            client.login()

    def test_an_unpinned_self_signed_manager_is_refused_with_its_fingerprint(
        self, sandbox: Sandbox, settings: Settings, arm: AVSClient
    ) -> None:
        client = HcxClient.for_settings(
            settings, sandbox.hcx_url("source"), admin("source", sandbox, settings, arm)
        )
        with pytest.raises(HcxTlsError) as caught:
            client.login()
        assert caught.value.fingerprint == normalise_fingerprint(sandbox.hcx_fingerprint("source"))
        found = caught.value.to_finding()
        assert (found.code, found.resource) == ("HCX_TLS_UNTRUSTED", sandbox.hcx_url("source"))
        assert sandbox.hcx_fingerprint("source").upper() in found.message.upper()

    def test_reads_are_retried_through_5xx(self, hcx: HcxClient, sandbox: Sandbox, sleeps: Sleeps) -> None:
        sandbox.faults.add(
            FaultRule(server="hcx:source", status=503, times=2, method="GET", path_contains="serviceMesh")
        )
        assert len(hcx.list_service_meshes()) == 1
        assert len(sleeps) == 2
        assert sandbox.stats()["faults"]["hcx:source"]["503"] == 2


def paired(hcx: HcxClient, sandbox: Sandbox, settings: Settings, arm: AVSClient, clock: VirtualClock) -> None:
    result = hcx.pair_site(
        sandbox.hcx_url("destination"),
        admin("destination", sandbox, settings, arm),
        [sandbox.hcx_fingerprint("destination")],
    )
    assert result.job_id is not None
    clock.advance(timedelta(minutes=5))
    assert hcx.get_job(result.job_id).succeeded


class TestPairing:
    def test_a_pinned_certificate_is_imported_and_the_pairing_completes(
        self, hcx: HcxClient, sandbox: Sandbox, settings: Settings, arm: AVSClient, clock: VirtualClock
    ) -> None:
        remote = admin("destination", sandbox, settings, arm)
        pin = sandbox.hcx_fingerprint("destination")
        started = hcx.pair_site(sandbox.hcx_url("destination"), remote, [pin])
        assert started.imported_fingerprint == normalise_fingerprint(pin)
        assert started.job_id is not None
        assert not hcx.get_job(started.job_id).finished
        clock.advance(timedelta(minutes=5))
        job = hcx.get_job(started.job_id)
        assert job.succeeded
        [pairing] = hcx.list_cloud_configs()
        assert pairing.matches(sandbox.hcx_url("destination"))
        assert job.endpoint_id == pairing.endpoint_id
        again = hcx.pair_site(sandbox.hcx_url("destination"), remote, [pin])
        assert again.existing == pairing
        assert (
            requests(sandbox, "hcx:source", "POST /hybridity/api/cloudConfigs") == 2
        )  # refused, then accepted

    @pytest.mark.parametrize(("pins", "pinned"), [([], False), (["ab" * 32], True)])
    def test_an_unpinned_certificate_stops_pairing_with_the_fingerprint_to_pin(
        self,
        hcx: HcxClient,
        sandbox: Sandbox,
        settings: Settings,
        arm: AVSClient,
        pins: list[str],
        pinned: bool,
    ) -> None:
        with pytest.raises(HcxCertificateUntrusted) as caught:
            hcx.pair_site(sandbox.hcx_url("destination"), admin("destination", sandbox, settings, arm), pins)
        assert caught.value.fingerprint == normalise_fingerprint(sandbox.hcx_fingerprint("destination"))
        assert caught.value.pinned is pinned
        assert hcx.list_cloud_configs() == []
        assert requests(sandbox, "hcx:source", "POST /hybridity/api/admin/certificates") == 0


def extend_seg_app(hcx: HcxClient, clock: VirtualClock) -> None:
    from shared.hcx import extension_request

    local = hcx.resource_containers(local=True)[0]
    remote = hcx.resource_containers(local=False, remote=True)[0]
    network = next(n for n in hcx.networks(local.endpoint_id or "") if n.name == "seg-app")
    [ne] = hcx.query_appliances(endpoint_id=local.endpoint_id)
    body = extension_request(
        vc_guid=local.resource_id or "",
        network=network,
        gateway="10.10.101.1",
        netmask="255.255.255.0",
        destination=SiteRef.of(remote),
        destination_gateway="TNT21-T1",
        appliance_id=ne.appliance_id,
        mon=False,
    )
    started = hcx.create_l2_extension(body)
    assert started.job_id is not None
    assert not hcx.get_job(started.job_id).finished
    clock.advance(timedelta(minutes=30))
    assert hcx.get_job(started.job_id).succeeded


class TestWork:
    def test_a_network_extension_runs_to_completion(
        self, hcx: HcxClient, sandbox: Sandbox, settings: Settings, arm: AVSClient, clock: VirtualClock
    ) -> None:
        paired(hcx, sandbox, settings, arm, clock)
        extend_seg_app(hcx, clock)
        [ext] = hcx.list_l2_extensions()
        assert (ext.source_network_name, ext.destination_gateway, ext.mon, ext.failed) == (
            "seg-app",
            "TNT21-T1",
            False,
            False,
        )

    def test_a_start_is_not_repeated_on_5xx_and_a_migration_can_be_followed(
        self,
        hcx: HcxClient,
        sandbox: Sandbox,
        settings: Settings,
        arm: AVSClient,
        clock: VirtualClock,
        sleeps: Sleeps,
    ) -> None:
        paired(hcx, sandbox, settings, arm, clock)
        extend_seg_app(hcx, clock)
        local = hcx.resource_containers(local=True)[0]
        remote = hcx.resource_containers(local=False, remote=True)[0]
        vm = hcx.virtual_machines(local.endpoint_id, names=["ops-jump-01"])[0]
        containers = hcx.containers(remote.endpoint_id or "")
        [datastore] = hcx.datastores(remote.endpoint_id or "")
        segment = next(n for n in hcx.networks(remote.endpoint_id or "") if n.entity_type == "NsxtSegment")
        wanted = ("Compute-ResourcePool", "Workloads", "SDDC-Datacenter")
        item = migration_item(
            MigrationSpec(
                type="bulk",
                vm_id=vm.id,
                vm_name=vm.name,
                source=SiteRef.of(local),
                destination=SiteRef.of(remote),
                placement=[
                    PlacementRef(id=c.id, name=c.name, type=c.type or "")
                    for c in containers
                    if c.name in wanted
                ],
                datastore=PlacementRef(id=datastore.id, name=datastore.name, type="Datastore"),
                networks=[
                    NetworkTarget(
                        source_id="dvportgroup-101",
                        source_name="seg-app",
                        destination_id=segment.id,
                        destination_name=segment.name,
                    )
                ],
            )
        )
        [validated] = hcx.validate_migrations([item])
        assert validated.ok, validated.errors
        assert validated.entity_id == vm.id
        sandbox.faults.add(
            FaultRule(server="hcx:source", status=503, times=1, path_contains="mobility/migrations/start")
        )
        with pytest.raises(HcxUnavailable):
            hcx.start_migrations([item])
        assert sleeps == []  # not retried
        assert sandbox.stats()["migration_starts"] == {}
        [started] = hcx.start_migrations([item])
        assert started.ok
        assert started.migration_id is not None
        [migration] = hcx.query_migrations(migration_ids=[started.migration_id])
        assert (migration.entity_name, migration.finished) == ("ops-jump-01", False)
        clock.advance(timedelta(hours=12))
        [done] = hcx.query_migrations(migration_ids=[started.migration_id])
        assert (done.finished, done.succeeded) == (True, True), done.state
        assert sandbox.stats()["migration_starts"] == {"ops-jump-01": 1}  # exactly one start


def test_cloud_facts_of_the_cross_region_scenario(clock: VirtualClock) -> None:
    with Sandbox(load_scenario(SCENARIOS / "cross-region.yaml"), clock=clock) as sb:
        settings = load_settings(sb.app_settings())
        client = avs_client(settings, sb.subscription_id, retry_total=0)
        facts: dict[str, CloudFacts] = {
            side: private_cloud_facts(client, sb.cloud_id(side)) for side in ("source", "destination")
        }
    assert (facts["source"].region, facts["destination"].region) == ("westeurope", "northeurope")
    assert {f.generation for f in facts.values()} == {1}
