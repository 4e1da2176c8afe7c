"""A lean echo/counter contract with IBC entry points, for the IBC throughput benchmark.

`IbcBenchApp` (code ``"bench.ibc-echo"``) does the least an application can while still
going through every step of the IBC machinery: `BenchStart` sends a window of packets (all
carrying the same small payload) and arms a *refill* count; each acknowledgement or timeout
callback counts the outcome and, while the refill lasts, answers with one more send (a
sub-message, so the next packet's send runs in the ack's transaction, as an app's would).
Receiving counts the packet and answers a constant success acknowledgement (a relayer's
batch of receives in one call of the batch hook ``ibc_packet_receive_batch``, a batch of
acks in one call of ``ibc_packet_ack_batch``). Nothing is
decoded and nothing is built per packet: the receive response and the refill response are
built once (the refill one when the window starts, and kept in the contract's storage).

Its state is four counters (`BenchAppState`). The IBC module's work — commitments, receipts,
proof-height checks, ack commitments, events, savepoints, the app callbacks themselves — is
exactly what any application gets; only the application's own work is minimal. The richer
`IbcTestApp` (``_ibc_test_app``) is what the IBC tests use.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

from pydantic import BaseModel, ConfigDict, Field

from chains.contract._contract import (
    ChannelConnect,
    ChannelOpen,
    Contract,
    Deps,
    Env,
    IbcBasicResponse,
    IbcReceiveResponse,
    IbcSendPacket,
    MessageInfo,
    Response,
    SubMsg,
)
from chains.contract._errors import UnsupportedMessage
from chains.contract._ibc_types import IbcAcknowledgement, IbcOrder, IbcPacket, IbcTimeout
from mesh_actors import Message

__all__ = [
    "BENCH_APP_CODE",
    "BENCH_PAYLOAD",
    "BenchAppInit",
    "BenchAppQuery",
    "BenchAppState",
    "BenchStart",
    "IbcBenchApp",
]

BENCH_APP_CODE: Final = "bench.ibc-echo"
BENCH_PAYLOAD: Final = b'{"echo":1}'
_VERSION: Final = "bench-1"

# the one acknowledgement this app writes, and the response carrying it (immutable values)
_ACK: Final = IbcAcknowledgement.success(b"1")
_RECEIVED: Final = IbcReceiveResponse(ack=_ACK)
_NOTHING: Final = IbcBasicResponse()


class BenchAppInit(Message):
    """Instantiate the benchmark app (no settings)."""

    type_name = "bench.ibc_echo.init"


class BenchStart(Message):
    """Send ``window`` packets on ``channel_id``, then one more per ack/timeout until
    ``total`` have been sent. ``timeout_timestamp_ns`` is the absolute timeout of every
    packet (the same for all, so the refill message is built once)."""

    type_name = "bench.ibc_echo.start"
    channel_id: str
    window: int = Field(ge=0)
    total: int = Field(ge=0)
    timeout_timestamp_ns: int = Field(gt=0)


class BenchAppQuery(Message):
    """Answered with `BenchAppState`."""

    type_name = "bench.ibc_echo.query"


class BenchAppState(BaseModel):
    """The app's counters: packets sent, received, acknowledged (success or error) and
    timed out, and the refills still to send."""

    model_config = ConfigDict(frozen=True)

    sent: int
    received: int
    acked: int
    error_acks: int
    timed_out: int
    refill: int


class IbcBenchApp(Contract):
    """The benchmark application (see the module docstring)."""

    code: ClassVar[str] = BENCH_APP_CODE
    ibc_order: ClassVar[IbcOrder | None] = IbcOrder.UNORDERED

    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        # one map of counters: one journaled write per count, no per-item wrappers
        self._counts = deps.storage.map("counts")

    def _bump(self, name: str) -> None:
        counts = self._counts
        counts[name] = counts.get(name, 0) + 1

    def _refill(self) -> IbcBasicResponse:
        counts = self._counts
        left: int = counts.get("refill", 0)
        if left <= 0:
            return _NOTHING
        counts["refill"] = left - 1
        response: IbcBasicResponse = counts["refill_response"]
        return response

    # -- entry points -----------------------------------------------------------------------

    def instantiate(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        if not isinstance(msg, BenchAppInit):
            raise UnsupportedMessage("instantiate", type(msg).__name__)
        return Response()

    def execute(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        if not isinstance(msg, BenchStart):
            raise UnsupportedMessage("execute", type(msg).__name__)
        send = IbcSendPacket(
            channel_id=msg.channel_id,
            data=BENCH_PAYLOAD,
            timeout=IbcTimeout(timestamp_ns=msg.timeout_timestamp_ns),
        )
        window = min(msg.window, msg.total)
        counts = self._counts
        # sent = started - refill left, so a refill writes no count of its own; a new start
        # drops what is left of the previous one's refill
        left = counts.get("refill", 0)
        counts["started"] = counts.get("started", 0) - left + msg.total
        counts["refill"] = msg.total - window
        counts["refill_response"] = IbcBasicResponse(messages=(SubMsg(msg=send),))
        return Response.of(*([send] * window))

    def query(self, env: Env, msg: Message) -> Any:
        if not isinstance(msg, BenchAppQuery):
            raise UnsupportedMessage("query", type(msg).__name__)
        counts = self._counts
        return BenchAppState(
            sent=counts.get("started", 0) - counts.get("refill", 0),
            received=counts.get("received", 0),
            acked=counts.get("acked", 0),
            error_acks=counts.get("error_acks", 0),
            timed_out=counts.get("timed_out", 0),
            refill=counts.get("refill", 0),
        )

    def ibc_channel_open(self, env: Env, msg: ChannelOpen) -> str | None:
        """Accept any channel: OpenInit proposes ``bench-1`` unless a version was given,
        OpenTry takes the counterparty's."""
        if msg.counterparty_version is None:
            return msg.channel.version or _VERSION
        return msg.counterparty_version

    def ibc_channel_connect(self, env: Env, msg: ChannelConnect) -> IbcBasicResponse:
        return _NOTHING

    def ibc_packet_receive(self, env: Env, packet: IbcPacket, relayer: str) -> IbcReceiveResponse:
        self._bump("received")
        return _RECEIVED

    def ibc_packet_receive_batch(
        self, env: Env, packets: tuple[IbcPacket, ...], relayer: str
    ) -> tuple[IbcReceiveResponse, ...]:
        """The IBC module's optional batch hook (issue 16): what ``ibc_packet_receive`` of
        each packet in order answers, in one call (one count write for the batch)."""
        counts = self._counts
        counts["received"] = counts.get("received", 0) + len(packets)
        return (_RECEIVED,) * len(packets)

    def ibc_packet_ack(
        self, env: Env, ack: IbcAcknowledgement, packet: IbcPacket, relayer: str
    ) -> IbcBasicResponse:
        # the module hands back the bytes this app's counterpart wrote: equal to _ACK's
        # exactly when the packet succeeded
        self._bump("acked" if ack.data == _ACK.data else "error_acks")
        return self._refill()

    def ibc_packet_ack_batch(
        self,
        env: Env,
        acks: tuple[IbcAcknowledgement, ...],
        packets: tuple[IbcPacket, ...],
        relayer: str,
    ) -> tuple[IbcBasicResponse, ...]:
        """The IBC module's optional ack batch hook (issue 16): what ``ibc_packet_ack`` of
        each ``(ack, packet)`` in order answers, in one call (one write per count)."""
        counts = self._counts
        success = _ACK.data
        # by first occurrence: the counts a packet-by-packet run would create, in its order
        tally: dict[str, int] = {}
        for ack in acks:
            name = "acked" if ack.data == success else "error_acks"
            tally[name] = tally.get(name, 0) + 1
        for name, count in tally.items():
            counts[name] = counts.get(name, 0) + count
        total = len(acks)
        left: int = counts.get("refill", 0)
        if left <= 0:
            return (_NOTHING,) * total
        taken = min(left, total)
        counts["refill"] = left - taken
        response: IbcBasicResponse = counts["refill_response"]
        return (response,) * taken + (_NOTHING,) * (total - taken)

    def ibc_packet_timeout(self, env: Env, packet: IbcPacket, relayer: str) -> IbcBasicResponse:
        self._bump("timed_out")
        return self._refill()
