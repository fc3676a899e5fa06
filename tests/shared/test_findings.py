"""Findings: registered codes, defaults filled in, JSON round trip, and the generated docs table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.findings import CODES, Finding, blocking, finding, markdown_table, render_doc

DOC = Path(__file__).resolve().parents[2] / "docs" / "findings.md"


def test_finding_fills_severity_and_remedy_from_the_registry() -> None:
    f = finding("NE_CAPACITY", "3 networks need 1 more NE appliance", resource="sm-01")
    assert f.severity == CODES["NE_CAPACITY"].severity
    assert f.remedy == CODES["NE_CAPACITY"].remedy
    assert f.resource == "sm-01"


def test_a_caller_may_change_the_severity_of_one_occurrence() -> None:
    assert finding("WAVE_EMPTY", "x", severity="error").severity == "error"


def test_unknown_codes_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown finding code"):
        finding("NOT_A_CODE", "x")
    with pytest.raises(ValidationError):
        Finding(code="lower_case", severity="error", message="m", remedy="r")


def test_findings_round_trip_through_json() -> None:
    f = finding(
        "HCX_CERTIFICATE_NOT_PINNED", "untrusted", resource="https://hcx", details={"fingerprint": "ab" * 32}
    )
    assert Finding.model_validate_json(f.model_dump_json()) == f


def test_blocking_means_any_error() -> None:
    assert blocking([finding("WAVE_EMPTY", "w"), finding("NE_CAPACITY", "n")])
    assert not blocking([finding("WAVE_EMPTY", "w")])


def test_every_code_is_upper_snake_with_a_remedy() -> None:
    for code, entry in CODES.items():
        assert re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)*", code)
        assert entry.remedy.endswith((".", ")"))
        assert entry.severity in ("error", "warning", "info")


def test_the_docs_table_is_current() -> None:
    current = DOC.read_text()
    assert render_doc(current) == current, "run: python -m shared.findings --write-docs"
    for code in CODES:
        assert f"| `{code}` |" in markdown_table()
