"""A contract kit: contract cores on the real chain executor, the test playing the other chain.

`ContractKit` builds a `TxExecutor` (the executor a `Chain` host runs, with its savepoint,
routing and reply rules: P-2, P-3, C-8, C-9), opens block 1 and gives a test what it needs to
drive contract cores as a chain would, synchronously and without an event loop:

- deploy and call contracts as a user (``deploy``, ``instantiate``, ``execute``, ``sudo``,
  ``submit``, ``run``); every call is one atomic unit and answers a `KitResult` (the unit's
  `TxResult` plus the IBC packets it sent), never raising the contract's error;
- read state (``query``, ``core``, ``state``, ``balance``, ``snapshot``);
- IBC with the test as the counterparty chain end: a capturing ``"ibc"`` module
  (`CounterpartyIbc`) keeps every packet a contract sends in the store (so a rolled-back unit
  leaves none behind), ``outbox`` lists the committed ones, and ``open_channel``,
  ``receive``, ``ack``, ``error_ack``, ``timeout`` and ``close_channel`` run the contract's
  IBC entry points as units, exactly as an IBC module delivering a relayed message would (a
  failing receive becomes an error acknowledgement with the application's changes discarded,
  ibc.md I-19);
- blocks and time (``next_block``, ``advance``, ``run_until``), collecting block results and
  the end-block sudo calls that failed (C-52).

Nothing is re-implemented here: atomicity, depth-first message order and replies are the
executor's. `expect_rejected` checks that a failing call changed nothing, taking the
snapshot *before* the call and comparing right after it, so a core that writes before it
raises is caught unless the executor really rolled it back.

Example::

    from chains import ChainConfig
    from chains.testing import ContractKit, EchoContract, Echo

    kit = ContractKit(ChainConfig(chain_id="test-1", prefix="stars"), codes=(EchoContract,))
    alice = kit.address("alice")
    kit.fund(alice, 1_000)
    echo = kit.deploy(alice, EchoContract, None)
    assert kit.execute(alice, echo, Echo(value="hi")).ok
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from chains.contract._address import derive_address
from chains.contract._coin import Coin
from chains.contract._contract import (
    BlockEnv,
    Contract,
    Env,
    Event,
    IbcCloseChannel,
    IbcSendPacket,
    IbcTransfer,
    Response,
)
from chains.contract._decimal import SdkDec
from chains.contract._errors import ChainError, UnsupportedMessage
from chains.contract._ibc_types import (
    IbcAcknowledgement,
    IbcChannel,
    IbcEndpoint,
    IbcOrder,
    IbcPacket,
    IbcTimeout,
)
from chains.contract._store import JournaledMap, SortedJournaledMap, Store
from chains.host._config import ChainConfig
from chains.host._events import ChainEvent
from chains.host._executor import TxExecutor
from chains.host._tx_result import BlockResult, TxResult
from chains.modules._bank import Bank
from chains.modules._module import ChainModule, ModuleCall, SudoCall
from chains.modules._msgs import CreateValidator, Mint
from chains.modules._staking_module import StakingModule
from chains.testing._deliveries import (
    channel_close,
    channel_connect,
    channel_open,
    packet_ack,
    packet_receive,
    packet_timeout,
)

__all__ = [
    "ChannelClosed",
    "ContractKit",
    "CounterpartyIbc",
    "KitError",
    "KitResult",
    "Received",
    "SentPacket",
    "StateLeaked",
    "SudoFailure",
    "UnexpectedOutcome",
    "UnknownChannel",
    "state_of",
]

C = TypeVar("C", bound=Contract)

# the host's own event sources (see `ChainEvent.source`): everything else is a contract or a
# module
_HOST_SOURCES = frozenset({"wasm", "bank", "staking", "distribution", "slashing"})
_DAY_S = 86_400


class KitError(ChainError):
    """Base of the errors of the contract kit's simulated IBC module."""


class UnknownChannel(KitError):
    """No channel ``channel_id`` is open for ``contract`` (the kit opens channels with
    `ContractKit.open_channel`)."""

    fields = ("contract", "channel_id")

    def __init__(self, contract: str, channel_id: str) -> None:
        super().__init__(contract, channel_id)


class ChannelClosed(KitError):
    """The channel is closed: the kit's IBC module refuses sends on it (ibc.md I-20)."""

    fields = ("channel_id",)

    def __init__(self, channel_id: str) -> None:
        super().__init__(channel_id)


class UnexpectedOutcome(AssertionError):
    """`ContractKit.expect_rejected`: the call succeeded or failed with another error."""


class StateLeaked(AssertionError):
    """`ContractKit.expect_rejected`: the call failed but the chain's state changed."""


def state_of(store: Store) -> dict[str, dict[Any, Any]]:
    """The non-empty maps of ``store`` (a rolled-back unit may leave empty maps registered)."""
    return {name: items for name, items in store.snapshot().items() if items}


@dataclass(frozen=True, slots=True)
class SentPacket:
    """A packet a contract sent, as the IBC module framed it (``height``: the block)."""

    contract: str
    packet: IbcPacket
    height: int

    @property
    def channel_id(self) -> str:
        """The sending end's channel."""
        return self.packet.src.channel_id

    @property
    def sequence(self) -> int:
        """The packet's sequence on its channel (1, 2, ...)."""
        return self.packet.sequence

    @property
    def data(self) -> bytes:
        """The packet's payload."""
        return self.packet.data

    @property
    def timeout(self) -> IbcTimeout:
        """The packet's timeout."""
        return self.packet.timeout


@dataclass(frozen=True, slots=True)
class KitResult:
    """What one unit did: the executor's `TxResult` and the packets it sent (committed only:
    a failed unit sent none)."""

    tx: TxResult
    packets: tuple[SentPacket, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the unit committed."""
        return self.tx.ok

    @property
    def error(self) -> ChainError | None:
        """The named error of a failed unit, else ``None``."""
        return self.tx.error

    @property
    def data(self) -> Any:
        """The unit's result data (an instantiation's: the new address)."""
        return self.tx.data

    @property
    def events(self) -> tuple[ChainEvent, ...]:
        """Every event the unit committed, in emission order (host events included)."""
        return self.tx.events

    def unwrap(self) -> Any:
        """``data`` of a committed unit; raises the unit's `ChainError` otherwise."""
        return self.tx.unwrap()

    def events_of(self, kind: str) -> list[ChainEvent]:
        """The committed events of type ``kind``."""
        return [e for e in self.tx.events if e.type == kind]

    def event_types(self) -> list[str]:
        """The types of the events contracts and modules emitted (the host's own ``wasm``,
        ``bank``, ``staking``, ... events left out), in order."""
        return [e.type for e in self.tx.events if e.source not in _HOST_SOURCES]


class Received(NamedTuple):
    """The outcome of delivering a packet: the acknowledgement the receiving end wrote (an
    error ack if the application failed, whose changes were then discarded) and the unit."""

    ack: IbcAcknowledgement
    result: KitResult


class SudoFailure(NamedTuple):
    """An end-block sudo call a module requested that failed and was rolled back (C-52)."""

    contract: str
    error: ChainError
    height: int


class CounterpartyIbc:
    """The ``"ibc"`` module of a `ContractKit` chain: channel ends the test opened, and the
    packets contracts send on them, kept in the store (rolled back with a failed unit).

    A send must name a channel open for the sending contract (else `UnknownChannel`) that
    is not closed (else `ChannelClosed`); it gets the next sequence of that channel, and the
    message's data is the sequence. ``IbcTransfer`` and ``IbcCloseChannel`` are recorded
    (a close request also closes the channel for further sends).
    """

    name = "ibc"

    def __init__(self, store: Store) -> None:
        self._channels: JournaledMap[str, tuple[str, IbcChannel]] = JournaledMap(
            store, "kit.ibc/channels"
        )
        self._sequences: JournaledMap[str, int] = JournaledMap(store, "kit.ibc/sequences")
        self._closed: JournaledMap[str, bool] = JournaledMap(store, "kit.ibc/closed")
        self._sent: SortedJournaledMap[int, SentPacket] = SortedJournaledMap(store, "kit.ibc/sent")
        self._requests: SortedJournaledMap[int, tuple[str, Any]] = SortedJournaledMap(
            store, "kit.ibc/requests"
        )

    # -- the kit's side --

    def bind(self, contract: str, channel: IbcChannel) -> None:
        """Record ``channel`` as ``contract``'s channel end (in a unit: rolled back with it)."""
        self._channels[channel.endpoint.channel_id] = (contract, channel)
        self._closed.pop(channel.endpoint.channel_id, None)

    def close(self, channel_id: str) -> None:
        """Refuse further sends on ``channel_id``."""
        self._closed[channel_id] = True

    def is_closed(self, channel_id: str) -> bool:
        """Whether ``channel_id`` was closed."""
        return bool(self._closed.get(channel_id))

    def channel(self, channel_id: str) -> tuple[str, IbcChannel]:
        """``(contract, channel)`` of an open or closed channel; raises `UnknownChannel`."""
        found = self._channels.get(channel_id)
        if found is None:
            raise UnknownChannel("", channel_id)
        return found

    def channels(self) -> tuple[tuple[str, IbcChannel], ...]:
        """Every channel end the kit opened, as ``(contract, channel)``, in opening order."""
        return tuple(self._channels.values())

    def sent(self) -> tuple[SentPacket, ...]:
        """Every committed packet send, in order."""
        return tuple(self._sent.values())

    def sent_count(self) -> int:
        """How many packets were sent (committed or in the running unit)."""
        return len(self._sent)

    def sent_since(self, start: int) -> tuple[SentPacket, ...]:
        """The sends from the ``start``-th on (sends are numbered 0, 1, ... in order)."""
        return tuple([self._sent[index] for index in range(start, len(self._sent))])

    def requests(self) -> tuple[tuple[str, Any], ...]:
        """Every committed ``IbcTransfer`` / ``IbcCloseChannel`` as ``(sender, msg)``."""
        return tuple(self._requests.values())

    # -- the ChainModule protocol --

    def handle(self, call: ModuleCall, msg: Any) -> Response:
        """Take a contract's IBC message (see the class docstring)."""
        if isinstance(msg, IbcSendPacket):
            return Response(data=self._send(call, msg))
        if isinstance(msg, IbcTransfer | IbcCloseChannel):
            self._requests[len(self._requests)] = (call.sender, msg)
            if isinstance(msg, IbcCloseChannel):
                self._owned(call.sender, msg.channel_id)
                self.close(msg.channel_id)
            return Response()
        raise UnsupportedMessage("ibc", type(msg).__name__)

    def _owned(self, sender: str, channel_id: str) -> IbcChannel:
        found = self._channels.get(channel_id)
        if found is None or found[0] != sender:
            raise UnknownChannel(sender, channel_id)
        return found[1]

    def _send(self, call: ModuleCall, msg: IbcSendPacket) -> int:
        channel = self._owned(call.sender, msg.channel_id)
        if self._closed.get(msg.channel_id):
            raise ChannelClosed(msg.channel_id)
        sequence = self._sequences.get(msg.channel_id, 0) + 1
        self._sequences[msg.channel_id] = sequence
        packet = IbcPacket(
            sequence=sequence,
            src=channel.endpoint,
            dest=channel.counterparty_endpoint,
            data=msg.data,
            timeout=msg.timeout,
        )
        self._sent[len(self._sent)] = SentPacket(call.sender, packet, call.block.height)
        return sequence

    def query(self, block: BlockEnv, msg: Any) -> Any:
        """The committed sends (any query)."""
        return self.sent()

    def begin_block(self, block: BlockEnv) -> list[Event]:
        """Nothing to do."""
        return []

    def end_block(self, block: BlockEnv) -> list[SudoCall]:
        """Nothing to do."""
        return []


def _itself(core: Contract, env: Env) -> Contract:
    return core


class ContractKit:
    """Contract cores on a real `TxExecutor`, driven by a test (see the module docstring).

    ``modules`` are factories called with the executor (``lambda ex: MyModule(ex.store)``),
    plugged in after the kit's ``"ibc"`` module; ``codes`` are registered. The constructor
    runs genesis and opens block 1. Unit methods never raise a `ChainError` (they answer a
    `KitResult`); ``deploy`` and the IBC handshake helpers raise the unit's error, since a
    test cannot go on without their result.
    """

    def __init__(
        self,
        config: ChainConfig | None = None,
        *,
        codes: Iterable[type[Contract]] = (),
        modules: Iterable[Callable[[TxExecutor], ChainModule]] = (),
        counterparty_port: str = "wasm.counterparty",
        connection_id: str = "connection-0",
    ) -> None:
        self.config = config or ChainConfig(chain_id="kit-1", prefix="stars")
        self.executor = TxExecutor(self.config)
        self.ibc = CounterpartyIbc(self.executor.store)
        self.executor.add_module(self.ibc)
        for factory in modules:
            self.executor.add_module(factory(self.executor))
        self._codes: dict[str, type[Contract]] = {}
        self.register(*codes)
        self.counterparty_port = counterparty_port
        self.connection_id = connection_id
        self.relayer = derive_address(self.config.prefix, "relayer")
        self.events: list[ChainEvent] = []
        self.block_results: list[BlockResult] = []
        self.sudo_failures: list[SudoFailure] = []
        self._next_channel = 0
        self._seen_sends = 0
        self._recv_sequences: dict[str, int] = {}
        self.block_results.append(self.executor.begin_block(self.config.first_block_time))

    # -- the chain --

    @property
    def store(self) -> Store:
        """The chain's journaled store (all of its state)."""
        return self.executor.store

    @property
    def bank(self) -> Bank:
        """The chain's bank."""
        return self.executor.bank

    @property
    def staking(self) -> StakingModule:
        """The chain's staking, slashing and distribution modules."""
        return self.executor.staking

    @property
    def height(self) -> int:
        """The open block's height."""
        return self.executor.height

    @property
    def time_s(self) -> int:
        """The open block's time (UNIX seconds)."""
        return self.executor.time_s

    @property
    def block(self) -> BlockEnv:
        """The open block's environment."""
        return self.executor.block_env

    @property
    def denom(self) -> str:
        """The chain's bond denom."""
        return self.config.bond_denom

    def address(self, name: str) -> str:
        """The account address of ``name`` on this chain (deterministic)."""
        return self.config.address(name)

    def operator(self, name: str) -> str:
        """The validator operator address of the account ``address(name)``."""
        return self.staking.staking.operator_of(self.address(name))

    def env(self, address: str) -> Env:
        """The environment a contract at ``address`` sees in the open block."""
        return Env(block=self.executor.block_env, contract_address=address)

    def coin(self, amount: int, denom: str | None = None) -> Coin:
        """``amount`` of ``denom`` (default: the bond denom)."""
        return Coin(denom=denom or self.denom, amount=amount)

    def fund(self, address: str, amount: int, denom: str | None = None) -> None:
        """Mint ``amount`` of ``denom`` (default: the bond denom) into ``address``, as a
        transaction of the chain's faucet. Raises the unit's error (e.g. `InvalidAddress`)."""
        mint = Mint(to_address=address, amount=(self.coin(amount, denom),))
        self._record(self.executor.submit(self.executor.gov_address, mint)).unwrap()

    def add_validator(
        self, name: str, tokens: int, *, commission: str = "0", shares: SdkDec | None = None
    ) -> str:
        """Fund ``address(name)`` with ``tokens`` and make it a validator self-bonding them
        (it joins the active set at the next end-block). Returns the operator address;
        raises the unit's error."""
        account = self.address(name)
        self.fund(account, tokens)
        create = CreateValidator(
            pubkey=f"pubkey-{name}",
            self_bond=tokens,
            commission=SdkDec.parse(commission),
            self_bond_shares=shares,
        )
        operator: str = self._record(self.executor.submit(account, create)).unwrap()
        return operator

    def balance(self, address: str, denom: str | None = None) -> int:
        """``address``'s balance of ``denom`` (default: the bond denom)."""
        return self.bank.balance(address, denom or self.denom)

    def snapshot(self) -> dict[str, dict[Any, Any]]:
        """Every non-empty map of the chain's store (see `state_of`)."""
        return state_of(self.store)

    # -- contracts --

    def register(self, *classes: type[Contract]) -> None:
        """Make contract classes instantiable (also by contracts, by code name)."""
        for cls in classes:
            self.executor.register_code(cls)
            self._codes[cls.code] = cls

    def instantiate(
        self,
        sender: str,
        code: str | type[Contract],
        msg: Any,
        funds: tuple[Coin, ...] = (),
        label: str = "",
        admin: str | None = None,
    ) -> KitResult:
        """Transaction: ``sender`` deploys a contract (a class is registered first)."""
        if not isinstance(code, str):
            self.register(code)
            code = code.code
        return self._record(
            self.executor.instantiate(sender, code, msg, funds, label or code, admin)
        )

    def deploy(
        self,
        sender: str,
        code: str | type[Contract],
        msg: Any,
        funds: tuple[Coin, ...] = (),
        label: str = "",
        admin: str | None = None,
    ) -> str:
        """`instantiate` and return the new address; raises the unit's error."""
        address: str = self.instantiate(sender, code, msg, funds, label, admin).unwrap()
        return address

    def execute(
        self, sender: str, contract: str, msg: Any, funds: tuple[Coin, ...] = ()
    ) -> KitResult:
        """Transaction: ``sender`` executes ``contract`` with ``msg``, attaching ``funds``."""
        return self._record(self.executor.execute(sender, contract, msg, funds))

    def sudo(self, contract: str, msg: Any) -> KitResult:
        """Transaction: the chain calls ``contract``'s ``sudo`` entry point."""
        return self._record(self.executor.sudo(contract, msg))

    def submit(self, sender: str, msg: Any) -> KitResult:
        """Transaction: a root message (bank, staking, custom, native) from ``sender``."""
        return self._record(self.executor.submit(sender, msg))

    def run(self, body: Callable[[TxExecutor], Any]) -> KitResult:
        """Run ``body(executor)`` as one atomic unit (it may use the executor's in-unit
        operations: ``dispatch``, ``call_contract``, ``attempt``, ``emit``...)."""
        return self._record(self.executor.run(lambda: body(self.executor)))

    def query(self, contract: str, msg: Any) -> Any:
        """``contract``'s query entry point, read-only; raises the contract's error."""
        return self.executor.query(contract, msg)

    def core(self, address: str, cls: type[C] = Contract) -> C:  # type: ignore[assignment]
        """The core the executor runs for ``address`` (the very object: reads are live).

        ``cls`` narrows the type; raises `ContractNotFound`, or ``TypeError`` if the core is
        not a ``cls``. Writing through it outside ``run`` bypasses the executor: do that only
        to set a scene the contract's own messages cannot reach.
        """
        core, _ = self.executor.call_contract(address, "inspect", _itself)
        if not isinstance(core, cls):
            raise TypeError(f"{address} runs a {type(core).__name__}, not a {cls.__name__}")
        return core

    def state(self, address: str) -> dict[str, dict[Any, Any]]:
        """A contract's raw storage (container name → contents, empty ones omitted)."""
        return self.executor.contract_state(address)

    def expect_rejected(self, call: Callable[[], KitResult], expected: ChainError) -> KitResult:
        """Run ``call`` (a unit of this kit) and check it failed with exactly ``expected``
        and left every map of the store as it was (P-5, P-6, C-8).

        The snapshot is taken before the call and compared right after it: the kit never
        rolls anything back itself, so an unchanged state proves the executor did. Raises
        `UnexpectedOutcome` or `StateLeaked`.
        """
        before = self.snapshot()
        result = call()
        if result.error != expected:
            raise UnexpectedOutcome(f"expected {expected!r}, got {result.error!r}")
        after = self.snapshot()
        if after != before:
            changed = sorted(
                name for name in set(before) | set(after) if before.get(name) != after.get(name)
            )
            raise StateLeaked(f"a failed call changed {changed}")
        return result

    def _record(self, tx: TxResult) -> KitResult:
        if not tx.ok:
            return KitResult(tx)
        self.events.extend(tx.events)
        packets = self.ibc.sent_since(self._seen_sends)
        self._seen_sends += len(packets)
        return KitResult(tx, packets)

    # -- blocks --

    def end_block(self) -> BlockResult:
        """End the open block (staking, then each module and the sudo calls it asks for)."""
        result = self.executor.end_block()
        self._block(result)
        return result

    def begin_block(self, seconds: int | None = None) -> BlockResult:
        """Begin the next block ``seconds`` (default: the configured block time) later."""
        step = max(1, int(self.config.block_time)) if seconds is None else seconds
        result = self.executor.begin_block(self.time_s + step)
        self._block(result)
        return result

    def next_block(self, seconds: int | None = None) -> None:
        """End the open block and begin the next one ``seconds`` later."""
        self.end_block()
        self.begin_block(seconds)

    def advance(self, seconds: int | None = None, blocks: int = 1) -> None:
        """`next_block` ``blocks`` times, ``seconds`` apart."""
        for _ in range(blocks):
            self.next_block(seconds)

    def run_until(self, height: int) -> None:
        """Produce blocks until ``height`` is the open block."""
        while self.height < height:
            self.next_block()

    def _block(self, result: BlockResult) -> None:
        self.block_results.append(result)
        self.events.extend(result.events)
        for tx in result.sudo_results:
            if tx.error is None:
                continue
            # the host reports which contract's call failed in its ``sudo_failed`` event
            contract = next(
                (
                    e.get("contract") or ""
                    for e in result.events
                    if e.type == "sudo_failed" and e.tx_index == tx.tx_index
                ),
                "",
            )
            self.sudo_failures.append(SudoFailure(contract, tx.error, result.height))
        # packets sent by end-block sudo calls are in the outbox, not in any KitResult
        self._seen_sends = self.ibc.sent_count()

    # -- IBC: the test is the counterparty chain end --

    @property
    def outbox(self) -> tuple[SentPacket, ...]:
        """Every packet contracts sent in committed units, in order."""
        return self.ibc.sent()

    def open_channel(
        self,
        contract: str,
        *,
        initiator: bool = False,
        channel_id: str | None = None,
        version: str = "",
        counterparty_version: str | None = None,
        order: IbcOrder = IbcOrder.UNORDERED,
        counterparty_port: str | None = None,
        counterparty_channel: str | None = None,
        connection_id: str | None = None,
    ) -> IbcChannel:
        """Open a channel end on ``contract``, each handshake step its own unit.

        With ``initiator`` the contract starts it: OpenInit (the channel proposes
        ``version``, the contract may choose another) then OpenAck with the counterparty's
        ``counterparty_version`` (default: the chosen one). Otherwise the counterparty
        starts: OpenTry (``version`` proposed, the counterparty's ``counterparty_version``,
        default ``version``) then OpenConfirm. Returns the open channel as the contract sees
        it; raises the error of a failing step (nothing of that step is kept).
        """
        if channel_id is None:
            channel_id = f"channel-{self._next_channel}"
            self._next_channel += 1
        channel = IbcChannel(
            endpoint=IbcEndpoint(port_id=f"wasm.{contract}", channel_id=channel_id),
            counterparty_endpoint=IbcEndpoint(
                port_id=counterparty_port or self.counterparty_port,
                channel_id=counterparty_channel or f"channel-{100 + self._next_channel}",
            ),
            order=order,
            version=version,
            connection_id=connection_id or self.connection_id,
        )
        offered = None if initiator else counterparty_version or version
        chosen = self.run(channel_open(contract, channel, offered)).unwrap()
        final = channel.model_copy(update={"version": chosen or version})
        # OpenAck carries the counterparty's version; OpenConfirm none
        answered = counterparty_version or final.version if initiator else None
        connect = channel_connect(contract, final, answered)

        def confirm(ex: TxExecutor) -> Any:
            self.ibc.bind(contract, final)
            return connect(ex)

        self.run(confirm).unwrap()
        return final

    def channel(self, contract: str, channel_id: str | None = None) -> IbcChannel:
        """``contract``'s channel ``channel_id`` (default: the last one opened on it);
        raises `UnknownChannel`."""
        for owner, channel in reversed(self.ibc.channels()):
            if owner == contract and channel_id in (None, channel.endpoint.channel_id):
                return channel
        raise UnknownChannel(contract, channel_id or "")

    def inbound(
        self,
        contract: str,
        data: bytes,
        *,
        channel_id: str | None = None,
        sequence: int | None = None,
        timeout: IbcTimeout | None = None,
    ) -> IbcPacket:
        """A packet from the counterparty to ``contract`` carrying ``data``: the next
        sequence on the channel unless given, timing out a day from now unless given."""
        channel = self.channel(contract, channel_id)
        key = channel.endpoint.channel_id
        if sequence is None:
            sequence = self._recv_sequences.get(key, 0) + 1
        self._recv_sequences[key] = max(sequence, self._recv_sequences.get(key, 0))
        return IbcPacket(
            sequence=sequence,
            src=channel.counterparty_endpoint,
            dest=channel.endpoint,
            data=data,
            timeout=timeout or IbcTimeout(timestamp_ns=(self.time_s + _DAY_S) * 10**9),
        )

    def receive(self, contract: str, packet: bytes | IbcPacket) -> Received:
        """Deliver a packet (or the bytes of one, see `inbound`) to ``contract`` as a unit.

        If the application fails, nothing it did is kept and the ack is an error ack with
        the error's text (I-19); the `KitResult` is then the failed unit's.
        """
        if isinstance(packet, bytes):
            packet = self.inbound(contract, packet)
        result = self.run(packet_receive(contract, packet, self.relayer, error_ack=False))
        if result.error is not None:
            return Received(IbcAcknowledgement.error(str(result.error)), result)
        ack: IbcAcknowledgement = result.data
        return Received(ack, result)

    def ack(self, sent: SentPacket, ack: IbcAcknowledgement | bytes | None = None) -> KitResult:
        """Deliver the counterparty's acknowledgement of ``sent`` as a unit: ``ack`` itself,
        or a success ack carrying the given bytes (default ``b"{}"``, the Mesh Security
        success body)."""
        if ack is None or isinstance(ack, bytes):
            ack = IbcAcknowledgement.success(b"{}" if ack is None else ack)
        return self.run(packet_ack(sent.contract, sent.packet, ack, self.relayer))

    def error_ack(self, sent: SentPacket, text: str = "counterparty failed") -> KitResult:
        """Deliver an error acknowledgement of ``sent`` as a unit."""
        return self.ack(sent, IbcAcknowledgement.error(text))

    def timeout(self, sent: SentPacket) -> KitResult:
        """Deliver the timeout of ``sent`` as a unit."""
        return self.run(packet_timeout(sent.contract, sent.packet, self.relayer))

    def close_channel(
        self, contract: str, channel: IbcChannel | None = None, *, confirm: bool = False
    ) -> KitResult:
        """Close ``contract``'s channel (default: its last one) as a unit: CloseInit on this
        end (``confirm=False``) or CloseConfirm after the counterparty closed. The channel
        then refuses sends."""
        target = channel or self.channel(contract)

        closing = channel_close(contract, target, confirm=confirm)

        def close(ex: TxExecutor) -> Any:
            self.ibc.close(target.endpoint.channel_id)
            return closing(ex)

        return self.run(close)
