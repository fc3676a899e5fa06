"""The checked-in JSON Schema is generated from the model and describes a real plan."""

from __future__ import annotations

import json
import subprocess
import sys

from shared.plan.schema import SCHEMA_PATH, plan_schema, schema_text


def test_the_checked_in_schema_is_current() -> None:
    assert SCHEMA_PATH.read_text() == schema_text(), "run: python -m shared.plan --write-schema"


def test_the_schema_names_every_top_level_field_and_forbids_others() -> None:
    schema = plan_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"id", "source", "destination", "waves"}
    assert {"connectivity", "hcx", "network_extensions", "migration", "limits", "network_cutover"} <= set(
        schema["properties"]
    )
    # Field docs travel into the schema, for the generated plan reference.
    assert "Durable instance id" in json.dumps(schema["properties"]["id"])


def test_the_module_prints_the_schema() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "shared.plan", "--schema"], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == plan_schema()


def test_the_guides_example_plan_is_valid() -> None:
    import re

    from shared.plan import load_plan
    from shared.plan.schema import SCHEMA_PATH as schema_path

    guide = (schema_path.parent / "plan.md").read_text()
    example = re.search(r"```yaml\n(.*?)```", guide, re.S)
    assert example is not None
    plan = load_plan(example.group(1), content_type="application/yaml")
    assert [w.name for w in plan.waves] == ["pilot", "web", "databases"]
    assert plan.effective("databases").migration.type == "rav"
