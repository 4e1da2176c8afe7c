"""The virtual staking core on its own (consumer.md §7, C-86..C-102, C-107..C-110).

The core runs on a bare ``Store`` with a fake querier standing in for the chain: it answers
the mesh module's custom queries from plain attributes and the bank balance from a dict.
Assertions are on storage and on the returned messages.
"""

from __future__ import annotations

from typing import Any

import pytest

from chains import Coin, Unauthorized
from chains.consumer import (
    AllDelegationsQuery,
    AllDelegationsResponse,
    AllStakeResponse,
    BondStatusQuery,
    BondStatusResponse,
    ConverterInternalUnstake,
    ConverterValsetUpdate,
    DelegationRecord,
    DeleteAllScheduledTasks,
    DistributeRewards,
    GetAllStake,
    GetStake,
    HandleCloseChannel,
    HandleEpoch,
    HandleValsetUpdate,
    InsufficientBond,
    InternalUnbond,
    InvalidReplyId,
    RewardPayment,
    SlashedValidator,
    StakeResponse,
    TotalDelegationQuery,
    TotalDelegationResponse,
    UpdateDelegation,
    ValsetSlash,
    ValsetValidator,
    VirtualStakeBond,
    VirtualStakeUnbond,
    VirtualStaking,
    VirtualStakingBond,
    VirtualStakingBurn,
    VirtualStakingConfig,
    VirtualStakingConfigQuery,
    VirtualStakingInstantiate,
    VirtualStakingUnbond,
)
from chains.contract import (
    BlockEnv,
    ContractStorage,
    CustomMsg,
    Deps,
    DistributionWithdrawReward,
    Env,
    InsufficientDelegations,
    MessageInfo,
    NonPayable,
    NotFound,
    Reply,
    ReplyOn,
    Response,
    Store,
    SubMsg,
    WasmExecute,
    WrongDenom,
    derive_address,
    distribute_burn,
)
from chains.modules import NoDelegation

DENOM = "stake"
VS = derive_address("stars", "vs")
CONVERTER = derive_address("stars", "converter")


class FakeQuerier:
    """The chain as the VS sees it: cap, records, live delegations and balances."""

    def __init__(self) -> None:
        self.cap = 0
        self.records: list[DelegationRecord] = []
        self.live: dict[str, int] = {}
        # what the chain holds for validators not in ``live``: the VS's own view at the
        # start of the call (set by ``Vs``), i.e. no rounding dust
        self.default_live: dict[str, int] = {}
        self.balances: dict[str, int] = {}
        self.custom_calls: list[Any] = []

    def balance(self, address: str, denom: str) -> int:
        return self.balances.get(address, 0)

    def smart(self, contract_addr: str, msg: Any) -> Any:
        raise AssertionError("the VS makes no smart queries")

    def bonded_denom(self) -> str:
        return DENOM

    def custom(self, module: str, msg: Any) -> Any:
        assert module == "virtual_stake"
        self.custom_calls.append(msg)
        if isinstance(msg, BondStatusQuery):
            return BondStatusResponse(
                cap=Coin(denom=DENOM, amount=self.cap), delegated=Coin(denom=DENOM, amount=0)
            )
        if isinstance(msg, AllDelegationsQuery):
            return AllDelegationsResponse(delegations=tuple(self.records[: msg.max_retrieve]))
        if isinstance(msg, TotalDelegationQuery):
            amount = self.live.get(msg.validator, self.default_live.get(msg.validator, 0))
            return TotalDelegationResponse(delegation=Coin(denom=DENOM, amount=amount))
        raise AssertionError(f"unexpected query {msg!r}")

    def module(self, name: str) -> Any:
        raise AssertionError("no module handles")


class Vs:
    def __init__(self, max_retrieve: int = 100) -> None:
        self.store = Store()
        self.q = FakeQuerier()
        deps = Deps(ContractStorage(self.store, VS), self.q, lambda a: a, "consumer-1")
        self.core = VirtualStaking(deps)
        self.height = 10
        self.core.instantiate(
            self.env(),
            MessageInfo(sender=CONVERTER),
            VirtualStakingInstantiate(max_retrieve=max_retrieve, tombstoned_unbond_enable=True),
        )

    def env(self) -> Env:
        return Env(
            block=BlockEnv(chain_id="consumer-1", height=self.height, time_s=1000 + self.height),
            contract_address=VS,
        )

    def execute(self, msg: Any, sender: str = CONVERTER, funds: tuple[Coin, ...] = ()) -> Response:
        self.q.default_live = dict(self.core.bonded())
        with self.store.atomic():
            return self.core.execute(self.env(), MessageInfo(sender=sender, funds=funds), msg)

    def bond(self, validator: str, amount: int, delegator: str = "osmo1u") -> Response:
        return self.execute(
            VirtualStakingBond(delegator=delegator, validator=validator, amount=coin(amount))
        )

    def unbond(self, validator: str, amount: int, delegator: str = "osmo1u") -> Response:
        return self.execute(
            VirtualStakingUnbond(delegator=delegator, validator=validator, amount=coin(amount))
        )

    def sudo(self, msg: Any) -> Response:
        self.q.default_live = dict(self.core.bonded())
        with self.store.atomic():
            return self.core.sudo(self.env(), msg)

    def epoch(self) -> Response:
        self.height += 1
        return self.sudo(HandleEpoch())

    def set_bonded(self, bonded: dict[str, int]) -> None:
        self.core._bonded.save(tuple(sorted(bonded.items())))

    def reply(self, ok: bool = True) -> Response:
        error = None if ok else NoDelegation(VS, "v")
        return self.core.reply(self.env(), Reply(id=1, ok=ok, error=error))


def coin(amount: int) -> Coin:
    return Coin(denom=DENOM, amount=amount)


def rebalance(response: Response) -> list[tuple[str, str, int]]:
    """The bond/unbond custom messages of a response, in order."""
    out: list[tuple[str, str, int]] = []
    for sub in response.messages:
        msg = sub.msg
        if isinstance(msg, CustomMsg) and isinstance(
            msg.msg, VirtualStakeBond | VirtualStakeUnbond
        ):
            kind = "bond" if isinstance(msg.msg, VirtualStakeBond) else "unbond"
            assert msg.msg.amount is not None
            out.append((kind, msg.msg.validator, msg.msg.amount.amount))
    return out


def withdrawals(response: Response) -> list[str]:
    return [
        sub.msg.validator
        for sub in response.messages
        if isinstance(sub.msg, DistributionWithdrawReward)
    ]


@pytest.fixture
def vs() -> Vs:
    return Vs()


def rejected(vs: Vs, fn: Any, expected: Exception) -> None:
    before = vs.store.snapshot()
    with pytest.raises(type(expected)) as info:
        fn()
    assert info.value == expected
    assert vs.store.snapshot() == before


# -- C-86, C-87, C-101 ---------------------------------------------------------------------------


def test_instantiate_records_converter_and_denom_C_86_C_87(vs: Vs) -> None:
    config = vs.core.config()
    assert (config.denom, config.converter) == (DENOM, CONVERTER)
    assert config.max_retrieve == 100 and config.tombstoned_unbond_enable is True
    assert vs.core.bond_requests() == {} and vs.core.bonded() == ()
    assert vs.core.slash_requests() == () and vs.core.inactive() == {}
    assert vs.core.rewards_batch() == () and vs.core._batch_total.load() == 0
    fresh = Vs()
    with pytest.raises(NonPayable):
        fresh.core.instantiate(
            fresh.env(),
            MessageInfo(sender=CONVERTER, funds=(coin(1),)),
            VirtualStakingInstantiate(max_retrieve=1, tombstoned_unbond_enable=False),
        )


def test_queries_C_101(vs: Vs) -> None:
    vs.set_bonded({"b": 0, "a": 7})
    env = vs.env()
    assert vs.core.query(env, VirtualStakingConfigQuery()) == VirtualStakingConfig(
        denom=DENOM, converter=CONVERTER
    )
    assert vs.core.query(env, GetStake(validator="a")) == StakeResponse(stake=7)
    assert vs.core.query(env, GetStake(validator="zz")) == StakeResponse(stake=0)
    assert vs.core.query(env, GetAllStake()) == AllStakeResponse(stakes=(("a", 7), ("b", 0)))


# -- C-88..C-93 executes -------------------------------------------------------------------------


def test_executes_are_converter_only_nonpayable_right_denom_C_88(vs: Vs) -> None:
    bond = VirtualStakingBond(delegator="d", validator="v", amount=coin(5))
    rejected(vs, lambda: vs.execute(bond, sender=derive_address("stars", "x")), Unauthorized())
    rejected(vs, lambda: vs.execute(bond, funds=(coin(1),)), NonPayable())
    wrong = bond.model_copy(update={"amount": Coin(denom="uosmo", amount=5)})
    rejected(vs, lambda: vs.execute(wrong), WrongDenom("uosmo", DENOM))
    rejected(vs, lambda: vs.execute(HandleCloseChannel(), sender="x"), Unauthorized())


def test_bond_adds_request_and_records_delegation_C_88(vs: Vs) -> None:
    response = vs.bond("v", 5, delegator="osmo1alice")
    vs.bond("v", 3)
    assert vs.core.bond_requests() == {"v": 8}
    assert response.messages == (
        SubMsg(
            msg=CustomMsg(
                module="virtual_stake",
                msg=UpdateDelegation(
                    amount=coin(5), is_deduct=False, delegator="osmo1alice", validator="v"
                ),
            )
        ),
    )
    # no cap check here; nothing is delegated before the epoch (§8)
    assert vs.core.bonded() == ()


def test_unbond_checks_and_subtracts_C_89(vs: Vs) -> None:
    rejected(vs, lambda: vs.unbond("v", 1), NotFound("bond request", "v"))
    vs.bond("v", 5)
    rejected(vs, lambda: vs.unbond("v", 6), InsufficientBond("v", 6))
    response = vs.unbond("v", 5)
    assert vs.core.bond_requests() == {"v": 0}
    (sub,) = response.messages
    assert isinstance(sub.msg, CustomMsg) and sub.msg.msg.is_deduct is True


@pytest.mark.parametrize(
    ("stakes", "amount", "burned", "shares"),
    [
        ([100, 200, 300], 100, 100, [34, 33, 33]),
        ([100, 1], 101, 101, [100, 1]),
        ([100, 1], 102, 52, [51, 1]),
        ([29, 30, 31, 1], 91, 67, [22, 22, 22, 1]),
        ([5, 20], 5, 5, [3, 2]),
        ([5, 10], 15, 15, [5, 10]),
        ([5, 10], 20, 15, [5, 10]),
    ],
)
def test_distribute_burn_examples_C_91(
    stakes: list[int], amount: int, burned: int, shares: list[int]
) -> None:
    pairs = [(f"v{i}", s) for i, s in enumerate(stakes)]
    total, split = distribute_burn(pairs, amount)  # the provider's P-17 split, shared
    assert total == burned
    assert [split.get(v, 0) for v, _ in pairs] == shares


def test_burn_splits_over_requests_or_fails_whole_C_90(vs: Vs) -> None:
    vs.bond("a", 5)
    vs.bond("b", 10)
    burn = VirtualStakingBurn(validators=("a", "b", "c"), amount=coin(20))
    rejected(vs, lambda: vs.execute(burn), InsufficientDelegations(VS, 20))
    none = VirtualStakingBurn(validators=("c",), amount=coin(1))
    rejected(vs, lambda: vs.execute(none), InsufficientDelegations(VS, 1))
    vs.execute(VirtualStakingBurn(validators=("a", "b"), amount=coin(15)))
    assert vs.core.bond_requests() == {"a": 0, "b": 0}
    assert vs.core.burned() == {"a": 5, "b": 10}


def test_internal_unbond_unbonds_now_and_lowers_only_its_entry_C_92(vs: Vs) -> None:
    """Reference: bonded is overwritten with a snapshot of all requests."""
    vs.bond("a", 50)
    vs.bond("b", 40)
    vs.set_bonded({"a": 30, "b": 20})  # the cap held both below their requests
    vs.q.live = {"a": 30, "b": 20}
    rejected(
        vs,
        lambda: vs.execute(InternalUnbond(delegator="d", validator="c", amount=coin(1))),
        NotFound("bond request", "c"),
    )
    rejected(
        vs,
        lambda: vs.execute(InternalUnbond(delegator="d", validator="a", amount=coin(51))),
        InsufficientBond("a", 51),
    )
    response = vs.execute(InternalUnbond(delegator="d", validator="a", amount=coin(45)))
    assert vs.core.bond_requests() == {"a": 5, "b": 40}
    assert vs.core.bonded() == (("a", 0), ("b", 20))  # saturating; b untouched (not 40)
    update, unbond = (s.msg for s in response.messages)
    assert isinstance(update, CustomMsg) and update.msg.is_deduct
    # the real unbond is capped at the live delegation (decision, as C-93): 30, not 45
    assert unbond == CustomMsg(
        module="virtual_stake", msg=VirtualStakeUnbond(validator="a", amount=coin(30))
    )
    vs.q.live = {"a": 0, "b": 20}
    response = vs.execute(InternalUnbond(delegator="d", validator="a", amount=coin(5)))
    assert len(response.messages) == 1  # nothing delegated: only the record update


def test_close_channel_unbonds_records_capped_at_live_value_C_93(vs: Vs) -> None:
    """Reference: unbonds the full record amounts, so after a slash the unbond fails with
    InvalidSharesAmount and with it the whole close callback."""
    vs.bond("a", 60, delegator="u1")
    vs.bond("a", 40, delegator="u2")
    vs.bond("b", 10, delegator="u1")
    vs.q.records = [
        DelegationRecord(delegator="u1", validator="a", amount=60),
        DelegationRecord(delegator="u1", validator="b", amount=10),
        DelegationRecord(delegator="u2", validator="a", amount=40),
    ]
    vs.q.live = {"a": 90, "b": 10}  # a was slashed by 10
    response = vs.execute(HandleCloseChannel())
    msgs = [s.msg for s in response.messages]
    assert msgs[0] == CustomMsg(module="virtual_stake", msg=DeleteAllScheduledTasks())
    assert rebalance(response) == [("unbond", "a", 60), ("unbond", "b", 10), ("unbond", "a", 30)]
    deducts = [m.msg.amount.amount for m in msgs if isinstance(m.msg, UpdateDelegation)]
    assert deducts == [60, 10, 40]  # the full record amounts
    assert vs.core.bond_requests() == {"a": 0, "b": 0}
    assert vs.core.bonded() == (("a", 0), ("b", 0))
    queried = [m.validator for m in vs.q.custom_calls if isinstance(m, TotalDelegationQuery)]
    assert queried == ["a", "b"]  # once per validator


def test_close_channel_zero_remaining_emits_no_unbond_C_93(vs: Vs) -> None:
    vs.bond("a", 5)
    vs.q.records = [DelegationRecord(delegator="u", validator="a", amount=5)]
    vs.q.live = {}
    response = vs.execute(HandleCloseChannel())
    assert rebalance(response) == []
    assert any(isinstance(s.msg.msg, UpdateDelegation) for s in response.messages[1:])  # type: ignore[union-attr]


# -- C-94 valset updates ---------------------------------------------------------------------------


def _slash(address: str, amount: int, tombstoned: bool = False) -> ValsetSlash:
    return ValsetSlash(
        address=address,
        height=10,
        time=1010,
        infraction_height=8,
        power=46,
        slash_amount=str(amount),
        slash_ratio="0.100000000000000000",
        is_tombstoned=tombstoned,
    )


def _validator(address: str) -> ValsetValidator:
    return ValsetValidator(
        address=address, commission="0.1", max_commission="1", max_change_rate="1"
    )


def test_valset_update_records_slashes_and_inactive_and_forwards_C_94(vs: Vs) -> None:
    response = vs.sudo(
        HandleValsetUpdate(
            removals=("r", "t"),
            tombstoned=("t",),
            jailed=("j",),
            slashed=(_slash("t", 9, True),),
            updated=(_validator("u"),),
        )
    )
    assert vs.core.inactive() == {"r": False, "t": True}  # tombstoned flag sticky
    assert vs.core.slash_requests() == (_slash("t", 9, True),)
    (sub,) = response.messages
    assert isinstance(sub.msg, WasmExecute) and sub.msg.contract_addr == CONVERTER
    forward = sub.msg.msg
    assert isinstance(forward, ConverterValsetUpdate)
    assert forward.removals == ("r", "t") and forward.jailed == ("j",)
    assert forward.slashed == (
        SlashedValidator(
            address="t",
            infraction_height=8,
            infraction_time=0,
            power=46,
            slash_amount=coin(9),
            slash_ratio="0.100000000000000000",
        ),
    )
    # additions clear inactive; a later removal keeps the sticky tombstoned flag
    vs.sudo(HandleValsetUpdate(additions=(_validator("r"),), removals=("t",)))
    assert vs.core.inactive() == {"t": True}
    # jailed / unjailed / updated alone do not touch inactive
    vs.sudo(HandleValsetUpdate(jailed=("x",), unjailed=("t",)))
    assert vs.core.inactive() == {"t": True}


# -- C-95..C-98 the epoch --------------------------------------------------------------------------


def test_epoch_withdraws_from_previous_active_targets_first_C_95_C_100(vs: Vs) -> None:
    vs.bond("a", 10)
    vs.bond("b", 10)
    vs.bond("c", 10)
    vs.set_bonded({"a": 5, "b": 0, "c": 5, "d": 5})
    vs.core._inactive["d"] = False
    vs.q.cap = 100
    response = vs.epoch()
    assert withdrawals(response) == ["a", "c"]  # b is 0, d inactive
    for sub in response.messages[:2]:
        assert sub.reply_on is ReplyOn.ALWAYS and sub.id == 1
    assert vs.core.reward_queue() == ("a", "c")
    assert rebalance(response) == [
        ("unbond", "d", 5),  # no request left for d
        ("bond", "a", 5),
        ("bond", "b", 10),
        ("bond", "c", 5),
    ]
    # withdrawals come first in the response, so they run first (C-100)
    assert all(isinstance(s.msg, DistributionWithdrawReward) for s in response.messages[:2])


def test_zero_cap_sends_internal_unstakes_and_stops_C_96(vs: Vs) -> None:
    vs.bond("a", 10)
    vs.set_bonded({"a": 10})
    vs.sudo(HandleValsetUpdate(slashed=(_slash("a", 3),)))
    vs.q.records = [
        DelegationRecord(delegator="u1", validator="a", amount=6),
        DelegationRecord(delegator="u2", validator="a", amount=4),
    ]
    response = vs.epoch()
    msgs = [s.msg for s in response.messages]
    assert isinstance(msgs[0], DistributionWithdrawReward)
    assert msgs[1:] == [
        WasmExecute(
            contract_addr=CONVERTER,
            msg=ConverterInternalUnstake(delegator="u1", validator="a", amount=coin(6)),
        ),
        WasmExecute(
            contract_addr=CONVERTER,
            msg=ConverterInternalUnstake(delegator="u2", validator="a", amount=coin(4)),
        ),
    ]
    # no slash processing, no rebalance: state as before
    assert vs.core.bonded() == (("a", 10),)
    assert len(vs.core.slash_requests()) == 1
    vs.q.records = []
    response = vs.epoch()
    assert [s.msg for s in response.messages][-1] == CustomMsg(
        module="virtual_stake", msg=DeleteAllScheduledTasks()
    )


def test_zero_cap_drain_respects_max_retrieve_C_96() -> None:
    vs = Vs(max_retrieve=1)
    vs.q.records = [
        DelegationRecord(delegator="u1", validator="a", amount=6),
        DelegationRecord(delegator="u2", validator="a", amount=4),
    ]
    response = vs.epoch()
    assert len(response.messages) == 1


def test_slash_adjustments_are_summed_and_saturate_C_97(vs: Vs) -> None:
    """Reference: only the last of several slashes applies, and an oversized one underflows
    and aborts the epoch."""
    vs.bond("a", 100)
    vs.bond("b", 10)
    vs.set_bonded({"a": 100, "b": 10})
    vs.sudo(
        HandleValsetUpdate(
            slashed=(_slash("a", 7), _slash("a", 5), _slash("b", 25, True), _slash("zz", 4))
        )
    )
    vs.q.cap = 1000
    response = vs.epoch()
    assert vs.core.bond_requests() == {"a": 88, "b": 0}
    # current is 88 / 0 after the adjustments, so nothing to rebalance
    assert rebalance(response) == []
    assert vs.core.bonded() == (("a", 88), ("b", 0))
    assert vs.core.slash_requests() == ()
    assert vs.core.inactive() == {"a": False, "b": True, "zz": False}


def test_scaling_to_cap_on_a_copy_with_floor_C_98(vs: Vs) -> None:
    vs.bond("a", 600)
    vs.bond("b", 400)
    vs.q.cap = 500
    response = vs.epoch()
    assert rebalance(response) == [("bond", "a", 300), ("bond", "b", 200)]
    assert vs.core.bonded() == (("a", 300), ("b", 200))
    assert vs.core.bond_requests() == {"a": 600, "b": 400}  # not scaled
    vs.q.cap = 2000  # a higher cap restores the full amounts
    response = vs.epoch()
    assert rebalance(response) == [("bond", "a", 300), ("bond", "b", 200)]
    vs.q.cap = 999  # 600*999//1000 = 599, 400*999//1000 = 399
    assert rebalance(vs.epoch()) == [("unbond", "a", 1), ("unbond", "b", 1)]


def test_unbonds_are_capped_at_the_live_delegation_C_98(vs: Vs) -> None:
    """Decision: after a slash the view (``bonded``) can exceed the live value by rounding
    dust; the unbond asks for the live value instead of failing the epoch."""
    vs.bond("a", 217)
    vs.bond("b", 50)
    vs.set_bonded({"a": 217, "b": 50})
    vs.unbond("a", 217)
    vs.unbond("b", 50)
    vs.q.live = {"a": 216, "b": 0}
    vs.q.cap = 1000
    response = vs.epoch()
    assert rebalance(response) == [("unbond", "a", 216)]  # nothing left at b: no message
    assert vs.core.bonded() == (("a", 0), ("b", 0))


def test_floor_scaling_emits_no_zero_amounts_C_98(vs: Vs) -> None:
    """Reference: no zero filter, so a zero bond fails the entire epoch."""
    for v in "abc":
        vs.bond(v, 1)
    vs.q.cap = 2  # each gets 1*2//3 = 0
    response = vs.epoch()
    assert rebalance(response) == []
    assert vs.core.bonded() == (("a", 0), ("b", 0), ("c", 0))


def test_unbonds_are_emitted_before_bonds_C_98(vs: Vs) -> None:
    """Reference: messages in validator order; at the cap, bonding b before unbonding c
    exceeds the cap and fails the whole epoch (see test_consumer_flows for the module)."""
    vs.bond("b", 100)
    vs.bond("c", 100)
    vs.set_bonded({"c": 100})
    vs.unbond("c", 100)
    vs.q.cap = 100
    assert rebalance(vs.epoch()) == [("unbond", "c", 100), ("bond", "b", 100)]


def test_tombstoned_validators_are_unbonded_and_zeroed_C_98_C_107(vs: Vs) -> None:
    vs.bond("a", 50)
    vs.bond("t", 40)
    vs.set_bonded({"a": 50, "t": 40})
    vs.sudo(HandleValsetUpdate(removals=("t",), tombstoned=("t",)))
    vs.q.live = {"t": 36}  # after the double-sign burn
    vs.q.cap = 1000
    response = vs.epoch()
    assert rebalance(response) == [("unbond", "t", 36)]
    assert vs.core.bonded() == (("a", 50), ("t", 0))
    assert vs.core.bond_requests() == {"a": 50, "t": 0}
    # C-107: a later provider unstake for the tombstoned validator fails
    rejected(vs, lambda: vs.unbond("t", 1), InsufficientBond("t", 1))
    assert withdrawals(vs.epoch()) == ["a"]


def test_stake_for_tombstoned_validator_is_dropped_at_epoch_C_108(vs: Vs) -> None:
    """C-98 reference note: a validator new in the requests is bonded even when flagged
    tombstoned; here it is not."""
    vs.sudo(HandleValsetUpdate(tombstoned=("t",)))
    vs.bond("t", 25)  # accepted (C-108)
    vs.q.cap = 1000
    response = vs.epoch()
    assert rebalance(response) == []
    assert vs.core.bond_requests() == {"t": 0}
    assert vs.core.bonded() == (("t", 0),)


def test_inactive_flags_from_slashes_take_effect_next_epoch_C_97(vs: Vs) -> None:
    vs.bond("a", 10)
    vs.set_bonded({"a": 10})
    vs.sudo(HandleValsetUpdate(slashed=(_slash("a", 1, True),)))
    vs.q.cap = 100
    vs.q.live = {"a": 9}
    response = vs.epoch()
    assert withdrawals(response) == ["a"]  # the inactive map as loaded at the start
    assert rebalance(response) == []  # requests and view both lowered to 9
    assert vs.core.inactive() == {"a": True}
    response = vs.epoch()
    assert withdrawals(response) == []
    # flagged tombstoned at the start of this epoch: everything still delegated is unbonded
    assert rebalance(response) == [("unbond", "a", 9)]
    assert vs.core.bond_requests() == {"a": 0}


# -- C-99 reward replies ---------------------------------------------------------------------------


def _run_rewards(pushes: list[int]) -> list[Response]:
    vs = Vs()
    for v in ("val1", "val2", "val3"):
        vs.bond(v, 10)
    vs.set_bonded({"val1": 10, "val2": 10, "val3": 10})
    vs.q.cap = 100
    vs.epoch()
    out = []
    for push in pushes:
        vs.q.balances[VS] = vs.q.balances.get(VS, 0) + push
        response = vs.reply()
        for sub in response.messages:
            if isinstance(sub.msg, WasmExecute):
                vs.q.balances[VS] = 0  # the flush sends the balance away
        out.append(response)
    return out


def _flush(responses: list[Response]) -> tuple[tuple[tuple[str, int], ...], int] | None:
    for response in responses:
        for sub in response.messages:
            msg = sub.msg
            if isinstance(msg, WasmExecute) and isinstance(msg.msg, DistributeRewards):
                payments = tuple((p.validator, p.reward) for p in msg.msg.payments)
                return payments, msg.funds[0].amount
    return None


@pytest.mark.parametrize(
    ("pushes", "expected"),
    [
        ([10, 20, 30], ((("val1", 10), ("val2", 20), ("val3", 30)), 60)),
        ([20, 0, 10], ((("val1", 20), ("val3", 10)), 30)),
        ([20, 10, 0], ((("val1", 20), ("val2", 10)), 30)),
        ([0, 0, 0], None),
    ],
)
def test_reward_batches_examples_C_99(pushes: list[int], expected: object) -> None:
    responses = _run_rewards(pushes)
    assert _flush(responses) == expected
    if expected is not None:
        (sub,) = responses[-1].messages
        assert isinstance(sub.msg, WasmExecute) and sub.msg.contract_addr == CONVERTER
        payments = sub.msg.msg.payments
        assert sum(p.reward for p in payments) == sub.msg.funds[0].amount
        assert payments[0] == RewardPayment(validator="val1", reward=expected[0][0][1])  # type: ignore[index]


def test_reward_error_reply_emits_event_only_C_99(vs: Vs) -> None:
    vs.bond("val1", 10)
    vs.set_bonded({"val1": 10})
    vs.q.cap = 100
    vs.epoch()
    vs.q.balances[VS] = 50
    response = vs.reply(ok=False)
    assert response.messages == ()
    (event,) = response.events
    assert event.type == "rewards_error"
    assert event.get("target") == "val1"
    assert "NoDelegation" in (event.get("error") or "")
    assert vs.core.reward_queue() == ()
    with pytest.raises(InvalidReplyId):
        vs.core.reply(vs.env(), Reply(id=9, ok=True))


def test_auto_withdrawn_rewards_go_to_first_positive_delta_C_110(vs: Vs) -> None:
    for v in ("val1", "val2"):
        vs.bond(v, 10)
    vs.set_bonded({"val1": 10, "val2": 10})
    vs.q.cap = 100
    vs.epoch()
    vs.q.balances[VS] = 7  # auto-withdrawn between epochs, not from val1's withdrawal
    assert vs.reply().messages == ()
    vs.q.balances[VS] = 10
    (sub,) = vs.reply().messages
    assert isinstance(sub.msg, WasmExecute)
    assert [(p.validator, p.reward) for p in sub.msg.msg.payments] == [("val1", 7), ("val2", 3)]


# -- C-103 invariants on the core ------------------------------------------------------------------


def test_bonded_never_exceeds_cap_or_requests_C_103(vs: Vs) -> None:
    vs.bond("a", 700)
    vs.bond("b", 300)
    vs.sudo(HandleValsetUpdate(tombstoned=("b",)))
    vs.q.cap = 333
    vs.epoch()
    bonded = dict(vs.core.bonded())
    assert sum(bonded.values()) <= 333
    assert bonded["b"] == 0
    assert all(bonded[v] <= vs.core.bond_requests()[v] for v in bonded)
