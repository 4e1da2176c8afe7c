"""A tiny synchronous provider chain for testing the contract cores together.

Not the chain host: just enough to route the messages the provider cores emit between them
with the semantics they rely on (contract.md, P-2, P-3, C-9): every transaction runs in a
``Store`` savepoint and is rolled back as a whole on any ``ChainError``; a contract's own
writes happen before its messages, which run depth-first in emission order; a ``SubMsg``
with a reply runs in its own savepoint and its failure is caught when the reply asks for
errors; IBC packets sent in a transaction are kept only if it commits. The counterparty
chain is the test itself: it reads ``outbox`` and calls ``ack`` / ``timeout`` / ``receive``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chains import ChainError, Coin
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
    DistributionSetWithdrawAddress,
    DistributionWithdrawReward,
    Env,
    Event,
    IbcAcknowledgement,
    IbcChannel,
    IbcCloseChannel,
    IbcEndpoint,
    IbcOrder,
    IbcPacket,
    IbcSendPacket,
    IbcTimeout,
    MessageInfo,
    Reply,
    ReplyOn,
    Response,
    SdkDec,
    StakingDelegate,
    StakingRedelegate,
    StakingUndelegate,
    Store,
    SubMsg,
    UnsupportedMessage,
    WasmExecute,
    WasmInstantiate,
    derive_address,
)
from chains.modules import Bank, StakingModule, StakingParams
from chains.wire import ACK_SUCCESS_BYTES, channel_version
from mesh_actors import Message

PREFIX = "stars"
DENOM = "ustake"
START_TIME = 1_700_000_000
BLOCK_SECONDS = 5
CONNECTION = "connection-0"
CONVERTER_PORT = "wasm.converter"


def state_of(store: Store) -> dict[str, dict[Any, Any]]:
    """The store's non-empty maps (a failed transaction may leave empty maps registered)."""
    return {name: items for name, items in store.snapshot().items() if items}


@dataclass(frozen=True)
class SentPacket:
    contract: str
    packet: IbcPacket


@dataclass
class TxResult:
    """What a transaction did: its error (if it failed), events and committed packets."""

    error: ChainError | None = None
    events: list[Event] = field(default_factory=list)
    packets: list[SentPacket] = field(default_factory=list)
    data: Any = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def event_types(self) -> list[str]:
        return [e.type for e in self.events]

    def events_of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.type == kind]


class _Querier:
    def __init__(self, chain: MiniChain) -> None:
        self.chain = chain

    def balance(self, address: str, denom: str) -> int:
        return self.chain.bank.balance(address, denom)

    def smart(self, contract_addr: str, msg: Any) -> Any:
        return self.chain.contracts[contract_addr].query(self.chain.env(contract_addr), msg)

    def bonded_denom(self) -> str:
        return DENOM

    def custom(self, module: str, msg: Any) -> Any:
        raise UnsupportedMessage("custom_query", module)

    def module(self, name: str) -> Any:
        if name == "staking":
            return self.chain.staking.staking
        raise UnsupportedMessage("module_query", name)


class MiniChain:
    """One provider chain: a store, a bank, a staking module and contract cores."""

    def __init__(
        self,
        *,
        unbonding_time: int = 1_814_400,
        max_entries: int = 7,
        codes: dict[str, type[Contract]] | None = None,
    ) -> None:
        self.store = Store()
        self.bank = Bank(self.store)
        params = StakingParams(
            bond_denom=DENOM,
            unbonding_time=unbonding_time,
            max_entries=max_entries,
            power_reduction=1,
        )
        self.staking = StakingModule(self.store, self.bank, params, account_prefix=PREFIX)
        self.codes: dict[str, type[Contract]] = dict(codes or {})
        self.contracts: dict[str, Contract] = {}
        self.outbox: list[SentPacket] = []
        self.gov_votes: list[tuple[str, Message]] = []
        self.close_requests: list[str] = []
        self._events: list[Event] = []
        self.height = 1
        self.time_s = START_TIME
        self.minted = 0
        self._next_contract = 0
        self._next_sequence = 1
        self.staking.begin_block(self.height, self.time_s)

    # -- environment --

    def env(self, contract: str) -> Env:
        return Env(
            block=BlockEnv(chain_id="provider", height=self.height, time_s=self.time_s),
            contract_address=contract,
        )

    def advance(self, seconds: int = BLOCK_SECONDS, blocks: int = 1) -> None:
        """End the current block and begin new ones, ``seconds`` apart."""
        for _ in range(blocks):
            self.staking.end_block(self.height, self.time_s)
            self.height += 1
            self.time_s += seconds
            self.staking.begin_block(self.height, self.time_s)

    def fund(self, address: str, amount: int) -> None:
        self.bank.mint(address, DENOM, amount)
        self.minted += amount

    def add_validator(self, name: str, tokens: int = 1_000_000) -> str:
        account = derive_address(PREFIX, name)
        operator = self.staking.staking.operator_of(account)
        self.fund(account, tokens)
        self.staking.create_validator(operator, f"pk-{name}", tokens, SdkDec.parse("0"))
        self.advance()
        return operator

    def balance(self, address: str) -> int:
        return self.bank.balance(address, DENOM)

    # -- deploying --

    def _new_address(self, label: str) -> str:
        self._next_contract += 1
        return f"contract{self._next_contract}-{label.replace(' ', '_')}"

    def deploy(
        self, cls: type[Contract], msg: Message, *, sender: str = "deployer", label: str = ""
    ) -> str:
        self.codes.setdefault(cls.code, cls)

        def body() -> str:
            address, response = self._instantiate(sender, cls.code, msg, (), label or cls.code)
            self._run(address, response)
            return address

        result = self.tx(body)
        if result.error is not None:
            raise result.error
        address: str = result.data
        return address

    def _instantiate(
        self, sender: str, code: str, msg: Message, funds: tuple[Coin, ...], label: str
    ) -> tuple[str, Response]:
        cls = self.codes[code]
        address = self._new_address(label)
        contract = cls(
            Deps(ContractStorage(self.store, address), _Querier(self), lambda a: a, "provider")
        )
        self.contracts[address] = contract
        self.bank.send(sender, address, funds)
        response = contract.instantiate(
            self.env(address), MessageInfo(sender=sender, funds=funds), msg
        )
        return address, response

    # -- transactions --

    def tx(self, body: Callable[[], Any]) -> TxResult:
        """Run ``body`` as one atomic transaction; a ``ChainError`` rolls everything back."""
        point = self.store.savepoint()
        mark = len(self.outbox)
        contracts = set(self.contracts)
        self._events = []
        try:
            data = body()
        except ChainError as err:
            self.store.rollback_to(point)
            del self.outbox[mark:]
            for address in set(self.contracts) - contracts:
                del self.contracts[address]
            return TxResult(error=err, events=[])
        self.store.release(point)
        return TxResult(events=self._events, packets=self.outbox[mark:], data=data)

    def execute(
        self, sender: str, contract: str, msg: Message, funds: tuple[Coin, ...] = ()
    ) -> TxResult:
        return self.tx(lambda: self._execute(sender, contract, msg, funds))

    def sudo(self, contract: str, msg: Message) -> TxResult:
        def body() -> Any:
            response = self.contracts[contract].sudo(self.env(contract), msg)
            return self._run(contract, response)

        return self.tx(body)

    def _execute(self, sender: str, contract: str, msg: Message, funds: tuple[Coin, ...]) -> Any:
        self.bank.send(sender, contract, funds)
        target = self.contracts.get(contract)
        if target is None:
            raise UnsupportedMessage("execute", f"no contract {contract}")
        response = target.execute(self.env(contract), MessageInfo(sender=sender, funds=funds), msg)
        return self._run(contract, response)

    def _run(self, contract: str, response: Response) -> Any:
        self._events.extend(response.events)
        for sub in response.messages:
            self._submsg(contract, sub)
        return response.data

    def _submsg(self, contract: str, sub: SubMsg) -> None:
        if sub.reply_on is ReplyOn.NEVER:
            self._dispatch(contract, sub.msg)
            return
        point = self.store.savepoint()
        mark = len(self.outbox)
        events_mark = len(self._events)
        try:
            data = self._dispatch(contract, sub.msg)
        except ChainError as err:
            self.store.rollback_to(point)
            del self.outbox[mark:]
            del self._events[events_mark:]
            if sub.reply_on not in (ReplyOn.ERROR, ReplyOn.ALWAYS):
                raise
            reply = Reply(id=sub.id, ok=False, error=err)
        else:
            self.store.release(point)
            if sub.reply_on not in (ReplyOn.SUCCESS, ReplyOn.ALWAYS):
                return
            reply = Reply(id=sub.id, ok=True, data=data)
        response = self.contracts[contract].reply(self.env(contract), reply)
        self._run(contract, response)

    def _dispatch(self, contract: str, msg: Any) -> Any:
        match msg:
            case WasmExecute():
                return self._execute(contract, msg.contract_addr, msg.msg, msg.funds)
            case WasmInstantiate():
                address, response = self._instantiate(
                    contract, msg.code, msg.msg, msg.funds, msg.label
                )
                data = self._run(address, response)
                return {"address": address, "data": data}
            case BankSend():
                self.bank.send(contract, msg.to_address, msg.amount)
            case BankBurn():
                for coin in msg.amount:
                    self.bank.burn(contract, coin.denom, coin.amount)
            case StakingDelegate():
                self.staking.delegate(contract, msg.validator, msg.amount.amount)
            case StakingUndelegate():
                self.staking.undelegate(contract, msg.validator, msg.amount.amount)
            case StakingRedelegate():
                self.staking.redelegate(
                    contract, msg.src_validator, msg.dst_validator, msg.amount.amount
                )
            case DistributionWithdrawReward():
                self.staking.withdraw_delegator_reward(contract, msg.validator)
            case IbcSendPacket():
                self._send_packet(contract, msg)
            case IbcCloseChannel():
                self.close_requests.append(contract)
            case DistributionSetWithdrawAddress():
                self.staking.set_withdraw_address(contract, msg.address)
            case CustomMsg(module="gov"):
                self.gov_votes.append((contract, msg.msg))
            case _:
                raise UnsupportedMessage("dispatch", type(msg).__name__)
        return None

    # -- IBC (the counterparty is the test) --

    def channel_for(self, contract: str) -> IbcChannel:
        return IbcChannel(
            endpoint=IbcEndpoint(port_id=f"wasm.{contract}", channel_id="channel-0"),
            counterparty_endpoint=IbcEndpoint(port_id=CONVERTER_PORT, channel_id="channel-7"),
            order=IbcOrder.UNORDERED,
            version=channel_version(),
            connection_id=CONNECTION,
        )

    def open_channel(self, contract: str) -> TxResult:
        """OpenTry then OpenConfirm, each its own transaction."""
        target = self.contracts[contract]
        channel = self.channel_for(contract)
        env = self.env(contract)
        tried = self.tx(
            lambda: target.ibc_channel_open(
                env, ChannelOpen(channel=channel, counterparty_version=channel_version())
            )
        )
        if not tried.ok:
            return tried

        def confirm() -> Any:
            response = target.ibc_channel_connect(env, ChannelConnect(channel=channel))
            self._events.extend(response.events)
            for sub in response.messages:
                self._submsg(contract, sub)

        return self.tx(confirm)

    def _send_packet(self, contract: str, msg: IbcSendPacket) -> None:
        channel = self.channel_for(contract)
        packet = IbcPacket(
            sequence=self._next_sequence,
            src=channel.endpoint,
            dest=channel.counterparty_endpoint,
            data=msg.data,
            timeout=msg.timeout,
        )
        self._next_sequence += 1
        self.outbox.append(SentPacket(contract, packet))

    def _callback(self, contract: str, call: Callable[[], Any]) -> Any:
        response = call()
        self._events.extend(response.events)
        for sub in response.messages:
            self._submsg(contract, sub)

    def ack(self, sent: SentPacket, ack: IbcAcknowledgement | None = None) -> TxResult:
        """Deliver a success ack (or ``ack``) of a packet from ``outbox``."""
        ack = ack or IbcAcknowledgement.success(ACK_SUCCESS_BYTES)
        target = self.contracts[sent.contract]
        env = self.env(sent.contract)
        return self.tx(
            lambda: self._callback(
                sent.contract, lambda: target.ibc_packet_ack(env, ack, sent.packet, "relayer")
            )
        )

    def error_ack(self, sent: SentPacket, text: str = "consumer failed") -> TxResult:
        return self.ack(sent, IbcAcknowledgement.error(text))

    def timeout(self, sent: SentPacket) -> TxResult:
        target = self.contracts[sent.contract]
        env = self.env(sent.contract)
        return self.tx(
            lambda: self._callback(
                sent.contract, lambda: target.ibc_packet_timeout(env, sent.packet, "relayer")
            )
        )

    def receive(self, contract: str, data: bytes) -> tuple[IbcAcknowledgement, TxResult]:
        """Deliver a consumer packet; a failing handler gives an error ack and no changes."""
        target = self.contracts[contract]
        channel = self.channel_for(contract)
        packet = IbcPacket(
            sequence=self._next_sequence,
            src=channel.counterparty_endpoint,
            dest=channel.endpoint,
            data=data,
            timeout=self.channel_timeout(),
        )
        self._next_sequence += 1
        env = self.env(contract)

        def body() -> Any:
            response = target.ibc_packet_receive(env, packet, "relayer")
            self._events.extend(response.events)
            for sub in response.messages:
                self._submsg(contract, sub)
            return response.ack

        result = self.tx(body)
        if result.error is not None:
            return IbcAcknowledgement.error(str(result.error)), result
        ack: IbcAcknowledgement = result.data
        return ack, result

    def channel_timeout(self) -> IbcTimeout:
        return IbcTimeout(timestamp_ns=(self.time_s + 86_400) * 10**9)

    def close_channel(self, contract: str) -> TxResult:
        """Run the CloseInit callback of ``contract`` as its own transaction."""
        target = self.contracts[contract]
        env = self.env(contract)
        channel = self.channel_for(contract)
        return self.tx(
            lambda: self._callback(contract, lambda: target.ibc_channel_close(env, channel))
        )


# -- a deployed provider ------------------------------------------------------------------------


@dataclass
class Provider:
    """A vault with native staking and external staking contracts on one ``MiniChain``."""

    chain: MiniChain
    vault: str
    native: str
    externals: list[str]
    native_validators: list[str]
    remote_validators: list[str]

    @property
    def ext(self) -> str:
        return self.externals[0]

    def coin(self, amount: int) -> Coin:
        return Coin(denom=DENOM, amount=amount)


def build_provider(
    *,
    externals: int = 1,
    native_validators: int = 2,
    remote_validators: tuple[str, ...] = ("valA", "valB", "valC"),
    unbonding_period: int = 1_000,
    native_unbonding_time: int = 1_814_400,
    ext_dsign: str = "0.1",
    ext_offline: str = "0.05",
    native_dsign: str = "0.05",
    native_offline: str = "0.01",
    max_entries: int = 7,
) -> Provider:
    """Deploy vault + native staking (+ proxy code) + external staking contracts, open their
    channels and tell each external staking that ``remote_validators`` are active."""
    from chains import Decimal18
    from chains.provider import (
        AuthorizedEndpoint,
        ExternalStaking,
        ExternalStakingInstantiate,
        NativeStaking,
        NativeStakingInstantiate,
        NativeStakingProxy,
        NewLocalStaking,
        SlashRatios,
        Vault,
        VaultInstantiate,
    )
    from chains.wire import ValidatorInfo, ValsetUpdatePacket, encode_packet

    chain = MiniChain(
        unbonding_time=native_unbonding_time,
        max_entries=max_entries,
        codes={
            NativeStaking.code: NativeStaking,
            NativeStakingProxy.code: NativeStakingProxy,
            ExternalStaking.code: ExternalStaking,
        },
    )
    natives = [chain.add_validator(f"nv{i}") for i in range(native_validators)]
    init = NativeStakingInstantiate(
        denom=DENOM,
        proxy_code=NativeStakingProxy.code,
        slash_ratio_dsign=Decimal18.parse(native_dsign),
        slash_ratio_offline=Decimal18.parse(native_offline),
    )
    vault = chain.deploy(
        Vault,
        VaultInstantiate(
            denom=DENOM, local_staking=NewLocalStaking(code=NativeStaking.code, init_msg=init)
        ),
    )
    native = chain.contracts[vault].state.config().local_staking.address  # type: ignore[attr-defined]
    exts: list[str] = []
    for i in range(externals):
        ext = chain.deploy(
            ExternalStaking,
            ExternalStakingInstantiate(
                denom=DENOM,
                rewards_denom="ucons",
                vault=vault,
                unbonding_period=unbonding_period,
                remote_contact=AuthorizedEndpoint(connection_id=CONNECTION, port_id=CONVERTER_PORT),
                slash_ratio=SlashRatios(
                    double_sign=Decimal18.parse(ext_dsign), offline=Decimal18.parse(ext_offline)
                ),
                admin="admin",
            ),
            label=f"ext{i}",
        )
        opened = chain.open_channel(ext)
        assert opened.ok, opened.error
        update = ValsetUpdatePacket(
            height=100,
            time=chain.time_s,
            additions=tuple(ValidatorInfo(valoper=v, pub_key=f"pk-{v}") for v in remote_validators),
        )
        _ack, result = chain.receive(ext, encode_packet(update))
        assert result.ok, result.error
        exts.append(ext)
    return Provider(chain, vault, native, exts, natives, list(remote_validators))
