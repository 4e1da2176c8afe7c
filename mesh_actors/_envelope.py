"""The envelope: a message plus its routing, the unit every transport moves."""

from __future__ import annotations

import enum
from typing import Any

from ._address import Address

__all__ = ["Envelope", "EnvelopeKind"]


class EnvelopeKind(enum.IntEnum):
    """What an envelope carries.

    ``TELL`` and ``ASK`` go to actors; ``REPLY`` and ``FAILURE`` go back to the actor system
    that asked (recipient path ``$reply``) and are matched to the ask by ``correlation_id``.
    """

    TELL = 0
    ASK = 1
    REPLY = 2
    FAILURE = 3


class Envelope:
    """A message in transit.

    ``sender`` is the address of the sending actor (or ``None`` when sent from outside any
    actor); for an ``ASK`` it is the address the reply is routed to. ``correlation_id`` is 0
    for tells. ``remote`` is set by the receiving actor system when the envelope came in
    through its transport (from another actor system), never by a sender: whatever a frame
    claims, it arrives ``remote`` (ARCHITECTURE rule 3; a chain host refuses unsigned
    transactions that arrive so). Apart from that mark, envelopes are not mutated after
    creation.
    """

    __slots__ = ("correlation_id", "kind", "message", "recipient", "remote", "sender")

    def __init__(
        self,
        recipient: Address,
        message: Any,
        sender: Address | None = None,
        correlation_id: int = 0,
        kind: EnvelopeKind = EnvelopeKind.TELL,
    ) -> None:
        self.recipient = recipient
        self.message = message
        self.sender = sender
        self.correlation_id = correlation_id
        self.kind = kind
        self.remote = False

    def __repr__(self) -> str:
        return (
            f"Envelope({self.kind.name} {type(self.message).__name__} -> {self.recipient}"
            f" from {self.sender} corr={self.correlation_id})"
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Envelope)
            and self.recipient == other.recipient
            and self.message == other.message
            and self.sender == other.sender
            and self.correlation_id == other.correlation_id
            and self.kind == other.kind
        )

    __hash__ = None  # type: ignore[assignment]
