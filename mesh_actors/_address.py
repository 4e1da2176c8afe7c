"""Location-transparent actor addresses: ``system/actor-path``."""

from __future__ import annotations

import re
from typing import Final

from ._errors import InvalidName

__all__ = ["Address"]

_NAME: Final = re.compile(r"[A-Za-z0-9_.:\-]+\Z")


def check_name(name: str, what: str = "actor") -> str:
    """Return ``name`` if it may be used as a system or actor name, else raise `InvalidName`."""
    if not _NAME.match(name):
        raise InvalidName(f"invalid {what} name {name!r}: use letters, digits, '_', '.', ':', '-'")
    return name


class Address:
    """Where an actor lives: the name of its actor system and its path within it.

    Addresses are values: equal when system and path are equal, hashable, and printed as
    ``system/path`` (``osmosis/vault``, ``osmosis/chain/vault``). Paths of system-internal
    endpoints start with ``$`` (for example ``$reply``) and never name an actor.
    """

    __slots__ = ("_str", "path", "system")

    def __init__(self, system: str, path: str) -> None:
        self.system = system
        self.path = path
        self._str = f"{system}/{path}"

    @classmethod
    def parse(cls, text: str) -> Address:
        """Parse ``system/path``; raise `InvalidName` if either part is malformed."""
        system, sep, path = text.partition("/")
        if not sep or not path:
            raise InvalidName(f"invalid address {text!r}: expected 'system/actor-path'")
        check_name(system, "system")
        if not path.startswith("$"):
            for part in path.split("/"):
                check_name(part)
        return cls(system, path)

    @property
    def name(self) -> str:
        """The last segment of the path."""
        return self.path.rpartition("/")[2]

    def child(self, name: str) -> Address:
        """The address of a child named ``name``."""
        return Address(self.system, f"{self.path}/{name}")

    def __str__(self) -> str:
        return self._str

    def __repr__(self) -> str:
        return f"Address({self._str!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Address) and other._str == self._str

    def __hash__(self) -> int:
        return hash(self._str)
