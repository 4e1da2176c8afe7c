"""The NATS transport passes the conformance suite, against a real server on loopback."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import ClassVar

import anyio
import nats
import pytest

from mesh_actors import Clock, MessageRegistry, RealClock
from transport import Codec, JsonCodec, NatsServer, NatsTransport, Transport
from transport.testing import TransportConformance

_prefixes = itertools.count(1)


class TestNatsTransport(TransportConformance):
    # The receiver's subscription holds the envelope blocked on the full mailbox; the
    # sender may have a whole tell window unacknowledged on top.
    window: ClassVar[int] = 16
    buffered_envelopes: ClassVar[int] = window

    @pytest.fixture(params=["asyncio"])
    def anyio_backend(self, request: pytest.FixtureRequest) -> str:
        backend: str = request.param
        return backend

    @pytest.fixture(autouse=True)
    def _use_server(self, nats_server: NatsServer) -> None:
        self.server = nats_server
        self.prefix = f"conf{next(_prefixes)}"

    def make_codec(self, registry: MessageRegistry) -> Codec:
        return JsonCodec(registry, max_frame_size=64 * 1024)

    def make_transport(self, clock: Clock, registry: MessageRegistry) -> Transport:
        return NatsTransport(
            self.server.url,
            prefix=self.prefix,
            codec=self.make_codec(registry),
            tell_window=self.window,
        )

    async def inject_frame(
        self, transport: Transport, source: str, target: str, frame: bytes
    ) -> None:
        assert isinstance(transport, NatsTransport)
        # Through a separate bare client, as a peer that is not one of ours would send it.
        nc = await nats.connect(self.server.url)
        try:
            await nc.publish(transport.subject(target), frame)
            await nc.flush()
        finally:
            await nc.close()

    @asynccontextmanager
    async def run_clock(self) -> AsyncIterator[Clock]:
        # Real I/O: virtual time would jump past the server's answers.
        yield RealClock()

    async def settle(self, clock: Clock) -> None:
        # Nothing to observe from here but time: give the server's round trips room.
        await anyio.sleep(0.3)
