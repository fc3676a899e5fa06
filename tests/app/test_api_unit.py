"""The front door's reading of Durable statuses: what runs under an id, whatever the input encoding."""

from __future__ import annotations

import json

import pytest
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from shared.api import Links, _existing, snapshot
from shared.intake import decide, submission_from_data
from tests.app.conftest import plan


def status(
    input_value: object, custom: object = None, runtime: str = "Pending"
) -> DurableOrchestrationStatus:
    return DurableOrchestrationStatus.from_json(
        {
            "name": "migration",
            "instanceId": "mig-weu-consolidation",
            "runtimeStatus": runtime,
            "input": input_value,
            "customStatus": custom,
            "output": None,
            "createdTime": "2026-01-05T09:00:00Z",
            "lastUpdatedTime": "2026-01-05T09:00:00Z",
        }
    )


@pytest.mark.parametrize("layers", [0, 1, 2])
def test_a_pending_instance_is_recognised_by_the_digest_in_its_input_however_encoded(layers: int) -> None:
    submission = submission_from_data(plan("same-region"), "http")
    value: object = submission.root_input()
    for _ in range(layers):
        value = json.dumps(value)
    found = _existing(snapshot(status(value)))
    assert found is not None
    assert (found.runtime_status, found.digest) == ("Pending", submission.digest)
    assert decide(found, submission.digest) == "existing"


def test_the_custom_status_digest_wins_once_the_root_has_run() -> None:
    found = _existing(snapshot(status(None, {"phase": "pairing", "digest": "d1"}, "Running")))
    assert (found and found.digest, found and found.phase) == ("d1", "pairing")


def test_an_unknown_instance_is_none() -> None:
    assert snapshot(DurableOrchestrationStatus.from_json({"Message": "not found"})) is None


def test_links_carry_the_callers_key_only_when_there_is_one() -> None:
    assert Links("https://app/api").migration("weu") == "https://app/api/migrations/weu"
    assert Links("https://app/api", "k&1").validation("val-weu-0123456789ab") == (
        "https://app/api/validations/val-weu-0123456789ab?code=k%261"
    )
