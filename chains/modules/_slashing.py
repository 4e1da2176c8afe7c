"""Simplified x/slashing and x/evidence: liveness, double-sign, jail, tombstone (C-29..C-39).

Every jail, unjail, slash and tombstone that comes from this module goes through one
decorator path that performs the staking action and then calls the capture hooks
(``after_validator_slashed`` / ``_jailed`` / ``_unjailed`` / ``_tombstoned``) of every
registered ``StakingHooks`` (C-30, C-39).

Liveness (C-35) is tracked lazily: signing is the default, only misses are recorded, and the
window is the last ``signed_blocks_window`` heights. The downtime condition can only become
true in a block with a miss, or for a validator whose count is already above
``max_missed`` while its grace period (``start_height + window``) runs; only those are
examined in a block, so an idle block costs nothing per validator. Votes recorded during
block ``h`` are processed in the begin-block of ``h + 1``, as the SDK processes the last
commit.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from chains.contract._decimal import SdkDec
from chains.contract._store import JournaledMap, SortedJournaledMap, Store, atomic
from chains.modules._bank import Bank
from chains.modules._errors import (
    AlreadyJailed,
    JailedUntilNotPassed,
    NotJailed,
    SelfDelegationTooLow,
    Tombstoned,
)
from chains.modules._hooks import InfractionReason, PendingSlash, SlashEvent, StakingHooks
from chains.modules._params import DOUBLE_SIGN_JAIL_END
from chains.modules._staking import BondStatus, Staking

__all__ = ["SigningInfo", "Slashing"]


class SigningInfo(BaseModel):
    """Per-validator liveness record (C-35, C-37).

    ``missed_heights`` are the missed blocks inside the current window (as of the last
    update; the ``Slashing.signing_info`` query prunes them to the current height).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    start_height: int = 0
    missed_heights: tuple[int, ...] = ()
    jailed_until: int = 0
    tombstoned: bool = False

    @property
    def missed_counter(self) -> int:
        """Missed blocks in the window."""
        return len(self.missed_heights)


class Slashing(StakingHooks):
    """Slashing and evidence for one chain, layered on ``Staking``.

    It registers itself as the first staking hook, to restart a validator's liveness window
    whenever it (re-)enters the active set, as the SDK's slashing hooks do.
    """

    def __init__(self, store: Store, bank: Bank, staking: Staking) -> None:
        self._store = store
        self._bank = bank
        self._staking = staking
        self._info: JournaledMap[str, SigningInfo] = JournaledMap(store, "slashing/signing_info")
        # operator -> missed? for the votes of the current block
        self._votes: SortedJournaledMap[str, bool] = SortedJournaledMap(store, "slashing/votes")
        # validators above max_missed still inside their grace period: re-check every block
        self._watch: SortedJournaledMap[str, bool] = SortedJournaledMap(store, "slashing/watch")
        staking.add_hooks(self)

    @property
    def store(self) -> Store:
        """The store holding the module's state."""
        return self._store

    # -- queries --

    def signing_info(self, validator: str) -> SigningInfo:
        """The validator's signing info with the window pruned to the current height."""
        info = self._info.get(validator, SigningInfo())
        cutoff = self._staking.height - self._staking.params.signed_blocks_window
        missed = tuple(h for h in info.missed_heights if h > cutoff)
        if missed != info.missed_heights:
            info = info.model_copy(update={"missed_heights": missed})
        return info

    def is_tombstoned(self, validator: str) -> bool:
        """Whether the validator was tombstoned (C-37)."""
        return self._info.get(validator, SigningInfo()).tombstoned

    def slash_fraction_downtime(self) -> str:
        """The downtime slash fraction as an SDK decimal string (C-38)."""
        return str(self._staking.params.slash_fraction_downtime)

    def slash_fraction_double_sign(self) -> str:
        """The double-sign slash fraction as an SDK decimal string (C-38)."""
        return str(self._staking.params.slash_fraction_double_sign)

    # -- decorated actions: native action + capture (C-30, C-39) --

    @atomic
    def slash(
        self,
        validator: str,
        infraction_height: int,
        power: int,
        fraction: SdkDec,
        reason: InfractionReason = InfractionReason.UNSPECIFIED,
    ) -> int:
        """Slash through the capture path: ``before_validator_slashed`` (P-51), C-28, then
        ``after_validator_slashed`` with the burned amount. Returns the burned amount; raises
        what ``Staking.slash`` raises.
        """
        if self._staking.hooks:
            pending = PendingSlash(
                validator=validator,
                infraction_height=infraction_height,
                power=power,
                slash_fraction=fraction,
                reason=reason,
                height=self._staking.height,
                time_s=self._staking.time_s,
            )
            for hooks in self._staking.hooks:
                hooks.before_validator_slashed(pending)
        before = self._staking.get_validator(validator).tokens
        burned = self._staking.slash(validator, infraction_height, power, fraction)
        event = SlashEvent(
            validator=validator,
            power=power,
            infraction_height=infraction_height,
            total_slash_amount=burned,
            slash_fraction=fraction,
            reason=reason,
            height=self._staking.height,
            time_s=self._staking.time_s,
            tokens_before=before,
            tokens_after=before - burned,
        )
        for hooks in self._staking.hooks:
            hooks.after_validator_slashed(event)
        return burned

    @atomic
    def jail(self, validator: str) -> None:
        """Jail through the capture path (C-29, C-30).

        Raises ``ValidatorNotFound`` or ``AlreadyJailed``.
        """
        self._staking.jail(validator)
        for hooks in self._staking.hooks:
            hooks.after_validator_jailed(validator)

    @atomic
    def tombstone(self, validator: str) -> None:
        """Tombstone permanently (C-33, C-37) and capture it (C-30).

        Raises ``ValidatorNotFound``; tombstoning twice is a no-op without a capture.
        """
        self._staking.get_validator(validator)
        info = self._info.get(validator, SigningInfo())
        if info.tombstoned:
            return
        self._info[validator] = info.model_copy(update={"tombstoned": True})
        for hooks in self._staking.hooks:
            hooks.after_validator_tombstoned(validator)

    @atomic
    def unjail(self, validator: str) -> None:
        """``MsgUnjail`` by the operator (C-29).

        Raises, in this order, ``ValidatorNotFound``, ``NotJailed``, ``Tombstoned``,
        ``JailedUntilNotPassed`` (``now < jailed_until``) or ``SelfDelegationTooLow``.
        On success the capture hook ``after_validator_unjailed`` fires; the validator
        re-enters the active set at end-block only if its power ranks.
        """
        record = self._staking.get_validator(validator)
        if not record.jailed:
            raise NotJailed(validator)
        info = self._info.get(validator, SigningInfo())
        if info.tombstoned:
            raise Tombstoned(validator)
        if self._staking.time_s < info.jailed_until:
            raise JailedUntilNotPassed(validator, info.jailed_until)
        own = self._staking.self_delegation(validator)
        if own < record.min_self_delegation:
            raise SelfDelegationTooLow(validator, own, record.min_self_delegation)
        self._staking.unjail(validator)
        for hooks in self._staking.hooks:
            hooks.after_validator_unjailed(validator)

    # -- liveness (C-35) --

    @atomic
    def record_liveness(self, validator: str, signed: bool) -> None:
        """Record whether ``validator`` signed the current block (default: signed).

        The vote is processed in the next begin-block; votes of validators that are not
        bonded then are ignored. The last call for a block wins. Raises
        ``ValidatorNotFound``.
        """
        self._staking.get_validator(validator)
        if signed:
            self._votes.pop(validator, None)
        else:
            self._votes[validator] = True

    @property
    def idle(self) -> bool:
        """Whether the next begin-block has nothing to process (no vote recorded, nobody
        watched)."""
        return not self._votes and not self._watch

    def begin_block(self) -> None:
        """Process the liveness votes of the previous block (C-35).

        For each bonded validator that missed, or is being watched, update its window; when
        ``height > start_height + window`` and ``missed > max_missed`` and it is not jailed,
        apply the downtime slash and jail. Not atomic by itself: call it inside a
        savepoint, as ``StakingModule.begin_block`` does.
        """
        if not self._votes and not self._watch:
            return
        missed = set(self._votes)
        candidates = sorted(missed | set(self._watch))
        self._votes.clear()
        for operator in candidates:
            self._process_liveness(operator, operator in missed)

    def _process_liveness(self, operator: str, missed_now: bool) -> None:
        staking = self._staking
        params = staking.params
        record = staking.validator(operator)
        if record is None or record.status is not BondStatus.BONDED:
            self._watch.pop(operator, None)
            return
        height = staking.height
        window = params.signed_blocks_window
        info = self._info.get(operator, SigningInfo())
        missed = tuple(h for h in info.missed_heights if h > height - window)
        if missed_now:
            missed = (*missed, height)
        max_missed = params.max_missed_blocks
        if height > info.start_height + window and len(missed) > max_missed and not record.jailed:
            self._info[operator] = info.model_copy(update={"missed_heights": missed})
            self._downtime(operator)
            return
        if missed != info.missed_heights:
            self._info[operator] = info.model_copy(update={"missed_heights": missed})
        if len(missed) > max_missed and not record.jailed:
            self._watch[operator] = True
        else:
            self._watch.pop(operator, None)

    def _downtime(self, operator: str) -> int:
        staking = self._staking
        params = staking.params
        record = staking.get_validator(operator)
        if record.jailed:
            raise AlreadyJailed(operator)
        power = staking.last_power(operator) or record.power(params.power_reduction)
        # early in a chain's life the delayed height would be negative: clamp it at genesis
        infraction_height = max(0, staking.height - params.validator_update_delay - 1)
        burned = self.slash(
            operator,
            infraction_height,
            power,
            params.slash_fraction_downtime,
            InfractionReason.DOWNTIME,
        )
        self.jail(operator)
        info = self._info.get(operator, SigningInfo())
        self._info[operator] = info.model_copy(
            update={
                "jailed_until": staking.time_s + params.downtime_jail_duration,
                "missed_heights": (),
            }
        )
        self._watch.pop(operator, None)
        return burned

    @atomic
    def force_downtime(self, validator: str) -> int:
        """Apply the downtime slash and jail of C-35 now; return the amount burned.

        Uses the validator's power in the active set (its current power if not a member)
        and infraction height ``height - validator_update_delay - 1`` (at least 0). Raises
        ``ValidatorNotFound`` or ``AlreadyJailed``.
        """
        return self._downtime(validator)

    # -- evidence (C-36) --

    @atomic
    def submit_equivocation(
        self,
        consensus_address: str,
        infraction_height: int,
        infraction_time: int,
        power: int,
    ) -> int | None:
        """Handle double-sign evidence now (C-36); return the amount burned, or ``None``
        when the evidence is ignored.

        Ignored if the validator is unknown, ``Unbonded`` or already tombstoned, or if the
        evidence is older than both ``evidence_max_age_duration`` seconds and
        ``evidence_max_age_num_blocks`` blocks. Otherwise: slash at ``infraction_height -
        validator_update_delay`` with the given power and ``slash_fraction_double_sign``,
        jail unless jailed, ``jailed_until`` = year 9999, tombstone. Raises what the slash
        primitive raises (``InvalidPower``, ``InvalidInfractionHeight``).
        """
        staking = self._staking
        params = staking.params
        operator = staking.validator_by_consensus_address(consensus_address)
        if operator is None:
            return None
        record = staking.get_validator(operator)
        if record.status is BondStatus.UNBONDED or self.is_tombstoned(operator):
            return None
        age_time = staking.time_s - infraction_time
        age_blocks = staking.height - infraction_height
        if (
            age_time > params.evidence_max_age_duration
            and age_blocks > params.evidence_max_age_num_blocks
        ):
            return None
        burned = self.slash(
            operator,
            infraction_height - params.validator_update_delay,
            power,
            params.slash_fraction_double_sign,
            InfractionReason.DOUBLE_SIGN,
        )
        if not staking.get_validator(operator).jailed:
            self.jail(operator)
        info = self._info.get(operator, SigningInfo())
        self._info[operator] = info.model_copy(update={"jailed_until": DOUBLE_SIGN_JAIL_END})
        self.tombstone(operator)
        self._watch.pop(operator, None)
        return burned

    # -- staking hook --

    def after_validator_bonded(self, validator: str) -> None:
        """Restart the liveness grace period when the validator (re-)enters the set."""
        info = self._info.get(validator, SigningInfo())
        self._info[validator] = info.model_copy(update={"start_height": self._staking.height})
