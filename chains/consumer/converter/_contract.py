"""The converter contract core (consumer.md §6, C-66..C-84; ibc.md I-40..I-62).

The converter is the consumer's end of the control channel: it turns provider stake into
consumer stake at the feed's price with a discount (`normalize_amount`) and back
(`invert_amount`), drives its virtual staking contract for every provider packet, and sends
the consumer's packets (validator-set updates, rewards, internal unstakes).

Rounding: ``normalize = mul_floor(mul_floor(amount, price), adjustment)`` and ``invert =
mul_floor(mul_floor(amount, inv(price)), inv(adjustment))`` with ``inv`` floored (C-2), so a
round trip loses a few units; that is expected and not "fixed" (C-70).

Channel: the converter initiates (``OpenInit``/``OpenAck``) and refuses ``OpenTry`` and
``OpenConfirm`` (I-40); the version is negotiated with ``chains.wire._version``
(I-41..I-43). ``CloseInit`` is refused; the contract model has a single close callback, so
``ibc_channel_close(..., confirm=True)`` marks the confirm step, as external staking does.

Departures from the reference, as the spec requires (each has a test):

- C-79: ``pub_key`` in valset packets is the validator's consensus public key (the reference
  sends ``"TODO"``).
- C-82: the ``internal_unbond`` follow-up of an ack is a sub-message whose failure is caught
  and reported as ``mesh_ibc_error`` (the reference lets it block the ack).
- C-83, I-102: a timed-out packet is not re-sent once the channel record is closed.
- C-84, I-48: ``CloseInit`` is refused; ``CloseConfirm`` must name the stored channel and marks
  the record closed.

Known limitation kept (C-111): the first channel opened to the converter is accepted from any
counterparty; only the provider checks who is on the other end.

Decision: a provider packet that does not decode is answered with an error acknowledgement
returned by the converter itself (nothing changed, I-27); every other failure is raised so the
host writes the error ack and reverts the whole receive (I-19).
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from chains.consumer.converter._errors import (
    DistributeRewardsInvalidAmount,
    IbcChannelCloseInitDisallowed,
    IbcOpenTryDisallowed,
    InvalidDiscount,
    InvalidPrice,
    InvalidReplyId,
)
from chains.consumer.converter._msgs import (
    ConverterConfig,
    ConverterConfigQuery,
    ConverterInstantiate,
    ConverterInternalUnstake,
    ConverterValsetUpdate,
    DistributeReward,
    DistributeRewards,
)
from chains.consumer.price_feeds._msgs import PriceQuery, PriceResponse
from chains.consumer.virtual_staking._msgs import (
    HandleCloseChannel,
    InternalUnbond,
    VirtualStakingBond,
    VirtualStakingBurn,
    VirtualStakingInstantiate,
    VirtualStakingUnbond,
)
from chains.contract._coin import Coin, must_pay, nonpayable
from chains.contract._contract import (
    BankSend,
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
    Reply,
    ReplyOn,
    Response,
    SubMsg,
    WasmExecute,
    WasmInstantiate,
)
from chains.contract._decimal import Decimal18
from chains.contract._errors import (
    IbcChannelAlreadyOpen,
    IbcChannelNotMatch,
    InvalidDenom,
    NotFound,
    Unauthorized,
    UnsupportedMessage,
    WrongDenom,
)
from chains.contract._ibc_types import (
    IbcAcknowledgement,
    IbcChannel,
    IbcOrder,
    IbcPacket,
    IbcTimeout,
)
from chains.wire._packets import (
    ACK_SUCCESS_BYTES,
    BurnPacket,
    DistributeBatchPacket,
    DistributePacket,
    InternalUnstakePacket,
    PacketDecodeError,
    StakePacket,
    TransferRewardsPacket,
    UnstakePacket,
    ValidatorInfo,
    ValidatorSlashInfo,
    ValsetUpdatePacket,
    decode_consumer_packet,
    decode_provider_packet,
    encode_distribute_batch,
    encode_packet,
)
from chains.wire._version import (
    MESH_VERSION_MIN,
    MESH_VERSION_SUPPORTED,
    InvalidChannelOrder,
    SemVer,
    build_response,
    channel_version,
    parse_channel_version,
    verify_compatibility,
)
from mesh_actors import Message

__all__ = ["Converter", "ConverterState", "invert_amount", "normalize_amount"]

REPLY_INSTANTIATE_VS = 1
REPLY_INTERNAL_UNBOND = 2

# I-61 timeouts, seconds after the sender's block time
VALSET_TIMEOUT_S = 86_400
DISTRIBUTE_TIMEOUT_S = 3_600
INTERNAL_UNSTAKE_TIMEOUT_S = 3_600
RESEND_TIMEOUT_S = 86_400
# entries of a converter core's sent-packet kinds before the memo starts over
_SENT_KINDS_LIMIT = 1024

# -- price normalization (C-69, C-70) ----------------------------------------------------------


def normalize_amount(amount: int, price: Decimal18, adjustment: Decimal18) -> int:
    """Provider amount → consumer amount: ``mul_floor(mul_floor(amount, price), adjustment)``
    (two floors, in this order; C-69)."""
    return adjustment.mul_floor(price.mul_floor(amount))


def invert_amount(amount: int, price: Decimal18, adjustment: Decimal18) -> int:
    """Consumer amount → provider amount: ``mul_floor(mul_floor(amount, inv(price)),
    inv(adjustment))`` with floored inverses (C-70).

    Raises ``InvalidPrice`` for a zero price and ``InvalidDiscount`` for a zero adjustment.
    """
    if price.is_zero():
        raise InvalidPrice()
    if adjustment.is_zero():
        raise InvalidDiscount()
    return adjustment.inv().mul_floor(price.inv().mul_floor(amount))


# -- the contract ------------------------------------------------------------------------------


class ConverterState(BaseModel):
    """The converter's configuration (C-66)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    price_feed: str
    price_adjustment: Decimal18
    local_denom: str
    remote_denom: str


class _ChannelRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: IbcChannel
    closed: bool = False


class _StakingReader(Protocol):
    """What the converter reads from the chain's staking module (C-11: "all validators"
    returns the bonded ones; a validator query carries ``consensus_pubkey``, C-79)."""

    def bonded_validators(self) -> Any:
        """The active set's validators (records with ``operator`` and ``consensus_pubkey``)."""

    def validator(self, operator: str) -> Any:
        """One validator record, or ``None``."""


def _timeout(env: Env, seconds: int) -> IbcTimeout:
    return IbcTimeout(timestamp_ns=(env.block.time_s + seconds) * 1_000_000_000)


def _ibc_error(error: str, channel: str, sequence: int) -> Event:
    return Event(
        type="mesh_ibc_error",
        attributes=(("error", error), ("channel", channel), ("sequence", str(sequence))),
    )


class Converter(Contract):
    """The converter contract core (see the module docstring).

    ``SUPPORTED_VERSION`` / ``MIN_VERSION`` are the protocol versions of I-42 (a subclass may
    change them). Storage: ``config``, ``virtual_staking`` (set by the instantiate reply),
    ``channel`` (the single record, with its closed flag).
    """

    code = "mesh-converter"
    ibc_order = IbcOrder.UNORDERED
    SUPPORTED_VERSION: ClassVar[str] = MESH_VERSION_SUPPORTED
    MIN_VERSION: ClassVar[str] = MESH_VERSION_MIN

    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        storage = deps.storage
        self._config = storage.item("config")
        self._vs = storage.item("virtual_staking")
        self._channel = storage.item("channel")
        # (channel, sequence) of the ack whose internal_unbond follow-up is running (C-82)
        self._unbond_ack = storage.item("unbond_ack")
        # the kind of each packet this core encoded, by its bytes: not state (a pure function
        # of the bytes, so a stale or missing entry changes nothing but speed). A success
        # ack of anything but an ``internal_unstake`` needs no follow-up, and the reward
        # batch of every epoch (C-78) is the largest packet to decode again just to see that
        self._sent_kinds: dict[bytes, type[Any]] = {}

    # -- accessors --

    def config(self) -> ConverterState:
        """The stored configuration."""
        config: ConverterState = self._config.load()
        return config

    def virtual_staking(self) -> str | None:
        """The virtual staking contract's address (None before the instantiate reply)."""
        address: str | None = self._vs.may_load()
        return address

    def channel(self) -> IbcChannel | None:
        """The stored control channel, if any."""
        record: _ChannelRecord | None = self._channel.may_load()
        return None if record is None else record.channel

    def channel_closed(self) -> bool:
        """Whether the stored channel was closed (C-84)."""
        record: _ChannelRecord | None = self._channel.may_load()
        return record is not None and record.closed

    def _open_channel(self) -> IbcChannel:
        record: _ChannelRecord | None = self._channel.may_load()
        if record is None:
            raise NotFound("channel", "control")
        return record.channel

    def _staking(self) -> _StakingReader:
        reader: _StakingReader = self.deps.querier.module("staking")
        return reader

    # -- instantiate (C-67) and reply --

    def instantiate(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        """C-67: validate, store the config and instantiate the virtual staking contract.

        Raises ``NonPayable``, ``InvalidDiscount`` (discount ≥ 1), ``InvalidDenom`` (empty
        remote denom) or ``InvalidAddress`` (price feed, admin).
        """
        if not isinstance(msg, ConverterInstantiate):
            raise UnsupportedMessage("instantiate", type(msg).__name__)
        nonpayable(info.funds)
        one = Decimal18.one()
        if msg.discount >= one:
            raise InvalidDiscount()
        if not msg.remote_denom:
            raise InvalidDenom(msg.remote_denom)
        price_feed = self.deps.validate_address(msg.price_feed)
        if msg.admin is not None:
            self.deps.validate_address(msg.admin)
        self._config.save(
            ConverterState(
                price_feed=price_feed,
                price_adjustment=one - msg.discount,
                local_denom=self.deps.querier.bonded_denom(),
                remote_denom=msg.remote_denom,
            )
        )
        create = WasmInstantiate(
            code=msg.virtual_staking_code_id,
            msg=VirtualStakingInstantiate(
                max_retrieve=msg.max_retrieve,
                tombstoned_unbond_enable=msg.tombstoned_unbond_enable,
            ),
            label=f"Virtual Staking: {msg.remote_denom}",
            admin=msg.admin,
        )
        return Response.of(SubMsg(id=REPLY_INSTANTIATE_VS, msg=create, reply_on=ReplyOn.SUCCESS))

    def reply(self, env: Env, reply: Reply) -> Response:
        """The virtual staking instantiation (stores its address, carried in ``data``) and the
        ``internal_unbond`` follow-up of an ack (a failure becomes ``mesh_ibc_error``, C-82).

        Raises ``InvalidReplyId`` for any other id.
        """
        if reply.id == REPLY_INSTANTIATE_VS:
            self._vs.save(str(reply.data))
            return Response()
        if reply.id == REPLY_INTERNAL_UNBOND:
            context: tuple[str, int] = self._unbond_ack.may_load() or ("", 0)
            self._unbond_ack.remove()
            if reply.ok:
                return Response()
            error = str(reply.error) if reply.error is not None else "internal_unbond failed"
            return Response(events=(_ibc_error(error, *context),))
        raise InvalidReplyId(reply.id)

    # -- price normalization (C-69, C-70) --

    def price(self) -> Decimal18:
        """The feed's ``native_per_foreign``; the feed's errors propagate (C-59)."""
        answer = self.deps.querier.smart(self.config().price_feed, PriceQuery())
        assert isinstance(answer, PriceResponse)
        return answer.native_per_foreign

    def normalize(self, coin: Coin) -> Coin:
        """C-69: provider coin → consumer coin. Raises ``WrongDenom`` or the feed's error."""
        config = self.config()
        if coin.denom != config.remote_denom:
            raise WrongDenom(coin.denom, config.remote_denom)
        amount = normalize_amount(coin.amount, self.price(), config.price_adjustment)
        return Coin(denom=config.local_denom, amount=amount)

    def invert(self, coin: Coin) -> Coin:
        """C-70: consumer coin → provider coin. Raises ``WrongDenom``, ``InvalidPrice`` or
        the feed's error."""
        config = self.config()
        if coin.denom != config.local_denom:
            raise WrongDenom(coin.denom, config.local_denom)
        amount = invert_amount(coin.amount, self.price(), config.price_adjustment)
        return Coin(denom=config.remote_denom, amount=amount)

    # -- executes from the virtual staking contract (C-76..C-80) --

    def execute(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        """Calls from the virtual staking contract only (``Unauthorized`` first, C-76)."""
        if info.sender != self.virtual_staking():
            raise Unauthorized()
        if isinstance(msg, DistributeReward):
            return self._distribute_reward(env, info, msg)
        if isinstance(msg, DistributeRewards):
            return self._distribute_rewards(env, info, msg)
        if isinstance(msg, ConverterValsetUpdate):
            nonpayable(info.funds)
            return self._valset_update(env, msg)
        if isinstance(msg, ConverterInternalUnstake):
            nonpayable(info.funds)
            return self._internal_unstake(env, msg)
        raise UnsupportedMessage("execute", type(msg).__name__)

    def _send(self, env: Env, packet: Any, seconds: int) -> IbcSendPacket:
        channel = self._open_channel()
        return self._send_data(env, channel, encode_packet(packet), type(packet), seconds)

    def _send_data(
        self, env: Env, channel: IbcChannel, data: bytes, kind: type[Any], seconds: int
    ) -> IbcSendPacket:
        """The send of packet bytes ``data`` (of a ``kind`` packet) on ``channel``."""
        kinds = self._sent_kinds
        if len(kinds) >= _SENT_KINDS_LIMIT:
            kinds.clear()
        kinds[data] = kind
        return IbcSendPacket(
            channel_id=channel.endpoint.channel_id,
            data=data,
            timeout=_timeout(env, seconds),
        )

    def _distribute_reward(self, env: Env, info: MessageInfo, msg: DistributeReward) -> Response:
        denom = self.config().local_denom
        amount = must_pay(info.funds, denom)
        rewards = Coin(denom=denom, amount=amount)
        send = self._send(
            env, DistributePacket(validator=msg.validator, rewards=rewards), DISTRIBUTE_TIMEOUT_S
        )
        event = Event.trusted(
            "distribute_reward", (("validator", msg.validator), ("amount", str(amount)))
        )
        return Response.of(send, events=(event,))

    def _distribute_rewards(self, env: Env, info: MessageInfo, msg: DistributeRewards) -> Response:
        denom = self.config().local_denom
        paid = must_pay(info.funds, denom)
        # one pass over the payments (a record per bonded validator and epoch, C-95)
        pairs = [(p.validator, p.reward) for p in msg.payments]
        total = sum([reward for _, reward in pairs])
        if total != paid:
            raise DistributeRewardsInvalidAmount(total, paid)
        # the batch's wire bytes written directly (byte-identical to `encode_packet` of the
        # `DistributeBatchPacket`, see `encode_distribute_batch`): no `RewardInfo` per
        # validator and epoch (the channel is checked before the bytes, as `_send` does)
        channel = self._open_channel()
        data = encode_distribute_batch(pairs, denom)
        # one event per payment, every epoch (C-95): the struct is built directly when the
        # validator is a ``str`` (`Event.trusted` checks anything else)
        events = tuple(
            [
                Event("distribute_reward", (("validator", validator), ("amount", str(reward))))
                if type(validator) is str
                else Event.trusted(
                    "distribute_reward", (("validator", validator), ("amount", str(reward)))
                )
                for validator, reward in pairs
            ]
        )
        send = self._send_data(env, channel, data, DistributeBatchPacket, DISTRIBUTE_TIMEOUT_S)
        return Response.of(send, events=events)

    def _validator_info(self, address: str) -> ValidatorInfo:
        record = self._staking().validator(address)
        if record is None:
            raise NotFound("validator", address)
        return ValidatorInfo(valoper=address, pub_key=record.consensus_pubkey)

    def _valset_update(self, env: Env, msg: ConverterValsetUpdate) -> Response:
        """C-79: forward the report; slash amounts become provider tokens (``invert``)."""
        channel = self._open_channel()
        slashed = tuple(
            ValidatorSlashInfo(
                address=s.address,
                infraction_height=s.infraction_height,
                infraction_time=s.infraction_time,
                power=s.power,
                slash_amount=self.invert(s.slash_amount),
                slash_ratio=s.slash_ratio,
            )
            for s in msg.slashed
        )
        attributes: list[tuple[str, str]] = []
        for name, addresses in (
            ("additions", [v.address for v in msg.additions]),
            ("removals", list(msg.removals)),
            ("updated", [v.address for v in msg.updated]),
            ("jailed", list(msg.jailed)),
            ("unjailed", list(msg.unjailed)),
            ("tombstoned", list(msg.tombstoned)),
            ("slashed", [s.address for s in msg.slashed]),
        ):
            if addresses:
                attributes.append((name, ",".join(addresses)))
        if slashed:
            attributes.append(("ratios", ",".join(s.slash_ratio for s in msg.slashed)))
            attributes.append(
                ("amounts", ",".join(str(s.slash_amount.amount) for s in msg.slashed))
            )
            attributes.append(
                ("provider_amounts", ",".join(str(s.slash_amount.amount) for s in slashed))
            )
        event = Event(type="valset_update", attributes=tuple(attributes))
        if not attributes:
            return Response(events=(event,))
        packet = ValsetUpdatePacket(
            height=env.block.height,
            time=env.block.time_s,
            additions=tuple(self._validator_info(v.address) for v in msg.additions),
            removals=msg.removals,
            updated=tuple(self._validator_info(v.address) for v in msg.updated),
            jailed=msg.jailed,
            unjailed=msg.unjailed,
            tombstoned=msg.tombstoned,
            slashed=slashed,
        )
        send = IbcSendPacket(
            channel_id=channel.endpoint.channel_id,
            data=encode_packet(packet),
            timeout=_timeout(env, VALSET_TIMEOUT_S),
        )
        return Response.of(send, events=(event,))

    def _internal_unstake(self, env: Env, msg: ConverterInternalUnstake) -> Response:
        """C-80: no local change; the unbond happens on the success ack (C-82)."""
        self._open_channel()
        inverted = self.invert(msg.amount)
        packet = InternalUnstakePacket(
            delegator=msg.delegator,
            validator=msg.validator,
            normalize_amount=msg.amount,
            inverted_amount=inverted,
        )
        event = Event(
            type="internal_unstake",
            attributes=(
                ("action", "internal_unstake"),
                ("amount", str(msg.amount.amount)),
                ("owner", msg.delegator),
            ),
        )
        return Response.of(self._send(env, packet, INTERNAL_UNSTAKE_TIMEOUT_S), events=(event,))

    # -- queries (C-68) --

    def query(self, env: Env, msg: Message) -> Any:
        """``config{}`` (C-68)."""
        if isinstance(msg, ConverterConfigQuery):
            config = self.config()
            return ConverterConfig(
                adjustment=config.price_adjustment,
                price_feed=config.price_feed,
                virtual_staking=self.virtual_staking(),
            )
        raise UnsupportedMessage("query", type(msg).__name__)

    # -- IBC handshake (I-40..I-48, C-81, C-84) --

    def _versions(self) -> tuple[SemVer, SemVer]:
        return SemVer.parse(self.SUPPORTED_VERSION), SemVer.parse(self.MIN_VERSION)

    def ibc_channel_open(self, env: Env, msg: ChannelOpen) -> str | None:
        """``OpenInit`` (I-45); ``OpenTry`` is refused (I-40). Returns the version to use.

        Raises ``IbcOpenTryDisallowed``, ``IbcChannelAlreadyOpen``, ``InvalidChannelOrder``
        or a version error (I-41, I-43).
        """
        if msg.counterparty_version is not None:
            raise IbcOpenTryDisallowed()
        if self._channel.may_load() is not None:
            raise IbcChannelAlreadyOpen()
        if msg.channel.order is not IbcOrder.UNORDERED:
            raise InvalidChannelOrder()
        supported, minimum = self._versions()
        if not msg.channel.version:
            return channel_version(str(supported))
        proposed = parse_channel_version(msg.channel.version)
        return channel_version(str(build_response(proposed, supported, minimum)))

    def ibc_channel_connect(self, env: Env, msg: ChannelConnect) -> IbcBasicResponse:
        """``OpenAck`` (I-46): verify the answer, store the channel and send the initial
        validator sync; ``OpenConfirm`` is refused (I-40).

        Raises ``IbcOpenTryDisallowed``, ``IbcChannelAlreadyOpen``, ``InvalidChannelOrder``
        or a version error.
        """
        if msg.counterparty_version is None:
            raise IbcOpenTryDisallowed()
        if self._channel.may_load() is not None:
            raise IbcChannelAlreadyOpen()
        if msg.channel.order is not IbcOrder.UNORDERED:
            raise InvalidChannelOrder()
        supported, minimum = self._versions()
        verify_compatibility(parse_channel_version(msg.counterparty_version), supported, minimum)
        self._channel.save(_ChannelRecord(channel=msg.channel))
        additions = tuple(
            ValidatorInfo(valoper=v.operator, pub_key=v.consensus_pubkey)
            for v in self._staking().bonded_validators()
        )
        packet = ValsetUpdatePacket(
            height=env.block.height, time=env.block.time_s, additions=additions
        )
        send = IbcSendPacket(
            channel_id=msg.channel.endpoint.channel_id,
            data=encode_packet(packet),
            timeout=_timeout(env, VALSET_TIMEOUT_S),
        )
        return IbcBasicResponse(messages=(SubMsg(msg=send),))

    def ibc_channel_close(
        self, env: Env, channel: IbcChannel, *, confirm: bool = False
    ) -> IbcBasicResponse:
        """The close callback; the contract model has one, so ``confirm`` tells the steps
        apart, as for external staking (a host may call the two methods below instead)."""
        if confirm:
            return self.ibc_channel_close_confirm(env, channel)
        return self.ibc_channel_close_init(env, channel)

    def ibc_channel_close_init(self, env: Env, channel: IbcChannel) -> IbcBasicResponse:
        """``CloseInit`` is never allowed on the converter (C-84, I-48).

        Raises ``IbcChannelCloseInitDisallowed``.
        """
        raise IbcChannelCloseInitDisallowed()

    def ibc_channel_close_confirm(self, env: Env, channel: IbcChannel) -> IbcBasicResponse:
        """``CloseConfirm`` (C-84, I-101): mark the stored record closed and let the virtual
        staking contract unbond everything. Raises ``IbcChannelNotMatch`` for another
        channel (or when none is stored)."""
        record: _ChannelRecord | None = self._channel.may_load()
        if record is None or record.channel.endpoint != channel.endpoint:
            raise IbcChannelNotMatch()
        self._channel.save(record.model_copy(update={"closed": True}))
        vs = self.virtual_staking()
        messages: tuple[SubMsg, ...] = ()
        if vs is not None:
            messages = (SubMsg(msg=WasmExecute(contract_addr=vs, msg=HandleCloseChannel())),)
        return IbcBasicResponse(messages=messages)

    # -- provider packets (C-71..C-75) --

    def ibc_packet_receive(self, env: Env, packet: IbcPacket, relayer: str) -> IbcReceiveResponse:
        """Handle a provider packet; success ack ``{}`` (I-35).

        A packet that does not decode gets an error ack with nothing changed (I-27, I-34);
        any other failure is raised (the host writes the error ack and reverts, I-19).
        """
        try:
            decoded = decode_provider_packet(packet.data)
        except PacketDecodeError as err:
            return IbcReceiveResponse(ack=IbcAcknowledgement.error(str(err)))
        vs = self.virtual_staking()
        if vs is None and not isinstance(decoded, TransferRewardsPacket):
            raise NotFound("contract", "virtual staking")
        messages: tuple[Any, ...]
        if isinstance(decoded, StakePacket):
            amount = self.normalize(decoded.stake)
            bond = VirtualStakingBond(
                delegator=decoded.delegator, validator=decoded.validator, amount=amount
            )
            messages = (WasmExecute(contract_addr=str(vs), msg=bond),)
            event = Event.trusted(
                "mesh-bond", (("validator", decoded.validator), ("amount", str(amount.amount)))
            )
        elif isinstance(decoded, UnstakePacket):
            amount = self.normalize(decoded.unstake)
            unbond = VirtualStakingUnbond(
                delegator=decoded.delegator, validator=decoded.validator, amount=amount
            )
            messages = (WasmExecute(contract_addr=str(vs), msg=unbond),)
            event = Event.trusted(
                "mesh-unbond", (("validator", decoded.validator), ("amount", str(amount.amount)))
            )
        elif isinstance(decoded, BurnPacket):
            amount = self.normalize(decoded.burn)
            burn = VirtualStakingBurn(validators=decoded.validators, amount=amount)
            messages = (WasmExecute(contract_addr=str(vs), msg=burn),)
            event = Event(
                type="mesh-burn",
                attributes=(
                    ("validators", ",".join(decoded.validators)),
                    ("amount", str(amount.amount)),
                ),
            )
        else:
            messages, event = self._transfer_rewards(decoded)
        return IbcReceiveResponse(
            ack=IbcAcknowledgement.success(ACK_SUCCESS_BYTES),
            messages=tuple(SubMsg(msg=m) for m in messages),
            events=(event,),
        )

    def _transfer_rewards(self, packet: TransferRewardsPacket) -> tuple[tuple[Any, ...], Event]:
        """C-74: pay from the converter's reserve (insufficient funds fail the bank send)."""
        recipient = self.deps.validate_address(packet.recipient)
        denom = self.config().local_denom
        if packet.rewards.denom != denom:
            raise WrongDenom(packet.rewards.denom, denom)
        event = Event(
            type="mesh-transfer-rewards",
            attributes=(("recipient", recipient), ("rewards", str(packet.rewards.amount))),
        )
        return (BankSend(to_address=recipient, amount=(packet.rewards,)),), event

    # -- acks and timeouts of consumer packets (C-82, C-83): never fail (I-18) --

    def ibc_packet_ack(
        self, env: Env, ack: IbcAcknowledgement, packet: IbcPacket, relayer: str
    ) -> IbcBasicResponse:
        """C-82: on success of an ``internal_unstake``, run the virtual staking contract's
        ``internal_unbond`` as a sub-message whose failure is reported, not raised; an error
        ack becomes a ``mesh_ibc_error`` event. Never raises."""
        channel, sequence = packet.src.channel_id, packet.sequence
        error = ack.error_text()
        if error is not None or ack.result() is None:
            return IbcBasicResponse(
                events=(_ibc_error(error or "invalid acknowledgement", channel, sequence),)
            )
        kind = self._sent_kinds.pop(packet.data, None)
        if kind is not None and kind is not InternalUnstakePacket:
            # bytes this core encoded from a packet of that kind: decoding them gives that
            # kind again (the codec round-trips), so the answer is the one below
            return IbcBasicResponse()
        try:
            original = decode_consumer_packet(packet.data)
        except PacketDecodeError as err:
            return IbcBasicResponse(events=(_ibc_error(str(err), channel, sequence),))
        if not isinstance(original, InternalUnstakePacket):
            return IbcBasicResponse()
        vs = self.virtual_staking()
        if vs is None:
            return IbcBasicResponse(
                events=(_ibc_error("no virtual staking contract", channel, sequence),)
            )
        self._unbond_ack.save((channel, sequence))
        unbond = InternalUnbond(
            delegator=original.delegator,
            validator=original.validator,
            amount=original.normalize_amount,
        )
        return IbcBasicResponse(
            messages=(
                SubMsg(
                    id=REPLY_INTERNAL_UNBOND,
                    msg=WasmExecute(contract_addr=vs, msg=unbond),
                    reply_on=ReplyOn.ALWAYS,
                ),
            )
        )

    def ibc_packet_timeout(self, env: Env, packet: IbcPacket, relayer: str) -> IbcBasicResponse:
        """C-83: re-send the identical data on the same channel with timeout ``now +
        86_400 s``; once the record is closed, report ``mesh_ibc_error`` instead (I-102).
        Never raises."""
        record: _ChannelRecord | None = self._channel.may_load()
        if record is None or record.closed:
            event = _ibc_error("channel closed", packet.src.channel_id, packet.sequence)
            return IbcBasicResponse(events=(event,))
        resend = IbcSendPacket(
            channel_id=packet.src.channel_id,
            data=packet.data,
            timeout=_timeout(env, RESEND_TIMEOUT_S),
        )
        return IbcBasicResponse(messages=(SubMsg(msg=resend),))
