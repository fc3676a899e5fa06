"""The app settings the AVS and HCX clients read, typed and checked, from the environment of one call.

Activities call `load_settings()` at the start of each invocation, never at import: the Functions host
may change settings (Key Vault references resolve, slots swap) without a restart, and tests pass an
explicit mapping instead of patching `os.environ`. Problems are collected and raised together as one
`SettingsError` that names each setting and the reason, never its value. Secrets (`AVS_STATIC_TOKEN`,
`HCX_*_PASSWORD`) are held as `pydantic.SecretStr`, so reprs and logs show `**********`.

pydantic-settings was considered; plain pydantic validating a mapping does the same here with no new
dependency and with error messages that cannot leak a value. This module depends on pydantic and
azure-mgmt-core's table of cloud endpoints only.
See docs/settings.md for the full reference.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from azure.core import AzureClouds
from azure.mgmt.core.tools import get_arm_endpoints
from pydantic import BaseModel, ConfigDict, SecretStr

from shared.errors import SettingsError

__all__ = ["DEFAULT_ARM_ENDPOINT", "Settings", "UserPassword", "is_loopback", "load_settings"]

DEFAULT_ARM_ENDPOINT = "https://management.azure.com/"
_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")
# App Service leaves a reference it could not resolve in place, verbatim.
_KEY_VAULT_REFERENCE = "@Microsoft.KeyVault("

Side = Literal["source", "destination"]


class UserPassword(BaseModel):
    """A username and a password that never shows in a repr, str or log line."""

    model_config = ConfigDict(frozen=True)

    username: str
    password: SecretStr


class Settings(BaseModel):
    """Typed app settings; build with `load_settings()` / `Settings.from_env(mapping)`."""

    model_config = ConfigDict(frozen=True)

    arm_endpoint: str = DEFAULT_ARM_ENDPOINT
    arm_api_version: str | None = None
    avs_ca_bundle: Path | None = None
    # Sandbox only: a fixed bearer token, accepted only for a loopback ARM endpoint.
    static_token: SecretStr | None = None
    azure_client_id: str | None = None
    # IDENTITY_ENDPOINT is set by App Service / Functions: a managed identity is available.
    in_azure: bool = False
    hcx_ca_bundle: Path | None = None
    hcx_source: UserPassword | None = None
    hcx_destination: UserPassword | None = None
    eventgrid_topic_endpoint: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and check every setting; raises SettingsError naming all the bad ones at once."""
        env = os.environ if environ is None else environ
        problems: list[str] = []

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            if value.startswith(_KEY_VAULT_REFERENCE):
                problems.append(
                    f"{name}: is an unresolved Key Vault reference; grant the app's identity 'get' on the "
                    "secret and check the reference"
                )
                return None
            return value or None

        endpoint = get("AVS_ARM_ENDPOINT") or DEFAULT_ARM_ENDPOINT
        if not _https(endpoint):
            problems.append("AVS_ARM_ENDPOINT: must be an https URL (bearer tokens are never sent in clear)")
        elif not endpoint.endswith("/"):
            endpoint += "/"
        api_version = get("AVS_ARM_API_VERSION")
        if api_version and not _API_VERSION.match(api_version):
            problems.append("AVS_ARM_API_VERSION: must look like 2026-03-01 (or 2026-03-01-preview)")
        token = get("AVS_STATIC_TOKEN")
        if token and _https(endpoint) and not is_loopback(endpoint):
            problems.append(
                "AVS_STATIC_TOKEN: is only allowed with a loopback AVS_ARM_ENDPOINT (the sandbox); "
                "remove it to use a managed identity or DefaultAzureCredential"
            )
        topic = get("EVENTGRID_TOPIC_ENDPOINT")
        if topic and not _https(topic):
            problems.append("EVENTGRID_TOPIC_ENDPOINT: must be an https URL")
        values = {
            "arm_endpoint": endpoint,
            "arm_api_version": api_version,
            "avs_ca_bundle": _bundle("AVS_CA_BUNDLE", get("AVS_CA_BUNDLE"), problems),
            "static_token": SecretStr(token) if token else None,
            "azure_client_id": get("AZURE_CLIENT_ID"),
            "in_azure": bool(env.get("IDENTITY_ENDPOINT")),
            "hcx_ca_bundle": _bundle("HCX_CA_BUNDLE", get("HCX_CA_BUNDLE"), problems),
            "hcx_source": _pair("HCX_SOURCE", get, problems),
            "hcx_destination": _pair("HCX_DESTINATION", get, problems),
            "eventgrid_topic_endpoint": topic,
        }
        if problems:
            raise SettingsError("invalid app settings:\n  " + "\n  ".join(problems))
        return cls.model_validate(values)

    @property
    def arm_is_loopback(self) -> bool:
        return is_loopback(self.arm_endpoint)

    @property
    def credential_scopes(self) -> list[str]:
        """Token scopes for the ARM endpoint: a known cloud's own scope, else `<endpoint>/.default`.

        azure-mgmt-avs derives scopes from the cloud setting, not from base_url, so sovereign clouds
        need them given explicitly (US Government's ARM audience differs from its host).
        """
        for cloud in AzureClouds:
            known = get_arm_endpoints(cloud)
            if known["resource_manager"].rstrip("/").lower() == self.arm_endpoint.rstrip("/").lower():
                return list(known["credential_scopes"])
        return [self.arm_endpoint.rstrip("/") + "/.default"]

    def hcx_override(self, side: Side) -> UserPassword | None:
        """The HCX_SOURCE_* / HCX_DESTINATION_* credentials, when the operator set them."""
        return self.hcx_source if side == "source" else self.hcx_destination


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings for this call, read now from `environ` (default: os.environ)."""
    return Settings.from_env(environ)


def is_loopback(url: str) -> bool:
    """Whether `url`'s host is this machine (localhost, 127.0.0.0/8, ::1)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _https(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(parts.hostname)


def _bundle(name: str, value: str | None, problems: list[str]) -> Path | None:
    if value is None:
        return None
    path = Path(value)
    if not path.is_file():
        problems.append(f"{name}: no such file {value}")
        return None
    return path


def _pair(prefix: str, get: Callable[[str], str | None], problems: list[str]) -> UserPassword | None:
    username, password = get(f"{prefix}_USERNAME"), get(f"{prefix}_PASSWORD")
    if username and password:
        return UserPassword(username=username, password=SecretStr(password))
    if username or password:
        missing = f"{prefix}_PASSWORD" if username else f"{prefix}_USERNAME"
        problems.append(
            f"{missing}: must be set together with {prefix}_{'USERNAME' if username else 'PASSWORD'}"
        )
    return None
