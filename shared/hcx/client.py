"""The typed HCX Manager client: one method per operation the app uses, typed results, typed errors.

    with HcxClient.for_settings(settings, url, credentials, pins=plan.hcx.trusted_fingerprints) as hcx:
        pairing = hcx.pair_site(remote_url, remote_credentials, plan.hcx.trusted_fingerprints)
        job = hcx.get_job(pairing.job_id)

Sessions, retries, timeouts and error conversion live in `shared.hcx.transport`; this module maps
operations to paths and bodies (hcx-api.md) and parses answers with `shared.hcx.models` and
`shared.hcx.migrations`. Reads (GETs, inventory, queries, validation, cancel) are marked idempotent
and retried; creating a pairing, an extension or a migration is not. The client never logs secrets or
tokens; its repr shows the URL and user only. This module depends on httpx, pydantic and `shared`.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

import httpx

from shared.hcx import envelope
from shared.hcx.errors import (
    HcxCertificateUntrusted,
    HcxConflict,
    HcxMessage,
    HcxNotFound,
    HcxPairingError,
    HcxProtocolError,
    HcxValidationError,
)
from shared.hcx.migrations import Migration, MigrationResult, epoch_ms
from shared.hcx.models import (
    Appliance,
    CloudConfig,
    CloudEndpoint,
    Container,
    Datastore,
    InterconnectTask,
    InventoryNetwork,
    InventoryVm,
    Job,
    L2Extension,
    ResourceContainer,
    ServiceMesh,
)
from shared.hcx.transport import DEFAULT_TIMEOUT, HcxSession, RetryPolicy
from shared.settings import Settings, UserPassword
from shared.tls import fingerprint, normalise_fingerprint, ssl_context

__all__ = ["ExtensionStarted", "HcxClient", "SitePairing"]

API = "/hybridity/api"
INVENTORY = f"{API}/service/inventory"


@dataclass(frozen=True)
class ExtensionStarted:
    """A network extension HCX accepted: its job (4.x) and/or its stretch id (newer bulk answers)."""

    job_id: str | None
    stretch_id: str | None = None


@dataclass(frozen=True)
class SitePairing:
    """What `pair_site` did: found an existing pairing, or started a job (after importing a pin)."""

    existing: CloudConfig | None = None
    job_id: str | None = None
    imported_fingerprint: str | None = None


class HcxClient:
    """A client for one HCX Manager, logged in as one user."""

    def __init__(
        self,
        url: str,
        credentials: UserPassword,
        *,
        ca_bundle: str | None = None,
        pins: Sequence[str] = (),
        verify: ssl.SSLContext | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`pins` are SHA-256 fingerprints that identify the manager's certificate (see shared.tls);
        otherwise the system CAs and `ca_bundle` decide. `verify` overrides both (a ready context)."""
        trust = tuple(pins)

        def context() -> ssl.SSLContext:
            return verify if verify is not None else ssl_context(url, ca_bundle, trust)

        self._session = HcxSession(
            url,
            credentials.username,
            credentials.password.get_secret_value(),
            verify=context,
            timeout=timeout,
            retry=retry,
            transport=transport,
        )

    @classmethod
    def for_settings(
        cls, settings: Settings, url: str, credentials: UserPassword, pins: Sequence[str] = (), **kwargs: Any
    ) -> HcxClient:
        """A client trusting HCX_CA_BUNDLE (from `settings`) and the plan's `pins`."""
        bundle = str(settings.hcx_ca_bundle) if settings.hcx_ca_bundle else None
        return cls(url, credentials, ca_bundle=bundle, pins=pins, **kwargs)

    @property
    def url(self) -> str:
        return self._session.url

    @property
    def username(self) -> str:
        return self._session.username

    @property
    def logins(self) -> int:
        return self._session.logins

    @property
    def server_time(self) -> datetime | None:
        """The manager's clock (HTTP `Date`) at the last successful answer to this thread."""
        return self._session.server_time

    def __repr__(self) -> str:
        return f"HcxClient(url={self.url!r}, user={self.username!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    def login(self) -> None:
        self._session.login()

    def _get(self, path: str, **params: Any) -> Any:
        return self._session.request("GET", path, params=params or None, idempotent=True)

    def _read(self, path: str, body: Any, **params: Any) -> Any:
        """A POST that only reads (inventory, queries, validation): safe to repeat."""
        return self._session.request("POST", path, json=body, params=params or None, idempotent=True)

    # --- site pairing --------------------------------------------------------------------------

    def list_cloud_configs(self) -> list[CloudConfig]:
        return [CloudConfig.model_validate(i) for i in envelope.items(self._get(f"{API}/cloudConfigs"))]

    def find_pairing(self, remote_url: str) -> CloudConfig | None:
        return next((p for p in self.list_cloud_configs() if p.matches(remote_url)), None)

    def create_cloud_config(self, remote_url: str, remote: UserPassword) -> str:
        """Start pairing with `remote_url`; returns the job id.

        Raises HcxCertificateUntrusted when HCX stops at the certificate-trust step (it answers 200 with
        `success: false` and the remote PEM under `errors[].data[].certificate`), HcxPairingError for
        other refusals (e.g. "Login failure"), HcxConflict when the pairing exists.
        """
        password = remote.password.get_secret_value()
        self._session.remember_secret(password)
        # The body must be wrapped in "remote"; a flat body makes HCX fail (hcx-api.md §4.2).
        body = {"remote": {"url": remote_url.rstrip("/"), "username": remote.username, "password": password}}
        answer = self._session.request("POST", f"{API}/cloudConfigs", json=body, idempotent=False)
        errors, _ = envelope.messages(answer)
        if (isinstance(answer, dict) and answer.get("success") is False) or errors:
            pem = _certificate(errors)
            if pem is not None:
                raise HcxCertificateUntrusted(
                    f"HCX cannot pair with {remote_url}: its certificate "
                    f"(SHA-256 {fingerprint(pem)}) is not trusted",
                    url=remote_url,
                    pem=pem,
                    fingerprint=fingerprint(pem),
                )
            text = self._session.redact(envelope.first_message(answer, default="refused without a reason"))
            raise HcxPairingError(f"HCX refused to pair with {remote_url}: {text}", messages=errors)
        job_id = envelope.data(answer).get("jobId")
        if not job_id:
            raise HcxProtocolError(f"HCX accepted the pairing with {remote_url} but returned no job id")
        return str(job_id)

    def trust_certificate(self, pem: str) -> None:
        """Import a remote manager's certificate into this manager's trust store (pairing fix-up)."""
        answer = self._session.request(
            "POST", f"{API}/admin/certificates", json={"certificate": pem}, idempotent=True
        )
        if isinstance(answer, dict) and answer.get("success") is False:
            text = envelope.first_message(answer, default="refused")
            raise HcxPairingError(f"HCX refused to import the certificate: {text}")

    def pair_site(
        self, remote_url: str, remote: UserPassword, trusted_fingerprints: Iterable[str]
    ) -> SitePairing:
        """Pair with `remote_url` unless already paired, importing its certificate only if it is pinned.

        Checks before it creates, so it is safe to repeat. Raises HcxCertificateUntrusted (with the
        PEM and fingerprint to show the operator, and `pinned` saying whether pins existed) when the
        certificate matches no pin.
        """
        existing = self.find_pairing(remote_url)
        if existing is not None:
            return SitePairing(existing=existing)
        pins = {normalise_fingerprint(p) for p in trusted_fingerprints}
        try:
            return SitePairing(job_id=self.create_cloud_config(remote_url, remote))
        except HcxConflict:
            return SitePairing(existing=self.find_pairing(remote_url))
        except HcxCertificateUntrusted as untrusted:
            if untrusted.fingerprint not in pins:
                untrusted.pinned = bool(pins)
                raise
            self.trust_certificate(untrusted.pem)
            job_id = self.create_cloud_config(remote_url, remote)
            return SitePairing(job_id=job_id, imported_fingerprint=untrusted.fingerprint)

    def delete_endpoint_pairing(self, endpoint_id: str) -> bool:
        """Remove a pairing; False if it was already gone. Removal finishes asynchronously."""
        try:
            self._session.request("DELETE", f"{API}/endpointPairing/{endpoint_id}", idempotent=True)
        except HcxNotFound:
            return False
        return True

    # --- jobs and tasks ------------------------------------------------------------------------

    def get_job(self, job_id: str) -> Job:
        return Job.model_validate(self._get(f"{API}/jobs/{job_id}"))

    def get_interconnect_task(self, task_id: str) -> InterconnectTask:
        return InterconnectTask.model_validate(self._get(f"{API}/interconnect/tasks/{task_id}"))

    # --- service mesh and appliances -----------------------------------------------------------

    def list_service_meshes(self) -> list[ServiceMesh]:
        answer = self._get(f"{API}/interconnect/serviceMesh")
        return [ServiceMesh.model_validate(i) for i in envelope.items(answer)]

    def list_appliances(self) -> list[Appliance]:
        return [
            Appliance.model_validate(i) for i in envelope.items(self._get(f"{API}/interconnect/appliances"))
        ]

    def query_appliances(
        self,
        appliance_type: str | None = "HCX-NET-EXT",
        endpoint_id: str | None = None,
        service_mesh_id: str | None = None,
    ) -> list[Appliance]:
        filters = {
            "applianceType": appliance_type,
            "endpointId": endpoint_id,
            "serviceMeshId": service_mesh_id,
        }
        body = {"filter": {k: v for k, v in filters.items() if v is not None}}
        answer = self._read(f"{API}/interconnect/appliances/query", body)
        return [Appliance.model_validate(i) for i in envelope.items(answer)]

    # --- network extension ---------------------------------------------------------------------

    def list_l2_extensions(self) -> list[L2Extension]:
        return [L2Extension.model_validate(i) for i in envelope.items(self._get(f"{API}/l2Extensions"))]

    def create_l2_extension(self, request: dict[str, Any]) -> ExtensionStarted:
        """Extend a network (body: `shared.hcx.models.extension_request`).

        4.x answers `{"id": jobId}`: poll the job. The newer bulk form answers with the stretch id and
        no job: follow `list_l2_extensions()` for that stretch id instead.
        """
        answer = self._session.request("POST", f"{API}/l2Extensions", json=request, idempotent=False)
        errors, warnings = envelope.messages(answer)
        if errors:
            text = envelope.first_message(answer)
            raise HcxValidationError(
                f"HCX refused the network extension: {text}", errors=errors, warnings=warnings
            )
        stretch = next((str(i["stretchId"]) for i in envelope.items(answer) if i.get("stretchId")), None)
        if stretch is not None and not _has_job_id(answer):
            return ExtensionStarted(job_id=None, stretch_id=stretch)
        return ExtensionStarted(job_id=_job_id(answer, "the network extension"), stretch_id=stretch)

    def delete_l2_extension(self, stretch_id: str) -> str:
        """Unextend a network; returns the job id."""
        answer = self._session.request("DELETE", f"{API}/l2Extensions/{stretch_id}", idempotent=True)
        return _job_id(answer, "the unextension")

    # --- inventory -----------------------------------------------------------------------------

    def resource_containers(self, *, local: bool = True, remote: bool = False) -> list[ResourceContainer]:
        body = {"filter": {"cloud": {"local": local, "remote": remote}}}
        answer = self._read(f"{INVENTORY}/resourcecontainer/list", body)
        return [ResourceContainer.model_validate(i) for i in envelope.items(answer)]

    def clouds(self, *, local: bool = True) -> list[CloudEndpoint]:
        body = {"filter": {"local": True} if local else {"remote": True}}
        answer = self._read(f"{INVENTORY}/cloud/list", body)
        return [CloudEndpoint.model_validate(i) for i in envelope.items(answer)]

    def networks(self, endpoint_id: str) -> list[InventoryNetwork]:
        answer = self._read(f"{INVENTORY}/networks", {"filter": {"cloud": {"endpointId": endpoint_id}}})
        return [InventoryNetwork.model_validate(i) for i in envelope.items(answer)]

    def datastores(self, endpoint_id: str) -> list[Datastore]:
        answer = self._read(f"{INVENTORY}/datastores", {"filter": {"cloud": {"endpointId": endpoint_id}}})
        return [Datastore.model_validate(i) for i in envelope.items(answer)]

    def containers(self, endpoint_id: str) -> list[Container]:
        answer = self._read(f"{INVENTORY}/containers", {"filter": {"cloud": {"endpointId": endpoint_id}}})
        return [Container.model_validate(i) for i in envelope.items(answer)]

    def virtual_machines(
        self,
        endpoint_id: str | None = None,
        *,
        names: Sequence[str] | None = None,
        ids: Sequence[str] | None = None,
        page_size: int = 1000,
    ) -> list[InventoryVm]:
        """Every VM of the endpoint (all pages), optionally only those with the given names or ids."""
        flt: dict[str, Any] = {"cloud": {"endpointId": endpoint_id} if endpoint_id else {"local": True}}
        if names is not None:
            # inferred: hcx-api.md §2.3/§4 document paging for this call, not its filter keys; the
            # name and id filters mirror the migration query's list filters, so the answer is
            # filtered again below in case a manager ignores them.
            flt["name"] = list(names)
        if ids is not None:
            flt["entityId"] = list(ids)
        vms: list[InventoryVm] = []
        skip = 0
        while True:
            body = {"filter": flt, "paging": {"skipCount": skip, "pageSize": page_size}}
            answer = self._read(f"{INVENTORY}/virtualmachines", body)
            page = envelope.items(answer)
            vms += [InventoryVm.model_validate(i) for i in page]
            skip += len(page)
            total = _total(answer)
            if not page or len(page) < page_size or (total is not None and skip >= total):
                wanted_names = set(names) if names is not None else None
                wanted_ids = set(ids) if ids is not None else None
                return [
                    vm
                    for vm in vms
                    if (wanted_names is None or vm.name in wanted_names)
                    and (wanted_ids is None or vm.id in wanted_ids)
                ]

    # --- migrations ----------------------------------------------------------------------------

    def validate_migrations(self, items: list[dict[str, Any]]) -> list[MigrationResult]:
        """Validate many migration items in one call; errors and warnings come back per item."""
        return self._mobility("validate", items, idempotent=True)

    def start_migrations(self, items: list[dict[str, Any]]) -> list[MigrationResult]:
        """Start many migrations in one call (never retried); one result per item, in order."""
        return self._mobility("start", items, idempotent=False)

    def _mobility(
        self, action: str, items: list[dict[str, Any]], *, idempotent: bool
    ) -> list[MigrationResult]:
        try:
            answer = self._session.request(
                "POST", f"{API}/mobility/migrations/{action}", json={"items": items}, idempotent=idempotent
            )
        except HcxValidationError as refused:
            # HCX answers 400 with per-item errors when it refuses items (hcx-api.md §7.2).
            if not refused.items:
                raise
            return [MigrationResult.model_validate(i) for i in refused.items]
        return [MigrationResult.model_validate(i) for i in envelope.items(answer)]

    def query_migrations(
        self,
        *,
        migration_ids: Sequence[str] | None = None,
        group_ids: Sequence[str] | None = None,
        entity_ids: Sequence[str] | None = None,
        states: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        page_size: int = 500,
    ) -> list[Migration]:
        """Migrations matching the filters (all pages), in one logical query (v2, compat 2.1).

        inferred: hcx-api.md §7.4 lists no `tags` filter; a manager that ignores it answers more, so
        callers that filter by tags check each item's `tags` again.
        """
        flt: dict[str, Any] = {"skipDrafts": True}
        for key, values in (
            ("migrationId", migration_ids),
            ("migrationGroupId", group_ids),
            ("entityId", entity_ids),
            ("state", states),
            ("tags", tags),
        ):
            if values is not None:
                flt[key] = list(values)
        found: list[Migration] = []
        offset = 0
        while True:
            body = {
                "filter": flt,
                "options": {"resultLevel": "MOBILITYGROUP_ITEMS", "compat": 2.1},
                "paging": {"pageSize": page_size, "offset": offset},
            }
            answer = self._read(f"{API}/migrations", body, action="query")
            page = envelope.items(answer)
            found += [Migration.model_validate(i) for i in page]
            offset += len(page)
            total = _total(answer)
            if not page or len(page) < page_size or (total is not None and offset >= total):
                return found

    def cancel_migrations(self, migration_ids: Sequence[str]) -> None:
        """Cancel migrations that have not switched over.

        inferred: hcx-api.md §7.6 — the body {"migrationIds": [...]} is documented, the path
        `POST /migrations?action=cancel` follows the validate/start/query pattern.
        """
        body = {"migrationIds": list(migration_ids)}
        self._session.request(
            "POST", f"{API}/migrations", json=body, params={"action": "cancel"}, idempotent=True
        )

    def reschedule_switchover(
        self, group_id: str, migration_ids: Sequence[str], start: datetime | None, expiry: datetime | None
    ) -> dict[str, list[HcxMessage]]:
        """Move the switchover window of migrations of one group; returns refusals by migration id.

        inferred: hcx-api.md §7.8 documents `POST /mobility/groups/{id}/schedule` for Mobility
        Groups; a plain migration's `migrationGroupId` (from start) is assumed to answer it as well.
        None for both times clears the schedule (switch over as soon as possible).
        """
        if start is None and expiry is None:
            schedule: dict[str, Any] = {"clearSchedule": True, "startTime": 0, "expiryTime": 0}
        else:
            schedule = {"startTime": epoch_ms(start), "expiryTime": epoch_ms(expiry)}
        body = {"migrations": [{"migrationId": mid, "schedule": schedule} for mid in migration_ids]}
        # Idempotent: setting the same schedule twice leaves it as it is.
        answer = self._session.request(
            "POST", f"{API}/mobility/groups/{group_id}/schedule", json=body, idempotent=True
        )
        refused: dict[str, list[HcxMessage]] = {}
        errors = answer.get("errors") if isinstance(answer, dict) else None
        if isinstance(errors, dict):
            for mid, entries in errors.items():
                found, _ = envelope.messages({"errors": entries})
                if found:
                    refused[str(mid)] = found
        return refused


def _certificate(errors: list[Any]) -> str | None:
    """The PEM HCX returns when the remote certificate is untrusted: errors[].data[].certificate."""
    for error in errors:
        data = error.data
        entries = data if isinstance(data, list) else [data]
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("certificate"), str):
                return str(entry["certificate"])
    return None


def _has_job_id(answer: Any) -> bool:
    try:
        _job_id(answer, "")
    except HcxProtocolError:
        return False
    return True


def _job_id(answer: Any, what: str) -> str:
    # {"id": jobId} (4.x) or the newer {"data": {"items": [{"jobId"|"id"...}]}} bulk form.
    if isinstance(answer, dict):
        for source in (answer, *envelope.items(answer)):
            value = source.get("id") or source.get("jobId")
            if value:
                return str(value)
    raise HcxProtocolError(f"HCX accepted {what} but returned no job id")


def _total(answer: Any) -> int | None:
    for node in (answer, envelope.data(answer)):
        paging = node.get("paging") if isinstance(node, dict) else None
        if isinstance(paging, dict):
            for key in ("totalSize", "totalCount", "totalElements"):
                if isinstance(paging.get(key), int):
                    return int(paging[key])
    return None
