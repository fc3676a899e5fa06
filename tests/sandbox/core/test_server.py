"""The server seam: TLS on loopback, ephemeral ports, one thread that stop() removes."""

from __future__ import annotations

import threading

import httpx
import pytest
from aiohttp import web

from sandbox.core import tls
from sandbox.core.server import ServerThread


def _app() -> web.Application:
    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"peer": request.remote})

    app = web.Application()
    app.router.add_get("/", hello)
    return app


def test_serves_over_verified_tls_on_an_ephemeral_loopback_port_and_stops_cleanly() -> None:
    before = set(threading.enumerate())
    ca = tls.SandboxCA(1)
    server = ServerThread("test-seam")
    server.start()
    try:
        ports = [server.serve(_app(), tls.server_ssl_context(ca.issue("a", []))) for _ in range(2)]
        assert len(set(ports)) == 2
        assert all(p > 0 for p in ports)
        with httpx.Client(verify=tls.client_ssl_context(ca.certificate.pem)) as client:
            assert client.get(f"https://127.0.0.1:{ports[0]}/").json() == {"peer": "127.0.0.1"}
            with pytest.raises(httpx.ConnectError):
                httpx.get(
                    f"https://127.0.0.1:{ports[1]}/",
                    verify=tls.client_ssl_context(tls.SandboxCA(2).certificate.pem),
                )
    finally:
        server.stop()
    assert set(threading.enumerate()) == before
    server.stop()  # twice is fine


def test_serving_before_start_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="call start"):
        ServerThread().serve(_app(), tls.server_ssl_context(tls.SandboxCA(1).issue("a", [])))
