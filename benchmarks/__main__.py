"""Run every benchmark in turn (`python -m benchmarks` / `make bench`), or the ones named.

Each benchmark is a module `benchmarks/<name>_bench.py` with `main(argv) -> int`; this runner only
finds and calls them, so adding a benchmark needs no change here.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks


def _names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.endswith("_bench"))


def main(argv: list[str]) -> int:
    names = _names()
    if argv and argv[0] in ("-h", "--help"):
        print("usage: python -m benchmarks [NAME ...]\n\nbenchmarks: " + ", ".join(names))
        return 0
    unknown = [n for n in argv if n not in names and f"{n}_bench" not in names]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {', '.join(names)}", file=sys.stderr)
        return 2
    chosen = [n if n in names else f"{n}_bench" for n in argv] or names
    status = 0
    for name in chosen:
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        status = max(status, int(module.main([])))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
