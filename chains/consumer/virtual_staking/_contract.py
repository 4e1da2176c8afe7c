"""The virtual staking contract core (consumer.md §7, C-86..C-106).

The converter's bonds, unbonds and burns change per-validator *bond requests* at once; the
real (virtual) delegations follow only at the epoch, which the mesh-security module calls
every ``epoch_length`` blocks (C-56). One epoch, in order (C-95..C-98):

A. withdraw rewards from every validator bonded at the previous epoch with a positive amount
   and not inactive (sub-messages replying *always*; the replies batch the rewards by balance
   delta and hand the batch to the converter, C-99);
B. read the max cap; with a cap of 0, ask the converter to ``internal_unstake`` every
   delegation record instead (or drop the epoch task when none is left) and stop;
C. apply pending slashes to the previous targets and to the requests;
D. scale the requests to the cap on a copy (floor), zero tombstoned validators, and emit the
   difference from the previous targets: every ``unbond`` before every ``bond``, never a zero
   amount.

Departures from the reference, as the spec requires (each has a test):

- C-92: ``internal_unbond`` lowers only that validator's ``bonded`` entry (the reference
  overwrites ``bonded`` with a snapshot of all requests).
- C-93: ``handle_close_channel`` caps each ``unbond`` at the delegation's live value (the
  reference unbonds record amounts, which fails after a slash).
- C-97: several pending slashes of one validator are summed, and every subtraction saturates
  (the reference applies only the last one and can underflow, aborting the epoch).
- C-98: unbonds are emitted before bonds and zero amounts are dropped; a tombstoned validator
  new in the requests is not bonded.

Known limitations kept from the reference (C-107..C-110, each tested; C-111 is the
converter's):

- C-107: a tombstoned validator's requests are zeroed at the epoch, so later provider
  ``unstake`` packets for it fail with ``InsufficientBond``.
- C-108: stakes for an already tombstoned validator are accepted and dropped at the next epoch.
- C-109: while governance has not set a cap, ``bond`` fails (its ``update_delegation`` is
  ``Unauthorized``), so every provider stake gets an error ack.
- C-110: rewards auto-withdrawn between epochs (delegation changes) are attributed to the
  first target with a positive balance delta in the next epoch.

Decisions where the spec is silent:

- Like the close flow of C-93, every ``unbond`` the contract emits (rebalance, C-98;
  ``internal_unbond``, C-92) is capped at the live value of its delegation
  (``total_delegation``) and dropped when that is 0. The contract's view of a delegation
  (``bonded``) can exceed the live value by rounding dust on a slashed validator; asking for
  the view made the module refuse with ``InvalidSharesAmount`` and the epoch fail at every
  retry (found by the property tests).
- Records with a non-positive amount are skipped by the zero-cap drain and the close flow
  (the module never stores them, C-48).
- The reward batch survives an error reply, so the next epoch continues the same batch.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from chains.consumer._rewards import validator_reward
from chains.consumer.converter._errors import InvalidReplyId
from chains.consumer.converter._msgs import (
    ConverterInternalUnstake,
    ConverterValsetUpdate,
    DistributeRewards,
    RewardPayment,
    SlashedValidator,
)
from chains.consumer.mesh_security._msgs import (
    AllDelegationsQuery,
    AllDelegationsResponse,
    BondStatusQuery,
    BondStatusResponse,
    DelegationRecord,
    DeleteAllScheduledTasks,
    HandleEpoch,
    HandleValsetUpdate,
    TotalDelegationQuery,
    TotalDelegationResponse,
    UpdateDelegation,
    ValsetSlash,
    VirtualStakeBond,
    VirtualStakeUnbond,
)
from chains.consumer.virtual_staking._errors import InsufficientBond
from chains.consumer.virtual_staking._msgs import (
    AllStakeResponse,
    GetAllStake,
    GetStake,
    HandleCloseChannel,
    InternalUnbond,
    StakeResponse,
    VirtualStakingBond,
    VirtualStakingBurn,
    VirtualStakingConfig,
    VirtualStakingConfigQuery,
    VirtualStakingInstantiate,
    VirtualStakingUnbond,
)
from chains.contract._burn import distribute_burn
from chains.contract._coin import Coin, nonpayable
from chains.contract._contract import (
    Contract,
    CosmosMsg,
    CustomMsg,
    Deps,
    DistributionWithdrawReward,
    Env,
    Event,
    MessageInfo,
    Reply,
    ReplyOn,
    Response,
    SubMsg,
    WasmExecute,
)
from chains.contract._errors import (
    InsufficientDelegations,
    NotFound,
    Unauthorized,
    UnsupportedMessage,
    WrongDenom,
)
from mesh_actors import Message

__all__ = ["VirtualStaking", "VirtualStakingState"]

MESH_MODULE = "virtual_stake"
REPLY_WITHDRAW_REWARDS = 1
# C-93: "all" delegation records
_ALL_RECORDS = 2**32 - 1
# the reply's usual answer (immutable, so shared rather than built per reply)
_NO_MESSAGES = Response()


class VirtualStakingState(BaseModel):
    """The contract's configuration (C-86)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    denom: str
    converter: str
    max_retrieve: int
    tombstoned_unbond_enable: bool


class VirtualStaking(Contract):
    """The virtual staking contract core (see the module docstring).

    Storage: ``config``; ``bond_requests`` (validator → requested amount, sorted);
    ``bonded`` (the last epoch's targets, ascending, zeros kept); ``slash_requests``;
    ``inactive`` (validator → sticky tombstoned flag); ``burned``; ``reward_targets`` (the
    epoch's queue, consumed through ``reward_cursor``), ``rewards_batch`` (position →
    ``(validator, amount)``), ``batch_total`` (C-86). The queue and the batch are kept so
    that one reply costs O(1), not O(targets): an epoch with 10,000 targets has 10,000
    replies.
    """

    code = "mesh-virtual-staking"

    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        storage = deps.storage
        self._config = storage.item("config")
        self._requests = storage.sorted_map("bond_requests")
        self._bonded = storage.item("bonded")
        self._slashes = storage.item("slash_requests")
        self._inactive = storage.sorted_map("inactive")
        self._burned = storage.sorted_map("burned")
        self._targets = storage.item("reward_targets")
        self._cursor = storage.item("reward_cursor")
        # a plain map: its keys are the positions 0..n-1, only ever added at the end and
        # removed from the end (a rollback) or all at once, so no sorted key list is kept
        self._batch = storage.map("rewards_batch")
        self._batch_total = storage.item("batch_total")
        # a cache of immutable messages, not state (rebuilt identically after a restart)
        self._withdrawals: dict[str, SubMsg] = {}
        # the maps behind the items the C-99 reply reads and writes, one per epoch target:
        # read through the maps' C-level ``get``, written with one call (the same map
        # objects as the items', so the same journaled values)
        self._config_map = storage.map("config")
        self._targets_map = storage.map("reward_targets")
        self._cursor_map = storage.map("reward_cursor")
        self._batch_total_map = storage.map("batch_total")
        self._balance = deps.querier.balance

    # -- state accessors (for queries and tests) --

    def config(self) -> VirtualStakingState:
        """The stored configuration."""
        config: VirtualStakingState = self._config.load()
        return config

    def bond_requests(self) -> dict[str, int]:
        """Requested stake per validator (C-86)."""
        return dict(self._requests.raw_items())

    def bonded(self) -> tuple[tuple[str, int], ...]:
        """What the last epoch targeted, ascending by validator (C-86)."""
        bonded: tuple[tuple[str, int], ...] = self._bonded.may_load() or ()
        return bonded

    def slash_requests(self) -> tuple[ValsetSlash, ...]:
        """Pending slash adjustments (C-86)."""
        slashes: tuple[ValsetSlash, ...] = self._slashes.may_load() or ()
        return slashes

    def inactive(self) -> dict[str, bool]:
        """Validators not eligible for reward withdrawal, with their tombstoned flag."""
        return dict(self._inactive.raw_items())

    def burned(self) -> dict[str, int]:
        """Burned amounts per validator (bookkeeping, C-86)."""
        return dict(self._burned.raw_items())

    def rewards_batch(self) -> tuple[tuple[str, int], ...]:
        """The reward batch being collected (C-99)."""
        # by position (a map loaded from a durable store need not keep insertion order)
        batch = self._batch
        return tuple([batch[position] for position in range(len(batch))])

    def reward_queue(self) -> tuple[str, ...]:
        """The targets whose withdrawal replies are still expected (C-99)."""
        targets: tuple[str, ...] = self._targets.may_load() or ()
        return targets[self._cursor.may_load() or 0 :]

    # -- instantiate (C-87) --

    def instantiate(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        """C-87: non-payable; the sender is the converter; the bond denom is queried."""
        if not isinstance(msg, VirtualStakingInstantiate):
            raise UnsupportedMessage("instantiate", type(msg).__name__)
        nonpayable(info.funds)
        self._config.save(
            VirtualStakingState(
                denom=self.deps.querier.bonded_denom(),
                converter=info.sender,
                max_retrieve=msg.max_retrieve,
                tombstoned_unbond_enable=msg.tombstoned_unbond_enable,
            )
        )
        self._bonded.save(())
        self._slashes.save(())
        self._targets.save(())
        self._cursor.save(0)
        self._batch_total.save(0)
        return Response()

    # -- executes (C-88..C-93) --

    def execute(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        """The converter's calls. All are non-payable and converter-only (``NonPayable``,
        ``Unauthorized``); amounts must be in the bond denom (``WrongDenom``)."""
        nonpayable(info.funds)
        config = self.config()
        if info.sender != config.converter:
            raise Unauthorized()
        if isinstance(msg, HandleCloseChannel):
            return self._close_channel(env, config)
        if not isinstance(
            msg, VirtualStakingBond | VirtualStakingUnbond | VirtualStakingBurn | InternalUnbond
        ):
            raise UnsupportedMessage("execute", type(msg).__name__)
        if msg.amount.denom != config.denom:
            raise WrongDenom(msg.amount.denom, config.denom)
        if isinstance(msg, VirtualStakingBond):
            return self._bond(config, msg)
        if isinstance(msg, VirtualStakingUnbond):
            return self._unbond(config, msg)
        if isinstance(msg, VirtualStakingBurn):
            return self._burn(env, msg)
        return self._internal_unbond(env, config, msg)

    def _record(
        self, config: VirtualStakingState, delegator: str, validator: str, amount: int, deduct: bool
    ) -> CustomMsg:
        return CustomMsg(
            module=MESH_MODULE,
            msg=UpdateDelegation(
                amount=Coin(denom=config.denom, amount=amount),
                is_deduct=deduct,
                delegator=delegator,
                validator=validator,
            ),
        )

    def _bond(self, config: VirtualStakingState, msg: VirtualStakingBond) -> Response:
        # C-88: no cap check here; the cap applies at the epoch
        self._requests[msg.validator] = self._requests.get(msg.validator, 0) + msg.amount.amount
        return Response.of(
            self._record(config, msg.delegator, msg.validator, msg.amount.amount, False)
        )

    def _take_request(self, validator: str, amount: int) -> None:
        current = self._requests.get(validator)
        if current is None:
            raise NotFound("bond request", validator)
        if current < amount:
            raise InsufficientBond(validator, amount)
        self._requests[validator] = current - amount

    def _unbond(self, config: VirtualStakingState, msg: VirtualStakingUnbond) -> Response:
        # C-89: the real undelegation happens at the next epoch
        self._take_request(msg.validator, msg.amount.amount)
        return Response.of(
            self._record(config, msg.delegator, msg.validator, msg.amount.amount, True)
        )

    def _burn(self, env: Env, msg: VirtualStakingBurn) -> Response:
        amount = msg.amount.amount
        stakes = [(v, self._requests[v]) for v in msg.validators if self._requests.get(v, 0) > 0]
        if not stakes:
            raise InsufficientDelegations(env.contract_address, amount)
        # C-91 is the same split as the provider's P-17
        burned, shares = distribute_burn(stakes, amount)
        if burned < amount:
            raise InsufficientDelegations(env.contract_address, amount)
        for validator, share in shares.items():
            self._requests[validator] -= share
            self._burned[validator] = self._burned.get(validator, 0) + share
        return Response()

    def _internal_unbond(
        self, env: Env, config: VirtualStakingState, msg: InternalUnbond
    ) -> Response:
        amount = msg.amount.amount
        self._take_request(msg.validator, amount)
        self._bonded.save(
            tuple((v, max(a - amount, 0) if v == msg.validator else a) for v, a in self.bonded())
        )
        messages: list[CosmosMsg] = [
            self._record(config, msg.delegator, msg.validator, amount, True)
        ]
        # capped at the live delegation (as C-93): the record can exceed what the cap let
        # the epoch delegate, and an oversized unbond would fail the ack's follow-up
        live = min(amount, self._total_delegation(env, msg.validator))
        if live:
            coin = Coin(denom=config.denom, amount=live)
            unbond = VirtualStakeUnbond(validator=msg.validator, amount=coin)
            messages.append(CustomMsg(module=MESH_MODULE, msg=unbond))
        return Response.of(*messages)

    def _all_records(self, env: Env, limit: int) -> tuple[DelegationRecord, ...]:
        answer = self.deps.querier.custom(
            MESH_MODULE, AllDelegationsQuery(contract=env.contract_address, max_retrieve=limit)
        )
        assert isinstance(answer, AllDelegationsResponse)
        return answer.delegations

    def _total_delegation(self, env: Env, validator: str) -> int:
        answer = self.deps.querier.custom(
            MESH_MODULE, TotalDelegationQuery(contract=env.contract_address, validator=validator)
        )
        assert isinstance(answer, TotalDelegationResponse)
        return answer.delegation.amount

    def _close_channel(self, env: Env, config: VirtualStakingState) -> Response:
        """C-93: drop the epoch task, remove every record and undelegate it (capped at the
        delegation's live value), zero the requests."""
        messages: list[CosmosMsg] = [CustomMsg(module=MESH_MODULE, msg=DeleteAllScheduledTasks())]
        remaining: dict[str, int] = {}
        for record in self._all_records(env, _ALL_RECORDS):
            if record.amount <= 0:
                continue
            validator = record.validator
            if validator not in remaining:
                remaining[validator] = self._total_delegation(env, validator)
            messages.append(self._record(config, record.delegator, validator, record.amount, True))
            amount = min(record.amount, remaining[validator])
            if amount:
                remaining[validator] -= amount
                messages.append(
                    CustomMsg(
                        module=MESH_MODULE,
                        msg=VirtualStakeUnbond(
                            validator=validator, amount=Coin(denom=config.denom, amount=amount)
                        ),
                    )
                )
            self._requests[validator] = 0
        self._bonded.save(tuple(self._requests.raw_items()))
        return Response.of(*messages)

    # -- sudo (C-94..C-98) --

    def sudo(self, env: Env, msg: Message) -> Response:
        """``handle_valset_update`` (C-94) and ``handle_epoch`` (C-95..C-98)."""
        if isinstance(msg, HandleValsetUpdate):
            return self._valset_update(msg)
        if isinstance(msg, HandleEpoch):
            return self._epoch(env)
        raise UnsupportedMessage("sudo", type(msg).__name__)

    def _valset_update(self, msg: HandleValsetUpdate) -> Response:
        config = self.config()
        if msg.slashed:
            self._slashes.save(self.slash_requests() + msg.slashed)
        if msg.removals or msg.additions or msg.tombstoned:
            for validator in msg.tombstoned:
                self._inactive[validator] = True
            for validator in msg.removals:
                self._inactive[validator] = self._inactive.get(validator, False)
            for added in msg.additions:
                self._inactive.pop(added.address, None)
        forward = ConverterValsetUpdate(
            additions=msg.additions,
            removals=msg.removals,
            updated=msg.updated,
            jailed=msg.jailed,
            unjailed=msg.unjailed,
            tombstoned=msg.tombstoned,
            slashed=tuple(
                SlashedValidator(
                    address=s.address,
                    infraction_height=s.infraction_height,
                    infraction_time=s.infraction_time,
                    power=s.power,
                    slash_amount=Coin(denom=config.denom, amount=int(s.slash_amount)),
                    slash_ratio=s.slash_ratio,
                )
                for s in msg.slashed
            ),
        )
        return Response.of(WasmExecute(contract_addr=config.converter, msg=forward))

    def _epoch(self, env: Env) -> Response:
        config = self.config()
        bonded = self.bonded()
        # the inactive map as loaded at the start of the call (C-95, C-98 step 3)
        inactive = dict(self._inactive.raw_items())

        # A: reward withdrawal from the previous epoch's targets (C-95)
        targets = tuple([v for v, a in bonded if a > 0 and v not in inactive])
        self._targets.save(targets)
        self._cursor.save(0)
        # the cached sub-messages read directly (one per target and epoch)
        built = self._withdrawals.get
        messages: list[CosmosMsg | SubMsg] = [built(v) or self._withdrawal(v) for v in targets]

        # B: max cap (C-96)
        status = self.deps.querier.custom(
            MESH_MODULE, BondStatusQuery(contract=env.contract_address)
        )
        assert isinstance(status, BondStatusResponse)
        cap = status.cap.amount
        if cap == 0:
            records = [r for r in self._all_records(env, config.max_retrieve) if r.amount > 0]
            if not records:
                messages.append(CustomMsg(module=MESH_MODULE, msg=DeleteAllScheduledTasks()))
            for record in records:
                messages.append(
                    WasmExecute(
                        contract_addr=config.converter,
                        msg=ConverterInternalUnstake(
                            delegator=record.delegator,
                            validator=record.validator,
                            amount=Coin(denom=config.denom, amount=record.amount),
                        ),
                    )
                )
            return Response.of(*messages)

        # C: slash adjustments (C-97)
        current = dict(bonded)
        slashes = self.slash_requests()
        if slashes:
            totals: dict[str, int] = {}
            for slash in slashes:
                totals[slash.address] = totals.get(slash.address, 0) + int(slash.slash_amount)
            for validator, amount in totals.items():
                if validator not in current:
                    continue
                current[validator] = max(current[validator] - amount, 0)
                if validator in self._requests:
                    self._requests[validator] = max(self._requests[validator] - amount, 0)
            for slash in slashes:
                flag = self._inactive.get(slash.address, False) or slash.is_tombstoned
                self._inactive[slash.address] = flag
            self._slashes.save(())

        # D: targets and rebalance (C-98)
        requests = list(self._requests.raw_items())
        total = sum([a for _, a in requests])
        if total > cap:
            # on a copy: the stored requests keep their full amounts for a later higher cap
            requests = [(v, a * cap // total) for v, a in requests]
        tomb = {
            v: self._total_delegation(env, v) for v, tombstoned in inactive.items() if tombstoned
        }
        for v, _ in requests:
            if v in tomb:
                self._requests[v] = 0
        self._bonded.save(tuple((v, 0 if v in tomb else a) for v, a in requests))

        wanted = dict(requests)
        unbonds: list[tuple[str, int]] = []
        bonds: list[tuple[str, int]] = []
        for v in sorted(current):
            prev, nxt = current[v], wanted.get(v, 0)
            if v in tomb and nxt > 0:
                if tomb[v] > 0:
                    unbonds.append((v, tomb[v]))
                continue
            if nxt < prev:
                unbonds.append((v, prev - nxt))
            elif nxt > prev:
                bonds.append((v, nxt - prev))
        for v, nxt in requests:
            if v not in current and nxt > 0 and v not in tomb:
                bonds.append((v, nxt))
        bonds.sort()
        for v, amount in unbonds:
            # never ask for more than the delegation is worth (as C-93 does): after a slash
            # the view can exceed the live value by rounding dust. This holds for a
            # tombstoned validator too when the cap scales its request to 0 (it then takes
            # the plain ``next < prev`` branch with the slashed view, not ``tomb[v]``)
            live = tomb[v] if v in tomb else self._total_delegation(env, v)
            amount = min(amount, live)
            if amount == 0:
                continue
            coin = Coin(denom=config.denom, amount=amount)
            unbond = VirtualStakeUnbond(validator=v, amount=coin)
            messages.append(CustomMsg(module=MESH_MODULE, msg=unbond))
        for v, amount in bonds:
            coin = Coin(denom=config.denom, amount=amount)
            bond = VirtualStakeBond(validator=v, amount=coin)
            messages.append(CustomMsg(module=MESH_MODULE, msg=bond))
        return Response.of(*messages)

    def epoch_is_idle(self, env: Env) -> bool:
        """Whether ``handle_epoch`` now would do nothing at all: write no value that differs
        from the stored one, send no message, emit no event (`IdleEpochContract`).

        True only when nothing is pending: no reward target (no active bonded validator,
        so no C-95 withdrawal), a cap above 0 (a zero cap starts the C-96 unwinding), no
        slash request (C-97), and a C-98 rebalance that bonds and unbonds nothing and
        targets exactly the stored ``bonded``. Reads only (the scheduler asks it whenever
        it plans blocks); never raises for a missing value (then it is not idle).
        """
        if self._slashes.may_load():
            return False
        if self._targets.may_load() != () or self._cursor.may_load() != 0:
            return False
        stored: tuple[tuple[str, int], ...] | None = self._bonded.may_load()
        if stored is None:
            return False
        inactive = dict(self._inactive.raw_items())
        if any(a > 0 and v not in inactive for v, a in stored):
            return False  # a reward target: C-95 withdraws from it
        status = self.deps.querier.custom(
            MESH_MODULE, BondStatusQuery(contract=env.contract_address)
        )
        assert isinstance(status, BondStatusResponse)
        cap = status.cap.amount
        if cap == 0:
            return False
        requests = list(self._requests.raw_items())
        involved = {v for v, _ in stored} | {v for v, _ in requests}
        if any(tombstoned and v in involved for v, tombstoned in inactive.items()):
            return False  # the tombstone rules of C-98 apply: let the epoch decide
        total = sum(a for _, a in requests)
        if total > cap:
            requests = [(v, a * cap // total) for v, a in requests]
        # the new targets are the stored ones: nothing to bond, unbond or write
        return tuple(requests) == stored

    def _withdrawal(self, validator: str) -> SubMsg:
        """The C-95 withdrawal sub-message for ``validator`` (immutable, so built once per
        validator: validating the message union is most of a withdrawal's cost)."""
        built = self._withdrawals.get(validator)
        if built is None:
            built = SubMsg.trusted(
                REPLY_WITHDRAW_REWARDS,
                DistributionWithdrawReward(validator=validator),
                ReplyOn.ALWAYS,
            )
            self._withdrawals[validator] = built
        return built

    # -- reward replies (C-99) --

    def reply(self, env: Env, reply: Reply) -> Response:
        """C-99: one reply per reward withdrawal. Raises ``InvalidReplyId`` for other ids."""
        if reply.id != REPLY_WITHDRAW_REWARDS:
            raise InvalidReplyId(reply.id)
        # as `Item.may_load` / `Item.save` of ``reward_targets``, ``reward_cursor``,
        # ``config`` and ``batch_total``, through their maps (see `__init__`)
        targets: tuple[str, ...] = self._targets_map.get("value") or ()
        cursor: int = self._cursor_map.get("value") or 0
        target = targets[cursor] if cursor < len(targets) else ""
        self._cursor_map["value"] = cursor + 1
        finished = cursor + 1 >= len(targets)
        if not reply.ok:
            error = str(reply.error) if reply.error is not None else "unknown error"
            event = Event(type="rewards_error", attributes=(("error", error), ("target", target)))
            return Response(events=(event,))
        config: VirtualStakingState | None = self._config_map.get("value")
        if config is None:
            config = self.config()  # (raises as a missing config always did)
        total = self._balance(env.contract_address, config.denom)
        if total == 0:
            return _NO_MESSAGES
        delta = total - (self._batch_total_map.get("value") or 0)
        if finished:
            entries = self.rewards_batch()
            if delta > 0:
                entries = (*entries, (target, delta))
            self._batch.clear()
            self._batch_total_map["value"] = 0
            payments = tuple([validator_reward(RewardPayment, v, a) for v, a in entries])
            return Response.of(
                WasmExecute(
                    contract_addr=config.converter,
                    msg=DistributeRewards(payments=payments),
                    funds=(Coin(denom=config.denom, amount=total),),
                )
            )
        if delta > 0:
            batch = self._batch
            batch[len(batch)] = (target, delta)
            self._batch_total_map["value"] = total
        return _NO_MESSAGES

    # -- queries (C-101) --

    def query(self, env: Env, msg: Message) -> Any:
        """``config``, ``get_stake`` and ``get_all_stake`` (C-101)."""
        if isinstance(msg, VirtualStakingConfigQuery):
            config = self.config()
            return VirtualStakingConfig(denom=config.denom, converter=config.converter)
        if isinstance(msg, GetStake):
            return StakeResponse(stake=dict(self.bonded()).get(msg.validator, 0))
        if isinstance(msg, GetAllStake):
            return AllStakeResponse(stakes=self.bonded())
        raise UnsupportedMessage("query", type(msg).__name__)
