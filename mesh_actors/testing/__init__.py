"""Test kit: probes that expect messages in virtual time, and a virtual-time system helper."""

from ._probe import ExpectationFailed, TestProbe
from ._virtual import seed_scheduler, virtual_system

__all__ = ["ExpectationFailed", "TestProbe", "seed_scheduler", "virtual_system"]
