"""The mesh-security chain module (consumer.md §4, C-40..C-58), tested on the module itself.

Contracts are plain addresses here: the module only needs to know who sends and whether a
contract exists. Cascades through contracts are in test_consumer_flows.py.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chains import Coin, InvalidAddress, Unauthorized
from chains.consumer import (
    AllDelegationsQuery,
    BondStatusQuery,
    DelegationRecord,
    DeleteAllScheduledTasks,
    Duplicate,
    HandleEpoch,
    HandleValsetUpdate,
    Invalid,
    InvalidCoins,
    InvalidRequest,
    InvalidSigner,
    MaxCapExceeded,
    MeshParams,
    MeshSecurityModule,
    MsgSetPriceFeedContract,
    MsgSetVirtualStakingMaxCap,
    NoValidatorFound,
    SlashRatioQuery,
    TaskType,
    TotalDelegationQuery,
    Unknown,
    UnknownMsg,
    Unsupported,
    UnsupportedRequest,
    UpdateDelegation,
    VirtualStakeBond,
    VirtualStakeUnbond,
)
from chains.contract import (
    BlockEnv,
    DistributionWithdrawReward,
    SdkDec,
    StakingDelegate,
    StakingRedelegate,
    StakingUndelegate,
    Store,
    derive_address,
)
from chains.modules import ChainModule, InvalidSharesAmount, ModuleCall, SudoCall
from tests.chains.consumer._deploy import DENOM, PREFIX, ConsumerKit, M

S = SdkDec.parse


def coin(amount: int, denom: str = DENOM) -> Coin:
    return Coin(denom=denom, amount=amount)


class Env:
    """A chain with the module, contracts ``vs`` / ``vs2`` / ``feed`` known to exist."""

    def __init__(self, mesh_params: MeshParams | None = None, *, genesis: bool = True) -> None:
        self.h = ConsumerKit(mesh_params=mesh_params or MeshParams(epoch_length=10))
        self.existing = {self.addr("vs"), self.addr("vs2"), self.addr("feed")}
        # the chain checks its contract registry; this module test uses plain addresses
        self.h.mesh._contract_exists = self.existing.__contains__
        self.mesh = self.h.mesh
        self.vals: list[str] = []
        if genesis:
            for name in "abcd":
                self.vals.append(self.h.add_validator(name, M, shares=S("1")))
            self.h.next_block()

    def addr(self, name: str) -> str:
        return derive_address(PREFIX, name)

    @property
    def vs(self) -> str:
        return self.addr("vs")

    def call(self, sender: str, msg: object) -> object:
        """``handle`` as one unit of the executor: its error is raised after the rollback."""
        return self.h.run(
            lambda ex: self.mesh.handle(ModuleCall(block=self.h.block, sender=sender), msg)
        ).unwrap()

    def gov_cap(self, contract: str, amount: int, denom: str = DENOM) -> object:
        msg = MsgSetVirtualStakingMaxCap(
            authority=self.mesh.authority, contract=contract, max_cap=coin(amount, denom)
        )
        return self.call(self.mesh.authority, msg)

    def bond(self, contract: str, validator: str, amount: int) -> object:
        return self.call(contract, VirtualStakeBond(validator=validator, amount=coin(amount)))

    def unbond(self, contract: str, validator: str, amount: int) -> object:
        return self.call(contract, VirtualStakeUnbond(validator=validator, amount=coin(amount)))


@pytest.fixture
def env() -> Env:
    return Env()


def rejected(env: Env, fn: object, expected: Exception) -> None:
    """``fn()`` raises ``expected`` and the store is as before (the executor rolled back)."""
    before = env.h.store.snapshot()
    with pytest.raises(type(expected)) as info:
        fn()  # type: ignore[operator]
    assert info.value == expected
    assert env.h.store.snapshot() == before


# -- C-40..C-44 params, caps, governance --------------------------------------------------------


def test_module_is_a_chain_module_named_virtual_stake_C_11(env: Env) -> None:
    assert isinstance(env.mesh, ChainModule)
    assert env.mesh.name == "virtual_stake"


def test_params_defaults_and_validation_C_40() -> None:
    params = MeshParams()
    assert params.total_contracts_max_cap == 10_000_000_000
    assert params.epoch_length == 1000
    assert params.max_gas_end_blocker == 500_000
    with pytest.raises(ValidationError):
        MeshParams(epoch_length=0)
    with pytest.raises(ValidationError):
        MeshParams(max_gas_end_blocker=0)


def test_max_cap_entry_even_zero_authorizes_C_41_C_50(env: Env) -> None:
    assert env.mesh.max_cap(env.vs) == 0
    rejected(env, lambda: env.bond(env.vs, env.vals[0], 1), Unauthorized())
    env.gov_cap(env.vs, 0)
    assert env.mesh.is_authorized(env.vs)
    assert env.mesh.max_cap(env.vs) == 0
    # authorized now: the refusal is the cap, not the authorization
    rejected(env, lambda: env.bond(env.vs, env.vals[0], 1), MaxCapExceeded(env.vs, 0, 0, 1))
    env.call(
        env.vs, UpdateDelegation(amount=coin(5), is_deduct=False, delegator="x", validator="v")
    )


def test_set_max_cap_checks_denom_and_total_and_overwrites_C_42(env: Env) -> None:
    mesh = env.mesh
    rejected(
        env,
        lambda: env.gov_cap(env.vs, 5, "uosmo"),
        InvalidCoins("max cap must be in stake, got uosmo"),
    )
    response = env.gov_cap(env.vs, 6_000_000_000)
    assert response.events[0].type == "max_cap_limit_updated"  # type: ignore[attr-defined]
    rejected(
        env,
        lambda: env.gov_cap(env.addr("vs2"), 4_000_000_001),
        Invalid("amount exceeds total available max cap"),
    )
    env.gov_cap(env.addr("vs2"), 4_000_000_000)
    # overwriting a contract's own cap does not count its old value
    env.gov_cap(env.vs, 5_000_000_000)
    assert mesh.max_cap(env.vs) == 5_000_000_000


def test_set_max_cap_authority_and_contract_checks_C_43(env: Env) -> None:
    mesh = env.mesh
    bad = MsgSetVirtualStakingMaxCap(
        authority=env.addr("mallory"), contract=env.vs, max_cap=coin(1)
    )
    rejected(
        env,
        lambda: env.call(env.addr("mallory"), bad),
        InvalidSigner(mesh.authority, env.addr("mallory")),
    )
    # the right authority string but sent by someone else
    forged = MsgSetVirtualStakingMaxCap(authority=mesh.authority, contract=env.vs, max_cap=coin(1))
    rejected(
        env,
        lambda: env.call(env.addr("mallory"), forged),
        InvalidSigner(mesh.authority, env.addr("mallory")),
    )
    with pytest.raises(InvalidAddress):
        env.call(mesh.authority, forged.model_copy(update={"contract": "not-an-address"}))
    # an unknown contract: scheduling fails, and the cap is not stored either
    ghost = derive_address(PREFIX, "ghost")
    rejected(env, lambda: env.gov_cap(ghost, 1), Unknown("contract"))
    assert not mesh.is_authorized(ghost)


def test_set_max_cap_schedules_one_repeating_epoch_C_43(env: Env) -> None:
    height = env.h.height
    env.gov_cap(env.vs, 100)
    env.gov_cap(env.vs, 200)
    assert env.mesh.scheduled_tasks() == ((TaskType.HANDLE_EPOCH, height + 10, env.vs, True),)
    assert env.mesh.has_repeating_epoch(env.vs)


def test_set_price_feed_contract_schedules_epoch_or_duplicate_C_44(env: Env) -> None:
    feed = env.addr("feed")
    msg = MsgSetPriceFeedContract(authority=env.mesh.authority, contract=feed)
    env.call(env.mesh.authority, msg)
    assert env.mesh.scheduled_tasks() == ((TaskType.HANDLE_EPOCH, env.h.height + 10, feed, True),)
    rejected(env, lambda: env.call(env.mesh.authority, msg), Duplicate("epoch task"))
    ghost = MsgSetPriceFeedContract(authority=env.mesh.authority, contract=env.addr("ghost"))
    rejected(env, lambda: env.call(env.mesh.authority, ghost), Unknown("contract"))
    wrong = MsgSetPriceFeedContract(authority=env.addr("x"), contract=feed)
    rejected(
        env,
        lambda: env.call(env.addr("x"), wrong),
        InvalidSigner(env.mesh.authority, env.addr("x")),
    )


# -- C-45..C-48 virtual delegation -------------------------------------------------------------


def test_bond_errors_in_order_C_46(env: Env) -> None:
    env.gov_cap(env.vs, 100)
    v = env.vals[0]
    rejected(env, lambda: env.call(env.vs, VirtualStakeBond(validator=v)), InvalidRequest("amount"))
    rejected(env, lambda: env.bond(env.vs, v, 0), InvalidRequest("amount"))
    rejected(
        env,
        lambda: env.call(env.vs, VirtualStakeBond(validator=v, amount=coin(5, "uosmo"))),
        InvalidRequest("invalid coin denomination"),
    )
    rejected(
        env, lambda: env.bond(env.vs, env.addr("nobody"), 5), NoValidatorFound(env.addr("nobody"))
    )
    env.bond(env.vs, v, 60)
    rejected(env, lambda: env.bond(env.vs, v, 41), MaxCapExceeded(env.vs, 100, 60, 41))
    env.bond(env.vs, v, 40)
    assert env.mesh.total_delegated(env.vs) == 100


def test_bond_mints_offsets_supply_and_delegates_C_46_C_58(env: Env) -> None:
    bank, v = env.h.bank, env.vals[0]
    env.gov_cap(env.vs, 10 * M)
    supply, reported = bank.supply(DENOM), bank.reported_supply(DENOM)
    response = env.bond(env.vs, v, 3 * M)
    assert response.data == S("3")  # type: ignore[attr-defined]
    event = response.events[0]  # type: ignore[attr-defined]
    assert event.type == "instant_delegate"
    assert dict(event.attributes) == {
        "module": "meshsecurity",
        "validator": v,
        "amount": "3000000stake",
        "delegator": env.vs,
    }
    assert bank.supply(DENOM) == supply + 3 * M  # the total supply does change (C-58)
    assert bank.reported_supply(DENOM) == reported  # but virtual stake is not circulating
    assert bank.supply_offset(DENOM) == -3 * M
    assert env.h.staking.delegation_value(env.vs, v) == 3 * M
    assert bank.balance(env.vs, DENOM) == 0
    assert env.mesh.total_delegated(env.vs) == 3 * M


def test_unbond_errors_and_no_delegation_noop_C_47(env: Env) -> None:
    a, b = env.vals[0], env.vals[1]
    env.gov_cap(env.vs, 10 * M)
    env.bond(env.vs, a, 3 * M)
    rejected(
        env, lambda: env.call(env.vs, VirtualStakeUnbond(validator=a)), InvalidRequest("amount")
    )
    rejected(
        env,
        lambda: env.call(env.vs, VirtualStakeUnbond(validator=a, amount=coin(1, "uosmo"))),
        InvalidRequest("invalid coin denomination"),
    )
    rejected(
        env,
        lambda: env.unbond(env.vs, a, 3 * M + 1),
        InvalidRequest("amount exceeds total delegated"),
    )
    rejected(
        env, lambda: env.unbond(env.vs, env.addr("nobody"), 1), NoValidatorFound(env.addr("nobody"))
    )
    before = env.h.store.snapshot()
    response = env.unbond(env.vs, b, M)  # no delegation to b: success, nothing happens
    assert response.data == 0  # type: ignore[attr-defined]
    assert {k: v for k, v in env.h.store.snapshot().items() if k != "staking/block"} == {
        k: v for k, v in before.items() if k != "staking/block"
    }
    env.bond(env.vs, b, M)
    rejected(env, lambda: env.unbond(env.vs, b, M + 1), InvalidSharesAmount())


def test_unbond_burns_and_restores_supply_offset_C_47_C_58(env: Env) -> None:
    bank, a = env.h.bank, env.vals[0]
    env.gov_cap(env.vs, 10 * M)
    reported = bank.reported_supply(DENOM)
    env.bond(env.vs, a, 3 * M)
    response = env.unbond(env.vs, a, M)
    assert response.data == M  # type: ignore[attr-defined]
    assert dict(response.events[0].attributes) == {  # type: ignore[attr-defined]
        "module": "meshsecurity",
        "validator": a,
        "amount": "1000000stake",
        "sender": env.vs,
    }
    assert response.events[0].type == "instant_unbond"  # type: ignore[attr-defined]
    assert env.mesh.total_delegated(env.vs) == 2 * M
    assert bank.supply_offset(DENOM) == -2 * M
    assert bank.reported_supply(DENOM) == reported
    assert bank.balance(env.vs, DENOM) == 0
    env.unbond(env.vs, a, 2 * M)
    assert env.h.staking.delegation(env.vs, a) is None
    assert bank.supply_offset(DENOM) == 0


def test_delegation_records_add_subtract_delete_C_48(env: Env) -> None:
    env.gov_cap(env.vs, 0)

    def update(
        amount: int, deduct: bool, delegator: str = "osmo1user", validator: str = "v1"
    ) -> None:
        msg = UpdateDelegation(
            amount=coin(amount), is_deduct=deduct, delegator=delegator, validator=validator
        )
        env.call(env.vs, msg)

    update(10, False)
    update(5, False, validator="v0")
    update(7, False, delegator="cosmos1other")  # any provider format: not validated (C-48)
    update(4, True)
    records = env.mesh.delegation_records(env.vs)
    assert records == (
        DelegationRecord(delegator="cosmos1other", validator="v1", amount=7),
        DelegationRecord(delegator="osmo1user", validator="v0", amount=5),
        DelegationRecord(delegator="osmo1user", validator="v1", amount=6),
    )
    update(6, True)  # exactly 0: deleted
    # decision: a larger deduction deletes the record instead of storing a negative amount
    update(9, True, validator="v0")
    assert env.mesh.delegation_records(env.vs) == (
        DelegationRecord(delegator="cosmos1other", validator="v1", amount=7),
    )
    answer = env.mesh.query(env.h.block, AllDelegationsQuery(contract=env.vs, max_retrieve=0))
    assert answer.delegations == ()


def test_delegator_is_not_validated_unlike_reference_C_48(env: Env) -> None:
    # Reference: the delegator is parsed with the consumer's bech32 prefix; "osmo1..." would fail.
    env.gov_cap(env.vs, 0)
    provider_user = derive_address("osmo", "user")
    env.call(
        env.vs,
        UpdateDelegation(amount=coin(3), is_deduct=False, delegator=provider_user, validator="v"),
    )
    with pytest.raises(InvalidAddress):
        env.h.validate(provider_user)
    assert env.mesh.delegation_records(env.vs)[0].delegator == provider_user


def test_custom_queries_C_49(env: Env) -> None:
    mesh, block, a = env.mesh, env.h.block, env.vals[0]
    never = mesh.query(block, BondStatusQuery(contract=env.addr("never")))
    assert (never.cap, never.delegated) == (coin(0), coin(0))
    env.gov_cap(env.vs, 10 * M)
    env.bond(env.vs, a, 3 * M)
    status = mesh.query(block, BondStatusQuery(contract=env.vs))
    assert (status.cap, status.delegated) == (coin(10 * M), coin(3 * M))
    ratios = mesh.query(block, SlashRatioQuery())
    assert ratios.slash_fraction_downtime == "0.100000000000000000"  # e2e profile (C-13)
    assert ratios.slash_fraction_double_sign == "0.100000000000000000"
    assert mesh.query(block, TotalDelegationQuery(contract=env.vs, validator=a)).delegation == coin(
        3 * M
    )
    assert mesh.query(
        block, TotalDelegationQuery(contract=env.vs, validator=env.vals[1])
    ).delegation == coin(0)
    for i in range(3):
        env.call(
            env.vs,
            UpdateDelegation(amount=coin(1), is_deduct=False, delegator=f"d{i}", validator=a),
        )
    answer = mesh.query(block, AllDelegationsQuery(contract=env.vs, max_retrieve=2))
    assert [r.delegator for r in answer.delegations] == ["d0", "d1"]
    with pytest.raises(UnsupportedRequest):
        mesh.query(block, HandleEpoch())


def test_default_slash_ratio_strings_C_38_C_49() -> None:
    from chains.modules import StakingParams

    h = ConsumerKit(params=StakingParams())
    answer = h.mesh.query(h.block, SlashRatioQuery())
    assert answer.slash_fraction_downtime == "0.010000000000000000"
    assert answer.slash_fraction_double_sign == "0.050000000000000000"


def test_integrity_rule_blocks_native_staking_from_capped_contracts_C_50(env: Env) -> None:
    v = env.vals[0]
    staking_msgs = (
        StakingDelegate(validator=v, amount=coin(1)),
        StakingUndelegate(validator=v, amount=coin(1)),
        StakingRedelegate(src_validator=v, dst_validator=env.vals[1], amount=coin(1)),
    )
    for msg in staking_msgs:
        env.mesh.check_message(env.vs, msg)  # no entry: ordinary contract, allowed
    env.gov_cap(env.vs, 0)
    for msg in staking_msgs:
        with pytest.raises(Unsupported):
            env.mesh.check_message(env.vs, msg)
    env.mesh.check_message(env.vs, DistributionWithdrawReward(validator=v))
    with pytest.raises(UnknownMsg):
        env.call(env.vs, HandleEpoch())


# -- C-51..C-53 scheduler -----------------------------------------------------------------------


def test_schedule_rules_C_51(env: Env) -> None:
    mesh, h = env.mesh, env.h.height
    with pytest.raises(Invalid):
        mesh.schedule(TaskType.HANDLE_EPOCH, env.vs, h - 1, repeat=False)
    mesh.schedule(TaskType.HANDLE_EPOCH, env.vs, h + 5, repeat=True)
    mesh.schedule(TaskType.HANDLE_EPOCH, env.vs, h + 5, repeat=False)  # repeat flag preserved
    mesh.schedule(TaskType.VALSET_UPDATE, env.vs, h + 5, repeat=False)
    mesh.schedule(TaskType.VALSET_UPDATE, env.vs, h + 5, repeat=False)  # one-shot exists: as is
    mesh.schedule(TaskType.VALSET_UPDATE, env.vs, h + 5, repeat=True)  # repeating overwrites
    assert mesh.scheduled_tasks() == (
        (TaskType.HANDLE_EPOCH, h + 5, env.vs, True),
        (TaskType.VALSET_UPDATE, h + 5, env.vs, True),
    )


def test_repeating_task_rescheduled_even_if_it_fails_C_52() -> None:
    """Task at 1_234_567 with epoch_length 100 → next at 1_234_667, even if it failed."""
    from chains.modules import Bank, StakingModule

    store = Store()
    staking = StakingModule(store, Bank(store), account_prefix=PREFIX)
    mesh = MeshSecurityModule(staking, account_prefix=PREFIX, params=MeshParams(epoch_length=100))
    contract = derive_address(PREFIX, "vs")
    staking.begin_block(1_234_567, 1_700_000_000)
    mesh.schedule(TaskType.HANDLE_EPOCH, contract, 1_234_567, repeat=True)
    block = BlockEnv(chain_id="c", height=1_234_567, time_s=1_700_000_000)
    calls = mesh.end_block(block)
    assert calls == [SudoCall(contract=contract, msg=HandleEpoch())]
    # the host runs the call; whatever its outcome, the task is already rescheduled
    assert mesh.scheduled_tasks() == ((TaskType.HANDLE_EPOCH, 1_234_667, contract, True),)
    result = mesh.task_result(calls[0], Unauthorized())
    assert result.exec_error == "Unauthorized"
    assert result.next_run_height == 1_234_667
    assert result.gas_limit == 500_000


def test_due_tasks_run_by_height_then_contract_C_52(env: Env) -> None:
    mesh, h = env.mesh, env.h.height
    x, y = sorted([env.addr("vs"), env.addr("vs2")])
    mesh.schedule(TaskType.HANDLE_EPOCH, y, h, repeat=False)
    mesh.schedule(TaskType.HANDLE_EPOCH, x, h, repeat=False)
    mesh.schedule(TaskType.HANDLE_EPOCH, y, h + 1, repeat=False)
    calls = mesh.end_block(env.h.block)
    assert [c.contract for c in calls] == [x, y]
    assert mesh.scheduled_tasks() == ((TaskType.HANDLE_EPOCH, h + 1, y, False),)


def test_failed_task_reverts_only_itself_and_block_goes_on_C_52(env: Env) -> None:
    # a scheduled contract that does not exist: its sudo fails, the block still ends
    env.mesh.schedule(TaskType.HANDLE_EPOCH, env.addr("ghost"), env.h.height, repeat=True)
    env.h.next_block()
    assert [f.contract for f in env.h.sudo_failures] == [env.addr("ghost")]
    assert env.mesh.scheduled_tasks()[0][1] == env.h.height - 1 + 10


def test_delete_all_scheduled_tasks_only_own_epoch_tasks_C_53(env: Env) -> None:
    mesh, h = env.mesh, env.h.height
    other = env.addr("vs2")
    env.gov_cap(env.vs, 0)
    mesh.schedule(TaskType.HANDLE_EPOCH, env.vs, h + 3, repeat=False)
    mesh.schedule(TaskType.VALSET_UPDATE, env.vs, h + 3, repeat=False)
    mesh.schedule(TaskType.HANDLE_EPOCH, other, h + 3, repeat=True)
    env.call(env.vs, DeleteAllScheduledTasks())
    assert mesh.scheduled_tasks() == (
        (TaskType.HANDLE_EPOCH, h + 3, other, True),
        (TaskType.VALSET_UPDATE, h + 3, env.vs, False),
    )


def test_delete_during_own_epoch_is_not_undone_by_rescheduling_C_53(env: Env) -> None:
    """Reference: the rescheduling step re-adds the task, so the contract keeps its epochs."""
    mesh = env.mesh
    env.gov_cap(env.vs, 0)
    env.h.run_until(mesh.scheduled_tasks()[0][1])
    calls = mesh.end_block(env.h.block)
    assert calls == [SudoCall(contract=env.vs, msg=HandleEpoch())]
    # the epoch call itself issues delete_all_scheduled_tasks (as a zero-cap VS does, C-96)
    env.call(env.vs, DeleteAllScheduledTasks())
    assert mesh.scheduled_tasks() == ()


# -- C-54..C-57 validator-set pipeline -----------------------------------------------------------


def test_captures_schedule_valset_tasks_for_positive_caps_only_C_54(env: Env) -> None:
    env.gov_cap(env.vs, 0)
    env.gov_cap(env.addr("vs2"), 5)
    env.h.staking.set_commission(env.vals[0], S("0.1"))
    kinds = [(t, c) for t, _, c, _ in env.mesh.scheduled_tasks() if t is TaskType.VALSET_UPDATE]
    assert kinds == [(TaskType.VALSET_UPDATE, env.addr("vs2"))]


def test_captures_are_deduplicated_per_operation_and_validator_C_54(env: Env) -> None:
    env.gov_cap(env.vs, 5)
    v = env.vals[0]
    env.h.staking.set_commission(v, S("0.1"))
    env.h.staking.set_commission(v, S("0.2"))
    report = env.mesh.build_report(env.h.block)
    assert [u.address for u in report.updated] == [v]
    assert report.updated[0].commission == "0.200000000000000000"


def _vs_delegating(env: Env, validator: str, amount: int) -> None:
    env.gov_cap(env.vs, 9 * 10**9)
    env.bond(env.vs, validator, amount)


def test_slash_share_examples_C_56(env: Env) -> None:
    """46_000_000 tokens / 46 shares, contract holds 45: 4_600_000 → 4_500_000;
    10_000_000 → 9_782_609. 68.5 shares / 67.5 held, total 6_800_000 → 6_700_730."""
    a, b = env.vals[0], env.vals[1]
    _vs_delegating(env, a, 45 * M)
    assert env.mesh.slash_share(env.vs, a, 4_600_000) == 4_500_000
    assert env.mesh.slash_share(env.vs, a, 10_000_000) == 9_782_609
    env.bond(env.vs, b, 67_500_000)
    assert env.mesh.slash_share(env.vs, b, 6_800_000) == 6_700_730
    assert env.mesh.slash_share(env.vs, env.vals[2], 6_800_000) == 0  # no delegation
    assert env.mesh.slash_share(env.addr("vs2"), a, 4_600_000) == 0


def test_downtime_report_with_contract_share_C_55_C_56_C_57(env: Env) -> None:
    a = env.vals[0]
    _vs_delegating(env, a, 45 * M)
    env.h.next_block()  # a now has power 46
    burned = env.h.staking.force_downtime(a)
    assert burned == 4_600_000
    env.h.staking.end_block(env.h.height, env.h.time_s)
    calls = env.mesh.end_block(env.h.block)
    assert len(calls) == 1 and calls[0].contract == env.vs
    report = calls[0].msg
    assert isinstance(report, HandleValsetUpdate)
    assert report.removals == (a,)
    assert [u.address for u in report.updated] == [a]
    assert report.jailed == (a,)
    assert report.additions == report.unjailed == report.tombstoned == ()
    (slash,) = report.slashed
    assert slash.address == a
    assert slash.slash_amount == "4500000"  # the contract's share, not 4_600_000
    assert slash.slash_ratio == "0.100000000000000000"
    assert slash.power == 46
    assert slash.infraction_height == env.h.height - 2
    assert (slash.height, slash.time, slash.infraction_time) == (env.h.height, env.h.time_s, 0)
    assert slash.is_tombstoned is False
    # the buffer is cleared once reported
    env.h.next_block()
    env.h.staking.end_block(env.h.height, env.h.time_s)
    assert env.mesh.end_block(env.h.block) == []


def test_double_sign_report_identical_for_every_contract_C_55_C_57(env: Env) -> None:
    """Reference: the is_tombstoned flag is cleared by the first contract's report, so a
    second contract would see false."""
    a = env.vals[0]
    _vs_delegating(env, a, 45 * M)
    env.gov_cap(env.addr("vs2"), 10**6)
    env.h.next_block()
    record = env.h.staking.validator(a)
    assert record is not None
    burned = env.h.staking.submit_equivocation(
        record.consensus_address, env.h.height - 1, env.h.time_s - 5, 100
    )
    assert burned == 10_000_000
    env.h.staking.end_block(env.h.height, env.h.time_s)
    calls = env.mesh.end_block(env.h.block)
    assert sorted(c.contract for c in calls) == sorted([env.vs, env.addr("vs2")])
    reports = {c.contract: c.msg for c in calls}
    for report in reports.values():
        assert report.removals == (a,) and report.jailed == (a,) and report.tombstoned == (a,)
        assert [u.address for u in report.updated] == [a]
        assert report.slashed[0].is_tombstoned is True
    assert reports[env.vs].slashed[0].slash_amount == "9782609"
    assert reports[env.addr("vs2")].slashed[0].slash_amount == "0"


def test_new_validator_and_unjail_reports_C_57(env: Env) -> None:
    h, mesh = env.h, env.mesh
    env.gov_cap(env.vs, 5)
    e = h.add_validator("e", 2 * M)
    h.staking.end_block(h.height, h.time_s)
    report = mesh.build_report(h.block)
    assert [v.address for v in report.additions] == [e]
    assert report.removals == report.unjailed == ()
    # downtime jail, wait out the jail, unjail: re-entry gives additions + unjailed
    # (e keeps power 1 after the 10% slash; the genesis validators would drop to 0)
    h.next_block()
    h.staking.force_downtime(e)
    h.next_block(seconds=700)
    h.staking.unjail(e)
    h.staking.end_block(h.height, h.time_s)
    report = mesh.build_report(h.block)
    assert [v.address for v in report.additions] == [e]
    assert report.unjailed == (e,)
    assert report.removals == report.jailed == ()


def test_unjail_without_reentry_reports_only_unjailed_C_57() -> None:
    from chains.modules import StakingParams

    env = Env(genesis=False)
    env.h = ConsumerKit(
        params=StakingParams.e2e_consumer().model_copy(update={"max_validators": 1})
    )
    env.mesh = env.h.mesh
    env.mesh._contract_exists = env.existing.__contains__
    h, mesh = env.h, env.mesh
    big = h.add_validator("big", 5 * M)
    small = h.add_validator("small", 2 * M)
    h.next_block()
    env.gov_cap(env.vs, 5)
    h.staking.force_downtime(big)  # small enters, big leaves
    h.next_block(seconds=700)
    # big's power drops below small's, so unjailing it does not win the seat back
    h.staking.undelegate(h.address("big"), big, 4 * M)
    h.staking.unjail(big)
    h.staking.end_block(h.height, h.time_s)
    report = mesh.build_report(h.block)
    assert report.unjailed == (big,)
    assert report.additions == ()
    assert small not in report.removals


def test_total_delegated_follows_slashes_unlike_reference_C_56(env: Env) -> None:
    """Reference: total_delegated ignores the slash, so the usable cap shrinks by the slashed
    amount and re-bonding up to the cap fails with MaxCapExceeded."""
    a, b = env.vals[0], env.vals[1]
    env.gov_cap(env.vs, 45 * M)
    env.bond(env.vs, a, 45 * M)
    env.h.next_block()
    env.h.staking.force_downtime(a)
    live = env.h.staking.delegation_value(env.vs, a)
    assert live == 40_500_000
    assert env.mesh.total_delegated(env.vs) == live
    # the cap is measured against live stake: 4_500_000 more fit
    env.bond(env.vs, b, 4_500_000)
    rejected(env, lambda: env.bond(env.vs, b, 1), MaxCapExceeded(env.vs, 45 * M, 45 * M, 1))


def test_unknown_validator_in_report_is_logged_not_raised_C_52_C_55(env: Env) -> None:
    env.gov_cap(env.vs, 5)
    env.mesh.after_validator_bonded(env.addr("phantom"))
    with pytest.raises(Unknown):
        env.mesh.build_report(env.h.block)
    calls = env.mesh.end_block(env.h.block)
    assert calls == []  # the valset task is dropped, the block goes on
    assert not [t for t in env.mesh.scheduled_tasks() if t[0] is TaskType.VALSET_UPDATE]


def test_end_blocker_runs_valset_tasks_before_epoch_tasks_C_56(env: Env) -> None:
    env.gov_cap(env.vs, 5)
    epoch_height = env.mesh.scheduled_tasks()[0][1]
    env.h.run_until(epoch_height)
    env.h.staking.set_commission(env.vals[0], S("0.1"))
    calls = env.mesh.end_block(env.h.block)
    assert [type(c.msg) for c in calls] == [HandleValsetUpdate, HandleEpoch]


def test_total_delegated_is_the_live_value_at_any_share_rate_C_46_C_47_C_104(env: Env) -> None:
    """Decision: on a validator slashed earlier (rate 0.9 token/share) a bond of 241 is worth
    240 and the counter records 240, not the bonded amount; an unbond subtracts the value the
    delegation lost. Counting amounts drifted away from the live stake (property tests)."""
    a = env.vals[0]
    env.gov_cap(env.vs, 10**6)
    env.h.staking.force_downtime(a)  # tokens 900_000 for 1 share: rate 0.9
    env.bond(env.vs, a, 241)
    live = env.h.staking.delegation_value(env.vs, a)
    assert live == 240
    assert env.mesh.total_delegated(env.vs) == live
    burned = env.unbond(env.vs, a, 100).data  # type: ignore[attr-defined]
    assert burned == 99  # the tokens released, truncated (C-19)
    # 240 - 99 would be 141 too here; the counter is the live value either way
    assert env.mesh.total_delegated(env.vs) == env.h.staking.delegation_value(env.vs, a) == 141
    # at a rate of 1 the counter moves by the amounts themselves (every spec example)
    b = env.vals[1]
    before = env.mesh.total_delegated(env.vs)
    env.bond(env.vs, b, 1000)
    assert env.mesh.total_delegated(env.vs) == before + 1000


def test_slash_of_virtual_stake_raises_supply_offset_C_58(env: Env) -> None:
    """Decision: the slash burns virtual tokens, so they leave the offset as an unbond's burn
    would; the reported supply never counts virtual stake."""
    bank, a = env.h.bank, env.vals[0]
    env.gov_cap(env.vs, 10**9)
    reported = bank.reported_supply(DENOM)
    env.bond(env.vs, a, 9 * M)  # a: 10_000_000 tokens, the VS holds 9/10
    env.h.next_block()
    burned = env.h.staking.force_downtime(a)
    assert burned == 1_000_000
    assert bank.supply_offset(DENOM) == -9 * M + 900_000
    # the 100_000 burned from the operator's own stake do leave the reported supply
    assert bank.reported_supply(DENOM) == reported - 100_000
