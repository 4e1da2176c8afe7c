"""The interfaces every transport and every codec implement.

A `Transport` is a `mesh_actors.Network` that can also be listed and closed: actor systems
attach to it by name and get an `mesh_actors.Endpoint` back. A `Codec` turns envelopes into
frames (bytes) and back; transports that cross a process boundary use one, and the in-memory
transport can be made to use one so that tests catch anything that could not cross a wire.
Every implementation runs the same conformance suite (`transport.testing`).
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from mesh_actors import Endpoint, Envelope, Inbound

__all__ = ["Codec", "Transport"]


@runtime_checkable
class Transport(Protocol):
    """Moves envelopes between the actor systems attached to it.

    Use it as an async context manager; leaving the block closes it (`aclose`).
    """

    async def attach(self, system: str, inbound: Inbound) -> Endpoint:
        """Attach the actor system named ``system``; envelopes for it go to ``inbound``.

        Raises ``ValueError`` if the name is attached already and `TransportClosed` once the
        transport is closed. The name is free again after the endpoint's ``aclose``.
        """
        ...

    def systems(self) -> frozenset[str]:
        """The names of the systems this transport can route to right now (cheap to call)."""
        ...

    async def aclose(self) -> None:
        """Close every endpoint and release resources; idempotent.

        Sends through any endpoint of this transport raise `TransportClosed` afterwards.
        """
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None: ...


@runtime_checkable
class Codec(Protocol):
    """Turns envelopes into frames and frames back into equal envelopes.

    ``decode(encode(e)) == e`` for every envelope ``encode`` accepts. Both directions raise
    only `CodecError` subclasses: `UnknownMessageType`, `FrameTooLarge`, `UnencodableMessage`
    (encode) and `MalformedFrame` (decode), whatever the input.
    """

    @property
    def max_frame_size(self) -> int:
        """The largest frame, in bytes, that `encode` produces and `decode` accepts."""
        ...

    def encode(self, envelope: Envelope) -> bytes:
        """The frame carrying ``envelope``."""
        ...

    def decode(self, frame: bytes) -> Envelope:
        """The envelope carried by ``frame``; never trusts the input."""
        ...
