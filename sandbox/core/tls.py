"""TLS material for the sandbox: a CA, server certificates, and server/client SSL contexts.

SANDBOX-ONLY MATERIAL. Every key here is derived from the scenario seed, so anyone who knows the seed
knows the private keys. That is the point: the same scenario always yields the same certificates, so
an example plan can pin an HCX Manager's SHA-256 fingerprint and a test can predict it. Never use these
keys or this module for anything outside the sandbox.

Determinism comes from three choices: EC P-256 keys from `ec.derive_private_key` on a hash of the
seed and the certificate's purpose, fixed serial numbers and validity dates, and RFC 6979
deterministic ECDSA signatures (`ecdsa_deterministic=True`).

Every certificate's SANs include `127.0.0.1` (IP) and `localhost`, because the sandbox's servers bind
loopback; callers add the host name the certificate stands for (e.g. a cloud's HCX host name).

Library choice: `cryptography` (already a dependency of azure-identity and of this project) builds
and signs the certificates. `trustme` was considered and rejected: it generates fresh random keys on
every run, so fingerprints could not be pinned. This module depends on `cryptography` and the
standard library only.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "Certificate",
    "SandboxCA",
    "client_ssl_context",
    "fingerprint",
    "self_signed",
    "server_ssl_context",
]

# Fixed so the same seed gives byte-identical certificates. Real TLS clients check validity against
# the wall clock, not the sandbox's simulated clock, so the window is wide.
_NOT_BEFORE = datetime(2024, 1, 1, tzinfo=UTC)
_NOT_AFTER = datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC)
_LOOPBACK_SANS = ("127.0.0.1", "localhost")
# Order of the P-256 group: a derived private value must lie in [1, n - 1].
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_ORG = "HCX Conductor sandbox"


@dataclass(frozen=True)
class Certificate:
    """A PEM certificate and its private key. The key never appears in a repr."""

    pem: str
    key_pem: str = field(repr=False)
    # "AB:CD:..." upper-case, colon-separated SHA-256 of the DER certificate.
    fingerprint_sha256: str = ""

    def __post_init__(self) -> None:
        if not self.fingerprint_sha256:
            object.__setattr__(self, "fingerprint_sha256", fingerprint(self.pem))


def fingerprint(pem: str) -> str:
    """SHA-256 fingerprint of the first certificate in `pem`, as `AB:CD:...` (upper-case hex)."""
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError as exc:
        raise ValueError(f"pem: not a PEM certificate ({exc})") from None
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()


def _derive_key(*parts: object) -> ec.EllipticCurvePrivateKey:
    value = int.from_bytes(_digest("key", *parts), "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(value, ec.SECP256R1())


def _serial(*parts: object) -> int:
    # Positive and below 2**159, as RFC 5280 asks; never zero.
    return (int.from_bytes(_digest("serial", *parts)[:19], "big") >> 1) | 1


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORG),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _san(sans: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    seen: set[str] = set()
    for raw in [*_LOOPBACK_SANS, *sans]:
        value = raw.strip().lower()
        if not value or value in seen:
            continue
        seen.add(value)
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(value)))
        except ValueError:
            entries.append(x509.DNSName(value))
    return x509.SubjectAlternativeName(entries)


def _pem(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Certificate:
    return Certificate(
        pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
    )


def _leaf(
    builder: x509.CertificateBuilder, common_name: str, sans: list[str], *, self_issued: bool
) -> x509.CertificateBuilder:
    return (
        builder.subject_name(_name(common_name))
        .not_valid_before(_NOT_BEFORE)
        .not_valid_after(_NOT_AFTER)
        # A self-signed server certificate is its own trust anchor when a client pins or imports it;
        # marking it a CA (as `openssl req -x509` does) keeps strict verifiers happy with that use.
        .add_extension(x509.BasicConstraints(ca=self_issued, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=self_issued,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_san(sans), critical=False)
    )


class SandboxCA:
    """The certificate authority the sandbox's clients trust (through `Sandbox.ca_path`)."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._key = _derive_key(seed, "ca")
        name = _name(f"HCX Conductor sandbox CA {seed}")
        ski = x509.SubjectKeyIdentifier.from_public_key(self._key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(_serial(seed, "ca"))
            .not_valid_before(_NOT_BEFORE)
            .not_valid_after(_NOT_AFTER)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .sign(self._key, hashes.SHA256(), ecdsa_deterministic=True)
        )
        self._cert = cert
        self.certificate = _pem(cert, self._key)

    def __repr__(self) -> str:
        return f"SandboxCA(seed={self._seed!r}, fingerprint={self.certificate.fingerprint_sha256!r})"

    def issue(self, common_name: str, sans: list[str]) -> Certificate:
        """A server certificate for `common_name` signed by this CA; SANs always include loopback."""
        key = _derive_key(self._seed, "issued", common_name, *sorted(sans))
        builder = (
            _leaf(x509.CertificateBuilder(), common_name, sans, self_issued=False)
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(_serial(self._seed, "issued", common_name, *sorted(sans)))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False
            )
        )
        return _pem(builder.sign(self._key, hashes.SHA256(), ecdsa_deterministic=True), key)


def self_signed(common_name: str, sans: list[str], seed: int | str) -> Certificate:
    """A self-signed server certificate (not signed by any CA), as an HCX Manager ships with."""
    key = _derive_key(seed, "self-signed", common_name, *sorted(sans))
    builder = (
        _leaf(x509.CertificateBuilder(), common_name, sans, self_issued=True)
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(_serial(seed, "self-signed", common_name, *sorted(sans)))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return _pem(builder.sign(key, hashes.SHA256(), ecdsa_deterministic=True), key)


def server_ssl_context(cert: Certificate) -> ssl.SSLContext:
    """A TLS server context presenting `cert` (TLS 1.2 or newer)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # ssl can only load a key from a file; the file lives only for the duration of this call.
    with tempfile.TemporaryDirectory(prefix="sandbox-tls-") as tmp:
        path = os.path.join(tmp, "server.pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(cert.pem + cert.key_pem)
        context.load_cert_chain(path)
    return context


def client_ssl_context(trusted_pem: str) -> ssl.SSLContext:
    """A verifying TLS client context that trusts exactly the certificates in `trusted_pem`.

    For tests and tools that talk to one sandbox server; the app itself builds its contexts in
    `shared/tls.py`. Hostname checking stays on (the certificates carry loopback SANs).
    """
    context = ssl.create_default_context(cadata=trusted_pem)
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context
