"""Run every benchmark, or those named: `python -m benchmarks [pages ...]`."""

from __future__ import annotations

import importlib
import sys
import time

BENCHMARKS = ["pages", "ranking", "scheduler", "agendas", "kpi", "report"]


def main(argv: list[str]) -> int:
    names = argv or BENCHMARKS
    failed = []
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"\n=== {name}: {module.__doc__.strip().splitlines()[0]}")
        started = time.perf_counter()
        ok = module.run()
        print(f"--- {name}: {'goal met' if ok else 'GOAL MISSED'} ({time.perf_counter() - started:.1f} s)")
        if not ok:
            failed.append(name)
    if failed:
        print(f"\nGoals missed: {', '.join(failed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
