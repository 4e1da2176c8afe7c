"""The contract model: what a contract core is, what it receives, and what it returns.

A contract core is a synchronous, deterministic state machine (ARCHITECTURE rule 1, spec
C-7): the chain host calls one of its entry points with the block environment and message
info; the core reads and writes its own journaled storage, may query the chain, and returns
a `Response` listing the messages it wants executed next (other contracts, bank, staking,
IBC, custom module messages). It never awaits, never reads a clock, never draws randomness.
A core signals failure by raising a `ChainError`; the host then reverts everything the
transaction (or the failing sub-message, C-9) touched and reports the error as a value.

Every deployed contract is one instance of a `Contract` subclass, built by the host with its
`Deps`. All state lives in ``deps.storage`` (so rollback is the store's job, and costs only
what was written); attributes set in ``__init__`` hold handles and configuration only.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Final, Generic, Protocol, TypeVar, get_args

import msgspec
from pydantic import BaseModel, ConfigDict, Field

from chains.contract._coin import Coin
from chains.contract._errors import ChainError, InvalidValue
from chains.contract._ibc_types import (
    IbcAcknowledgement,
    IbcChannel,
    IbcOrder,
    IbcPacket,
    IbcTimeout,
)
from chains.contract._store import JournaledMap, SortedJournaledMap, Store
from mesh_actors import construct_trusted

if TYPE_CHECKING:
    from mesh_actors import Message

__all__ = [
    "BankBurn",
    "BankSend",
    "BlockEnv",
    "ChannelConnect",
    "ChannelOpen",
    "Contract",
    "ContractStorage",
    "CosmosMsg",
    "CustomMsg",
    "Deps",
    "DistributionSetWithdrawAddress",
    "DistributionWithdrawReward",
    "Env",
    "Event",
    "IbcBasicResponse",
    "IbcCloseChannel",
    "IbcReceiveResponse",
    "IbcSendPacket",
    "IbcTransfer",
    "Item",
    "MessageInfo",
    "Querier",
    "Reply",
    "ReplyOn",
    "Response",
    "StakingDelegate",
    "StakingRedelegate",
    "StakingUndelegate",
    "StargateMsg",
    "SubMsg",
    "WasmExecute",
    "WasmInstantiate",
]

T = TypeVar("T")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


# -- environment ------------------------------------------------------------------------------


class BlockEnv(_Frozen):
    """The block a call executes in (C-6: contracts use whole seconds)."""

    chain_id: str
    height: int
    time_s: int

    @property
    def time_ns(self) -> int:
        return self.time_s * 1_000_000_000


class Env(_Frozen):
    """``env`` of every entry point: the block and the called contract's own address."""

    block: BlockEnv
    contract_address: str


class MessageInfo(_Frozen):
    """``info`` of instantiate/execute: who called, with which coins attached."""

    sender: str
    funds: tuple[Coin, ...] = ()


# -- what a contract may emit ----------------------------------------------------------------


class WasmExecute(_Frozen):
    """Execute another contract (depth-first, after the emitter's own state changes, P-3)."""

    contract_addr: str
    msg: Any  # a mesh_actors.Message accepted by the target contract
    funds: tuple[Coin, ...] = ()


class WasmInstantiate(_Frozen):
    """Deploy a new contract of a registered ``code`` (e.g. native staking's per-user proxy).

    The new address is returned to the emitter through a reply's ``data`` (use a `SubMsg`
    with a success reply to learn it).
    """

    code: str
    msg: Any
    funds: tuple[Coin, ...] = ()
    label: str
    admin: str | None = None


class BankSend(_Frozen):
    to_address: str
    amount: tuple[Coin, ...]


class BankBurn(_Frozen):
    amount: tuple[Coin, ...]


class StakingDelegate(_Frozen):
    validator: str
    amount: Coin


class StakingUndelegate(_Frozen):
    validator: str
    amount: Coin


class StakingRedelegate(_Frozen):
    src_validator: str
    dst_validator: str
    amount: Coin


class DistributionWithdrawReward(_Frozen):
    validator: str


class DistributionSetWithdrawAddress(_Frozen):
    """Send the emitter's future delegation rewards to ``address`` (x/distribution
    ``MsgSetWithdrawAddress``; the native staking proxy uses it, P-52, P-56)."""

    address: str


class IbcSendPacket(_Frozen):
    """Send ``data`` on a channel this contract's port owns (I-8)."""

    channel_id: str
    data: bytes
    timeout: IbcTimeout


class IbcTransfer(_Frozen):
    """An ICS-20 token transfer to an address on the counterparty chain."""

    channel_id: str
    to_address: str
    amount: Coin
    timeout: IbcTimeout


class IbcCloseChannel(_Frozen):
    channel_id: str


class CustomMsg(_Frozen):
    """A chain-specific message routed to a module (e.g. ``virtual_stake`` bond/unbond, C-11)."""

    module: str
    msg: Any


class StargateMsg(_Frozen):
    """A raw protobuf message (CosmWasm's ``CosmosMsg::Stargate``, an ``Any``): ``type_url``
    names the protobuf type (e.g. ``/cosmos.staking.v1beta1.MsgDelegate``), ``value`` is its
    encoded bytes.

    A host runs only what it can decode, and on a consumer chain a contract with a max-cap
    entry may not emit one at all (consumer.md C-50: it could reach native staking past the
    module's accounting).
    """

    type_url: str
    value: bytes


CosmosMsg = (
    WasmExecute
    | WasmInstantiate
    | BankSend
    | BankBurn
    | StakingDelegate
    | StakingUndelegate
    | StakingRedelegate
    | DistributionWithdrawReward
    | DistributionSetWithdrawAddress
    | IbcSendPacket
    | IbcTransfer
    | IbcCloseChannel
    | CustomMsg
    | StargateMsg
)


# the exact classes a `SubMsg.trusted` message may have (the members of `CosmosMsg`)
_COSMOS_TYPES: frozenset[type] = frozenset(get_args(CosmosMsg))


class ReplyOn(enum.Enum):
    """When the emitter's ``reply`` runs for a sub-message (C-9)."""

    NEVER = "never"
    SUCCESS = "success"
    ERROR = "error"
    ALWAYS = "always"


class SubMsg(_Frozen):
    """A message run in its own savepoint; with ``ERROR``/``ALWAYS`` its failure is caught."""

    id: int = 0
    msg: CosmosMsg
    reply_on: ReplyOn = ReplyOn.NEVER

    @classmethod
    def trusted(cls, id: int, msg: CosmosMsg, reply_on: ReplyOn) -> SubMsg:
        """``SubMsg(id=..., msg=..., reply_on=...)`` without validation when the values are
        of their fields' exact types (an ``int``, an instance of one of the `CosmosMsg`
        classes, a `ReplyOn`): validating the message union costs more than the rest of a
        sub-message's routing. Any other value takes the validating constructor, so the
        result always equals ``SubMsg(...)``; raises only what that raises."""
        if type(id) is not int or type(msg) not in _COSMOS_TYPES or type(reply_on) is not ReplyOn:
            return cls(id=id, msg=msg, reply_on=reply_on)
        return construct_trusted(
            cls, {"id": id, "msg": msg, "reply_on": reply_on}, {"id", "msg", "reply_on"}
        )


_EVENT_SHAPE: Final = "an Event's type is a str and its attributes a tuple of (str, str) tuples"


class Event(msgspec.Struct, frozen=True, gc=False):
    """A typed event with string attributes, as emitted by a transaction.

    An in-host value (never sent over a transport), so a frozen, slotted, untracked struct
    rather than a pydantic model (issue #16): keyword construction, attribute access,
    equality and hashing are as before. ``Event(...)`` checks its values' exact types (a
    ``str`` type, a tuple of ``(str, str)`` tuples) and raises `InvalidValue` for anything
    else, without coercing; `trusted` coerces what the pydantic model accepted (a list of
    lists, say) and raises pydantic's ``ValidationError`` for the rest.
    """

    type: str
    attributes: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        # exact-type checks only (no coercion): cheap enough for every event of a day
        # (issue #16 measured the cost), and an event is hashed, compared and written to
        # the durable store, where an int or a list in place of a str would surface late
        if type(self.type) is not str or type(self.attributes) is not tuple:
            raise InvalidValue(_EVENT_SHAPE)
        for pair in self.attributes:
            if (
                type(pair) is not tuple
                or len(pair) != 2
                or type(pair[0]) is not str
                or type(pair[1]) is not str
            ):
                raise InvalidValue(_EVENT_SHAPE)

    @classmethod
    def trusted(cls, type_: str, attributes: tuple[tuple[str, str], ...]) -> Event:
        """``Event(type=..., attributes=...)`` with pydantic's coercion: values of their
        fields' exact types (a ``str``; a tuple of ``(str, str)`` tuples, as the executor's
        recorded events are) are taken as they are; anything else is validated and coerced
        as the pydantic model did (a list of lists becomes a tuple of tuples). Raises
        pydantic's ``ValidationError`` for values that cannot be coerced."""
        try:
            return cls(type_, attributes)
        except InvalidValue:
            return _validated_event(type_, attributes)

    def get(self, key: str) -> str | None:
        """The first attribute named ``key``, or ``None``."""
        for k, v in self.attributes:
            if k == key:
                return v
        return None


class _EventFields(_Frozen):
    # the validation (and coercion) the pydantic `Event` did, for `Event.trusted`'s
    # fallback
    type: str
    attributes: tuple[tuple[str, str], ...] = ()


def _validated_event(type_: Any, attributes: Any) -> Event:
    fields = _EventFields(type=type_, attributes=attributes)
    return Event(fields.type, fields.attributes)


def _as_submsgs(messages: tuple[CosmosMsg | SubMsg, ...]) -> tuple[SubMsg, ...]:
    return tuple(m if isinstance(m, SubMsg) else SubMsg(msg=m) for m in messages)


class Response(_Frozen):
    """What an entry point returns: messages to run next, events, optional data."""

    messages: tuple[SubMsg, ...] = ()
    events: tuple[Event, ...] = ()
    data: Any = None

    @classmethod
    def of(
        cls,
        *messages: CosmosMsg | SubMsg,
        events: tuple[Event, ...] = (),
        data: Any = None,
    ) -> Response:
        """A response with these messages (plain messages become reply-less sub-messages)."""
        return cls(messages=_as_submsgs(messages), events=events, data=data)


class Reply(msgspec.Struct, frozen=True, gc=False):
    """What ``reply`` receives: the sub-message id and its result (data/events or the error).

    An in-host value built by the executor once per replied sub-message (every epoch's
    reward withdrawals, C-95/C-99), so a frozen, slotted, untracked struct rather than a
    pydantic model (issue #16): keyword construction, attribute access and equality are as
    before, but ``Reply(...)`` does not validate; `trusted` checks and coerces.
    """

    id: int
    ok: bool
    data: Any = None
    events: tuple[Event, ...] = ()
    error: ChainError | None = None

    @classmethod
    def trusted(
        cls, id: int, ok: bool, data: Any, events: tuple[Event, ...], error: ChainError | None
    ) -> Reply:
        """``Reply(id=..., ok=..., data=..., events=..., error=...)`` checked: values of
        their fields' exact types are taken as they are; anything else is validated and
        coerced as the pydantic model did. Raises pydantic's ``ValidationError`` for values
        that cannot be coerced."""
        if (
            type(id) is not int
            or type(ok) is not bool
            or type(events) is not tuple
            or not (error is None or isinstance(error, ChainError))
        ):
            return _validated_reply(id, ok, data, events, error)
        for event in events:
            if type(event) is not Event:
                return _validated_reply(id, ok, data, events, error)
        return cls(id, ok, data, events, error)


class _ReplyFields(_Frozen):
    # the validation (and coercion) the pydantic `Reply` did, for `Reply.trusted`'s fallback
    id: int
    ok: bool
    data: Any = None
    events: tuple[Event, ...] = ()
    error: ChainError | None = None


def _validated_reply(id: Any, ok: Any, data: Any, events: Any, error: Any) -> Reply:
    fields = _ReplyFields(id=id, ok=ok, data=data, events=events, error=error)
    return Reply(fields.id, fields.ok, fields.data, fields.events, fields.error)


class IbcBasicResponse(_Frozen):
    """Result of connect/close/ack/timeout callbacks."""

    messages: tuple[SubMsg, ...] = ()
    events: tuple[Event, ...] = ()


class IbcReceiveResponse(_Frozen):
    """Result of a packet receive: the acknowledgement to write, plus messages and events."""

    ack: IbcAcknowledgement
    messages: tuple[SubMsg, ...] = ()
    events: tuple[Event, ...] = ()


class ChannelOpen(_Frozen):
    """OpenInit (``counterparty_version`` is None) or OpenTry (I-6)."""

    channel: IbcChannel
    counterparty_version: str | None = None


class ChannelConnect(_Frozen):
    """OpenAck (``counterparty_version`` set) or OpenConfirm (I-6)."""

    channel: IbcChannel
    counterparty_version: str | None = None


# -- storage and queries ---------------------------------------------------------------------


class Item(Generic[T]):
    """A single journaled value in a contract's storage."""

    __slots__ = ("_map",)

    def __init__(self, backing: JournaledMap[str, Any]) -> None:
        self._map = backing

    def load(self) -> T:
        """The value; raises ``KeyError`` if never saved."""
        value: T = self._map["value"]
        return value

    def may_load(self) -> T | None:
        value: T | None = self._map.get("value")
        return value

    def save(self, value: T) -> None:
        self._map["value"] = value

    def remove(self) -> None:
        self._map.pop("value", None)


class ContractStorage:
    """A contract's namespace in the chain's journaled `Store`.

    ``map("stakes")`` and ``item("config")`` return journaled containers whose names are
    prefixed by the contract address, created on first use and the same object afterwards.
    Values must be immutable (see `Store`).
    """

    __slots__ = ("_maps", "_prefix", "_store")

    def __init__(self, store: Store, contract_address: str) -> None:
        self._store = store
        self._prefix = f"wasm/{contract_address}/"
        self._maps: dict[str, JournaledMap[Any, Any]] = {}

    def map(self, name: str) -> JournaledMap[Any, Any]:
        existing = self._maps.get(name)
        if existing is None:
            # a map loaded from a durable store before the core first asked for it is
            # adopted (see `chains.host.DurableStore`)
            full = self._prefix + name
            existing = self._store.find(full)
            if existing is None:  # (not ``or``: an empty map is falsy)
                existing = JournaledMap(self._store, full)
            self._maps[name] = existing
        return existing

    def sorted_map(self, name: str) -> SortedJournaledMap[Any, Any]:
        existing = self._maps.get(name)
        if existing is None:
            full = self._prefix + name
            existing = self._store.find(full)
            if existing is None:
                existing = SortedJournaledMap(self._store, full)
            self._maps[name] = existing
        if not isinstance(existing, SortedJournaledMap):
            raise TypeError(f"storage {name!r} was opened as an unsorted map")
        return existing

    def item(self, name: str) -> Item[Any]:
        return Item(self.map(name))

    def dump(self) -> dict[str, dict[Any, Any]]:
        """Every container's contents (for queries of raw state and for tests)."""
        return {name: dict(m.raw_items()) for name, m in self._maps.items()}

    def __iter__(self) -> Iterator[str]:
        return iter(self._maps)


class Querier(Protocol):
    """Synchronous read-only chain queries a core may make (P-4, C-11)."""

    def balance(self, address: str, denom: str) -> int: ...

    def smart(self, contract_addr: str, msg: Any) -> Any:
        """Run another contract's ``query`` entry point on committed-or-current state."""

    def bonded_denom(self) -> str: ...

    def all_validators(self) -> tuple[Any, ...]:
        """Currently bonded validators only (C-11), as staking ``Validator`` records."""

    def validator(self, operator: str) -> Any:
        """One validator's record, or ``None`` if unknown."""

    def custom(self, module: str, msg: Any) -> Any:
        """A chain-specific query (e.g. ``virtual_stake`` bond_status, C-11)."""

    def module(self, name: str) -> Any:
        """A read handle on a native module (``"staking"``, ``"bank"``, ...) for queries."""


class Deps:
    """What a core works with: its storage, the chain querier, and address validation."""

    __slots__ = ("chain_id", "querier", "storage", "validate_address")

    def __init__(
        self,
        storage: ContractStorage,
        querier: Querier,
        validate_address: Callable[[str], str],
        chain_id: str,
    ) -> None:
        self.storage = storage
        self.querier = querier
        self.validate_address = validate_address
        self.chain_id = chain_id


class Contract:
    """Base class of contract cores. Override the entry points the contract supports.

    Entry points not overridden refuse with `ChainError` subclasses where the caller can tell
    (execute/sudo/query of an unsupported message) or are no-ops where a chain calls them
    unconditionally. Subclasses declare ``code`` (the name the chain registers the code
    under) and may declare ``execute_types`` etc. for documentation and dispatch.
    """

    code: ClassVar[str] = "contract"
    ibc_order: ClassVar[IbcOrder | None] = None  # non-None: the contract has IBC entry points

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def instantiate(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        return Response()

    def execute(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        raise _unsupported("execute", msg)

    def query(self, env: Env, msg: Message) -> Any:
        raise _unsupported("query", msg)

    def sudo(self, env: Env, msg: Message) -> Response:
        raise _unsupported("sudo", msg)

    def reply(self, env: Env, reply: Reply) -> Response:
        raise _unsupported("reply", reply)

    # IBC (I-6, I-10, I-13, I-14); only for contracts with ``ibc_order`` set.
    def ibc_channel_open(self, env: Env, msg: ChannelOpen) -> str | None:
        """Accept (returning the version to use, or None to keep it) or raise to refuse."""
        raise _unsupported("ibc_channel_open", msg)

    def ibc_channel_connect(self, env: Env, msg: ChannelConnect) -> IbcBasicResponse:
        return IbcBasicResponse()

    def ibc_channel_close(
        self, env: Env, channel: IbcChannel, *, confirm: bool = False
    ) -> IbcBasicResponse:
        """CloseInit on this end (``confirm`` False) or CloseConfirm after the counterparty
        closed (``confirm`` True, I-20); raise to refuse the step."""
        return IbcBasicResponse()

    def ibc_packet_receive(self, env: Env, packet: IbcPacket, relayer: str) -> IbcReceiveResponse:
        raise _unsupported("ibc_packet_receive", packet)

    def ibc_packet_ack(
        self, env: Env, ack: IbcAcknowledgement, packet: IbcPacket, relayer: str
    ) -> IbcBasicResponse:
        return IbcBasicResponse()

    def ibc_packet_timeout(self, env: Env, packet: IbcPacket, relayer: str) -> IbcBasicResponse:
        return IbcBasicResponse()


def _unsupported(entry: str, msg: object) -> ChainError:
    from chains.contract._errors import UnsupportedMessage

    return UnsupportedMessage(entry, type(msg).__name__)


# Field is re-exported for cores that declare pydantic defaults alongside these models.
_ = Field
