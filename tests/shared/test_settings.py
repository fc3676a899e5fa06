"""App settings: read per call, checked together, secrets hidden; and the ARM credential they choose."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
from pydantic import SecretStr

from shared.avs import StaticTokenCredential, arm_credential, avs_client
from shared.errors import SettingsError
from shared.settings import DEFAULT_ARM_ENDPOINT, Settings, is_loopback, load_settings

TOKEN = "sbx-static-token-value"  # a test value whose absence from messages is asserted


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the settings they set: no developer or CI variable leaks in."""
    for name in (
        "AVS_ARM_ENDPOINT",
        "AVS_CA_BUNDLE",
        "AVS_STATIC_TOKEN",
        "AVS_ARM_API_VERSION",
        "AZURE_CLIENT_ID",
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "HCX_CA_BUNDLE",
        "HCX_SOURCE_USERNAME",
        "HCX_SOURCE_PASSWORD",
        "HCX_DESTINATION_USERNAME",
        "HCX_DESTINATION_PASSWORD",
        "EVENTGRID_TOPIC_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)


def problems(env: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    return str(caught.value)


def test_defaults_point_at_public_azure() -> None:
    settings = load_settings({})
    assert settings.arm_endpoint == DEFAULT_ARM_ENDPOINT
    assert settings.credential_scopes == ["https://management.azure.com/.default"]
    assert (settings.static_token, settings.in_azure, settings.hcx_source) == (None, False, None)


def test_settings_are_read_when_asked_not_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().eventgrid_topic_endpoint is None
    monkeypatch.setenv("EVENTGRID_TOPIC_ENDPOINT", "https://topic.example.net/api/events")
    assert load_settings().eventgrid_topic_endpoint == "https://topic.example.net/api/events"


@pytest.mark.parametrize("endpoint", ["https://127.0.0.1:8443", "https://localhost:1/", "https://[::1]:9/"])
def test_a_static_token_is_allowed_for_a_loopback_endpoint(endpoint: str) -> None:
    settings = load_settings({"AVS_ARM_ENDPOINT": endpoint, "AVS_STATIC_TOKEN": TOKEN})
    assert settings.arm_is_loopback
    assert isinstance(settings.static_token, SecretStr)
    assert TOKEN not in repr(settings)
    assert settings.arm_endpoint.endswith("/")


@pytest.mark.parametrize("endpoint", ["", "https://management.azure.com/", "https://127.0.0.1.evil.example/"])
def test_a_static_token_is_refused_for_any_other_endpoint(endpoint: str) -> None:
    message = problems({"AVS_ARM_ENDPOINT": endpoint, "AVS_STATIC_TOKEN": TOKEN})
    assert "AVS_STATIC_TOKEN: is only allowed with a loopback AVS_ARM_ENDPOINT" in message
    assert TOKEN not in message


def test_every_bad_setting_is_named_at_once_without_its_value(tmp_path: Path) -> None:
    message = problems(
        {
            "AVS_ARM_ENDPOINT": "http://management.example",
            "AVS_ARM_API_VERSION": "latest",
            "AVS_CA_BUNDLE": str(tmp_path / "missing.pem"),
            "HCX_SOURCE_USERNAME": "cloudadmin@vsphere.local",
            "HCX_DESTINATION_PASSWORD": "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/x)",
            "EVENTGRID_TOPIC_ENDPOINT": "topic",
        }
    )
    for name in (
        "AVS_ARM_ENDPOINT: must be an https URL",
        "AVS_ARM_API_VERSION: must look like",
        "AVS_CA_BUNDLE: no such file",
        "HCX_SOURCE_PASSWORD: must be set together with HCX_SOURCE_USERNAME",
        "HCX_DESTINATION_PASSWORD: is an unresolved Key Vault reference",
        "EVENTGRID_TOPIC_ENDPOINT: must be an https URL",
    ):
        assert name in message
    assert "kv.vault.azure.net" not in message


def test_hcx_overrides_are_held_as_secrets(tmp_path: Path) -> None:
    bundle = tmp_path / "hcx-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    settings = load_settings(
        {
            "HCX_SOURCE_USERNAME": "ops@vsphere.local",
            "HCX_SOURCE_PASSWORD": "hunter2-override",
            "HCX_CA_BUNDLE": str(bundle),
        }
    )
    override = settings.hcx_override("source")
    assert override is not None
    assert override.password.get_secret_value() == "hunter2-override"
    assert "hunter2" not in repr(settings)
    assert settings.hcx_override("destination") is None
    assert settings.hcx_ca_bundle == bundle


@pytest.mark.parametrize(
    ("endpoint", "scope"),
    [
        ("https://management.azure.com", "https://management.azure.com/.default"),
        ("https://management.usgovcloudapi.net/", "https://management.core.usgovcloudapi.net/.default"),
        ("https://management.chinacloudapi.cn/", "https://management.chinacloudapi.cn/.default"),
        ("https://management.private.example/", "https://management.private.example/.default"),
    ],
)
def test_token_scopes_follow_the_arm_endpoint(endpoint: str, scope: str) -> None:
    assert load_settings({"AVS_ARM_ENDPOINT": endpoint}).credential_scopes == [scope]


def test_is_loopback_only_for_this_machine() -> None:
    assert is_loopback("https://127.1.2.3/")
    assert not is_loopback("https://10.0.0.1/")
    assert not is_loopback("https://localhost.example.com/")


class TestArmCredential:
    def test_the_sandbox_gets_its_static_token_which_never_shows(self) -> None:
        credential = arm_credential(
            load_settings({"AVS_ARM_ENDPOINT": "https://127.0.0.1:1", "AVS_STATIC_TOKEN": TOKEN})
        )
        assert isinstance(credential, StaticTokenCredential)
        assert credential.get_token("https://127.0.0.1:1/.default").token == TOKEN
        assert TOKEN not in repr(credential)

    def test_in_azure_the_user_assigned_managed_identity_is_used(self) -> None:
        env = {
            "IDENTITY_ENDPOINT": "http://localhost:42356/msi/token",
            "AZURE_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
        }
        settings = load_settings(env)
        assert settings.in_azure
        assert isinstance(arm_credential(settings), ManagedIdentityCredential)

    def test_on_a_workstation_the_default_chain_is_used(self) -> None:
        assert isinstance(arm_credential(load_settings({})), DefaultAzureCredential)

    def test_a_static_token_is_refused_even_if_settings_were_built_by_hand(self) -> None:
        forged = Settings(arm_endpoint="https://management.azure.com/", static_token=SecretStr(TOKEN))
        with pytest.raises(SettingsError):
            arm_credential(forged)


def test_the_avs_client_sends_the_endpoints_scope_to_the_credential() -> None:
    """The scope reaches the credential (checked with the real pipeline, stopped before the network)."""
    from azure.core.credentials import AccessToken

    from shared.errors import ForbiddenOperation

    class Recording:
        def __init__(self) -> None:
            self.scopes: list[tuple[str, ...]] = []

        def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
            self.scopes.append(scopes)
            return AccessToken("t", 9999999999)

    recording = Recording()
    settings = load_settings({"AVS_ARM_ENDPOINT": "https://management.usgovcloudapi.net/"})
    client = avs_client(settings, "00000000-0000-4000-8000-000000000001", credential=recording, retry_total=0)
    # The pipeline asks for a token, then the password-rotation guard stops the request before it is
    # sent: the scope is observable and nothing reaches a network.
    with pytest.raises(ForbiddenOperation):
        client.private_clouds.begin_rotate_vcenter_password("rg", "pc")
    assert recording.scopes == [("https://management.core.usgovcloudapi.net/.default",)]
