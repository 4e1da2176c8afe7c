"""Every transport of the package passes the conformance suite."""

from __future__ import annotations

import gc

from mesh_actors import Clock, MessageRegistry
from transport import Codec, FaultyNetwork, InMemoryNetwork, JsonCodec, Transport
from transport.testing import TransportConformance


class TestInMemoryNetwork(TransportConformance):
    def make_transport(self, clock: Clock, registry: MessageRegistry) -> Transport:
        return InMemoryNetwork()


class TestInMemoryNetworkForcingItsDefaultCodec(TransportConformance):
    """The default codec knows every message class, so the refusal tests of unregistered
    messages and frames do not apply; its frame limit (1 MiB) does."""

    def max_frame_size(self, transport: Transport) -> int | None:
        assert isinstance(transport, InMemoryNetwork) and transport.codec is not None
        return transport.codec.max_frame_size

    def make_transport(self, clock: Clock, registry: MessageRegistry) -> Transport:
        # The default registry collects every Message subclass; a colliding class that some
        # other test defined locally would make that raise until it is garbage-collected.
        gc.collect()
        return InMemoryNetwork(force_codec=True)


class TestInMemoryNetworkForcingTheCodec(TransportConformance):
    def make_codec(self, registry: MessageRegistry) -> Codec:
        return JsonCodec(registry, max_frame_size=64 * 1024)

    def make_transport(self, clock: Clock, registry: MessageRegistry) -> Transport:
        return InMemoryNetwork(codec=self.make_codec(registry), force_codec=True)

    async def inject_frame(
        self, transport: Transport, source: str, target: str, frame: bytes
    ) -> None:
        assert isinstance(transport, InMemoryNetwork)
        await transport.deliver_frame(source, target, frame)


class TestFaultyNetworkWithoutFaults(TransportConformance):
    def make_transport(self, clock: Clock, registry: MessageRegistry) -> Transport:
        return FaultyNetwork(InMemoryNetwork(), clock=clock, seed=7)


class TestFaultyNetworkWithoutFaultsOverTheCodec(TestInMemoryNetworkForcingTheCodec):
    def make_transport(self, clock: Clock, registry: MessageRegistry) -> Transport:
        return FaultyNetwork(super().make_transport(clock, registry), clock=clock, seed=7)

    async def inject_frame(
        self, transport: Transport, source: str, target: str, frame: bytes
    ) -> None:
        assert isinstance(transport, FaultyNetwork)
        await super().inject_frame(transport.inner, source, target, frame)
