"""The app's own Azure identity, for the services it signs in to with a token (Storage, Event Grid).

In Azure (App Service / Functions set IDENTITY_ENDPOINT) it is the managed identity, the
user-assigned one when AZURE_CLIENT_ID names it; on a workstation, azure-identity's
DefaultAzureCredential (az login, environment, …). ARM has its own choice in `shared.avs`, which also
allows the sandbox's static token. azure-identity is imported only when a credential is built, so
importing this module costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["app_credential"]


def app_credential(environ: Mapping[str, str]) -> Any:
    """The token credential the app signs in with: its managed identity in Azure, else the default chain."""
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    if environ.get("IDENTITY_ENDPOINT"):
        return ManagedIdentityCredential(client_id=environ.get("AZURE_CLIENT_ID") or None)
    return DefaultAzureCredential()
