"""Gate on checkov's JSON report for `infra/` (run by `make infra-check`).

checkov's own exit code only counts failed checks: a Bicep file its parser (pycep) cannot read is left
out of the scan with a log line, and a suppression without a reason is accepted. This gate fails the
build on any of: a failed check, a parsing error, a scan that covered no resource, or a skipped check
whose inline `// checkov:skip=ID: reason` has no reason. Usage:

    python tests/infra/checkov_gate.py REPORT.json

It depends only on the standard library, so it runs from the app's venv while checkov lives in its own.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["MIN_REASON_LENGTH", "main", "problems"]

# A reason shorter than this is a placeholder ("todo", "n/a"), not an explanation a reviewer can check.
MIN_REASON_LENGTH = 20


def _reports(report: Any) -> list[dict[str, Any]]:
    # One framework gives a dict; several give a list of dicts; nothing scanned may give [] or {}.
    if isinstance(report, dict):
        return [report] if report else []
    if isinstance(report, list):
        return [r for r in report if isinstance(r, dict)]
    raise ValueError("checkov report: expected a JSON object or array")


def problems(report: Any) -> list[str]:
    """Every reason to fail the build, one line each; an empty list means the gate passes."""
    found: list[str] = []
    reports = _reports(report)
    if not reports:
        return ["checkov scanned nothing: no Bicep file was found or parsed under infra/"]
    resources = 0
    for one in reports:
        summary = one.get("summary", {})
        results = one.get("results", {})
        resources += int(summary.get("resource_count", 0))
        for path in results.get("parsing_errors", []):
            found.append(f"checkov could not parse {path}; its resources were not checked")
        for check in results.get("failed_checks", []):
            found.append(
                f"FAILED {check.get('check_id')} {check.get('check_name')!r} on {check.get('resource')} "
                f"({check.get('file_path')}:{check.get('file_line_range')})"
            )
        for check in results.get("skipped_checks", []):
            reason = str(check.get("check_result", {}).get("suppress_comment", "")).strip()
            if reason == "No comment provided" or len(reason) < MIN_REASON_LENGTH:
                found.append(
                    f"skip of {check.get('check_id')} on {check.get('resource')} has no reason; "
                    "write `// checkov:skip=ID: why it does not apply`"
                )
    if resources == 0:
        found.append("checkov checked no resource: the Bicep files were not parsed")
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: checkov_gate.py REPORT.json", file=sys.stderr)
        return 2
    report = json.loads(Path(argv[1]).read_text(encoding="utf-8") or "[]")
    found = problems(report)
    for line in found:
        print(line, file=sys.stderr)
    if not found:
        summary = [r.get("summary", {}) for r in _reports(report)]
        print(f"checkov gate passed: {summary}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
