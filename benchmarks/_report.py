"""Measurement helpers: repeated runs, medians, ratios against a baseline, one table."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Figure", "Report", "measure"]


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    baseline: str | None = None
    ratio: float | None = None
    note: str = ""


@dataclass
class Report:
    """Collects figures; `baseline` and `compare` pair a measurement with its bare limit."""

    figures: list[Figure] = field(default_factory=list)
    _baselines: dict[str, float] = field(default_factory=dict)

    def baseline(self, name: str, value: float, unit: str, note: str = "") -> None:
        self._baselines[name] = value
        self.figures.append(Figure(name, value, unit, note=note or "baseline"))
        self._print(self.figures[-1])

    def compare(self, name: str, value: float, unit: str, baseline: str, note: str = "") -> None:
        base = self._baselines[baseline]
        ratio = value / base if base else None
        self.figures.append(Figure(name, value, unit, baseline, ratio, note))
        self._print(self.figures[-1])

    def figure(self, name: str, value: float, unit: str, note: str = "") -> None:
        self.figures.append(Figure(name, value, unit, note=note))
        self._print(self.figures[-1])

    @staticmethod
    def _print(f: Figure) -> None:
        ratio = f"  {_shown(f.ratio, 2)}x of {f.baseline}" if f.ratio is not None else ""
        note = f"  ({f.note})" if f.note else ""
        print(f"  {f.name:<58} {_shown(f.value, 1):>14} {f.unit:<10}{ratio}{note}", flush=True)


def _shown(value: float, decimals: int) -> str:
    """``value`` with ``decimals`` decimals, or three significant digits when that would
    hide them (a rate of 0.12 days/s or a ratio of 0.076x is not "0.1" or "0.08")."""
    if 0 < abs(value) < 10 ** (3 - decimals):
        return f"{value:.3g}"
    return f"{value:,.{decimals}f}"


def measure(fn: Callable[[], float], repeats: int = 5) -> float:
    """Median over ``repeats`` of ``fn()``, which returns one rate (operations per second)."""
    return statistics.median(fn() for _ in range(repeats))


def rate(count: int, started: float) -> float:
    """Operations per second since ``started`` (a ``time.perf_counter()`` reading)."""
    return count / (time.perf_counter() - started)
