"""A tiny synchronous consumer-chain dispatcher for testing the consumer cores together.

It stands in for the chain host (executor + actors) until that exists: one ``Store`` holds
the bank, the staking modules, the mesh-security module and every contract's storage; a
transaction runs an entry point and then its messages depth-first, each sub-message in its own
savepoint with replies per C-9; any uncaught failure rolls the whole transaction back (C-8).
IBC is reduced to what the cores see: packets a contract sends are recorded in ``sent`` (with a
per-channel sequence), and tests deliver packets, acks and timeouts by hand.

Deliberately minimal: no gas, no actors, contracts deployed in a transaction that later
fails stay registered (with empty storage).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from chains import ChainError, Coin, Decimal18
from chains.consumer import (
    Converter,
    ConverterInstantiate,
    IcqPriceHost,
    MeshParams,
    MeshSecurityModule,
    MsgSetVirtualStakingMaxCap,
    RemoteTwapPriceFeed,
    SimplePriceFeed,
    SimplePriceFeedInstantiate,
    UpdatePrice,
    VirtualStaking,
)
from chains.contract import (
    BankBurn,
    BankSend,
    BlockEnv,
    ChannelConnect,
    ChannelOpen,
    Contract,
    ContractStorage,
    CustomMsg,
    Deps,
    DistributionWithdrawReward,
    Env,
    Event,
    IbcAcknowledgement,
    IbcChannel,
    IbcEndpoint,
    IbcOrder,
    IbcPacket,
    IbcSendPacket,
    IbcTimeout,
    JournaledMap,
    MessageInfo,
    Reply,
    ReplyOn,
    Response,
    SdkDec,
    StakingDelegate,
    StakingUndelegate,
    Store,
    SubMsg,
    WasmExecute,
    WasmInstantiate,
    derive_address,
    validate_address,
)
from chains.host import CodeNotFound, ContractNotFound
from chains.modules import Bank, ModuleCall, StakingModule, StakingParams
from chains.wire import channel_version, encode_packet

PREFIX = "stars"
DENOM = "stake"
REMOTE = "uosmo"
START_TIME = 1_700_000_000
BLOCK_SECONDS = 5
M = 1_000_000

T = TypeVar("T")


@dataclass(frozen=True)
class Sent:
    """A packet a contract sent: the IBC send message and the sequence it got."""

    contract: str
    channel_id: str
    sequence: int
    data: bytes
    timeout: IbcTimeout


class ChannelClosed(ChainError):
    """The harness's IBC module refuses sends on a closed channel (I-20)."""

    fields = ("channel_id",)

    def __init__(self, channel_id: str) -> None:
        super().__init__(channel_id)


@dataclass(frozen=True)
class TaskFailure:
    contract: str
    msg: Any
    error: ChainError


class _Querier:
    def __init__(self, chain: Harness) -> None:
        self._chain = chain

    def balance(self, address: str, denom: str) -> int:
        return self._chain.bank.balance(address, denom)

    def smart(self, contract_addr: str, msg: Any) -> Any:
        contract = self._chain.contract(contract_addr)
        return contract.query(self._chain.env(contract_addr), msg)

    def bonded_denom(self) -> str:
        return self._chain.staking.params.bond_denom

    def custom(self, module: str, msg: Any) -> Any:
        return self._chain.modules[module].query(self._chain.block, msg)

    def module(self, name: str) -> Any:
        return {"staking": self._chain.staking, "bank": self._chain.bank}[name]


class Harness:
    """One consumer chain: staking + mesh module + contracts, driven synchronously."""

    def __init__(
        self,
        params: StakingParams | None = None,
        mesh_params: MeshParams | None = None,
        chain_id: str = "consumer-1",
    ) -> None:
        self.store = Store()
        self.bank = Bank(self.store)
        self.staking = StakingModule(
            self.store, self.bank, params or StakingParams.e2e_consumer(), account_prefix=PREFIX
        )
        self.contracts: dict[str, Contract] = {}
        self.mesh = MeshSecurityModule(
            self.staking,
            account_prefix=PREFIX,
            params=mesh_params or MeshParams(epoch_length=10),
            contract_exists=lambda address: address in self.contracts,
            validate_address=self.validate,
        )
        self.modules = {self.mesh.name: self.mesh}
        self.codes: dict[str, type[Contract]] = {
            c.code: c
            for c in (
                Converter,
                VirtualStaking,
                SimplePriceFeed,
                RemoteTwapPriceFeed,
                IcqPriceHost,
            )
        }
        self.chain_id = chain_id
        self.querier = _Querier(self)
        self.sent: list[Sent] = []
        self.events: list[Event] = []
        self.task_failures: list[TaskFailure] = []
        self._sequences: JournaledMap[str, int] = JournaledMap(self.store, "harness/sequences")
        self._closed: JournaledMap[str, bool] = JournaledMap(self.store, "harness/closed")
        self.height = 0
        self.time_s = START_TIME
        self.begin_block()

    # -- addresses and environment --

    def validate(self, address: str) -> str:
        return validate_address(address, PREFIX)

    def account(self, name: str) -> str:
        return derive_address(PREFIX, name)

    def operator(self, name: str) -> str:
        return self.staking.staking.operator_of(self.account(name))

    @property
    def block(self) -> BlockEnv:
        return BlockEnv(chain_id=self.chain_id, height=self.height, time_s=self.time_s)

    def env(self, address: str) -> Env:
        return Env(block=self.block, contract_address=address)

    def contract(self, address: str) -> Contract:
        try:
            return self.contracts[address]
        except KeyError:
            raise ContractNotFound(address) from None

    def deps(self, address: str) -> Deps:
        storage = ContractStorage(self.store, address)
        return Deps(storage, self.querier, self.validate, self.chain_id)

    # -- blocks --

    def begin_block(self, seconds: int = BLOCK_SECONDS) -> None:
        self.height += 1
        self.time_s += seconds
        self.staking.begin_block(self.height, self.time_s)
        self.mesh.begin_block(self.block)

    def end_block(self) -> None:
        """Staking end-block, then the mesh module's sudo calls, each its own atomic unit."""
        self.staking.end_block(self.height, self.time_s)
        for call in self.mesh.end_block(self.block):
            try:
                self.sudo(call.contract, call.msg)
            except ChainError as err:
                self.task_failures.append(TaskFailure(call.contract, call.msg, err))

    def next_block(self, seconds: int = BLOCK_SECONDS) -> None:
        """End the open block and begin the next one."""
        self.end_block()
        self.begin_block(seconds)

    def advance(self, blocks: int) -> None:
        for _ in range(blocks):
            self.next_block()

    def run_until(self, height: int) -> None:
        """Produce blocks until ``height`` is the open block."""
        while self.height < height:
            self.next_block()

    # -- genesis helpers --

    def fund(self, address: str, amount: int, denom: str = DENOM) -> None:
        self.bank.mint(address, denom, amount)

    def add_validator(self, name: str, tokens: int, *, shares: SdkDec | None = None) -> str:
        operator = self.operator(name)
        self.fund(self.account(name), tokens)
        self.staking.create_validator(
            operator, f"pubkey-{name}", tokens, SdkDec.parse("0"), self_bond_shares=shares
        )
        return operator

    # -- transactions --

    def _tx(self, fn: Callable[[], T]) -> T:
        point = self.store.savepoint()
        events, sent = len(self.events), len(self.sent)
        try:
            result = fn()
        except BaseException:
            self.store.rollback_to(point)
            del self.events[events:]
            del self.sent[sent:]
            raise
        self.store.release(point)
        return result

    def instantiate(
        self, code: str, msg: Any, sender: str, funds: tuple[Coin, ...] = (), label: str = ""
    ) -> str:
        address: str = self._tx(
            lambda: self._dispatch(
                sender, WasmInstantiate(code=code, msg=msg, funds=funds, label=label or code)
            )
        )
        return address

    def execute(self, sender: str, contract: str, msg: Any, funds: tuple[Coin, ...] = ()) -> Any:
        return self._tx(
            lambda: self._dispatch(
                sender, WasmExecute(contract_addr=contract, msg=msg, funds=funds)
            )
        )

    def sudo(self, contract: str, msg: Any) -> Response:
        def run() -> Response:
            response = self.contract(contract).sudo(self.env(contract), msg)
            self._run(contract, response)
            return response

        return self._tx(run)

    def query(self, contract: str, msg: Any) -> Any:
        return self.querier.smart(contract, msg)

    def gov(self, msg: Any) -> Response:
        def run() -> Response:
            call = ModuleCall(block=self.block, sender=self.mesh.authority)
            response = self.mesh.handle(call, msg)
            self.events.extend(response.events)
            return response

        return self._tx(run)

    def set_max_cap(self, contract: str, amount: int) -> Response:
        return self.gov(
            MsgSetVirtualStakingMaxCap(
                authority=self.mesh.authority,
                contract=contract,
                max_cap=Coin(denom=DENOM, amount=amount),
            )
        )

    # -- IBC as the cores see it --

    def receive(self, contract: str, packet: IbcPacket) -> IbcAcknowledgement:
        """Deliver a packet; a failed receive reverts and becomes an error ack (I-19)."""

        def run() -> IbcAcknowledgement:
            response = self.contract(contract).ibc_packet_receive(
                self.env(contract), packet, "relayer"
            )
            self.events.extend(response.events)
            for sub in response.messages:
                self._submsg(contract, sub)
            return response.ack

        try:
            return self._tx(run)
        except ChainError as err:
            return IbcAcknowledgement.error(str(err))

    def acknowledge(self, contract: str, packet: IbcPacket, ack: IbcAcknowledgement) -> None:
        def run() -> None:
            response = self.contract(contract).ibc_packet_ack(
                self.env(contract), ack, packet, "relayer"
            )
            self.events.extend(response.events)
            for sub in response.messages:
                self._submsg(contract, sub)

        self._tx(run)

    def timeout(self, contract: str, packet: IbcPacket) -> None:
        def run() -> None:
            response = self.contract(contract).ibc_packet_timeout(
                self.env(contract), packet, "relayer"
            )
            self.events.extend(response.events)
            for sub in response.messages:
                self._submsg(contract, sub)

        self._tx(run)

    def open_channel(
        self,
        contract: str,
        *,
        channel_id: str = "channel-0",
        counterparty_version: str | None = None,
        version: str = "",
        order: IbcOrder = IbcOrder.UNORDERED,
    ) -> IbcChannel:
        """OpenInit then OpenAck on ``contract`` (the consumer initiates, I-40)."""
        channel = IbcChannel(
            endpoint=IbcEndpoint(port_id=f"wasm.{contract}", channel_id=channel_id),
            counterparty_endpoint=IbcEndpoint(port_id="wasm.provider", channel_id="channel-7"),
            order=order,
            version=version,
            connection_id="connection-0",
        )
        target = self.contract(contract)
        chosen = self._tx(
            lambda: target.ibc_channel_open(self.env(contract), ChannelOpen(channel=channel))
        )
        final = channel.model_copy(update={"version": chosen or version})

        def connect() -> None:
            response = target.ibc_channel_connect(
                self.env(contract),
                ChannelConnect(channel=final, counterparty_version=counterparty_version or chosen),
            )
            self.events.extend(response.events)
            for sub in response.messages:
                self._submsg(contract, sub)

        self._tx(connect)
        return final

    def close_confirm(self, contract: str, channel: IbcChannel) -> None:
        """The counterparty closed: run ``contract``'s CloseConfirm callback and mark the
        channel closed for sends (I-20)."""

        def run() -> None:
            target: Any = self.contract(contract)
            response = target.ibc_channel_close(self.env(contract), channel, confirm=True)
            self.events.extend(response.events)
            for sub in response.messages:
                self._submsg(contract, sub)
            self._closed[channel.endpoint.channel_id] = True

        self._tx(run)

    def provider_packet(self, packet: Any, contract: str, sequence: int = 1) -> IbcPacket:
        """An IbcPacket carrying a provider packet to ``contract`` on channel-0."""
        return IbcPacket(
            sequence=sequence,
            src=IbcEndpoint(port_id="wasm.provider", channel_id="channel-7"),
            dest=IbcEndpoint(port_id=f"wasm.{contract}", channel_id="channel-0"),
            data=encode_packet(packet),
            timeout=IbcTimeout(timestamp_ns=(self.time_s + 600) * 1_000_000_000),
        )

    def as_packet(self, sent: Sent) -> IbcPacket:
        """The IbcPacket of a packet a consumer contract sent."""
        return IbcPacket(
            sequence=sent.sequence,
            src=IbcEndpoint(port_id=f"wasm.{sent.contract}", channel_id=sent.channel_id),
            dest=IbcEndpoint(port_id="wasm.provider", channel_id="channel-7"),
            data=sent.data,
            timeout=sent.timeout,
        )

    # -- dispatch (C-8, C-9) --

    def _run(self, emitter: str, response: Response) -> None:
        self.events.extend(response.events)
        for sub in response.messages:
            self._submsg(emitter, sub)

    def _submsg(self, emitter: str, sub: SubMsg) -> None:
        point = self.store.savepoint()
        events, sent = len(self.events), len(self.sent)
        try:
            data = self._dispatch(emitter, sub.msg)
        except ChainError as err:
            self.store.rollback_to(point)
            del self.events[events:]
            del self.sent[sent:]
            if sub.reply_on not in (ReplyOn.ERROR, ReplyOn.ALWAYS):
                raise
            reply = Reply(id=sub.id, ok=False, error=err)
            self._run(emitter, self.contract(emitter).reply(self.env(emitter), reply))
            return
        self.store.release(point)
        if sub.reply_on in (ReplyOn.SUCCESS, ReplyOn.ALWAYS):
            reply = Reply(id=sub.id, ok=True, data=data)
            self._run(emitter, self.contract(emitter).reply(self.env(emitter), reply))

    def _dispatch(self, emitter: str, msg: Any) -> Any:
        self.mesh.check_message(emitter, msg)
        if isinstance(msg, WasmExecute):
            target = self.contract(msg.contract_addr)
            self.bank.send(emitter, msg.contract_addr, msg.funds)
            info = MessageInfo(sender=emitter, funds=msg.funds)
            response = target.execute(self.env(msg.contract_addr), info, msg.msg)
            self._run(msg.contract_addr, response)
            return response.data
        if isinstance(msg, WasmInstantiate):
            address = derive_address(PREFIX, f"contract/{len(self.contracts)}")
            try:
                cls = self.codes[msg.code]
            except KeyError:
                raise CodeNotFound(msg.code) from None
            contract = cls(self.deps(address))
            self.contracts[address] = contract
            self.bank.send(emitter, address, msg.funds)
            info = MessageInfo(sender=emitter, funds=msg.funds)
            self._run(address, contract.instantiate(self.env(address), info, msg.msg))
            return address
        if isinstance(msg, BankSend):
            self.bank.send(emitter, msg.to_address, msg.amount)
            return None
        if isinstance(msg, BankBurn):
            for coin in msg.amount:
                self.bank.burn(emitter, coin.denom, coin.amount)
            return None
        if isinstance(msg, DistributionWithdrawReward):
            return self.staking.withdraw_delegator_reward(emitter, msg.validator)
        if isinstance(msg, StakingDelegate):
            return self.staking.delegate(emitter, msg.validator, msg.amount.amount)
        if isinstance(msg, StakingUndelegate):
            return self.staking.undelegate(emitter, msg.validator, msg.amount.amount)
        if isinstance(msg, CustomMsg):
            response = self.modules[msg.module].handle(
                ModuleCall(block=self.block, sender=emitter), msg.msg
            )
            self._run(emitter, response)
            return response.data
        if isinstance(msg, IbcSendPacket):
            if self._closed.get(msg.channel_id):
                raise ChannelClosed(msg.channel_id)
            sequence = self._sequences.get(msg.channel_id, 0) + 1
            self._sequences[msg.channel_id] = sequence
            self.sent.append(Sent(emitter, msg.channel_id, sequence, msg.data, msg.timeout))
            return sequence
        raise TypeError(f"harness cannot dispatch {type(msg).__name__}")


# -- deployment shortcuts ---------------------------------------------------------------------


@dataclass
class Consumer:
    """A deployed consumer: feed, converter and virtual staking contract, with shortcuts."""

    chain: Harness
    feed: str
    converter: str
    vs: str
    admin: str

    @property
    def converter_core(self) -> Converter:
        core = self.chain.contract(self.converter)
        assert isinstance(core, Converter)
        return core

    @property
    def vs_core(self) -> VirtualStaking:
        core = self.chain.contract(self.vs)
        assert isinstance(core, VirtualStaking)
        return core

    def set_price(self, price: str) -> None:
        self.chain.execute(
            self.admin, self.feed, UpdatePrice(native_per_foreign=Decimal18.parse(price))
        )

    def receive(self, packet: Any, sequence: int = 1) -> IbcAcknowledgement:
        return self.chain.receive(
            self.converter, self.chain.provider_packet(packet, self.converter, sequence)
        )

    def epoch(self) -> None:
        """Run the VS epoch now, as the scheduler would (one atomic sudo)."""
        from chains.consumer import HandleEpoch

        self.chain.sudo(self.vs, HandleEpoch())


def deploy_consumer(
    chain: Harness,
    *,
    price: str = "0.5",
    discount: str = "0.1",
    max_cap: int | None = None,
    open_channel: bool = True,
    max_retrieve: int = 100,
) -> Consumer:
    admin = chain.account("admin")
    feed = chain.instantiate(
        SimplePriceFeed.code,
        SimplePriceFeedInstantiate(native_per_foreign=Decimal18.parse(price)),
        sender=admin,
    )
    converter = chain.instantiate(
        Converter.code,
        ConverterInstantiate(
            price_feed=feed,
            discount=Decimal18.parse(discount),
            remote_denom=REMOTE,
            virtual_staking_code_id=VirtualStaking.code,
            max_retrieve=max_retrieve,
        ),
        sender=admin,
    )
    core = chain.contract(converter)
    assert isinstance(core, Converter)
    vs = core.virtual_staking()
    assert vs is not None
    if open_channel:
        chain.open_channel(converter, version=channel_version("0.11.0"))
    if max_cap is not None:
        chain.set_max_cap(vs, max_cap)
    return Consumer(chain=chain, feed=feed, converter=converter, vs=vs, admin=admin)
