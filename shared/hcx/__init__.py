"""The typed HCX Manager client (httpx): sessions, pairing, meshes, extensions, inventory, migrations.

    from shared.hcx import HcxClient, HcxError, HcxCertificateUntrusted

Modules: `client` (operations), `transport` (login, re-login, retries, timeouts, error conversion),
`envelope` (lenient unwrapping of HCX bodies), `models` and `migrations` (typed answers and request
bodies), `errors` (the error tree). Reference: /work/shared/reference/hcx-api.md.
"""

from shared.hcx.client import ExtensionStarted, HcxClient, SitePairing
from shared.hcx.errors import (
    HcxAuthError,
    HcxCertificateUntrusted,
    HcxConflict,
    HcxError,
    HcxMessage,
    HcxNotFound,
    HcxPairingError,
    HcxProtocolError,
    HcxTimeout,
    HcxTlsError,
    HcxUnavailable,
    HcxValidationError,
)
from shared.hcx.migrations import (
    Migration,
    MigrationResult,
    MigrationSpec,
    NetworkTarget,
    PlacementRef,
    migration_item,
)
from shared.hcx.models import (
    Appliance,
    CloudConfig,
    CloudEndpoint,
    Container,
    Datastore,
    InterconnectTask,
    InventoryNetwork,
    InventoryVm,
    Job,
    L2Extension,
    ResourceContainer,
    ServiceMesh,
    SiteRef,
    extension_request,
)
from shared.hcx.transport import RetryPolicy

__all__ = [
    "Appliance",
    "CloudConfig",
    "CloudEndpoint",
    "Container",
    "Datastore",
    "ExtensionStarted",
    "HcxAuthError",
    "HcxCertificateUntrusted",
    "HcxClient",
    "HcxConflict",
    "HcxError",
    "HcxMessage",
    "HcxNotFound",
    "HcxPairingError",
    "HcxProtocolError",
    "HcxTimeout",
    "HcxTlsError",
    "HcxUnavailable",
    "HcxValidationError",
    "InterconnectTask",
    "InventoryNetwork",
    "InventoryVm",
    "Job",
    "L2Extension",
    "Migration",
    "MigrationResult",
    "MigrationSpec",
    "NetworkTarget",
    "PlacementRef",
    "ResourceContainer",
    "RetryPolicy",
    "ServiceMesh",
    "SitePairing",
    "SiteRef",
    "extension_request",
    "migration_item",
]
