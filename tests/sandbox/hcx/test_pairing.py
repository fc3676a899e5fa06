"""Site pairing over TLS: the certificate-trust step, login failure, the pairing job, unpairing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from sandbox.core.tls import fingerprint
from sandbox.hcx.ids import endpoint_id

from .conftest import Env, Served

UNPAIRED: dict[str, Any] = {"paired": False}


def pair(
    served: Served, client: httpx.Client, url: str | None = None, password: str | None = None
) -> httpx.Response:
    creds = served.env.world.credentials["destination"]
    remote = {
        "url": url or served.urls["destination"],
        "username": creds.username,
        "password": password or creds.password,
    }
    return client.post("/hybridity/api/cloudConfigs", json={"remote": remote})


def trust_and_pair(served: Served, client: httpx.Client) -> str:
    refused = pair(served, client).json()
    if refused.get("success") is False:
        pem = refused["errors"][0]["data"][0]["certificate"]
        assert client.post("/hybridity/api/admin/certificates", json={"certificate": pem}).json()["success"]
    response = pair(served, client)
    assert response.json()["success"] is True, response.text
    return str(response.json()["data"]["jobId"])


def test_an_untrusted_remote_certificate_comes_back_in_a_200_refusal(
    make_served: Callable[..., Served],
) -> None:
    served = make_served(**UNPAIRED)
    response = pair(served, served.login())
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False
    error = body["errors"][0]
    assert error["error"] != "Login failure"
    assert error["data"][0]["certificate"] == served.certificates["destination"]


def test_importing_the_certificate_lets_the_retry_start_a_pairing_job(
    make_served: Callable[..., Served],
) -> None:
    served = make_served(**UNPAIRED)
    client = served.login()
    pem = pair(served, client).json()["errors"][0]["data"][0]["certificate"]
    imported = client.post("/hybridity/api/admin/certificates", json={"certificate": pem})
    assert imported.status_code == 200
    assert imported.json()["success"] is True
    assert imported.json()["completed"] is True
    assert imported.json()["data"]["items"][0]["thumbprint"] == fingerprint(pem)
    retry = pair(served, client).json()
    assert retry["success"] is True
    assert retry["data"]["jobId"]


def test_the_pairing_job_takes_the_pairing_delay_and_then_names_the_endpoint(
    make_served: Callable[..., Served],
) -> None:
    served = make_served(paired=False, faults={"pairing_delay_minutes": 4})
    client = served.login()
    job_id = trust_and_pair(served, client)
    job = client.get(f"/hybridity/api/jobs/{job_id}").json()
    assert (job["isDone"], job["didFail"], job["percentComplete"]) == (False, False, 0)
    assert "endpoint" not in job["jobData"]
    served.env.advance(minutes=2)
    assert client.get(f"/hybridity/api/jobs/{job_id}").json()["percentComplete"] == 50
    assert client.get("/hybridity/api/cloudConfigs").json()["data"]["items"] == []
    served.env.advance(minutes=2)
    job = client.get(f"/hybridity/api/jobs/{job_id}").json()
    assert (job["isDone"], job["didFail"], job["percentComplete"]) == (True, False, 100)
    destination = endpoint_id(served.env.world, "destination")
    assert job["jobData"]["endpoint"]["endpointId"] == destination
    assert job["endTime"] - job["startTime"] == 4 * 60 * 1000
    items = client.get("/hybridity/api/cloudConfigs").json()["data"]["items"]
    assert [(i["endpointId"], i["url"]) for i in items] == [(destination, served.urls["destination"])]


def test_the_pairing_url_is_stored_without_a_trailing_slash(make_served: Callable[..., Served]) -> None:
    served = make_served(paired=False, faults={"pairing_delay_minutes": 0})
    client = served.login()
    pem = served.certificates["destination"]
    client.post("/hybridity/api/admin/certificates", json={"certificate": pem})
    assert pair(served, client, url=served.urls["destination"] + "/").json()["success"]
    served.env.advance(seconds=1)
    assert (
        client.get("/hybridity/api/cloudConfigs").json()["data"]["items"][0]["url"]
        == served.urls["destination"]
    )


def test_wrong_remote_credentials_are_a_login_failure(make_served: Callable[..., Served]) -> None:
    served = make_served(**UNPAIRED)
    client = served.login()
    client.post("/hybridity/api/admin/certificates", json={"certificate": served.certificates["destination"]})
    body = pair(served, client, password="wrong").json()
    assert body["success"] is False
    assert body["errors"][0]["error"] == "Login failure"
    assert "wrong" not in body["errors"][0]["text"]


def test_managers_whose_certificates_the_sandbox_ca_issued_trust_each_other(
    make_served: Callable[..., Served],
) -> None:
    served = make_served(
        paired=False,
        source={"hcx": {"certificate": "sandbox-ca"}},
        destination={"hcx": {"certificate": "sandbox-ca"}},
    )
    assert pair(served, served.login()).json()["success"] is True


def test_pairing_clouds_without_a_network_path_fails_the_job(make_served: Callable[..., Served]) -> None:
    served = make_served(
        paired=False, connectivity={"interconnect": False}, faults={"pairing_delay_minutes": 1}
    )
    client = served.login()
    job_id = trust_and_pair(served, client)
    served.env.advance(minutes=1)
    job = client.get(f"/hybridity/api/jobs/{job_id}").json()
    assert job["isDone"]
    assert job["didFail"]
    assert "Interconnect" in job["errorMessage"]
    assert client.get("/hybridity/api/cloudConfigs").json()["data"]["items"] == []


def test_pairing_twice_returns_the_existing_pairing(served: Served) -> None:
    client = served.login()
    job_id = trust_and_pair(served, client)
    job = client.get(f"/hybridity/api/jobs/{job_id}").json()
    assert job["isDone"] is True
    assert job["jobData"]["endpoint"]["endpointId"] == endpoint_id(served.env.world, "destination")
    assert len(client.get("/hybridity/api/cloudConfigs").json()["data"]["items"]) == 1


def test_the_avs_host_name_of_the_remote_manager_resolves_too(make_served: Callable[..., Served]) -> None:
    served = make_served(**UNPAIRED)
    host = served.env.world.hcx_host("destination")
    body = pair(served, served.login(), url=f"https://{host}").json()
    assert body["errors"][0]["data"][0]["certificate"] == served.certificates["destination"]


def test_an_unknown_url_is_refused_as_unreachable(served: Served) -> None:
    body = pair(served, served.login(), url="https://hcx.nowhere.example").json()
    assert body["success"] is False
    assert body["errors"][0]["error"] == "Unable to connect"


def test_pairing_with_itself_is_a_400(served: Served) -> None:
    response = pair(served, served.login(), url=served.urls["source"])
    assert response.status_code == 400
    assert "remote.url" in response.json()["errors"][0]["message"]


def test_a_body_not_wrapped_in_remote_is_a_400_naming_remote(served: Served) -> None:
    response = served.login().post("/hybridity/api/cloudConfigs", json={"url": served.urls["destination"]})
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith("remote:")


def test_importing_something_that_is_not_a_certificate_is_a_400(served: Served) -> None:
    response = served.login().post("/hybridity/api/admin/certificates", json={"certificate": "hello"})
    assert response.status_code == 400
    assert "certificate" in response.json()["errors"][0]["message"]


def test_unpairing_is_asynchronous_and_then_the_pairing_is_gone(served: Served) -> None:
    client = served.login()
    destination = endpoint_id(served.env.world, "destination")
    response = client.delete(f"/hybridity/api/endpointPairing/{destination}")
    assert response.status_code == 200
    assert response.json()["data"]["endpoints"][0]["endpointId"] == destination
    assert len(client.get("/hybridity/api/cloudConfigs").json()["data"]["items"]) == 1
    served.env.advance(minutes=1)
    assert client.get("/hybridity/api/cloudConfigs").json()["data"]["items"] == []
    assert client.delete(f"/hybridity/api/endpointPairing/{destination}").status_code == 404


def test_unpairing_is_refused_while_a_migration_uses_the_pairing(served: Served) -> None:
    env: Env = served.env
    env.start(env.item("app01"))
    response = served.login().delete(
        f"/hybridity/api/endpointPairing/{endpoint_id(env.world, 'destination')}"
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "PAIRING_IN_USE"


def test_an_unknown_job_is_404(served: Served) -> None:
    assert served.login().get("/hybridity/api/jobs/no-such-job").status_code == 404


def test_a_remote_cloud_without_hcx_is_unreachable(make_served: Callable[..., Served]) -> None:
    served = make_served(paired=False, destination={"hcx": {"addon": "none"}})
    body = pair(served, served.login()).json()
    assert body["success"] is False
    assert body["errors"][0]["error"] == "Unable to connect"
    assert "not installed" in body["errors"][0]["text"]
