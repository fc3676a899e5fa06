"""The runtime's HTTP side: app routes, the Durable HTTP API, the Event Grid webhook, keys, URLs."""

from runtime.http.server import DEFAULT_MAX_BODY_BYTES, HttpHost

__all__ = ["DEFAULT_MAX_BODY_BYTES", "HttpHost"]
