"""Reading a plan from JSON or YAML into a `MigrationPlan`, or a `PlanError` naming every bad field.

`load_plan(text_or_bytes, content_type=None)` parses the text (JSON or YAML, chosen by the content
type, else by the first character), rejects duplicate keys, and validates. `parse_plan(data)` does the
validation for data already parsed (an Event Grid event's `data`, a queue message).

Every problem becomes `{"path": <RFC 6901 JSON pointer>, "message": ...}`: pydantic's field errors and
the cross-field contradictions of `shared.plan.checks` alike. Messages never echo input values beyond
names the operator wrote, so nothing secret pasted into a wrong field is repeated back.

PyYAML's safe loader parses YAML (no object construction); this module depends on it and pydantic.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from pydantic import ValidationError

from shared.errors import PlanError
from shared.plan.plan import MigrationPlan

__all__ = ["MAX_PLAN_BYTES", "load_plan", "parse_plan", "pointer"]

# A plan naming 20,000 VMs explicitly is well under 1 MiB; anything near this is not a plan.
MAX_PLAN_BYTES = 8 * 1024 * 1024


def pointer(loc: tuple[int | str, ...]) -> str:
    """An RFC 6901 JSON pointer for a pydantic error location (union tags like "<window>" dropped)."""
    parts = []
    for part in loc:
        text = str(part)
        if text.startswith("<") and text.endswith(">"):
            continue
        parts.append(text.replace("~", "~0").replace("/", "~1"))
    return "".join(f"/{p}" for p in parts)


# Plainer words for pydantic's messages where the default would puzzle an operator.
_FRIENDLY = {
    "timezone_aware": "must include a timezone, e.g. 2026-01-10T22:00:00Z",
    "extra_forbidden": "unknown field (check its spelling and place)",
    "missing": "is required",
}


def _errors(exc: ValidationError) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for error in exc.errors(include_url=False, include_input=False):
        if error["type"] == "plan_contradiction":
            out.extend(error.get("ctx", {}).get("issues", []))
            continue
        message = _FRIENDLY.get(error["type"], error["msg"])
        if "<immediate>" in error["loc"]:
            message = "must be a window {start, end}, the string 'immediate', or null to inherit"
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        out.append({"path": pointer(tuple(error["loc"])), "message": message})
    return out


def parse_plan(data: Any) -> MigrationPlan:
    """Validate already-parsed plan data; raises PlanError listing every problem with its pointer."""
    if not isinstance(data, dict):
        raise PlanError([{"path": "", "message": "a plan must be a JSON/YAML object (a mapping)"}])
    try:
        return MigrationPlan.model_validate(data)
    except ValidationError as exc:
        raise PlanError(_errors(exc)) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys instead of silently keeping the last one."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _kind(text: str, content_type: str | None) -> str:
    media = (content_type or "").split(";")[0].strip().lower()
    if media.endswith("json"):
        return "json"
    if "yaml" in media or media.endswith("yml"):
        return "yaml"
    return "json" if text.lstrip().startswith("{") else "yaml"


def load_plan(text_or_bytes: str | bytes, content_type: str | None = None) -> MigrationPlan:
    """Parse and validate a plan given as JSON or YAML text; raises PlanError."""
    if isinstance(text_or_bytes, bytes):
        if len(text_or_bytes) > MAX_PLAN_BYTES:
            raise PlanError([{"path": "", "message": f"the plan is larger than {MAX_PLAN_BYTES} bytes"}])
        try:
            text = text_or_bytes.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise PlanError([{"path": "", "message": "the plan is not UTF-8 text"}]) from None
    else:
        text = text_or_bytes
        if len(text) > MAX_PLAN_BYTES:
            raise PlanError([{"path": "", "message": f"the plan is larger than {MAX_PLAN_BYTES} bytes"}])
    if not text.strip():
        raise PlanError([{"path": "", "message": "the plan is empty"}])
    kind = _kind(text, content_type)
    try:
        if kind == "json":
            data = json.loads(text, object_pairs_hook=_unique_pairs)
        else:
            data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except json.JSONDecodeError as exc:
        raise PlanError(
            [{"path": "", "message": f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"}]
        ) from None
    except ValueError as exc:  # a duplicate JSON key
        raise PlanError([{"path": "", "message": f"not valid JSON: {exc}"}]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "malformed document"
        raise PlanError([{"path": "", "message": f"not valid YAML: {problem}{where}"}]) from None
    return parse_plan(data)
