"""The HCX Manager simulator: one per private cloud, over TLS, sharing the sandbox's world and clock.

`HcxBackend(world, side)` holds one manager's state (`sandbox.hcx.models`); `create_app(backend,
middlewares)` serves it as an aiohttp application with the HCX REST routes (`sandbox.hcx.urls`). The
Sandbox assembly (`sandbox.sandbox`) builds both, issues the certificates and binds the servers.
"""

from sandbox.hcx.exceptions import HcxError
from sandbox.hcx.models import HcxBackend
from sandbox.hcx.urls import create_app

__all__ = ["HcxBackend", "HcxError", "create_app"]
