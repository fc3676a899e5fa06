"""docs/plan-reference.md: generated from the plan's JSON Schema, complete, and current."""

from __future__ import annotations

import re
import subprocess
import sys

from conductor.plan_reference import REFERENCE_PATH, reference_text
from shared.plan.schema import plan_schema


def test_the_checked_in_reference_is_current() -> None:
    assert REFERENCE_PATH.read_text(encoding="utf-8") == reference_text(), (
        "run: python -m conductor.plan_reference --write"
    )


def test_every_object_has_a_section_listing_every_field() -> None:
    schema = plan_schema()
    text = reference_text()
    sections = dict(re.findall(r"^## (\S+)[^\n]*\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S))
    objects = {"Plan": schema, **schema["$defs"]}
    assert set(objects) <= set(sections)
    for name, definition in objects.items():
        listed = set(re.findall(r"^\| `([a-z_]+)` \|", sections[name], flags=re.M))
        assert listed == set(definition["properties"]), name


def test_required_fields_defaults_and_nested_paths_are_shown() -> None:
    text = reference_text()
    assert "| `id` | string | **required** |" in text
    assert "| `max_attempts` | integer 1–10 | `3` |" in text
    # An override object is found inside each wave, and its type links to its own section.
    assert "Appears at `/waves/*/migration`." in text
    assert "[SwitchoverWindow](#switchoverwindow)" in text
    assert "one of `proceed`, `skip_wave`, `cancel`" in text


def test_every_link_inside_the_page_lands_on_a_heading() -> None:
    text = reference_text()
    headings = {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in re.findall(r"^## (.+)$", text, re.M)
    }
    targets = set(re.findall(r"\]\(#([a-z0-9-]+)\)", text))
    assert targets
    assert targets <= headings


def test_the_module_checks_staleness_from_the_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "conductor.plan_reference", "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
