"""Sessions, authentication and availability, over TLS and directly."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sandbox.avs.bodies import AddonBody
from sandbox.hcx.exceptions import Unauthorized

from .conftest import Env, Served


def test_login_returns_the_token_in_the_x_hm_authorization_header(served: Served) -> None:
    creds = served.env.world.credentials["source"]
    response = served.clients["source"].post(
        "/hybridity/api/sessions", json={"username": creds.username, "password": creds.password}
    )
    assert response.status_code == 200
    token = response.headers["x-hm-authorization"]
    assert token
    assert token not in response.text
    listed = served.clients["source"].get(
        "/hybridity/api/cloudConfigs", headers={"X-HM-Authorization": token}
    )
    assert listed.status_code == 200


def test_wrong_password_is_401_and_the_message_names_no_secret(served: Served) -> None:
    creds = served.env.world.credentials["source"]
    response = served.clients["source"].post(
        "/hybridity/api/sessions", json={"username": creds.username, "password": "not-it"}
    )
    assert response.status_code == 401
    assert "x-hm-authorization" not in response.headers
    assert creds.password not in response.text


def test_the_other_clouds_credentials_do_not_open_this_manager(served: Served) -> None:
    other = served.env.world.credentials["destination"]
    response = served.clients["source"].post(
        "/hybridity/api/sessions", json={"username": other.username, "password": other.password}
    )
    assert response.status_code == 401


def test_a_malformed_login_body_is_400_naming_the_field(served: Served) -> None:
    response = served.clients["source"].post("/hybridity/api/sessions", json={"password": "x"})
    assert response.status_code == 400
    assert "username" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("token", [None, "made-up-token"])
def test_calls_without_a_known_token_are_401(served: Served, token: str | None) -> None:
    headers = {"x-hm-authorization": token} if token else {}
    response = served.clients["source"].get("/hybridity/api/interconnect/serviceMesh", headers=headers)
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_a_token_expires_after_the_scenarios_ttl_of_simulated_time(
    make_served: Callable[..., Served],
) -> None:
    served = make_served(faults={"token_ttl_minutes": 10})
    client = served.login()
    assert client.get("/hybridity/api/l2Extensions").status_code == 200
    served.env.advance(minutes=9, seconds=59)
    assert client.get("/hybridity/api/l2Extensions").status_code == 200
    served.env.advance(seconds=1)
    expired = client.get("/hybridity/api/l2Extensions")
    assert expired.status_code == 401
    assert "expired" in expired.json()["errors"][0]["message"]
    assert served.login().get("/hybridity/api/l2Extensions").status_code == 200


def test_every_route_answers_503_while_the_hcx_addon_is_not_installed(
    make_served: Callable[..., Served],
) -> None:
    served = make_served(source={"hcx": {"addon": "none"}})
    client = served.clients["source"]
    creds = served.env.world.credentials["source"]
    login = client.post(
        "/hybridity/api/sessions", json={"username": creds.username, "password": creds.password}
    )
    assert login.status_code == 503
    assert login.json()["errors"][0]["code"] == "SERVICE_UNAVAILABLE"
    assert client.get("/hybridity/api/cloudConfigs").status_code == 503
    # The other cloud's manager is unaffected.
    assert served.login("destination").get("/hybridity/api/cloudConfigs").status_code == 200


def test_unknown_routes_answer_a_json_404(served: Served) -> None:
    response = served.login().get("/hybridity/api/nothing-here")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "NOT_FOUND"


def test_backend_authenticate_rejects_tokens_after_expiry(make_env: Callable[..., Env]) -> None:
    env = make_env(faults={"token_ttl_minutes": 1})
    creds = env.world.credentials["source"]
    token = env.source.create_session(creds.username, creds.password)
    assert env.source.authenticate(token) == creds.username
    env.advance(minutes=1)
    with pytest.raises(Unauthorized):
        env.source.authenticate(token)


def test_login_events_never_carry_the_password_or_token(env: Env) -> None:
    creds = env.world.credentials["source"]
    token = env.source.create_session(creds.username, creds.password)
    text = repr(env.world.events)
    assert creds.password not in text
    assert token not in text


def test_installing_the_addon_through_arm_makes_the_manager_answer(
    make_served: Callable[..., Served],
) -> None:
    served = make_served(destination={"hcx": {"addon": "none"}})
    creds = served.env.world.credentials["destination"]
    login = {"username": creds.username, "password": creds.password}
    client = served.clients["destination"]
    assert client.post("/hybridity/api/sessions", json=login).status_code == 503
    cloud = served.env.world.cloud("destination")
    body = AddonBody.model_validate(
        {"properties": {"addonType": "HCX", "offer": "VMware MaaS Cloud Provider (Enterprise)"}}
    )
    _, operation, _ = served.env.arm.create_or_update_addon(cloud.resource_group, cloud.name, "hcx", body)
    assert client.post("/hybridity/api/sessions", json=login).status_code == 503
    served.env.advance(minutes=10)
    served.env.arm.get_operation(operation.id)  # the client polls the LRO, as the app does
    assert client.post("/hybridity/api/sessions", json=login).status_code == 200
