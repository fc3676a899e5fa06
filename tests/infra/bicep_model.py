"""Read the Bicep in `infra/` as data, for the tests: parse with pycep-parser, then evaluate the small
expression subset the templates use so a test can ask "what are the actions of the role when
`listAdminCredentialsAsAction` is false?" instead of grepping text.

Library: pycep-parser (the Bicep parser checkov itself uses) turns a file into JSON; nothing here
re-implements parsing. The evaluator knows literals, parameter and variable references, `concat`,
`union`, `empty`, `items`, `==`, `!`, the conditional operator, `if (...)` and `for` resources, and
`${...}` interpolation of loop items. Anything else is returned unevaluated, which makes a test that
relies on it fail loudly rather than pass by accident. The Bicep CLI is not available here, so this is
no substitute for `az bicep build` (docs/deploy.md lists what it would add).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pycep import BicepParser

__all__ = ["INFRA", "Template", "load"]

INFRA = Path(__file__).resolve().parents[2] / "infra"

_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\.(key|value)\}")


def _key(key: str) -> str:
    # pycep keeps the quotes of a quoted object key ('azd-env-name'); Bicep's value has none.
    if len(key) >= 2 and key[0] == key[-1] == "'" and "${" not in key:
        return key[1:-1]
    return key


class Template:
    """One parsed .bicep file and an evaluator for its expressions."""

    def __init__(self, path: Path, doc: dict[str, Any]) -> None:
        self.path = path
        self.doc = doc

    @property
    def parameters(self) -> dict[str, Any]:
        return dict(self.doc.get("parameters", {}))

    @property
    def variables(self) -> dict[str, Any]:
        return dict(self.doc.get("variables", {}))

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.doc.get("resources", {}))

    @property
    def modules(self) -> dict[str, Any]:
        return dict(self.doc.get("modules", {}))

    @property
    def outputs(self) -> dict[str, Any]:
        return dict(self.doc.get("outputs", {}))

    def resources_of_type(self, type_: str) -> dict[str, dict[str, Any]]:
        return {name: r for name, r in self.resources.items() if r["type"].lower() == type_.lower()}

    def config(self, resource: str) -> dict[str, Any]:
        """The resource's body as written, unevaluated (inside any `if (...)` or `for` wrapper)."""
        config = self.resources[resource]["config"]
        while "config" in config and ("condition" in config or "loop_type" in config):
            config = config["config"]
        return dict(config)

    def instances(self, resource: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The evaluated bodies the resource declaration deploys: none when its condition is false, one
        per item for a loop, else one."""
        return _Evaluator(self, params or {}).instances(self.resources[resource]["config"])

    def evaluate(self, expr: Any, params: dict[str, Any] | None = None) -> Any:
        """Value of `expr` with parameters set from `params`, else their defaults."""
        return _Evaluator(self, params or {}).eval(expr, {})


class _Evaluator:
    def __init__(self, template: Template, params: dict[str, Any]) -> None:
        self.template = template
        self.params = params

    def instances(self, config: dict[str, Any]) -> list[dict[str, Any]]:
        if "loop_type" in config:
            detail = config["loop_type"]["detail"]
            items = self.eval(detail["array_name"], {})
            assert isinstance(items, list), f"cannot evaluate the loop over {detail['array_name']!r}"
            return [self.eval(config["config"], {detail["item_name"]: item}) for item in items]
        if "condition" in config and "config" in config:
            condition = self.eval(config["condition"], {})
            assert isinstance(condition, bool), f"cannot evaluate the condition {config['condition']!r}"
            return [self.eval(config["config"], {})] if condition else []
        return [self.eval(config, {})]

    def eval(self, expr: Any, loop: dict[str, Any]) -> Any:
        if isinstance(expr, list):
            return [self.eval(item, loop) for item in expr]
        if isinstance(expr, str):
            return self._name(expr, loop)
        if not isinstance(expr, dict):
            return expr
        if set(expr) == {"function"}:
            return self._function(expr["function"], loop)
        if set(expr) == {"operator"}:
            return self._operator(expr["operator"], loop)
        if "loop_type" in expr:
            return self._loop(expr, loop)
        return {_key(key): self.eval(value, loop) for key, value in expr.items()}

    def _name(self, text: str, loop: dict[str, Any]) -> Any:
        if text in loop:
            return loop[text]
        if text in self.params:
            return self.params[text]
        parameters = self.template.parameters
        if text in parameters:
            default = parameters[text].get("default")
            return text if default is None else self.eval(default, loop)
        variables = self.template.variables
        if text in variables:
            return self.eval(variables[text]["value"], loop)
        if loop:

            def substitute(match: re.Match[str]) -> str:
                item = loop.get(match.group(1))
                return match.group(0) if not isinstance(item, dict) else str(item[match.group(2)])

            return _INTERPOLATION.sub(substitute, text)
        return text

    def _function(self, function: dict[str, Any], loop: dict[str, Any]) -> Any:
        kind = function["type"]
        named = {key: self.eval(arg, loop) for key, arg in (function.get("parameters") or {}).items()}
        args = list(named.values())
        if kind == "concat" and all(isinstance(a, list) for a in args):
            return [item for arg in args for item in arg]
        if kind == "union" and all(isinstance(a, list) for a in args):
            merged: list[Any] = []
            for arg in args:
                merged.extend(item for item in arg if item not in merged)
            return merged
        if kind == "union" and all(isinstance(a, dict) for a in args):
            out: dict[str, Any] = {}
            for arg in args:
                out.update(arg)
            return out
        if kind == "empty" and len(args) == 1:
            return not args[0]
        if kind == "items" and len(args) == 1 and isinstance(args[0], dict):
            return [{"key": k, "value": v} for k, v in sorted(args[0].items(), key=lambda kv: kv[0].lower())]
        # Not evaluable here (guid(), resourceGroup(), ...): keep the call, with its arguments evaluated.
        return (
            {"function": {**function, "parameters": named}}
            if "parameters" in function
            else {"function": function}
        )

    def _operator(self, operator: dict[str, Any], loop: dict[str, Any]) -> Any:
        kind = operator["type"]
        operands = operator["operands"]
        if kind == "conditional":
            condition = self.eval(operands["condition"], loop)
            if isinstance(condition, bool):
                branch = "true_value" if condition else "false_value"
                return self.eval(operands[branch], loop)
        if kind == "not":
            value = self.eval(operands["bool_value"], loop)
            if isinstance(value, bool):
                return not value
        if kind == "equals":
            return self.eval(operands["operand_1"], loop) == self.eval(operands["operand_2"], loop)
        if kind == "property_accessor":
            target = operands["operand_1"]
            if isinstance(target, str) and target in loop:
                return loop[target][operands["operand_2"]]
        return {"operator": operator}

    def _loop(self, expr: dict[str, Any], loop: dict[str, Any]) -> Any:
        detail = expr["loop_type"]["detail"]
        items = self.eval(detail["array_name"], loop)
        if not isinstance(items, list):
            return expr
        return [self.eval(expr["config"], {**loop, detail["item_name"]: item}) for item in items]


def load(relative: str) -> Template:
    """Parse `infra/<relative>` afresh (tests share no parsed state)."""
    path = INFRA / relative
    return Template(path, BicepParser().parse(file_path=path))
