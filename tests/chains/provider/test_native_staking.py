"""Native staking core and the per-user proxy core, tested directly (P-43..P-62)."""

from __future__ import annotations

import pytest

from chains import Decimal18, InvalidDenom, Unauthorized
from chains.contract import (
    CustomMsg,
    DistributionSetWithdrawAddress,
    DistributionWithdrawReward,
    InsufficientDelegations,
    InvalidSlashRatio,
    NoFunds,
    NonPayable,
    NotFound,
    Reply,
    ReplyOn,
    StakingDelegate,
    StakingRedelegate,
    StakingUndelegate,
    Store,
    WasmExecute,
    WasmInstantiate,
)
from chains.modules import GovVote, WeightedVoteOption
from chains.provider import (
    BurnStake,
    JailedValidator,
    Jailing,
    LocalSlash,
    MaxSlash,
    NativeStaking,
    NativeStakingConfigQuery,
    NativeStakingConfigResponse,
    NativeStakingInstantiate,
    NativeStakingProxy,
    NoInstantiateData,
    NoProxy,
    NotEnoughDelegation,
    OwnerByProxyQuery,
    ProcessUnbondingQueue,
    ProxyBurn,
    ProxyByOwnerQuery,
    ProxyConfigQuery,
    ProxyInstantiate,
    ProxyReleaseUnbonded,
    ProxyRestake,
    ProxyStake,
    ProxyUnstake,
    ProxyVote,
    ProxyVoteWeighted,
    ProxyWithdrawRewards,
    QueuedUnbondsQuery,
    ReceiveStake,
    RecordDelegation,
    ReleaseLocalStake,
    ReleaseProxyStake,
    SlashInfo,
    decode_stake_target,
    encode_stake_target,
)
from tests.chains.provider._fakes import (
    DENOM,
    FakeQuerier,
    FakeUnbondingEntry,
    coin,
    env,
    info,
    make,
    rejects,
)

NATIVE = "native"
VAULT = "vault"
NOW = 1_700_000_000


class NativeFixture:
    def __init__(self) -> None:
        self.store = Store()
        self.querier = FakeQuerier()
        self.native = make(NativeStaking, self.store, NATIVE, self.querier)
        self.env = env(NATIVE, time_s=NOW)
        self.native.instantiate(
            self.env,
            info(VAULT),
            NativeStakingInstantiate(
                denom=DENOM,
                proxy_code="proxy",
                slash_ratio_dsign=Decimal18.parse("0.1"),
                slash_ratio_offline=Decimal18.parse("0.01"),
            ),
        )

    def stake(self, owner: str, amount: int, validator: str = "val1") -> tuple:  # type: ignore[type-arg]
        response = self.native.execute(
            self.env,
            info(VAULT, amount),
            ReceiveStake(owner=owner, msg=encode_stake_target(validator)),
        )
        return response.messages

    def with_proxy(self, owner: str, proxy: str, validator: str = "val1") -> None:
        (sub,) = self.stake(owner, 100, validator)
        self.native.reply(self.env, Reply(id=sub.id, ok=True, data={"address": proxy}))


@pytest.fixture
def nf() -> NativeFixture:
    return NativeFixture()


# -- native staking (P-43..P-51) --------------------------------------------------------------


def test_config_query_returns_the_instantiation_settings_P_60(nf: NativeFixture) -> None:
    before = nf.store.snapshot()
    answer = nf.native.query(nf.env, NativeStakingConfigQuery())
    assert answer == NativeStakingConfigResponse(
        denom=DENOM,
        proxy_code="proxy",
        vault=VAULT,
        slash_ratio_dsign=Decimal18.parse("0.1"),
        slash_ratio_offline=Decimal18.parse("0.01"),
    )
    assert nf.store.snapshot() == before  # a query never writes (P-4)


def test_instantiate_refuses_ratios_above_one_and_creator_is_vault_P_43_P_47(
    nf: NativeFixture,
) -> None:
    config = nf.native.config()
    assert config.vault == VAULT
    answer = nf.native.query(nf.env, MaxSlash())
    assert (answer.slash_ratio_dsign, answer.slash_ratio_offline) == (
        Decimal18.parse("0.1"),
        Decimal18.parse("0.01"),
    )
    store = Store()
    native = make(NativeStaking, store, NATIVE, FakeQuerier())
    for dsign, offline in (("1.01", "0"), ("0", "1.5")):
        rejects(
            store,
            lambda d=dsign, o=offline: native.instantiate(
                env(NATIVE),
                info(VAULT),
                NativeStakingInstantiate(
                    denom=DENOM,
                    proxy_code="p",
                    slash_ratio_dsign=Decimal18.parse(d),
                    slash_ratio_offline=Decimal18.parse(o),
                ),
            ),
            InvalidSlashRatio(),
        )


def test_first_stake_creates_the_proxy_and_learns_it_from_the_reply_P_44(
    nf: NativeFixture,
) -> None:
    (sub,) = nf.stake("alice", 100)
    assert sub.reply_on is ReplyOn.SUCCESS
    create = sub.msg
    assert isinstance(create, WasmInstantiate)
    assert create.code == "proxy" and create.label == "LSP for alice" and create.admin == NATIVE
    assert create.funds == (coin(100),)
    assert create.msg == ProxyInstantiate(denom=DENOM, owner="alice", validator="val1")
    nf.native.reply(nf.env, Reply(id=sub.id, ok=True, data={"address": "p-alice", "data": None}))
    assert nf.native.query(nf.env, ProxyByOwnerQuery(owner="alice")).proxy == "p-alice"
    assert nf.native.query(nf.env, OwnerByProxyQuery(proxy="p-alice")).owner == "alice"
    # the next stake goes to the existing proxy
    (sub,) = nf.stake("alice", 50, "val2")
    assert sub.msg == WasmExecute(
        contract_addr="p-alice", msg=ProxyStake(validator="val2"), funds=(coin(50),)
    )
    assert set(nf.native._delegators) == {("val1", "alice"), ("val2", "alice")}


def test_receive_stake_errors_P_44_P_49(nf: NativeFixture) -> None:
    target = encode_stake_target("v")
    rejects(
        nf.store,
        lambda: nf.native.execute(nf.env, info("alice", 5), ReceiveStake(owner="a", msg=target)),
        Unauthorized(),
    )
    rejects(
        nf.store,
        lambda: nf.native.execute(nf.env, info(VAULT), ReceiveStake(owner="a", msg=target)),
        NoFunds(),
    )
    (sub,) = nf.stake("bob", 10)
    with pytest.raises(NoInstantiateData):
        nf.native.reply(nf.env, Reply(id=sub.id, ok=True, data=None))
    with pytest.raises(NotFound):
        nf.native.query(nf.env, ProxyByOwnerQuery(owner="nobody"))


def test_release_proxy_stake_forwards_to_the_vault_P_45(nf: NativeFixture) -> None:
    nf.with_proxy("alice", "p-alice")
    response = nf.native.execute(nf.env, info("p-alice", 30), ReleaseProxyStake())
    assert response.messages[0].msg == WasmExecute(
        contract_addr=VAULT, msg=ReleaseLocalStake(owner="alice"), funds=(coin(30),)
    )
    rejects(
        nf.store,
        lambda: nf.native.execute(nf.env, info("stranger", 30), ReleaseProxyStake()),
        NotFound("proxy", "stranger"),
    )


def test_burn_stake_forwards_to_the_proxy_P_46(nf: NativeFixture) -> None:
    nf.with_proxy("alice", "p-alice")
    msg = BurnStake(owner="alice", amount=coin(7), validator="val1")
    response = nf.native.execute(nf.env, info(VAULT), msg)
    assert response.messages[0].msg == WasmExecute(
        contract_addr="p-alice", msg=ProxyBurn(validator="val1", amount=coin(7))
    )
    rejects(nf.store, lambda: nf.native.execute(nf.env, info("x"), msg), Unauthorized())
    rejects(nf.store, lambda: nf.native.execute(nf.env, info(VAULT, 1), msg), NonPayable())
    rejects(
        nf.store,
        lambda: nf.native.execute(nf.env, info(VAULT), BurnStake(owner="bob", amount=coin(1))),
        NoProxy("bob"),
    )


def test_jailing_tombstoned_first_with_dsign_then_jailed_with_offline_P_48(
    nf: NativeFixture,
) -> None:
    nf.with_proxy("alice", "p-alice", "val1")
    nf.with_proxy("bob", "p-bob", "val1")
    nf.querier.staking.delegations.update({("p-alice", "val1"): 1000, ("p-bob", "val1"): 555})
    # val1 in both lists is slashed twice
    response = nf.native.sudo(
        nf.env,
        Jailing(
            jailed=(JailedValidator(validator="val1"),),
            tombstoned=(JailedValidator(validator="val1"),),
        ),
    )
    first, second = (sub.msg for sub in response.messages)
    assert first == WasmExecute(
        contract_addr=VAULT,
        msg=LocalSlash(
            slashes=(SlashInfo(user="alice", slash=100), SlashInfo(user="bob", slash=55)),
            validator="val1",
        ),
    )
    assert second.msg.slashes == (  # type: ignore[union-attr]
        SlashInfo(user="alice", slash=10),
        SlashInfo(user="bob", slash=5),
    )
    (event,) = response.events
    assert event.type == "jailing"
    assert event.get("tombstoned") == "val1" and event.get("jailed") == "val1"


def test_jailing_skips_and_drops_users_without_delegation_P_48(nf: NativeFixture) -> None:
    nf.with_proxy("alice", "p-alice", "val1")
    response = nf.native.sudo(nf.env, Jailing(jailed=(JailedValidator(validator="val1"),)))
    assert response.messages == ()
    assert ("val1", "alice") not in nf.native._delegators


def test_jailing_also_slashes_unbonding_entries_since_the_infraction_P_51(
    nf: NativeFixture,
) -> None:
    nf.with_proxy("alice", "p-alice", "val1")
    nf.querier.staking.delegations[("p-alice", "val1")] = 500
    nf.querier.staking.unbonding[("p-alice", "val1")] = [
        FakeUnbondingEntry(creation_height=90, completion_time=NOW + 10, initial_balance=300),
        FakeUnbondingEntry(creation_height=95, completion_time=NOW + 10, initial_balance=200),
        FakeUnbondingEntry(creation_height=99, completion_time=NOW, initial_balance=999),
    ]
    response = nf.native.sudo(
        nf.env,
        Jailing(tombstoned=(JailedValidator(validator="val1", infraction_height=95),)),
    )
    # floor(500 * 0.1) + floor(200 * 0.1): the entry before 95 and the mature one do not count
    assert response.messages[0].msg.msg.slashes == (SlashInfo(user="alice", slash=70),)  # type: ignore[union-attr]
    (event,) = response.events
    assert event.get("tombstoned:val1:alice") == "bonded=50,unbonding=20"


def test_restake_indexes_the_new_validator_rec_P_50(nf: NativeFixture) -> None:
    nf.with_proxy("alice", "p-alice", "val1")
    nf.native.execute(nf.env, info("p-alice"), RecordDelegation(validator="val9"))
    assert ("val9", "alice") in nf.native._delegators
    rejects(
        nf.store,
        lambda: nf.native.execute(nf.env, info("x"), RecordDelegation(validator="v")),
        NotFound("proxy", "x"),
    )


# -- proxy (P-52..P-62) -----------------------------------------------------------------------

PROXY = "p-alice"


class ProxyFixture:
    def __init__(self) -> None:
        self.store = Store()
        self.querier = FakeQuerier()
        self.proxy = make(NativeStakingProxy, self.store, PROXY, self.querier)
        self.env = env(PROXY, time_s=NOW)
        self.instantiated = self.proxy.instantiate(
            self.env,
            info(NATIVE, 100),
            ProxyInstantiate(denom=DENOM, owner="alice", validator="val1"),
        )
        self.querier.staking.delegations[(PROXY, "val1")] = 100

    def run(self, sender: str, msg: object, *funds: int) -> list[object]:
        response = self.proxy.execute(self.env, info(sender, *funds), msg)  # type: ignore[arg-type]
        return [sub.msg for sub in response.messages]


@pytest.fixture
def pf() -> ProxyFixture:
    return ProxyFixture()


def test_instantiate_delegates_and_sends_rewards_to_the_owner_P_52(pf: ProxyFixture) -> None:
    msgs = [sub.msg for sub in pf.instantiated.messages]
    assert msgs == [
        StakingDelegate(validator="val1", amount=coin(100)),
        DistributionSetWithdrawAddress(address="alice"),
    ]
    assert pf.instantiated.data == {"owner": "alice"}
    config = pf.proxy.query(pf.env, ProxyConfigQuery())
    assert (config.owner, config.parent, config.burned) == ("alice", NATIVE, 0)


def test_stake_only_from_parent_with_funds_P_53(pf: ProxyFixture) -> None:
    assert pf.run(NATIVE, ProxyStake(validator="val2"), 40) == [
        StakingDelegate(validator="val2", amount=coin(40))
    ]
    rejects(pf.store, lambda: pf.run("alice", ProxyStake(validator="v"), 40), Unauthorized())
    rejects(pf.store, lambda: pf.run(NATIVE, ProxyStake(validator="v")), NoFunds())


def test_restake_redelegates_and_notifies_native_staking_P_54_P_50(pf: ProxyFixture) -> None:
    msg = ProxyRestake(src_validator="val1", dst_validator="val2", amount=coin(60))
    assert pf.run("alice", msg) == [
        StakingRedelegate(src_validator="val1", dst_validator="val2", amount=coin(60)),
        WasmExecute(contract_addr=NATIVE, msg=RecordDelegation(validator="val2")),
    ]
    rejects(pf.store, lambda: pf.run(NATIVE, msg), Unauthorized())
    rejects(pf.store, lambda: pf.run("alice", msg, 1), NonPayable())
    bad = ProxyRestake(src_validator="val1", dst_validator="val2", amount=coin(1, "x"))
    rejects(pf.store, lambda: pf.run("alice", bad), InvalidDenom(DENOM))
    big = ProxyRestake(src_validator="val1", dst_validator="val2", amount=coin(101))
    rejects(pf.store, lambda: pf.run("alice", big), NotEnoughDelegation("val1", 100))


def test_votes_only_by_the_owner_even_the_parent_is_refused_P_55(pf: ProxyFixture) -> None:
    assert pf.run("alice", ProxyVote(proposal_id=3, option="yes")) == [
        CustomMsg(module="gov", msg=GovVote(proposal_id=3, option="yes"))
    ]
    weighted = ProxyVoteWeighted(
        proposal_id=3,
        options=(WeightedVoteOption(option="yes", weight=Decimal18.parse("1")),),
    )
    assert len(pf.run("alice", weighted)) == 1
    rejects(pf.store, lambda: pf.run(NATIVE, ProxyVote(proposal_id=3, option="no")), Unauthorized())


def test_withdraw_rewards_from_every_delegation_P_56(pf: ProxyFixture) -> None:
    pf.querier.staking.delegations[(PROXY, "val2")] = 5
    assert pf.run("alice", ProxyWithdrawRewards()) == [
        DistributionWithdrawReward(validator="val1"),
        DistributionWithdrawReward(validator="val2"),
    ]
    rejects(pf.store, lambda: pf.run(NATIVE, ProxyWithdrawRewards()), Unauthorized())


def test_unstake_undelegates_P_57(pf: ProxyFixture) -> None:
    assert pf.run("alice", ProxyUnstake(validator="val1", amount=coin(30))) == [
        StakingUndelegate(validator="val1", amount=coin(30))
    ]
    rejects(
        pf.store,
        lambda: pf.run("alice", ProxyUnstake(validator="val1", amount=coin(1, "x"))),
        InvalidDenom(DENOM),
    )
    rejects(
        pf.store,
        lambda: pf.run(NATIVE, ProxyUnstake(validator="val1", amount=coin(1))),
        Unauthorized(),
    )


def test_burn_spreads_over_delegations_and_counts_burned_P_58(pf: ProxyFixture) -> None:
    pf.querier.staking.delegations.update({(PROXY, "val1"): 100, (PROXY, "val2"): 200})
    assert pf.run(NATIVE, ProxyBurn(amount=coin(101))) == [
        StakingUndelegate(validator="val1", amount=coin(51)),
        StakingUndelegate(validator="val2", amount=coin(50)),
    ]
    assert pf.proxy.config().burned == 101
    assert pf.run(NATIVE, ProxyBurn(validator="val2", amount=coin(20))) == [
        StakingUndelegate(validator="val2", amount=coin(20))
    ]
    assert pf.proxy.config().burned == 121
    rejects(
        pf.store,
        lambda: pf.run(NATIVE, ProxyBurn(validator="val9", amount=coin(1))),
        InsufficientDelegations(PROXY, 1),
    )
    rejects(
        pf.store,
        lambda: pf.run(NATIVE, ProxyBurn(validator="val1", amount=coin(101))),
        InsufficientDelegations(PROXY, 101),
    )
    rejects(pf.store, lambda: pf.run("alice", ProxyBurn(amount=coin(1))), Unauthorized())


def test_release_unbonded_sends_liquid_minus_burned_P_59(pf: ProxyFixture) -> None:
    assert pf.run("alice", ProxyReleaseUnbonded()) == []
    pf.querier.staking.delegations[(PROXY, "val1")] = 100
    pf.run(NATIVE, ProxyBurn(amount=coin(30)))
    pf.querier.balances[(PROXY, DENOM)] = 80
    assert pf.run("alice", ProxyReleaseUnbonded()) == [
        WasmExecute(contract_addr=NATIVE, msg=ReleaseProxyStake(), funds=(coin(50),))
    ]
    pf.querier.balances[(PROXY, DENOM)] = 30
    # burned stays: burned tokens never leave the proxy
    assert pf.run("alice", ProxyReleaseUnbonded()) == []
    rejects(pf.store, lambda: pf.run(NATIVE, ProxyReleaseUnbonded()), Unauthorized())


def test_eighth_unstake_is_queued_and_flushed_as_one_undelegation_P_61_P_62(
    pf: ProxyFixture,
) -> None:
    entries = pf.querier.staking.unbonding.setdefault((PROXY, "val1"), [])
    entries.extend(FakeUnbondingEntry(1, NOW + 100, 1) for _ in range(7))
    assert pf.run("alice", ProxyUnstake(validator="val1", amount=coin(10))) == []
    assert pf.run("alice", ProxyUnstake(validator="val1", amount=coin(15))) == []
    queued = pf.proxy.query(pf.env, QueuedUnbondsQuery()).queued
    assert [(q.validator, q.amount) for q in queued] == [("val1", 25)]
    # the queued amount no longer counts as available to the user
    rejects(
        pf.store,
        lambda: pf.run("alice", ProxyUnstake(validator="val1", amount=coin(76))),
        NotEnoughDelegation("val1", 75),
    )
    # still full: nothing goes out
    assert pf.run("anyone", ProcessUnbondingQueue()) == []
    entries.pop()
    assert pf.run("anyone", ProcessUnbondingQueue()) == [
        StakingUndelegate(validator="val1", amount=coin(25))
    ]
    assert pf.proxy.query(pf.env, QueuedUnbondsQuery()).queued == ()


def test_proxy_sudo_process_unbonding_queue_flushes_and_nothing_else_P_62(
    pf: ProxyFixture,
) -> None:
    """The chain's sudo ``ProcessUnbondingQueue`` submits the queue; other sudo messages
    are refused."""
    from chains.contract import UnsupportedMessage

    assert pf.proxy.sudo(pf.env, ProcessUnbondingQueue()).messages == ()
    with pytest.raises(UnsupportedMessage):
        pf.proxy.sudo(pf.env, ProxyWithdrawRewards())


def test_decoded_stake_target_is_one_string_per_validator_P_44() -> None:
    """The validator a stake's ``msg`` names (P-44, P-62) is decoded to one shared string:
    the contracts key every user's stake by it, so no user keeps a copy (issue 16)."""
    name = "osmovaloper1" + "q" * 40
    first = decode_stake_target(encode_stake_target(name))
    second = decode_stake_target(encode_stake_target("".join(name)))
    assert first == second == name
    assert first is second
