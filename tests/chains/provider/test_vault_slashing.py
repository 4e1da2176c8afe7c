"""Vault slashing and slash propagation with the spec's exact figures (P-19, P-36..P-42)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chains import Decimal18, InsufficientFunds
from chains.contract import Reply, ReplyOn, Store, WasmExecute
from chains.provider import (
    BurnStake,
    BurnVirtualStake,
    CommitTx,
    CrossSlash,
    ExistingLocalStaking,
    Lien,
    LocalSlash,
    SlashBurn,
    SlashInfo,
    StakeLocal,
    StakeRemote,
    UserInfo,
    ValueRange,
    Vault,
    VaultBond,
    VaultInstantiate,
    apply_slash,
    cap_liens,
    encode_stake_target,
    max_lien_of,
)
from tests.chains.provider._fakes import DENOM, FakeQuerier, coin, env, info, make
from tests.chains.provider.test_vault import ratios

D = Decimal18.parse


def lien(amount: int, ratio: str) -> Lien:
    return Lien(ValueRange.of(amount), D(ratio))


def account(collateral: int, liens: dict[str, Lien]) -> UserInfo:
    # total_slashable is incremental: one stake per lien here, so it is Σ floor(lien * r)
    slashable = sum(x.slashable.mul_floor(x.amount.high) for x in liens.values())
    return UserInfo(collateral, max_lien_of(liens), ValueRange.of(slashable))


def amounts(liens: dict[str, Lien]) -> dict[str, int]:
    return {h: x.amount.high for h, x in liens.items()}


def test_small_slash_without_propagation_P_36() -> None:
    liens = {"A": lien(100, "0.1")}
    out = apply_slash(account(1000, liens), liens, "A", 10)
    assert out.mode is None and out.burns == ()
    assert out.account == UserInfo(990, ValueRange.of(90), ValueRange.of(9))
    assert amounts(out.liens) == {"A": 90}


def test_docs_scenario_5_proportional_reduction_P_37_P_39_P_41() -> None:
    # collateral 200; liens local 100 @10 %, A 180 @50 %, B 80 @50 %, C 100 @50 %;
    # A's validator slashed 90 ⇒ f = 55 < 90, d = 35, R = 1.6, k = ceil(21.875) = 22
    liens = {
        "h0-local": lien(100, "0.1"),
        "h1-A": lien(180, "0.5"),
        "h2-B": lien(80, "0.5"),
        "h3-C": lien(100, "0.5"),
    }
    acc = account(200, liens)
    assert acc.total_slashable == ValueRange.of(190)
    out = apply_slash(acc, liens, "h1-A", 90)
    assert out.mode == "proportional" and out.rounds == 0
    assert amounts(out.liens) == {"h0-local": 78, "h1-A": 68, "h2-B": 58, "h3-C": 78}
    assert out.account.collateral == 110
    assert out.account.max_lien == ValueRange.of(78)
    assert out.account.total_slashable == ValueRange.of(110)
    assert out.account.free == ValueRange.of(0)
    assert out.burns == tuple(SlashBurn(h, 22) for h in ("h0-local", "h1-A", "h2-B", "h3-C"))


def _capping_example() -> tuple[UserInfo, dict[str, Lien]]:
    # collateral 100; liens A 100 @10 %, B 100 @10 %, C 60 @50 %, D 60 @50 % (slashable 80)
    liens = {
        "A": lien(100, "0.1"),
        "B": lien(100, "0.1"),
        "C": lien(60, "0.5"),
        "D": lien(60, "0.5"),
    }
    acc = account(100, liens)
    assert acc.total_slashable == ValueRange.of(80)
    return acc, liens


def test_lien_capping_alone_leaves_slashable_above_collateral_ref_quirk_P_38_P_41() -> None:
    # [ref-quirk] the reference applies exactly one mode: after A's slash of 60 (A 40,
    # slashable 74, d = 60, new collateral 40) capping gives slashable 48 > 40
    _, liens = _capping_example()
    liens = dict(liens, A=lien(40, "0.1"))
    capped, slashable, burns = cap_liens(liens, ValueRange.of(74), 40)
    assert amounts(capped) == {"A": 40, "B": 40, "C": 40, "D": 40}
    assert slashable == ValueRange.of(48)
    assert burns == [SlashBurn("B", 60), SlashBurn("C", 20), SlashBurn("D", 20)]


def test_capping_then_extra_proportional_rounds_restore_P_18_P_41() -> None:
    # [rec]: round 1 R = 1.2, inv(R) = 0.833333333333333333, k = ceil(8 * inv(R)) = 7:
    # every lien 33, slashable 48 - 0 - 0 - 3 - 3 = 42; round 2 d = 2, k = 2: every lien 31,
    # slashable 42 - 0 - 0 - 1 - 1 = 40 ⇒ stop
    acc, liens = _capping_example()
    assert D("1.2").inv() == D("0.833333333333333333")
    out = apply_slash(acc, liens, "A", 60)
    assert out.mode == "capping" and out.rounds == 2
    assert amounts(out.liens) == {"A": 31, "B": 31, "C": 31, "D": 31}
    assert out.account == UserInfo(40, ValueRange.of(31), ValueRange.of(40))
    assert out.burns == (
        SlashBurn("B", 60),
        SlashBurn("C", 20),
        SlashBurn("D", 20),
        *(SlashBurn(h, 7) for h in "ABCD"),
        *(SlashBurn(h, 2) for h in "ABCD"),
    )


def test_proportional_step_on_a_lien_smaller_than_k_P_39_rec() -> None:
    # collateral 100; A 100 @0.1, B 10 @1.0, C 80 @1.0 (slashable 100); A slashed 50:
    # A 50, slashable 95, max lien 80 ⇒ f = 5, d = 45, new collateral 50, proportional:
    # R = 2.1, k = ceil(45 * 0.476190476190476190) = 22; B (10 < 22) goes to 0 and burns 10
    # instead of failing with Underflow as the reference does
    liens = {"A": lien(100, "0.1"), "B": lien(10, "1"), "C": lien(80, "1")}
    out = apply_slash(account(100, liens), liens, "A", 50)
    assert out.mode == "proportional"
    assert out.burns[:3] == (SlashBurn("A", 22), SlashBurn("B", 10), SlashBurn("C", 22))
    # round 1 leaves A 28, B 0, C 58, slashable 95 - 2 - 10 - 22 = 61 > 50: rounds follow
    # (d = 11, k = 6; d = 5, k = 3; d = 2, k = 1; d = 1, k = 1)
    assert out.burns[3:] == (
        SlashBurn("A", 6), SlashBurn("C", 6),
        SlashBurn("A", 3), SlashBurn("C", 3),
        SlashBurn("A", 1), SlashBurn("C", 1),
        SlashBurn("A", 1), SlashBurn("C", 1),
    )  # fmt: skip
    assert amounts(out.liens) == {"A": 17, "B": 0, "C": 47}
    assert out.account == UserInfo(50, ValueRange.of(47), ValueRange.of(50))


def test_rounds_that_cannot_lower_slashable_write_off_drift_decision_P_41() -> None:
    # total_slashable 100 although the liens imply 2 (drift of the incremental sum). After
    # A's slash of 1 and the capping of B, a P-39 round with d = 1 has k = 50 and lowers
    # nothing (floor(50 * 0.01) = 0): repeating it would burn both liens to 0. Decision: the
    # round is not applied and the excess is written off as drift.
    liens = {"A": lien(100, "0.01"), "B": lien(100, "0.01")}
    acc = UserInfo(100, ValueRange.of(100), ValueRange.of(100))
    out = apply_slash(acc, liens, "A", 1)
    assert out.mode == "capping" and out.drift_cleared
    assert amounts(out.liens) == {"A": 99, "B": 99}
    assert out.burns == (SlashBurn("B", 1),)
    assert out.account == UserInfo(99, ValueRange.of(99), ValueRange.of(99))


def test_all_liens_zero_sets_slashable_to_zero_P_41() -> None:
    liens = {"A": lien(10, "0.5")}
    acc = UserInfo(10, ValueRange.of(10), ValueRange.of(10))
    out = apply_slash(acc, liens, "A", 10)
    assert out.account == UserInfo(0, ValueRange.of(0), ValueRange.of(0))


def test_clamps_to_lien_low_and_collateral_rec_P_36() -> None:
    liens = {"A": Lien(ValueRange(30, 80), D("0.1"))}
    acc = UserInfo(100, ValueRange(30, 80), ValueRange(3, 8))
    out = apply_slash(acc, liens, "A", 50)
    assert (out.requested, out.applied) == (50, 30)
    assert out.liens["A"].amount == ValueRange(0, 50)
    # P-19 [ref-quirk]: a lien reduced to 0 by slashing is kept, with zero amount
    liens = {"A": lien(10, "0.1")}
    out = apply_slash(account(100, liens), liens, "A", 10)
    assert out.liens["A"].amount == ValueRange(0, 0)


@st.composite
def slash_cases(draw: st.DrawFn) -> tuple[UserInfo, dict[str, Lien], str, int]:
    collateral = draw(st.integers(1, 10_000))
    n = draw(st.integers(1, 5))
    liens: dict[str, Lien] = {}
    slashable = 0
    for i in range(n):
        ratio = Decimal18(draw(st.integers(0, 10**18)))
        amount = draw(st.integers(0, collateral))
        add = ratio.mul_floor(amount)
        if slashable + add > collateral:
            continue
        slashable += add
        liens[f"h{i}"] = Lien(ValueRange.of(amount), ratio)
    if not liens:
        liens["h0"] = Lien(ValueRange.of(0), D("0.1"))
    drift = draw(st.integers(0, collateral - slashable))
    acc = UserInfo(collateral, max_lien_of(liens), ValueRange.of(slashable + drift))
    holder = draw(st.sampled_from(sorted(liens)))
    return acc, liens, holder, draw(st.integers(0, 2 * collateral))


@settings(max_examples=300, deadline=None)
@given(slash_cases())
def test_every_slash_ends_with_P_18_and_burns_match_lien_reductions_P_18_P_41(
    case: tuple[UserInfo, dict[str, Lien], str, int],
) -> None:
    acc, liens, holder, slash = case
    out = apply_slash(acc, liens, holder, slash)
    assert out.applied <= min(slash, acc.collateral)
    assert out.account.collateral == acc.collateral - out.applied
    assert out.account.max_lien.high <= out.account.collateral
    assert out.account.total_slashable.high <= out.account.collateral
    for h, before in liens.items():
        after = out.liens[h].amount
        burned = sum(b.amount for b in out.burns if b.holder == h)
        reported = out.applied if h == holder else 0
        assert before.amount.high - after.high == burned + reported
        assert 0 <= after.low <= after.high


# -- through the vault core (P-32, P-33, P-40, P-42) ------------------------------------------

LOCAL = "h0-local"


def _vault_with_docs_scenario() -> tuple[Vault, Store]:
    store = Store()
    querier = FakeQuerier()
    querier.answers[(LOCAL, "lien_holder.max_slash")] = ratios("0.1")
    for ext in ("h1-A", "h2-B", "h3-C"):
        querier.answers[(ext, "lien_holder.max_slash")] = ratios("0.5")
    vault = make(Vault, store, "vault", querier)
    e = env("vault")
    vault.instantiate(
        e,
        info("c"),
        VaultInstantiate(denom=DENOM, local_staking=ExistingLocalStaking(address=LOCAL)),
    )
    vault.execute(e, info("alice", 200), VaultBond())
    target = encode_stake_target("v")
    vault.execute(e, info("alice"), StakeLocal(amount=coin(100), msg=target))
    for ext, amount in (("h1-A", 180), ("h2-B", 80), ("h3-C", 100)):
        response = vault.execute(
            e, info("alice"), StakeRemote(contract=ext, amount=coin(amount), msg=target)
        )
        tx_id = response.messages[0].msg.msg.tx_id
        vault.execute(e, info(ext), CommitTx(tx_id=tx_id))
    return vault, store


def test_cross_slash_routes_burns_and_names_the_validator_only_to_the_reporter_P_33_P_40() -> None:
    vault, _ = _vault_with_docs_scenario()
    e = env("vault")
    response = vault.execute(
        e, info("h1-A"), CrossSlash(slashes=(SlashInfo(user="alice", slash=90),), validator="valX")
    )
    burns = [(s.msg.contract_addr, s.msg.msg) for s in response.messages]  # type: ignore[union-attr]
    assert burns == [
        (LOCAL, BurnStake(owner="alice", amount=coin(22), validator=None)),
        ("h1-A", BurnVirtualStake(owner="alice", amount=coin(22), validator="valX")),
        ("h2-B", BurnVirtualStake(owner="alice", amount=coin(22), validator=None)),
        ("h3-C", BurnVirtualStake(owner="alice", amount=coin(22), validator=None)),
    ]
    assert all(s.reply_on is ReplyOn.ALWAYS for s in response.messages)
    user = vault.state.user("alice")
    assert (user.collateral, user.max_lien, user.total_slashable) == (
        110,
        ValueRange.of(78),
        ValueRange.of(110),
    )


def test_failed_burn_is_reported_not_rolled_back_P_42() -> None:
    vault, _ = _vault_with_docs_scenario()
    e = env("vault")
    response = vault.execute(
        e, info(LOCAL), LocalSlash(slashes=(SlashInfo(user="alice", slash=5),), validator="v")
    )
    # 5 from local: local 95, slashable 189 ⇒ f = 200 - 189 = 11 >= 5: no propagation
    assert response.messages == ()
    response = vault.execute(
        e, info("h1-A"), CrossSlash(slashes=(SlashInfo(user="alice", slash=90),), validator="v")
    )
    first = response.messages[0]
    error = InsufficientFunds("p", DENOM, 0, 1)
    reply = vault.reply(e, Reply(id=first.id, ok=False, error=error))
    (event,) = reply.events
    assert event.type == "BurnFailed"
    assert event.get("holder") == LOCAL and event.get("amount") == str(first.msg.msg.amount.amount)  # type: ignore[union-attr]
    assert event.get("error") == "InsufficientFunds"
    assert vault.state.user("alice").collateral == 195 - 90
    ok = vault.reply(e, Reply(id=response.messages[1].id, ok=True))
    assert ok.events == ()


def test_missing_lien_is_skipped_and_oversized_slash_clamped_rec_P_36() -> None:
    vault, _ = _vault_with_docs_scenario()
    e = env("vault")
    response = vault.execute(
        e,
        info("h1-A"),
        CrossSlash(
            slashes=(SlashInfo(user="bob", slash=5), SlashInfo(user="alice", slash=500)),
            validator="v",
        ),
    )
    types = [ev.type for ev in response.events]
    assert types[0] == "SlashSkipped"
    assert "SlashClamped" in types
    clamped = next(ev for ev in response.events if ev.type == "SlashClamped")
    assert (clamped.get("requested"), clamped.get("applied")) == ("500", "180")
    user = vault.state.user("alice")
    assert user.collateral == 20
    assert user.max_lien.high <= 20 and user.total_slashable.high <= 20
    assert isinstance(response.messages[0].msg, WasmExecute)
