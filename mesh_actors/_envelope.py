"""The envelope: a message plus its routing, the unit every transport moves."""

from __future__ import annotations

import enum
from typing import Any

import msgspec

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


class Envelope(msgspec.Struct, gc=False):
    """A message in transit.

    ``sender`` is the address of the sending actor (or ``None`` when sent from outside any
    actor); for an ``ASK`` it is the address the reply is routed to. ``correlation_id`` is 0
    for tells. ``remote`` is set by the receiving actor system when the envelope came in
    through its transport (from another actor system), never by a sender: whatever a frame
    claims, it arrives ``remote`` (ARCHITECTURE rule 3; a chain host refuses unsigned
    transactions that arrive so). Apart from that mark, envelopes are not mutated after
    creation.

    An ask carries the time its asker stops waiting, so that the recipient can drop it
    unhandled once nobody waits for the answer (as Orleans drops expired requests) instead of
    working through a backlog whose every reply would be late. Clocks of different actor
    systems are not comparable, so the time has two forms: ``deadline``, an absolute time on
    the clock of the system holding the envelope (set by the asker, and by a receiving
    system), and ``budget``, the seconds that were left when the envelope left its system
    (what transports and codecs carry). `in_transit` turns the first into the second and
    `arrived` the second back into the first, re-anchored on the receiver's clock. Time spent
    on the way is not deducted: a wire cannot measure it without shared clocks.

    A ``msgspec.Struct`` built in C (a tell builds one per message: a Python ``__init__``
    was a fifth of a tell's cost) and not tracked by the cyclic GC (every queued envelope
    was, and a burst of 50,000 queued tells pushed them into the oldest generation and
    set off full collections). Untracked is safe because an envelope is never part of a
    reference cycle that outlives its queue: its message may hold an `ActorRef`, whose
    cell holds the mailbox that holds the envelope, but that path is cut when the envelope
    is taken out (the cell drops it after the run it was handled in) or the mailbox is
    closed (the actor stopped: `Mailbox.close` empties it), and nothing the runtime hands
    to a message keeps its envelope. (An actor system dropped without being closed, with
    messages still queued, is therefore freed only with the process.)
    """

    recipient: Address
    message: Any
    sender: Address | None = None
    correlation_id: int = 0
    kind: EnvelopeKind = EnvelopeKind.TELL
    deadline: float | None = None
    budget: float | None = None
    remote: bool = False

    def in_transit(self, now: float) -> Envelope:
        """This envelope as it leaves a system whose clock reads ``now``: its ``deadline``
        becomes the remaining ``budget`` (never negative). Returns ``self`` if it has none."""
        if self.deadline is None:
            return self
        return Envelope(
            self.recipient,
            self.message,
            self.sender,
            self.correlation_id,
            self.kind,
            budget=max(self.deadline - now, 0.0),
        )

    def arrived(self, now: float) -> Envelope:
        """This envelope as it enters a system whose clock reads ``now``: its ``budget``
        becomes a ``deadline`` on that clock. Returns ``self`` if it has none."""
        if self.budget is None:
            return self
        return Envelope(
            self.recipient,
            self.message,
            self.sender,
            self.correlation_id,
            self.kind,
            deadline=now + self.budget,
        )

    def __repr__(self) -> str:
        timing = ""
        if self.deadline is not None:
            timing = f" deadline={self.deadline}"
        elif self.budget is not None:
            timing = f" budget={self.budget}"
        return (
            f"Envelope({self.kind.name} {type(self.message).__name__} -> {self.recipient}"
            f" from {self.sender} corr={self.correlation_id}{timing})"
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Envelope)
            and self.recipient == other.recipient
            and self.message == other.message
            and self.sender == other.sender
            and self.correlation_id == other.correlation_id
            and self.kind == other.kind
            and self.deadline == other.deadline
            and self.budget == other.budget
        )

    __hash__ = None  # type: ignore[assignment]
