"""The external staking contract core: cross-stake towards one consumer chain (provider §5).

The vault's cross lien holder for one consumer: it records users' virtual stake per
validator as value ranges while ``stake`` / ``unstake`` packets are in flight (P-64..P-69),
commits or rolls back on the ack, error ack or timeout — handlers that never fail (P-16) —
starts the unbonding clock at the ack and releases due unbonds to the vault (P-70), keeps the
points-per-stake rewards (P-72..P-76), applies slashes and validator-set changes from the
consumer (P-78, P-85..P-88, in ``_external_staking_inbound``), burns on the vault's request
(P-80), and owns the provider end of the control channel (P-82, P-83, I-40..I-49).

Packets are sent with ``IbcSendPacket`` carrying the ``chains.wire._packets`` encoding and a
timeout of the sending block's time + 600 s (P-84, I-61).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from chains.contract._burn import distribute_burn
from chains.contract._coin import Coin, nonpayable
from chains.contract._contract import (
    ChannelConnect,
    ChannelOpen,
    Contract,
    CosmosMsg,
    Env,
    Event,
    IbcBasicResponse,
    IbcCloseChannel,
    IbcReceiveResponse,
    IbcSendPacket,
    MessageInfo,
    Reply,
    Response,
    SubMsg,
    WasmExecute,
)
from chains.contract._decimal import Decimal18
from chains.contract._errors import (
    ChainError,
    IbcChannelAlreadyOpen,
    IbcChannelNotMatch,
    InsufficientDelegations,
    InvalidAmount,
    InvalidDenom,
    InvalidSlashRatio,
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
from chains.provider._lien_holder import (
    BurnVirtualStake,
    ReceiveVirtualStake,
    decode_stake_target,
)
from chains.provider._pending_tx import (
    EXTERNAL_FIRST_TX_ID,
    InFlightRemoteStaking,
    InFlightRemoteUnstaking,
    InFlightTransferFunds,
    PendingTx,
    PendingTxBook,
)
from chains.provider._value_range import ValueRange
from chains.provider.external_staking._crdt import ValidatorSet
from chains.provider.external_staking._errors import (
    ChannelClosed,
    IbcChannelCloseConfirmDisallowed,
    IbcOpenInitDisallowed,
    InvalidEndpoint,
    NoChannel,
    NoRewards,
    NotEnoughStake,
    ValidatorNotActive,
)
from chains.provider.external_staking._inbound import InboundPackets
from chains.provider.external_staking._msgs import (
    CloseControlChannel,
    ExternalStakingInstantiate,
    ExternalUnstake,
    ExternalWithdrawRewards,
    WithdrawUnbonded,
)
from chains.provider.external_staking._queries import ExternalQueries
from chains.provider.external_staking._settlement import VAULT_CALLBACK_REPLY, TxSettlement
from chains.provider.external_staking._state import (
    ChannelRecord,
    ExternalConfig,
    ExternalState,
    PendingUnbond,
)
from chains.provider.vault._msgs import ReleaseCrossStake
from chains.wire._packets import (
    ACK_SUCCESS_BYTES,
    BurnPacket,
    ProviderPacket,
    StakePacket,
    TransferRewardsPacket,
    UnstakePacket,
    decode_consumer_packet,
    decode_provider_packet,
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
)
from mesh_actors import Message

__all__ = ["PACKET_TIMEOUT_SECONDS", "ExternalStaking"]

# P-84 / I-61: provider packets time out 10 minutes after the sending block
PACKET_TIMEOUT_SECONDS = 600


def _event(kind: str, *attributes: tuple[str, object]) -> Event:
    return Event(type=kind, attributes=tuple((k, str(v)) for k, v in attributes))


class ExternalStaking(Contract):
    """The external staking contract core (provider §5). See the module docstring.

    ``SUPPORTED_VERSION`` / ``MIN_VERSION`` are the protocol versions of I-42, configurable
    as on the converter (a subclass may change them).
    """

    code: ClassVar[str] = "mesh-external-staking"
    ibc_order: ClassVar[IbcOrder | None] = IbcOrder.UNORDERED
    SUPPORTED_VERSION: ClassVar[str] = MESH_VERSION_SUPPORTED
    MIN_VERSION: ClassVar[str] = MESH_VERSION_MIN

    def __init__(self, deps: Any) -> None:
        super().__init__(deps)
        self.state = ExternalState(deps.storage)
        self.valset = ValidatorSet(deps.storage)
        self.txs = PendingTxBook(deps.storage, first_id=EXTERNAL_FIRST_TX_ID, index_by_owner=False)
        self.inbound = InboundPackets(self.state, self.valset)
        self.settlement = TxSettlement(self.state, self.valset, self.txs)
        self.queries = ExternalQueries(self.state, self.valset, self.txs)

    # -- instantiate / execute / sudo / reply / query -----------------------------------------

    def instantiate(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        """§5.1. Raises ``NonPayable``, ``InvalidSlashRatio`` (a ratio above 1) or
        ``InvalidEndpoint`` (an empty connection or port id)."""
        if not isinstance(msg, ExternalStakingInstantiate):
            raise UnsupportedMessage("instantiate", type(msg).__name__)
        nonpayable(info.funds)
        one = Decimal18.one()
        if msg.slash_ratio.double_sign > one or msg.slash_ratio.offline > one:
            raise InvalidSlashRatio()
        contact = msg.remote_contact
        if not contact.connection_id or not contact.port_id:
            raise InvalidEndpoint()
        self.state.save_config(
            ExternalConfig(
                denom=msg.denom,
                rewards_denom=msg.rewards_denom,
                vault=self.deps.validate_address(msg.vault),
                unbonding_period=msg.unbonding_period,
                slash_ratio_dsign=msg.slash_ratio.double_sign,
                slash_ratio_offline=msg.slash_ratio.offline,
                connection_id=contact.connection_id,
                port_id=contact.port_id,
                admin=msg.admin,
            )
        )
        return Response()

    def execute(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        """Dispatch §5 operations; each handler documents its errors."""
        match msg:
            case ReceiveVirtualStake():
                return self._receive_virtual_stake(env, info, msg)
            case ExternalUnstake():
                return self._unstake(env, info, msg)
            case WithdrawUnbonded():
                return self._withdraw_unbonded(env, info)
            case ExternalWithdrawRewards():
                return self._withdraw_rewards(env, info, msg)
            case BurnVirtualStake():
                return self._burn_virtual_stake(env, info, msg)
            case CloseControlChannel():
                nonpayable(info.funds)
                admin = self.state.config().admin
                if admin is None or info.sender != admin:
                    raise Unauthorized()
                return self._request_close()
        raise UnsupportedMessage("execute", type(msg).__name__)

    def sudo(self, env: Env, msg: Message) -> Response:
        """Governance's ``CloseControlChannel`` (P-83a)."""
        if isinstance(msg, CloseControlChannel):
            return self._request_close()
        raise UnsupportedMessage("sudo", type(msg).__name__)

    def reply(self, env: Env, reply: Reply) -> Response:
        """A failed vault ``commit_tx`` / ``rollback_tx``: report, never fail (P-97)."""
        if reply.id != VAULT_CALLBACK_REPLY:
            raise UnsupportedMessage("reply", str(reply.id))
        error = reply.error.name if reply.error is not None else "unknown"
        return Response(events=(_event("internal_consistency_alarm", ("error", error)),))

    def query(self, env: Env, msg: Message) -> Any:
        """The queries of §5.10 and P-89 (``_external_staking_queries``)."""
        return self.queries.answer(env, msg)

    # -- sending ------------------------------------------------------------------------------

    def _open_channel(self) -> IbcChannel:
        """The channel to send on; raises ``NoChannel`` or ``ChannelClosed``."""
        record = self.state.channel()
        if record is None:
            raise NoChannel()
        if record.closed:
            raise ChannelClosed()
        return record.channel

    def _send(self, env: Env, channel: IbcChannel, packet: ProviderPacket) -> IbcSendPacket:
        """The packet on the control channel, timing out at block time + 600 s (P-84)."""
        timeout = IbcTimeout(timestamp_ns=(env.block.time_s + PACKET_TIMEOUT_SECONDS) * 10**9)
        return IbcSendPacket(
            channel_id=channel.endpoint.channel_id, data=encode_packet(packet), timeout=timeout
        )

    # -- staking (P-64) -----------------------------------------------------------------------

    def _receive_virtual_stake(
        self, env: Env, info: MessageInfo, msg: ReceiveVirtualStake
    ) -> Response:
        """P-64: reserve ``high += x``, record the vault's tx id, send ``stake``.

        Raises ``Unauthorized`` (not the vault), ``NonPayable``, ``InvalidDenom``,
        ``InvalidAmount`` (zero), ``InvalidStakeMsg``, ``ValidatorNotActive``,
        ``NoChannel`` / ``ChannelClosed``.
        """
        config = self.state.config()
        if info.sender != config.vault:
            raise Unauthorized()
        nonpayable(info.funds)
        if msg.amount.denom != config.denom:
            raise InvalidDenom(config.denom)
        if msg.amount.amount == 0:
            raise InvalidAmount(0)
        validator = decode_stake_target(msg.msg)
        channel = self._open_channel()
        if not self.valset.is_active(validator):
            raise ValidatorNotActive(validator)
        stake = self.state.stake(msg.owner, validator)
        self.state.save_stake(
            msg.owner, validator, replace(stake, stake=stake.stake.prepare_add(msg.amount.amount))
        )
        self.txs.add(InFlightRemoteStaking(msg.tx_id, msg.amount.amount, msg.owner, validator))
        packet = StakePacket(
            delegator=msg.owner, validator=validator, stake=msg.amount, tx_id=msg.tx_id
        )
        return Response.of(
            self._send(env, channel, packet),
            events=(
                _event(
                    "receive_virtual_stake",
                    ("owner", msg.owner),
                    ("validator", validator),
                    ("amount", msg.amount.amount),
                    ("tx_id", msg.tx_id),
                ),
            ),
        )

    # -- unstaking and unbonding (P-67, P-70) -------------------------------------------------

    def _unstake(self, env: Env, info: MessageInfo, msg: ExternalUnstake) -> Response:
        """P-67: reserve ``low -= x`` and send ``unstake``; the validator's state is not
        checked. Raises ``NonPayable``, ``InvalidDenom``, ``InvalidAmount`` (zero),
        ``NotEnoughStake(low)``, ``NoChannel`` / ``ChannelClosed``."""
        nonpayable(info.funds)
        config = self.state.config()
        if msg.amount.denom != config.denom:
            raise InvalidDenom(config.denom)
        amount = msg.amount.amount
        if amount == 0:
            raise InvalidAmount(0)
        channel = self._open_channel()
        user = info.sender
        stake = self.state.stake(user, msg.validator)
        if stake.stake.low < amount:
            raise NotEnoughStake(stake.stake.low)
        self.state.save_stake(
            user, msg.validator, replace(stake, stake=stake.stake.prepare_sub(amount, 0))
        )
        tx_id = self.txs.allocate_id()
        self.txs.add(InFlightRemoteUnstaking(tx_id, amount, user, msg.validator))
        packet = UnstakePacket(
            delegator=user, validator=msg.validator, unstake=msg.amount, tx_id=tx_id
        )
        return Response.of(
            self._send(env, channel, packet),
            events=(
                _event(
                    "unstake",
                    ("owner", user),
                    ("validator", msg.validator),
                    ("amount", amount),
                    ("tx_id", tx_id),
                ),
            ),
        )

    def _withdraw_unbonded(self, env: Env, info: MessageInfo) -> Response:
        """P-70: release every due entry (``release_at <= now``) wherever it sits in the
        list (the reference stops at the first entry not yet due **[ref-quirk]**). A zero
        sum is a successful no-op. Raises ``NonPayable``; a failing vault call fails the
        whole transaction, which restores the entries (P-98)."""
        nonpayable(info.funds)
        now = env.block.time_s
        user = info.sender
        total = 0
        for validator in self.state.validators_of(user):
            stake = self.state.stake(user, validator)
            due = [u for u in stake.pending_unbonds if u.release_at <= now]
            if not due:
                continue
            total += sum(u.amount for u in due)
            kept = tuple(u for u in stake.pending_unbonds if u.release_at > now)
            self.state.save_stake(user, validator, replace(stake, pending_unbonds=kept))
        if total == 0:
            return Response()
        config = self.state.config()
        return Response.of(
            WasmExecute(
                contract_addr=config.vault,
                msg=ReleaseCrossStake(owner=user, amount=Coin(denom=config.denom, amount=total)),
            ),
            events=(_event("withdraw_unbonded", ("owner", user), ("amount", total)),),
        )

    # -- rewards (P-75, P-76) -----------------------------------------------------------------

    def _withdraw_rewards(
        self, env: Env, info: MessageInfo, msg: ExternalWithdrawRewards
    ) -> Response:
        """P-75 with the P-76 [rec]: reserve the amount while the transfer is in flight.

        Raises ``NonPayable``, ``NoRewards``, ``NoChannel`` / ``ChannelClosed``.
        """
        nonpayable(info.funds)
        channel = self._open_channel()
        user = info.sender
        stake = self.state.stake(user, msg.validator)
        amount = self.state.pending_reward(msg.validator, stake)
        if amount == 0:
            raise NoRewards()
        config = self.state.config()
        self.state.save_stake(
            user, msg.validator, replace(stake, withdrawing=stake.withdrawing + amount)
        )
        tx_id = self.txs.allocate_id()
        self.txs.add(InFlightTransferFunds(tx_id, amount, user, msg.validator))
        packet = TransferRewardsPacket(
            rewards=Coin(denom=config.rewards_denom, amount=amount),
            recipient=msg.remote_recipient,
            tx_id=tx_id,
        )
        return Response.of(
            self._send(env, channel, packet),
            events=(
                _event(
                    "withdraw_rewards",
                    ("owner", user),
                    ("validator", msg.validator),
                    ("amount", amount),
                    ("tx_id", tx_id),
                ),
            ),
        )

    # -- burns (P-80) -------------------------------------------------------------------------

    def _burn_virtual_stake(self, env: Env, info: MessageInfo, msg: BurnVirtualStake) -> Response:
        """P-80: spread the burn over the owner's stakes (P-17), reduce them at once, and
        send a non-transactional ``burn`` packet (skipped with an event if the channel is
        closed). Raises ``Unauthorized``, ``NonPayable``, ``InvalidDenom``,
        ``InsufficientDelegations(owner, amount)``."""
        config = self.state.config()
        if info.sender != config.vault:
            raise Unauthorized()
        nonpayable(info.funds)
        if msg.amount.denom != config.denom:
            raise InvalidDenom(config.denom)
        owner, amount = msg.owner, msg.amount.amount
        if msg.validator is not None:
            entries = [(msg.validator, self.state.stake(owner, msg.validator).stake.high)]
        else:
            entries = [
                (v, self.state.stake(owner, v).stake.high) for v in self.state.validators_of(owner)
            ]
        if not entries:
            raise InsufficientDelegations(owner, amount)
        burned, parts = distribute_burn(entries, amount)
        if burned < amount:
            raise InsufficientDelegations(owner, amount)
        for validator, part in parts.items():
            stake = self.state.stake(owner, validator)
            # [rec] the low end saturates at 0 when an unstake is in flight
            stake = replace(stake, stake=stake.stake.cut(part))
            stake = self.state.change_weight(validator, stake, -part)
            self.state.save_stake(owner, validator, stake)
        event = _event(
            "burn_virtual_stake",
            ("owner", owner),
            ("amount", amount),
            ("validators", ",".join(parts)),
        )
        record = self.state.channel()
        if record is None or record.closed:
            skipped = _event("burn_packet_skipped", ("owner", owner), ("amount", amount))
            return Response(events=(event, skipped))
        packet = BurnPacket(validators=tuple(parts), burn=msg.amount)
        return Response.of(self._send(env, record.channel, packet), events=(event,))

    # -- IBC handshake (P-82, I-40..I-47) -----------------------------------------------------

    def _check_counterparty(self, channel: IbcChannel) -> None:
        if channel.order is not IbcOrder.UNORDERED:
            raise InvalidChannelOrder()
        config = self.state.config()
        if (
            channel.connection_id != config.connection_id
            or channel.counterparty_endpoint.port_id != config.port_id
        ):
            raise Unauthorized()

    def ibc_channel_open(self, env: Env, msg: ChannelOpen) -> str | None:
        """OpenInit ⇒ ``IbcOpenInitDisallowed``; OpenTry: no stored channel
        (``IbcChannelAlreadyOpen``), UNORDERED (``InvalidChannelOrder``), the authorized
        connection and counterparty port (``Unauthorized``), and a mesh-security version
        (version errors); answers ``min(proposed, SUPPORTED_VERSION)`` (I-43, I-44)."""
        if msg.counterparty_version is None:
            raise IbcOpenInitDisallowed()
        if self.state.channel() is not None:
            raise IbcChannelAlreadyOpen()
        self._check_counterparty(msg.channel)
        answer = build_response(
            parse_channel_version(msg.counterparty_version),
            SemVer.parse(self.SUPPORTED_VERSION),
            SemVer.parse(self.MIN_VERSION),
        )
        return channel_version(answer.text)

    def ibc_channel_connect(self, env: Env, msg: ChannelConnect) -> IbcBasicResponse:
        """OpenAck ⇒ ``IbcOpenInitDisallowed``; OpenConfirm stores the channel (no
        packets). Raises ``IbcChannelAlreadyOpen`` and the OpenTry checks again."""
        if msg.counterparty_version is not None:
            raise IbcOpenInitDisallowed()
        if self.state.channel() is not None:
            raise IbcChannelAlreadyOpen()
        self._check_counterparty(msg.channel)
        self.state.save_channel(ChannelRecord(msg.channel))
        return IbcBasicResponse(
            events=(_event("channel_connected", ("channel", msg.channel.endpoint.channel_id)),)
        )

    # -- channel close (P-83, P-83a, I-100) ---------------------------------------------------

    def _request_close(self) -> Response:
        """P-83a: record the request and ask the IBC module to start the close."""
        channel = self._open_channel()
        self.state.set_close_requested(True)
        return Response.of(IbcCloseChannel(channel_id=channel.endpoint.channel_id))

    def ibc_channel_close(
        self, env: Env, channel: IbcChannel, *, confirm: bool = False
    ) -> IbcBasicResponse:
        """The close callback; the contract model has one, so ``confirm`` tells the steps
        apart (a host may call ``ibc_channel_close_init`` / ``_confirm`` instead)."""
        if confirm:
            return self.ibc_channel_close_confirm(env, channel)
        return self.ibc_channel_close_init(env, channel)

    def ibc_channel_close_confirm(self, env: Env, channel: IbcChannel) -> IbcBasicResponse:
        """CloseConfirm is never accepted: only the provider end starts a close (P-83,
        I-48). Raises ``IbcChannelCloseConfirmDisallowed``."""
        raise IbcChannelCloseConfirmDisallowed()

    def ibc_channel_close_init(self, env: Env, channel: IbcChannel) -> IbcBasicResponse:
        """CloseInit: the stored channel only (``IbcChannelNotMatch``), and only after
        ``CloseControlChannel`` (``Unauthorized``, P-83a). Then, in one transaction (P-83):
        every pending tx resolved as by an error ack (ascending id), every stake moved to an
        unbond released now, the channel marked closed."""
        record = self.state.channel()
        if record is None or record.channel.endpoint != channel.endpoint:
            raise IbcChannelNotMatch()
        if not self.state.close_requested() or record.closed:
            raise Unauthorized()
        messages: list[CosmosMsg | SubMsg] = []
        events: list[Event] = []
        for tx_id in self.txs.ids():
            tx = self.txs.load(tx_id)
            msgs, evs = self.settlement.resolve(tx, success=False, env=env)
            messages.extend(msgs)
            events.extend(evs)
        now = env.block.time_s
        for user, validator in self.state.all_stake_keys():
            stake = self.state.stake(user, validator)
            low = stake.stake.low
            stake = replace(
                stake,
                stake=ValueRange(0, 0),
                pending_unbonds=(*stake.pending_unbonds, PendingUnbond(low, now)),
            )
            stake = self.state.change_weight(validator, stake, -stake.committed)
            self.state.save_stake(user, validator, stake)
        self.state.save_channel(ChannelRecord(record.channel, closed=True))
        self.state.set_close_requested(False)
        events.append(_event("channel_closed", ("channel", channel.endpoint.channel_id)))
        return IbcBasicResponse(messages=Response.of(*messages).messages, events=tuple(events))

    # -- packets from the consumer (P-92, P-93) -----------------------------------------------

    def ibc_packet_receive(self, env: Env, packet: IbcPacket, relayer: str) -> IbcReceiveResponse:
        """Decode and apply a consumer packet; success ack ``{}`` (I-35).

        Raises ``PacketDecodeError`` for malformed data and the handlers' errors; the IBC
        module turns a raise into an error ack and discards the handling's changes (P-93).
        """
        decoded = decode_consumer_packet(packet.data)
        messages, events = self.inbound.handle(env, decoded)
        return IbcReceiveResponse(
            ack=IbcAcknowledgement.success(ACK_SUCCESS_BYTES),
            messages=Response.of(*messages).messages,
            events=tuple(events),
        )

    # -- acks and timeouts of our packets (P-65, P-66, P-68, P-69, P-75, P-16) ----------------

    def ibc_packet_ack(
        self, env: Env, ack: IbcAcknowledgement, packet: IbcPacket, relayer: str
    ) -> IbcBasicResponse:
        """Commit on a success ack, roll back on an error ack. Never raises (P-16)."""
        return self._settle(env, packet, success=ack.result() is not None, ack=ack)

    def ibc_packet_timeout(self, env: Env, packet: IbcPacket, relayer: str) -> IbcBasicResponse:
        """Roll back like an error ack. Never raises (P-16)."""
        return self._settle(env, packet, success=False, ack=None)

    def _settle(
        self, env: Env, packet: IbcPacket, *, success: bool, ack: IbcAcknowledgement | None
    ) -> IbcBasicResponse:
        try:
            decoded = decode_provider_packet(packet.data)
        except ChainError as err:
            return IbcBasicResponse(events=(_event("ack_unknown_packet", ("error", err.name)),))
        if isinstance(decoded, BurnPacket):
            outcome = "success" if success else ("error" if ack is not None else "timeout")
            error = ack.error_text() if ack is not None and not success else None
            return IbcBasicResponse(
                events=(
                    _event(
                        "burn_ack",
                        ("outcome", outcome),
                        ("amount", decoded.burn.amount),
                        ("error", error or ""),
                    ),
                )
            )
        expected: type[PendingTx]
        if isinstance(decoded, StakePacket):
            expected = InFlightRemoteStaking
        elif isinstance(decoded, UnstakePacket):
            expected = InFlightRemoteUnstaking
        else:
            expected = InFlightTransferFunds
        tx = self.txs.get(decoded.tx_id)
        if not isinstance(tx, expected):
            # [rec] unknown, already finished or of another variant: ignore (P-16)
            return IbcBasicResponse(events=(_event("TxNotPending", ("tx_id", decoded.tx_id)),))
        messages, events = self.settlement.resolve(tx, success=success, env=env)
        return IbcBasicResponse(messages=Response.of(*messages).messages, events=tuple(events))
