"""Read the source HCX Manager's VM inventory into the planner's `InventoryVm` records.

`plan draft --from-hcx` logs in to the source HCX Manager with the typed client (`shared.hcx`), lists
every VM of its local vCenter (`service/inventory/virtualmachines`, all pages) and converts each VM:
power state, CPUs, memory, provisioned and used disk, folder, networks, guest OS. HCX's inventory
carries no application tag, so groups come from folders. TLS is verified against a pinned SHA-256
fingerprint or a CA bundle, never skipped. HCX errors become one `EndpointError` line that names the
manager and says what to do; the password is never part of a message. Depends on `shared.hcx`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import SecretStr

from conductor.errors import EndpointError
from shared.errors import TrustError
from shared.hcx import (
    HcxAuthError,
    HcxClient,
    HcxError,
    HcxTlsError,
    HcxUnavailable,
)
from shared.hcx import InventoryVm as HcxVm
from shared.planner import InventoryVm
from shared.settings import UserPassword
from shared.tls import PeerUnreachable

__all__ = ["read_hcx_inventory", "to_inventory_vm"]

MIB = 2**20
POWER: dict[str, Literal["on", "off", "suspended"]] = {
    "poweredon": "on",
    "on": "on",
    "poweredoff": "off",
    "off": "off",
    "suspended": "suspended",
}


def to_inventory_vm(vm: HcxVm) -> InventoryVm:
    """One HCX inventory VM as the planner sees it; unknown power states plan as powered on."""
    summary = vm.summary
    power = POWER.get((vm.power_state or "").replace("_", "").lower(), "on")
    return InventoryVm(
        name=vm.name,
        power_state=power,
        cpus=int(summary.get("numCpu") or 0),
        memory_mib=float(summary.get("memorySizeMB") or 0),
        provisioned_mib=vm.disk_bytes / MIB,
        used_mib=vm.used_bytes / MIB,  # HCX's usedSpace, else the provisioned size
        folder=vm.folder,
        networks=tuple(vm.networks),
        guest_os=summary.get("guestFullName") or None,
    )


def read_hcx_inventory(
    url: str,
    username: str,
    password: str,
    *,
    pins: Sequence[str] = (),
    ca_bundle: str | None = None,
) -> list[InventoryVm]:
    """Every VM the HCX Manager at `url` lists for its local vCenter."""
    credentials = UserPassword(username=username, password=SecretStr(password))
    try:
        with HcxClient(url, credentials, pins=pins, ca_bundle=ca_bundle) as hcx:
            vms = hcx.virtual_machines()
    except HcxTlsError as exc:
        shown = f" (its SHA-256 fingerprint is {exc.fingerprint})" if exc.fingerprint else ""
        raise EndpointError(
            f"{url}: the HCX Manager's certificate is not trusted{shown}",
            "verify the fingerprint out of band, then pass it with --hcx-fingerprint (or --hcx-ca-bundle)",
        ) from None
    except HcxAuthError:
        raise EndpointError(
            f"{url}: the HCX Manager refused the credentials of {username}",
            "check CONDUCTOR_HCX_USERNAME and CONDUCTOR_HCX_PASSWORD (cloudadmin@vsphere.local on AVS)",
        ) from None
    except (HcxUnavailable, PeerUnreachable) as exc:
        # With pins, shared.tls reads the peer's certificate first: a refused connection shows there.
        raise EndpointError(
            f"{url}: the HCX Manager cannot be reached ({type(exc).__name__})",
            "check the URL and that this machine reaches the manager on TCP 443",
        ) from None
    except TrustError as exc:
        raise EndpointError(f"{url}: TLS trust could not be set up: {exc}", "check --hcx-ca-bundle") from None
    except HcxError as exc:
        raise EndpointError(
            f"{url}: HCX answered an error: {exc}", "run again with --debug for details"
        ) from None
    return [to_inventory_vm(vm) for vm in vms]
