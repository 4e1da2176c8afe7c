"""The IBC wire vocabulary: what relayers send to a chain's IBC actors and what they answer.

Everything here is plain, serializable data (frozen pydantic), so the same relayer code works
in memory and across processes (`transport.JsonCodec` round-trips every message; byte fields
travel as base64, Merkle proof paths packed, see ``_merkle.py``). Packets and written acks of
exactly the JSON shape this module writes are rebuilt directly when read (the codec's path
of every relayed packet); anything else goes through pydantic's validation.

- **Operations** (`IbcOp`): the relayer-submitted steps of I-2, I-6, I-10, I-13..I-15, I-20 and
  ICS-03 connections. Proof-dependent operations carry ``proof_height``: the counterparty
  height at which the relayer read the proven fact (a commitment, an acknowledgement, the
  absence of a receipt, a channel end's state), and, for handshake steps, the proven
  counterparty view itself. The destination accepts them only if its light client holds the
  counterparty header at that height (I-2).
- `IbcBatch`: operations for one IBC actor, run in order as one transaction of the
  destination chain, each operation atomic by itself; answered with `IbcBatchResult`.
- Queries of what is *provable*, i.e. committed in the chain's last ended block
  (`QueryHeader`, `QueryRelayState`, `QueryChannels`), and the push side of the gateway
  (`Subscribe`, `IbcBlockNotice`).
"""

from __future__ import annotations

import binascii
import enum
from functools import lru_cache
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_serializer,
    field_validator,
    model_validator,
)

from chains.contract._ibc_types import IbcEndpoint, IbcOrder, IbcPacket, IbcTimeout
from chains.ibc._light_client import Commit, ConsensusValidatorSet, Header
from chains.ibc._merkle import MembershipProof, NonMembershipProof
from mesh_actors import Message, construct_trusted

__all__ = [
    "AcknowledgePackets",
    "ChanCloseConfirm",
    "ChanCloseInit",
    "ChanOpenAck",
    "ChanOpenConfirm",
    "ChanOpenInit",
    "ChanOpenTry",
    "ChannelActivity",
    "ChannelState",
    "ChannelView",
    "ChannelsReply",
    "ConnOpenAck",
    "ConnOpenConfirm",
    "ConnOpenInit",
    "ConnOpenTry",
    "ConnectionState",
    "ConnectionView",
    "CreateClient",
    "HeaderReply",
    "IbcBatch",
    "IbcBatchResult",
    "IbcBlockNotice",
    "IbcHeader",
    "IbcOp",
    "OpResult",
    "PacketKey",
    "PacketStatus",
    "QueryChannels",
    "QueryHeader",
    "QueryRelayState",
    "RecvPackets",
    "SignedHeader",
    "RelayState",
    "Subscribe",
    "TimeoutPackets",
    "Unsubscribe",
    "UpdateClient",
    "WrittenAck",
    "packet_key",
    "written_ack",
]


# -- bytes on the wire ----------------------------------------------------------------------
# The codec writes pydantic's JSON form, where bytes must be UTF-8; packet data and acks may
# be any bytes, so models holding them write base64 in JSON and accept it back. Python-mode
# construction (in-process, no codec) passes the values through untouched.


# binascii straight (what base64.b64encode / b64decode(validate=True) do, without their
# Python-level wrappers): these run once per packet and ack when the codec is on


def _b64(value: bytes) -> str:
    return binascii.b2a_base64(value, newline=False).decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        # base64.b64decode's own message for this case
        raise ValueError("string argument should contain only ASCII characters") from None
    return binascii.a2b_base64(raw, strict_mode=True)


def _unb64(value: Any) -> Any:
    if isinstance(value, str):
        return _b64decode(value)
    return value


def _packet_json(packet: IbcPacket) -> dict[str, Any]:
    # packet.model_dump(mode="json") with the data in base64, built directly (same keys,
    # same order: the data last)
    src = packet.src
    dest = packet.dest
    timeout = packet.timeout
    return {
        "sequence": packet.sequence,
        "src": {"port_id": src.port_id, "channel_id": src.channel_id},
        "dest": {"port_id": dest.port_id, "channel_id": dest.channel_id},
        "timeout": {
            "revision": timeout.revision,
            "height": timeout.height,
            "timestamp_ns": timeout.timestamp_ns,
        },
        "data": _b64(packet.data),
    }


# Decoding packets (the codec on): pydantic validating a packet as a dict of dicts costs
# about 12 us (four models, the data's base64 in a Python validator), and every packet is
# decoded four times on its way (in the notice of its send, in the receive batch, in the
# notice of its ack, in the ack batch). A dict of exactly the shape `_packet_json` writes,
# with values of exactly their fields' types, is built directly instead: its endpoints and
# timeout are the validated models of their values, memoised (a channel's packets share
# them, as in memory), the packet `trusted_packet` of those. Anything else takes pydantic's
# validation as before, so the result is always what that gives. The memos are of pure
# functions of immutable values: nothing in them can leak between users but identity.


@lru_cache(maxsize=256)
def _endpoint(port_id: str, channel_id: str) -> IbcEndpoint:
    return IbcEndpoint(port_id=port_id, channel_id=channel_id)


@lru_cache(maxsize=256)
def _timeout(revision: int, height: int, timestamp_ns: int) -> IbcTimeout:
    return IbcTimeout(revision=revision, height=height, timestamp_ns=timestamp_ns)


_PACKET_FIELDS: Final = frozenset(IbcPacket.model_fields)


def _packet_in(value: Any) -> Any:
    """A packet's JSON form (data in base64) as what its validation takes: the packet
    itself when the form is exactly `_packet_json`'s (see above), else the dict with the
    data decoded; anything else unchanged. Raises ``ValueError`` for bad base64.

    One function, its checks inline: it runs four times per packet relayed."""
    if not isinstance(value, dict):
        return value
    text = value.get("data")
    if not isinstance(text, str):
        return value
    data = _b64decode(text)
    if len(value) == 5 and type(value) is dict:
        sequence = value.get("sequence")
        src = value.get("src")
        dest = value.get("dest")
        timeout = value.get("timeout")
        # {"port_id": str, "channel_id": str} twice, {"revision", "height", "timestamp_ns"}
        # all ints: nothing else (a len and a type per value make the shape exact)
        if (
            type(sequence) is int
            and type(src) is dict
            and type(dest) is dict
            and type(timeout) is dict
            and len(src) == 2
            and len(dest) == 2
            and len(timeout) == 3
        ):
            src_port = src.get("port_id")
            src_channel = src.get("channel_id")
            dest_port = dest.get("port_id")
            dest_channel = dest.get("channel_id")
            revision = timeout.get("revision")
            height = timeout.get("height")
            timestamp_ns = timeout.get("timestamp_ns")
            if (
                type(src_port) is str
                and type(src_channel) is str
                and type(dest_port) is str
                and type(dest_channel) is str
                and type(revision) is int
                and type(height) is int
                and type(timestamp_ns) is int
            ):
                # what `trusted_packet` builds, its type checks done above
                return construct_trusted(
                    IbcPacket,
                    {
                        "sequence": sequence,
                        "src": _endpoint(src_port, src_channel),
                        "dest": _endpoint(dest_port, dest_channel),
                        "data": data,
                        "timeout": _timeout(revision, height, timestamp_ns),
                    },
                    set(_PACKET_FIELDS),
                )
    return {**value, "data": data}


def _packets_in(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_packet_in(item) for item in value]
    return value


def _written_acks_in(value: Any) -> Any:
    """`WrittenAck`\\ s in JSON form (``{"packet": ..., "ack": base64}``): those of exactly
    that shape built directly (their packet as `_packet_in` builds it), the others left to
    their own validation (which reports their errors where they are)."""
    if not isinstance(value, list | tuple):
        return value
    out: list[Any] = []
    for item in value:
        if type(item) is dict and len(item) == 2:
            ack = item.get("ack")
            raw = item.get("packet")
            if type(ack) is str and raw is not None:
                try:
                    packet = _packet_in(raw)
                    data = _b64decode(ack)
                except ValueError:
                    packet = None
                if type(packet) is IbcPacket:
                    # `written_ack`, its type checks done
                    fields = {"packet": packet, "ack": data}
                    out.append(construct_trusted(WrittenAck, fields, {"packet", "ack"}))
                    continue
        out.append(item)
    return out


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- views ----------------------------------------------------------------------------------


class ChannelState(enum.StrEnum):
    """I-5: ``INIT → OPEN`` (initiator), ``TRYOPEN → OPEN`` (other end), ``CLOSED`` (terminal)."""

    INIT = "INIT"
    TRYOPEN = "TRYOPEN"
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class ConnectionState(enum.StrEnum):
    """ICS-03 connection states."""

    INIT = "INIT"
    TRYOPEN = "TRYOPEN"
    OPEN = "OPEN"


class SignedHeader(_Wire):
    """A block header signed by its chain's validators: what a verifying light client
    checks (issue 13): the `Header` (with the IBC store's Merkle root as app hash), the
    commit of the validators' signatures, the set that signed it and the set announced
    for the next header."""

    header: Header
    commit: Commit
    validators: ConsensusValidatorSet
    next_validators: ConsensusValidatorSet | None = None
    """The set that signs the next header (the header's ``next_validators_hash``);
    ``None``: the same as ``validators``. A client that accepts the header trusts it next
    (ICS-07: the trusted set follows the chain's validator set changes)."""
    bridge: tuple[SignedHeader, ...] = ()
    """The chain's latest headers below this one where its validator set changed (each
    announcing a new set), oldest first: a client whose trusted set is older verifies and
    stores those above its trusted height first, so its trust follows every change, as a
    relayer submitting the intermediate headers does (ICS-07 sequential verification)."""


class IbcHeader(_Wire):
    """A committed block of a chain as a light client sees it: ``(height, time)`` (I-2),
    with ``signed`` the validators' signed header when the chain signs its headers (a
    verifying client refuses a header without it)."""

    chain_id: str
    height: int = Field(ge=1)
    time_ns: int = Field(ge=0)
    signed: SignedHeader | None = None


class ChannelView(_Wire):
    """A channel end (I-4) as provable at some height: what handshake proofs carry."""

    port_id: str
    channel_id: str
    state: ChannelState
    ordering: IbcOrder
    counterparty_port_id: str
    counterparty_channel_id: str  # "" while unknown (INIT)
    connection_id: str
    version: str


class ConnectionView(_Wire):
    """A connection end as provable at some height."""

    connection_id: str
    state: ConnectionState
    client_id: str
    counterparty_chain_id: str
    counterparty_client_id: str
    counterparty_connection_id: str  # "" while unknown (INIT)


class PacketKey(_Wire):
    """``(port, channel, sequence)`` of a packet on the chain being asked."""

    port_id: str
    channel_id: str
    sequence: int


def packet_key(port_id: str, channel_id: str, sequence: int) -> PacketKey:
    """A `PacketKey` (validated)."""
    return PacketKey(port_id=port_id, channel_id=channel_id, sequence=sequence)


class WrittenAck(_Wire):
    """An acknowledgement the receiving chain wrote for ``packet`` (I-10.6): the bytes a
    relayer proves to the packet's source."""

    packet: IbcPacket
    ack: bytes

    @field_serializer("packet", when_used="json")
    def _packet_out(self, value: IbcPacket) -> dict[str, Any]:
        return _packet_json(value)

    @field_validator("packet", mode="before")
    @classmethod
    def _packet_back(cls, value: Any) -> Any:
        return _packet_in(value)

    @field_serializer("ack", when_used="json")
    def _ack_out(self, value: bytes) -> str:
        return _b64(value)

    @field_validator("ack", mode="before")
    @classmethod
    def _ack_back(cls, value: Any) -> Any:
        return _unb64(value)


_WRITTEN_ACK_FIELDS: Final = frozenset(WrittenAck.model_fields)


def written_ack(packet: IbcPacket, ack: bytes) -> WrittenAck:
    """``WrittenAck(packet=packet, ack=ack)`` without running validation when the values are
    of their fields' exact types (the receiving chain builds one per packet it acks; see
    `trusted_packet` for how); otherwise the validating constructor, so the result is
    always what that gives. Raises only what that raises."""
    if type(packet) is not IbcPacket or type(ack) is not bytes:
        return WrittenAck(packet=packet, ack=ack)
    return construct_trusted(WrittenAck, {"packet": packet, "ack": ack}, set(_WRITTEN_ACK_FIELDS))


# -- operations -----------------------------------------------------------------------------


class CreateClient(_Wire):
    """Create a light client of the chain ``header`` belongs to, trusting ``header``."""

    kind: Literal["create_client"] = "create_client"
    header: IbcHeader


class UpdateClient(_Wire):
    """Prove a newer (or missing older) counterparty header to ``client_id`` (I-2)."""

    kind: Literal["update_client"] = "update_client"
    client_id: str
    header: IbcHeader


class ConnOpenInit(_Wire):
    """ICS-03 step 1 on chain A: a connection over ``client_id`` in ``INIT``."""

    kind: Literal["conn_open_init"] = "conn_open_init"
    client_id: str
    counterparty_client_id: str


class ConnOpenTry(_Wire):
    """ICS-03 step 2 on chain B, proving A's connection ``counterparty`` is ``INIT``."""

    kind: Literal["conn_open_try"] = "conn_open_try"
    client_id: str
    proof_height: int
    counterparty: ConnectionView
    proof: MembershipProof | None = None  # of ``counterparty`` (verified chains)


class ConnOpenAck(_Wire):
    """ICS-03 step 3 on chain A, proving B's connection ``counterparty`` is ``TRYOPEN``."""

    kind: Literal["conn_open_ack"] = "conn_open_ack"
    connection_id: str
    proof_height: int
    counterparty: ConnectionView
    proof: MembershipProof | None = None  # of ``counterparty`` (verified chains)


class ConnOpenConfirm(_Wire):
    """ICS-03 step 4 on chain B, proving A's connection ``counterparty`` is ``OPEN``."""

    kind: Literal["conn_open_confirm"] = "conn_open_confirm"
    connection_id: str
    proof_height: int
    counterparty: ConnectionView
    proof: MembershipProof | None = None  # of ``counterparty`` (verified chains)


class ChanOpenInit(_Wire):
    """I-6 step 1: create a channel end of ``port_id`` in ``INIT`` (the app may refuse or
    choose the version; an empty ``version`` lets it propose its own)."""

    kind: Literal["chan_open_init"] = "chan_open_init"
    port_id: str
    connection_id: str
    counterparty_port_id: str
    ordering: IbcOrder
    version: str = ""


class ChanOpenTry(_Wire):
    """I-6 step 2: create the end of ``port_id`` in ``TRYOPEN``, proving ``counterparty``
    (A's end) is ``INIT`` at ``proof_height``. Idempotent: a second try for the same
    counterparty end is a no-op answering the existing channel id."""

    kind: Literal["chan_open_try"] = "chan_open_try"
    port_id: str
    connection_id: str
    proof_height: int
    counterparty: ChannelView
    proof: MembershipProof | None = None  # of ``counterparty`` (verified chains)


class ChanOpenAck(_Wire):
    """I-6 step 3 on A, proving B's end ``counterparty`` is ``TRYOPEN``."""

    kind: Literal["chan_open_ack"] = "chan_open_ack"
    port_id: str
    channel_id: str
    proof_height: int
    counterparty: ChannelView
    proof: MembershipProof | None = None  # of ``counterparty`` (verified chains)


class ChanOpenConfirm(_Wire):
    """I-6 step 4 on B, proving A's end ``counterparty`` is ``OPEN``."""

    kind: Literal["chan_open_confirm"] = "chan_open_confirm"
    port_id: str
    channel_id: str
    proof_height: int
    counterparty: ChannelView
    proof: MembershipProof | None = None  # of ``counterparty`` (verified chains)


class ChanCloseInit(_Wire):
    """I-20: close this end (the application may refuse)."""

    kind: Literal["chan_close_init"] = "chan_close_init"
    port_id: str
    channel_id: str


class ChanCloseConfirm(_Wire):
    """I-20: close this end, proving the counterparty end is ``CLOSED``."""

    kind: Literal["chan_close_confirm"] = "chan_close_confirm"
    port_id: str
    channel_id: str
    proof_height: int
    counterparty: ChannelView
    proof: MembershipProof | None = None  # of ``counterparty`` (verified chains)


class RecvPackets(_Wire):
    """I-10: receive ``packets`` (each its own atomic step), their commitments proven on the
    source at ``proof_height``."""

    kind: Literal["recv_packets"] = "recv_packets"
    packets: tuple[IbcPacket, ...]
    proof_height: int
    # one per packet: its commitment on the source at ``proof_height`` (verified chains)
    proofs: tuple[MembershipProof, ...] = ()

    @field_serializer("packets", when_used="json")
    def _packets_out(self, value: tuple[IbcPacket, ...]) -> list[dict[str, Any]]:
        return [_packet_json(p) for p in value]

    @field_validator("packets", mode="before")
    @classmethod
    def _packets_back(cls, value: Any) -> Any:
        return _packets_in(value)


class AcknowledgePackets(_Wire):
    """I-13: process ``acks`` on the packets' source, the ack commitments proven on the
    destination at ``proof_height``."""

    kind: Literal["acknowledge_packets"] = "acknowledge_packets"
    acks: tuple[WrittenAck, ...]
    proof_height: int
    # one per ack: its ack commitment on the destination at ``proof_height``
    proofs: tuple[MembershipProof, ...] = ()

    @field_serializer("acks", when_used="json")
    def _acks_out(self, value: tuple[WrittenAck, ...]) -> list[dict[str, Any]]:
        # what each `WrittenAck`'s own serializers write (same keys, same order), in one
        # call for the operation rather than two per ack (issue 16: the codec's cost)
        return [{"packet": _packet_json(w.packet), "ack": _b64(w.ack)} for w in value]

    @field_validator("acks", mode="before")
    @classmethod
    def _acks_back(cls, value: Any) -> Any:
        return _written_acks_in(value)


class TimeoutPackets(_Wire):
    """I-14 (``on_close`` false) or I-15 (``on_close`` true): time ``packets`` out on their
    source, proving at ``proof_height`` that the destination has no receipt (and, on close,
    that the destination end is ``CLOSED``)."""

    kind: Literal["timeout_packets"] = "timeout_packets"
    packets: tuple[IbcPacket, ...]
    proof_height: int
    on_close: bool = False
    # with ``on_close``: the destination end's CLOSED state (verified chains)
    close_proof: MembershipProof | None = None
    close_view: ChannelView | None = None
    # one per packet: the absence of its receipt on the destination at ``proof_height``
    proofs: tuple[NonMembershipProof, ...] = ()

    @field_serializer("packets", when_used="json")
    def _packets_out(self, value: tuple[IbcPacket, ...]) -> list[dict[str, Any]]:
        return [_packet_json(p) for p in value]

    @field_validator("packets", mode="before")
    @classmethod
    def _packets_back(cls, value: Any) -> Any:
        return _packets_in(value)


IbcOp = Annotated[
    CreateClient
    | UpdateClient
    | ConnOpenInit
    | ConnOpenTry
    | ConnOpenAck
    | ConnOpenConfirm
    | ChanOpenInit
    | ChanOpenTry
    | ChanOpenAck
    | ChanOpenConfirm
    | ChanCloseInit
    | ChanCloseConfirm
    | RecvPackets
    | AcknowledgePackets
    | TimeoutPackets,
    Field(discriminator="kind"),
]


class OpResult(_Wire):
    """The outcome of one operation.

    ``status``: ``"ok"`` (applied), ``"noop"`` (redundant: already done, I-10.3, I-13) or
    ``"error"`` (rolled back; ``error`` is the `ChainError` name, ``detail`` its text).
    ``value`` is what the step produced (a client, connection or channel id). Packet
    operations report per packet in ``items`` (``"ok"``, ``"noop"`` or the error name, in
    packet order) with ``item_details`` giving the error texts (``""`` for the others).
    """

    status: Literal["ok", "noop", "error"]
    value: str = ""
    error: str = ""
    detail: str = ""
    items: tuple[str, ...] = ()
    item_details: tuple[str, ...] = ()


class IbcBatch(Message):
    """Operations for one IBC actor (the gateway, or one channel end's actor), run in order
    as one transaction of the chain, each operation atomic by itself (a failing one is rolled
    back alone). Answered with `IbcBatchResult`; also told to ``reply_to`` (an actor address)
    when set, so a relayer need not wait. ``signer`` is the relayer's name on this chain."""

    type_name = "ibc.batch"
    ops: tuple[IbcOp, ...]
    reply_to: str | None = None
    signer: str = "relayer"


class IbcBatchResult(Message):
    """One `OpResult` per operation of an `IbcBatch`; ``height`` is the block it ran in.
    If the batch could not run at all, ``results`` is empty and ``error`` says why."""

    type_name = "ibc.batch_result"
    chain_id: str
    height: int
    results: tuple[OpResult, ...]
    error: str = ""


# -- queries --------------------------------------------------------------------------------


class QueryHeader(Message):
    """The chain's latest committed header (answered with `HeaderReply`)."""

    type_name = "ibc.query_header"


class HeaderReply(Message):
    """``header`` is ``None`` until the chain has ended a block the IBC module saw."""

    type_name = "ibc.header"
    header: IbcHeader | None


class QueryChannels(Message):
    """Every channel end and connection, as provable at the latest committed height."""

    type_name = "ibc.query_channels"


class ChannelsReply(Message):
    """Answer to `QueryChannels`; empty lists (and no header) before any committed block."""

    type_name = "ibc.channels"
    header: IbcHeader | None
    connections: tuple[ConnectionView, ...]
    channels: tuple[ChannelView, ...]


class QueryRelayState(Message):
    """What a relayer needs about one connection, all as provable at one height.

    Answered with `RelayState`: the connection and its channel ends, up to ``limit`` pending
    packets per channel (commitments, lowest sequences first), and the receipt/ack status of
    the given ``keys`` (packets the counterparty sent to this chain); with ``proofs`` false,
    without any proof and with the header unsigned (nothing in it can be submitted).
    """

    type_name = "ibc.query_relay_state"
    connection_id: str
    limit: int = Field(default=1000, ge=0)
    keys: tuple[PacketKey, ...] = ()
    # ``False``: the same facts without proofs and with an unsigned header, for a look that
    # is only acted on if it finds work (a relayer's periodic clearing, which usually finds
    # none: proving the connection and channels and signing the header are most of its cost)
    proofs: bool = True


class PacketStatus(_Wire):
    """Whether the packet ``key`` was received at the proof height, and its ack if so."""

    key: PacketKey
    received: bool
    ack: bytes | None = None
    # the ack commitment's membership if acked, the receipt's absence if not received
    # (verified chains only)
    proof: MembershipProof | NonMembershipProof | None = None

    @field_serializer("ack", when_used="json")
    def _ack_out(self, value: bytes | None) -> str | None:
        return None if value is None else _b64(value)

    @field_validator("ack", mode="before")
    @classmethod
    def _ack_back(cls, value: Any) -> Any:
        return _unb64(value)


class RelayState(Message):
    """Answer to `QueryRelayState`, every fact provable at ``header.height``.

    ``header`` is ``None`` (and everything empty) before the chain's first committed block.
    """

    type_name = "ibc.relay_state"
    header: IbcHeader | None
    connection: ConnectionView | None
    channels: tuple[ChannelView, ...]
    pending: tuple[IbcPacket, ...]
    statuses: tuple[PacketStatus, ...]
    # the connection's and each channel's (in step with ``channels``) proof (verified
    # chains only)
    connection_proof: MembershipProof | None = None
    channel_proofs: tuple[MembershipProof, ...] = ()
    # one per pending packet: its commitment's membership (verified chains only)
    pending_proofs: tuple[MembershipProof, ...] = ()
    # the number of the chain's last block notice when it answered
    # (`IbcBlockNotice.number`): the notices up to it told of blocks this answer covers,
    # so a relayer judges gaps in later notices from there
    notice_number: int = Field(default=0, ge=0)

    @field_serializer("pending", when_used="json")
    def _pending_out(self, value: tuple[IbcPacket, ...]) -> list[dict[str, Any]]:
        return [_packet_json(p) for p in value]

    @field_validator("pending", mode="before")
    @classmethod
    def _pending_back(cls, value: Any) -> Any:
        return _packets_in(value)


# -- push -----------------------------------------------------------------------------------


class Subscribe(Message):
    """Send `IbcBlockNotice`\\ s to the actor at ``subscriber`` for ``lease`` clock seconds
    (renew before it ends; a relayer that goes silent simply stops being told)."""

    type_name = "ibc.subscribe"
    subscriber: str
    lease: float = Field(gt=0)


class Unsubscribe(Message):
    """Stop notices to ``subscriber``."""

    type_name = "ibc.unsubscribe"
    subscriber: str


class ChannelActivity(_Wire):
    """What one channel end did in a block: packets sent, acks written (for packets the
    counterparty sent), and whether its state changed (a handshake or close step).

    Written acks come in one of two forms. ``acks``: each with its packet (what notices
    carried before issue 16; still understood). ``ack_sequences`` and ``ack_data`` (in
    step): each ack by the sequence of the packet it acknowledges on this end (port,
    channel) and its bytes, without the packet, which the relayer that delivered it already
    has (`chains.ibc.Relayer` keeps a record of what it delivered; without one it clears,
    and reads the packet from the source). A notice uses one form per activity: the
    compact one when ``ack_sequences`` is set. An old peer (whose `ChannelActivity`
    forbids fields it does not know) refuses a notice with the compact fields with a
    validation error; never misreads it.
    """

    port_id: str
    channel_id: str
    connection_id: str
    sent: tuple[IbcPacket, ...] = ()
    acks: tuple[WrittenAck, ...] = ()
    changed: bool = False
    # proofs in step with ``sent`` (commitments) and ``acks`` / ``ack_sequences`` (ack
    # commitments) at the notice's header, when the chain proves (issue 13)
    sent_proofs: tuple[MembershipProof, ...] = ()
    ack_proofs: tuple[MembershipProof, ...] = ()
    ack_sequences: tuple[int, ...] = ()
    ack_data: tuple[bytes, ...] = ()

    @model_validator(mode="after")
    def _ack_forms_in_step(self) -> ChannelActivity:
        if len(self.ack_sequences) != len(self.ack_data):
            raise ValueError("ack_sequences and ack_data are not in step")
        if self.ack_sequences and self.acks:
            raise ValueError("acks in both forms")
        return self

    @field_serializer("ack_data", when_used="json")
    def _ack_data_out(self, value: tuple[bytes, ...]) -> list[str]:
        return [_b64(a) for a in value]

    @field_validator("ack_data", mode="before")
    @classmethod
    def _ack_data_back(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [_unb64(a) for a in value]
        return value

    @field_serializer("sent", when_used="json")
    def _sent_out(self, value: tuple[IbcPacket, ...]) -> list[dict[str, Any]]:
        return [_packet_json(p) for p in value]

    @field_validator("sent", mode="before")
    @classmethod
    def _sent_back(cls, value: Any) -> Any:
        return _packets_in(value)

    @field_validator("acks", mode="before")
    @classmethod
    def _acks_back(cls, value: Any) -> Any:
        return _written_acks_in(value)


class IbcBlockNotice(Message):
    """A block of ``chain_id`` ended with IBC activity: everything in it is provable at
    ``header`` (a relayer's fast path; periodic clearing catches whatever a lost notice
    carried).

    ``number`` counts the notices of the chain's IBC module, from 1 (0: not numbered): a
    subscriber that sees a number other than the last one's successor missed a notice (or
    the chain restarted) and clears at once."""

    type_name = "ibc.block_notice"
    chain_id: str
    header: IbcHeader
    activity: tuple[ChannelActivity, ...]
    connections_changed: bool = False
    number: int = Field(default=0, ge=0)
