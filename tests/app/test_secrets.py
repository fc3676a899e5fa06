"""No secret leaves the activity that uses it.

A full preparation (pairing sends the destination's cloudadmin password to the source manager;
Global Reach redeems an authorization key), then a search of everything the app leaves behind: the
SQLite state (history, inputs, outputs, custom statuses), every log record captured at DEBUG, every
HTTP answer of the app and of the Durable API (histories included), and the emitted events.
"""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from sandbox.avs.models.connectivity import GlobalReachConnection
from tests.app.conftest import Factory, logged_events, plan, scenario

PLAN_ID = "weu-to-neu-demo"


def test_passwords_tokens_and_keys_appear_nowhere(
    stack_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    world = scenario("cross-region", connectivity={"global_reach": "none"})
    with stack_factory(world) as stack:
        assert (
            stack.post("migrations", plan("cross-region", connectivity={"allow_create": True})).status_code
            == 202
        )
        view = stack.finished(PLAN_ID)
        assert view["phase"] == "completed"
        assert stack.post("migrations/validate", plan("cross-region")).status_code == 200
        credentials = stack.sandbox.world.credentials
        source_cloud = stack.sandbox.cloud_id("source")
        keys = [
            r.authorization_key
            for r in stack.sandbox.arm.items(f"{source_cloud}/globalReachConnections")
            if isinstance(r, GlobalReachConnection)
        ]
        secrets = {
            "source cloudadmin password": credentials["source"].password,
            "destination cloudadmin password": credentials["destination"].password,
            "ARM static token": stack.sandbox.token,
            **{f"Global Reach authorization key {i}": key for i, key in enumerate(keys)},
        }
        durable = stack.runtime.durable_base_url
        answers = [
            stack.get(f"migrations/{PLAN_ID}").text,
            stack.get("migrations").text,
            *(
                httpx.get(
                    f"{durable}/instances/{iid}", params={"showHistory": "true", "showHistoryOutput": "true"}
                ).text
                for iid in (f"mig-{PLAN_ID}", f"mig-{PLAN_ID}:prepare")
            ),
        ]
        stack.settle()
        state = stack.state_bytes()
    events = json.dumps(logged_events(caplog))
    assert len(keys) == 1  # the connection the app created from the authorization it made
    assert len(state) > 10_000
    assert len(caplog.records) > 100
    places = {
        "the SQLite state": state.decode("utf-8", "replace"),
        "the logs": caplog.text,
        "the events": events,
    }
    places |= {f"HTTP answer {i}": text for i, text in enumerate(answers)}
    leaks = [
        (what, where) for what, secret in secrets.items() for where, text in places.items() if secret in text
    ]
    assert leaks == []
