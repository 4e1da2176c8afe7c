"""Errors of chaos runs: a fault the mesh cannot execute yet, a bad plan or workload file."""

from __future__ import annotations

from chains.mesh._errors import MeshError
from chains.mesh._topology_errors import MeshConfigError

__all__ = ["ChaosPlanError", "UnsupportedFault", "WorkloadError"]


class UnsupportedFault(MeshError):
    """A fault plan asks for something `Mesh` has no hook for yet.

    ``kind`` is the fault's kind (``"chain_halt"`` ...), ``hook`` names the missing hook, so
    that the refusal says what would have to be built rather than silently doing nothing.
    """

    fields = ("kind", "hook")
    kind: str
    hook: str

    def __init__(self, kind: str, hook: str) -> None:
        super().__init__(kind, hook)

    def __str__(self) -> str:
        return f"fault kind {self.kind!r} is not supported yet: needs {self.hook}"


class ChaosPlanError(MeshConfigError):
    """A fault plan file (or object) is invalid: every issue with key path and line."""


class WorkloadError(MeshConfigError):
    """A workload file (or object) is invalid: every issue with key path and line."""
