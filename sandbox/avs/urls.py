"""The ARM simulator's route table, its front door (bearer token, api-version) and `create_app`.

Paths are Microsoft.AVS's with their exact casing (avs-arm.md §5, §11). The front door answers like
ARM does before any resource provider sees a request: 401 without a valid `Authorization: Bearer`,
400 `MissingApiVersionParameter` without `api-version`, 400 `NoRegisteredProviderFound` for an
api-version the provider does not serve. Every error is an ARM error body; a client's mistake is 4xx,
never 5xx. This module depends on aiohttp and the ARM backend.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web

from sandbox.avs.exceptions import ArmError, AuthenticationFailed, BadRequest
from sandbox.avs.models import ArmBackend
from sandbox.avs.responses import ArmResponses
from sandbox.core.faults import INTROSPECTION_PREFIX

__all__ = ["API_VERSIONS", "BACKEND_KEY", "ROUTES", "create_app"]

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
BACKEND_KEY = web.AppKey("arm_backend", ArmBackend)

# azure-mgmt-avs 10.1.0 sends 2026-03-01; older SDKs and pinned clients send the earlier ones.
# inferred: which versions real ARM serves in a region (avs-arm.md §12).
API_VERSIONS = ("2023-03-01", "2023-09-01", "2024-09-01", "2025-09-01", "2026-03-01")

SUB = "/subscriptions/{subscription}"
PC = SUB + "/resourceGroups/{resource_group}/providers/Microsoft.AVS/privateClouds/{cloud}"
WN = PC + "/workloadNetworks/default"
CL = PC + "/clusters/{cluster}"

ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", SUB + "/providers/Microsoft.AVS/privateClouds", "list_private_clouds_in_subscription"),
    (
        "GET",
        SUB + "/resourceGroups/{resource_group}/providers/Microsoft.AVS/privateClouds",
        "list_private_clouds",
    ),
    ("GET", PC, "get_private_cloud"),
    ("PATCH", PC, "update_private_cloud"),
    ("POST", PC + "/listAdminCredentials", "list_admin_credentials"),
    ("POST", PC + "/rotateVcenterPassword", "rotate_vcenter_password"),
    ("POST", PC + "/rotateNsxtPassword", "rotate_nsxt_password"),
    ("GET", PC + "/addons", "list_addons"),
    ("GET", PC + "/addons/{name}", "get_addon"),
    ("PUT", PC + "/addons/{name}", "create_or_update_addon"),
    ("DELETE", PC + "/addons/{name}", "delete_addon"),
    ("GET", PC + "/hcxEnterpriseSites", "list_hcx_enterprise_sites"),
    ("GET", PC + "/hcxEnterpriseSites/{name}", "get_hcx_enterprise_site"),
    ("PUT", PC + "/hcxEnterpriseSites/{name}", "create_or_update_hcx_enterprise_site"),
    ("DELETE", PC + "/hcxEnterpriseSites/{name}", "delete_hcx_enterprise_site"),
    ("GET", PC + "/cloudLinks", "list_cloud_links"),
    ("GET", PC + "/cloudLinks/{name}", "get_cloud_link"),
    ("PUT", PC + "/cloudLinks/{name}", "create_or_update_cloud_link"),
    ("DELETE", PC + "/cloudLinks/{name}", "delete_cloud_link"),
    ("GET", PC + "/authorizations", "list_authorizations"),
    ("GET", PC + "/authorizations/{name}", "get_authorization"),
    ("PUT", PC + "/authorizations/{name}", "create_or_update_authorization"),
    ("DELETE", PC + "/authorizations/{name}", "delete_authorization"),
    ("GET", PC + "/globalReachConnections", "list_global_reach_connections"),
    ("GET", PC + "/globalReachConnections/{name}", "get_global_reach_connection"),
    ("PUT", PC + "/globalReachConnections/{name}", "create_or_update_global_reach_connection"),
    ("DELETE", PC + "/globalReachConnections/{name}", "delete_global_reach_connection"),
    ("GET", PC + "/workloadNetworks", "list_workload_networks"),
    ("GET", WN, "get_workload_network"),
    ("GET", WN + "/gateways", "list_gateways"),
    ("GET", WN + "/gateways/{name}", "get_gateway"),
    ("GET", WN + "/segments", "list_segments"),
    ("GET", WN + "/segments/{name}", "get_segment"),
    ("PUT", WN + "/segments/{name}", "create_segment"),
    ("PATCH", WN + "/segments/{name}", "update_segment"),
    ("DELETE", WN + "/segments/{name}", "delete_segment"),
    ("GET", PC + "/clusters", "list_clusters"),
    ("GET", CL, "get_cluster"),
    ("PUT", CL, "create_or_update_cluster"),
    ("PATCH", CL, "update_cluster"),
    ("DELETE", CL, "delete_cluster"),
    ("GET", CL + "/datastores", "list_datastores"),
    ("GET", CL + "/datastores/{name}", "get_datastore"),
    ("PUT", CL + "/datastores/{name}", "create_or_update_datastore"),
    ("DELETE", CL + "/datastores/{name}", "delete_datastore"),
    (
        "GET",
        SUB + "/providers/Microsoft.AVS/locations/{location}/operationStatuses/{operation}",
        "operation_status",
    ),
    (
        "GET",
        SUB + "/providers/Microsoft.AVS/locations/{location}/operationResults/{operation}",
        "operation_result",
    ),
)


def _gate(token: str) -> Any:
    """ARM's front door: authentication first (as ARM answers 401 before anything else), then api-version."""
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(INTROSPECTION_PREFIX):
            return await handler(request)
        header = request.headers.get("Authorization")
        if header is None:
            raise AuthenticationFailed(
                "Authentication failed. The 'Authorization' header is missing.", code="AuthenticationFailed"
            )
        # Constant-time comparison: the token is a secret even in a sandbox.
        if not hmac.compare_digest(header.encode(), expected):
            raise AuthenticationFailed(
                "The access token is invalid or has expired.", code="InvalidAuthenticationToken"
            )
        version = request.query.get("api-version")
        if not version:
            raise BadRequest(
                "The api-version query parameter (?api-version=) is required for all requests.",
                code="MissingApiVersionParameter",
            )
        # inferred: ARM's answer to an api-version the provider lacks (code and wording).
        if version not in API_VERSIONS:
            raise BadRequest(
                f"No registered resource provider found for api-version '{version}'. The supported "
                f"api-versions are '{', '.join(API_VERSIONS)}'.",
                code="NoRegisteredProviderFound",
            )
        return await handler(request)

    return gate


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render every error as an ARM error body."""
    try:
        return await handler(request)
    except ArmError as exc:
        headers = {}
        if exc.status == 401:
            headers["WWW-Authenticate"] = (
                'Bearer authorization_uri="https://login.microsoftonline.com/common"'
            )
        return web.json_response(exc.to_wire(), status=exc.status, headers=headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        # inferred: ARM's body for a path no route matches (real ARM says InvalidResourceType or 404).
        code = {404: "NotFound", 405: "MethodNotAllowed", 413: "RequestEntityTooLarge"}.get(
            exc.status, "BadRequest"
        )
        body = {
            "error": {
                "code": code,
                "message": f"{exc.reason}: {request.method} {request.path}",
                "details": [],
            }
        }
        return web.json_response(body, status=exc.status)
    except Exception:
        log.exception("ARM simulator failed on %s %s", request.method, request.path)
        body = {"error": {"code": "InternalServerError", "message": "The simulator failed.", "details": []}}
        return web.json_response(body, status=500)


def create_app(
    backend: ArmBackend, middlewares: Sequence[Any] = (), *, token: str, page_size: int = 50
) -> web.Application:
    """The ARM simulator as an aiohttp application; `middlewares` (faults, counting) run outermost."""
    responses = ArmResponses(backend, page_size=page_size)
    app = web.Application(middlewares=[*middlewares, _errors, _gate(token)])
    app[BACKEND_KEY] = backend
    for method, path, name in ROUTES:
        app.router.add_route(method, path, getattr(responses, name), name=name)
    return app
