"""The mesh-security chain module of a consumer chain (consumer.md §4, C-40..C-58).

`MeshSecurityModule` is a `ChainModule` named ``"virtual_stake"`` layered on the chain's
`StakingModule` and `Bank`:

- **Max caps** (C-40..C-44): governance sets a cap per virtual-staking contract; having an
  entry (even 0) is what authorizes the contract's ``virtual_stake`` messages.
- **Virtual delegation** (C-45..C-48): ``bond`` mints stake, lowers the bank's supply offset
  and delegates it from the contract; ``unbond`` instantly undelegates, burns and raises the
  offset (C-58); per-delegator records for the zero-cap and close flows.
- **Custom queries** (C-49) and the **integrity rule** (C-50, `check_message`).
- **Scheduler** (C-51..C-53): block-height tasks; the end-blocker returns the due
  ``SudoCall``s, all valset-update tasks before all epoch tasks (C-56).
- **Validator-set pipeline** (C-54..C-57): the module is a `StakingHooks` observer; every
  capture is buffered for the block and schedules a one-shot valset-update task for each
  contract with a cap above 0; at end-block one report is built and each contract receives
  it with its own share of every slash.

Departures from the reference, as the spec requires (each has a test):

- C-48: the delegator string is not validated against the consumer's address format.
- C-53: ``delete_all_scheduled_tasks`` issued during the contract's own epoch also removes the
  task the end-blocker has just rescheduled (the reference re-adds it).
- C-55: the report's ``is_tombstoned`` flag is computed once per block, so every contract sees
  the same report (the reference clears it in the first contract's report).
- C-56: ``total_delegated`` follows slashes (the reference ignores them, shrinking the usable
  cap).

Decisions where the spec is silent:

- Report lists are ordered by validator address (the reference iterates its store by key);
  slashes of one validator keep capture order. Captures are deduplicated per (operation,
  validator) and, for slashes, per (validator, slash data): two distinct slashes of one
  validator in one block are both reported, as in the reference whose key includes them.
- C-58: a slash burns virtual tokens too, so the supply offset rises by the value each
  contract's delegation lost (as for an unbond-and-burn); virtual stake never counts as
  circulating supply, even after a slash.
- C-46, C-47: ``total_delegated`` moves by the change in the token value of the contract's
  delegation (C-18): a bond adds the value gained, an unbond subtracts the value lost, a slash
  the value lost (C-56). With a token/share rate of 1 (every example of the spec) these are
  the bonded and burned amounts exactly; on a validator slashed earlier, share truncation can
  make them differ by one unit, and counting amounts let the counter drift away from the
  stake it measures until a rebalance up to the cap failed with ``MaxCapExceeded`` at every
  epoch (found by the property tests). The counter is therefore the live value of the
  contract's delegations, which is what C-56 asks the cap to be measured against and what
  C-104 states (the virtual staking contract caps its unbonds at that value, C-98).
- A per-delegator record never goes below 0: a deduction larger than the record deletes it
  (normalizing at a changed price can make an ``unbond`` exceed what one delegator bonded).
- The module runs its end-blocker's sudo calls through the host, so rescheduling happens
  before the calls run (regardless of their outcome, C-52); `task_result` builds the C-52
  result record, which ``on_sudo_result`` logs for every failed call.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chains.consumer.mesh_security._errors import (
    Duplicate,
    Invalid,
    InvalidCoins,
    InvalidRequest,
    InvalidSigner,
    MaxCapExceeded,
    NoValidatorFound,
    Unknown,
    UnknownMsg,
    Unsupported,
    UnsupportedRequest,
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
    MsgSetPriceFeedContract,
    MsgSetVirtualStakingMaxCap,
    SlashRatioQuery,
    SlashRatioResponse,
    TotalDelegationQuery,
    TotalDelegationResponse,
    UpdateDelegation,
    ValsetSlash,
    ValsetValidator,
    VirtualStakeBond,
    VirtualStakeUnbond,
)
from chains.contract._address import derive_address
from chains.contract._coin import Coin
from chains.contract._contract import (
    BlockEnv,
    Event,
    Response,
    StakingDelegate,
    StakingRedelegate,
    StakingUndelegate,
    StargateMsg,
)
from chains.contract._decimal import SdkDec
from chains.contract._errors import ChainError, Unauthorized
from chains.contract._store import JournaledMap, SortedJournaledMap, Store
from chains.host._tx_result import TxResult
from chains.modules._hooks import InfractionReason, SlashEvent, StakingHooks
from chains.modules._module import ModuleCall, SudoCall
from chains.modules._shares import token_value
from chains.modules._staking_module import StakingModule
from mesh_actors import get_logger

__all__ = [
    "MeshParams",
    "MeshSecurityModule",
    "ScheduledTaskResult",
    "TaskType",
    "ValsetOperation",
]

# what a capped contract may not send (C-50): native staking messages, and raw protobuf
# ("stargate") messages, which could reach native staking past the module's accounting
_REFUSED_FROM_CAPPED = (StakingDelegate, StakingUndelegate, StakingRedelegate, StargateMsg)

_log = get_logger("chains.mesh_module")

MODULE_NAME = "virtual_stake"
# the attribute value of the module's own events (the reference module's name)
_EVENT_MODULE = "meshsecurity"
_UINT128 = 2**128


class MeshParams(BaseModel):
    """Module parameters (C-40). ``total_contracts_max_cap`` is an amount of the bond denom.

    ``max_gas_end_blocker`` is kept but unused: the simulation has no gas. Out-of-range values
    (``epoch_length`` or ``max_gas_end_blocker`` not above 0) raise pydantic's
    ``ValidationError``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    total_contracts_max_cap: int = Field(default=10_000_000_000, ge=0, lt=_UINT128)
    epoch_length: int = Field(default=1000, gt=0)
    max_gas_end_blocker: int = Field(default=500_000, gt=0)


class TaskType(enum.StrEnum):
    """Scheduler task types (C-51)."""

    VALSET_UPDATE = "valset_update"
    HANDLE_EPOCH = "handle_epoch"


_TASK_KINDS = tuple(kind.value for kind in TaskType)
_VALSET = TaskType.VALSET_UPDATE.value
_EPOCH = TaskType.HANDLE_EPOCH.value


class ValsetOperation(enum.IntEnum):
    """Captured validator events (C-54), numbered as in the reference's proto enum."""

    BONDED = 1
    UNBONDED = 2
    JAILED = 3
    TOMBSTONED = 4
    UNJAILED = 5
    MODIFIED = 6
    SLASHED = 7


class _SlashInfo(BaseModel):
    """What a slash capture records (C-54)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    power: int
    infraction_height: int
    total_slash_amount: int
    slash_fraction: SdkDec


class ScheduledTaskResult(BaseModel):
    """The C-52 record of one executed scheduled task."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contract: str
    task_type: TaskType
    exec_error: str | None
    reschedule_error: str | None
    gas_limit: int
    next_run_height: int | None


class MeshSecurityModule(StakingHooks):
    """The ``virtual_stake`` chain module (see the module docstring).

    ``authority`` is the governance account allowed to set caps (default: the address derived
    from ``"module/gov"``). ``contract_exists`` tells whether a contract is deployed (C-43:
    scheduling an epoch for an unknown contract fails); ``validate_address`` checks contract
    addresses in governance messages. Both come from the host. ``epoch_idle`` (also from the
    host, optional: `TxExecutor.epoch_idle`) tells whether a contract's ``handle_epoch``
    would be a no-op now; such an epoch is not called, only rescheduled (see `fold_idle`).
    All state lives in the staking module's store, so the host's savepoints roll the module
    back too.
    """

    name = MODULE_NAME

    def __init__(
        self,
        staking: StakingModule,
        *,
        account_prefix: str,
        params: MeshParams | None = None,
        authority: str | None = None,
        contract_exists: Callable[[str], bool] | None = None,
        validate_address: Callable[[str], str] | None = None,
        epoch_idle: Callable[[str], bool] | None = None,
    ) -> None:
        self._staking = staking
        self._bank = staking.bank
        store = staking.store
        self._store = store
        self.module_account = derive_address(account_prefix, "module/meshsecurity")
        self.authority = authority or derive_address(account_prefix, "module/gov")
        self._contract_exists = contract_exists or (lambda _address: True)
        self._validate_address = validate_address or (lambda address: address)
        self._epoch_idle = epoch_idle

        self._params: JournaledMap[str, MeshParams] = JournaledMap(store, "virtual_stake/params")
        self._params["params"] = params or MeshParams()
        self._caps: SortedJournaledMap[str, int] = SortedJournaledMap(
            store, "virtual_stake/max_caps"
        )
        self._delegated: JournaledMap[str, int] = JournaledMap(
            store, "virtual_stake/total_delegated"
        )
        # (contract, delegator, validator) -> amount (C-48)
        self._records: SortedJournaledMap[tuple[str, str, str], int] = SortedJournaledMap(
            store, "virtual_stake/delegation_records"
        )
        # (type, height, contract) -> repeat, and the (type, contract, height) index
        self._tasks: SortedJournaledMap[tuple[str, int, str], bool] = SortedJournaledMap(
            store, "virtual_stake/tasks"
        )
        self._tasks_by_contract: SortedJournaledMap[tuple[str, str, int], bool] = (
            SortedJournaledMap(store, "virtual_stake/tasks_by_contract")
        )
        # (operation, validator, slash info or None) -> capture sequence, for this block
        self._captures: JournaledMap[tuple[int, str, _SlashInfo | None], int] = JournaledMap(
            store, "virtual_stake/captures"
        )
        self._tombstoned_status: JournaledMap[str, bool] = JournaledMap(
            store, "virtual_stake/tombstoned_status"
        )
        staking.add_hooks(self)

    # -- wiring --

    @property
    def store(self) -> Store:
        """The store holding the module's state (the staking module's)."""
        return self._store

    @property
    def params(self) -> MeshParams:
        """The current parameters (C-40)."""
        return self._params["params"]

    def set_params(self, params: MeshParams) -> None:
        """Replace the parameters (a governance action in a real chain)."""
        self._params["params"] = params

    @property
    def bond_denom(self) -> str:
        """The staking denom virtual stake is minted in."""
        return self._staking.params.bond_denom

    # -- state queries for the host and tests --

    def max_cap(self, contract: str) -> int:
        """``get_max_cap``: 0 when the contract has no entry (C-41)."""
        return self._caps.get(contract, 0)

    def is_authorized(self, contract: str) -> bool:
        """Whether the contract has a max-cap entry (even 0): C-41, C-50."""
        return contract in self._caps

    def total_delegated(self, contract: str) -> int:
        """Minted-and-delegated amount of ``contract``; never negative (C-45)."""
        return max(self._delegated.get(contract, 0), 0)

    def delegation_records(self, contract: str) -> tuple[DelegationRecord, ...]:
        """Every per-delegator record of ``contract`` in key order (C-48)."""
        return self._all_delegations(contract, _UINT128)

    def scheduled_tasks(self) -> tuple[tuple[TaskType, int, str, bool], ...]:
        """Every task as ``(type, height, contract, repeat)``, by type, height, contract."""
        return tuple((TaskType(t), h, c, r) for (t, h, c), r in self._tasks.raw_items())

    def has_repeating_epoch(self, contract: str) -> bool:
        """Whether ``contract`` has a repeating ``HandleEpoch`` task (C-43, C-44)."""
        kind = TaskType.HANDLE_EPOCH.value
        for _, _, height in self._tasks_by_contract.keys_between(
            (kind, contract), (kind, contract + "\x00")
        ):
            if self._tasks[(kind, height, contract)]:
                return True
        return False

    # -- ChainModule: messages --

    def handle(self, call: ModuleCall, msg: Any) -> Response:
        """Execute a ``virtual_stake`` custom or governance message.

        Raises ``Unauthorized`` (custom message from a contract without a max-cap entry,
        C-50), ``UnknownMsg``, or the errors of the individual operations; a failed message
        leaves no trace (the operations validate before writing and run in a savepoint).
        """
        if isinstance(msg, MsgSetVirtualStakingMaxCap):
            return self._run(self._set_max_cap_msg, call, msg)
        if isinstance(msg, MsgSetPriceFeedContract):
            return self._run(self._set_price_feed_msg, call, msg)
        if not isinstance(
            msg, VirtualStakeBond | VirtualStakeUnbond | UpdateDelegation | DeleteAllScheduledTasks
        ):
            raise UnknownMsg(type(msg).__name__)
        if not self.is_authorized(call.sender):
            raise Unauthorized()
        if isinstance(msg, VirtualStakeBond):
            return self._run(self._bond_msg, call, msg)
        if isinstance(msg, VirtualStakeUnbond):
            return self._run(self._unbond_msg, call, msg)
        if isinstance(msg, UpdateDelegation):
            return self._run(self._update_delegation_msg, call, msg)
        self.delete_all_scheduled_tasks(call.sender)
        return Response()

    def _run(
        self, fn: Callable[[ModuleCall, Any], Response], call: ModuleCall, msg: Any
    ) -> Response:
        with self._store.atomic():
            return fn(call, msg)

    def check_message(self, sender: str, msg: Any) -> None:
        """The integrity rule of C-50, which the host applies to every message a contract
        emits: a contract with a max-cap entry may not send native staking messages nor raw
        protobuf (`StargateMsg`) messages.

        Distribution messages (reward withdrawal) stay allowed. Raises ``Unsupported``.
        """
        # a tuple, not a union: isinstance on a union costs twice as much, and this runs
        # for every routed message (each epoch's reward withdrawals, C-95)
        if isinstance(msg, _REFUSED_FROM_CAPPED) and sender in self._caps:
            raise Unsupported(type(msg).__name__)

    # -- governance (C-42..C-44) --

    def _check_authority(self, call: ModuleCall, authority: str) -> None:
        if authority != self.authority:
            raise InvalidSigner(self.authority, authority)
        if call.sender != authority:
            raise InvalidSigner(authority, call.sender)

    def _set_max_cap_msg(self, call: ModuleCall, msg: MsgSetVirtualStakingMaxCap) -> Response:
        self._check_authority(call, msg.authority)
        contract = self._validate_address(msg.contract)
        event = self.set_max_cap(contract, msg.max_cap)
        if not self.has_repeating_epoch(contract):
            if not self._contract_exists(contract):
                raise Unknown("contract")
            self.schedule(
                TaskType.HANDLE_EPOCH,
                contract,
                self._staking.height + self.params.epoch_length,
                repeat=True,
            )
        return Response(events=(event,))

    def _set_price_feed_msg(self, call: ModuleCall, msg: MsgSetPriceFeedContract) -> Response:
        self._check_authority(call, msg.authority)
        contract = self._validate_address(msg.contract)
        if self.has_repeating_epoch(contract):
            raise Duplicate("epoch task")
        if not self._contract_exists(contract):
            raise Unknown("contract")
        self.schedule(
            TaskType.HANDLE_EPOCH,
            contract,
            self._staking.height + self.params.epoch_length,
            repeat=True,
        )
        return Response()

    def set_max_cap(self, contract: str, coin: Coin) -> Event:
        """C-42: store ``contract``'s cap and return the ``max_cap_limit_updated`` event.

        Raises ``InvalidCoins`` (not the bond denom) or ``Invalid`` (the caps of all
        contracts would exceed ``total_contracts_max_cap``).
        """
        if coin.denom != self.bond_denom:
            raise InvalidCoins(f"max cap must be in {self.bond_denom}, got {coin.denom}")
        others = sum(cap for c, cap in self._caps.raw_items() if c != contract)
        if others + coin.amount > self.params.total_contracts_max_cap:
            raise Invalid("amount exceeds total available max cap")
        self._caps[contract] = coin.amount
        return Event(
            type="max_cap_limit_updated",
            attributes=(
                ("module", _EVENT_MODULE),
                ("contract", contract),
                ("max_cap", str(coin)),
            ),
        )

    # -- virtual delegation (C-46..C-48) --

    def _bond_msg(self, call: ModuleCall, msg: VirtualStakeBond) -> Response:
        shares = self.delegate(call.sender, msg.validator, msg.amount)
        assert msg.amount is not None  # delegate refused a missing amount
        event = Event(
            type="instant_delegate",
            attributes=(
                ("module", _EVENT_MODULE),
                ("validator", msg.validator),
                ("amount", str(msg.amount)),
                ("delegator", call.sender),
            ),
        )
        return Response(events=(event,), data=shares)

    def _unbond_msg(self, call: ModuleCall, msg: VirtualStakeUnbond) -> Response:
        burned = self.undelegate(call.sender, msg.validator, msg.amount)
        assert msg.amount is not None
        event = Event(
            type="instant_unbond",
            attributes=(
                ("module", _EVENT_MODULE),
                ("validator", msg.validator),
                ("amount", str(msg.amount)),
                ("sender", call.sender),
            ),
        )
        return Response(events=(event,), data=burned)

    def _update_delegation_msg(self, call: ModuleCall, msg: UpdateDelegation) -> Response:
        self.update_delegation(
            call.sender, msg.delegator, msg.validator, msg.amount.amount, deduct=msg.is_deduct
        )
        return Response()

    def _check_coin(self, coin: Coin | None) -> int:
        if coin is None or coin.amount <= 0:
            raise InvalidRequest("amount")
        if coin.denom != self.bond_denom:
            raise InvalidRequest("invalid coin denomination")
        return coin.amount

    def delegate(self, contract: str, validator: str, coin: Coin | None) -> SdkDec:
        """C-46: mint ``coin`` into the module, lower the supply offset, send it to
        ``contract`` and delegate it; ``total_delegated`` grows by the value gained (the
        amount at a token/share rate of 1). Return the shares issued.

        Raises, in this order, ``InvalidRequest`` (amount missing or zero, wrong denom),
        ``NoValidatorFound`` or ``MaxCapExceeded``; nothing changes on error.
        """
        amount = self._check_coin(coin)
        if self._staking.validator(validator) is None:
            raise NoValidatorFound(validator)
        delegated = self.total_delegated(contract)
        cap = self.max_cap(contract)
        if delegated + amount > cap:
            raise MaxCapExceeded(contract, cap, delegated, amount)
        denom = self.bond_denom
        before = self._staking.delegation_value(contract, validator)
        with self._store.atomic():
            self._bank.mint(self.module_account, denom, amount, source="virtual_stake")
            # C-58: virtual stake is not circulating supply
            self._bank.add_supply_offset(denom, -amount)
            self._bank.transfer(self.module_account, contract, denom, amount)
            shares = self._staking.delegate(contract, validator, amount)
            # the value gained: ``amount`` itself unless the validator's token/share rate is
            # not 1, where share truncation can make it one unit less (see module docs)
            gained = self._staking.delegation_value(contract, validator) - before
            self._delegated[contract] = delegated + gained
        return shares

    def undelegate(self, contract: str, validator: str, coin: Coin | None) -> int:
        """C-47: instantly undelegate ``coin`` from ``validator``, burn what comes back and
        raise the supply offset by it; ``total_delegated`` drops by the value the delegation
        lost (the burned amount at a token/share rate of 1). Return the burned amount.

        If the contract has no delegation to the validator the call succeeds and does
        nothing (returns 0). Raises, in this order, ``InvalidRequest`` (amount, denom, more
        than ``total_delegated``), ``NoValidatorFound`` or ``InvalidSharesAmount`` (more than
        the delegation is worth).
        """
        amount = self._check_coin(coin)
        delegated = self.total_delegated(contract)
        if amount > delegated:
            raise InvalidRequest("amount exceeds total delegated")
        if self._staking.validator(validator) is None:
            raise NoValidatorFound(validator)
        if self._staking.delegation(contract, validator) is None:
            return 0
        denom = self.bond_denom
        before = self._staking.delegation_value(contract, validator)
        with self._store.atomic():
            released = self._staking.instant_undelegate(contract, validator, amount)
            if released:
                self._bank.transfer(contract, self.module_account, denom, released)
                self._bank.burn(self.module_account, denom, released, source="virtual_stake")
                self._bank.add_supply_offset(denom, released)
            lost = before - self._staking.delegation_value(contract, validator)
            self._delegated[contract] = max(delegated - lost, 0)
        return released

    def update_delegation(
        self, contract: str, delegator: str, validator: str, amount: int, *, deduct: bool
    ) -> int:
        """C-48: add ``amount`` to (or subtract it from) the record of ``(contract,
        delegator, validator)``; return the new amount. A record reaching 0 is deleted;
        a deduction larger than the record deletes it (it never goes negative).

        The delegator is not validated (it is a provider address, C-48).
        """
        key = (contract, delegator, validator)
        current = self._records.get(key, 0)
        new = max(current - amount, 0) if deduct else current + amount
        if new:
            self._records[key] = new
        elif key in self._records:
            del self._records[key]
        return new

    # -- ChainModule: queries (C-49) --

    def query(self, block: BlockEnv, msg: Any) -> Any:
        """Answer a ``virtual_stake`` custom query. Raises ``UnsupportedRequest``."""
        denom = self.bond_denom
        if isinstance(msg, BondStatusQuery):
            return BondStatusResponse(
                cap=Coin(denom=denom, amount=self.max_cap(msg.contract)),
                delegated=Coin(denom=denom, amount=self.total_delegated(msg.contract)),
            )
        if isinstance(msg, SlashRatioQuery):
            return SlashRatioResponse(
                slash_fraction_downtime=self._staking.slash_fraction_downtime(),
                slash_fraction_double_sign=self._staking.slash_fraction_double_sign(),
            )
        if isinstance(msg, TotalDelegationQuery):
            value = self._staking.delegation_value(msg.contract, msg.validator)
            return TotalDelegationResponse(delegation=Coin(denom=denom, amount=value))
        if isinstance(msg, AllDelegationsQuery):
            return AllDelegationsResponse(
                delegations=self._all_delegations(msg.contract, msg.max_retrieve)
            )
        raise UnsupportedRequest(type(msg).__name__)

    def _all_delegations(self, contract: str, limit: int) -> tuple[DelegationRecord, ...]:
        keys = self._records.keys_between((contract,), (contract + "\x00",))
        return tuple(
            DelegationRecord(delegator=d, validator=v, amount=self._records[(c, d, v)])
            for c, d, v in keys[: max(limit, 0)]
        )

    # -- scheduler (C-51..C-53) --

    def schedule(self, kind: TaskType, contract: str, height: int, *, repeat: bool) -> None:
        """C-51: add a task. Raises ``Invalid`` for a height below the current one.

        An existing one-shot addition leaves the task (and its repeat flag) as is; a
        repeating schedule overwrites it.
        """
        if height < self._staking.height:
            raise Invalid(f"cannot schedule at height {height} below {self._staking.height}")
        key = (kind.value, height, contract)
        if key in self._tasks and not repeat:
            return
        self._tasks[key] = repeat
        self._tasks_by_contract[(kind.value, contract, height)] = True

    def _unschedule(self, key: tuple[str, int, str]) -> None:
        kind, height, contract = key
        del self._tasks[key]
        del self._tasks_by_contract[(kind, contract, height)]

    def delete_all_scheduled_tasks(self, contract: str) -> None:
        """C-53: remove every ``HandleEpoch`` task of ``contract`` (any height, any repeat
        flag), including one the end-blocker has just rescheduled for it."""
        kind = TaskType.HANDLE_EPOCH.value
        for _, _, height in self._tasks_by_contract.keys_between(
            (kind, contract), (kind, contract + "\x00")
        ):
            self._unschedule((kind, height, contract))

    def _due(self, kind: TaskType, height: int) -> list[tuple[str, int, str]]:
        # keys sort by (type, height, contract): exactly the C-52 execution order
        return self._tasks.keys_between((kind.value,), (kind.value, height + 1))

    def _finish(self, key: tuple[str, int, str], height: int) -> None:
        repeat = self._tasks[key]
        self._unschedule(key)
        if repeat:
            self.schedule(TaskType(key[0]), key[2], height + self.params.epoch_length, repeat=True)

    def task_result(self, call: SudoCall, error: ChainError | None) -> ScheduledTaskResult:
        """The C-52 result record of a sudo call this module's end-blocker returned, for the
        host to report after running it (``error`` = what the call failed with, if any)."""
        kind = (
            TaskType.HANDLE_EPOCH if isinstance(call.msg, HandleEpoch) else TaskType.VALSET_UPDATE
        )
        next_height: int | None = None
        if kind is TaskType.HANDLE_EPOCH:
            heights = self._tasks_by_contract.keys_between(
                (kind.value, call.contract), (kind.value, call.contract + "\x00")
            )
            next_height = heights[0][2] if heights else None
        return ScheduledTaskResult(
            contract=call.contract,
            task_type=kind,
            exec_error=None if error is None else str(error),
            reschedule_error=None,
            gas_limit=self.params.max_gas_end_blocker,
            next_run_height=next_height,
        )

    def on_sudo_result(self, call: SudoCall, result: TxResult) -> None:
        """The host's report of a sudo call this module's end-blocker returned (C-52): a
        failure is logged as "failed to execute scheduled task" with the result record; it
        changes nothing (the task was already rescheduled or deleted)."""
        if result.ok:
            return
        record = self.task_result(call, result.error)
        _log.warning("failed to execute scheduled task", **record.model_dump(mode="json"))

    # -- ChainModule: block hooks --

    def next_due_height(self, block: BlockEnv) -> int | None:
        """`ScheduledModule`: now if captures wait for a report, else the height of the
        earliest scheduled task (C-51) that is not an idle epoch, else ``None``."""
        if self._captures:
            return block.height
        due: int | None = None
        first = self._tasks.keys_between((_VALSET,), (_VALSET, math.inf))[:1]
        if first:
            due = first[0][1]
        for key in self._tasks.keys_between((_EPOCH,), (_EPOCH, math.inf)):
            if due is not None and key[1] >= due:
                break
            if not self._idle(key[2]):
                due = key[1]
                break
        return due

    def _idle(self, contract: str) -> bool:
        # whether the contract's epoch would be a no-op now (the host's check)
        check = self._epoch_idle
        return check is not None and check(contract)

    def fold_idle(self, height: int) -> None:
        """`FoldingModule`: move every idle epoch task at or below ``height`` on to its next
        height after ``height`` in its own phase (``h + k * epoch_length``; a one-shot task
        is dropped), which is what ending each of those blocks would have done: an idle
        epoch (`IdleEpochContract`) is rescheduled (C-52) and not called. Tasks whose
        contract has work are left for `end_block`."""
        if self._epoch_idle is None:
            return
        due = self._tasks.keys_between((_EPOCH,), (_EPOCH, height + 1))
        if not due:
            return
        length = self.params.epoch_length
        for key in due:
            if not self._idle(key[2]):
                continue
            repeat = self._tasks[key]
            self._unschedule(key)
            if repeat:
                start = key[1]
                steps = (height - start) // length + 1
                self.schedule(TaskType.HANDLE_EPOCH, key[2], start + steps * length, repeat=True)

    def begin_block(self, block: BlockEnv) -> list[Event]:
        """Nothing happens in begin-block (captures arrive through the staking hooks)."""
        return []

    def end_block(self, block: BlockEnv) -> list[SudoCall]:
        """C-56: the sudo calls due now, valset-update tasks first, then epoch tasks.

        Every due task is deleted and repeating ones are rescheduled at ``height +
        epoch_length`` before the calls run, so the outcome of a call never changes the
        schedule, except that a call's own ``delete_all_scheduled_tasks`` also removes the
        rescheduled task (C-53). The capture buffer is cleared after the valset reports are
        built. Never raises for a bad report: it is logged and the tasks are dropped (C-52).
        """
        height = block.height
        calls: list[SudoCall] = []
        valset_due = self._due(TaskType.VALSET_UPDATE, height)
        if valset_due:
            report: HandleValsetUpdate | None
            try:
                report = self.build_report(block)
            except ChainError as err:
                _log.warning(
                    "failed to execute scheduled task", task="valset_update", error=str(err)
                )
                report = None
            for key in valset_due:
                if report is not None:
                    calls.append(SudoCall(contract=key[2], msg=self._report_for(key[2], report)))
                self._finish(key, height)
        if self._captures:
            self._captures.clear()
        for key in self._due(TaskType.HANDLE_EPOCH, height):
            # an idle epoch is rescheduled and not called (`fold_idle`), unless a call
            # before it in this block could change what the contract would do
            if calls or not self._idle(key[2]):
                calls.append(SudoCall(contract=key[2], msg=HandleEpoch()))
            self._finish(key, height)
        return calls

    # -- validator-set pipeline (C-54..C-57) --

    def _capture(self, op: ValsetOperation, validator: str, info: _SlashInfo | None = None) -> None:
        key = (op.value, validator, info)
        if key not in self._captures:
            self._captures[key] = len(self._captures)
        height = self._staking.height
        for contract, cap in self._caps.raw_items():
            if cap > 0:
                self.schedule(TaskType.VALSET_UPDATE, contract, height, repeat=False)

    def after_validator_bonded(self, validator: str) -> None:
        """Capture ``Bonded`` (C-54)."""
        self._capture(ValsetOperation.BONDED, validator)

    def after_validator_begin_unbonding(self, validator: str) -> None:
        """Capture ``Unbonded`` (C-54)."""
        self._capture(ValsetOperation.UNBONDED, validator)

    def before_validator_modified(self, validator: str) -> None:
        """Capture ``Modified`` (C-54)."""
        self._capture(ValsetOperation.MODIFIED, validator)

    def after_validator_jailed(self, validator: str) -> None:
        """Capture ``Jailed`` (C-54)."""
        self._capture(ValsetOperation.JAILED, validator)

    def after_validator_unjailed(self, validator: str) -> None:
        """Capture ``Unjailed`` (C-54)."""
        self._capture(ValsetOperation.UNJAILED, validator)

    def after_validator_tombstoned(self, validator: str) -> None:
        """Capture ``Tombstoned`` (C-54)."""
        self._capture(ValsetOperation.TOMBSTONED, validator)

    def after_validator_slashed(self, event: SlashEvent) -> None:
        """Capture ``Slashed`` (C-54); a double-sign slash first sets the persistent
        ``tombstoned_status``; every contract's ``total_delegated`` drops by the value its
        delegation lost (C-56), and the supply offset rises by the same amount (C-58)."""
        validator = event.validator
        if event.reason is InfractionReason.DOUBLE_SIGN:
            self._tombstoned_status[validator] = True
        record = self._staking.validator(validator)
        if record is not None and event.tokens_before != event.tokens_after:
            for contract in self._caps:
                delegation = self._staking.delegation(contract, validator)
                if delegation is None:
                    continue
                shares, total = delegation.shares, record.delegator_shares
                drop = token_value(shares, event.tokens_before, total) - token_value(
                    shares, event.tokens_after, total
                )
                if drop:
                    self._delegated[contract] = max(self.total_delegated(contract) - drop, 0)
                    # the slash burned virtual tokens: keep them out of the reported supply
                    self._bank.add_supply_offset(self.bond_denom, drop)
        info = _SlashInfo(
            power=event.power,
            infraction_height=event.infraction_height,
            total_slash_amount=event.total_slash_amount,
            slash_fraction=event.slash_fraction,
        )
        self._capture(ValsetOperation.SLASHED, validator, info)

    def _validator_info(self, operator: str) -> ValsetValidator:
        record = self._staking.validator(operator)
        if record is None:
            raise Unknown(f"validator {operator}")
        return ValsetValidator(
            address=operator,
            commission=str(record.commission_rate),
            max_commission=str(record.max_rate),
            max_change_rate=str(record.max_change_rate),
        )

    def build_report(self, block: BlockEnv) -> HandleValsetUpdate:
        """C-55: this block's report with every slash's total amount. Reads and clears the
        ``tombstoned_status`` flag of every slashed validator. Raises ``Unknown`` for a
        Bonded/Modified entry of an unknown validator."""
        by_op: dict[int, list[tuple[str, int, _SlashInfo | None]]] = {
            op.value: [] for op in ValsetOperation
        }
        for (op, validator, info), seq in self._captures.raw_items():
            by_op[op].append((validator, seq, info))
        for entries in by_op.values():
            entries.sort(key=lambda e: (e[0], e[1]))

        def addresses(op: ValsetOperation) -> tuple[str, ...]:
            return tuple(v for v, _, _ in by_op[op.value])

        slashed: list[ValsetSlash] = []
        flags: dict[str, bool] = {}
        for validator, _, info in by_op[ValsetOperation.SLASHED.value]:
            assert info is not None
            if validator not in flags:
                flags[validator] = self._tombstoned_status.get(validator, False)
            slashed.append(
                ValsetSlash(
                    address=validator,
                    height=block.height,
                    time=block.time_s,
                    infraction_height=info.infraction_height,
                    infraction_time=0,
                    power=info.power,
                    slash_amount=str(info.total_slash_amount),
                    slash_ratio=str(info.slash_fraction),
                    is_tombstoned=flags[validator],
                )
            )
        for validator in flags:
            self._tombstoned_status.pop(validator, None)
        return HandleValsetUpdate(
            additions=tuple(self._validator_info(v) for v in addresses(ValsetOperation.BONDED)),
            removals=addresses(ValsetOperation.UNBONDED),
            updated=tuple(self._validator_info(v) for v in addresses(ValsetOperation.MODIFIED)),
            jailed=addresses(ValsetOperation.JAILED),
            unjailed=addresses(ValsetOperation.UNJAILED),
            tombstoned=addresses(ValsetOperation.TOMBSTONED),
            slashed=tuple(slashed),
        )

    def slash_share(self, contract: str, validator: str, total_slash_amount: int) -> int:
        """C-56: ``round_int(quo(contract_shares, delegator_shares) * total)`` (banker's
        rounding at both steps; the product by the integer is exact); 0 without shares."""
        record = self._staking.validator(validator)
        delegation = self._staking.delegation(contract, validator)
        if record is None or delegation is None or record.delegator_shares.is_zero():
            return 0
        fraction = delegation.shares.quo(record.delegator_shares)
        return fraction.mul(total_slash_amount).round_int()

    def _report_for(self, contract: str, report: HandleValsetUpdate) -> HandleValsetUpdate:
        if not report.slashed:
            return report
        slashed = tuple(
            s.model_copy(
                update={
                    "slash_amount": str(self.slash_share(contract, s.address, int(s.slash_amount)))
                }
            )
            for s in report.slashed
        )
        return report.model_copy(update={"slashed": slashed})
