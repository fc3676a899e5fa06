"""One place for TLS trust: verified against CA bundles, or against a pinned SHA-256 fingerprint.

Nothing here turns verification off. Two ways to trust a peer:

* **CA bundle.** The system trust store plus certifi's bundle (what httpx and requests trust by
  default) plus an optional extra PEM bundle (`default_context`). requests replaces system trust when
  given a CA path, so `combined_ca_bundle` writes one file holding all three for azure-core.
* **Pinned fingerprint.** HCX Managers usually present self-signed certificates. `ssl_context` fetches
  the peer's certificate, compares its SHA-256 fingerprint with the pins, and on a match builds a
  context whose only trust anchor is exactly that certificate (`cadata` + VERIFY_X509_PARTIAL_CHAIN, so
  a leaf that is not self-signed works too). Verification stays on: if the peer presents another
  certificate on the real connection, the handshake fails. Host names are not checked against a pinned
  certificate, because the pin already identifies the peer exactly (HCX is often reached by IP).

Fetching a certificate (`fetch_certificate`) reads the peer's certificate without trusting it, the way
`ssl.get_server_certificate` does; it is used to compare against pins and to show an operator the
fingerprint to pin. Fingerprints are normalised to 64 lowercase hex digits; `format_fingerprint` gives
the "AB:CD:..." form openssl and vCenter show.

Libraries: the standard library's `ssl` and `hashlib` do all of this; `certifi` supplies the bundle
httpx already uses. This module depends on nothing else.
"""

from __future__ import annotations

import hashlib
import os
import re
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import certifi

from shared.errors import TrustError

__all__ = [
    "PeerUnreachable",
    "RemoteCertificate",
    "combined_ca_bundle",
    "default_context",
    "fetch_certificate",
    "fingerprint",
    "format_fingerprint",
    "normalise_fingerprint",
    "pinned_context",
    "ssl_context",
]

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class PeerUnreachable(TrustError):
    """The peer could not be reached to read its certificate (connection refused, timeout, DNS)."""


@dataclass(frozen=True)
class RemoteCertificate:
    url: str
    pem: str
    fingerprint: str  # 64 lowercase hex digits

    @property
    def display_fingerprint(self) -> str:
        return format_fingerprint(self.fingerprint)


def normalise_fingerprint(text: str) -> str:
    """A SHA-256 fingerprint as 64 lowercase hex digits.

    Accepts "AB:CD:…", "ab cd …", "abcd…" and an optional "sha256:" / "SHA256 Fingerprint=" prefix.
    Raises ValueError for anything else, with a hint when the value looks like a SHA-1 thumbprint.
    """
    if not isinstance(text, str):
        raise ValueError("a fingerprint must be a string")
    value = text.strip()
    value = re.sub(r"^(sha-?256\s*(fingerprint)?\s*[:=]?\s*)", "", value, flags=re.IGNORECASE)
    digits = re.sub(r"[\s:\-]", "", value).lower()
    if _HEX64.match(digits):
        return digits
    if re.fullmatch(r"[0-9a-f]{40}", digits):
        raise ValueError("this looks like a SHA-1 thumbprint; pin the SHA-256 fingerprint (64 hex digits)")
    raise ValueError("a SHA-256 fingerprint is 64 hex digits, optionally separated by colons")


def format_fingerprint(value: str) -> str:
    """The "AB:CD:…" form of a fingerprint, as openssl and vCenter display it."""
    digits = normalise_fingerprint(value).upper()
    return ":".join(digits[i : i + 2] for i in range(0, 64, 2))


def _der(cert: str | bytes) -> bytes:
    if isinstance(cert, bytes):
        if cert.lstrip().startswith(b"-----BEGIN"):
            return ssl.PEM_cert_to_DER_cert(cert.decode("ascii"))
        return cert
    return ssl.PEM_cert_to_DER_cert(cert.strip() + "\n")


def fingerprint(cert: str | bytes) -> str:
    """SHA-256 fingerprint (64 lowercase hex) of a certificate given as PEM text or PEM/DER bytes."""
    try:
        der = _der(cert)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("not a PEM or DER certificate") from exc
    return hashlib.sha256(der).hexdigest()


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url if "//" in url else f"https://{url}")
    if parts.scheme not in ("https", ""):
        raise ValueError(f"TLS needs an https URL, got scheme {parts.scheme!r}")
    if not parts.hostname:
        raise ValueError(f"no host in URL {url!r}")
    return parts.hostname, parts.port or 443


def fetch_certificate(url: str, *, timeout: float = 10.0) -> RemoteCertificate:
    """Read the certificate `url`'s server presents, without trusting it, and fingerprint it."""
    host, port = _host_port(url)
    try:
        pem = ssl.get_server_certificate((host, port), timeout=timeout)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror or exc.__class__.__name__ if isinstance(exc, OSError) else str(exc)
        raise PeerUnreachable(f"cannot read the TLS certificate of {host}:{port}: {reason}") from exc
    return RemoteCertificate(url=url, pem=pem, fingerprint=fingerprint(pem))


def default_context(ca_bundle: str | os.PathLike[str] | None = None) -> ssl.SSLContext:
    """A verifying client context trusting the system store, certifi, and `ca_bundle` if given."""
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=certifi.where())
    if ca_bundle:
        try:
            context.load_verify_locations(cafile=os.fspath(ca_bundle))
        except (OSError, ssl.SSLError) as exc:
            raise TrustError(f"cannot load the CA bundle {os.fspath(ca_bundle)}: {exc}") from exc
    return context


def pinned_context(pem: str) -> ssl.SSLContext:
    """A verifying client context whose only trust anchor is the certificate `pem`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # The pin identifies the peer exactly, so its name does not matter (HCX is often reached by IP);
    # verify_mode stays CERT_REQUIRED, so a different certificate still fails the handshake.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    # A leaf that is not self-signed is not a root; PARTIAL_CHAIN lets it be the trust anchor itself.
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    context.load_verify_locations(cadata=pem)
    return context


def ssl_context(
    url: str,
    ca_bundle: str | os.PathLike[str] | None = None,
    pins: tuple[str, ...] | list[str] = (),
    *,
    timeout: float = 10.0,
) -> ssl.SSLContext:
    """The context to reach `url` with: pinned when the peer's certificate matches a pin, else CA-based.

    Without pins this does no I/O. With pins it reads the peer's certificate once; a certificate that
    matches no pin falls back to CA trust (system + `ca_bundle`), where an untrusted one then fails the
    handshake. Raises PeerUnreachable when the certificate cannot be read.
    """
    wanted = {normalise_fingerprint(p) for p in pins}
    if wanted:
        remote = fetch_certificate(url, timeout=timeout)
        if remote.fingerprint in wanted:
            return pinned_context(remote.pem)
    return default_context(ca_bundle)


def _system_cafile() -> str | None:
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and os.path.isfile(candidate):
            return candidate
    return None


def combined_ca_bundle(extra: str | os.PathLike[str] | None) -> str | bool:
    """A CA file for requests/azure-core: system CAs + certifi + `extra`; True when there is no extra.

    requests trusts only the file it is given, so an extra CA must be merged with the usual roots. The
    merged file is written once per content (named by its hash) in the temp directory, atomically.
    """
    if not extra:
        return True
    try:
        extra_pem = Path(extra).read_bytes()
    except OSError as exc:
        raise TrustError(f"cannot read the CA bundle {os.fspath(extra)}: {exc.strerror}") from exc
    if b"-----BEGIN CERTIFICATE-----" not in extra_pem:
        raise TrustError(f"the CA bundle {os.fspath(extra)} holds no PEM certificate")
    parts = [Path(certifi.where()).read_bytes()]
    system = _system_cafile()
    if system:
        parts.insert(0, Path(system).read_bytes())
    parts.append(extra_pem)
    content = b"\n".join(p.rstrip(b"\n") for p in parts) + b"\n"
    target = Path(tempfile.gettempdir()) / f"hcx-conductor-ca-{hashlib.sha256(content).hexdigest()[:16]}.pem"
    if not target.exists():
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".ca-", suffix=".pem")
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(tmp, target)
    return str(target)
