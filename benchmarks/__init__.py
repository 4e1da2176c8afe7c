"""Benchmarks: every figure is printed next to a bare baseline measured in the same run.

Run all with ``make bench`` (``python -m benchmarks``), or some with
``python -m benchmarks actors chain``. Each module ``benchmarks/bench_<name>.py`` defines
``run(report: Report) -> None``. Nothing here asserts: performance is measured, not tested.
"""
