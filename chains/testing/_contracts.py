"""Small contracts and modules for testing chain hosts (not part of the protocol).

- `CascadeContract` runs a *plan*: a tree of `CascadeNode` values. Each node logs itself in
  the executing contract's storage, may send coins, send an IBC packet and call child nodes
  (on other contracts) as sub-messages with any reply mode, and may then fail (a named error
  or a panic). Random plans exercise depth-first order (P-3, C-8), reply semantics (C-9)
  and atomicity (C-8, P-2). It also answers a few queries, queries other contracts,
  instantiates children and calls modules, for the routing tests.
- `EchoContract` returns what it is given (for benchmarks and simple checks).
- `RecordingModule` is a `ChainModule` that records custom messages in the store and block
  hooks in a list, and returns the sudo calls a test scheduled; `FakeIbcModule` plays the
  ``"ibc"`` module and keeps an outbox of emitted IBC messages in the store.

Deliberately not re-exported from ``chains``: tests import them from this module.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from chains.contract._coin import Coin
from chains.contract._contract import (
    BankSend,
    BlockEnv,
    Contract,
    CosmosMsg,
    CustomMsg,
    Env,
    Event,
    IbcSendPacket,
    MessageInfo,
    Reply,
    ReplyOn,
    Response,
    SubMsg,
    WasmExecute,
    WasmInstantiate,
)
from chains.contract._errors import ChainError, UnsupportedMessage
from chains.contract._ibc_types import IbcTimeout
from chains.contract._store import JournaledMap, SortedJournaledMap, Store
from chains.modules._module import ModuleCall, SudoCall
from mesh_actors import Message

__all__ = [
    "BalanceQuery",
    "CallModule",
    "CascadeChild",
    "CascadeContract",
    "CascadeFailure",
    "CascadeInit",
    "CascadeNode",
    "CountQuery",
    "Echo",
    "EchoContract",
    "Emit",
    "FakeIbcModule",
    "LogQuery",
    "QueryOther",
    "RecordingModule",
    "RunNode",
    "Spawn",
    "WritingQuery",
]


class CascadeFailure(ChainError):
    """The failure a `CascadeNode` (or a reply with an odd id) raises on purpose."""

    fields = ("tag",)
    tag: str

    def __init__(self, tag: str) -> None:
        super().__init__(tag)


class CascadeChild(BaseModel):
    """A child call of a node: a sub-message with ``id`` and ``reply_on``.

    The emitter's reply to an **odd** ``id`` fails on purpose (C-9: a failing reply
    propagates). ``funds`` (of the cascade denom) go with the call.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int = 0
    reply_on: ReplyOn = ReplyOn.NEVER
    funds: int = 0
    node: CascadeNode


class CascadeNode(BaseModel):
    """One step of a plan, executed by the contract at ``target``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    target: str
    tag: str
    send: int = 0
    sink: str = ""
    packet: bool = False
    fail: Literal["", "error", "panic"] = ""
    children: tuple[CascadeChild, ...] = ()


CascadeChild.model_rebuild()


class CascadeInit(Message):
    type_name = "test.cascade.init"
    denom: str = "stake"


class RunNode(Message):
    """Execute: run ``node`` (its ``target`` must be this contract)."""

    type_name = "test.cascade.run"
    node: CascadeNode


class QueryOther(Message):
    """Execute: query ``contract`` with ``msg`` and log the answer (C-7)."""

    type_name = "test.cascade.query_other"
    contract: str
    msg: Any


class Spawn(Message):
    """Execute: instantiate a contract of ``code`` and remember its address (from the reply)."""

    type_name = "test.cascade.spawn"
    code: str
    msg: Any
    label: str = ""


class CallModule(Message):
    """Execute: send ``CustomMsg(module, msg)``."""

    type_name = "test.cascade.call_module"
    module: str
    msg: Any


class Emit(Message):
    """Execute or sudo: log ``("emit", n)``, emit these messages and return ``data``."""

    type_name = "test.cascade.emit"
    messages: tuple[Any, ...] = ()
    data: Any = None


class LogQuery(Message):
    """Query: the log entries, in order."""

    type_name = "test.cascade.log"


class CountQuery(Message):
    """Query: how many log entries there are."""

    type_name = "test.cascade.count"


class WritingQuery(Message):
    """Query that (wrongly) writes to storage: must fail with `QueryWrite` (P-4)."""

    type_name = "test.cascade.writing_query"


class BalanceQuery(Message):
    """Query: this contract's balance of the cascade denom, through the querier."""

    type_name = "test.cascade.balance"


class CascadeContract(Contract):
    """See the module docstring. Storage: ``config``, ``count``, ``log`` (index → entry),
    ``spawned`` (reply id → address)."""

    code = "test.cascade"

    def _log(self, entry: tuple[Any, ...]) -> None:
        count = self.deps.storage.item("count")
        n: int = count.may_load() or 0
        self.deps.storage.map("log")[n] = entry
        count.save(n + 1)

    def instantiate(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        if not isinstance(msg, CascadeInit):
            raise UnsupportedMessage("instantiate", type(msg).__name__)
        self.deps.storage.item("config").save(msg.denom)
        self._log(("init", info.sender))
        return Response(data=env.contract_address)

    def execute(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        if isinstance(msg, RunNode):
            return self._run(env, info, msg.node)
        if isinstance(msg, QueryOther):
            answer = self.deps.querier.smart(msg.contract, msg.msg)
            self._log(("queried", msg.contract, answer))
            return Response(data=answer)
        if isinstance(msg, Spawn):
            instantiate = WasmInstantiate(code=msg.code, msg=msg.msg, label=msg.label)
            return Response.of(SubMsg(id=7, msg=instantiate, reply_on=ReplyOn.SUCCESS))
        if isinstance(msg, CallModule):
            return Response.of(CustomMsg(module=msg.module, msg=msg.msg))
        if isinstance(msg, Emit):
            self._log(("emit", len(msg.messages)))
            return Response.of(*msg.messages, data=msg.data)
        raise UnsupportedMessage("execute", type(msg).__name__)

    def _run(self, env: Env, info: MessageInfo, node: CascadeNode) -> Response:
        self._log(("run", node.tag, info.sender, sum(c.amount for c in info.funds)))
        denom: str = self.deps.storage.item("config").load()
        messages: list[CosmosMsg | SubMsg] = []
        if node.send:
            messages.append(
                BankSend(to_address=node.sink, amount=(Coin(denom=denom, amount=node.send),))
            )
        if node.packet:
            messages.append(
                IbcSendPacket(
                    channel_id="channel-0",
                    data=node.tag.encode(),
                    timeout=IbcTimeout(timestamp_ns=(env.block.time_s + 600) * 10**9),
                )
            )
        for child in node.children:
            funds = (Coin(denom=denom, amount=child.funds),) if child.funds else ()
            call = WasmExecute(
                contract_addr=child.node.target, msg=RunNode(node=child.node), funds=funds
            )
            messages.append(SubMsg(id=child.id, msg=call, reply_on=child.reply_on))
        if node.fail == "error":
            raise CascadeFailure(node.tag)
        if node.fail == "panic":
            raise RuntimeError(f"panic in {node.tag}")
        return Response.of(
            *messages, events=(Event(type="node", attributes=(("tag", node.tag),)),), data=node.tag
        )

    def reply(self, env: Env, reply: Reply) -> Response:
        if reply.id == 7 and reply.ok:
            self.deps.storage.map("spawned")[reply.id] = reply.data
            return Response()
        detail = reply.error.name if reply.error is not None else reply.data
        self._log(("reply", reply.id, reply.ok, detail))
        if reply.id % 2 == 1:
            raise CascadeFailure(f"reply {reply.id}")
        return Response()

    def sudo(self, env: Env, msg: Message) -> Response:
        if isinstance(msg, RunNode):
            return self._run(env, MessageInfo(sender="sudo"), msg.node)
        if isinstance(msg, Emit):
            self._log(("emit", len(msg.messages)))
            return Response.of(*msg.messages, data=msg.data)
        raise UnsupportedMessage("sudo", type(msg).__name__)

    def query(self, env: Env, msg: Message) -> Any:
        storage = self.deps.storage
        if isinstance(msg, LogQuery):
            return tuple(entry for _, entry in sorted(storage.map("log").items()))
        if isinstance(msg, CountQuery):
            return storage.item("count").may_load() or 0
        if isinstance(msg, WritingQuery):
            storage.item("count").save(-1)
            return None
        if isinstance(msg, BalanceQuery):
            denom: str = storage.item("config").load()
            return self.deps.querier.balance(env.contract_address, denom)
        raise UnsupportedMessage("query", type(msg).__name__)


class Echo(Message):
    type_name = "test.echo"
    value: Any = None


class EchoContract(Contract):
    """Answers ``Echo(value)`` with ``value`` as data (execute) or answer (query)."""

    code = "test.echo"

    def execute(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        if isinstance(msg, Echo):
            return Response(data=msg.value)
        raise UnsupportedMessage("execute", type(msg).__name__)

    def query(self, env: Env, msg: Message) -> Any:
        if isinstance(msg, Echo):
            return msg.value
        raise UnsupportedMessage("query", type(msg).__name__)


class RecordingModule:
    """A `ChainModule` for tests.

    ``handle`` stores ``(height, sender, msg)`` in the journaled map ``<name>/calls`` (so a
    rollback removes it) and answers with ``Response(data=("handled", msg))``; the message
    ``"fail"`` raises `CascadeFailure`, ``"panic"`` raises ``RuntimeError``, ``"write"`` is
    fine. ``query`` returns the recorded calls, or writes when asked ``"write"`` (to test the
    read-only guard). Block hooks append ``("begin"|"end", height)`` to ``hooks`` (a plain
    list: observation only) and ``end_block`` returns the calls set with ``schedule``.
    """

    def __init__(self, store: Store, name: str = "recorder") -> None:
        self.name = name
        self._calls: SortedJournaledMap[int, tuple[int, str, Any]] = SortedJournaledMap(
            store, f"{name}/calls"
        )
        self._flag: JournaledMap[str, int] = JournaledMap(store, f"{name}/flag")
        self.hooks: list[tuple[str, int]] = []
        self.scheduled: list[SudoCall] = []
        self.begin_events: list[Event] = []
        self.sudo_results: list[tuple[SudoCall, Any]] = []

    def handle(self, call: ModuleCall, msg: Any) -> Response:
        if msg == "fail":
            raise CascadeFailure("module")
        if msg == "panic":
            raise RuntimeError("module panic")
        self._calls[len(self._calls)] = (call.block.height, call.sender, msg)
        return Response(data=("handled", msg))

    def query(self, block: BlockEnv, msg: Any) -> Any:
        if msg == "write":
            self._flag["x"] = 1
        return tuple(self._calls.values())

    def begin_block(self, block: BlockEnv) -> list[Event]:
        self.hooks.append(("begin", block.height))
        return list(self.begin_events)

    def end_block(self, block: BlockEnv) -> list[SudoCall]:
        self.hooks.append(("end", block.height))
        calls, self.scheduled = self.scheduled, []
        return calls

    def schedule(self, *calls: SudoCall) -> None:
        """Have the next ``end_block`` return these sudo calls."""
        self.scheduled.extend(calls)

    def on_sudo_result(self, call: SudoCall, result: Any) -> None:
        self.sudo_results.append((call, result))

    def calls(self) -> tuple[tuple[int, str, Any], ...]:
        """The recorded custom messages (committed ones only)."""
        return tuple(self._calls.values())


class FakeIbcModule:
    """The ``"ibc"`` module for tests: an outbox of ``(sender, message)`` in the store."""

    name = "ibc"

    def __init__(self, store: Store) -> None:
        self._outbox: SortedJournaledMap[int, tuple[str, Any]] = SortedJournaledMap(
            store, "ibc/outbox"
        )

    def handle(self, call: ModuleCall, msg: Any) -> Response:
        self._outbox[len(self._outbox)] = (call.sender, msg)
        return Response()

    def query(self, block: BlockEnv, msg: Any) -> Any:
        return self.outbox()

    def begin_block(self, block: BlockEnv) -> list[Event]:
        return []

    def end_block(self, block: BlockEnv) -> list[SudoCall]:
        return []

    def outbox(self) -> tuple[tuple[str, Any], ...]:
        """Every committed IBC message, in emission order."""
        return tuple(self._outbox.values())
