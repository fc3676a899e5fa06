"""What every activity needs to talk to ARM and HCX, built per call from the app settings.

* `settings()`: the app settings, read now (never at import), so Key Vault references and slot swaps
  take effect without a restart.
* `arm(settings, cloud_id)`: the real `AVSClient` for the cloud's subscription (`shared.avs`).
* `hcx(side, cloud_id, url, pins)`: a logged-in `HcxClient` for one HCX Manager, as a context
  manager. The cloudadmin credentials are fetched here (`shared.credentials`: the HCX_<SIDE>_*
  override or `listAdminCredentials`), used to build the client and let go; they never leave this
  module. Clients are cached per process (`ClientCache`, keyed by URL, cloud and the trust inputs),
  so a polling loop neither logs in nor asks ARM for the credentials on every poll; a client that
  fails with a TLS or authentication error is dropped from the cache, so a rotated certificate or
  password is picked up on the next call, and clients are rebuilt every `CLIENT_MAX_AGE_SECONDS`.
* `remote_credentials(...)`: the destination's cloudadmin for the pairing request, for the duration of
  one call.

Activities return findings for the outcomes an operator acts on and raise only for the unexpected or
the transient (the orchestrator retries those with durable timers). This module depends on
`shared.settings`, `shared.avs`, `shared.credentials` and `shared.hcx`.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from azure.mgmt.avs import AVSClient

from shared.avs import avs_client
from shared.cloud import parse_private_cloud_id
from shared.credentials import Side, cloudadmin_credentials
from shared.hcx import HcxAuthError, HcxClient, HcxTlsError, RetryPolicy
from shared.settings import Settings, UserPassword, load_settings

__all__ = ["ClientCache", "arm", "cache", "hcx", "remote_credentials", "settings"]

# The HCX client retries reads in wall time; keep that short, the orchestrator's retries wait in
# durable (possibly virtual) time instead.
ACTIVITY_RETRY_ATTEMPTS, ACTIVITY_RETRY_BASE, ACTIVITY_RETRY_CAP = 2, 0.25, 2.0
# A cached client is rebuilt after this long, so trust and credentials are re-read now and then.
CLIENT_MAX_AGE_SECONDS = 15 * 60
ARM_RETRIES = 2


def settings() -> Settings:
    return load_settings()


def arm(config: Settings, cloud_id: str) -> AVSClient:
    """The AVS client for the subscription of `cloud_id`; the caller closes it."""
    return avs_client(config, parse_private_cloud_id(cloud_id).subscription_id, retry_total=ARM_RETRIES)


class ClientCache:
    """A small, thread-safe cache of logged-in HCX clients (activities run on several threads)."""

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._clients: OrderedDict[tuple[str, ...], tuple[float, HcxClient]] = OrderedDict()

    @staticmethod
    def key(url: str, cloud_id: str, pins: Sequence[str], ca_bundle: str | None) -> tuple[str, ...]:
        # Keyed by what decides trust and identity, never by the credentials themselves: they are
        # fetched only to build a client, and a refused login drops the client (rotated password).
        return (url.rstrip("/").lower(), cloud_id.lower(), ",".join(sorted(pins)), ca_bundle or "")

    def get(self, key: tuple[str, ...]) -> HcxClient | None:
        with self._lock:
            entry = self._clients.get(key)
            if entry is None:
                return None
            born, client = entry
            if time.monotonic() - born > CLIENT_MAX_AGE_SECONDS:
                del self._clients[key]
                client.close()
                return None
            self._clients.move_to_end(key)
            return client

    def put(self, key: tuple[str, ...], client: HcxClient) -> None:
        with self._lock:
            self._clients[key] = (time.monotonic(), client)
            self._clients.move_to_end(key)
            while len(self._clients) > self._size:
                _, (_, old) = self._clients.popitem(last=False)
                old.close()

    def drop(self, key: tuple[str, ...]) -> None:
        with self._lock:
            entry = self._clients.pop(key, None)
        if entry is not None:
            entry[1].close()

    def clear(self) -> None:
        with self._lock:
            entries = list(self._clients.values())
            self._clients.clear()
        for _, client in entries:
            client.close()


# The per-process cache design_orchestration.md allows: clients only, never credentials in the clear.
cache = ClientCache()


def _credentials(side: Side, config: Settings, cloud_id: str) -> UserPassword:
    override = config.hcx_override(side)
    if override is not None:
        return override
    client = arm(config, cloud_id)
    try:
        return cloudadmin_credentials(side, cloud_id, config, client)
    finally:
        client.close()


@contextmanager
def hcx(
    side: Side, cloud_id: str, url: str, pins: Sequence[str] = (), config: Settings | None = None
) -> Iterator[HcxClient]:
    """A client for the HCX Manager of `side`, trusting HCX_CA_BUNDLE and the plan's `pins`.

    A cached client is reused without fetching the credentials again (listAdminCredentials is an ARM
    POST, which counts against the subscription's write quota); a TLS or login failure drops it.
    """
    config = config or settings()
    bundle = str(config.hcx_ca_bundle) if config.hcx_ca_bundle else None
    key = ClientCache.key(url, cloud_id, pins, bundle)
    client = cache.get(key)
    if client is None:
        client = HcxClient.for_settings(
            config,
            url,
            _credentials(side, config, cloud_id),
            pins=pins,
            retry=RetryPolicy(ACTIVITY_RETRY_ATTEMPTS, ACTIVITY_RETRY_BASE, ACTIVITY_RETRY_CAP),
        )
        cache.put(key, client)
    try:
        yield client
    except (HcxTlsError, HcxAuthError):
        cache.drop(key)
        raise


def remote_credentials(side: Side, cloud_id: str, config: Settings | None = None) -> UserPassword:
    """The cloudadmin credentials of `side`, for a pairing request; hold them for one call only."""
    return _credentials(side, config or settings(), cloud_id)
