"""Two running chains with IBC, joined to relayer systems by a (possibly faulty) transport.

Everything runs on one `VirtualClock` under autojump: blocks come from the chains' clocks,
relayers clear on theirs, network delays are clock time, and a test waits by sleeping on the
clock, so hours of chain time cost milliseconds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from chains import Chain, ChainConfig, Coin, GenesisAccount, TxResult
from chains.contract import IbcOrder, derive_address
from chains.ibc import (
    ChannelState,
    IbcConfig,
    IbcHandle,
    OpenChannel,
    OpenChannelReply,
    PathEnd,
    PathReady,
    Relayer,
    RelayerConfig,
    SetupPath,
    install_ibc,
)
from chains.testing import IbcAppInit, IbcAppQuery, IbcAppState, IbcTestApp
from mesh_actors import ActorRef, ActorSystem, VirtualClock
from transport import FaultyNetwork, InMemoryNetwork, LinkFaults


class ChainSide:
    """One chain of the world: the chain, its IBC handle, its test app."""

    def __init__(self, chain: Chain, ibc: IbcHandle, admin: str) -> None:
        self.chain = chain
        self.ibc = ibc
        self.admin = admin
        self.app = ""

    @property
    def chain_id(self) -> str:
        return self.chain.chain_id

    @property
    def port(self) -> str:
        return f"wasm.{self.app}"

    async def deploy_app(self, **init: Any) -> str:
        await self.chain.register_code(IbcTestApp)
        self.app = await self.chain.instantiate(self.admin, IbcTestApp.code, IbcAppInit(**init))
        return self.app

    async def execute(self, msg: Any) -> TxResult:
        return await self.chain.execute(self.admin, self.app, msg)

    async def state(self) -> IbcAppState:
        state: IbcAppState = await self.chain.query(self.app, IbcAppQuery())
        return state


class World:
    def __init__(self, clock: VirtualClock, network: Any, faulty: FaultyNetwork | None) -> None:
        self.clock = clock
        self.network = network
        self.faulty = faulty
        self.stack = AsyncExitStack()
        self.relayer_systems: list[ActorSystem] = []
        self.path: PathReady | None = None
        self.a: ChainSide
        self.b: ChainSide

    async def add_chain(
        self, chain_id: str, prefix: str, block_time: float, config: IbcConfig | None
    ) -> ChainSide:
        system = await self.stack.enter_async_context(
            ActorSystem(chain_id, clock=self.clock, transport=self.network, ask_timeout=30.0)
        )
        admin = derive_address(prefix, "admin")
        chain_config = ChainConfig(
            chain_id=chain_id,
            prefix=prefix,
            block_time=block_time,
            accounts=(GenesisAccount(address=admin, coins=(Coin(denom="stake", amount=10**9),)),),
        )
        chain = await self.stack.enter_async_context(Chain(chain_config, system))
        ibc = await install_ibc(chain, config)
        return ChainSide(chain, ibc, admin)

    async def relayer_system(self, index: int = 0) -> ActorSystem:
        while len(self.relayer_systems) <= index:
            name = f"relayer-{len(self.relayer_systems)}"
            system = await self.stack.enter_async_context(
                ActorSystem(name, clock=self.clock, transport=self.network, ask_timeout=30.0)
            )
            self.relayer_systems.append(system)
        return self.relayer_systems[index]

    def relayer_config(self, name: str = "relayer", **overrides: Any) -> RelayerConfig:
        if self.path is not None:
            a, b = self.path.a, self.path.b
        else:
            a = PathEnd(chain_id=self.a.chain_id, gateway=self.a.ibc.gateway_address)
            b = PathEnd(chain_id=self.b.chain_id, gateway=self.b.ibc.gateway_address)
        values: dict[str, Any] = {"a": a, "b": b, "name": name, "clear_interval": 5.0}
        values.update(overrides)
        return RelayerConfig(**values)

    async def spawn_relayer(
        self, name: str = "relayer", system: int = 0, **overrides: Any
    ) -> ActorRef[Any]:
        config = self.relayer_config(name, **overrides)
        host = await self.relayer_system(system)
        return host.spawn(lambda: Relayer(config), name=name, mailbox=Relayer.mailbox)

    async def setup_path(self, relayer: ActorRef[Any]) -> PathReady:
        self.path = await relayer.ask(SetupPath(), expect=PathReady, timeout=600.0)
        return self.path

    async def open_channel(
        self,
        relayer: ActorRef[Any],
        ordering: IbcOrder = IbcOrder.UNORDERED,
        version: str = "",
        wait: bool = True,
    ) -> tuple[str, str]:
        reply = await relayer.ask(
            OpenChannel(port_a=self.a.port, port_b=self.b.port, ordering=ordering, version=version),
            expect=OpenChannelReply,
            timeout=600.0,
        )
        assert not reply.error, reply.error
        a_channel = reply.channel_id
        if not wait:
            return a_channel, ""

        def opened() -> bool:
            end = self.a.ibc.module.channel_end(a_channel)
            if end is None or end.state is not ChannelState.OPEN:
                return False
            other = self.b.ibc.module.channel_end(end.counterparty_channel_id)
            return other is not None and other.state is ChannelState.OPEN

        await self.wait_until(opened, 600.0)
        end = self.a.ibc.module.channel_end(a_channel)
        assert end is not None
        return a_channel, end.counterparty_channel_id

    async def wait_until(
        self, condition: Callable[[], bool], timeout: float, step: float = 0.5
    ) -> None:
        deadline = self.clock.now() + timeout
        while not condition():
            if self.clock.now() >= deadline:
                raise AssertionError(f"condition not reached within {timeout}s of clock time")
            await self.clock.sleep(step)


@asynccontextmanager
async def ibc_world(
    *,
    faults: LinkFaults | None = None,
    seed: int = 0,
    force_codec: bool = False,
    block_time: float = 1.0,
    config: IbcConfig | None = None,
) -> AsyncIterator[World]:
    """Chains ``chain-a`` and ``chain-b`` with IBC and a test app each (not yet deployed)."""
    clock = VirtualClock()
    async with clock.autojump():
        inner = InMemoryNetwork(force_codec=force_codec)
        network: Any
        faulty = None
        if faults is not None:
            faulty = FaultyNetwork(inner, clock=clock, seed=seed, default=faults)
            network = faulty
        else:
            network = inner
        async with network:
            world = World(clock, network, faulty)
            async with world.stack:
                world.a = await world.add_chain("chain-a", "cha", block_time, config)
                world.b = await world.add_chain("chain-b", "chb", block_time, config)
                yield world
