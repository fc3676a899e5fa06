"""HTTP trigger routes: ASP.NET Core route templates, as the Functions host matches them.

A template such as `orchestrators/{functionName}/{instanceId?}`, `items/{id:int}`, `files/{*path}` or
`v{major:int:min(1)}/ping` is compiled to a regular expression plus per-parameter checks. Literals
match case-insensitively (ASP.NET routing does); a request whose path matches but whose method is not
among the function's `methods` does not match at all, which the host answers with 404.

Supported constraints: int, long, bool, alpha, guid, decimal, double, float, datetime, min(n),
max(n), range(a,b), length(n), length(a,b), minlength(n), maxlength(n), regex(expr). An unknown
constraint is ignored with a warning at start-up. Depends on the standard library only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Route", "RouteTable", "compile_template"]

log = logging.getLogger("runtime.http")

_NUMBER = r"[-+]?\d+(?:\.\d+)?"
_PATTERNS = {
    "int": r"[-+]?\d+",
    "long": r"[-+]?\d+",
    "bool": r"(?i:true|false)",
    "alpha": r"[A-Za-z]+",
    "guid": r"\{?[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}\}?",
    "decimal": _NUMBER,
    "double": _NUMBER,
    "float": _NUMBER,
}


def _split_constraints(spec: str) -> list[str]:
    """`int:min(1):regex(^a:b$)` -> ['int', 'min(1)', 'regex(^a:b$)'] (colons inside () kept)."""
    parts: list[str] = []
    depth = 0
    current = ""
    for ch in spec:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == ":" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p for p in parts if p]


def _check(constraint: str) -> tuple[str | None, Callable[[str], bool] | None]:
    """(regex fragment, extra check) for one constraint."""
    name, _, arg = constraint.partition("(")
    arg = arg[:-1] if arg.endswith(")") else arg
    name = name.strip().lower()
    if name in _PATTERNS:
        return _PATTERNS[name], None
    if name == "datetime":

        def is_datetime(value: str) -> bool:
            try:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return False
            return True

        return None, is_datetime
    if name in ("min", "max", "range"):
        bounds = [float(x) for x in arg.split(",")]
        low = bounds[0] if name in ("min", "range") else float("-inf")
        high = bounds[-1] if name in ("max", "range") else float("inf")
        if name == "max":
            low, high = float("-inf"), bounds[0]
        return _PATTERNS["long"], lambda v: low <= float(v) <= high
    if name in ("length", "minlength", "maxlength"):
        sizes = [int(x) for x in arg.split(",")]
        if name == "minlength":
            return None, lambda v: len(v) >= sizes[0]
        if name == "maxlength":
            return None, lambda v: len(v) <= sizes[0]
        low, high = (sizes[0], sizes[0]) if len(sizes) == 1 else (sizes[0], sizes[1])
        return None, lambda v: low <= len(v) <= high
    if name == "regex":
        pattern = re.compile(arg)
        return None, lambda v: pattern.search(v) is not None
    log.warning("route constraint %r is not supported by the local runtime and is ignored", constraint)
    return None, None


@dataclass
class Route:
    """One HTTP trigger: its template, methods (empty = any) and what to call."""

    template: str
    methods: frozenset[str]
    target: Any
    regex: re.Pattern[str] = field(init=False)
    names: list[str] = field(init=False)
    checks: dict[str, list[Callable[[str], bool]]] = field(init=False)
    defaults: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.regex, self.names, self.checks, self.defaults = compile_template(self.template)

    @property
    def specificity(self) -> tuple[int, int, int]:
        catch_all = self.template.count("{*")
        params = len(self.names)
        literal = sum(
            len(text)
            for part in self.template.split("/")
            for kind, text in _tokens(part)
            if kind == "literal"
        )
        return (catch_all, params, -literal)

    def match(self, path: str) -> dict[str, str] | None:
        found = self.regex.fullmatch(path.strip("/"))
        if not found:
            return None
        values: dict[str, str] = {}
        for index, name in enumerate(self.names):
            value = found.group(f"p{index}")
            if value is None:
                if name in self.defaults:
                    values[name] = self.defaults[name]
                continue
            if not all(check(value) for check in self.checks.get(name, [])):
                return None
            values[name] = value
        return values


def _tokens(segment: str) -> list[tuple[str, str]]:
    """Split a path segment into ("literal", text) and ("param", body); `{{`/`}}` are escaped braces."""
    tokens: list[tuple[str, str]] = []
    literal = ""
    i = 0
    while i < len(segment):
        if segment.startswith("{{", i) or segment.startswith("}}", i):
            literal += segment[i]
            i += 2
            continue
        if segment[i] != "{":
            literal += segment[i]
            i += 1
            continue
        body = ""
        j = i + 1
        while j < len(segment):
            if segment.startswith("{{", j) or segment.startswith("}}", j):
                body += segment[j]
                j += 2
                continue
            if segment[j] == "}":
                break
            body += segment[j]
            j += 1
        if literal:
            tokens.append(("literal", literal))
            literal = ""
        tokens.append(("param", body))
        i = j + 1
    if literal:
        tokens.append(("literal", literal))
    return tokens


def compile_template(
    template: str,
) -> tuple[re.Pattern[str], list[str], dict[str, list[Callable[[str], bool]]], dict[str, str]]:
    names: list[str] = []
    checks: dict[str, list[Callable[[str], bool]]] = {}
    defaults: dict[str, str] = {}
    pieces: list[str] = []
    for position, segment in enumerate(template.strip("/").split("/")):
        separator = "/" if position else ""
        tokens = _tokens(segment)
        if len(tokens) == 1 and tokens[0][0] == "param":
            body = tokens[0][1]
            optional = catch_all = False
            if body.startswith("*"):
                body, catch_all = body.lstrip("*"), True
            if body.endswith("?"):
                body, optional = body[:-1], True
            if "=" in body:
                body, default = body.split("=", 1)
                defaults[body.split(":")[0]] = default
                optional = True
            _, pattern = _parameter(body, names, checks, catch_all=catch_all)
            group = f"(?P<p{len(names) - 1}>{pattern})"
            pieces.append(f"(?:{separator}{group})?" if optional or catch_all else f"{separator}{group}")
            continue
        out = separator
        for kind, text in tokens:
            if kind == "literal":
                out += re.escape(text)
            else:
                _, pattern = _parameter(text, names, checks, catch_all=False)
                out += f"(?P<p{len(names) - 1}>{pattern})"
        pieces.append(out)
    return re.compile("".join(pieces), re.IGNORECASE), names, checks, defaults


def _parameter(
    body: str, names: list[str], checks: dict[str, list[Callable[[str], bool]]], *, catch_all: bool
) -> tuple[str, str]:
    name, _, rest = body.partition(":")
    constraints = _split_constraints(rest)
    pattern = ".*" if catch_all else "[^/]+"
    for constraint in constraints:
        fragment, check = _check(constraint)
        if fragment:
            pattern = fragment
        if check:
            checks.setdefault(name, []).append(check)
    names.append(name)
    return name, pattern


class RouteTable:
    """Routes in ASP.NET precedence order: literal-heavy before parameter-heavy before catch-all."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = sorted(routes, key=lambda r: r.specificity)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.methods and method.upper() not in route.methods:
                continue
            values = route.match(path)
            if values is not None:
                return route, values
        return None
