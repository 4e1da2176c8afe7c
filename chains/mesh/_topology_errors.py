"""Errors of mesh configuration files: topologies and scenarios that do not validate.

A file can be wrong in many places at once, so an error carries every `ConfigIssue` found,
each with the key path it concerns (``("pairings", 1, "discount")``) and, when loaded from
text, the line that wrote it. ``str(error)`` prints one ``file:line: path: message`` line per
issue, the form editors and terminals turn into links.
"""

from __future__ import annotations

from typing import NamedTuple

from chains.contract._errors import ChainError
from chains.mesh._toml_locate import format_key_path

__all__ = ["ConfigIssue", "MeshConfigError", "ScenarioError", "TopologyError"]


class ConfigIssue(NamedTuple):
    """One problem: where (key path, and line when known) and what."""

    path: tuple[str | int, ...]
    message: str
    line: int | None = None

    def describe(self, source: str) -> str:
        """``source:line: path: message`` (parts that are unknown are left out)."""
        where = source or "<topology>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        field = format_key_path(self.path)
        return f"{where}: {field}: {self.message}" if field else f"{where}: {self.message}"


class MeshConfigError(ChainError):
    """A configuration file (or model) that does not validate.

    ``source`` names the file (empty for a model built in code); ``issues`` is every problem
    found, in file order where lines are known.
    """

    fields = ("source", "issues")
    source: str
    issues: tuple[ConfigIssue, ...]

    def __init__(self, source: str, issues: tuple[ConfigIssue, ...]) -> None:
        super().__init__(source, tuple(issues))

    def __str__(self) -> str:
        return "\n".join(issue.describe(self.source) for issue in self.issues)

    def with_source(self, source: str, issues: tuple[ConfigIssue, ...]) -> MeshConfigError:
        """The same kind of error for ``source`` with located ``issues``."""
        return type(self)(source, issues)


class TopologyError(MeshConfigError):
    """A topology (chains, pairings, relayers) that does not validate."""


class ScenarioError(MeshConfigError):
    """A scenario (timed steps) that does not validate, or names what the topology lacks."""
