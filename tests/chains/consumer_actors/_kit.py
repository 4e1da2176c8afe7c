"""A consumer chain run by the real chain host, for the consumer tests through the actors.

The chain is a `Chain` (host actor, executor, contract actors) built from the reference e2e
consumer profile of C-13: four bonded validators of 1_000_000 tokens with a delegator-share
total of 1.0 each (so one share is worth 1_000_000 tokens), slash fractions 0.1 / 0.1. The
mesh-security module is plugged in with ``add_module``; the consumer contracts are deployed
in the order of I-49 (1: price feed, 2: converter, which instantiates its virtual staking
contract, 4: the converter's channel handshake, 5: governance sets the max cap).

IBC is played by `CaptureIbc`, an ``"ibc"`` module that records every packet a contract
sends (with a per-channel sequence, in the store, so a failed unit sends nothing), and by
the deliveries of `chains.testing`: unit bodies that deliver packets, acknowledgements and
timeouts to a contract as one atomic unit each (``Chain.run_unit``), as an IBC module
would: a failed receive is rolled back and answered with an error acknowledgement (I-19).
The same bodies run on a bare `TxExecutor` (``executor.run``) for the executor-level
property tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from chains import (
    Chain,
    ChainConfig,
    ChainError,
    Coin,
    Decimal18,
    GenesisAccount,
    GenesisValidator,
    TxResult,
)
from chains.consumer import (
    Converter,
    ConverterConfig,
    ConverterConfigQuery,
    ConverterInstantiate,
    IcqPriceHost,
    MeshParams,
    MeshSecurityModule,
    MsgSetPriceFeedContract,
    MsgSetVirtualStakingMaxCap,
    RemoteTwapPriceFeed,
    SimplePriceFeed,
    SimplePriceFeedInstantiate,
    TaskType,
    UpdatePrice,
    VirtualStaking,
)
from chains.contract import (
    BlockEnv,
    Contract,
    CustomMsg,
    Event,
    IbcAcknowledgement,
    IbcChannel,
    IbcEndpoint,
    IbcOrder,
    IbcPacket,
    IbcSendPacket,
    IbcTimeout,
    JournaledMap,
    Response,
    SdkDec,
    SortedJournaledMap,
    Store,
    UnsupportedMessage,
    derive_address,
)
from chains.host import TxExecutor
from chains.modules import ModuleCall, StakingParams, SudoCall
from chains.testing import (
    channel_close,
    channel_connect,
    channel_open,
    packet_ack,
    packet_receive,
    packet_timeout,
)
from chains.wire import (
    BurnPacket,
    StakePacket,
    TransferRewardsPacket,
    UnstakePacket,
    channel_version,
    decode_consumer_packet,
    encode_packet,
)
from mesh_actors.testing import virtual_system

PREFIX = "stars"
DENOM = "stake"
REMOTE = "uosmo"
M = 1_000_000
CONSUMER_ID = "consumer-1"
VALIDATORS = ("val-a", "val-b", "val-c", "val-d")
RELAYER = derive_address(PREFIX, "relayer")
ADMIN = derive_address(PREFIX, "admin")
PROVIDER_PORT = "wasm.provider"
PROVIDER_CHANNEL = "channel-7"
CONTROL_CHANNEL = "channel-0"
SUCCESS_ACK = IbcAcknowledgement.success(b"{}")

CODES: tuple[type[Contract], ...] = (
    Converter,
    VirtualStaking,
    SimplePriceFeed,
    RemoteTwapPriceFeed,
    IcqPriceHost,
)

Body = Callable[[TxExecutor], Any]


def remote(amount: int) -> Coin:
    """A coin of the provider's vault denom."""
    return Coin(denom=REMOTE, amount=amount)


def local(amount: int) -> Coin:
    """A coin of the consumer's bond denom."""
    return Coin(denom=DENOM, amount=amount)


def ack_error(ack: IbcAcknowledgement) -> str:
    """The text of an error acknowledgement (fails the test for a success ack)."""
    text = ack.error_text()
    assert text is not None, "expected an error acknowledgement"
    return text


def consumer_config(
    *, chain_id: str = CONSUMER_ID, block_time: float = 5.0, **staking: Any
) -> ChainConfig:
    """The reference e2e consumer profile (C-13), with staking parameter overrides."""
    params = StakingParams.e2e_consumer().model_copy(update=staking)
    return ChainConfig(
        chain_id=chain_id,
        prefix=PREFIX,
        bond_denom=DENOM,
        block_time=block_time,
        staking=params,
        accounts=(GenesisAccount(address=ADMIN, coins=(local(10**12),)),),
        validators=tuple(
            GenesisValidator(name=name, self_bond=M, self_bond_shares=SdkDec.parse("1"))
            for name in VALIDATORS
        ),
    )


# -- the "ibc" module of these tests ------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """A packet a contract sent: channel, sequence, data and timeout."""

    contract: str
    channel_id: str
    sequence: int
    data: bytes
    timeout: IbcTimeout
    height: int

    def decoded(self) -> Any:
        """The consumer packet it carries (``decode_consumer_packet``)."""
        return decode_consumer_packet(self.data)


class ChannelClosed(ChainError):
    """A send on a channel the test closed (I-20, I-102)."""

    fields = ("channel_id",)

    def __init__(self, channel_id: str) -> None:
        super().__init__(channel_id)


class CaptureIbc:
    """The ``"ibc"`` module: records packets sent by contracts (per-channel sequences), in
    the store so a rolled-back unit leaves no packet behind (C-8)."""

    name = "ibc"

    def __init__(self, store: Store) -> None:
        self._sent: SortedJournaledMap[int, Sent] = SortedJournaledMap(store, "ibc/sent")
        self._sequences: JournaledMap[str, int] = JournaledMap(store, "ibc/sequences")
        self._closed: JournaledMap[str, bool] = JournaledMap(store, "ibc/closed")

    def handle(self, call: ModuleCall, msg: Any) -> Response:
        if not isinstance(msg, IbcSendPacket):
            raise UnsupportedMessage("ibc", type(msg).__name__)
        if self._closed.get(msg.channel_id):
            raise ChannelClosed(msg.channel_id)
        sequence = self._sequences.get(msg.channel_id, 0) + 1
        self._sequences[msg.channel_id] = sequence
        self._sent[len(self._sent)] = Sent(
            call.sender, msg.channel_id, sequence, msg.data, msg.timeout, call.block.height
        )
        return Response(data=sequence)

    def close(self, channel_id: str) -> None:
        """Refuse further sends on ``channel_id``."""
        self._closed[channel_id] = True

    def query(self, block: BlockEnv, msg: Any) -> Any:
        return self.sent()

    def begin_block(self, block: BlockEnv) -> list[Event]:
        return []

    def end_block(self, block: BlockEnv) -> list[SudoCall]:
        return []

    def sent(self) -> tuple[Sent, ...]:
        """Every committed send, in order."""
        return tuple(self._sent.values())


def mesh_factory(epoch_length: int) -> Callable[[TxExecutor], MeshSecurityModule]:
    """``add_module`` factory of the mesh-security module on an executor."""

    def build(ex: TxExecutor) -> MeshSecurityModule:
        return MeshSecurityModule(
            ex.staking,
            account_prefix=ex.prefix,
            params=MeshParams(epoch_length=epoch_length),
            contract_exists=lambda address: ex.contract_info(address) is not None,
            validate_address=ex.validate,
        )

    return build


def mesh_of(ex: TxExecutor) -> MeshSecurityModule:
    module = ex.module_object("virtual_stake")
    assert isinstance(module, MeshSecurityModule)
    return module


def ibc_of(ex: TxExecutor) -> CaptureIbc:
    module = ex.module_object("ibc")
    assert isinstance(module, CaptureIbc)
    return module


# -- IBC deliveries as atomic units ---------------------------------------------------------------


def control_channel(
    converter: str, counterparty_port: str = PROVIDER_PORT, channel_id: str = CONTROL_CHANNEL
) -> IbcChannel:
    """The converter's end of the control channel (UNORDERED, I-40)."""
    return IbcChannel(
        endpoint=IbcEndpoint(port_id=f"wasm.{converter}", channel_id=channel_id),
        counterparty_endpoint=IbcEndpoint(port_id=counterparty_port, channel_id=PROVIDER_CHANNEL),
        order=IbcOrder.UNORDERED,
        version=channel_version(),
        connection_id="connection-0",
    )


# the bodies are the deliveries of `chains.testing`, with this chain's relayer


def open_init(contract: str, channel: IbcChannel) -> Body:
    """``OpenInit`` on ``contract``: the unit's data is the version it chose."""
    return channel_open(contract, channel)


def open_try(contract: str, channel: IbcChannel, counterparty_version: str) -> Body:
    """``OpenTry`` on ``contract``: the unit's data is the version it chose."""
    return channel_open(contract, channel, counterparty_version)


def connect(contract: str, channel: IbcChannel, counterparty_version: str | None) -> Body:
    """``OpenAck`` (counterparty version given) or ``OpenConfirm`` on ``contract``."""
    return channel_connect(contract, channel, counterparty_version)


def receive(contract: str, packet: IbcPacket) -> Body:
    """Deliver ``packet`` to ``contract``; the unit's data is the acknowledgement. A failed
    receive is rolled back and becomes an error acknowledgement (I-19)."""
    return packet_receive(contract, packet, RELAYER)


def acknowledge(contract: str, packet: IbcPacket, ack: IbcAcknowledgement) -> Body:
    """Deliver the acknowledgement of a packet ``contract`` sent."""
    return packet_ack(contract, packet, ack, RELAYER)


def time_out(contract: str, packet: IbcPacket) -> Body:
    """Deliver the timeout of a packet ``contract`` sent."""
    return packet_timeout(contract, packet, RELAYER)


def close_confirm(contract: str, channel: IbcChannel) -> Body:
    """The counterparty closed: ``CloseConfirm`` on ``contract``; the channel refuses sends
    from then on (I-20)."""
    closing = channel_close(contract, channel, confirm=True)

    def body(ex: TxExecutor) -> Any:
        closing(ex)
        ibc_of(ex).close(channel.endpoint.channel_id)

    return body


def close_init(contract: str, channel: IbcChannel) -> Body:
    """``CloseInit`` on ``contract`` (the converter refuses it, C-84)."""
    return channel_close(contract, channel)


def inbound(
    converter: str, packet: Any, sequence: int, time_s: int, channel_id: str = CONTROL_CHANNEL
) -> IbcPacket:
    """A provider packet on the control channel, as the provider would send it (I-50)."""
    return IbcPacket(
        sequence=sequence,
        src=IbcEndpoint(port_id=PROVIDER_PORT, channel_id=PROVIDER_CHANNEL),
        dest=IbcEndpoint(port_id=f"wasm.{converter}", channel_id=channel_id),
        data=encode_packet(packet),
        timeout=IbcTimeout(timestamp_ns=(time_s + 600) * 1_000_000_000),
    )


def outbound(sent: Sent, counterparty: IbcEndpoint | None = None) -> IbcPacket:
    """The `IbcPacket` of a packet a consumer contract sent."""
    return IbcPacket(
        sequence=sent.sequence,
        src=IbcEndpoint(port_id=f"wasm.{sent.contract}", channel_id=sent.channel_id),
        dest=counterparty or IbcEndpoint(port_id=PROVIDER_PORT, channel_id=PROVIDER_CHANNEL),
        data=sent.data,
        timeout=sent.timeout,
    )


# -- the deployed consumer, through the actors ----------------------------------------------------


@dataclass
class Consumer:
    """A consumer chain with its deployed contracts, driven through the host actor."""

    chain: Chain
    feed: str
    converter: str
    vs: str
    channel: IbcChannel
    remote_denom: str = REMOTE
    next_sequence: int = 1

    # -- operations --

    async def unit(self, body: Body) -> TxResult:
        return await self.chain.run_unit(body)

    async def deliver(self, packet: Any) -> IbcAcknowledgement:
        """One provider packet into the converter, as a unit; returns the ack."""
        time_s = await self.chain.time()
        sequence, self.next_sequence = self.next_sequence, self.next_sequence + 1
        channel_id = self.channel.endpoint.channel_id
        result = await self.unit(
            receive(self.converter, inbound(self.converter, packet, sequence, time_s, channel_id))
        )
        ack: IbcAcknowledgement = result.unwrap()
        return ack

    async def stake_ack(
        self, validator: str, amount: int, user: str = "osmo1user"
    ) -> IbcAcknowledgement:
        packet = StakePacket(
            delegator=user,
            validator=validator,
            stake=Coin(denom=self.remote_denom, amount=amount),
            tx_id=self.next_sequence,
        )
        return await self.deliver(packet)

    async def stake(self, validator: str, amount: int, user: str = "osmo1user") -> bool:
        return (await self.stake_ack(validator, amount, user)).error_text() is None

    async def unstake(self, validator: str, amount: int, user: str = "osmo1user") -> bool:
        packet = UnstakePacket(
            delegator=user,
            validator=validator,
            unstake=Coin(denom=self.remote_denom, amount=amount),
            tx_id=self.next_sequence,
        )
        return (await self.deliver(packet)).error_text() is None

    async def burn(self, validators: tuple[str, ...], amount: int) -> bool:
        packet = BurnPacket(
            validators=validators, burn=Coin(denom=self.remote_denom, amount=amount)
        )
        return (await self.deliver(packet)).error_text() is None

    async def transfer_rewards(self, recipient: str, amount: int) -> IbcAcknowledgement:
        packet = TransferRewardsPacket(
            rewards=local(amount), recipient=recipient, tx_id=self.next_sequence
        )
        return await self.deliver(packet)

    async def set_max_cap(self, amount: int, authority: str | None = None) -> TxResult:
        """``MsgSetVirtualStakingMaxCap`` signed by the gov account (C-43, I-49 step 5)."""
        gov = self.chain.gov_address
        msg = MsgSetVirtualStakingMaxCap(
            authority=authority or gov, contract=self.vs, max_cap=local(amount)
        )
        return await self.chain.submit(gov, CustomMsg(module="virtual_stake", msg=msg))

    async def set_price(self, price: str) -> TxResult:
        return await self.chain.execute(
            ADMIN, self.feed, UpdatePrice(native_per_foreign=Decimal18.parse(price))
        )

    async def ack(self, sent: Sent, ack: IbcAcknowledgement = SUCCESS_ACK) -> TxResult:
        return await self.unit(acknowledge(sent.contract, outbound(sent), ack))

    async def timeout(self, sent: Sent) -> TxResult:
        return await self.unit(time_out(sent.contract, outbound(sent)))

    async def next_epoch(self) -> int:
        """Produce blocks until the VS's next scheduled epoch has run in an end-block;
        returns the height of that block (the chain is then in the following block)."""
        tasks = await self.chain.read(lambda ex: mesh_of(ex).scheduled_tasks())
        (due,) = [h for kind, h, c, _ in tasks if kind is TaskType.HANDLE_EPOCH and c == self.vs]
        height = await self.chain.height()
        await self.chain.produce_blocks(due - height + 1)
        return due

    # -- reads --

    async def sent(self) -> tuple[Sent, ...]:
        return await self.chain.read(lambda ex: ibc_of(ex).sent())

    async def packets(self, since: int = 0) -> list[Any]:
        return [s.decoded() for s in (await self.sent())[since:]]

    async def vs_state(self) -> dict[str, dict[Any, Any]]:
        return await self.chain.contract_state(self.vs)

    async def bond_requests(self) -> dict[str, int]:
        return dict((await self.vs_state()).get("bond_requests", {}))

    async def bonded(self) -> dict[str, int]:
        return dict((await self.vs_state()).get("bonded", {}).get("value", ()))

    async def inactive(self) -> dict[str, bool]:
        return dict((await self.vs_state()).get("inactive", {}))

    async def slash_requests(self) -> tuple[Any, ...]:
        value: tuple[Any, ...] = (await self.vs_state()).get("slash_requests", {}).get("value", ())
        return value

    async def total_delegated(self) -> int:
        vs = self.vs
        return await self.chain.read(lambda ex: mesh_of(ex).total_delegated(vs))

    async def delegated(self, validator: str) -> int:
        return await self.chain.delegation_value(self.vs, validator)

    async def events(self, result: TxResult, kind: str) -> list[dict[str, str]]:
        return [dict(e.attributes) for e in result.events if e.type == kind]


async def install(chain: Chain, *, epoch_length: int = 10) -> None:
    """Plug the mesh-security module and the test IBC module in; register the codes."""
    await chain.add_module(mesh_factory(epoch_length))
    await chain.add_module(lambda ex: CaptureIbc(ex.store))
    for code in CODES:
        await chain.register_code(code)


async def deploy(
    chain: Chain,
    *,
    price: str = "0.5",
    discount: str = "0.1",
    max_cap: int | None = 10**9,
    ttl: int | None = None,
    max_retrieve: int = 100,
    feed: str | None = None,
    remote_denom: str = REMOTE,
    channel_id: str = CONTROL_CHANNEL,
) -> Consumer:
    """Deploy a consumer in the order of I-49 (steps 1, 2, 4 and 5) on an installed chain;
    ``feed`` skips step 1 (an existing price feed)."""
    # 1. the price feed
    if feed is None:
        feed = await chain.instantiate(
            ADMIN,
            SimplePriceFeed.code,
            SimplePriceFeedInstantiate(
                native_per_foreign=Decimal18.parse(price), price_info_ttl_in_secs=ttl
            ),
        )
    # 2. the converter, which instantiates its virtual staking contract (C-67)
    converter = await chain.instantiate(
        ADMIN,
        Converter.code,
        ConverterInstantiate(
            price_feed=feed,
            discount=Decimal18.parse(discount),
            remote_denom=remote_denom,
            virtual_staking_code_id=VirtualStaking.code,
            admin=ADMIN,
            max_retrieve=max_retrieve,
        ),
    )
    config = await chain.query(converter, ConverterConfigQuery())
    assert isinstance(config, ConverterConfig) and config.virtual_staking is not None
    vs = config.virtual_staking
    # 4. the relayer opens the channel from the converter's port (OpenInit ... OpenAck)
    channel = control_channel(converter, channel_id=channel_id)
    version = (await chain.run_unit(open_init(converter, channel))).unwrap()
    channel = channel.model_copy(update={"version": version})
    (await chain.run_unit(connect(converter, channel, version))).unwrap()
    consumer = Consumer(
        chain=chain,
        feed=feed,
        converter=converter,
        vs=vs,
        channel=channel,
        remote_denom=remote_denom,
    )
    # 5. governance sets the max cap
    if max_cap is not None:
        (await consumer.set_max_cap(max_cap)).unwrap()
    return consumer


async def start_consumer(chain: Chain, *, epoch_length: int = 10, **options: Any) -> Consumer:
    """`install` then `deploy` (see their options)."""
    await install(chain, epoch_length=epoch_length)
    return await deploy(chain, **options)


@asynccontextmanager
async def running(config: ChainConfig) -> AsyncIterator[Chain]:
    """A chain of ``config`` in a virtual-time actor system of its own."""
    async with virtual_system(config.chain_id) as system, Chain(config, system) as chain:
        yield chain


async def set_price_feed_contract(chain: Chain, contract: str) -> TxResult:
    """``MsgSetPriceFeedContract`` signed by the gov account (C-44, I-49 step 6)."""
    msg = MsgSetPriceFeedContract(authority=chain.gov_address, contract=contract)
    return await chain.submit(chain.gov_address, CustomMsg(module="virtual_stake", msg=msg))
