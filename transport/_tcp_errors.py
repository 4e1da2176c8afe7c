"""The errors of the TCP transport, added to the package's flat hierarchy.

Each names one reason a connection, a handshake or a send is refused, so a caller (or a log
reader) can act on it without parsing text. Wire-level garbage reuses the codec's
`MalformedFrame` and `FrameTooLarge`; what is specific to connections lives here.
"""

from __future__ import annotations

import anyio

from ._errors import TransportError, UnknownSystem

__all__ = [
    "HandshakeRefused",
    "PeerUnreachable",
    "ProtocolViolation",
    "SendQueueFull",
]


class HandshakeRefused(TransportError):
    """A connection's handshake failed: wrong protocol version or codec, a peer that could
    not prove it knows the shared secret, a replayed handshake, or the wrong system.

    ``reason`` is a short stable text (``"version"``, ``"codec"``, ``"authentication"``,
    ``"replay"``, ``"system"``, ``"malformed"``, ``"timeout"``, ``"refused by peer"``);
    the message says more.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"handshake refused ({reason}): {detail}")
        self.reason = reason
        self.detail = detail


class ProtocolViolation(TransportError):
    """An authenticated peer broke the connection protocol (a frame type not allowed at this
    point, more messages than it had credit for, a broken chunk sequence)."""


class SendQueueFull(TransportError, anyio.WouldBlock):
    """``send_nowait`` found the link's bounded send queue full (``await send`` would wait).

    It is also an ``anyio.WouldBlock``, which is what the `mesh_actors.Endpoint` protocol
    promises ``send_nowait`` raises instead of waiting.
    """

    def __init__(self, target: str, capacity: int) -> None:
        super().__init__(f"the send queue to {target!r} is full ({capacity} envelopes)")
        self.target = target
        self.capacity = capacity


class PeerUnreachable(UnknownSystem):
    """The peer system has an address but cannot be reached right now (connection refused or
    lost and not yet re-established); sends fail at once instead of piling up.

    It is an `UnknownSystem` (a ``LookupError``), so `mesh_actors.ActorSystem` fails an ask
    with `mesh_actors.NoRoute` at once and sends a tell to the dead letters.
    """

    def __init__(self, system: str, reason: str) -> None:
        super().__init__(system)
        self.args = (f"actor system {system!r} is unreachable: {reason}",)
        self.reason = reason
