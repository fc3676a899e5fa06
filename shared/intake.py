"""Plan intake: turning an HTTP body, a queue message or an Event Grid event into a submission.

Every trigger goes through the same steps, so a plan means the same thing however it arrives:

1. **Read** the plan: `submission_from_text` (an HTTP body or a queue message: JSON or YAML) or
   `submission_from_data` (an Event Grid `MigrationRequested` event's `data`). Both raise
   `shared.errors.PlanError` listing every bad field with its JSON pointer, before anything else runs.
   `classify_event` says what an Event Grid event asks for; `read_plan_blob` fetches the plan file a
   Blob Created event names.
2. **Name** the instance: `instance_id(plan.id)` is `mig-{plan.id}`; children are `mig-{id}:<name>`.
3. **Decide** against what already runs under that id: `decide(existing, digest)` (a pure function)
   answers start, existing, conflict or restart, so re-sending a plan is idempotent and a changed plan
   never silently replaces a running migration.
4. **Start** the root orchestrator with `Submission.root_input()` (no secrets: the plan holds none).

Blob reads use azure-storage-blob. The seam between Azure and a workstation is `blob_credential`: a
blob in the account that `AzureWebJobsStorage` names by connection string (Azurite locally) is read
with that connection string; any other blob (Azure, where AzureWebJobsStorage is identity-based) with
the app's managed identity (`AZURE_CLIENT_ID`) or, off Azure, `DefaultAzureCredential`. Only blobs in
the plans container (`PLANS_CONTAINER`, default `plans`) are read, so an event cannot make the app
fetch an arbitrary URL.

This module depends on pydantic, azure-storage-blob/`shared.identity` (blob reads only) and `shared.plan`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict

from shared.errors import PlanError
from shared.identity import app_credential
from shared.plan import MAX_PLAN_BYTES, MigrationPlan, load_plan, parse_plan

__all__ = [
    "ACTIVE_STATUSES",
    "BLOB_CREATED",
    "MIGRATION_REQUESTED",
    "PLAN_SUFFIXES",
    "BlobRequest",
    "Decision",
    "EventRequest",
    "Existing",
    "Ignored",
    "PlanRequest",
    "RootInput",
    "Source",
    "Submission",
    "blob_credential",
    "child_id",
    "classify_event",
    "decide",
    "instance_id",
    "plan_id_of",
    "read_plan_blob",
    "submission_from_data",
    "submission_from_text",
    "validation_id",
]

ROOT_PREFIX = "mig-"
VALIDATION_PREFIX = "val-"
MIGRATION_REQUESTED = "MigrationRequested"
BLOB_CREATED = "Microsoft.Storage.BlobCreated"
PLAN_SUFFIXES = (".json", ".yaml", ".yml")
DEFAULT_PLANS_CONTAINER = "plans"
# Durable runtime statuses in which an instance may still act.
ACTIVE_STATUSES = frozenset({"Pending", "Running", "ContinuedAsNew", "Suspended"})
# Root phases that mean "finished well": re-sending the same plan returns the instance instead of
# re-running it. Any other end (blocked, failed, cancelled) is re-run by the same plan.
SUCCESSFUL_PHASES = frozenset({"completed"})

Source = Literal["http", "queue", "eventgrid"]


def instance_id(plan_id: str) -> str:
    """The root orchestrator's instance id for a plan id (plan ids are [a-z0-9-], so it is URL-safe)."""
    return f"{ROOT_PREFIX}{plan_id}"


def child_id(root: str, name: str) -> str:
    """A child instance's id, e.g. `mig-x:prepare`, `mig-x:wave-01` (design_orchestration.md)."""
    return f"{root}:{name}"


def validation_id(plan_id: str, digest: str) -> str:
    """The validate-only instance of one version of a plan: the same plan validates once."""
    return f"{VALIDATION_PREFIX}{plan_id}-{digest[:12]}"


def plan_id_of(instance: str) -> str | None:
    """The plan id of a root instance id, or None for anything else (children, other orchestrators)."""
    if not instance.startswith(ROOT_PREFIX) or ":" in instance:
        return None
    return instance[len(ROOT_PREFIX) :] or None


class RootInput(BaseModel):
    """The root orchestrator's input (design_orchestration.md "Root input"); never holds a secret."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    plan: MigrationPlan
    digest: str
    source: Source
    submitted_by: str = ""
    # Validate-only runs stop after preflight and change nothing.
    validate_only: bool = False


@dataclass(frozen=True)
class Submission:
    """A validated plan and where it came from."""

    plan: MigrationPlan
    source: Source
    submitted_by: str = ""

    @property
    def digest(self) -> str:
        return self.plan.digest()

    @property
    def instance_id(self) -> str:
        return instance_id(self.plan.id)

    def root_input(self, *, validate_only: bool = False) -> dict[str, Any]:
        return {
            "plan": self.plan.model_dump(mode="json"),
            "digest": self.digest,
            "source": self.source,
            "submitted_by": self.submitted_by,
            "validate_only": validate_only,
        }


def submission_from_text(
    body: str | bytes, content_type: str | None, source: Source, submitted_by: str = ""
) -> Submission:
    """A plan given as JSON or YAML text (HTTP body, queue message); PlanError names every bad field."""
    return Submission(load_plan(body, content_type), source, submitted_by)


def submission_from_data(data: Any, source: Source, submitted_by: str = "") -> Submission:
    """A plan given as parsed data (an event's `data`); a JSON/YAML string is parsed first."""
    if isinstance(data, str | bytes):
        return submission_from_text(data, None, source, submitted_by)
    if isinstance(data, dict) and set(data) == {"plan"}:
        data = data["plan"]  # {"plan": {...}} is accepted as an envelope around the plan
    return Submission(parse_plan(data), source, submitted_by)


# --- idempotency ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Existing:
    """What runs under a plan's instance id: its Durable status, the digest it runs and its phase."""

    runtime_status: str
    digest: str | None
    phase: str | None = None


Decision = Literal["start", "existing", "conflict", "restart"]


def decide(existing: Existing | None, digest: str) -> Decision:
    """What a submission of a plan with `digest` does, given what already runs under its id.

    * nothing there: start;
    * running: the same plan is the same migration (existing); another plan is a conflict (409);
    * finished well (prepared/completed): the same plan returns it (existing); another plan replaces it;
    * finished badly (blocked, failed, cancelled, terminated): the same plan runs again (restart),
      because the operator fixed what the findings said; another plan replaces it.
    """
    if existing is None:
        return "start"
    same = existing.digest == digest
    if existing.runtime_status in ACTIVE_STATUSES:
        return "existing" if same else "conflict"
    finished_well = existing.runtime_status == "Completed" and existing.phase in SUCCESSFUL_PHASES
    if same:
        return "existing" if finished_well else "restart"
    return "start"


# --- Event Grid -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanRequest:
    """A MigrationRequested event carrying the plan in its data."""

    data: Any
    submitted_by: str


@dataclass(frozen=True)
class BlobRequest:
    """A Blob Created event for a plan file; the plan is read from `url`."""

    url: str
    submitted_by: str


@dataclass(frozen=True)
class Ignored:
    """An event the app does not act on, and why (logged, never an error: Event Grid would retry)."""

    reason: str


EventRequest = PlanRequest | BlobRequest | Ignored


def classify_event(
    event_type: str, subject: str | None, data: Any, *, plans_container: str = DEFAULT_PLANS_CONTAINER
) -> EventRequest:
    """What an Event Grid event (either schema) asks the app to do."""
    kind = (event_type or "").strip()
    who = f"eventgrid:{subject}" if subject else "eventgrid"
    # A custom topic may namespace the type (Contoso.Migrations.MigrationRequested).
    if kind == MIGRATION_REQUESTED or kind.endswith("." + MIGRATION_REQUESTED):
        return PlanRequest(data, who[:200])
    if kind == BLOB_CREATED:
        url = data.get("url") if isinstance(data, dict) else None
        if not isinstance(url, str) or not url:
            return Ignored("a BlobCreated event without data.url")
        container, blob = _container_and_blob(url)
        if container != plans_container:
            return Ignored(f"a blob outside the {plans_container!r} container")
        if not blob.lower().endswith(PLAN_SUFFIXES):
            return Ignored(f"blob {blob!r} is not a plan file ({', '.join(PLAN_SUFFIXES)})")
        return BlobRequest(url, f"blob:{container}/{blob}"[:200])
    return Ignored(f"event type {kind!r} is not one the app handles")


def _container_and_blob(url: str) -> tuple[str, str]:
    """(container, blob name) of a blob URL, for Azure (account in the host) and Azurite (in the path)."""
    parts = urlsplit(url)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    host = (parts.hostname or "").lower()
    if ".blob." not in host and len(segments) >= 3:
        segments = segments[1:]  # path-style (Azurite, IP endpoints): /{account}/{container}/{blob}
    if len(segments) < 2:
        return "", ""
    return segments[0], "/".join(segments[1:])


# --- reading a plan file --------------------------------------------------------------------------


def _connection_string(environ: Mapping[str, str]) -> str | None:
    value = environ.get("AzureWebJobsStorage", "").strip()
    # Identity-based storage (AzureWebJobsStorage__accountName) leaves no connection string here.
    if not value:
        return None
    if value.lower().startswith("usedevelopmentstorage=true"):
        return value
    return value if "accountname=" in value.lower() else None


def blob_credential(url: str, environ: Mapping[str, str] | None = None) -> tuple[str, Any]:
    """How to read `url`: ("connection", connection string) when AzureWebJobsStorage's account serves
    it, else ("identity", a token credential): the managed identity in Azure, DefaultAzureCredential
    on a workstation."""
    from azure.storage.blob import BlobServiceClient

    env = os.environ if environ is None else environ
    connection = _connection_string(env)
    if connection is not None:
        service_url = BlobServiceClient.from_connection_string(connection).url.rstrip("/").lower()
        if url.lower().startswith(service_url + "/"):
            return "connection", connection
    return "identity", app_credential(env)


def read_plan_blob(url: str, environ: Mapping[str, str] | None = None) -> tuple[bytes, str | None]:
    """The plan file's bytes and content type. Raises PlanError when it cannot be used as a plan
    (too large, gone) and azure-core errors for outages (the Event Grid delivery is then retried)."""
    from azure.core.exceptions import ResourceNotFoundError
    from azure.storage.blob import BlobClient, BlobServiceClient

    env = os.environ if environ is None else environ
    container, blob_name = _container_and_blob(url)
    expected = env.get("PLANS_CONTAINER", "").strip() or DEFAULT_PLANS_CONTAINER
    if container != expected:
        raise PlanError(
            [{"path": "", "message": f"plan files are read only from the {expected!r} container"}]
        )
    kind, credential = blob_credential(url, env)
    if kind == "connection":
        blob = BlobServiceClient.from_connection_string(credential).get_blob_client(container, blob_name)
    else:
        blob = BlobClient.from_blob_url(url, credential=credential)
    try:
        properties = blob.get_blob_properties()
        if properties.size > MAX_PLAN_BYTES:
            raise PlanError([{"path": "", "message": f"the plan file is larger than {MAX_PLAN_BYTES} bytes"}])
        content = blob.download_blob(max_concurrency=1).readall()
    except ResourceNotFoundError:
        raise PlanError(
            [{"path": "", "message": f"the plan file {container}/{blob_name} no longer exists"}]
        ) from None
    settings = properties.content_settings
    media = settings.content_type if settings is not None else None
    if blob_name.lower().endswith((".yaml", ".yml")):
        media = "application/yaml"  # uploads often say application/octet-stream; the name is surer
    elif blob_name.lower().endswith(".json"):
        media = "application/json"
    return bytes(content), media
