"""`python -m benchmarks [NAME ...|all]`: run benchmarks by name, or list them.

Each benchmark is also a module of its own (`python -m benchmarks.bench_hash --help`) with
options for its size; this entry point runs them at their default sizes.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks


def available() -> list[str]:
    return sorted(
        module.name.removeprefix("bench_")
        for module in pkgutil.iter_modules(benchmarks.__path__)
        if module.name.startswith("bench_")
    )


def main(argv: list[str]) -> int:
    names = available()
    if not argv:
        print("benchmarks: " + ", ".join(names))
        print("run: python -m benchmarks NAME [NAME ...] | all")
        return 0
    chosen = names if argv == ["all"] else argv
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(names)}")
        return 2
    for name in chosen:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        saved, sys.argv = sys.argv, [f"bench_{name}"]
        try:
            module.main()
        finally:
            sys.argv = saved
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
