"""CloudEvents: their shape, and delivery to an Event Grid topic, webhooks or the log (real local TLS)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from shared.events import TYPES, cloud_event, deliver, finding_raised, phase_changed, subject
from shared.findings import finding
from tests.app.recorder import Recorder
from tests.shared.tls_servers import TestCA

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class FakeToken:
    """A credential whose token the test can look for on the wire (never a real one)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("event-grid-test-token", int(time.time()) + 3600)


@pytest.fixture
def ca_file(tmp_path: Path) -> tuple[TestCA, Path]:
    ca = TestCA()
    path = tmp_path / "ca.pem"
    path.write_text(ca.pem)
    return ca, path


@pytest.fixture
def recorder(ca_file: tuple[TestCA, Path], tmp_path: Path) -> Iterator[Recorder]:
    server = Recorder(ca_file[0], tmp_path)
    yield server
    server.close()


def events() -> list[dict[str, Any]]:
    found = finding("VM_NOT_FOUND_AT_SOURCE", "VM 'ghost' is not there", resource="/waves/0/vms/0")
    return [
        phase_changed("weu", "pairing", "preflight", event_id="e-1", time=NOW, detail="pairing"),
        finding_raised("weu", found, event_id="e-2", time=NOW),
    ]


def test_events_are_cloudevents_with_the_documented_types_and_subjects() -> None:
    phase, raised = events()
    assert phase == {
        "specversion": "1.0",
        "id": "e-1",
        "source": "/hcx-conductor",
        "type": "HcxConductor.MigrationPhaseChanged",
        "subject": "migrations/weu",
        "time": "2026-01-05T09:00:00Z",
        "datacontenttype": "application/json",
        "data": {
            "migration_id": "weu",
            "phase": "pairing",
            "previous_phase": "preflight",
            "detail": "pairing",
        },
    }
    assert raised["data"]["finding"]["code"] == "VM_NOT_FOUND_AT_SOURCE"
    assert subject("weu", "web", "web-01") == "migrations/weu/waves/web/vms/web-01"
    assert {t.removeprefix("HcxConductor.") for t in TYPES} >= {"WaveStarted", "VmMigrated", "ApprovalNeeded"}


def test_an_unknown_event_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        cloud_event("SomethingElse", "weu", event_id="x", time=NOW, data={})


def test_without_a_topic_events_go_to_the_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hcx_conductor.events")
    result = deliver(events(), environ={})
    assert (result.sent, result.failed, result.logged) == ([], [], 2)
    logged = [json.loads(r.getMessage().removeprefix("event ")) for r in caplog.records]
    assert [e["id"] for e in logged] == ["e-1", "e-2"]


def test_events_go_to_the_event_grid_topic_with_the_apps_identity(
    recorder: Recorder, ca_file: tuple[TestCA, Path], caplog: pytest.LogCaptureFixture
) -> None:
    environ = {"EVENTGRID_TOPIC_ENDPOINT": f"{recorder.url}/api/events", "EVENTS_CA_BUNDLE": str(ca_file[1])}
    result = deliver(events(), environ=environ, credential=FakeToken())
    assert result.sent == [f"topic:{recorder.url.removeprefix('https://')}"]
    assert result.logged == 0
    [request] = recorder.requests
    assert request["path"].startswith("/api/events")
    assert request["headers"]["Authorization"] == "Bearer event-grid-test-token"
    sent = json.loads(request["body"])
    assert [(e["id"], e["type"]) for e in sent] == [
        ("e-1", "HcxConductor.MigrationPhaseChanged"),
        ("e-2", "HcxConductor.FindingRaised"),
    ]


def test_webhooks_get_a_cloudevents_batch_and_their_url_never_shows(
    recorder: Recorder, ca_file: tuple[TestCA, Path], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_url = f"{recorder.url}/hook/sig-0123456789abcdef"
    environ = {"OPS_HOOK": secret_url, "EVENTS_CA_BUNDLE": str(ca_file[1])}
    hooks = [{"name": "ops", "url_setting": "OPS_HOOK"}, {"name": "missing", "url_setting": "NOT_SET"}]
    result = deliver(events(), webhooks=hooks, environ=environ)
    assert (result.sent, result.failed) == (["webhook:ops"], ["webhook:missing"])
    [request] = recorder.requests
    assert request["headers"]["Content-Type"].startswith("application/cloudevents-batch+json")
    assert [e["id"] for e in json.loads(request["body"])] == ["e-1", "e-2"]
    assert "sig-0123456789abcdef" not in caplog.text


def test_a_failing_destination_is_reported_not_raised(
    ca_file: tuple[TestCA, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    failing = Recorder(ca_file[0], tmp_path, status=500)
    try:
        environ = {"HOOK": f"{failing.url}/sig-secret", "EVENTS_CA_BUNDLE": str(ca_file[1])}
        result = deliver(events(), webhooks=[{"name": "ops", "url_setting": "HOOK"}], environ=environ)
    finally:
        failing.close()
    assert result.failed == ["webhook:ops"]
    assert "sig-secret" not in caplog.text


def test_tls_is_verified_for_webhooks(recorder: Recorder, caplog: pytest.LogCaptureFixture) -> None:
    # Without the CA bundle the test server's certificate is untrusted: the delivery fails.
    result = deliver(
        events(), webhooks=[{"name": "ops", "url_setting": "HOOK"}], environ={"HOOK": recorder.url}
    )
    assert result.failed == ["webhook:ops"]
    assert recorder.requests == []
