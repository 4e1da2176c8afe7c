"""Test kit: probes that expect messages in virtual time, and a virtual-time system helper."""

from ._probe import ExpectationFailed, TestProbe
from ._virtual import virtual_system

__all__ = ["ExpectationFailed", "TestProbe", "virtual_system"]
