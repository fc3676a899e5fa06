"""TLS trust against real local TLS servers: pins, CA bundles, and verification that stays on."""

from __future__ import annotations

import hashlib
import socket
import ssl
from pathlib import Path

import httpx
import pytest
import requests

from shared.errors import TrustError
from shared.tls import (
    PeerUnreachable,
    combined_ca_bundle,
    default_context,
    fetch_certificate,
    fingerprint,
    format_fingerprint,
    normalise_fingerprint,
    pinned_context,
    ssl_context,
)
from tests.shared.tls_servers import HttpsServer, TestCA, self_signed, write


def get(url: str, context: ssl.SSLContext) -> int:
    with httpx.Client(verify=context, trust_env=False) as client:
        return client.get(url).status_code


def refused(url: str, context: ssl.SSLContext) -> bool:
    try:
        get(url, context)
    except httpx.ConnectError as exc:
        return "CERTIFICATE_VERIFY_FAILED" in str(exc)
    return False


class TestFingerprints:
    def test_the_fingerprint_is_the_sha256_of_the_der_certificate(self) -> None:
        issued = self_signed()
        assert fingerprint(issued.cert_pem) == issued.sha256
        assert fingerprint(issued.cert_pem.encode()) == issued.sha256
        der = ssl.PEM_cert_to_DER_cert(issued.cert_pem)
        assert fingerprint(der) == hashlib.sha256(der).hexdigest()

    @pytest.mark.parametrize(
        "form",
        [
            lambda h: h,
            lambda h: h.upper(),
            lambda h: ":".join(h[i : i + 2] for i in range(0, 64, 2)).upper(),
            lambda h: "SHA256 Fingerprint=" + ":".join(h[i : i + 2] for i in range(0, 64, 2)),
            lambda h: "sha256:" + h,
            lambda h: " ".join(h[i : i + 2] for i in range(0, 64, 2)),
        ],
    )
    def test_every_common_spelling_normalises_to_lowercase_hex(self, form: object) -> None:
        digest = hashlib.sha256(b"x").hexdigest()
        assert normalise_fingerprint(form(digest)) == digest  # type: ignore[operator]

    def test_display_form_is_colon_separated_upper_case(self) -> None:
        digest = hashlib.sha256(b"x").hexdigest()
        shown = format_fingerprint(digest)
        assert len(shown) == 95
        assert shown == shown.upper()
        assert normalise_fingerprint(shown) == digest

    @pytest.mark.parametrize("bad", ["", "zz" * 32, "ab" * 31, "ab" * 20])
    def test_malformed_fingerprints_are_refused(self, bad: str) -> None:
        with pytest.raises(ValueError, match="SHA"):
            normalise_fingerprint(bad)

    def test_garbage_is_not_a_certificate(self) -> None:
        with pytest.raises(ValueError, match="not a PEM or DER certificate"):
            fingerprint("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----")


class TestPinning:
    def test_the_remote_certificate_is_fetched_without_trusting_it(self) -> None:
        issued = self_signed()
        with HttpsServer(issued) as url:
            remote = fetch_certificate(url)
        assert remote.fingerprint == issued.sha256
        assert fingerprint(remote.pem) == issued.sha256
        assert remote.display_fingerprint == format_fingerprint(issued.sha256)

    @pytest.mark.parametrize("spelling", [str.lower, lambda h: format_fingerprint(h)])
    def test_a_matching_pin_connects_to_a_self_signed_server_reached_by_ip(self, spelling: object) -> None:
        issued = self_signed()
        with HttpsServer(issued) as url:
            context = ssl_context(url, None, [spelling(issued.sha256)])  # type: ignore[operator]
            assert context.verify_mode == ssl.CERT_REQUIRED
            assert get(url, context) == 200

    def test_a_wrong_pin_does_not_connect(self) -> None:
        with HttpsServer(self_signed()) as url:
            assert refused(url, ssl_context(url, None, ["ab" * 32]))

    def test_a_pinned_leaf_that_is_not_self_signed_is_trusted_alone(self) -> None:
        leaf = TestCA("Unknown CA").issue()
        with HttpsServer(leaf) as url:
            assert refused(url, default_context())
            assert get(url, ssl_context(url, None, [leaf.sha256])) == 200

    def test_a_pinned_context_still_refuses_any_other_certificate(self) -> None:
        pinned, other = self_signed(), self_signed()
        with HttpsServer(other) as url:
            assert refused(url, pinned_context(pinned.cert_pem))

    def test_an_unreachable_peer_is_reported_as_such(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        with pytest.raises(PeerUnreachable, match=f"127.0.0.1:{port}"):
            ssl_context(f"https://127.0.0.1:{port}", None, ["ab" * 32], timeout=2)


class TestCaBundles:
    def test_a_ca_bundle_is_trusted_on_top_of_the_system_store(self, tmp_path: Path) -> None:
        ca = TestCA()
        bundle = write(tmp_path, "ca.pem", ca.pem)
        with HttpsServer(ca.issue()) as url:
            assert refused(url, default_context())
            assert get(url, ssl_context(url, bundle)) == 200

    def test_without_pins_no_io_happens_to_build_the_context(self) -> None:
        # An unreachable URL is fine: the context is CA-based and connects only when used.
        assert ssl_context("https://127.0.0.1:9", None, []).verify_mode == ssl.CERT_REQUIRED

    def test_a_missing_bundle_is_a_trust_error(self, tmp_path: Path) -> None:
        with pytest.raises(TrustError):
            default_context(tmp_path / "missing.pem")

    def test_the_combined_bundle_keeps_public_roots_and_adds_the_extra_ca(self, tmp_path: Path) -> None:
        import certifi

        ca = TestCA()
        path = combined_ca_bundle(write(tmp_path, "ca.pem", ca.pem))
        assert isinstance(path, str)
        content = Path(path).read_text()
        assert ca.pem.strip() in content
        first_public_root = Path(certifi.where()).read_text().split("-----END CERTIFICATE-----")[0]
        assert first_public_root.split("-----BEGIN CERTIFICATE-----")[1] in content
        with HttpsServer(ca.issue()) as url:
            # requests (azure-core's transport) trusts only the file it is given.
            assert requests.get(url, verify=path, timeout=10).status_code == 200
        assert combined_ca_bundle(write(tmp_path, "ca.pem", ca.pem)) == path  # same content, same file

    def test_no_extra_bundle_means_default_verification(self) -> None:
        assert combined_ca_bundle(None) is True

    def test_a_bundle_without_certificates_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(TrustError, match="no PEM certificate"):
            combined_ca_bundle(write(tmp_path, "empty.pem", "nothing here"))
