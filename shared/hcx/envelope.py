"""Reading HCX bodies leniently: the three envelope styles and the many places errors hide.

HCX answers in three styles (hcx-api.md §2.1): the hybridity envelope `{"success", "completed",
"time", "version", "data": {...}}`, bare `{"items": [...]}`, and flat objects. `items()` unwraps
`data.items`, then `items`, then a bare list; `data()` unwraps `data` or returns the object itself.

Errors and warnings appear at the top level, under each `items[]` entry, and under `data` (and
`data.items[]`), in several shapes: `{"code", "message"}`, the pairing form `{"error", "text",
"data"}`, plain strings, and `errorMessage` / `errorCode` + `error` fields. `messages()` collects them
all into `HcxMessage`s, so callers never care which shape a manager version used. Nothing here
raises on an unexpected shape: unknown fields are ignored. This module depends on nothing else.
"""

from __future__ import annotations

from typing import Any

from shared.hcx.errors import HcxMessage

__all__ = ["data", "first_message", "items", "messages"]


def items(body: Any) -> list[dict[str, Any]]:
    """The list of items in `body`: `data.items`, else `items`, else `data` as a list, else `body`."""
    candidates: list[Any] = []
    if isinstance(body, dict):
        inner = body.get("data")
        if isinstance(inner, dict):
            candidates.append(inner.get("items"))
        candidates += [body.get("items"), body.get("rows"), inner]
    candidates.append(body)
    for candidate in candidates:
        if isinstance(candidate, list):
            return [entry for entry in candidate if isinstance(entry, dict)]
    return []


def data(body: Any) -> dict[str, Any]:
    """The object in `body`: its `data` when that is an object, else `body` itself ({} if neither)."""
    if isinstance(body, dict):
        inner = body.get("data")
        return inner if isinstance(inner, dict) else body
    return {}


def _normalise(entry: Any) -> HcxMessage | None:
    if isinstance(entry, str):
        return HcxMessage(code="", message=entry) if entry.strip() else None
    if not isinstance(entry, dict):
        return None
    code = entry.get("code") or entry.get("errorCode") or entry.get("error") or ""
    text = entry.get("message") or entry.get("text") or entry.get("errorMessage") or entry.get("error") or ""
    return HcxMessage(code=str(code), message=str(text), data=entry.get("data"))


def _collect(node: Any, key: str, out: list[HcxMessage]) -> None:
    if not isinstance(node, dict):
        return
    value = node.get(key)
    if key == "warnings" and value is None:
        value = node.get("warning")  # PowerCLI's metadata names it in the singular (hcx-api.md §7.3)
    entries = value if isinstance(value, list) else [value] if isinstance(value, dict | str) else []
    for entry in entries:
        message = _normalise(entry)
        if message is not None and (message.code or message.message or message.data is not None):
            out.append(message)


def messages(body: Any) -> tuple[list[HcxMessage], list[HcxMessage]]:
    """(errors, warnings) from everywhere HCX puts them in `body`."""
    errors: list[HcxMessage] = []
    warnings: list[HcxMessage] = []
    if not isinstance(body, dict):
        return errors, warnings
    nodes: list[Any] = [body]
    inner = body.get("data")
    if isinstance(inner, dict):
        nodes.append(inner)
        nodes += [i for i in inner.get("items") or [] if isinstance(i, dict)]
    nodes += [i for i in body.get("items") or [] if isinstance(i, dict)]
    for node in nodes:
        _collect(node, "errors", errors)
        _collect(node, "warnings", warnings)
    # Flat forms: an interconnect task's errorMessage; the 9.x appliance API's errorCode + error.
    flat = body.get("errorMessage") or (body.get("error") if isinstance(body.get("error"), str) else None)
    if flat:
        errors.append(HcxMessage(code=str(body.get("errorCode") or ""), message=str(flat)))
    return errors, warnings


def first_message(body: Any, default: str = "") -> str:
    """The first error's text in `body` (code if it has no text), or `default`."""
    errors, _ = messages(body)
    for error in errors:
        if error.message or error.code:
            return error.message or error.code
    return default
