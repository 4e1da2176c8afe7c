"""IBC values as contracts see them (spec ibc.md I-3, I-4, I-9, I-11).

These are plain frozen values; the IBC module (channel-end actors, commitments, receipts)
builds and checks them. Contract cores receive them in their IBC entry points.
"""

from __future__ import annotations

import base64
import enum
import json
import re
from typing import Final

from pydantic import BaseModel, ConfigDict

from chains.contract._errors import ChainError
from mesh_actors import construct_trusted

__all__ = [
    "IbcAcknowledgement",
    "IbcChannel",
    "IbcEndpoint",
    "IbcOrder",
    "IbcPacket",
    "IbcTimeout",
    "MAX_PACKET_SIZE",
    "PacketTooLarge",
    "trusted_packet",
]


# {"result":"<printable ASCII other than a quote or a backslash>"}
_PLAIN_SUCCESS = re.compile(rb'\{"result":"[ !#-\[\]-~]*"\}')


class IbcOrder(enum.Enum):
    ORDERED = "ORDER_ORDERED"
    UNORDERED = "ORDER_UNORDERED"


class IbcEndpoint(BaseModel):
    """One end of a channel: ``wasm.<address>`` (or a module port) and ``channel-N``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    port_id: str
    channel_id: str


class IbcChannel(BaseModel):
    """A channel as the application callbacks see it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    endpoint: IbcEndpoint
    counterparty_endpoint: IbcEndpoint
    order: IbcOrder
    version: str
    connection_id: str


class IbcTimeout(BaseModel):
    """When a packet stops being receivable: a height and/or a time (0 = unused), judged
    against the receiving chain's block (I-10). ``timestamp_ns`` is in nanoseconds."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    revision: int = 0
    height: int = 0
    timestamp_ns: int = 0

    def expired(self, height: int, time_ns: int) -> bool:
        """Whether a block at ``height`` / ``time_ns`` is at or past this timeout."""
        return (self.height != 0 and height >= self.height) or (
            self.timestamp_ns != 0 and time_ns >= self.timestamp_ns
        )


class IbcPacket(BaseModel):
    """A packet (I-9); ``data`` is the application's bytes (JSON for Mesh Security)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    sequence: int
    src: IbcEndpoint
    dest: IbcEndpoint
    data: bytes
    timeout: IbcTimeout


_PACKET_FIELDS: Final = frozenset(IbcPacket.model_fields)


def trusted_packet(
    sequence: int, src: IbcEndpoint, dest: IbcEndpoint, data: bytes, timeout: IbcTimeout
) -> IbcPacket:
    """``IbcPacket(...)`` from values that are already of their fields' exact types, without
    running validation (what pydantic's ``model_construct`` does, at a fraction of its
    cost: the IBC module builds one packet per send). Any value of another type takes the
    validating constructor, so the result is always what ``IbcPacket(...)`` gives; raises
    only what that raises."""
    if (
        type(sequence) is not int
        or type(data) is not bytes
        or type(src) is not IbcEndpoint
        or type(dest) is not IbcEndpoint
        or type(timeout) is not IbcTimeout
    ):
        return IbcPacket(sequence=sequence, src=src, dest=dest, data=data, timeout=timeout)
    return construct_trusted(
        IbcPacket,
        {"sequence": sequence, "src": src, "dest": dest, "data": data, "timeout": timeout},
        set(_PACKET_FIELDS),
    )


class IbcAcknowledgement(BaseModel):
    """ICS-04 acknowledgement (I-11): ``{"result": base64}`` or ``{"error": text}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    data: bytes

    @classmethod
    def success(cls, result: bytes) -> IbcAcknowledgement:
        """``{"result": base64(result)}`` (compact JSON)."""
        # base64 needs no JSON escaping: the bytes json.dumps would give, built directly
        return cls(data=b'{"result":"' + base64.b64encode(result) + b'"}')

    @classmethod
    def error(cls, text: str) -> IbcAcknowledgement:
        """``{"error": text}`` (compact JSON)."""
        return cls(data=json.dumps({"error": text}, separators=(",", ":")).encode())

    def result(self) -> bytes | None:
        """The success bytes, or ``None`` for an error (or unparseable) ack."""
        try:
            body = json.loads(self.data)
            return base64.b64decode(body["result"], validate=True) if "result" in body else None
        except (ValueError, TypeError, KeyError):
            return None

    def error_text(self) -> str | None:
        """The error text of an error ack, else ``None``."""
        if _PLAIN_SUCCESS.fullmatch(self.data) is not None:
            # the shape `success` writes, with nothing JSON would reject or unescape: a
            # success, as json.loads would find (without parsing)
            return None
        try:
            body = json.loads(self.data)
        except ValueError:
            return "unparseable acknowledgement"
        if isinstance(body, dict) and "error" in body:
            return str(body["error"])
        return None


MAX_PACKET_SIZE = 1 << 20


class PacketTooLarge(ChainError):
    """Packet data over the framework limit, refused at send (I-37)."""

    fields = ("size", "limit")
    size: int
    limit: int

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(size, limit)
