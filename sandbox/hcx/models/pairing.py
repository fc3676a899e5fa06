"""Site pairing: `cloudConfigs`, the certificate-trust step, `admin/certificates`, unpairing.

Pairing is asked of the local manager with the remote manager's URL and credentials. The local
manager finds the remote one among the world's HCX servers (`world.hcx_urls`, or the AVS host name
`world.hcx_host`), then, in the order a real TLS client meets them:

1. the remote certificate must be trusted: imported earlier through `admin/certificates`, or both
   managers' certificates issued by the sandbox CA (`hcx.certificate: sandbox-ca` on both clouds).
   Otherwise the answer is HTTP 200 with `success: false` and the remote PEM in
   `errors[0].data[0].certificate` (hcx-api.md §4.2; the error text is inferred: §10.2);
2. the remote credentials must be right, else `errors[0].error == "Login failure"`;
3. a job runs for `faults.pairing_delay_minutes`; when it ends the pairing exists if the clouds are
   connected (`world.arm.clouds_connected()`), else the job fails with a connectivity message.

Pairing an already-paired URL answers a job that is already done and names the existing endpoint
(inferred: the style guide's "pairing twice returns the existing pairing"). Unpairing is
asynchronous: the pairing lingers for a minute (hcx-api.md §4.4: clients poll until it is gone).
This module depends on the standard library, `sandbox.core.tls` and the core only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sandbox.core.tls import fingerprint
from sandbox.core.world import SIDES
from sandbox.hcx.exceptions import BadRequest, Conflict, NotFound
from sandbox.hcx.ids import endpoint_id
from sandbox.hcx.models.core import Core, operation
from sandbox.hcx.models.jobs import Job, JobsMixin

if TYPE_CHECKING:
    from sandbox.core.world import Side

__all__ = ["Pairing", "PairingMixin", "PairingRefusal", "Unpairing"]

_UNPAIR_SECONDS = 60  # inferred: hcx-api.md §4.4 says removal is asynchronous, not how long it takes


@dataclass
class Pairing:
    endpoint_id: str
    remote: Side
    url: str | None  # as the client gave it, without a trailing slash; None = the remote's own URL
    username: str
    created: float
    removing: bool = False

    def display_url(self, core: Core) -> str:
        if self.url is not None:
            return self.url
        return core.world.hcx_urls.get(self.remote) or f"https://{core.world.hcx_host(self.remote)}"

    def to_wire(self, core: Core) -> dict[str, Any]:
        hcx = core.world.cloud(self.remote).hcx
        return {
            "endpointId": self.endpoint_id,
            "cloudType": "nsp",  # inferred: hcx-api.md §4.1
            "url": self.display_url(core),
            "username": self.username,
            "cloudName": core.manager_name(self.remote),
            "name": core.manager_name(self.remote),
            "endpointType": "VC",  # inferred: hcx-api.md §4.1 shows "VC" for a vCenter-backed site
            "version": hcx.version,
            "buildNumber": hcx.build,
        }


@dataclass(frozen=True)
class PairingRefusal:
    """A pairing attempt HCX turns down inside an HTTP 200 body (`success: false`)."""

    error: str
    text: str
    certificate: str | None = None

    def to_wire(self, time_ms: int) -> dict[str, Any]:
        error: dict[str, Any] = {"error": self.error, "text": self.text}
        if self.certificate is not None:
            error["data"] = [{"certificate": self.certificate}]
        return {"success": False, "completed": True, "time": time_ms, "version": "1.0", "errors": [error]}


@dataclass(frozen=True)
class Unpairing:
    endpoint_id: str
    request_id: str


class PairingMixin(JobsMixin):
    def _init_pairing(self) -> None:
        self.pairings: dict[str, Pairing] = {}
        self.trusted_fingerprints: set[str] = set()
        if self.side == "source" and self.world.scenario.paired:
            self._add_pairing(self.peer_side, None, self.world.credentials[self.peer_side].username)

    # -- queries used by other families ------------------------------------------------------------

    def pairing_to(self, side: Side) -> Pairing | None:
        for pairing in self.pairings.values():
            if pairing.remote == side and not pairing.removing:
                return pairing
        return None

    def pairing_dependents(self) -> list[str]:
        """What keeps the pairing from being removed; families that use a pairing add to it."""
        return []

    # -- operations ---------------------------------------------------------------------------------

    @operation
    def list_cloud_configs(self) -> list[Pairing]:
        return list(self.pairings.values())

    @operation
    def import_certificate(self, pem: object) -> str:
        """Trust a remote manager's certificate; returns its SHA-256 fingerprint."""
        if not isinstance(pem, str) or "BEGIN CERTIFICATE" not in pem:
            raise BadRequest("certificate: required, a PEM-encoded X.509 certificate")
        try:
            value = fingerprint(pem)
        except ValueError:
            raise BadRequest("certificate: not a valid PEM-encoded X.509 certificate") from None
        self.trusted_fingerprints.add(value)
        self.record("certificate_imported", fingerprint=value)
        return value

    @operation
    def create_site_pairing(self, body: object, username: str) -> Job | PairingRefusal:
        remote = body.get("remote") if isinstance(body, dict) else None
        if not isinstance(remote, dict):
            raise BadRequest('remote: required; the body is {"remote": {"url", "username", "password"}}')
        fields = {key: remote.get(key) for key in ("url", "username", "password")}
        for key, value in fields.items():
            if not isinstance(value, str) or not value:
                raise BadRequest(f"remote.{key}: required, a non-empty string")
        url = str(fields["url"]).rstrip("/")
        side = self._resolve(url)
        if side is None:
            # inferred: hcx-api.md §4.2 documents no text for an unreachable remote
            return PairingRefusal("Unable to connect", f"Could not connect to {url}: no HCX Manager answers")
        if side == self.side:
            raise BadRequest("remote.url: names this HCX Manager; a site pairs with another manager")
        if self._remote_edition(side) == "none":
            # The remote cloud has no HCX add-on, so nothing answers at its URL.
            return PairingRefusal(
                "Unable to connect", f"Could not connect to {url}: HCX is not installed there"
            )
        if not self._trusts(side):
            # inferred: hcx-api.md §10.2 (the shape is verified, the error text is not)
            self.record("pairing_untrusted_certificate", url=url)
            return PairingRefusal(
                "Untrusted certificate",
                f"The SSL certificate of {url} is not trusted. Import it and retry.",
                self._certificate_of(side),
            )
        expected = self.world.credentials[side]
        if (
            str(fields["username"]).lower() != expected.username.lower()
            or fields["password"] != expected.password
        ):
            self.record("pairing_login_failure", url=url)
            return PairingRefusal("Login failure", f"Login to {url} failed: invalid username or password")
        existing = self.pairing_to(side)
        if existing is not None:
            # inferred: style.md "pairing twice returns the existing pairing"; real HCX's answer is
            # undocumented
            job = self.new_job("SITE_PAIRING", 0, username, lambda j: None)
            job.data["endpoint"] = self._endpoint_data(existing)
            return job
        remote_user = str(fields["username"])

        def finish(job: Job) -> None:
            if self.world.arm is not None and not self.world.arm.clouds_connected():
                job.failed = True
                job.message = (
                    f"Unable to reach {url}: the private clouds have no network path "
                    "(AVS Interconnect or ExpressRoute Global Reach)"
                )
                return
            pairing = self.pairing_to(side) or self._add_pairing(side, url, remote_user)
            job.data["endpoint"] = self._endpoint_data(pairing)

        delay = self.world.scenario.faults.pairing_delay_minutes * 60
        return self.new_job("SITE_PAIRING", delay, username, finish)

    @operation
    def delete_endpoint_pairing(self, endpoint: str) -> Unpairing:
        pairing = self.pairings.get(endpoint)
        if pairing is None or pairing.removing:
            raise NotFound(f"site pairing {endpoint} does not exist")
        if dependents := self.pairing_dependents():
            raise Conflict(
                f"site pairing {endpoint} is in use by {', '.join(dependents)}", code="PAIRING_IN_USE"
            )
        pairing.removing = True
        self.timeline.at(self.now + _UNPAIR_SECONDS, lambda: self._drop_pairing(endpoint))
        self.record("pairing_removing", endpoint=endpoint)
        return Unpairing(endpoint, self.ids.uuid())

    # -- internals ----------------------------------------------------------------------------------

    def _add_pairing(self, side: Side, url: str | None, username: str) -> Pairing:
        pairing = Pairing(endpoint_id(self.world, side), side, url, username, self.now)
        self.pairings[pairing.endpoint_id] = pairing
        self.record("paired", endpoint=pairing.endpoint_id, remote=side)
        return pairing

    def _drop_pairing(self, endpoint: str) -> None:
        if self.pairings.pop(endpoint, None) is not None:
            self.record("unpaired", endpoint=endpoint)

    def _endpoint_data(self, pairing: Pairing) -> dict[str, Any]:
        return {
            "endpointId": pairing.endpoint_id,
            "name": self.manager_name(pairing.remote),
            "url": pairing.display_url(self),
            "endpointType": "VC",
        }

    def _resolve(self, url: str) -> Side | None:
        """Which manager of the world answers at `url` (by host and port, or by AVS host name)."""
        parts = urlsplit(url if "://" in url else f"https://{url}")
        host, port = (parts.hostname or "").lower(), parts.port or 443
        for side, known in sorted(self.world.hcx_urls.items()):
            k = urlsplit(known)
            if (k.hostname or "").lower() == host and (k.port or 443) == port:
                return side
        for side in SIDES:
            if host == self.world.hcx_host(side).lower():
                return side
        return None

    def _remote_edition(self, side: Side) -> str:
        if self.world.arm is not None:
            return self.world.arm.hcx_edition(side)
        return self.world.cloud(side).hcx.addon

    def _certificate_of(self, side: Side) -> str | None:
        return self.world.hcx_certificates.get(side)

    def _trusts(self, side: Side) -> bool:
        clouds = (self.world.cloud(self.side).hcx, self.world.cloud(side).hcx)
        if all(c.certificate == "sandbox-ca" for c in clouds):
            return True
        pem = self._certificate_of(side)
        if pem is None:
            # A world without TLS material (backends driven directly in unit tests) has nothing to
            # distrust.
            return True
        return fingerprint(pem) in self.trusted_fingerprints
