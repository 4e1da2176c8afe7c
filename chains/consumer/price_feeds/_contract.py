"""Price-feed contracts of the consumer chain (consumer.md C-59..C-63, ibc.md I-96, I-98, I-99).

Every feed answers ``price{}`` with ``native_per_foreign`` (how many consumer tokens buy one
provider token) or fails, which fails every converter operation that needs the price (C-59).

- `SimplePriceFeed` (C-60): the owner sets the price. The spec's feed never expires; as an
  extension, an optional ``price_info_ttl_in_secs`` makes the owner's price expire like a
  remote one (C-61), for tests and demos of stale prices.
- `RemoteTwapPriceFeed` (C-61..C-63): asks a price host for an arithmetic TWAP over its own
  IBC channel (version ``icq-1``, UNORDERED, I-96) whenever the epoch gate opens (C-62) or
  anyone calls ``request{}``; the answer arrives in the acknowledgement and is stamped with the
  block time at which the ack is processed (I-98). Acks that fail the checks, error acks and
  timeouts are consumed without failing: the price is unchanged and an event names the
  error (I-18, I-99). (Reference: they make the callback fail, so a relayer can never clear
  them.)
- `PriceKeeper` (C-61) and `EpochGate` (C-62): the shared components of remote feeds.
- The ICQ wire format (I-96): `encode_twap_request_packet` / `decode_twap_request_packet`
  and `encode_twap_ack` / `decode_twap_ack`, with the few protobuf messages they need
  written out by hand (no protobuf dependency).

Decision: the TWAP payload is read from the response's ``value`` (where an ICQ host puts the
answer) and, when that is empty, from ``key`` (where the reference reads it), so both kinds
of host work. Not built: the Band oracle feed (C-64).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from pydantic import BaseModel, ConfigDict

from chains.consumer.mesh_security._msgs import HandleEpoch
from chains.consumer.price_feeds._errors import (
    EmptyTwap,
    IbcChannelNotOpen,
    IbcReceiveNotAccepted,
    InvalidIbcVersion,
    InvalidResponseQuery,
    InvalidResponseQueryCode,
    NoPriceData,
    OnlyUnorderedChannel,
    OutdatedPriceData,
)
from chains.consumer.price_feeds._msgs import (
    PriceFeedConfig,
    PriceFeedConfigQuery,
    PriceQuery,
    PriceResponse,
    RemotePriceFeedInstantiate,
    RequestPrice,
    SimplePriceFeedInstantiate,
    TradingPair,
    UpdatePrice,
)
from chains.contract._coin import nonpayable
from chains.contract._contract import (
    ChannelConnect,
    ChannelOpen,
    Contract,
    Deps,
    Env,
    Event,
    IbcBasicResponse,
    IbcReceiveResponse,
    IbcSendPacket,
    MessageInfo,
    Response,
)
from chains.contract._decimal import Decimal18
from chains.contract._errors import (
    ChainError,
    IbcChannelAlreadyOpen,
    Unauthorized,
    UnsupportedMessage,
)
from chains.contract._ibc_types import (
    IbcAcknowledgement,
    IbcChannel,
    IbcOrder,
    IbcPacket,
    IbcTimeout,
)
from mesh_actors import Message

__all__ = [
    "ICQ_VERSION",
    "TWAP_QUERY_PATH",
    "EpochGate",
    "PriceKeeper",
    "RemoteTwapPriceFeed",
    "SimplePriceFeed",
    "TwapAnswer",
    "TwapRequest",
    "decode_twap_ack",
    "decode_twap_request_packet",
    "encode_twap_ack",
    "encode_twap_payload",
    "encode_twap_request_packet",
]

ICQ_VERSION = "icq-1"
TWAP_QUERY_PATH = "/osmosis.twap.v1beta1.Query/ArithmeticTwapToNow"
# I-61: remote TWAP query timeout
TWAP_TIMEOUT_S = 600

# -- protobuf, just enough for the ICQ messages of I-96 ----------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1  # negative int64 values are sent as their two's complement
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field_varint(number: int, value: int) -> bytes:
    # proto3 omits default values
    return _varint(number << 3) + _varint(value) if value else b""


def _field_bytes(number: int, value: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(value)) + value if value else b""


def _field_message(number: int, body: bytes) -> bytes:
    # an embedded (or repeated) message is written even when empty
    return _varint(number << 3 | 2) + _varint(len(body)) + body


def _parse(data: bytes) -> dict[int, list[int | bytes]]:
    """The fields of a protobuf message: field number → values. Raises ``ValueError``."""
    fields: dict[int, list[int | bytes]] = {}
    pos = 0

    def read_varint() -> int:
        nonlocal pos
        shift = result = 0
        while True:
            if pos >= len(data) or shift > 63:
                raise ValueError("truncated varint")
            byte = data[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7

    while pos < len(data):
        key = read_varint()
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value = read_varint()
        elif wire == 2:
            length = read_varint()
            if pos + length > len(data):
                raise ValueError("truncated field")
            value = data[pos : pos + length]
            pos += length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value = int.from_bytes(data[pos : pos + size], "little")
            pos += size
        else:
            raise ValueError(f"unsupported wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def _one_int(fields: dict[int, list[int | bytes]], number: int) -> int:
    value = fields.get(number, [0])[-1]
    if not isinstance(value, int):
        raise ValueError(f"field {number} is not a varint")
    return value


def _one_bytes(fields: dict[int, list[int | bytes]], number: int) -> bytes:
    value = fields.get(number, [b""])[-1]
    if not isinstance(value, bytes):
        raise ValueError(f"field {number} is not length-delimited")
    return value


class TwapRequest(BaseModel):
    """``ArithmeticTwapToNowRequest`` (I-96)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pool_id: int
    base_asset: str
    quote_asset: str
    start_time: int


class TwapAnswer(BaseModel):
    """One ``ResponseQuery`` of a ``CosmosResponse``: the code and the payload bytes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: int = 0
    key: bytes = b""
    value: bytes = b""


def encode_twap_request_packet(request: TwapRequest) -> bytes:
    """The packet data of I-96: ``{"data": base64(CosmosQuery{requests: [RequestQuery{data:
    ArithmeticTwapToNowRequest, path}]}), "memo": ""}``."""
    inner = (
        _field_varint(1, request.pool_id)
        + _field_bytes(2, request.base_asset.encode())
        + _field_bytes(3, request.quote_asset.encode())
        + _field_message(4, _field_varint(1, request.start_time))
    )
    query = _field_bytes(1, inner) + _field_bytes(2, TWAP_QUERY_PATH.encode())
    cosmos_query = _field_message(1, query)
    body = {"data": base64.b64encode(cosmos_query).decode("ascii"), "memo": ""}
    return json.dumps(body, separators=(",", ":")).encode()


def decode_twap_request_packet(data: bytes) -> list[tuple[str, TwapRequest | None]]:
    """``(path, request)`` for every query in the packet (``request`` is ``None`` for a path
    other than the TWAP one). Raises ``ValueError`` for malformed data."""
    body = json.loads(data)
    if not isinstance(body, dict) or not isinstance(body.get("data"), str):
        raise ValueError("not an ICQ packet")
    cosmos_query = _parse(base64.b64decode(body["data"], validate=True))
    out: list[tuple[str, TwapRequest | None]] = []
    for raw in cosmos_query.get(1, []):
        if not isinstance(raw, bytes):
            raise ValueError("request is not a message")
        query = _parse(raw)
        path = _one_bytes(query, 2).decode()
        if path != TWAP_QUERY_PATH:
            out.append((path, None))
            continue
        inner = _parse(_one_bytes(query, 1))
        timestamp = _parse(_one_bytes(inner, 4))
        out.append(
            (
                path,
                TwapRequest(
                    pool_id=_one_int(inner, 1),
                    base_asset=_one_bytes(inner, 2).decode(),
                    quote_asset=_one_bytes(inner, 3).decode(),
                    start_time=_one_int(timestamp, 1),
                ),
            )
        )
    return out


def encode_twap_payload(twap: Decimal18) -> bytes:
    """``ArithmeticTwapToNowResponse{arithmetic_twap}`` with the TWAP as a decimal string."""
    return _field_bytes(1, str(twap).encode())


def encode_twap_ack(responses: list[TwapAnswer]) -> IbcAcknowledgement:
    """The success ack of I-96: ``{"result": base64(JSON {"data": base64(CosmosResponse)})}``."""
    cosmos_response = b"".join(
        _field_message(
            1,
            _field_varint(1, r.code) + _field_bytes(6, r.key) + _field_bytes(7, r.value),
        )
        for r in responses
    )
    inner = {"data": base64.b64encode(cosmos_response).decode("ascii")}
    return IbcAcknowledgement.success(json.dumps(inner, separators=(",", ":")).encode())


def decode_twap_ack(ack: IbcAcknowledgement) -> Decimal18:
    """The TWAP of a success ack (C-63 checks, in order).

    Raises ``InvalidResponseQuery`` (error ack, malformed, or not exactly one response),
    ``InvalidResponseQueryCode`` (code ≠ 0) or ``EmptyTwap``.
    """
    result = ack.result()
    if result is None:
        raise InvalidResponseQuery(ack.error_text() or "not a success acknowledgement")
    try:
        inner = json.loads(result)
        cosmos_response = _parse(base64.b64decode(inner["data"], validate=True))
        responses = [_parse(r) for r in cosmos_response.get(1, []) if isinstance(r, bytes)]
    except (ValueError, TypeError, KeyError) as err:
        raise InvalidResponseQuery(f"malformed response: {err}") from None
    if len(responses) != 1:
        raise InvalidResponseQuery(f"expected one response, got {len(responses)}")
    try:
        code = _one_int(responses[0], 1)
        payload = _one_bytes(responses[0], 7) or _one_bytes(responses[0], 6)
        if code != 0:
            raise InvalidResponseQueryCode(code)
        if not payload:
            raise EmptyTwap()
        twap = _one_bytes(_parse(payload), 1).decode()
    except ValueError as err:
        raise InvalidResponseQuery(f"malformed response: {err}") from None
    if not twap:
        raise EmptyTwap()
    try:
        return Decimal18.parse(twap)
    except ChainError as err:
        raise InvalidResponseQuery(f"invalid twap {twap!r}: {err}") from None


# -- shared components (C-61, C-62) -------------------------------------------------------------


class PriceKeeper:
    """C-61: the last received price and when it was received, in a contract's storage."""

    def __init__(self, deps: Deps) -> None:
        self._item = deps.storage.item("price_info")

    def update(self, time_s: int, price: Decimal18) -> None:
        """Store ``price`` received at ``time_s`` unless the stored one is strictly newer."""
        stored: tuple[int, Decimal18] | None = self._item.may_load()
        if stored is not None and stored[0] > time_s:
            return
        self._item.save((time_s, price))

    def latest(self) -> tuple[int, Decimal18]:
        """``(time, price)`` of the stored price, whatever its age. Raises ``NoPriceData``."""
        stored: tuple[int, Decimal18] | None = self._item.may_load()
        if stored is None:
            raise NoPriceData()
        return stored

    def price(self, now: int, ttl: int) -> Decimal18:
        """The price if its age is strictly below ``ttl``.

        Raises ``NoPriceData`` or ``OutdatedPriceData``.
        """
        time_s, price = self.latest()
        if now - ttl < time_s:
            return price
        raise OutdatedPriceData(time_s, now, ttl)


class EpochGate:
    """C-62: fires at most once per ``epoch_in_secs``; the first trigger always fires."""

    def __init__(self, deps: Deps) -> None:
        self._item = deps.storage.item("last_epoch")

    def trigger(self, now: int, epoch_in_secs: int) -> bool:
        """Whether the request action should fire now (and if so, remember ``now``)."""
        last: int = self._item.may_load() or 0
        if now - last >= epoch_in_secs:
            self._item.save(now)
            return True
        return False


# -- the simple feed (C-60) ---------------------------------------------------------------------


class _SimpleConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    owner: str
    ttl: int | None


class SimplePriceFeed(Contract):
    """C-60: a price set by its owner; ``handle_epoch`` does nothing."""

    code = "mesh-simple-price-feed"

    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        self._config = deps.storage.item("config")
        self._keeper = PriceKeeper(deps)

    def instantiate(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        """Non-payable; ``owner`` defaults to the instantiator. Raises ``NonPayable`` or
        ``InvalidAddress``."""
        if not isinstance(msg, SimplePriceFeedInstantiate):
            raise UnsupportedMessage("instantiate", type(msg).__name__)
        nonpayable(info.funds)
        owner = self.deps.validate_address(msg.owner) if msg.owner else info.sender
        self._config.save(_SimpleConfig(owner=owner, ttl=msg.price_info_ttl_in_secs))
        self._keeper.update(env.block.time_s, msg.native_per_foreign)
        return Response()

    def execute(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        """``update_price``: non-payable, owner only (``Unauthorized``)."""
        if not isinstance(msg, UpdatePrice):
            raise UnsupportedMessage("execute", type(msg).__name__)
        nonpayable(info.funds)
        config: _SimpleConfig = self._config.load()
        if info.sender != config.owner:
            raise Unauthorized()
        self._keeper.update(env.block.time_s, msg.native_per_foreign)
        return Response()

    def sudo(self, env: Env, msg: Message) -> Response:
        """``handle_epoch``: nothing to do."""
        if not isinstance(msg, HandleEpoch):
            raise UnsupportedMessage("sudo", type(msg).__name__)
        return Response()

    def query(self, env: Env, msg: Message) -> Any:
        """``price{}`` (never expires unless a TTL was configured) and ``config{}``."""
        config: _SimpleConfig = self._config.load()
        if isinstance(msg, PriceQuery):
            if config.ttl is None:
                # the spec's simple feed: the price never expires
                return PriceResponse(native_per_foreign=self._keeper.latest()[1])
            price = self._keeper.price(env.block.time_s, config.ttl)
            return PriceResponse(native_per_foreign=price)
        if isinstance(msg, PriceFeedConfigQuery):
            return PriceFeedConfig(owner=config.owner, native_per_foreign=self._keeper.latest()[1])
        raise UnsupportedMessage("query", type(msg).__name__)


# -- the remote TWAP feed (C-63, I-96) ----------------------------------------------------------


class _RemoteConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    trading_pair: TradingPair
    epoch_in_secs: int
    price_info_ttl_in_secs: int


def _price_event(kind: str, error: str, sequence: int) -> Event:
    return Event(type=kind, attributes=(("error", error), ("sequence", str(sequence))))


class RemoteTwapPriceFeed(Contract):
    """C-63: the Osmosis-style remote TWAP feed over an ``icq-1`` channel (see the module
    docstring). One channel only; the feed never accepts packets."""

    code = "mesh-remote-price-feed"
    ibc_order = IbcOrder.UNORDERED

    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        self._config = deps.storage.item("config")
        self._channel = deps.storage.item("channel")
        self._keeper = PriceKeeper(deps)
        self._gate = EpochGate(deps)

    def _load_config(self) -> _RemoteConfig:
        config: _RemoteConfig = self._config.load()
        return config

    def channel(self) -> IbcChannel | None:
        """The stored channel, if any."""
        channel: IbcChannel | None = self._channel.may_load()
        return channel

    def instantiate(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        """Non-payable (``NonPayable``)."""
        if not isinstance(msg, RemotePriceFeedInstantiate):
            raise UnsupportedMessage("instantiate", type(msg).__name__)
        nonpayable(info.funds)
        self._config.save(
            _RemoteConfig(
                trading_pair=msg.trading_pair,
                epoch_in_secs=msg.epoch_in_secs,
                price_info_ttl_in_secs=msg.price_info_ttl_in_secs,
            )
        )
        return Response()

    def _request(self, env: Env) -> Response:
        channel = self.channel()
        if channel is None:
            raise IbcChannelNotOpen()
        pair = self._load_config().trading_pair
        data = encode_twap_request_packet(
            TwapRequest(
                pool_id=pair.pool_id,
                base_asset=pair.base_asset,
                quote_asset=pair.quote_asset,
                start_time=env.block.time_s,
            )
        )
        send = IbcSendPacket(
            channel_id=channel.endpoint.channel_id,
            data=data,
            timeout=IbcTimeout(timestamp_ns=(env.block.time_s + TWAP_TIMEOUT_S) * 1_000_000_000),
        )
        return Response.of(send)

    def execute(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        """``request{}``: permissionless, fires at once without touching the epoch gate
        (C-62). Raises ``IbcChannelNotOpen``."""
        if not isinstance(msg, RequestPrice):
            raise UnsupportedMessage("execute", type(msg).__name__)
        return self._request(env)

    def sudo(self, env: Env, msg: Message) -> Response:
        """``handle_epoch``: trigger the epoch gate (C-62). Raises ``IbcChannelNotOpen`` when
        the gate fires without a channel (the whole sudo then fails, gate included)."""
        if not isinstance(msg, HandleEpoch):
            raise UnsupportedMessage("sudo", type(msg).__name__)
        if self._gate.trigger(env.block.time_s, self._load_config().epoch_in_secs):
            return self._request(env)
        return Response()

    def query(self, env: Env, msg: Message) -> Any:
        """``price{}``: raises ``NoPriceData`` / ``OutdatedPriceData`` (C-61)."""
        if isinstance(msg, PriceQuery):
            ttl = self._load_config().price_info_ttl_in_secs
            return PriceResponse(native_per_foreign=self._keeper.price(env.block.time_s, ttl))
        raise UnsupportedMessage("query", type(msg).__name__)

    # -- IBC (I-96) --

    def _check_channel(self, channel: IbcChannel, counterparty_version: str | None) -> None:
        if self.channel() is not None:
            raise IbcChannelAlreadyOpen()
        if channel.order is not IbcOrder.UNORDERED:
            raise OnlyUnorderedChannel()
        if channel.version != ICQ_VERSION:
            raise InvalidIbcVersion(channel.version)
        if counterparty_version is not None and counterparty_version != ICQ_VERSION:
            raise InvalidIbcVersion(counterparty_version)

    def ibc_channel_open(self, env: Env, msg: ChannelOpen) -> str | None:
        """``OpenInit`` or ``OpenTry``: UNORDERED, version ``icq-1`` (both sides), one channel.

        Raises ``IbcChannelAlreadyOpen``, ``OnlyUnorderedChannel`` or ``InvalidIbcVersion``.
        """
        self._check_channel(msg.channel, msg.counterparty_version)
        return ICQ_VERSION

    def ibc_channel_connect(self, env: Env, msg: ChannelConnect) -> IbcBasicResponse:
        """``OpenAck`` or ``OpenConfirm``: store the channel (same checks as the open)."""
        self._check_channel(msg.channel, msg.counterparty_version)
        self._channel.save(msg.channel)
        return IbcBasicResponse()

    def ibc_channel_close(
        self, env: Env, channel: IbcChannel, *, confirm: bool = False
    ) -> IbcBasicResponse:
        """Either close step: nothing to do (C-63: no special handling)."""
        return IbcBasicResponse()

    def ibc_packet_receive(self, env: Env, packet: IbcPacket, relayer: str) -> IbcReceiveResponse:
        """Never accepted: raises ``IbcReceiveNotAccepted`` (the host writes an error ack)."""
        raise IbcReceiveNotAccepted()

    def ibc_packet_ack(
        self, env: Env, ack: IbcAcknowledgement, packet: IbcPacket, relayer: str
    ) -> IbcBasicResponse:
        """Store the TWAP stamped with this block's time, or report why not (never raises)."""
        try:
            twap = decode_twap_ack(ack)
        except ChainError as err:
            event = _price_event("price_feed_error", str(err), packet.sequence)
            return IbcBasicResponse(events=(event,))
        self._keeper.update(env.block.time_s, twap)
        event = Event(type="price_updated", attributes=(("native_per_foreign", str(twap)),))
        return IbcBasicResponse(events=(event,))

    def ibc_packet_timeout(self, env: Env, packet: IbcPacket, relayer: str) -> IbcBasicResponse:
        """The price simply goes stale (I-99); an event records the timeout."""
        event = _price_event("price_feed_error", "timeout", packet.sequence)
        return IbcBasicResponse(events=(event,))
