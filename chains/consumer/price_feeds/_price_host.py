"""A simulated price host for remote price feeds (consumer.md C-65, ibc.md I-96).

`IcqPriceHost` plays the remote chain's interchain-query host: it accepts ``icq-1``
channels (UNORDERED), answers every ``ArithmeticTwapToNow`` query in the packet's
acknowledgement with the TWAP its owner set for the pool, and can be told to fail:

- ``"ok"``: answer normally (a pool without a price gets response code 1);
- ``"error_ack"``: an error acknowledgement;
- ``"bad_code"``: a response with code 1;
- ``"empty"``: a response with an empty payload;
- ``"no_responses"``: a success ack with zero responses.

Silence (no answer at all) is a relayer matter: acks are synchronous (I-10), so a test that
wants a query to time out drops or holds the packet in its relayer.

It is written as a contract core so any chain host can run it; a host whose IBC module binds
module ports can bind it to ``icqhost`` (I-96), and the feed does not check the
counterparty port. Not built: the Band oracle host (C-64 is not built either).
"""

from __future__ import annotations

from typing import Any

from chains.consumer.price_feeds._contract import (
    ICQ_VERSION,
    TwapAnswer,
    decode_twap_request_packet,
    encode_twap_ack,
    encode_twap_payload,
)
from chains.consumer.price_feeds._errors import InvalidIbcVersion, OnlyUnorderedChannel
from chains.consumer.price_feeds._msgs import PriceHostInstantiate, SetHostFailure, SetHostPrice
from chains.contract._contract import (
    ChannelConnect,
    ChannelOpen,
    Contract,
    Deps,
    Env,
    IbcBasicResponse,
    IbcReceiveResponse,
    MessageInfo,
    Response,
)
from chains.contract._decimal import Decimal18
from chains.contract._errors import Unauthorized, UnsupportedMessage
from chains.contract._ibc_types import IbcAcknowledgement, IbcChannel, IbcOrder, IbcPacket
from mesh_actors import Message

__all__ = ["HOST_FAILURE_MODES", "IcqPriceHost"]

HOST_FAILURE_MODES = ("ok", "error_ack", "bad_code", "empty", "no_responses")


class IcqPriceHost(Contract):
    """The simulated ICQ TWAP host (see the module docstring). Storage: ``owner``,
    ``prices`` (pool id → TWAP), ``mode``, ``queries`` (how many were answered)."""

    code = "mesh-icq-price-host"
    ibc_order = IbcOrder.UNORDERED

    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        self._owner = deps.storage.item("owner")
        self._prices = deps.storage.map("prices")
        self._mode = deps.storage.item("mode")
        self._queries = deps.storage.item("queries")

    def twap(self, pool_id: int) -> Decimal18 | None:
        """The TWAP answered for ``pool_id``, if set."""
        price: Decimal18 | None = self._prices.get(pool_id)
        return price

    def queries_answered(self) -> int:
        """How many TWAP queries the host has received."""
        count: int = self._queries.may_load() or 0
        return count

    def instantiate(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        """The instantiator becomes the owner; the host starts in mode ``"ok"``."""
        if not isinstance(msg, PriceHostInstantiate):
            raise UnsupportedMessage("instantiate", type(msg).__name__)
        self._owner.save(info.sender)
        self._mode.save("ok")
        return Response()

    def execute(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        """``set_price`` and ``set_failure``, owner only (``Unauthorized``); an unknown mode
        is ``UnsupportedMessage``."""
        if info.sender != self._owner.load():
            raise Unauthorized()
        if isinstance(msg, SetHostPrice):
            self._prices[msg.pool_id] = msg.twap
            return Response()
        if isinstance(msg, SetHostFailure) and msg.mode in HOST_FAILURE_MODES:
            self._mode.save(msg.mode)
            return Response()
        raise UnsupportedMessage("execute", type(msg).__name__)

    def query(self, env: Env, msg: Message) -> Any:
        """The host answers queries over IBC only: raises ``UnsupportedMessage``."""
        raise UnsupportedMessage("query", type(msg).__name__)

    def ibc_channel_open(self, env: Env, msg: ChannelOpen) -> str | None:
        """Accept UNORDERED ``icq-1`` channels (any number of them)."""
        if msg.channel.order is not IbcOrder.UNORDERED:
            raise OnlyUnorderedChannel()
        for version in (msg.channel.version, msg.counterparty_version):
            if version is not None and version not in ("", ICQ_VERSION):
                raise InvalidIbcVersion(version)
        return ICQ_VERSION

    def ibc_channel_connect(self, env: Env, msg: ChannelConnect) -> IbcBasicResponse:
        """Nothing to store: every open ``icq-1`` channel is served."""
        return IbcBasicResponse()

    def ibc_channel_close(
        self, env: Env, channel: IbcChannel, *, confirm: bool = False
    ) -> IbcBasicResponse:
        """Either close step: nothing to do (the host keeps no per-channel state)."""
        return IbcBasicResponse()

    def ibc_packet_receive(self, env: Env, packet: IbcPacket, relayer: str) -> IbcReceiveResponse:
        """Answer the packet's queries in the ack (I-96); malformed packets get an error ack."""
        try:
            queries = decode_twap_request_packet(packet.data)
        except (ValueError, UnicodeDecodeError) as err:
            return IbcReceiveResponse(ack=IbcAcknowledgement.error(f"invalid query: {err}"))
        self._queries.save(self.queries_answered() + len(queries))
        mode: str = self._mode.load()
        if mode == "error_ack":
            return IbcReceiveResponse(ack=IbcAcknowledgement.error("price host failure"))
        if mode == "no_responses":
            return IbcReceiveResponse(ack=encode_twap_ack([]))
        answers: list[TwapAnswer] = []
        for _path, request in queries:
            price = None if request is None else self.twap(request.pool_id)
            if mode == "bad_code" or price is None:
                answers.append(TwapAnswer(code=1))
            elif mode == "empty":
                answers.append(TwapAnswer())
            else:
                answers.append(TwapAnswer(value=encode_twap_payload(price)))
        return IbcReceiveResponse(ack=encode_twap_ack(answers))
