"""External staking's handling of the packets the consumer sends (P-73, P-78, P-81, P-88).

``InboundPackets`` applies one decoded ``ConsumerPacket`` to external staking's state and
returns the messages and events it causes; it raises a ``ChainError`` when the packet must
be refused, and the IBC module then discards every change of the handling and writes an
error ack with the error text (P-93, I-19). The contract core in ``_external_staking``
decodes the packet and builds the success ack.
"""

from __future__ import annotations

from dataclasses import replace

from chains.contract._contract import CosmosMsg, Env, Event, WasmExecute
from chains.contract._decimal import Decimal18
from chains.contract._errors import (
    ChainError,
    InvalidDenom,
    InvalidSlashRatio,
    MissingDenom,
    UnsupportedMessage,
)
from chains.provider.external_staking._crdt import ValidatorSet
from chains.provider.external_staking._errors import StakeNotFound
from chains.provider.external_staking._state import ExternalState, PendingUnbond
from chains.provider.vault._msgs import CrossSlash, SlashInfo
from chains.wire._packets import (
    ConsumerPacket,
    DistributeBatchPacket,
    DistributePacket,
    InternalUnstakePacket,
    ValsetUpdatePacket,
)

__all__ = ["InboundPackets"]


def _event(kind: str, *attributes: tuple[str, object]) -> Event:
    return Event(type=kind, attributes=tuple((k, str(v)) for k, v in attributes))


class InboundPackets:
    """Applies consumer packets to external staking's state (see the module docstring)."""

    __slots__ = ("state", "valset")

    def __init__(self, state: ExternalState, valset: ValidatorSet) -> None:
        self.state = state
        self.valset = valset

    def handle(self, env: Env, packet: ConsumerPacket) -> tuple[list[CosmosMsg], list[Event]]:
        """Apply ``packet``; raises a ``ChainError`` to refuse it (→ error ack)."""
        match packet:
            case ValsetUpdatePacket():
                return self.valset_update(env, packet)
            case DistributePacket():
                return self.distribute(packet)
            case DistributeBatchPacket():
                return self.distribute_batch(packet)
            case InternalUnstakePacket():
                return self.internal_unstake(env, packet)
        raise UnsupportedMessage("ibc_packet_receive", type(packet).__name__)

    # -- validator set (P-88) -----------------------------------------------------------------

    def valset_update(
        self, env: Env, packet: ValsetUpdatePacket
    ) -> tuple[list[CosmosMsg], list[Event]]:
        """P-88, exactly in its order: slashes (if Active at the infraction height),
        tombstones, additions, jails, removals not also jailed, (unjails: nothing), updates,
        then ``drain_older`` of every validator named (except in ``unjailed``).

        Raises ``InvalidSlashRatio`` (unparsable ratio of an applicable slash) or
        ``InvalidDenom`` (a slash amount not in the provider denom).
        """
        h, t = packet.height, packet.time
        messages: list[CosmosMsg] = []
        events: list[Event] = []
        named: dict[str, None] = {}
        for slash in packet.slashed:
            named[slash.address] = None
            if not self.valset.active_at(slash.address, slash.infraction_height):
                continue
            ratio = _parse_ratio(slash.slash_ratio)
            denom = self.state.config().denom
            if slash.slash_amount.denom != denom:
                raise InvalidDenom(denom)
            msgs, evs = self.handle_slashing(
                env, slash.address, ratio, slash.slash_amount.amount, slash.infraction_time
            )
            messages.extend(msgs)
            events.extend(evs)
        for validator in packet.tombstoned:
            named[validator] = None
            self.valset.tombstone(validator, h, t)
        for info in packet.additions:
            named[info.valoper] = None
            self.valset.add(info.valoper, info.pub_key, h, t)
        jailed = set(packet.jailed)
        for validator in packet.jailed:
            named[validator] = None
            self.valset.jail(validator, h, t)
        for validator in packet.removals:
            named[validator] = None
            if validator not in jailed:
                self.valset.remove(validator, h, t)
        for info in packet.updated:
            named[info.valoper] = None
            self.valset.update(info.valoper, info.pub_key, h, t)
        cutoff = max(env.block.time_s - self.state.config().unbonding_period, 0)
        for validator in named:
            self.valset.drain_older(validator, cutoff)
        attributes: list[tuple[str, object]] = []
        for key, values in (
            ("additions", [a.valoper for a in packet.additions]),
            ("removals", packet.removals),
            ("updated", [u.valoper for u in packet.updated]),
            ("jailed", packet.jailed),
            ("unjailed", packet.unjailed),
            ("tombstoned", packet.tombstoned),
            ("slashed", [s.address for s in packet.slashed]),
        ):
            if values:
                attributes.append((key, ",".join(values)))
        events.append(_event("valset_update", *attributes))
        return messages, events

    # -- slashing (P-78) ----------------------------------------------------------------------

    def handle_slashing(
        self,
        env: Env,
        validator: str,
        ratio: Decimal18,
        slash_amount: int,
        infraction_time: int,
    ) -> tuple[list[CosmosMsg], list[Event]]:
        """P-78 with its [rec]s: cut every user's stake on ``validator`` by
        ``floor(high * eff)`` with ``eff = min(slash_amount / Σ high, 1)`` (only pending
        unbonds are slashed when ``Σ high == 0``), cut pending unbonds that started after
        the infraction and are not yet releasable by ``floor(amount * ratio)`` (users with
        zero stake included), and report every processed user to the vault in one
        ``cross_slash``, ascending by user. Never raises."""
        users = self.state.users_of(validator)
        if not users:
            return [], []
        config = self.state.config()
        one = Decimal18.one()
        ratio = min(ratio, one)
        total = sum(self.state.stake(u, validator).stake.high for u in users)
        eff = min(Decimal18.from_ratio(slash_amount, total), one) if total else Decimal18(0)
        now = env.block.time_s
        slashes: list[SlashInfo] = []
        for user in users:
            stake = self.state.stake(user, validator)
            cut = eff.mul_floor(stake.stake.high)
            stake = replace(stake, stake=stake.stake.cut(cut))
            stake = self.state.change_weight(validator, stake, -cut)
            pending_cut = 0
            unbonds: list[PendingUnbond] = []
            for unbond in stake.pending_unbonds:
                started = unbond.release_at - config.unbonding_period
                if started > infraction_time and unbond.release_at > now:
                    lost = ratio.mul_floor(unbond.amount)
                    pending_cut += lost
                    unbond = PendingUnbond(unbond.amount - lost, unbond.release_at)
                unbonds.append(unbond)
            stake = replace(stake, pending_unbonds=tuple(unbonds))
            self.state.save_stake(user, validator, stake)
            slashes.append(SlashInfo(user=user, slash=cut + pending_cut))
        message = WasmExecute(
            contract_addr=config.vault,
            msg=CrossSlash(slashes=tuple(slashes), validator=validator),
        )
        event = _event(
            "slash",
            ("validator", validator),
            ("ratio", ratio),
            ("amount", slash_amount),
            ("effective", eff),
            ("users", len(slashes)),
        )
        return [message], [event]

    # -- rewards (P-73) -----------------------------------------------------------------------

    def _distribute_one(self, validator: str, amount: int) -> None:
        distribution = self.state.distribution(validator)
        self.state.save_distribution(validator, distribution.distribute(validator, amount))

    def distribute(self, packet: DistributePacket) -> tuple[list[CosmosMsg], list[Event]]:
        """P-73 for one validator. Raises ``MissingDenom(<received denom>)`` **[ref-quirk]**
        for a foreign denom, ``NoStake`` for a validator without committed stake."""
        if packet.rewards.denom != self.state.config().rewards_denom:
            raise MissingDenom(packet.rewards.denom)
        self._distribute_one(packet.validator, packet.rewards.amount)
        event = _event(
            "distribute", ("validator", packet.validator), ("amount", packet.rewards.amount)
        )
        return [], [event]

    def distribute_batch(
        self, packet: DistributeBatchPacket
    ) -> tuple[list[CosmosMsg], list[Event]]:
        """P-73 per entry, all-or-nothing. Raises ``InvalidDenom(rewards_denom)`` or
        ``NoStake`` (the whole packet is refused)."""
        rewards_denom = self.state.config().rewards_denom
        if packet.denom != rewards_denom:
            raise InvalidDenom(rewards_denom)
        self.state.distribute_each([(entry.validator, entry.reward) for entry in packet.rewards])
        event = _event("distribute_batch", ("validators", len(packet.rewards)))
        return [], [event]

    # -- internal unstake (P-81) --------------------------------------------------------------

    def internal_unstake(
        self, env: Env, packet: InternalUnstakePacket
    ) -> tuple[list[CosmosMsg], list[Event]]:
        """P-81: ``y = min(inverted_amount, high)`` leaves the stake at once and is
        releasable now; no vault call (the user still calls ``withdraw_unbonded``).

        Raises ``InvalidDenom``, ``StakeNotFound`` or ``Underflow`` (an unstake in flight
        left ``low < y``).
        """
        config = self.state.config()
        if packet.inverted_amount.denom != config.denom:
            raise InvalidDenom(config.denom)
        user, validator = packet.delegator, packet.validator
        if not self.state.has_stake(user, validator):
            raise StakeNotFound(user, validator)
        stake = self.state.stake(user, validator)
        amount = min(packet.inverted_amount.amount, stake.stake.high)
        stake = replace(
            stake,
            stake=stake.stake.sub(amount, 0),
            pending_unbonds=(*stake.pending_unbonds, PendingUnbond(amount, env.block.time_s)),
        )
        stake = self.state.change_weight(validator, stake, -amount)
        self.state.save_stake(user, validator, stake)
        event = _event(
            "internal_unstake", ("delegator", user), ("validator", validator), ("amount", amount)
        )
        return [], [event]


def _parse_ratio(text: str) -> Decimal18:
    try:
        return Decimal18.parse(text)
    except ChainError:
        raise InvalidSlashRatio() from None
