"""`python -m shared.plan --schema | --write-schema | --validate FILE`."""

from __future__ import annotations

import sys
from pathlib import Path

from shared.errors import PlanError
from shared.plan.loading import load_plan
from shared.plan.schema import SCHEMA_PATH, schema_text


def main(argv: list[str]) -> int:
    if argv == ["--schema"]:
        sys.stdout.write(schema_text())
        return 0
    if argv == ["--write-schema"]:
        SCHEMA_PATH.write_text(schema_text())
        print(f"wrote {SCHEMA_PATH}")
        return 0
    if len(argv) == 2 and argv[0] == "--validate":
        try:
            plan = load_plan(Path(argv[1]).read_bytes())
        except OSError as exc:
            print(f"cannot read {argv[1]}: {exc.strerror}", file=sys.stderr)
            return 2
        except PlanError as exc:
            for error in exc.errors:
                print(f"{error['path'] or '/'}: {error['message']}", file=sys.stderr)
            return 1
        print(f"{plan.id}: valid, {len(plan.waves)} waves, digest {plan.digest()}")
        return 0
    print("usage: python -m shared.plan --schema | --write-schema | --validate FILE", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
