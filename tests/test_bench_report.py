"""The benchmark report shows small rates and ratios with their significant digits."""

from __future__ import annotations

import pytest

from benchmarks._report import Report


def test_small_figures_keep_three_significant_digits(capsys: pytest.CaptureFixture[str]) -> None:
    """A rate of 0.122 days/s against a target of 0.3 is not printed as "0.1", nor a ratio of
    0.0755x as "0.08x"; large figures keep their thousands separators and one decimal."""
    report = Report()
    report.baseline("ping", 156_032.4, "acks/s")
    report.compare("ibc", 11_784.1, "packets/s", "ping")
    report.figure("stress", 0.1216, "days/s")
    report.figure("idle", 220.5, "days/s")
    out = capsys.readouterr().out
    assert "156,032.4" in out and "11,784.1" in out
    assert "0.0755x of ping" in out
    assert " 0.122 days/s" in out
    assert " 220.5 days/s" in out
