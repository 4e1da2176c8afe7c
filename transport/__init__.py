"""transport: moving envelopes between actor systems.

One interface (`Transport`, with `Codec` for turning envelopes into bytes), several
implementations that all pass the conformance suite in `transport.testing`:

- `InMemoryNetwork`: actor systems in one process, optionally forcing every envelope through
  a codec so tests catch anything that could not cross a real wire;
- `FaultyNetwork`: a wrapper over any transport that drops, duplicates, delays, reorders and
  partitions, repeatably from a seed and in (virtual) clock time;
- `NatsTransport`: actor systems in any number of processes through a NATS server
  (asyncio only; `NatsServer` runs a local server for tests);
- `JsonCodec`: envelopes as JSON frames, messages by registered type name.

Attach actor systems by passing the transport to them::

    async with InMemoryNetwork() as net, ActorSystem("a", transport=net) as a, \\
            ActorSystem("b", transport=net) as b:
        reply = await a.ref("b/echo").ask(Ping())
"""

from ._codec import JsonCodec
from ._errors import (
    CodecError,
    FrameTooLarge,
    MalformedFrame,
    TransportClosed,
    TransportError,
    UnencodableMessage,
    UnknownMessageType,
    UnknownSystem,
)
from ._faults import (
    Delay,
    Exponential,
    FaultStatistics,
    FaultyNetwork,
    Fixed,
    LinkFaults,
    Uniform,
)
from ._interface import Codec, Transport
from ._memory import InMemoryNetwork, LinkStatistics
from ._nats import (
    AuthenticationFailed,
    BrokerUnavailable,
    NatsEndpoint,
    NatsTransport,
    UnsupportedBackend,
)
from ._nats_server import NatsServer, NatsServerError, find_nats_server

__all__ = [
    # interfaces
    "Codec",
    "Transport",
    # implementations
    "InMemoryNetwork",
    "LinkStatistics",
    "JsonCodec",
    "NatsTransport",
    "NatsEndpoint",
    "NatsServer",
    "find_nats_server",
    # fault injection
    "FaultyNetwork",
    "FaultStatistics",
    "LinkFaults",
    "Delay",
    "Fixed",
    "Uniform",
    "Exponential",
    # errors
    "TransportError",
    "UnknownSystem",
    "TransportClosed",
    "CodecError",
    "MalformedFrame",
    "UnknownMessageType",
    "FrameTooLarge",
    "UnencodableMessage",
    "BrokerUnavailable",
    "AuthenticationFailed",
    "UnsupportedBackend",
    "NatsServerError",
]
