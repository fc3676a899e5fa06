"""The report written to a blob container: a real Azurite blob service over HTTPS with OAuth.

Azurite (`make tools`) serves TLS with a certificate the sandbox CA issues for this test, and its
`--oauth basic` mode accepts a bearer token by its claims (audience, issuer, lifetime) without a
signature, so the test signs in with a token it writes itself: the same token path the app's managed
identity takes, against the same azure-storage-blob client. The container does not exist at first.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.storage.blob import ContainerClient

from activities.report import publish, report_target
from sandbox.core.tls import SandboxCA
from shared.engine import build_report
from tests.azurite import azurite_endpoints
from tests.engine import synthetic as syn

pytestmark = pytest.mark.azurite


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class EntraLikeToken:
    """A bearer token with the claims Azure Storage checks (Azurite's basic OAuth reads only them)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        now = int(time.time())
        claims = {
            "aud": "https://storage.azure.com",
            "iss": "https://sts.windows.net/ab1f708d-50f6-404c-a006-d71b2ac7a606/",
            "iat": now - 60,
            "nbf": now - 60,
            "exp": now + 3600,
            "oid": "00000000-0000-4000-8000-00000000a11e",
        }
        return AccessToken(f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{_b64(claims)}.c2ln", now + 3600)


@contextmanager
def azurite_blob_https(workdir: Path) -> Iterator[tuple[str, str]]:
    """(blob endpoint, CA bundle path) of a fresh Azurite blob service on TLS with OAuth."""
    workdir.mkdir(parents=True, exist_ok=True)
    ca = SandboxCA(5)
    cert = ca.issue("127.0.0.1", ["127.0.0.1", "localhost"])
    (workdir / "cert.pem").write_text(cert.pem)
    (workdir / "key.pem").write_text(cert.key_pem)
    (workdir / "ca.pem").write_text(ca.certificate.pem)
    with azurite_endpoints(
        workdir,
        ("blob",),
        *("--oauth", "basic", "--cert", str(workdir / "cert.pem"), "--key", str(workdir / "key.pem")),
    ) as endpoints:
        yield endpoints["blob"], str(workdir / "ca.pem")


def test_the_report_is_written_to_the_container_with_the_apps_identity(tmp_path: Path) -> None:
    plan = syn.plan(2)
    context = syn.prepared(plan)
    e = syn.engine(plan, context)
    e.begin(syn.NOW)
    syn.validate_all(e)
    syn.start_all(e)
    report = build_report(plan, context, [e.finish(syn.NOW)], status="running", started=syn.NOW, ended=None)
    with azurite_blob_https(tmp_path / "azurite") as (endpoint, ca):
        url = f"{endpoint}/devstoreaccount1/reports"
        target = report_target({"REPORT_CONTAINER_URL": url, "REPORT_CA_BUNDLE": ca})
        first = publish(report, target, EntraLikeToken())
        again = publish(report, target, EntraLikeToken())  # idempotent: overwritten, same names
        container = ContainerClient.from_container_url(url, credential=EntraLikeToken(), connection_verify=ca)
        with container:
            blobs = {b.name: b.content_settings.content_type for b in container.list_blobs()}
            stored = container.download_blob("unit-plan/report.json").readall()
    assert first == again == [f"{url}/unit-plan/report.{kind}" for kind in ("json", "md", "html")]
    assert blobs == {
        "unit-plan/report.json": "application/json",
        "unit-plan/report.md": "text/markdown; charset=utf-8",
        "unit-plan/report.html": "text/html; charset=utf-8",
    }
    assert json.loads(stored)["plan_id"] == "unit-plan"
