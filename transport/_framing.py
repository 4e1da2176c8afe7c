"""Length-prefixed frames: the unit the TCP transport reads and writes.

A frame is a 5-byte header, the payload length as a big-endian unsigned 32-bit integer and
one byte of `FrameType`, followed by the payload. Each type has its own payload limit, checked
from the header before a byte of the payload is buffered, so a peer cannot make the receiver
allocate more than the limit (a header announcing 4 GiB is refused after 5 bytes).

`FrameDecoder` is sans-IO (it is fed bytes and returns frames), so the connection code, the
fuzz tests and a debugging tool all use the same parser; it raises only `MalformedFrame` and
`FrameTooLarge`, whatever it is fed.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Mapping
from typing import Final

from ._errors import FrameTooLarge, MalformedFrame

__all__ = ["HEADER_SIZE", "FrameDecoder", "FrameType", "encode_frame"]

_HEADER: Final = struct.Struct("!IB")
HEADER_SIZE: Final = _HEADER.size


class FrameType(enum.IntEnum):
    """What a frame carries. Handshake frames come first on a connection, then the rest."""

    HELLO = 1
    """Dialer to listener: versions, names, incarnation, the dialer's nonce."""
    CHALLENGE = 2
    """Listener to dialer: its proof (32 bytes) then its names, incarnation and nonce."""
    AUTH = 3
    """Dialer to listener: the dialer's proof (32 bytes)."""
    ACCEPT = 4
    """Listener to dialer: the handshake succeeded; the payload is the initial credit."""
    REFUSE = 5
    """Either way: the handshake failed; the payload is the reason (UTF-8), then close."""
    DATA = 16
    """One encoded envelope (a codec frame)."""
    CHUNK = 17
    """A piece of a large encoded envelope; more pieces follow."""
    CHUNK_END = 18
    """The last piece of a large encoded envelope."""
    CREDIT = 32
    """Listener to dialer: this many more envelopes may be sent (4-byte unsigned)."""
    KEEPALIVE = 33
    """Either way, when nothing else was written for a while: "I am alive"."""
    GOODBYE = 34
    """Either way, before closing: the reason (UTF-8), for the other side's log."""


# Frame types by code, so decoding a frame does not construct an enum member.
_TYPES: Final[dict[int, FrameType]] = {member.value: member for member in FrameType}


def encode_frame(frame_type: FrameType, payload: bytes = b"") -> bytes:
    """The bytes of one frame of ``frame_type`` carrying ``payload`` (no limit is checked:
    the sender checks its payloads against the codec's limit before framing them)."""
    return _HEADER.pack(len(payload), frame_type) + payload


class FrameDecoder:
    """Cuts a byte stream into ``(FrameType, payload)`` pairs, checking each type's limit.

    ``limits`` maps each frame type the caller accepts to its largest payload in bytes; a
    header naming any other type raises `MalformedFrame`, one announcing a longer payload
    raises `FrameTooLarge` (``size`` is the announced length), both before the payload is
    read. After raising, the decoder is broken: every later `feed` raises the same error,
    because the stream has lost its framing and nothing after the fault can be trusted.
    """

    __slots__ = ("_buffer", "_error", "_limits")

    def __init__(self, limits: Mapping[FrameType, int]) -> None:
        table = [-1] * 256
        for frame_type, limit in limits.items():
            if limit < 0:
                raise ValueError(f"the limit of {frame_type.name} must be >= 0, got {limit}")
            table[FrameType(frame_type)] = limit
        self._limits = table
        self._buffer = bytearray()
        self._error: MalformedFrame | FrameTooLarge | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a whole frame."""
        return len(self._buffer)

    def feed(self, data: bytes | bytearray | memoryview) -> list[tuple[FrameType, bytes]]:
        """The whole frames completed by ``data``, in order (possibly none).

        Raises `MalformedFrame` (unknown frame type) or `FrameTooLarge`; frames complete
        before the faulty header in the same ``data`` are lost with it, since the connection
        is closed on any error.
        """
        if self._error is not None:
            raise self._error
        buffer = self._buffer
        if buffer:
            buffer += data
            view: bytes | bytearray | memoryview = buffer
        else:
            view = data
        size = len(view)
        position = 0
        frames: list[tuple[FrameType, bytes]] = []
        limits = self._limits
        unpack = _HEADER.unpack_from
        while size - position >= HEADER_SIZE:
            length, type_code = unpack(view, position)
            limit = limits[type_code]
            if limit < 0:
                self._error = MalformedFrame(f"unknown or unexpected frame type {type_code}")
                raise self._error
            if length > limit:
                self._error = FrameTooLarge(length, limit)
                raise self._error
            end = position + HEADER_SIZE + length
            if end > size:
                break
            frames.append((_TYPES[type_code], bytes(view[position + HEADER_SIZE : end])))
            position = end
        if position == size:
            self._buffer = bytearray()
        elif position or not buffer:
            self._buffer = bytearray(view[position:])
        return frames

    def take_buffered(self) -> bytes:
        """Remove and return the bytes received but not yet part of a whole frame (to hand
        them to another decoder when a connection moves to a new phase)."""
        rest = bytes(self._buffer)
        self._buffer = bytearray()
        return rest

    def check_eof(self) -> None:
        """Raise `MalformedFrame` if the stream ended inside a frame (a half-written frame)."""
        if self._buffer:
            raise MalformedFrame(
                f"the connection closed in the middle of a frame ({len(self._buffer)} bytes)"
            )
