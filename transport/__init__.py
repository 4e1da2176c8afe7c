"""transport: moving envelopes between actor systems.

One interface (`Transport`, with `Codec` for turning envelopes into bytes), several
implementations that all pass the conformance suite in `transport.testing`:

- `InMemoryNetwork`: actor systems in one process, optionally forcing every envelope through
  a codec so tests catch anything that could not cross a real wire;
- `FaultyNetwork`: a wrapper over any transport that drops, duplicates, delays, reorders and
  partitions, repeatably from a seed and in (virtual) clock time;
- `TcpNetwork`: actor systems in different processes or machines, over TCP (optionally TLS),
  with `FaultProxy` to inject faults at the socket level;
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
from ._framing import FrameDecoder, FrameType, encode_frame
from ._handshake import ClientHandshake, PeerInfo, ReplayGuard, ServerHandshake
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
from ._proxy import FaultProxy, ProxyStatistics, SocketFaults
from ._tcp import TcpEndpointStatistics, TcpLinkStatistics, TcpNetwork
from ._tcp_errors import HandshakeRefused, PeerUnreachable, ProtocolViolation, SendQueueFull

__all__ = [
    # interfaces
    "Codec",
    "Transport",
    # implementations
    "InMemoryNetwork",
    "LinkStatistics",
    "JsonCodec",
    # TCP: the transport, its wire format and handshake (sans-IO), a socket-level fault proxy
    "TcpNetwork",
    "TcpLinkStatistics",
    "TcpEndpointStatistics",
    "FrameDecoder",
    "FrameType",
    "encode_frame",
    "ClientHandshake",
    "ServerHandshake",
    "ReplayGuard",
    "PeerInfo",
    "FaultProxy",
    "SocketFaults",
    "ProxyStatistics",
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
    "HandshakeRefused",
    "ProtocolViolation",
    "SendQueueFull",
    "PeerUnreachable",
    "BrokerUnavailable",
    "AuthenticationFailed",
    "UnsupportedBackend",
    "NatsServerError",
]
