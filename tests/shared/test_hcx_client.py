"""HCX client behaviour: login, re-login, retries for reads only, errors, pairing trust, secrets."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime

import httpx
import pytest

from shared.hcx import (
    HcxAuthError,
    HcxCertificateUntrusted,
    HcxConflict,
    HcxNotFound,
    HcxPairingError,
    HcxTimeout,
    HcxUnavailable,
    HcxValidationError,
    MigrationSpec,
    PlacementRef,
    RetryPolicy,
    SiteRef,
    migration_item,
)
from shared.tls import fingerprint, format_fingerprint
from tests.shared.hcx_fakes import PASSWORD, URL, ScriptedHcx, Sleeps, client_for, credentials, fixture

API = "/hybridity/api"
JOB = {"jobId": "j-1", "isDone": False}
UNTRUSTED = fixture("s2.2-pairing-untrusted-certificate.json")
REMOTE_PEM = UNTRUSTED["errors"][0]["data"][0]["certificate"]
STARTED = fixture("s4.2-pairing-started.json")


class TestLogin:
    @pytest.mark.parametrize("header", ["x-hm-authorization", "X-HM-Authorization", "X-Hm-Authorization"])
    def test_the_token_header_is_read_whatever_its_case(self, header: str) -> None:
        server = ScriptedHcx(header=header).on("GET", f"{API}/jobs/j-1", (200, JOB))
        assert client_for(server).get_job("j-1").job_id == "j-1"
        assert server.calls("GET", f"{API}/jobs/j-1")[0].headers["x-hm-authorization"] == "token-1"

    def test_a_202_login_is_accepted(self) -> None:
        server = ScriptedHcx()
        server.login_answer = (202, "{}", {"x-hm-authorization": "accepted-token"})
        server.tokens.add("accepted-token")
        server.on("GET", f"{API}/jobs/j-1", (200, JOB))
        assert client_for(server).get_job("j-1").job_id == "j-1"

    def test_login_happens_once_and_lazily(self) -> None:
        server = ScriptedHcx().on("GET", f"{API}/jobs/j-1", (200, JOB))
        client = client_for(server)
        assert server.requests == []
        client.get_job("j-1")
        client.get_job("j-1")
        assert client.logins == 1

    def test_wrong_credentials_are_an_auth_error_that_names_the_user_not_the_password(self) -> None:
        server = ScriptedHcx()
        with pytest.raises(HcxAuthError) as caught:
            client_for(server, password="wrong-" + PASSWORD).login()
        assert "cloudadmin@vsphere.local" in str(caught.value)
        assert PASSWORD not in str(caught.value)

    def test_a_login_without_a_token_is_a_protocol_error(self) -> None:
        from shared.hcx import HcxProtocolError

        server = ScriptedHcx()
        server.login_answer = (200, "{}")
        with pytest.raises(HcxProtocolError):
            client_for(server).login()


class TestRelogin:
    def test_an_expired_token_is_replaced_once_and_the_call_repeated(self) -> None:
        server = ScriptedHcx().on("GET", f"{API}/jobs/j-1", (200, JOB))
        client = client_for(server)
        client.get_job("j-1")
        server.expire_tokens()
        assert client.get_job("j-1").job_id == "j-1"
        assert client.logins == 2
        assert len(server.calls("GET", f"{API}/jobs/j-1")) == 3  # ok, 401, ok

    def test_a_401_after_logging_in_again_is_an_auth_error_not_a_loop(self) -> None:
        server = ScriptedHcx().on("GET", f"{API}/jobs/j-1", (401, {}))
        server.routes[f"GET {API}/jobs/j-1"].append((401, {}))  # every answer is 401
        client = client_for(server)
        with pytest.raises(HcxAuthError):
            client.get_job("j-1")
        assert client.logins == 2

    def test_a_start_is_repeated_after_a_401_because_hcx_did_not_act_on_it(self) -> None:
        server = ScriptedHcx().on(
            "POST", f"{API}/mobility/migrations/start", (202, fixture("s7.3-start.json"))
        )
        client = client_for(server)
        client.login()
        server.expire_tokens()
        [started] = client.start_migrations([{}])
        assert started.ok
        assert len(server.calls("POST", f"{API}/mobility/migrations/start")) == 2


class TestRetries:
    def test_reads_are_retried_on_5xx_with_jittered_exponential_backoff(self) -> None:
        server = ScriptedHcx().on("GET", f"{API}/jobs/j-1", (503, {}), (502, {}), (500, {}), (200, JOB))
        sleeps = Sleeps()
        assert client_for(server, sleeps=sleeps).get_job("j-1").job_id == "j-1"
        assert len(sleeps) == 3
        for retry, pause in enumerate(sleeps):
            assert 0 <= pause <= min(8.0, 0.5 * 2**retry)
        assert len(set(sleeps)) == 3  # jitter: not a fixed schedule

    def test_retry_after_is_honoured(self) -> None:
        server = ScriptedHcx().on("GET", f"{API}/jobs/j-1", (503, {}, {"Retry-After": "5"}), (200, JOB))
        sleeps = Sleeps()
        client_for(server, sleeps=sleeps).get_job("j-1")
        assert sleeps == [5.0]

    def test_reads_give_up_after_the_attempts_with_a_retryable_error(self) -> None:
        server = ScriptedHcx().on("GET", f"{API}/jobs/j-1", (503, {"errors": [{"message": "restarting"}]}))
        sleeps = Sleeps()
        with pytest.raises(HcxUnavailable, match="restarting") as caught:
            client_for(server, sleeps=sleeps).get_job("j-1")
        assert caught.value.retryable
        assert caught.value.status == 503
        assert len(server.calls("GET", f"{API}/jobs/j-1")) == 4  # first try + 3 retries

    def test_read_posts_like_queries_and_validation_are_retried(self) -> None:
        server = ScriptedHcx()
        server.on(
            "POST", f"{API}/migrations?action=query", (504, {}), (200, fixture("s7.4-query-migrations.json"))
        )
        server.on(
            "POST",
            f"{API}/mobility/migrations/validate",
            (500, {}),
            (202, fixture("s7.2-validate-accepted.json")),
        )
        client = client_for(server)
        assert len(client.query_migrations()) == 1
        assert len(client.validate_migrations([{}, {}])) == 2

    @pytest.mark.parametrize(
        ("method", "path", "call"),
        [
            ("POST", f"{API}/mobility/migrations/start", lambda c: c.start_migrations([{}])),
            ("POST", f"{API}/l2Extensions", lambda c: c.create_l2_extension({})),
            ("POST", f"{API}/cloudConfigs", lambda c: c.create_cloud_config("https://r", credentials("x"))),
        ],
    )
    def test_calls_that_create_are_never_repeated_on_5xx(self, method: str, path: str, call: object) -> None:
        server = ScriptedHcx().on(method, path, (503, {}), (202, {}))
        sleeps = Sleeps()
        with pytest.raises(HcxUnavailable):
            call(client_for(server, sleeps=sleeps))  # type: ignore[operator]
        assert len(server.calls(method, path)) == 1
        assert sleeps == []

    def test_a_read_timeout_is_retried_for_reads_and_raised_for_starts(self) -> None:
        attempts: dict[str, int] = {"GET": 0, "POST": 0}

        def handler(request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/sessions"):
                return httpx.Response(200, headers={"x-hm-authorization": "t"})
            attempts[request.method] += 1
            raise httpx.ReadTimeout("slow", request=request)

        from shared.hcx import HcxClient

        client = HcxClient(
            URL,
            credentials(),
            transport=httpx.MockTransport(handler),
            retry=RetryPolicy(attempts=2, sleep=Sleeps(), rng=random.Random(1)),
        )
        with pytest.raises(HcxTimeout):
            client.get_job("j-1")
        with pytest.raises(HcxTimeout):
            client.start_migrations([{}])
        assert attempts == {"GET": 3, "POST": 1}

    def test_a_connection_failure_is_retried_even_for_a_start_because_nothing_was_sent(self) -> None:
        calls = {"n": 0}

        def handler(request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/sessions"):
                return httpx.Response(200, headers={"x-hm-authorization": "t"})
            calls["n"] += 1
            if calls["n"] == 1:
                raise httpx.ConnectError("refused", request=request)
            return httpx.Response(202, json=fixture("s7.3-start.json"))

        from shared.hcx import HcxClient

        client = HcxClient(
            URL, credentials(), transport=httpx.MockTransport(handler), retry=RetryPolicy(sleep=Sleeps())
        )
        assert client.start_migrations([{}])[0].ok
        assert calls["n"] == 2


class TestErrors:
    def test_status_codes_map_to_the_error_tree(self) -> None:
        server = ScriptedHcx()
        server.on(
            "GET", f"{API}/jobs/missing", (404, {"errors": [{"code": "NOT_FOUND", "message": "no job"}]})
        )
        server.on(
            "POST", f"{API}/l2Extensions", (409, {"errors": [{"message": "VLAN100 is already extended"}]})
        )
        server.on("POST", f"{API}/mobility/migrations/validate", (400, {"errors": [{"message": "bad body"}]}))
        client = client_for(server)
        with pytest.raises(HcxNotFound, match="no job"):
            client.get_job("missing")
        with pytest.raises(HcxConflict, match="already extended"):
            client.create_l2_extension({})
        with pytest.raises(HcxValidationError, match="bad body"):
            client.validate_migrations([{}])

    def test_messages_under_data_and_items_are_found(self) -> None:
        server = ScriptedHcx().on(
            "GET", f"{API}/jobs/x", (400, {"data": {"errors": [{"code": "E1", "text": "deep"}]}})
        )
        with pytest.raises(HcxValidationError) as caught:
            client_for(server).get_job("x")
        assert [(e.code, e.message) for e in caught.value.errors] == [("E1", "deep")]

    def test_deleting_a_pairing_that_is_gone_is_not_an_error(self) -> None:
        server = ScriptedHcx()
        assert client_for(server).delete_endpoint_pairing("gone") is False


class TestSecrets:
    def test_repr_shows_url_and_user_only(self) -> None:
        client = client_for(ScriptedHcx())
        assert repr(client) == "HcxClient(url='https://hcx.source.example', user='cloudadmin@vsphere.local')"
        assert PASSWORD not in repr(client.__dict__)

    def test_a_remote_password_echoed_by_hcx_is_redacted_from_errors(self) -> None:
        remote = "Remote-Pa55-Word"
        echo = {"success": False, "errors": [{"error": "Login failure", "text": f"bad password {remote}"}]}
        server = ScriptedHcx().on("POST", f"{API}/cloudConfigs", (200, echo))
        with pytest.raises(HcxPairingError) as caught:
            client_for(server).create_cloud_config("https://r", credentials(remote))
        assert remote not in str(caught.value)
        assert "**********" in str(caught.value)

    def test_logs_never_hold_the_password_or_the_token(self, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG)
        server = ScriptedHcx().on("GET", f"{API}/jobs/j-1", (503, {}), (200, JOB))
        client = client_for(server)
        client.get_job("j-1")
        server.expire_tokens()
        client.get_job("j-1")
        text = caplog.text
        assert "logged in to HCX Manager" in text
        assert PASSWORD not in text
        assert "token-1" not in text
        assert "token-2" not in text


class TestPairing:
    def test_an_existing_pairing_is_returned_without_creating_another(self) -> None:
        server = ScriptedHcx().on("GET", f"{API}/cloudConfigs", (200, fixture("s4.3-cloud-configs.json")))
        result = client_for(server).pair_site("https://hcx-cloud.example.com/", credentials("r"), [])
        assert result.existing is not None
        assert result.job_id is None
        assert server.calls("POST", f"{API}/cloudConfigs") == []

    def test_a_pinned_certificate_is_imported_and_the_pairing_retried(self) -> None:
        server = ScriptedHcx().on("GET", f"{API}/cloudConfigs", (200, {"data": {"items": []}}))
        server.on("POST", f"{API}/cloudConfigs", (200, UNTRUSTED), (200, STARTED))
        server.on("POST", f"{API}/admin/certificates", (200, {"success": True, "completed": True}))
        pin = format_fingerprint(fingerprint(REMOTE_PEM))  # the "AB:CD:…" form works as well
        result = client_for(server).pair_site("https://hcx-cloud.example.com", credentials("r"), [pin])
        assert result.job_id == "6a0e4d2c-7f3b-4c1e-8d9a-0b1c2d3e4f5a"
        assert result.imported_fingerprint == fingerprint(REMOTE_PEM)
        [imported] = server.calls("POST", f"{API}/admin/certificates")
        assert REMOTE_PEM.split("\n")[1].encode() in imported.content
        assert len(server.calls("POST", f"{API}/cloudConfigs")) == 2

    @pytest.mark.parametrize(("pins", "pinned"), [([], False), (["ab" * 32], True)])
    def test_an_unpinned_certificate_stops_the_pairing_with_its_fingerprint(
        self, pins: list[str], pinned: bool
    ) -> None:
        server = ScriptedHcx().on("GET", f"{API}/cloudConfigs", (200, {"data": {"items": []}}))
        server.on("POST", f"{API}/cloudConfigs", (200, UNTRUSTED))
        with pytest.raises(HcxCertificateUntrusted) as caught:
            client_for(server).pair_site("https://hcx-cloud.example.com", credentials("r"), pins)
        assert caught.value.fingerprint == fingerprint(REMOTE_PEM)
        assert caught.value.pinned is pinned
        assert server.calls("POST", f"{API}/admin/certificates") == []
        found = caught.value.to_finding()
        assert found.code == ("HCX_CERTIFICATE_PIN_MISMATCH" if pinned else "HCX_CERTIFICATE_NOT_PINNED")
        assert format_fingerprint(fingerprint(REMOTE_PEM)) in found.message
        assert found.details["fingerprint"] == fingerprint(REMOTE_PEM)
        assert found.resource == "https://hcx-cloud.example.com"
        assert "BEGIN CERTIFICATE" not in found.model_dump_json()

    def test_a_conflict_means_someone_paired_meanwhile(self) -> None:
        server = ScriptedHcx().on(
            "GET",
            f"{API}/cloudConfigs",
            (200, {"data": {"items": []}}),
            (200, fixture("s4.3-cloud-configs.json")),
        )
        server.on("POST", f"{API}/cloudConfigs", (409, {"errors": [{"message": "already paired"}]}))
        result = client_for(server).pair_site("https://hcx-cloud.example.com", credentials("r"), [])
        assert result.existing is not None
        assert result.existing.endpoint_id.startswith("20250522180456277")


class TestPaging:
    def test_virtual_machines_are_read_page_by_page(self) -> None:
        def page(start: int, count: int, total: int) -> dict[str, object]:
            vms = [
                {"entityId": f"vm-{i}", "name": f"app{i:04}", "powerState": "poweredOn"}
                for i in range(start, start + count)
            ]
            return {"data": {"items": vms, "paging": {"totalCount": total}}}

        server = ScriptedHcx().on(
            "POST",
            f"{API}/service/inventory/virtualmachines",
            (200, page(0, 2, 5)),
            (200, page(2, 2, 5)),
            (200, page(4, 1, 5)),
        )
        vms = client_for(server).virtual_machines("e-1", page_size=2)
        assert [vm.name for vm in vms] == ["app0000", "app0001", "app0002", "app0003", "app0004"]
        assert all(vm.powered_on for vm in vms)
        skips = [b'"skipCount":0', b'"skipCount":2', b'"skipCount":4']
        sent = server.calls("POST", f"{API}/service/inventory/virtualmachines")
        assert [s in r.content for s, r in zip(skips, sent, strict=True)] == [True] * 3

    def test_migrations_are_queried_page_by_page(self) -> None:
        item = fixture("s7.4-query-migrations.json")["data"]["items"][0]

        def page(ids: list[str], total: int) -> dict[str, object]:
            return {
                "data": {"items": [dict(item, migrationId=i) for i in ids], "paging": {"totalSize": total}}
            }

        server = ScriptedHcx().on(
            "POST", f"{API}/migrations?action=query", (200, page(["a", "b"], 3)), (200, page(["c"], 3))
        )
        found = client_for(server).query_migrations(group_ids=["g"], page_size=2)
        assert [m.migration_id for m in found] == ["a", "b", "c"]

    def test_cancel_sends_the_documented_body(self) -> None:
        server = ScriptedHcx().on("POST", f"{API}/migrations?action=cancel", (200, {"items": []}))
        client_for(server).cancel_migrations(["m-1", "m-2"])
        [sent] = server.calls("POST", f"{API}/migrations?action=cancel")
        assert sent.content == b'{"migrationIds":["m-1","m-2"]}'


class TestMigrationItem:
    def spec(self, **changes: object) -> MigrationSpec:
        values: dict[str, object] = {
            "type": "bulk",
            "vm_id": "vm-1",
            "vm_name": "app01",
            "source": SiteRef(endpoint_id="e-src", resource_id="vc-src"),
            "destination": SiteRef(endpoint_id="e-dst", resource_id="vc-dst"),
            "datastore": PlacementRef(id="datastore-15", name="vsanDatastore", type="Datastore"),
            "window_start": datetime(2026, 1, 10, 22, tzinfo=UTC),
            "window_end": datetime(2026, 1, 11, 4, tzinfo=UTC),
        }
        values.update(changes)
        return MigrationSpec.model_validate(values)

    @pytest.mark.parametrize(
        ("kind", "wire"),
        [
            ("bulk", ("vSphereReplication", "vSphereReplication", "vSphereReplication")),
            ("rav", ("RAV", "vSphereReplication", "RAV")),
            ("vmotion", ("vMotion", "NO_OP", "vMotion")),
            ("cold", ("ColdMigration", "NO_OP", "ColdMigration")),
        ],
    )
    def test_each_plan_type_maps_to_hcx_wire_types(self, kind: str, wire: tuple[str, str, str]) -> None:
        item = migration_item(self.spec(type=kind))
        assert (
            item["migrationType"],
            item["transferParams"]["transferType"],
            item["switchoverParams"]["switchoverType"],
        ) == wire

    def test_the_window_is_sent_in_epoch_milliseconds_and_seed_checkpoint_only_for_replication(self) -> None:
        bulk = migration_item(self.spec())
        assert bulk["switchoverParams"]["schedule"] == {
            "startTime": 1768082400000,
            "expiryTime": 1768104000000,
        }
        assert bulk["transferParams"]["longRecovery"] is True
        assert bulk["storage"]["defaultStorage"]["diskProvisionType"] == "sameAsSource"
        vmotion = migration_item(self.spec(type="vmotion", window_start=None, window_end=None))
        assert vmotion["switchoverParams"]["schedule"] == {"startTime": 0, "expiryTime": 0}
        assert vmotion["transferParams"]["longRecovery"] is False
