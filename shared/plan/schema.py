"""The plan's JSON Schema, generated from the pydantic model and checked in as docs/plan.schema.json.

`python -m shared.plan --schema` prints it; `--write-schema` rewrites the file (a test checks that the
checked-in file is current). The schema describes shapes; cross-field rules (a VM in two waves, a
window on vMotion, ...) are enforced by validation and documented in docs/plan.md. This module depends
on the plan model only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.plan.plan import MigrationPlan

__all__ = ["SCHEMA_PATH", "plan_schema", "schema_text"]

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "plan.schema.json"
SCHEMA_ID = "https://github.com/hcx-conductor/hcx-conductor/docs/plan.schema.json"


def plan_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a plan as submitted (validation mode)."""
    schema = MigrationPlan.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": "HCX Conductor migration plan",
    }


def schema_text() -> str:
    return json.dumps(plan_schema(), indent=2, ensure_ascii=False) + "\n"
