"""Sandbox TLS material: deterministic, verifiable, and never leaking a key."""

from __future__ import annotations

import re
import socket
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtensionOID

from sandbox.core import tls


def _san(pem: str) -> list[str]:
    cert = x509.load_pem_x509_certificate(pem.encode())
    names = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    return [str(v) for v in names.get_values_for_type(x509.IPAddress)] + names.get_values_for_type(
        x509.DNSName
    )


def _handshake(server: tls.Certificate, trusted_pem: str, hostname: str = "127.0.0.1") -> str:
    """Serve one TLS handshake with `server` and connect trusting `trusted_pem`; returns the version."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    context = tls.server_ssl_context(server)
    errors: list[BaseException] = []

    def accept() -> None:
        conn, _ = listener.accept()
        try:
            with context.wrap_socket(conn, server_side=True) as tls_conn:
                tls_conn.recv(1)
        except (ssl.SSLError, OSError) as exc:
            errors.append(exc)

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        client = tls.client_ssl_context(trusted_pem)
        client.verify_flags |= ssl.VERIFY_X509_STRICT
        with (
            socket.create_connection(("127.0.0.1", port)) as raw,
            client.wrap_socket(raw, server_hostname=hostname) as conn,
        ):
            conn.send(b"x")
            return str(conn.version())
    finally:
        thread.join(5)
        listener.close()


def test_the_same_seed_gives_byte_identical_certificates() -> None:
    assert tls.SandboxCA(7).certificate.pem == tls.SandboxCA(7).certificate.pem
    assert (
        tls.SandboxCA(7).issue("arm", ["a.example"]).pem == tls.SandboxCA(7).issue("arm", ["a.example"]).pem
    )
    first = tls.self_signed("hcx.src", ["hcx.src.example"], "7:source")
    assert first == tls.self_signed("hcx.src", ["hcx.src.example"], "7:source")


def test_different_seeds_and_names_give_different_keys() -> None:
    assert tls.SandboxCA(7).certificate.fingerprint_sha256 != tls.SandboxCA(8).certificate.fingerprint_sha256
    a = tls.self_signed("hcx", ["a.example"], 7)
    b = tls.self_signed("hcx", ["b.example"], 7)
    assert a.key_pem != b.key_pem


def test_fingerprint_is_upper_case_colon_separated_sha256_of_the_der() -> None:
    cert = tls.SandboxCA(3).issue("x", [])
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", cert.fingerprint_sha256)
    der_digest = x509.load_pem_x509_certificate(cert.pem.encode()).fingerprint(hashes.SHA256())
    assert cert.fingerprint_sha256 == der_digest.hex(":").upper() == tls.fingerprint(cert.pem)


def test_every_certificate_names_loopback_and_the_given_host() -> None:
    sans = _san(tls.SandboxCA(1).issue("hcx", ["hcx.abc.westeurope.avs.azure.com"]).pem)
    assert sans == ["127.0.0.1", "localhost", "hcx.abc.westeurope.avs.azure.com"]
    assert "10.0.0.9" in _san(tls.self_signed("hcx", ["10.0.0.9"], 1).pem)


def test_a_ca_issued_certificate_verifies_against_the_ca_only() -> None:
    ca = tls.SandboxCA(4)
    server = ca.issue("arm", [])
    assert _handshake(server, ca.certificate.pem) in ("TLSv1.2", "TLSv1.3")
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(server, tls.SandboxCA(5).certificate.pem)


def test_a_self_signed_certificate_is_trusted_only_when_imported_itself() -> None:
    server = tls.self_signed("hcx.dst", ["hcx.dst.example"], 9)
    assert _handshake(server, server.pem, hostname="hcx.dst.example")
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(server, tls.SandboxCA(9).certificate.pem)


def test_hostname_checking_stays_on() -> None:
    ca = tls.SandboxCA(4)
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(ca.issue("arm", []), ca.certificate.pem, hostname="elsewhere.example")


def test_private_keys_never_appear_in_reprs() -> None:
    ca = tls.SandboxCA(2)
    cert = ca.issue("arm", [])
    assert "PRIVATE KEY" in cert.key_pem
    assert "PRIVATE" not in repr(cert)
    assert "PRIVATE" not in repr(ca)


def test_fingerprint_of_something_that_is_not_a_certificate_names_the_field() -> None:
    with pytest.raises(ValueError, match="pem: not a PEM certificate"):
        tls.fingerprint("hello")
