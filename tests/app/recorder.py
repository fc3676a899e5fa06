"""A recording HTTPS server for event deliveries: 127.0.0.1, an ephemeral port, a test CA's certificate.

Every instance is a new server with a new certificate; nothing is shared between tests.
"""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.shared.tls_servers import TestCA


class Recorder:
    """An HTTPS server on 127.0.0.1:0 that records requests and answers `status`."""

    def __init__(self, ca: TestCA, tmp: Path, status: int = 200) -> None:
        issued = ca.issue("127.0.0.1")
        cert, key = tmp / "server.pem", tmp / "server.key"
        cert.write_text(issued.cert_pem)
        key.write_text(issued.key_pem)
        self.requests: list[dict[str, Any]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                recorder.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": self.rfile.read(length)}
                )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
