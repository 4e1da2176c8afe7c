"""What an actor system needs from a transport to reach other actor systems.

The runtime knows nothing of sockets or brokers: a transport (package ``transport``) attaches
an actor system under its name and hands back an `Endpoint`. Envelopes addressed to other
systems go out through the endpoint; envelopes arriving for this system come in through the
`Inbound` handler given at attach time.
"""

from __future__ import annotations

from typing import Protocol

from ._envelope import Envelope

__all__ = ["Endpoint", "Inbound", "Network"]


class Inbound(Protocol):
    """The receiving side an actor system gives a transport."""

    async def deliver(self, envelope: Envelope) -> None:
        """Deliver ``envelope`` into this system, waiting while a backpressured mailbox is full.

        Never raises for bad envelopes (unknown actor: dead letter, and a failure reply to an
        asker); cancellation leaves the envelope undelivered.
        """

    def deliver_nowait(self, envelope: Envelope) -> None:
        """Deliver without waiting; a full mailbox sends the envelope to the dead letters."""


class Endpoint(Protocol):
    """One actor system's connection to a network of actor systems."""

    @property
    def system(self) -> str:
        """The name the system is attached under."""

    async def send(self, envelope: Envelope) -> None:
        """Send ``envelope`` to the system named by its recipient, waiting on backpressure.

        Raises ``transport.UnknownSystem`` (a `LookupError`) if the transport knows no such
        system and ``transport.TransportClosed`` after `aclose`.
        """

    def send_nowait(self, envelope: Envelope) -> None:
        """Send without waiting (raises as `send`, and ``anyio.WouldBlock`` instead of waiting)."""

    async def aclose(self) -> None:
        """Detach the system; further sends raise ``TransportClosed``. Idempotent."""


class Network(Protocol):
    """Anything actor systems can attach to (every ``transport.Transport`` is one)."""

    async def attach(self, system: str, inbound: Inbound) -> Endpoint:
        """Attach the system named ``system``; raise ``ValueError`` if the name is taken."""
