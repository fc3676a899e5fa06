"""Plan intake as pure functions: ids, idempotency decisions, plan parsing, events, blob access."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from shared.errors import PlanError
from shared.intake import (
    BlobRequest,
    Existing,
    Ignored,
    PlanRequest,
    RootInput,
    blob_credential,
    child_id,
    classify_event,
    decide,
    instance_id,
    plan_id_of,
    read_plan_blob,
    submission_from_data,
    submission_from_text,
    validation_id,
)
from tests.app.conftest import plan

AZURITE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
)
BLOB = "http://127.0.0.1:10000/devstoreaccount1/plans/wave-east.yaml"


def test_instance_ids_derive_from_the_plan_id() -> None:
    assert instance_id("weu-to-neu") == "mig-weu-to-neu"
    assert child_id("mig-weu-to-neu", "prepare") == "mig-weu-to-neu:prepare"
    assert validation_id("weu-to-neu", "ab" * 32) == "val-weu-to-neu-abababababab"
    assert plan_id_of("mig-weu-to-neu") == "weu-to-neu"
    assert plan_id_of("mig-weu-to-neu:prepare") is None
    assert plan_id_of("val-weu-to-neu-abababababab") is None


@pytest.mark.parametrize(
    ("existing", "decision"),
    [
        (None, "start"),
        (Existing("Running", "d1", "pairing"), "existing"),
        (Existing("Pending", "d1"), "existing"),
        (Existing("Running", "d2", "pairing"), "conflict"),
        (Existing("Completed", "d1", "completed"), "existing"),
        (Existing("Completed", "d2", "completed"), "start"),
        (Existing("Completed", "d1", "blocked"), "restart"),
        (Existing("Failed", "d1", "preflight"), "restart"),
        (Existing("Terminated", "d1", "pairing"), "restart"),
        (Existing("Completed", "d2", "blocked"), "start"),
    ],
)
def test_a_submission_is_decided_by_what_runs_under_its_id(existing: Existing | None, decision: str) -> None:
    assert decide(existing, "d1") == decision


def test_json_and_yaml_bodies_give_the_same_plan_and_digest() -> None:
    data = plan("same-region")
    as_json = submission_from_text(json.dumps(data, default=str), "application/json", "http")
    as_yaml = submission_from_text(yaml.safe_dump(data), "application/yaml", "queue")
    assert as_json.plan == as_yaml.plan
    assert as_json.digest == as_yaml.digest
    assert as_json.instance_id == "mig-weu-consolidation"


def test_event_data_may_be_the_plan_an_envelope_or_text() -> None:
    data = plan("same-region")
    digests = {
        submission_from_data(data, "eventgrid").digest,
        submission_from_data({"plan": data}, "eventgrid").digest,
        submission_from_data(json.dumps(data, default=str), "eventgrid").digest,
    }
    assert len(digests) == 1


def test_root_input_holds_the_plan_digest_and_origin_and_round_trips() -> None:
    submission = submission_from_data(plan("same-region"), "queue", "queue:abc")
    data = submission.root_input()
    assert set(data) == {"plan", "digest", "source", "submitted_by", "validate_only"}
    assert RootInput.model_validate(data).plan == submission.plan
    assert submission.root_input(validate_only=True)["validate_only"] is True


def test_a_contradictory_plan_names_every_field_at_fault() -> None:
    data = plan("same-region")
    data["waves"][1]["vms"] = ["ops-jump-01"]  # already in the pilot wave
    data["waves"][2]["migration"]["type"] = "vmotion"  # a window and approval on vMotion
    with pytest.raises(PlanError) as caught:
        submission_from_data(data, "http")
    paths = {e["path"] for e in caught.value.errors}
    assert {
        "/waves/1/vms/0",
        "/waves/2/migration/switchover_window",
        "/waves/2/migration/approval/required",
    } <= paths


def test_a_custom_migration_requested_event_carries_the_plan() -> None:
    request = classify_event("MigrationRequested", "ops/requests/7", {"id": "x"})
    assert isinstance(request, PlanRequest)
    assert request.data == {"id": "x"}
    assert request.submitted_by == "eventgrid:ops/requests/7"
    assert isinstance(classify_event("Contoso.Ops.MigrationRequested", None, {}), PlanRequest)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://acct.blob.core.windows.net/other/plan.yaml", "outside"),
        ("https://acct.blob.core.windows.net/plans/readme.txt", "not a plan file"),
    ],
)
def test_blob_events_outside_the_plans_container_or_not_plans_are_ignored(url: str, reason: str) -> None:
    request = classify_event("Microsoft.Storage.BlobCreated", "/blobServices/x", {"url": url})
    assert isinstance(request, Ignored)
    assert reason in request.reason


@pytest.mark.parametrize(
    "url",
    [
        "https://acct.blob.core.windows.net/plans/q1/weu.yaml",
        "http://127.0.0.1:10000/devstoreaccount1/plans/weu.json",
    ],
)
def test_blob_created_for_a_plan_file_asks_to_read_it(url: str) -> None:
    request = classify_event(
        "Microsoft.Storage.BlobCreated", "/blobServices/default/containers/plans", {"url": url}
    )
    assert isinstance(request, BlobRequest)
    assert request.url == url


def test_other_event_types_are_ignored_not_failed() -> None:
    assert isinstance(classify_event("Microsoft.Storage.BlobDeleted", None, {"url": BLOB}), Ignored)


def test_a_blob_in_the_account_of_the_connection_string_is_read_with_it() -> None:
    kind, credential = blob_credential(BLOB, {"AzureWebJobsStorage": AZURITE})
    assert kind == "connection"
    assert credential == AZURITE


def test_other_blobs_are_read_with_the_managed_identity_in_azure() -> None:
    from azure.identity import ManagedIdentityCredential

    environ = {
        "AzureWebJobsStorage__accountName": "stprod",
        "IDENTITY_ENDPOINT": "http://localhost:42356/msi/token",
        "AZURE_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
    }
    kind, credential = blob_credential("https://stprod.blob.core.windows.net/plans/a.yaml", environ)
    assert kind == "identity"
    assert isinstance(credential, ManagedIdentityCredential)


def test_a_blob_outside_the_plans_container_is_never_read() -> None:
    environ: dict[str, Any] = {"AzureWebJobsStorage": AZURITE}
    with pytest.raises(PlanError) as caught:
        read_plan_blob("http://127.0.0.1:10000/devstoreaccount1/secrets/plan.yaml", environ)
    assert "plans" in caught.value.errors[0]["message"]
