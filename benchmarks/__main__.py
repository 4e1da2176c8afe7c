"""``python -m benchmarks [name ...]``: run the benchmark modules and print their figures."""

from __future__ import annotations

import importlib
import pkgutil
import platform
import sys
import time

import benchmarks
from benchmarks._report import Report


def main(argv: list[str]) -> int:
    names = sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules(benchmarks.__path__)
        if m.name.startswith("bench_")
    )
    chosen = argv or names
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        print(f"unknown benchmarks: {', '.join(unknown)}; available: {', '.join(names)}")
        return 2
    print(f"mesh-actors benchmarks on Python {platform.python_version()}, {platform.machine()}")
    print("each figure is the median of several runs; ratios are against the bare baseline")
    for name in chosen:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"\n[{name}]")
        started = time.perf_counter()
        module.run(Report())
        print(f"  ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
