"""The transport's exception hierarchy: small and flat, mapped at the transport boundary.

Everything a transport raises to a caller is a `TransportError`. Codec refusals are a
`CodecError` with one subclass per reason, so a caller can tell "the peer sent garbage" from
"this message can never cross a wire" without parsing messages.
"""

from __future__ import annotations

__all__ = [
    "CodecError",
    "FrameTooLarge",
    "MalformedFrame",
    "TransportClosed",
    "TransportError",
    "UnencodableMessage",
    "UnknownMessageType",
    "UnknownSystem",
]


class TransportError(Exception):
    """Base class of every error raised by :mod:`transport`."""


class UnknownSystem(TransportError, LookupError):
    """The transport has no route to the named actor system.

    It is a `LookupError` because that is what `mesh_actors.ActorSystem` treats as "no route":
    an ask fails at once with `mesh_actors.NoRoute` and a tell goes to the sender's dead letters.
    """

    def __init__(self, system: str) -> None:
        super().__init__(f"no actor system named {system!r} is reachable")
        self.system = system


class TransportClosed(TransportError):
    """The endpoint or the transport was closed; nothing more can be sent through it."""


class CodecError(TransportError):
    """A codec refused an envelope (on encode) or a frame (on decode)."""


class MalformedFrame(CodecError):
    """The bytes are not a frame: not JSON, wrong shape, bad address or kind, invalid body."""


class UnknownMessageType(CodecError):
    """The message type name is not in the codec's registry (on either side of the wire)."""

    def __init__(self, type_name: str) -> None:
        super().__init__(f"message type {type_name!r} is not registered with the codec")
        self.type_name = type_name


class FrameTooLarge(CodecError):
    """A frame is longer than the codec's ``max_frame_size`` (checked before parsing)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"frame of {size} bytes exceeds the limit of {limit} bytes")
        self.size = size
        self.limit = limit


class UnencodableMessage(CodecError):
    """The envelope carries something that cannot be put on a wire.

    For example a reply that is neither a `mesh_actors.Message` nor ``None``, ``None`` in
    anything but a reply, or a field value the message's serializer rejects.
    """
