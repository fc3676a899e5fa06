"""The assembled Sandbox: lifecycle, addresses, trust, introspection, and ARM and HCX in one world."""

from __future__ import annotations

import json
import re
import socket
import ssl
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from runtime.clock import AcceleratedClock, VirtualClock
from sandbox.avs.bodies import AddonBody, parse_body
from sandbox.core import tls
from sandbox.core.faults import FaultRule
from sandbox.core.scenario import Scenario, load_scenario
from sandbox.core.world import SIDES, Side
from sandbox.sandbox import Sandbox, SandboxNotStarted


def _trusting_ca(sb: Sandbox) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=sb.ca_path)


def _introspect(sb: Sandbox) -> httpx.Client:
    return httpx.Client(base_url=sb.arm_url + "_sandbox/", verify=_trusting_ca(sb), timeout=10)


def _login(sb: Sandbox, side: Side) -> httpx.Response:
    creds = sb.world.credentials[side]
    with httpx.Client(verify=tls.client_ssl_context(sb.hcx_certificate_pem(side)), timeout=10) as client:
        return client.post(
            sb.hcx_url(side) + "/hybridity/api/sessions",
            json={"username": creds.username, "password": creds.password},
        )


def _served_fingerprint(url: str) -> str:
    host, port = url.removeprefix("https://").split(":")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only to read the certificate presented; nothing is sent
    with socket.create_connection((host, int(port))) as raw, context.wrap_socket(raw) as conn:
        der = conn.getpeercert(binary_form=True)
    assert der is not None
    return tls.fingerprint(ssl.DER_cert_to_PEM_cert(der))


def test_start_and_stop_leave_no_thread_and_no_temporary_files(scenario: Scenario) -> None:
    before = set(threading.enumerate())
    sb = Sandbox(scenario, clock=VirtualClock(scenario.start))
    with pytest.raises(SandboxNotStarted):
        _ = sb.arm_url
    with sb:
        state = Path(sb.state_dir)
        assert sorted(p.name for p in state.iterdir()) == [
            "ca.pem",
            "hcx-destination.pem",
            "hcx-source.pem",
            "sandbox.json",
        ]
        assert sb.arm_url.startswith("https://127.0.0.1:")
        assert sb.arm_url.endswith("/")
    assert not state.exists()
    assert set(threading.enumerate()) == before
    with pytest.raises(SandboxNotStarted):
        sb.hcx_url("source")


def test_a_state_dir_keeps_the_public_material_and_never_a_key(scenario: Scenario, tmp_path: Path) -> None:
    with Sandbox(scenario, clock=VirtualClock(scenario.start), state_dir=tmp_path) as sb:
        described = json.loads((tmp_path / "sandbox.json").read_text())
        assert described["arm_endpoint"] == sb.arm_url
        assert described["clouds"]["destination"]["hcx_fingerprint_sha256"] == sb.hcx_fingerprint(
            "destination"
        )
    assert (tmp_path / "ca.pem").exists()
    everything = "".join(p.read_text() for p in tmp_path.iterdir())
    assert "PRIVATE KEY" not in everything
    assert sb.token not in everything
    assert sb.world.credentials["source"].password not in everything


def test_app_settings_point_the_app_at_this_sandbox(sandbox: Sandbox) -> None:
    settings = sandbox.app_settings()
    assert settings == {
        "AVS_ARM_ENDPOINT": sandbox.arm_url,
        "AVS_CA_BUNDLE": sandbox.ca_path,
        "AVS_STATIC_TOKEN": sandbox.token,
        "HCX_CA_BUNDLE": sandbox.ca_path,
    }
    assert Path(settings["AVS_CA_BUNDLE"]).read_text() == sandbox.ca.certificate.pem


def test_hcx_managers_present_the_pinned_self_signed_certificate(sandbox: Sandbox) -> None:
    for side in SIDES:
        url = sandbox.hcx_url(side)
        assert _served_fingerprint(url) == sandbox.hcx_fingerprint(side)
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(url + "/hybridity/api/cloudConfigs", verify=_trusting_ca(sandbox))


def test_a_sandbox_ca_manager_is_trusted_through_the_ca_bundle(
    make_scenario: Callable[..., Scenario],
) -> None:
    scenario = make_scenario(destination={"hcx": {"addon": "enterprise", "certificate": "sandbox-ca"}})
    with Sandbox(scenario, clock=VirtualClock(scenario.start)) as sb:
        response = httpx.post(
            sb.hcx_url("destination") + "/hybridity/api/sessions",
            json={"username": "nobody", "password": "wrong"},
            verify=_trusting_ca(sb),
        )
        assert response.status_code == 401


def test_installing_the_addon_through_arm_brings_the_destination_manager_up(
    sandbox: Sandbox, clock: VirtualClock
) -> None:
    down = _login(sandbox, "destination")
    assert down.status_code == 503
    assert down.json()["errors"][0]["code"] == "SERVICE_UNAVAILABLE"
    body = {"properties": {"addonType": "HCX", "offer": "VMware MaaS Cloud Provider (Enterprise)"}}
    sandbox.arm.create_or_update_addon("rg-dst", "pc-dst", "hcx", parse_body(AddonBody, body))
    clock.advance(timedelta(minutes=10))
    up = _login(sandbox, "destination")
    assert up.status_code == 200
    assert up.headers["x-hm-authorization"]


def test_an_hcx_outage_answers_503_for_its_simulated_minutes(make_scenario: Callable[..., Scenario]) -> None:
    scenario = make_scenario(faults={"hcx_outages": [{"manager": "source", "at_minute": 10, "minutes": 6}]})
    clock = VirtualClock(scenario.start)
    with Sandbox(scenario, clock=clock) as sb:
        assert _login(sb, "source").status_code == 200
        clock.advance(timedelta(minutes=11))
        during = _login(sb, "source")
        assert during.status_code == 503
        assert during.json()["errors"][0]["code"] == "SERVICE_UNAVAILABLE"
        clock.advance(timedelta(minutes=5))
        assert _login(sb, "source").status_code == 200
        stats = sb.stats()
        assert stats["faults"] == {"hcx:source": {"outage": 1}}
        assert stats["requests"]["hcx:source"]["POST /hybridity/api/sessions"] == 3


def test_an_hcx_error_rate_comes_from_the_scenario_and_is_counted(
    make_scenario: Callable[..., Scenario],
) -> None:
    scenario = make_scenario(faults={"hcx_5xx_rate": 1.0})
    with Sandbox(scenario, clock=VirtualClock(scenario.start)) as sb:
        assert [_login(sb, "source").status_code for _ in range(3)] == [503, 503, 503]
        assert sb.stats()["faults"]["hcx:source"] == {"5xx": 3}
        sb.faults.clear()
        assert _login(sb, "source").status_code == 200


def test_stats_over_http_match_the_in_process_view(sandbox: Sandbox) -> None:
    assert _login(sandbox, "source").status_code == 200
    sandbox.faults.add(FaultRule(server="arm", status=429, times=1, retry_after=1))
    with _introspect(sandbox) as client:
        served = client.get("stats").json()
    assert served == sandbox.stats()
    assert served["requests"] == {"hcx:source": {"POST /hybridity/api/sessions": 1}}
    assert served["now"] == sandbox.world.now().isoformat()
    assert set(served) == {"now", "requests", "faults", "migration_starts", "peaks", "counters"}


def test_the_clock_can_be_read_and_a_virtual_one_moved(sandbox: Sandbox, clock: VirtualClock) -> None:
    with _introspect(sandbox) as client:
        assert client.get("clock").json() == clock.spec()
        moved = client.post("clock", json={"advance_seconds": 3600})
        assert moved.status_code == 200
        assert clock.now() == sandbox.scenario.start + timedelta(hours=1)
        assert client.post("clock", json={"advance_seconds": -1}).status_code == 400
        assert (
            client.post("clock", json={"advance_to": "2026-01-06T00:00:00+00:00"})
            .json()["now"]
            .startswith("2026-01-06")
        )


def test_an_accelerated_clock_cannot_be_moved_by_hand(scenario: Scenario) -> None:
    with Sandbox(scenario, clock=AcceleratedClock(scenario.start, 60)) as sb, _introspect(sb) as client:
        assert client.get("clock").json()["kind"] == "accelerated"
        assert client.post("clock", json={"advance_seconds": 5}).status_code == 409


def test_events_and_hcx_state_are_served(sandbox: Sandbox, clock: VirtualClock) -> None:
    body = {"properties": {"addonType": "HCX", "offer": "VMware MaaS Cloud Provider (Enterprise)"}}
    sandbox.arm.create_or_update_addon("rg-dst", "pc-dst", "hcx", parse_body(AddonBody, body))
    clock.advance(timedelta(minutes=10))
    with _introspect(sandbox) as client:
        events = client.get("events").json()
        kinds = [e["kind"] for e in events["events"] if e["source"] == "arm"]
        assert kinds[-2:] == ["addon.install_started", "addon.installed"]
        later = client.get("events", params={"since": events["total"] - 1}).json()
        assert len(later["events"]) == 1
        assert client.get("events", params={"since": "x"}).status_code == 400
        source = client.get("hcx/source").json()
        assert source["side"] == "source"
        assert source["edition"] == "enterprise"
        assert client.get("hcx/elsewhere").status_code == 404


def test_introspection_needs_no_bearer_but_arm_routes_do(sandbox: Sandbox) -> None:
    with _introspect(sandbox) as client:
        assert client.get("stats").status_code == 200
        assert (
            client.get(sandbox.arm_url + "subscriptions/x/providers/Microsoft.AVS/privateClouds").status_code
            == 401
        )


def test_the_documented_example_fingerprints_are_the_ones_served() -> None:
    """Plans pin these; a change to certificate derivation must show up in docs/sandbox.md too."""
    root = Path(__file__).resolve().parents[2]
    rows = re.findall(
        r"^\| ([a-z-]+) \| `([0-9A-F:]{95})` \| `([0-9A-F:]{95})` \|$",
        (root / "docs/sandbox.md").read_text(),
        re.M,
    )
    assert [name for name, _, _ in rows] == ["same-region", "cross-region", "large"]
    for name, source, destination in rows:
        sb = Sandbox(load_scenario(root / "examples" / "scenarios" / f"{name}.yaml"))
        assert (sb.hcx_fingerprint("source"), sb.hcx_fingerprint("destination")) == (source, destination)
