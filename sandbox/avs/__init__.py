"""The Microsoft.AVS ARM simulator: both private clouds as `azure-mgmt-avs` 10.1.0 sees them.

`ArmBackend` (models) holds the state and implements `sandbox.core.world.ArmView`; `create_app`
(urls) serves it over HTTP with ARM's front door, paging and long-running operations.
"""

from sandbox.avs.exceptions import ArmError
from sandbox.avs.models import DURATIONS, ArmBackend
from sandbox.avs.urls import API_VERSIONS, create_app

__all__ = ["API_VERSIONS", "DURATIONS", "ArmBackend", "ArmError", "create_app"]
