"""A small counter/echo contract with IBC entry points, to exercise the IBC module.

`IbcTestApp` (code ``"test.ibc-app"``) sends packets carrying a *nonce* and an *amount*:
sending reserves the amount from the app's ``balance`` (the sender's state), a success ack
makes the reservation final, an error ack or a timeout refunds it, so after an error ack or a
timeout the sender's state is as if the packet never left (I-19, I-14). Receiving adds the
amount to ``received_total`` and records how many times each nonce was applied and, per
channel, the order sequences arrived in (I-12, I-24). Every ack/timeout callback is counted
per nonce (they must run exactly once, I-16).

Behaviour is configurable (`IbcAppInit`, `IbcAppConfigure`): accepted orderings and version
range (versions are ``"test-v<N>"``; OpenInit proposes the highest, OpenTry answers
``min(proposed, own max)``, OpenAck checks the answer is in range: negotiation, I-6), refuse
closes, fail on receive (a raised error: error ack and rollback, I-19), answer an error-shaped
ack itself (state kept, I-10.5), abort (`IbcExecutionAborted`, no ack at all, I-19), emit a
failing message on receive (rolled back, I-19), echo a packet back on receive, fail the
ack/timeout callbacks (I-18), and refill: send one more packet after each ack or timeout
(the benchmark's window of packets in flight).
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from chains.contract._coin import Coin
from chains.contract._contract import (
    BankSend,
    ChannelConnect,
    ChannelOpen,
    Contract,
    CosmosMsg,
    Deps,
    Env,
    Event,
    IbcBasicResponse,
    IbcCloseChannel,
    IbcReceiveResponse,
    IbcSendPacket,
    MessageInfo,
    Response,
    SubMsg,
)
from chains.contract._errors import ChainError, UnsupportedMessage
from chains.contract._ibc_types import (
    IbcAcknowledgement,
    IbcChannel,
    IbcOrder,
    IbcPacket,
    IbcTimeout,
)
from chains.ibc._errors import IbcExecutionAborted
from mesh_actors import Message

__all__ = [
    "IbcAppClose",
    "IbcAppConfigure",
    "IbcAppInit",
    "IbcAppQuery",
    "IbcAppSend",
    "IbcAppState",
    "IbcTestApp",
    "IbcTestAppError",
    "TEST_APP_CODE",
    "app_version",
]

TEST_APP_CODE = "test.ibc-app"
# {"nonce":<int>,"amount":<int >= 0>} in canonical JSON (short numbers: int() of these
# equals what json.loads gives; anything else takes the json path)
_PLAIN_DATA = re.compile(rb'\{"nonce":(-?(?:0|[1-9][0-9]{0,17})),"amount":(0|[1-9][0-9]{0,17})\}')
_VERSION_PREFIX = "test-v"


def app_version(number: int) -> str:
    """The version string of protocol version ``number``."""
    return f"{_VERSION_PREFIX}{number}"


class IbcTestAppError(ChainError):
    """The test app refused or failed on purpose (``reason`` says which)."""

    fields = ("reason",)
    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)


class _Behaviour(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    orderings: tuple[IbcOrder, ...] = (IbcOrder.UNORDERED, IbcOrder.ORDERED)
    min_version: int = 1
    max_version: int = 1
    refuse_close: bool = False
    fail_receive: bool = False
    error_ack: bool = False
    abort_receive: bool = False
    fail_emitted: bool = False
    echo: bool = False
    fail_ack: bool = False
    fail_timeout: bool = False
    refill: int = 0
    refill_timeout_seconds: int = 3600


class IbcAppInit(Message):
    """Instantiate with a ``balance`` to send from and the behaviour (see the module)."""

    type_name = "test.ibc_app.init"
    balance: int = Field(default=10**12, ge=0)
    orderings: tuple[IbcOrder, ...] = (IbcOrder.UNORDERED, IbcOrder.ORDERED)
    min_version: int = Field(default=1, ge=1)
    max_version: int = Field(default=1, ge=1)


class IbcAppConfigure(Message):
    """Change behaviour; ``None`` keeps a setting."""

    type_name = "test.ibc_app.configure"
    orderings: tuple[IbcOrder, ...] | None = None
    min_version: int | None = None
    max_version: int | None = None
    refuse_close: bool | None = None
    fail_receive: bool | None = None
    error_ack: bool | None = None
    abort_receive: bool | None = None
    fail_emitted: bool | None = None
    echo: bool | None = None
    fail_ack: bool | None = None
    fail_timeout: bool | None = None
    refill: int | None = None
    refill_timeout_seconds: int | None = None


class IbcAppSend(Message):
    """Send ``count`` packets of ``amount`` on ``channel_id``.

    Timeouts: ``timeout_height`` (absolute, counterparty height), ``timeout_timestamp_ns``
    (absolute) or ``timeout_seconds`` (relative to this block's time); zero means unused.
    ``data`` replaces the JSON payload (for malformed-input tests, I-27; no reservation).
    """

    type_name = "test.ibc_app.send"
    channel_id: str
    count: int = Field(default=1, ge=0)
    amount: int = Field(default=1, ge=0)
    timeout_height: int = 0
    timeout_timestamp_ns: int = 0
    timeout_seconds: int = 0
    data: bytes | None = None


class IbcAppClose(Message):
    """Close ``channel_id`` (``IbcCloseChannel``, I-20)."""

    type_name = "test.ibc_app.close"
    channel_id: str


class IbcAppQuery(Message):
    """Answered with `IbcAppState`."""

    type_name = "test.ibc_app.query"


class IbcAppState(BaseModel):
    """Everything the tests check about the app."""

    model_config = ConfigDict(frozen=True)

    balance: int
    pending: dict[int, int]  # nonce -> amount reserved
    outcomes: dict[int, str]  # nonce -> "ack" | "error" | "timeout"
    callbacks: dict[int, int]  # nonce -> ack/timeout callbacks run
    applied: dict[tuple[str, int], int]  # (channel, nonce) -> receive applications
    received_total: int
    receive_order: dict[str, tuple[int, ...]]  # channel -> sequences in arrival order
    channels: dict[str, IbcChannel]
    closed: dict[str, str]  # channel -> "init" | "confirm" (the close step seen)
    sent: int


class IbcTestApp(Contract):
    """The test application (see the module docstring)."""

    code: ClassVar[str] = TEST_APP_CODE
    ibc_order: ClassVar[IbcOrder | None] = IbcOrder.UNORDERED

    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        storage = deps.storage
        self._behaviour = storage.item("behaviour")
        self._balance = storage.item("balance")
        self._next_nonce = storage.item("next_nonce")
        self._received_total = storage.item("received_total")
        self._pending = storage.map("pending")
        self._outcomes = storage.map("outcomes")
        self._callbacks = storage.map("callbacks")
        self._applied = storage.map("applied")
        self._order = storage.map("order")
        self._order_count = storage.map("order_count")
        self._channels = storage.map("channels")
        self._closed = storage.map("closed")

    # -- helpers ----------------------------------------------------------------------------

    def behaviour(self) -> _Behaviour:
        value: _Behaviour = self._behaviour.load()
        return value

    def _send(self, env: Env, channel_id: str, amount: int, timeout: IbcTimeout) -> IbcSendPacket:
        balance: int = self._balance.load()
        if amount > balance:
            raise IbcTestAppError(f"balance {balance} < {amount}")
        self._balance.save(balance - amount)
        nonce: int = self._next_nonce.may_load() or 0
        self._next_nonce.save(nonce + 1)
        self._pending[nonce] = amount
        data = b'{"nonce":%d,"amount":%d}' % (nonce, amount)
        return IbcSendPacket(channel_id=channel_id, data=data, timeout=timeout)

    @staticmethod
    def _decode(packet: IbcPacket) -> tuple[int, int]:
        plain = _PLAIN_DATA.fullmatch(packet.data)
        if plain is not None:
            # exactly what `_send` writes: the values json.loads would give, without parsing
            return int(plain[1]), int(plain[2])
        try:
            body = json.loads(packet.data)
            nonce, amount = body["nonce"], body["amount"]
        except (ValueError, TypeError, KeyError) as exc:
            raise IbcTestAppError(f"malformed packet data: {type(exc).__name__}") from None
        if type(nonce) is not int or type(amount) is not int or amount < 0:
            raise IbcTestAppError("malformed packet data: bad fields")
        return nonce, amount

    def _settle(self, env: Env, packet: IbcPacket, outcome: str) -> IbcBasicResponse:
        """Ack/timeout bookkeeping; never fails unless told to (I-18)."""
        try:
            nonce, _ = self._decode(packet)
        except IbcTestAppError:
            return IbcBasicResponse()
        self._callbacks[nonce] = self._callbacks.get(nonce, 0) + 1
        self._outcomes[nonce] = outcome
        amount = self._pending.pop(nonce, None)
        if amount is not None and outcome != "ack":
            self._balance.save(self._balance.load() + amount)
        behaviour = self.behaviour()
        messages: tuple[SubMsg, ...] = ()
        if behaviour.refill > 0 and packet.src.channel_id not in self._closed:
            self._behaviour.save(behaviour.model_copy(update={"refill": behaviour.refill - 1}))
            timeout = IbcTimeout(
                timestamp_ns=(env.block.time_s + behaviour.refill_timeout_seconds) * 1_000_000_000
            )
            send = self._send(env, packet.src.channel_id, amount or 0, timeout)
            messages = (SubMsg(msg=send),)
        return IbcBasicResponse(messages=messages)

    # -- entry points -----------------------------------------------------------------------

    def instantiate(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        if not isinstance(msg, IbcAppInit):
            raise UnsupportedMessage("instantiate", type(msg).__name__)
        self._behaviour.save(
            _Behaviour(
                orderings=msg.orderings, min_version=msg.min_version, max_version=msg.max_version
            )
        )
        self._balance.save(msg.balance)
        self._received_total.save(0)
        return Response()

    def execute(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        if isinstance(msg, IbcAppSend):
            timeout = IbcTimeout(
                height=msg.timeout_height,
                timestamp_ns=msg.timeout_timestamp_ns
                or (
                    (env.block.time_s + msg.timeout_seconds) * 1_000_000_000
                    if msg.timeout_seconds
                    else 0
                ),
            )
            sends: list[CosmosMsg | SubMsg] = []
            for _ in range(msg.count):
                if msg.data is not None:
                    sends.append(
                        IbcSendPacket(channel_id=msg.channel_id, data=msg.data, timeout=timeout)
                    )
                else:
                    sends.append(self._send(env, msg.channel_id, msg.amount, timeout))
            return Response.of(*sends)
        if isinstance(msg, IbcAppConfigure):
            changes = {k: v for k, v in msg.model_dump().items() if v is not None}
            self._behaviour.save(self.behaviour().model_copy(update=changes))
            return Response()
        if isinstance(msg, IbcAppClose):
            return Response.of(IbcCloseChannel(channel_id=msg.channel_id))
        raise UnsupportedMessage("execute", type(msg).__name__)

    def query(self, env: Env, msg: Message) -> Any:
        if not isinstance(msg, IbcAppQuery):
            raise UnsupportedMessage("query", type(msg).__name__)
        order: dict[str, list[int]] = {}
        for (channel_id, index), seq in sorted(self._order.items()):
            order.setdefault(channel_id, []).append(seq)
            del index
        return IbcAppState(
            balance=self._balance.load(),
            pending=dict(self._pending.items()),
            outcomes=dict(self._outcomes.items()),
            callbacks=dict(self._callbacks.items()),
            applied=dict(self._applied.items()),
            received_total=self._received_total.load(),
            receive_order={k: tuple(v) for k, v in order.items()},
            channels=dict(self._channels.items()),
            closed=dict(self._closed.items()),
            sent=self._next_nonce.may_load() or 0,
        )

    def _check_order(self, channel: IbcChannel) -> _Behaviour:
        behaviour = self.behaviour()
        if channel.order not in behaviour.orderings:
            raise IbcTestAppError(f"ordering {channel.order.value} refused")
        return behaviour

    @staticmethod
    def _version(text: str) -> int:
        if not text.startswith(_VERSION_PREFIX) or not text[len(_VERSION_PREFIX) :].isdigit():
            raise IbcTestAppError(f"unknown version {text!r}")
        return int(text[len(_VERSION_PREFIX) :])

    def ibc_channel_open(self, env: Env, msg: ChannelOpen) -> str | None:
        """OpenInit proposes (or checks) a version; OpenTry answers ``min(proposed, max)``."""
        behaviour = self._check_order(msg.channel)
        if msg.counterparty_version is None:
            if not msg.channel.version:
                return app_version(behaviour.max_version)
            proposed = self._version(msg.channel.version)
            if not behaviour.min_version <= proposed <= behaviour.max_version:
                raise IbcTestAppError(f"version {msg.channel.version} refused")
            return msg.channel.version
        proposed = self._version(msg.counterparty_version)
        if proposed < behaviour.min_version:
            raise IbcTestAppError(f"version {msg.counterparty_version} too old")
        return app_version(min(proposed, behaviour.max_version))

    def ibc_channel_connect(self, env: Env, msg: ChannelConnect) -> IbcBasicResponse:
        """OpenAck checks the counterparty's answer is in range; both steps store the channel."""
        behaviour = self._check_order(msg.channel)
        if msg.counterparty_version is not None:
            answer = self._version(msg.counterparty_version)
            if not behaviour.min_version <= answer <= behaviour.max_version:
                raise IbcTestAppError(f"version {msg.counterparty_version} refused")
        self._channels[msg.channel.endpoint.channel_id] = msg.channel
        connected = Event(type="test_app_connected", attributes=(("version", msg.channel.version),))
        return IbcBasicResponse(events=(connected,))

    def ibc_channel_close(
        self, env: Env, channel: IbcChannel, *, confirm: bool = False
    ) -> IbcBasicResponse:
        if self.behaviour().refuse_close:
            raise IbcTestAppError("close refused")
        self._closed[channel.endpoint.channel_id] = "confirm" if confirm else "init"
        return IbcBasicResponse()

    def ibc_packet_receive(self, env: Env, packet: IbcPacket, relayer: str) -> IbcReceiveResponse:
        behaviour = self.behaviour()
        if behaviour.abort_receive:
            raise IbcExecutionAborted("out of gas")
        channel_id = packet.dest.channel_id
        # state changes first, so that a failure after them shows they are rolled back
        nonce, amount = self._decode(packet)
        key = (channel_id, nonce)
        self._applied[key] = self._applied.get(key, 0) + 1
        self._received_total.save(self._received_total.load() + amount)
        count: int = self._order_count.get(channel_id, 0)
        self._order[(channel_id, count)] = packet.sequence
        self._order_count[channel_id] = count + 1
        if behaviour.fail_receive:
            raise IbcTestAppError("receive failed")
        messages: list[CosmosMsg | SubMsg] = []
        if behaviour.fail_emitted:
            # more than the app holds: the bank refuses, and the whole receive is undone
            messages.append(
                BankSend(
                    to_address=env.contract_address,
                    amount=(Coin(denom="nonexistent", amount=1),),
                )
            )
        if behaviour.echo:
            timeout = IbcTimeout(timestamp_ns=(env.block.time_s + 3600) * 1_000_000_000)
            messages.append(self._send(env, channel_id, 0, timeout))
        ack = (
            IbcAcknowledgement.error("app says no")
            if behaviour.error_ack
            else IbcAcknowledgement.success(packet.data)
        )
        return IbcReceiveResponse(ack=ack, messages=Response.of(*messages).messages)

    def ibc_packet_ack(
        self, env: Env, ack: IbcAcknowledgement, packet: IbcPacket, relayer: str
    ) -> IbcBasicResponse:
        if self.behaviour().fail_ack:
            raise IbcTestAppError("ack callback failed")
        return self._settle(env, packet, "ack" if ack.error_text() is None else "error")

    def ibc_packet_timeout(self, env: Env, packet: IbcPacket, relayer: str) -> IbcBasicResponse:
        if self.behaviour().fail_timeout:
            raise IbcTestAppError("timeout callback failed")
        return self._settle(env, packet, "timeout")
