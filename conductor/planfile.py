"""Reading a plan file for the CLI: the offline checks, as one `PlanFileError` naming every bad field.

`read_plan(path)` -> `MigrationPlan`, or `PlanFileError` for a file that is missing, unreadable or
invalid (one line per problem, each with its JSON pointer). `plan validate`, `plan estimate` and
`submit` all read plans here. Depends on `shared.plan` and `conductor.errors` only.
"""

from __future__ import annotations

from pathlib import Path

from conductor.errors import PlanFileError
from shared.errors import PlanError
from shared.plan import MigrationPlan, load_plan

__all__ = ["PlanInvalid", "read_plan"]


def read_plan(path: Path) -> MigrationPlan:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PlanFileError(f"{path}: no such file", "check the plan's path") from None
    except IsADirectoryError:
        raise PlanFileError(
            f"{path}: is a directory, not a plan file", "give the plan's YAML or JSON file"
        ) from None
    except OSError as exc:
        raise PlanFileError(f"{path}: cannot read ({exc.strerror})", "check the file's permissions") from None
    try:
        return load_plan(data, "application/json" if path.suffix.lower() == ".json" else None)
    except PlanError as exc:
        raise PlanInvalid(path, exc) from None


class PlanInvalid(PlanFileError):
    """An invalid plan: one line per problem, each with the JSON pointer of the field at fault."""

    def __init__(self, path: Path, exc: PlanError) -> None:
        count = len(exc.errors)
        super().__init__(
            f"{path}: invalid plan ({count} problem{'s' if count != 1 else ''})",
            "fix the fields below (docs/plan.md describes each)",
        )
        self.errors = exc.errors

    def line(self) -> str:
        details = "".join(f"\n  {e['path'] or '/'}: {e['message']}" for e in self.errors)
        return super().line() + details
