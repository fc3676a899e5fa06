"""Cloudadmin credentials for the HCX Managers, fetched inside an activity and held only briefly.

`cloudadmin_credentials(side, cloud, settings, client)` returns the operator's override when
HCX_<SIDE>_USERNAME/PASSWORD are set (normally Key Vault references the platform resolves), else asks
ARM (`POST .../listAdminCredentials`) for the private cloud's vCenter cloudadmin, which is also the HCX
Cloud Manager login. The result is a `UserPassword` whose password is a `SecretStr`: its repr and str
show `**********`, it is never logged, and callers must not put it in activity results, orchestrator
inputs, custom status or events. Fetch it in the activity that uses it, and let it go out of scope.

Errors become `CredentialsError` with the cloud and the HTTP status, never the response body. This
module depends on azure-mgmt-avs (through an `AVSClient`) and `shared.settings`.
"""

from __future__ import annotations

from typing import Literal

from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.mgmt.avs import AVSClient
from pydantic import SecretStr

from shared.cloud import PrivateCloudRef, parse_private_cloud_id
from shared.errors import CredentialsError
from shared.settings import Settings, UserPassword

__all__ = ["UserPassword", "cloudadmin_credentials"]

Side = Literal["source", "destination"]


def cloudadmin_credentials(
    side: Side,
    cloud: PrivateCloudRef | str,
    settings: Settings,
    client: AVSClient | None,
) -> UserPassword:
    """The HCX login of one side: the HCX_<SIDE>_* override, else listAdminCredentials on `cloud`."""
    override = settings.hcx_override(side)
    if override is not None:
        return override
    if client is None:
        raise CredentialsError(f"no AVS client to read the {side} cloudadmin credentials with")
    ref = cloud if isinstance(cloud, PrivateCloudRef) else parse_private_cloud_id(cloud)
    try:
        admin = client.private_clouds.list_admin_credentials(ref.resource_group, ref.name)
    except ClientAuthenticationError as exc:
        raise CredentialsError(
            f"listAdminCredentials on {ref.id} was refused ({exc.status_code}): grant the app's identity "
            "Microsoft.AVS/privateClouds/listAdminCredentials/action"
        ) from None
    except HttpResponseError as exc:
        code = exc.error.code if exc.error is not None else exc.reason
        raise CredentialsError(
            f"listAdminCredentials on {ref.id} failed: HTTP {exc.status_code} {code}"
        ) from None
    if not admin.vcenter_username or not admin.vcenter_password:
        raise CredentialsError(f"listAdminCredentials on {ref.id} returned no vCenter cloudadmin credentials")
    return UserPassword(username=admin.vcenter_username, password=SecretStr(admin.vcenter_password))
