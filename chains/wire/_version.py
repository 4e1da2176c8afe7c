"""The control channel's version value and its negotiation (ibc.md I-41..I-43, P-82).

The channel version is the compact JSON ``{"protocol":"mesh-security","version":"<semver>"}``
(unknown extra keys are ignored when parsing). The side answering a proposal uses
``build_response``; the initiator checks the answer with ``verify_compatibility``. Versions
compare by semver precedence (a pre-release is lower than its release; build metadata is
ignored).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from chains.contract._errors import ChainError

__all__ = [
    "MESH_PROTOCOL",
    "MESH_VERSION_MIN",
    "MESH_VERSION_SUPPORTED",
    "InvalidChannelOrder",
    "InvalidProtocol",
    "InvalidVersion",
    "SemVer",
    "VersionTooNew",
    "VersionTooOld",
    "build_response",
    "channel_version",
    "parse_channel_version",
    "verify_compatibility",
]

MESH_PROTOCOL = "mesh-security"
# I-42: the reference ships 0.11.0 as both the supported and the minimum version
MESH_VERSION_SUPPORTED = "0.11.0"
MESH_VERSION_MIN = "0.11.0"

_IDENT = r"(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    rf"(?:-({_IDENT}(?:\.{_IDENT})*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)


class InvalidProtocol(ChainError):
    """The version's ``protocol`` is not ``mesh-security`` (I-41)."""

    fields = ("protocol",)
    protocol: str

    def __init__(self, protocol: str) -> None:
        super().__init__(protocol)


class InvalidVersion(ChainError):
    """The version value is not the expected JSON, or its version is not semver (I-41)."""

    fields = ("text",)
    text: str

    def __init__(self, text: str) -> None:
        super().__init__(text)


class VersionTooOld(ChainError):
    """The proposed (or answered) version is below the minimum (I-43)."""

    fields = ("proposed", "supported")
    proposed: str
    supported: str

    def __init__(self, proposed: str, supported: str) -> None:
        super().__init__(proposed, supported)


class VersionTooNew(ChainError):
    """The proposed version's major (or the answer) is above what is supported (I-43)."""

    fields = ("proposed", "supported")
    proposed: str
    supported: str

    def __init__(self, proposed: str, supported: str) -> None:
        super().__init__(proposed, supported)


class InvalidChannelOrder(ChainError):
    """The control channel must be UNORDERED (I-31)."""


@dataclass(frozen=True, slots=True)
class SemVer:
    """A parsed semantic version; ``text`` is the original string."""

    major: int
    minor: int
    patch: int
    pre: tuple[str, ...]
    text: str

    @classmethod
    def parse(cls, text: str) -> SemVer:
        """Parse ``MAJOR.MINOR.PATCH[-pre][+build]``; raises ``InvalidVersion``."""
        match = _SEMVER.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise InvalidVersion(str(text))
        major, minor, patch, pre, _build = match.groups()
        return cls(int(major), int(minor), int(patch), tuple(pre.split(".")) if pre else (), text)

    def _key(self) -> tuple[object, ...]:
        # a release sorts after all its pre-releases; numeric identifiers sort before
        # alphanumeric ones and compare numerically (semver §11)
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre)

    def __lt__(self, other: SemVer) -> bool:
        return self._key() < other._key()

    def __le__(self, other: SemVer) -> bool:
        return self._key() <= other._key()

    def __gt__(self, other: SemVer) -> bool:
        return self._key() > other._key()

    def __ge__(self, other: SemVer) -> bool:
        return self._key() >= other._key()

    def __str__(self) -> str:
        return self.text


def channel_version(version: str = MESH_VERSION_SUPPORTED) -> str:
    """The compact JSON channel version for ``version`` (I-41)."""
    return json.dumps({"protocol": MESH_PROTOCOL, "version": version}, separators=(",", ":"))


def parse_channel_version(text: str | None) -> SemVer:
    """The semver inside a channel version value.

    Raises ``InvalidVersion`` (not JSON, no version, bad semver) or ``InvalidProtocol``.
    """
    try:
        body = json.loads(text) if text else None
    except ValueError:
        raise InvalidVersion(str(text)) from None
    if not isinstance(body, dict):
        raise InvalidVersion(str(text))
    protocol = body.get("protocol")
    if protocol != MESH_PROTOCOL:
        raise InvalidProtocol(str(protocol))
    version = body.get("version")
    if not isinstance(version, str):
        raise InvalidVersion(str(text))
    return SemVer.parse(version)


def build_response(
    proposed: SemVer,
    supported: SemVer | None = None,
    minimum: SemVer | None = None,
) -> SemVer:
    """The version the answering side uses (I-43): ``min(proposed, supported)``.

    Raises ``VersionTooOld`` (``proposed < minimum``) or ``VersionTooNew`` (``proposed``'s
    major above ``supported``'s).
    """
    supported = supported or SemVer.parse(MESH_VERSION_SUPPORTED)
    minimum = minimum or SemVer.parse(MESH_VERSION_MIN)
    if proposed < minimum:
        raise VersionTooOld(proposed.text, minimum.text)
    if proposed.major > supported.major:
        raise VersionTooNew(proposed.text, supported.text)
    return proposed if proposed <= supported else supported


def verify_compatibility(
    answer: SemVer,
    supported: SemVer | None = None,
    minimum: SemVer | None = None,
) -> None:
    """The initiator's check of the answer (I-43). Raises ``VersionTooOld`` /
    ``VersionTooNew``."""
    supported = supported or SemVer.parse(MESH_VERSION_SUPPORTED)
    minimum = minimum or SemVer.parse(MESH_VERSION_MIN)
    if answer < minimum:
        raise VersionTooOld(answer.text, minimum.text)
    if answer > supported:
        raise VersionTooNew(answer.text, supported.text)
