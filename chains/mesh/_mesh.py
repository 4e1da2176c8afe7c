"""The `Mesh` embedder API: a whole Mesh Security topology running in-process.

::

    topology = load_topology("examples/topologies/seed.toml")
    async with Mesh.from_topology(topology, seed=7) as mesh:
        await mesh.bond("osmosis", "alice", 1_000_000)
        result = await mesh.cross_stake("osmosis", "juno", "alice", "val1", 500_000)
        await mesh.advance(days=1)
        snapshot = await mesh.snapshot()  # render_snapshot(snapshot) for a table

Entering the mesh builds it (see `Mesh.__aenter__` for the order, which is the spec's
deployment sequence I-49); leaving it, normally, by an error or by cancellation, stops the
relayers, the chains, their actor systems and the network. It runs on asyncio and trio.

**Time.** With a `VirtualClock` (the default: a fresh one), the mesh runs in virtual time
and, unless ``autojump=False``, lets the clock jump to the next deadline whenever every task
is waiting, so `advance` (``days=30``) takes as much wall time as the work in it. Under
autojump every task of the program must wait on in-process things (see `VirtualClock`):
embed it with real I/O only with a real clock (``clock=RealClock()``), where `advance`
sleeps for real.

**Users** are the account names of the topology; each chain derives its own address for a
name (``mesh.address("juno", "alice")``). **Validators** are named as in the topology (or
given as operator addresses). User methods return the chain's `TxResult` (a failed
transaction is a value, never an exception); they raise only `MeshError`\\ s for names the
topology does not have, and what the actor runtime raises.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import anyio
import anyio.abc
from pydantic import ValidationError

from chains.consumer.mesh_security._msgs import BondStatusQuery, BondStatusResponse
from chains.consumer.price_feeds._contract import ICQ_VERSION
from chains.consumer.price_feeds._msgs import (
    PriceQuery,
    PriceResponse,
    RequestPrice,
    SetHostPrice,
    UpdatePrice,
)
from chains.contract._coin import Coin
from chains.contract._decimal import Decimal18
from chains.contract._errors import ChainError
from chains.contract._keys import KeyPair
from chains.host._chain import Chain
from chains.host._config import account_key
from chains.host._events import ChainEvent
from chains.host._executor import TxExecutor
from chains.host._tx_result import TxResult
from chains.ibc._msgs import ChannelState
from chains.mesh._cross_chain import CrossChainTx, SettlementWatch
from chains.mesh._deploy import (
    ICQ_HOST_PORT,
    MESH_DEPLOYER,
    MeshChain,
    MeshPairing,
    authorize_max_cap,
    deploy_consumer_side,
    deploy_external_staking,
    deploy_price_host,
    deploy_vault,
    open_channel,
    start_chain,
    subscribe_price_feed,
)
from chains.mesh._errors import (
    InvalidArgument,
    MeshNotRunning,
    MeshSetupFailed,
    UnknownChain,
    UnknownPairing,
    UnknownValidator,
)
from chains.mesh._invariants import (
    cap_violations,
    conservation_violations,
    delegation_view_violations,
    distribution_reward_violations,
    external_reward_violations,
    packet_origin_violations,
    provider_violations,
    supply_violations,
)
from chains.mesh._key_seed import save_key_seed
from chains.mesh._network import RealClockRequired, build_transport
from chains.mesh._relaying import MeshLink
from chains.mesh._state import (
    ChainView,
    ChannelStats,
    ConsumerSide,
    MeshSnapshot,
    PairingView,
    ProviderSide,
    RelayerView,
    UserStake,
    ValidatorView,
    VaultView,
    read_channels,
    read_consumer_side,
    read_provider_side,
    read_validators,
    read_vault,
)
from chains.mesh._topology import RemotePriceFeedSpec, Topology, load_topology
from chains.provider._lien_holder import encode_stake_target
from chains.provider.external_staking._msgs import (
    AllPendingRewardsQuery,
    AllPendingRewardsResponse,
    CloseControlChannel,
    ExternalUnstake,
    ExternalWithdrawRewards,
    ListValidatorsQuery,
    StakeInfo,
    StakeQuery,
    ValidatorsResponse,
    WithdrawUnbonded,
)
from chains.provider.vault._msgs import (
    StakeLocal,
    StakeRemote,
    VaultAccountDetailsQuery,
    VaultAccountDetailsResponse,
    VaultBond,
    VaultUnbond,
)
from chains.wire._version import channel_version
from mesh_actors import (
    ActorSystem,
    Clock,
    EventStream,
    RealClock,
    Subscription,
    VirtualClock,
    get_logger,
)
from transport import FaultyNetwork, InMemoryNetwork, Transport

__all__ = ["Mesh"]

T = TypeVar("T")

_log = get_logger("chains.mesh")

_DAY = 86_400.0
# clock seconds the deployment may wait for a handshake, a packet or a price
_SETUP_WAIT = 3_600.0
_ASK_TIMEOUT = 3_600.0
# clock seconds between two looks at a setup step on a real clock (blocks are ended on
# demand there, so a step is usually committed within one)
_REAL_POLL = 0.005
_DOUBLE_SIGN = "double_sign"
_DOWNTIME = "downtime"


def _describe(exc: ValidationError) -> str:
    """pydantic's findings in one line: ``field: message`` for each."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        parts.append(f"{where}: {error['msg']}" if where else str(error["msg"]))
    return "; ".join(parts)


@contextmanager
def _arguments(operation: str) -> Iterator[None]:
    """Turn what building a message from the caller's arguments raises into
    `InvalidArgument` (the finding chained): a caller catches one named error, not
    pydantic's."""
    try:
        yield
    except ValidationError as exc:
        raise InvalidArgument(operation, _describe(exc)) from exc


def _amount(operation: str, amount: object, *, positive: bool = False) -> int:
    """``amount`` as a base-unit integer (C-1), else `InvalidArgument`. A ``bool`` or a
    float is refused though Python would take it for a number: amounts are exact."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidArgument(operation, f"amount must be an int, not {amount!r}")
    if amount < 0 or (positive and amount == 0):
        least = "positive" if positive else "non-negative"
        raise InvalidArgument(operation, f"amount must be {least}, not {amount}")
    return amount


def _price(operation: str, price: object) -> Decimal18:
    """``price`` as a `Decimal18` (given as one, or as its text), else `InvalidArgument`."""
    if isinstance(price, Decimal18):
        return price
    if not isinstance(price, str):
        raise InvalidArgument(operation, f"price must be a Decimal18 or a str, not {price!r}")
    try:
        return Decimal18.parse(price)
    except ChainError as exc:  # InvalidDecimal, NegativeDecimal, DecimalTooPrecise, Overflow
        raise InvalidArgument(operation, f"price {price!r}: {exc}") from exc


def _ran_units(ex: TxExecutor) -> bool:
    """Whether the open block ran a unit (whose effects the next step must be able to
    prove, once the block ends)."""
    return ex.block_open and ex.tx_index > 0


def _provider_side(ex: TxExecutor, *, vault: str, ext: str) -> ProviderSide:
    return read_provider_side(ex, vault, ext)


def _consumer_side(ex: TxExecutor, *, pairing: MeshPairing) -> ConsumerSide:
    return read_consumer_side(ex, pairing.price_feed, pairing.converter, pairing.virtual_staking)


class Mesh:
    """A running mesh (see the module docstring).

    Build it with `from_topology` (or the constructor) and enter it with ``async with``.
    ``seed`` makes fault injection and relayer choices repeatable. ``check_invariants``
    checks the chain-local invariants (`chains.mesh._invariants`) after every block of
    the fastest chain; violations collect in `violations`. ``lazy_blocks`` (default) lets
    the chains produce their idle blocks lazily on a virtual clock (see ``_host.py``: the
    same states, far fewer clock stops); ``False`` gives every block its own timer tick.
    ``store_dir`` makes the chains durable: each chain keeps its state in
    ``store_dir/<chain id>.sqlite`` (`Chain.attach_store`, attached as soon as the chain is
    wired, before deployment; the folder must exist).

    ``key_seed`` is the secret every chain's keys derive from (`ChainConfig.key_seed`: the
    users', validator operators', deployer's and admins' account keys, and the validators'
    consensus keys that sign IBC headers). Empty (the default), they are simulation keys,
    derived from public names: anyone who knows a name can sign as that account or forge
    headers, which is fine in one process (and makes virtual-time runs repeat) but not
    for a mesh whose chains listen on sockets; a genesis of processes (``mesh genesis``)
    draws a fresh random seed.

    ``transport`` is what the actor systems of the mesh talk over: a `transport.Transport`
    (entered and closed by the mesh) or a factory of one, called at each start; the mesh
    always wraps it in its `FaultyNetwork`, so message faults compose with the transport's
    own (socket faults, `FaultProxy`). Default: a new `InMemoryNetwork`. A transport other
    than the in-memory network crosses real sockets: the mesh then runs on a `RealClock`
    (the default clock with one) and refuses a `VirtualClock` with `RealClockRequired`.
    """

    def __init__(
        self,
        topology: Topology,
        *,
        clock: Clock | None = None,
        seed: int = 0,
        autojump: bool | None = None,
        check_invariants: bool = False,
        lazy_blocks: bool = True,
        transport: Transport | Callable[[], Transport] | None = None,
        store_dir: str | Path | None = None,
        key_seed: bytes = b"",
    ) -> None:
        self.topology = topology
        # a secret: never shown (see the class docstring)
        self._key_seed = bytes(key_seed)
        # durable chains: each chain's state in ``store_dir/<chain id>.sqlite``
        self.store_dir = None if store_dir is None else Path(store_dir)
        if clock is None:
            # sockets need the real clock; the in-process network defaults to virtual time
            sockets = transport is not None and not isinstance(transport, InMemoryNetwork)
            clock = RealClock() if sockets else VirtualClock()
        self.clock: Clock = clock
        if (
            transport is not None
            and not callable(transport)
            and not isinstance(transport, InMemoryNetwork)
            and isinstance(clock, VirtualClock)
        ):
            raise RealClockRequired(type(transport).__name__)
        self._transport = transport
        self.seed = seed
        virtual = isinstance(self.clock, VirtualClock)
        self.autojump = virtual if autojump is None else autojump and virtual
        self.check_every_block = check_invariants
        self.lazy_blocks = lazy_blocks
        self.violations: list[str] = []
        self._stack: AsyncExitStack | None = None
        self._tasks: anyio.abc.TaskGroup | None = None
        self._network: FaultyNetwork | None = None
        self._chains: dict[str, MeshChain] = {}
        self._links: dict[frozenset[str], MeshLink] = {}
        self._pairings: dict[tuple[str, str], MeshPairing] = {}
        self._events: EventStream[ChainEvent] = EventStream()
        self._forwarding = False
        self._start_time = 0.0
        # facts the quiescent check needs (see `chains.mesh._invariants`)
        self._operations: dict[tuple[str, str], dict[tuple[str, str], int]] = {}
        self._price_moved: set[tuple[str, str]] = set()
        self._slashed: set[str] = set()
        self._cap_lowered: dict[tuple[str, str], float] = {}
        self._genesis_supply: dict[str, int] = {}
        self._settlements = SettlementWatch()

    @classmethod
    def from_topology(
        cls,
        topology: Topology | str | Path,
        *,
        clock: Clock | None = None,
        seed: int = 0,
        autojump: bool | None = None,
        check_invariants: bool = False,
        lazy_blocks: bool = True,
        transport: Transport | Callable[[], Transport] | None = None,
    ) -> Mesh:
        """A mesh of ``topology`` (a `Topology`, or a path to a TOML file: raises
        `TopologyError`). Nothing runs until ``async with``.

        Without ``transport``, the topology's ``[network]`` section decides: ``memory``
        (the default) is the in-process network; ``tcp``/``nats`` build that transport
        when the mesh starts (every chain of the topology listening in this process, at
        its ``address`` for TCP; relative secret and TLS paths from the file's folder),
        on a real clock (`RealClockRequired` if ``clock`` is virtual).
        """
        base: Path | None = None
        if not isinstance(topology, Topology):
            base = Path(topology).parent
            topology = load_topology(topology)
        if transport is None and topology.network.sockets:
            if isinstance(clock, VirtualClock):
                raise RealClockRequired(topology.network.transport)
            chosen = topology
            transport = partial(
                build_transport, chosen, listen=[c.id for c in chosen.chains], base=base, seed=seed
            )
            clock = clock if clock is not None else RealClock()
        return cls(
            topology,
            clock=clock,
            seed=seed,
            autojump=autojump,
            check_invariants=check_invariants,
            lazy_blocks=lazy_blocks,
            transport=transport,
        )

    # -- lifecycle --------------------------------------------------------------------------

    async def __aenter__(self) -> Mesh:
        """Build and deploy the mesh, in this order (I-49):

        1. the network (the ``transport`` given, or the topology's, else in-memory; always
           under a seeded fault injector) and every chain in its own actor system, with
           IBC (and the mesh-security module on consumers);
        2. per linked chain pair, a setup relayer creates clients and one connection;
        3. price hosts; per pairing, the consumer's price feed and converter (which
           instantiates its virtual staking), then the provider's vault (with native
           staking, once per chain) and an external staking contract authorized for that
           connection and the converter's port;
        4. every control channel is opened from the converter (version
           ``{"protocol":"mesh-security","version":"0.11.0"}``) and the relayers complete
           the handshake and relay the initial validator sync; remote price feeds get their
           ``icq-1`` channel to the price host;
        5. consumer governance sets each pairing's max cap (and subscribes remote feeds to
           epochs), remote feeds fetch a first price;
        6. the setup relayers stop; the topology's relayers start, with their fault plans.

        On a real clock the chains' blocks are ended on demand while this runs (see
        `_end_setup_blocks`): start-up takes a fraction of a second whatever the block
        time, and each chain's time then runs ahead of the wall clock by the dozen or so
        blocks produced so. On a virtual clock blocks come on the clock as always.

        Raises `MeshSetupFailed` (or the `ChainError` of a step) after shutting down what
        was started. On cancellation, what was started is shut down too and the
        cancellation propagates (never an error of an actor the cancellation stopped).
        """
        stack = AsyncExitStack()
        try:
            await self._start(stack)
        except BaseException:
            await stack.aclose()
            self._reset()
            await anyio.lowlevel.checkpoint_if_cancelled()
            raise
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop everything: relayers, chains, their actor systems, the network.

        An exception raised inside ``async with`` comes out as it was raised, also when the
        enclosing scope is cancelled while the mesh closes (the cancellation would otherwise
        replace it, and the scope that catches it would swallow the embedder's error).
        """
        cancelled = anyio.get_cancelled_exc_class()
        try:
            await self.aclose()
        except cancelled:
            if exc is None or isinstance(exc, cancelled):
                raise

    async def aclose(self) -> None:
        """Stop the mesh (idempotent)."""
        stack, self._stack = self._stack, None
        if stack is not None:
            # no shield of our own: the stack holds task groups entered in __aenter__, whose
            # scopes must close in the order they opened; each part shields what must finish
            await stack.aclose()
        self._reset()

    def _reset(self) -> None:
        self._events.close()
        self._settlements.close()
        self._tasks = None
        self._network = None
        self._forwarding = False

    @property
    def running(self) -> bool:
        """Whether the mesh is entered and not closed."""
        return self._stack is not None

    async def _start(self, stack: AsyncExitStack) -> None:
        topology = self.topology
        clock = self.clock
        if self.autojump:
            assert isinstance(clock, VirtualClock)
            await stack.enter_async_context(clock.autojump())
        network = FaultyNetwork(self._inner_transport(), clock=clock, seed=self.seed)
        self._network = await stack.enter_async_context(network)
        for spec in topology.chains:
            node = await start_chain(
                stack,
                topology,
                spec,
                clock=clock,
                transport=network,
                ask_timeout=_ASK_TIMEOUT,
                lazy_blocks=self.lazy_blocks,
                store_path=None if self.store_dir is None else self.store_dir / f"{spec.id}.sqlite",
                key_seed=self._key_seed,
            )
            self._chains[spec.id] = node
            self._genesis_supply[spec.id] = await node.chain.supply()
        setup = await stack.enter_async_context(
            ActorSystem("mesh-setup", clock=clock, transport=network, ask_timeout=_ASK_TIMEOUT)
        )
        # the deployment runs in this task; a real clock's block pump beside it. A step's
        # failure is re-raised outside the task group, as itself, not in an exception group
        failure: Exception | None = None
        async with anyio.create_task_group() as genesis:
            if not isinstance(clock, VirtualClock):
                genesis.start_soon(self._end_setup_blocks, name="mesh setup blocks")
            try:
                await self._deploy_links(setup)
                await self._deploy()
                await self._open_channels()
                await self._authorize()
            except Exception as exc:
                failure = exc
            finally:
                genesis.cancel_scope.cancel()
        if failure is not None:
            raise failure
        for link in self._links.values():
            await link.end_setup()
            await link.start_relayers(stack, clock=clock, transport=network, seed=self.seed)
        self._tasks = await stack.enter_async_context(anyio.create_task_group())
        stack.callback(self._tasks.cancel_scope.cancel)
        self._start_time = clock.now()
        if self.check_every_block:
            self._tasks.start_soon(self._watch_invariants, name="mesh invariants")
        _log.info("mesh started", topology=topology.name, chains=len(self._chains))

    def _inner_transport(self) -> Transport:
        """The transport under the fault injector: the one given (or made by the factory
        given), else a new in-memory network. Raises `RealClockRequired` for a socket
        transport on a virtual clock."""
        given = self._transport
        if given is None:
            return InMemoryNetwork()
        inner = given() if not isinstance(given, Transport) else given
        if not isinstance(inner, InMemoryNetwork) and isinstance(self.clock, VirtualClock):
            raise RealClockRequired(type(inner).__name__)
        return inner

    async def _deploy_links(self, setup: ActorSystem) -> None:
        """I-49 step 2: per linked chain pair, clients and one connection."""
        topology = self.topology
        for a, b in topology.links():
            link = MeshLink(
                a=a,
                b=b,
                spec=topology.relayers_of(a, b),
                gateways={
                    a: self._chains[a].ibc.gateway_address,
                    b: self._chains[b].ibc.gateway_address,
                },
            )
            self._links[frozenset((a, b))] = link
            relayer_poll = 0.5 if isinstance(self.clock, VirtualClock) else _REAL_POLL
            await link.setup(setup, seed=self.seed, poll_interval=relayer_poll)

    @property
    def _poll(self) -> float:
        # how often start-up looks again for a committed step: on a virtual clock a
        # clock second costs nothing, on a real one it is the start-up's wall time
        return 1.0 if isinstance(self.clock, VirtualClock) else _REAL_POLL

    async def _end_setup_blocks(self) -> None:
        """On a real clock, while the mesh deploys: end the open block of every chain that
        ran a unit in it at once (and every chain's first block), instead of waiting for
        its block time.

        Every setup step waits for a block boundary: IBC proves only what the last ended
        block committed (I-2), so each handshake step (client, connection, channel, the
        first validator sync, ``I-49``) needs the block with the previous one to end. That
        is about eight block times on the clock; produced on demand (`Chain.produce_blocks`)
        they take milliseconds, whatever the block time. The cost: each chain's time runs
        ahead of the wall clock by the blocks produced so (a dozen or so block times, the
        same order on every chain), as if the chains had been started that much earlier.
        Cancelled when the deployment ends.
        """
        first = True
        while True:
            for node in self._chains.values():
                try:
                    if first or await node.chain.read(_ran_units):
                        await node.chain.produce_blocks(1)
                except Exception as exc:  # a chain that fails fails its setup step too
                    _log.debug("setup block not produced", chain=node.chain_id, error=repr(exc))
            first = False
            await self.clock.sleep(_REAL_POLL)

    def _link(self, a: str, b: str) -> MeshLink:
        return self._links[frozenset((a, b))]

    async def _deploy(self) -> None:
        topology = self.topology
        for p in topology.pairings:
            if isinstance(p.price_feed, RemotePriceFeedSpec):
                await deploy_price_host(self._chains[p.price_feed.host])
        for p in topology.pairings:
            consumer = self._chains[p.consumer]
            provider = self._chains[p.provider]
            host = None
            if isinstance(p.price_feed, RemotePriceFeedSpec):
                host = self._chains[p.price_feed.host]
            pairing = await deploy_consumer_side(consumer, p, provider.denom, host)
            link = self._link(p.consumer, p.provider)
            pairing.consumer_connection = link.connection_on(p.consumer)
            pairing.provider_connection = link.connection_on(p.provider)
            await deploy_vault(provider)
            await deploy_external_staking(provider, pairing, consumer.denom)
            self._pairings[p.key] = pairing
            self._operations[p.key] = {}

    async def _open_channels(self) -> None:
        for pairing in self._pairings.values():
            p = pairing.spec
            consumer = self._chains[p.consumer]
            pairing.consumer_channel = await open_channel(
                consumer,
                port=f"wasm.{pairing.converter}",
                connection=pairing.consumer_connection,
                counterparty_port=f"wasm.{pairing.external_staking}",
                version=channel_version(),
                step=f"{p.provider}→{p.consumer}: control channel",
            )
            if isinstance(p.price_feed, RemotePriceFeedSpec):
                pairing.feed_channel = await open_channel(
                    consumer,
                    port=f"wasm.{pairing.price_feed}",
                    connection=self._link(p.consumer, p.price_feed.host).connection_on(p.consumer),
                    counterparty_port=ICQ_HOST_PORT,
                    version=ICQ_VERSION,
                    step=f"{p.provider}→{p.consumer}: price feed channel",
                )
        for link in self._links.values():
            await link.clear_setup()
        for pairing in self._pairings.values():
            p = pairing.spec
            consumer = self._chains[p.consumer]
            provider = self._chains[p.provider]
            counterparty = await self._wait_open(consumer, pairing.consumer_channel, provider)
            pairing.provider_channel = counterparty
            if pairing.feed_channel:
                assert isinstance(p.price_feed, RemotePriceFeedSpec)
                await self._wait_open(
                    consumer, pairing.feed_channel, self._chains[p.price_feed.host]
                )
        # I-46, I-49 step 4: the initial validator sync reaches the provider
        for pairing in self._pairings.values():
            provider = self._chains[pairing.spec.provider]
            ext = pairing.external_staking

            async def synced(provider: MeshChain = provider, ext: str = ext) -> bool:
                answer = await provider.chain.query(ext, ListValidatorsQuery(limit=1))
                return bool(answer.validators)

            await self._wait_for(
                synced, f"{pairing.spec.provider}←{pairing.spec.consumer}: initial valset"
            )

    async def _wait_open(self, node: MeshChain, channel_id: str, other: MeshChain) -> str:
        def opened(_: TxExecutor) -> str | None:
            end = node.ibc.module.channel_end(channel_id)
            if end is None or end.state is not ChannelState.OPEN:
                return None
            theirs = other.ibc.module.channel_end(end.counterparty_channel_id)
            if theirs is None or theirs.state is not ChannelState.OPEN:
                return None
            return end.counterparty_channel_id

        found: list[str] = []

        async def check() -> bool:
            value = await node.chain.read(opened)
            if value is not None:
                found.append(value)
            return value is not None

        await self._wait_for(check, f"{node.chain_id} {channel_id} handshake")
        return found[0]

    async def _wait_for(self, condition: Callable[[], Any], step: str) -> None:
        deadline = self.clock.now() + _SETUP_WAIT
        while not await condition():
            if self.clock.now() >= deadline:
                raise MeshSetupFailed(step, f"not done after {_SETUP_WAIT:.0f} s of clock time")
            await self.clock.sleep(self._poll)

    async def _authorize(self) -> None:
        for pairing in self._pairings.values():
            p = pairing.spec
            consumer = self._chains[p.consumer]
            result = await authorize_max_cap(consumer, pairing, p.max_cap)
            if not result.ok:
                raise MeshSetupFailed(f"{p.provider}→{p.consumer}: max cap", str(result.error))
            if isinstance(p.price_feed, RemotePriceFeedSpec):
                await subscribe_price_feed(consumer, pairing)
                await consumer.chain.execute(consumer.deployer, pairing.price_feed, RequestPrice())

                async def priced(
                    consumer: MeshChain = consumer, feed: str = pairing.price_feed
                ) -> bool:
                    try:
                        await consumer.chain.query(feed, PriceQuery())
                    except Exception:
                        return False
                    return True

                await self._wait_for(priced, f"{p.provider}→{p.consumer}: first price")

    # -- lookups ----------------------------------------------------------------------------

    def _node(self, chain_id: str) -> MeshChain:
        if self._stack is None and not self._chains:
            raise MeshNotRunning()
        node = self._chains.get(chain_id)
        if node is None:
            raise UnknownChain(chain_id)
        return node

    def _pairing(self, provider: str, consumer: str) -> MeshPairing:
        if self._stack is None and not self._pairings:
            raise MeshNotRunning()
        pairing = self._pairings.get((provider, consumer))
        if pairing is None:
            raise UnknownPairing(provider, consumer)
        return pairing

    def _provider(self, chain_id: str) -> tuple[MeshChain, str]:
        node = self._node(chain_id)
        if node.vault is None:
            raise UnknownPairing(chain_id, "*")
        return node, node.vault

    def _operator(self, node: MeshChain, validator: str) -> str:
        operator = node.operator(validator)
        names = node.known_operators
        if operator not in names and not validator.startswith(f"{node.spec.prefix}valoper1"):
            raise UnknownValidator(node.chain_id, validator)
        return operator

    def chain(self, chain_id: str) -> Chain:
        """The running `Chain` ``chain_id`` (raises `UnknownChain`)."""
        return self._node(chain_id).chain

    def chains(self) -> tuple[str, ...]:
        """Every chain id, in topology order."""
        return tuple(self._chains)

    def address(self, chain_id: str, user: str) -> str:
        """``user``'s account address on ``chain_id`` (the address of ``key(user)``)."""
        return self._node(chain_id).address(user)

    def key(self, user: str) -> KeyPair:
        """The key pair the mesh holds for ``user`` (the same on every chain, as one
        mnemonic across Cosmos chains, derived with the mesh's ``key_seed``); a process that
        acts as ``user`` signs with it."""
        return account_key(user, self._key_seed)

    def save_keys(self, directory: str | os.PathLike[str]) -> tuple[Path, ...]:
        """Write a key file (0600) per topology user, and the deployer's, as
        ``<directory>/<name>.key``, for processes that sign as them, and the mesh's
        ``key_seed`` as ``<directory>/seed`` (0600), from which processes and clients
        derive the chains' addresses and validator keys; returns the key files' paths.
        Raises `KeyFileError` if a file exists already, ``OSError`` from the file system."""
        names = sorted(
            {a.name for node in self._chains.values() for a in node.spec.accounts} | {MESH_DEPLOYER}
        )
        paths = tuple(Path(directory) / f"{name}.key" for name in names)
        for name, path in zip(names, paths, strict=True):
            account_key(name, self._key_seed).save(path)
        save_key_seed(directory, self._key_seed)
        return paths

    def operator(self, chain_id: str, validator: str) -> str:
        """The operator address of ``validator`` on ``chain_id``."""
        node = self._node(chain_id)
        return self._operator(node, validator)

    def pairing(self, provider: str, consumer: str) -> MeshPairing:
        """The deployed contracts and channel ids of ``provider → consumer``."""
        return self._pairing(provider, consumer)

    def pairings(self) -> tuple[MeshPairing, ...]:
        """Every deployed pairing, in topology order."""
        return tuple(self._pairings.values())

    def vault(self, chain_id: str) -> str:
        """The vault address on provider ``chain_id``."""
        return self._provider(chain_id)[1]

    def link(self, a: str, b: str) -> MeshLink:
        """The connection and relayers between chains ``a`` and ``b``."""
        link = self._links.get(frozenset((a, b)))
        if link is None:
            raise UnknownPairing(a, b)
        return link

    @property
    def network(self) -> FaultyNetwork:
        """The fault injector every actor system is attached to (partition, heal...)."""
        if self._network is None:
            raise MeshNotRunning()
        return self._network

    # -- users ------------------------------------------------------------------------------

    async def bond(self, chain_id: str, user: str, amount: int) -> TxResult:
        """``user`` deposits ``amount`` of the provider's denom as collateral (P-23)."""
        node, vault = self._provider(chain_id)
        with _arguments("bond"):
            coin = Coin(denom=node.denom, amount=_amount("bond", amount))
        return await node.chain.execute(node.address(user), vault, VaultBond(), funds=(coin,))

    async def unbond(self, chain_id: str, user: str, amount: int) -> TxResult:
        """``user`` withdraws free collateral (P-24)."""
        node, vault = self._provider(chain_id)
        with _arguments("unbond"):
            msg = VaultUnbond(amount=Coin(denom=node.denom, amount=_amount("unbond", amount)))
        return await node.chain.execute(node.address(user), vault, msg)

    async def stake_locally(
        self, chain_id: str, user: str, validator: str, amount: int
    ) -> TxResult:
        """``user`` stakes collateral on a validator of the provider chain itself (P-25)."""
        node, vault = self._provider(chain_id)
        operator = self._operator(node, validator)
        with _arguments("stake_locally"):
            msg = StakeLocal(
                amount=Coin(denom=node.denom, amount=_amount("stake_locally", amount)),
                msg=encode_stake_target(operator),
            )
        return await node.chain.execute(node.address(user), vault, msg)

    async def cross_stake(
        self, provider: str, consumer: str, user: str, validator: str, amount: int
    ) -> CrossChainTx:
        """``user`` cross-stakes ``amount`` to ``validator`` of ``consumer`` (P-26, I-51):
        the lien and the stake's value range open now; the stake reaches the consumer when
        relayed and is committed when its ack comes back (P-65), or rolled back on an
        error ack or a timeout (P-66). Returns the transaction's result as a
        `CrossChainTx`: ``await result.settled()`` waits for that decision. Raises
        `InvalidArgument` for an amount that is not a non-negative int."""
        pairing = self._pairing(provider, consumer)
        node, vault = self._provider(provider)
        operator = self._operator(self._node(consumer), validator)
        with _arguments("cross_stake"):
            msg = StakeRemote(
                contract=pairing.external_staking,
                amount=Coin(denom=node.denom, amount=_amount("cross_stake", amount)),
                msg=encode_stake_target(operator),
            )
        result = await node.chain.execute(node.address(user), vault, msg)
        if result.ok:
            self._count((provider, consumer), node.address(user), operator)
        return self._track(node, pairing, result)

    def _track(self, node: MeshChain, pairing: MeshPairing, result: TxResult) -> CrossChainTx:
        handle = CrossChainTx._of(
            result, contract=pairing.external_staking, channel=pairing.provider_channel
        )
        return self._settlements.track(node.chain, handle, self._tasks)

    async def unstake(
        self, provider: str, consumer: str, user: str, validator: str, amount: int
    ) -> CrossChainTx:
        """``user`` unstakes ``amount`` from ``validator`` of ``consumer`` (P-67, I-52);
        unbonding starts at the ack (P-68; a `CrossChainTx`: ``await result.settled()``
        waits for it). Raises `InvalidArgument` for a bad amount."""
        pairing = self._pairing(provider, consumer)
        node = self._node(provider)
        operator = self._operator(self._node(consumer), validator)
        with _arguments("unstake"):
            coin = Coin(denom=node.denom, amount=_amount("unstake", amount))
            msg = ExternalUnstake(validator=operator, amount=coin)
        result = await node.chain.execute(node.address(user), pairing.external_staking, msg)
        if result.ok:
            self._count((provider, consumer), node.address(user), operator)
        return self._track(node, pairing, result)

    def _count(self, key: tuple[str, str], user: str, validator: str) -> None:
        ops = self._operations.setdefault(key, {})
        ops[(user, validator)] = ops.get((user, validator), 0) + 1

    async def withdraw_unbonded(self, provider: str, consumer: str, user: str) -> TxResult:
        """``user`` releases every matured unbonding of the pairing to the vault (P-70)."""
        pairing = self._pairing(provider, consumer)
        node = self._node(provider)
        return await node.chain.execute(
            node.address(user), pairing.external_staking, WithdrawUnbonded()
        )

    async def claim_rewards(
        self,
        provider: str,
        consumer: str,
        user: str,
        validator: str,
        recipient: str | None = None,
    ) -> CrossChainTx:
        """``user`` withdraws its rewards on ``validator`` to ``recipient``'s account on the
        consumer (default: the same name's; a full address is used as given) (I-54). A
        `CrossChainTx`: ``await result.settled()`` waits for the transfer's ack (P-75)."""
        pairing = self._pairing(provider, consumer)
        node = self._node(provider)
        consumer_node = self._node(consumer)
        operator = self._operator(consumer_node, validator)
        target = recipient or user
        if not target.startswith(f"{consumer_node.spec.prefix}1"):
            target = consumer_node.address(target)
        with _arguments("claim_rewards"):
            msg = ExternalWithdrawRewards(validator=operator, remote_recipient=target)
        result = await node.chain.execute(node.address(user), pairing.external_staking, msg)
        return self._track(node, pairing, result)

    # -- the world --------------------------------------------------------------------------

    async def move_price(self, provider: str, consumer: str, price: Decimal18 | str) -> TxResult:
        """The pairing's feed now prices one provider token at ``price`` consumer tokens:
        the simple feed's owner updates it (C-60); for a remote feed the price host's TWAP
        changes and the feed is asked at once (C-62)."""
        pairing = self._pairing(provider, consumer)
        value = _price("move_price", price)
        feed = pairing.spec.price_feed
        consumer_node = self._node(consumer)
        self._price_moved.add(pairing.key)
        if isinstance(feed, RemotePriceFeedSpec):
            host = self._node(feed.host)
            assert host.price_host is not None
            moved = await host.chain.execute(
                host.deployer, host.price_host, SetHostPrice(pool_id=feed.pool_id, twap=value)
            )
            if not moved.ok:
                return moved
            return await consumer_node.chain.execute(
                consumer_node.deployer, pairing.price_feed, RequestPrice()
            )
        return await consumer_node.chain.execute(
            consumer_node.deployer, pairing.price_feed, UpdatePrice(native_per_foreign=value)
        )

    async def misbehave(self, chain_id: str, validator: str, kind: str = _DOUBLE_SIGN) -> TxResult:
        """``validator`` double-signs (``"double_sign"``: evidence for the current block:
        slash, jail forever, tombstone, C-36) or goes offline (``"downtime"``: slash and
        jail, C-35). On a consumer the slash travels to the providers in the next valset
        update (I-88, I-89). Raises `InvalidArgument` (a ``ValueError``) for another
        ``kind``."""
        node = self._node(chain_id)
        operator = self._operator(node, validator)
        if kind not in (_DOWNTIME, _DOUBLE_SIGN):
            detail = f"kind must be {_DOUBLE_SIGN!r} or {_DOWNTIME!r}, not {kind!r}"
            raise InvalidArgument("misbehave", detail)
        self._slashed.add(chain_id)
        if kind == _DOWNTIME:
            return await node.chain.force_downtime(operator)
        record = await node.chain.validator(operator)
        if record is None:
            raise UnknownValidator(chain_id, validator)
        height = await node.chain.height()
        time_s = await node.chain.time()
        power = record.power(node.chain.config.staking.power_reduction)
        return await node.chain.submit_equivocation(record.consensus_address, height, time_s, power)

    async def unjail(self, chain_id: str, validator: str) -> TxResult:
        """``validator`` unjails itself (C-29)."""
        node = self._node(chain_id)
        return await node.chain.unjail(self._operator(node, validator))

    async def set_max_cap(self, provider: str, consumer: str, amount: int) -> TxResult:
        """Consumer governance sets the pairing's max cap (C-43); 0 starts the drain of
        C-96 (``internal_unstake`` packets at the next epochs)."""
        pairing = self._pairing(provider, consumer)
        consumer_node = self._node(consumer)
        amount = _amount("set_max_cap", amount)
        if amount < pairing.spec.max_cap or amount == 0:
            self._cap_lowered[pairing.key] = self.clock.now()
        return await authorize_max_cap(consumer_node, pairing, amount)

    async def close_channel(self, provider: str, consumer: str) -> TxResult:
        """The provider's admin closes the control channel (P-83a, I-100): pending
        transactions resolve as failed, stakes become immediately withdrawable unbondings;
        the relayers carry ``CloseConfirm`` to the consumer (I-101)."""
        pairing = self._pairing(provider, consumer)
        node = self._node(provider)
        return await node.chain.execute(
            node.deployer, pairing.external_staking, CloseControlChannel()
        )

    def pause_relaying(self, a: str, b: str) -> None:
        """Pause the relayers between ``a`` and ``b`` (packets wait, and may time out)."""
        self.link(a, b).pause()

    def resume_relaying(self, a: str, b: str) -> None:
        """Resume the relayers between ``a`` and ``b``."""
        self.link(a, b).resume()

    # -- faults (failure injection) -------------------------------------------------------

    def halt_chain(self, chain_id: str) -> None:
        """Halt ``chain_id`` (its validators stop agreeing on blocks): no block is
        produced, every transaction (users', relayers') is refused with `ChainHalted`,
        queries answer from its last state; packets to it wait, and cannot time out on it
        either, since its time stands still. Raises `UnknownChain`."""
        self._node(chain_id).chain.halt()

    def resume_chain(self, chain_id: str) -> None:
        """Resume a halted chain: its next block comes one block time from now, with the
        clock's time then (time jumps over the halt, as a real chain's next block does;
        packets whose timeout passed meanwhile now time out). Raises `UnknownChain`."""
        self._node(chain_id).chain.resume()

    def keep_committed(self, *chain_ids: str) -> None:
        """Keep each chain's committed state (its state at its last block boundary) in
        memory, so that `crash_chain` loses its open block as a real node does
        (`Chain.keep_committed`; every chain if none is named). Chains with a durable
        store (``store_dir``) need nothing: the store is their committed state. Costs
        O(state) now and O(writes) per block after. Idempotent. Raises `UnknownChain`."""
        for chain_id in chain_ids or self.chains():
            self._node(chain_id).chain.keep_committed()

    async def crash_chain(self, chain_id: str) -> int | None:
        """Crash ``chain_id``'s node: its host actor, contracts and IBC components stop;
        calls in flight to it fail (`ActorTerminated`), later ones fail at once
        (`ActorNotFound`) and its relayers' queries fail, until `restart_chain`.

        What survives is what it committed: its state at its last block boundary, from
        its durable store (``store_dir``) or from the in-memory copy `keep_committed`
        keeps. The transactions of its open block, though answered, are lost, as a
        real node's uncommitted block is (their packets are never relayed; relayed
        packets they received or acknowledged are relayed again). Returns the height of
        the block whose transactions were lost, ``None`` if none were. A chain with
        neither a store nor `keep_committed` keeps its whole state in memory (nothing is
        lost; ``None``). Raises `UnknownChain`. Cancellation: the host's stop completes
        regardless, and nothing is restored."""
        return await self._node(chain_id).chain.crash()

    def restart_chain(self, chain_id: str) -> None:
        """Restart a crashed chain from the state `crash_chain` left (a fresh host; blocks
        resume one block time from now, time jumps over the downtime; the relayers find
        it again at their next query). Raises `UnknownChain`."""
        self._node(chain_id).chain.restart()

    def chain_down(self, chain_id: str) -> bool:
        """Whether ``chain_id`` is crashed or halted now. Raises `UnknownChain`."""
        chain = self._node(chain_id).chain
        return chain.crashed or chain.halted

    def skew_clock(self, chain_id: str, offset: int = 0, drift: float | None = None) -> None:
        """Skew ``chain_id``'s block time against the others': ``offset`` seconds more
        ahead from its next block (negative: it stands still until the clock catches
        up), and with ``drift`` that many extra seconds per clock second from now on.
        Raises `UnknownChain`, `InvalidArgument` for a drift of -1 or less."""
        if drift is not None and drift <= -1.0:
            raise InvalidArgument("skew_clock", f"drift must be above -1, not {drift}")
        if isinstance(offset, bool) or not isinstance(offset, int):
            raise InvalidArgument("skew_clock", f"offset must be an int, not {offset!r}")
        self._node(chain_id).chain.skew_clock(offset, drift)

    async def crash_relayer(self, a: str, b: str, index: int = 0) -> None:
        """Crash relayer ``index`` between ``a`` and ``b``: its actor stops with all it held
        in memory. Raises `UnknownPairing` (no such link), `InvalidArgument` (no such
        relayer). Cancellation: the stop completes regardless."""
        link = self.link(a, b)
        self._relayer_of(link, index)
        await link.crash_relayer(index)

    def restart_relayer(self, a: str, b: str, index: int = 0) -> None:
        """Start a fresh relayer ``index`` between ``a`` and ``b`` after `crash_relayer`:
        it recovers what is pending from the chains (commitments, receipts), as a
        restarted Hermes does. Raises as `crash_relayer`."""
        link = self.link(a, b)
        self._relayer_of(link, index)
        link.restart_relayer(index)

    def lag_relayer(self, a: str, b: str, index: int = 0, lag: float = 60.0) -> None:
        """Relayer ``index`` between ``a`` and ``b`` lags its light-client updates: every
        batch it plans (client updates first, then the packets, acks and timeouts whose
        proofs need them) reaches the chain ``lag`` clock seconds later, with its proof
        heights that stale; ``lag=0`` ends the lag. Raises `UnknownPairing`,
        `InvalidArgument` (no such relayer, a negative or non-finite lag)."""
        link = self.link(a, b)
        self._relayer_of(link, index)
        if isinstance(lag, bool) or not isinstance(lag, int | float) or not 0 <= lag < math.inf:
            raise InvalidArgument("lag_relayer", f"lag must be a finite number >= 0, not {lag!r}")
        link.lag_relayer(index, float(lag))

    def add_relayers(self, a: str, b: str, count: int = 1) -> int:
        """Start ``count`` more relayers racing on the path between ``a`` and ``b``
        (competing relayers): a packet two of them deliver is received once, the other
        delivery refused by the receipt (I-25) and counted as a no-op. Returns how many
        extra relayers the link has now. Raises `UnknownPairing`, `InvalidArgument`."""
        link = self.link(a, b)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InvalidArgument("add_relayers", f"count must be a positive int, not {count!r}")
        link.add_relayers(count)
        return len(link.extra)

    async def remove_relayers(self, a: str, b: str) -> int:
        """Stop the extra relayers of `add_relayers` between ``a`` and ``b``; returns the
        redundant deliveries they had counted (their no-ops). Raises `UnknownPairing`."""
        stats = await self.link(a, b).remove_relayers()
        return sum(s.items_noop for s in stats)

    def _relayer_of(self, link: MeshLink, index: int) -> None:
        if isinstance(index, bool) or not isinstance(index, int):
            raise InvalidArgument("relayer", f"index must be an int, not {index!r}")
        if not 0 <= index < len(link.relayers):
            detail = f"link {link.name} has {len(link.relayers)} relayer(s): no index {index}"
            raise InvalidArgument("relayer", detail)

    # -- time -------------------------------------------------------------------------------

    @property
    def seconds(self) -> float:
        """Clock seconds since the mesh finished starting."""
        return self.clock.now() - self._start_time

    async def advance(self, *, days: float = 0.0, hours: float = 0.0, seconds: float = 0.0) -> None:
        """Let the mesh run for that long (blocks, epochs, relaying, timeouts).

        In virtual time without autojump the clock is advanced here; otherwise this sleeps
        on the clock. Cancellable: the mesh keeps running where time stopped.
        """
        total = days * _DAY + hours * 3_600.0 + seconds
        if total <= 0:
            await anyio.lowlevel.checkpoint()
            return
        clock = self.clock
        if isinstance(clock, VirtualClock) and not self.autojump:
            await clock.advance(total)
        else:
            await clock.sleep(total)

    async def advance_until(self, deadline: float) -> None:
        """Run until `seconds` reaches ``deadline`` (no-op if already past)."""
        await self.advance(seconds=max(0.0, deadline - self.seconds))

    async def settle(self, timeout: float = _DAY, step: float | None = None) -> bool:
        """Run until no packet is in flight on any channel and no provider transaction is
        pending (quiescence), or ``timeout`` clock seconds pass; returns whether it
        settled. ``step`` is the polling period (default: the fastest block time)."""
        step = step or min(c.block_time for c in self.topology.chains)
        deadline = self.seconds + timeout
        while True:
            if await self._quiet():
                return True
            if self.seconds >= deadline:
                return False
            await self.advance(seconds=step)

    async def _quiet(self) -> bool:
        for node in self._chains.values():

            def pending(_: TxExecutor, node: MeshChain = node) -> int:
                module = node.ibc.module
                return sum(
                    len(module.pending_sequences(end.channel_id))
                    for end in module.channel_ends()
                    if end.state is ChannelState.OPEN
                )

            if await node.chain.read(pending):
                return False
        for pairing in self._pairings.values():
            provider = self._node(pairing.spec.provider)
            side = await provider.chain.read(
                partial(_provider_side, vault=provider.vault or "", ext=pairing.external_staking)
            )
            if side.pending_txs:
                return False
        return True

    # -- events -----------------------------------------------------------------------------

    def events(self, *, buffer: int = 100_000) -> Subscription[ChainEvent]:
        """Subscribe to the committed events of every chain, merged (each chain's in its
        own order). Events a slow subscriber cannot buffer are dropped for it
        (``dropped``). The subscription ends when the mesh closes."""
        if self._tasks is None:
            raise MeshNotRunning()
        if not self._forwarding:
            self._forwarding = True
            for node in self._chains.values():
                self._tasks.start_soon(self._forward, node.chain, name=f"events {node.chain_id}")
        return self._events.subscribe(buffer=buffer)

    async def _forward(self, chain: Chain) -> None:
        async with chain.events(buffer=1_000_000) as events:
            async for event in events:
                self._events.publish(event)

    # -- queries ----------------------------------------------------------------------------

    async def validators(self, chain_id: str) -> tuple[ValidatorView, ...]:
        """Every validator of ``chain_id`` with status, jail and tombstone, tokens."""
        node = self._node(chain_id)
        names = {node.chain.operator(v.name): v.name for v in node.spec.validators}
        return await node.chain.read(lambda ex: read_validators(ex, names))

    async def collateral(self, chain_id: str, user: str) -> VaultAccountDetailsResponse:
        """``user``'s vault account: collateral, free range, max lien, slashable (P-34)."""
        node, vault = self._provider(chain_id)
        answer: VaultAccountDetailsResponse = await node.chain.query(
            vault, VaultAccountDetailsQuery(account=node.address(user))
        )
        return answer

    async def stake(self, provider: str, consumer: str, user: str, validator: str) -> StakeInfo:
        """``user``'s stake on ``validator`` as external staking records it (value range,
        pending unbonds, rewards bookkeeping)."""
        pairing = self._pairing(provider, consumer)
        node = self._node(provider)
        operator = self._operator(self._node(consumer), validator)
        answer: StakeInfo = await node.chain.query(
            pairing.external_staking, StakeQuery(user=node.address(user), validator=operator)
        )
        return answer

    async def virtual_stake(self, provider: str, consumer: str) -> BondStatusResponse:
        """The pairing's max cap and live virtual delegation on the consumer (C-45, C-49)."""
        pairing = self._pairing(provider, consumer)
        node = self._node(consumer)
        answer: BondStatusResponse = await node.chain.query_module(
            "virtual_stake", BondStatusQuery(contract=pairing.virtual_staking)
        )
        return answer

    async def virtual_delegation(self, provider: str, consumer: str, validator: str) -> int:
        """The token value of the pairing's virtual delegation to ``validator`` (C-18)."""
        pairing = self._pairing(provider, consumer)
        node = self._node(consumer)
        operator = self._operator(node, validator)
        return await node.chain.delegation_value(pairing.virtual_staking, operator)

    async def rewards(self, provider: str, consumer: str, user: str) -> dict[str, int]:
        """``user``'s withdrawable rewards per validator name (consumer denom, I-82)."""
        pairing = self._pairing(provider, consumer)
        node = self._node(provider)
        consumer_node = self._node(consumer)
        answer: AllPendingRewardsResponse = await node.chain.query(
            pairing.external_staking, AllPendingRewardsQuery(user=node.address(user), limit=30)
        )
        return {consumer_node.validator_name(r.validator): r.rewards.amount for r in answer.rewards}

    async def provider_view(self, provider: str, consumer: str) -> dict[str, str]:
        """The provider's view of the consumer's validators: name → state (I-72, I-79)."""
        pairing = self._pairing(provider, consumer)
        node = self._node(provider)
        consumer_node = self._node(consumer)
        answer: ValidatorsResponse = await node.chain.query(
            pairing.external_staking, ListValidatorsQuery(limit=100)
        )
        return {consumer_node.validator_name(v.validator): v.state for v in answer.validators}

    async def price(self, provider: str, consumer: str) -> Decimal18 | None:
        """The pairing's current price, or ``None`` if the feed has none (stale)."""
        pairing = self._pairing(provider, consumer)
        node = self._node(consumer)
        try:
            answer: PriceResponse = await node.chain.query(pairing.price_feed, PriceQuery())
        except Exception:
            return None
        return answer.native_per_foreign

    async def balance(self, chain_id: str, user: str) -> int:
        """``user``'s balance of ``chain_id``'s denom."""
        node = self._node(chain_id)
        return await node.chain.balance(node.address(user))

    async def channels(self) -> tuple[ChannelStats, ...]:
        """Every channel end of every chain with its packet counters."""
        out: list[ChannelStats] = []
        for node in self._chains.values():
            out.extend(await node.chain.read(read_channels))
        return tuple(out)

    # -- invariants -------------------------------------------------------------------------

    async def check_invariants(self, *, quiescent: bool = False) -> list[str]:
        """The chain-local invariants, every received packet's origin (I-17) and, with
        ``quiescent``, the cross-chain delegation views (I-64..I-69): what is violated,
        empty if everything holds. See `chains.mesh._invariants`."""
        out: list[str] = []
        now = self.clock.now()
        for node in self._chains.values():
            spec = node.spec
            if node.vault is not None:
                externals = [
                    p.external_staking
                    for p in self._pairings.values()
                    if p.spec.provider == spec.id
                ]
                out += await node.chain.read(
                    partial(
                        provider_violations,
                        vault=node.vault,
                        native_staking=node.native_staking,
                        external=externals,
                    )
                )
            grace = (spec.epoch_blocks + 2) * spec.block_time
            capped = [
                p.virtual_staking
                for p in self._pairings.values()
                if p.spec.consumer == spec.id
                and now - self._cap_lowered.get(p.key, -math.inf) > grace
            ]
            if capped:
                out += await node.chain.read(partial(cap_violations, contracts=capped))
            out += await node.chain.read(
                partial(
                    supply_violations,
                    genesis_supply=self._genesis_supply[spec.id],
                    provision=spec.block_provision,
                )
            )
            # issue 13: mints and burns only where the protocol makes them, rewards paid
            # never above rewards accrued
            out += await node.chain.read(conservation_violations)
            out += await node.chain.read(distribution_reward_violations)
            for p in self._pairings.values():
                if p.spec.provider == spec.id:
                    out += await node.chain.read(
                        partial(external_reward_violations, contract=p.external_staking)
                    )
        # I-17: every packet a chain received was committed (or acked) on its source, and
        # none was both received and timed out (read in this process, between units)
        for link in self._links.values():
            a, b = self._chains[link.a].ibc.module, self._chains[link.b].ibc.module
            out += packet_origin_violations(a, b) + packet_origin_violations(b, a)
        if quiescent:
            out += await self._view_violations()
        return out

    async def _view_violations(self) -> list[str]:
        out: list[str] = []
        for key, pairing in self._pairings.items():
            provider = self._node(key[0])
            consumer = self._node(key[1])
            p_side = await provider.chain.read(
                partial(_provider_side, vault=provider.vault or "", ext=pairing.external_staking)
            )
            c_side = await consumer.chain.read(partial(_consumer_side, pairing=pairing))
            # burns reach every consumer of a slashed user (I-92): any slash among the
            # provider's consumers (or on the provider) makes amounts diverge legitimately
            family = {key[0]} | {c for p, c in self._pairings if p == key[0]}
            exact = key not in self._price_moved and not family & self._slashed
            out += delegation_view_violations(
                f"{key[0]}→{key[1]}",
                p_side,
                c_side,
                compare_amounts=exact,
                operations=self._operations.get(key, {}),
            )
        return out

    async def _watch_invariants(self) -> None:
        step = min(c.block_time for c in self.topology.chains)
        while True:
            await self.clock.sleep(step)
            try:
                found = await self.check_invariants()
            except Exception as exc:  # the mesh may be closing: stop watching, never crash
                _log.debug("invariant check stopped", error=repr(exc))
                return
            for violation in found:
                if violation not in self.violations:
                    _log.warning("invariant violated", violation=violation)
                    self.violations.append(violation)

    # -- snapshot ---------------------------------------------------------------------------

    async def snapshot(self, *, invariants: bool = False) -> MeshSnapshot:
        """The whole mesh now (see `MeshSnapshot`), with the violations the per-block
        watcher found; with ``invariants``, the chain-local invariants are checked now too."""
        chains: list[ChainView] = []
        for node in self._chains.values():
            names = {node.chain.operator(v.name): v.name for v in node.spec.validators}

            def read(
                ex: TxExecutor, node: MeshChain = node, names: dict[str, str] = names
            ) -> ChainView:
                validators = read_validators(ex, names)
                vault: VaultView | None = None
                if node.vault is not None:
                    vault = read_vault(ex, node.vault)
                return ChainView(
                    id=node.chain_id,
                    denom=node.denom,
                    height=ex.height,
                    time=ex.time_s,
                    supply=ex.bank.reported_supply(node.denom),
                    bonded=sum(v.tokens for v in validators if v.status == "Bonded"),
                    validators=validators,
                    vault=vault,
                )

            chains.append(await node.chain.read(read))
        pairings = [await self._pairing_view(p) for p in self._pairings.values()]
        relayers: list[RelayerView] = []
        for link in self._links.values():
            for index, stats in enumerate(await link.statistics()):
                relayers.append(
                    RelayerView(
                        link=link.name,
                        index=index,
                        batches=stats.batches_sent,
                        ok=stats.items_ok,
                        noop=stats.items_noop,
                        failed=stats.items_failed,
                        clears=stats.clears,
                    )
                )
        violations = list(self.violations)
        if invariants:
            violations += [v for v in await self.check_invariants() if v not in violations]
        return MeshSnapshot(
            name=self.topology.name,
            seed=self.seed,
            seconds=self.seconds,
            chains=tuple(chains),
            pairings=tuple(pairings),
            channels=await self.channels(),
            relayers=tuple(relayers),
            invariants_checked=invariants,
            invariant_violations=tuple(violations),
        )

    async def _pairing_view(self, pairing: MeshPairing) -> PairingView:
        provider = self._node(pairing.spec.provider)
        consumer = self._node(pairing.spec.consumer)
        p_side = await provider.chain.read(
            partial(_provider_side, vault=provider.vault or "", ext=pairing.external_staking)
        )
        c_side = await consumer.chain.read(partial(_consumer_side, pairing=pairing))
        end = consumer.ibc.module.channel_end(pairing.consumer_channel)
        stakes = p_side.stakes
        records = c_side.records
        rows = [
            UserStake(
                user=provider.account_name(user),
                validator=consumer.validator_name(validator),
                provider_low=low,
                provider_high=high,
                consumer=records.get((user, validator), 0),
                rewards=rewards,
            )
            for (user, validator), (low, high, rewards) in sorted(stakes.items())
        ]
        validators = p_side.validators
        return PairingView(
            provider=pairing.spec.provider,
            consumer=pairing.spec.consumer,
            price=c_side.price,
            discount=str(pairing.spec.discount),
            max_cap=c_side.cap,
            virtual_delegated=c_side.delegated,
            virtual_requested=sum(c_side.requested.values()),
            cross_staked=sum(low for low, _, _ in stakes.values()),
            provider_pending_txs=p_side.pending_txs,
            active_validators=sum(1 for s in validators.values() if s == "active"),
            known_validators=len(validators),
            rewards_reserve=c_side.reserve,
            rewards_withdrawable=sum(r for _, _, r in stakes.values()),
            consumer_channel=pairing.consumer_channel,
            provider_channel=pairing.provider_channel,
            channel_state="" if end is None else str(end.state.value),
            stakes=tuple(rows),
        )
