"""Vault core, tested directly (P-9..P-11, P-18, P-19, P-22..P-35)."""

from __future__ import annotations

import pytest

from chains import Decimal18, InvalidAmount
from chains.contract import (
    BankSend,
    Env,
    MessageInfo,
    MissingDenom,
    MultipleDenoms,
    NoFunds,
    NonPayable,
    NotFound,
    Reply,
    ReplyOn,
    Response,
    Store,
    WasmExecute,
    WasmInstantiate,
)
from chains.provider import (
    ActiveExternalStakingQuery,
    ClaimsLocked,
    CommitTx,
    ExistingLocalStaking,
    InFlightStaking,
    InsufficientBalance,
    InsufficientLien,
    MaxSlashResponse,
    NewLocalStaking,
    NoClaim,
    NoInstantiateData,
    NoLocalStaking,
    ReceiveStake,
    ReceiveVirtualStake,
    ReleaseCrossStake,
    ReleaseLocalStake,
    RollbackTx,
    StakeLocal,
    StakeRemote,
    UnexpectedDenom,
    UnknownLienholder,
    UserInfo,
    ValueRange,
    Vault,
    VaultAccountClaimsQuery,
    VaultAccountDetailsQuery,
    VaultAccountQuery,
    VaultAllAccountsQuery,
    VaultAllPendingTxsDescQuery,
    VaultBond,
    VaultClaimQuery,
    VaultConfigQuery,
    VaultInstantiate,
    VaultPendingTxQuery,
    VaultUnbond,
    WrongContractTx,
    encode_stake_target,
)
from mesh_actors import Message
from tests.chains.provider._fakes import DENOM, FakeQuerier, coin, env, info, make, rejects

VAULT = "vault"
LOCAL = "local"
EXT = "ext-a"
EXT2 = "ext-b"
TARGET = encode_stake_target("valA")


def ratios(dsign: str, offline: str = "0.01") -> MaxSlashResponse:
    return MaxSlashResponse(
        slash_ratio_dsign=Decimal18.parse(dsign), slash_ratio_offline=Decimal18.parse(offline)
    )


class VaultFixture:
    def __init__(self, *, local: bool = True, ext_ratio: str = "0.1") -> None:
        self.store = Store()
        self.querier = FakeQuerier()
        self.querier.answers[(LOCAL, "lien_holder.max_slash")] = ratios("0.1")
        for ext in (EXT, EXT2):
            self.querier.answers[(ext, "lien_holder.max_slash")] = ratios(ext_ratio)
        self.vault = make(Vault, self.store, VAULT, self.querier)
        self.env = env(VAULT)
        local_staking = ExistingLocalStaking(address=LOCAL) if local else None
        self.vault.instantiate(
            self.env, info("creator"), VaultInstantiate(denom=DENOM, local_staking=local_staking)
        )

    def bond(self, user: str, amount: int) -> None:
        self.vault.execute(self.env, info(user, amount), VaultBond())

    def stake_remote(self, user: str, amount: int, contract: str = EXT) -> int:
        response = self.vault.execute(
            self.env, info(user), StakeRemote(contract=contract, amount=coin(amount), msg=TARGET)
        )
        call = response.messages[0].msg
        assert isinstance(call, WasmExecute) and isinstance(call.msg, ReceiveVirtualStake)
        return call.msg.tx_id

    def account(self, user: str) -> object:
        return self.vault.query(self.env, VaultAccountDetailsQuery(account=user))

    def user(self, user: str) -> tuple[int, ValueRange, ValueRange, ValueRange]:
        u = self.vault.state.user(user)
        return u.collateral, u.free, u.max_lien, u.total_slashable

    def lien(self, user: str, holder: str) -> ValueRange | None:
        lien = self.vault.state.lien(user, holder)
        return None if lien is None else lien.amount


@pytest.fixture
def vf() -> VaultFixture:
    return VaultFixture()


# -- instantiate (P-22) -----------------------------------------------------------------------


def test_instantiate_with_existing_local_staking_reads_max_slash_once_P_22(
    vf: VaultFixture,
) -> None:
    config = vf.vault.state.config()
    assert config.denom == DENOM
    assert config.local_staking is not None
    assert config.local_staking.address == LOCAL
    assert config.local_staking.max_slash == Decimal18.parse("0.1")
    # never refreshed: a later change of the answer does not matter
    vf.querier.answers[(LOCAL, "lien_holder.max_slash")] = ratios("0.9")
    assert vf.vault.state.config().local_staking.max_slash == Decimal18.parse("0.1")  # type: ignore[union-attr]
    assert vf.vault.query(vf.env, VaultConfigQuery()).local_staking == LOCAL


def test_instantiate_without_local_staking_and_non_payable_P_22() -> None:
    vf = VaultFixture(local=False)
    assert vf.vault.state.config().local_staking is None
    store = Store()
    vault = make(Vault, store, VAULT, FakeQuerier())
    rejects(
        store,
        lambda: vault.instantiate(env(VAULT), info("c", 5), VaultInstantiate(denom=DENOM)),
        NonPayable(),
    )


def test_instantiate_creates_local_staking_and_learns_it_from_the_reply_P_22() -> None:
    store = Store()
    querier = FakeQuerier()
    vault = make(Vault, store, VAULT, querier)
    response = vault.instantiate(
        env(VAULT),
        info("creator"),
        VaultInstantiate(
            denom=DENOM, local_staking=NewLocalStaking(code="native", init_msg={"x": 1})
        ),
    )
    (sub,) = response.messages
    assert sub.reply_on is ReplyOn.SUCCESS
    assert isinstance(sub.msg, WasmInstantiate)
    assert sub.msg.label == "Mesh Security Local Staking"
    querier.answers[("new-native", "lien_holder.max_slash")] = ratios("0.05")
    vault.reply(env(VAULT), Reply(id=sub.id, ok=True, data={"address": "new-native"}))
    local = vault.state.config().local_staking
    assert local is not None and local.address == "new-native"
    assert local.max_slash == Decimal18.parse("0.05")
    with pytest.raises(NoInstantiateData):
        vault.reply(env(VAULT), Reply(id=sub.id, ok=True, data=None))


# -- bond / unbond (P-23, P-24) ---------------------------------------------------------------


def test_bond_adds_the_attached_coin_to_collateral_P_23(vf: VaultFixture) -> None:
    vf.bond("alice", 100)
    vf.bond("alice", 50)
    assert vf.user("alice")[0] == 150


@pytest.mark.parametrize(
    ("funds", "error"),
    [
        ((), NoFunds()),
        ((coin(0),), NoFunds()),
        ((coin(5), coin(5, "uother")), MultipleDenoms()),
        ((coin(5, "uother"),), MissingDenom(DENOM)),
    ],
)
def test_bond_payment_errors_P_5_P_23(vf: VaultFixture, funds: tuple, error: Exception) -> None:  # type: ignore[type-arg]
    rejects(vf.store, lambda: vf.vault.execute(vf.env, info("alice", *funds), VaultBond()), error)  # type: ignore[arg-type]


def test_unbond_sends_free_collateral_back_P_24(vf: VaultFixture) -> None:
    vf.bond("alice", 100)
    response = vf.vault.execute(vf.env, info("alice"), VaultUnbond(amount=coin(40)))
    assert response.messages[0].msg == BankSend(to_address="alice", amount=(coin(40),))
    assert vf.user("alice")[0] == 60


class _LeakyVault(Vault):
    """A deliberately broken vault: it zeroes the caller's collateral, then refuses."""

    def execute(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        if isinstance(msg, VaultUnbond):
            user = self.state.user(info.sender)
            self.state.save_user(info.sender, UserInfo(0, user.max_lien, user.total_slashable))
            raise ClaimsLocked.of(user.free)
        return super().execute(env, info, msg)


def test_rejects_catches_a_core_that_writes_before_it_raises_P_5_P_6() -> None:
    """The check of every ``rejects`` above can fail: a vault that writes ``collateral=0``
    before raising the right error is caught (the state is compared before any rollback)."""
    vf = VaultFixture()
    vf.bond("alice", 100)
    store = Store()
    leaky = make(_LeakyVault, store, VAULT, vf.querier)
    leaky.instantiate(vf.env, info("creator"), VaultInstantiate(denom=DENOM))
    leaky.execute(vf.env, info("alice", 100), VaultBond())
    with pytest.raises(AssertionError):
        rejects(
            store,
            lambda: leaky.execute(vf.env, info("alice"), VaultUnbond(amount=coin(101))),
            ClaimsLocked(100, 100),
        )
    # the honest vault passes the same check
    rejects(
        vf.store,
        lambda: vf.vault.execute(vf.env, info("alice"), VaultUnbond(amount=coin(101))),
        ClaimsLocked(100, 100),
    )


def test_unbond_errors_P_24(vf: VaultFixture) -> None:
    vf.bond("alice", 100)
    vf.stake_remote("alice", 70)
    # free = (100 - 70, 100 - 0): the whole range is carried
    rejects(
        vf.store,
        lambda: vf.vault.execute(vf.env, info("alice"), VaultUnbond(amount=coin(31))),
        ClaimsLocked(30, 100),
    )
    rejects(
        vf.store,
        lambda: vf.vault.execute(vf.env, info("alice"), VaultUnbond(amount=coin(1, "x"))),
        UnexpectedDenom(DENOM),
    )
    rejects(
        vf.store,
        lambda: vf.vault.execute(vf.env, info("alice", 1), VaultUnbond(amount=coin(1))),
        NonPayable(),
    )
    # unknown user: zero collateral
    rejects(
        vf.store,
        lambda: vf.vault.execute(vf.env, info("bob"), VaultUnbond(amount=coin(1))),
        ClaimsLocked(0, 0),
    )
    rejects(
        vf.store,
        lambda: vf.vault.execute(vf.env, info("alice"), VaultUnbond(amount=coin(0))),
        InvalidAmount(0),
    )
    vf.vault.execute(vf.env, info("alice"), VaultUnbond(amount=coin(30)))


# -- stake_local (P-25) -----------------------------------------------------------------------


def test_stake_local_liens_at_once_and_sends_tokens_P_25(vf: VaultFixture) -> None:
    vf.bond("alice", 200)
    response = vf.vault.execute(vf.env, info("alice"), StakeLocal(amount=coin(150), msg=TARGET))
    (sub,) = response.messages
    assert sub.msg == WasmExecute(
        contract_addr=LOCAL, msg=ReceiveStake(owner="alice", msg=TARGET), funds=(coin(150),)
    )
    collateral, free, max_lien, slashable = vf.user("alice")
    assert (collateral, free, max_lien, slashable) == (
        200,
        ValueRange(50, 50),
        ValueRange(150, 150),
        ValueRange(15, 15),
    )
    assert vf.lien("alice", LOCAL) == ValueRange(150, 150)


def test_stake_local_errors_P_25() -> None:
    vf = VaultFixture(local=False)
    vf.bond("alice", 100)
    rejects(
        vf.store,
        lambda: vf.vault.execute(vf.env, info("alice"), StakeLocal(amount=coin(1), msg=TARGET)),
        NoLocalStaking(),
    )
    vf = VaultFixture()
    vf.bond("alice", 100)
    for msg, error in (
        (StakeLocal(amount=coin(101), msg=TARGET), InsufficientBalance()),
        (StakeLocal(amount=coin(1, "x"), msg=TARGET), UnexpectedDenom(DENOM)),
        (StakeLocal(amount=coin(0), msg=TARGET), InvalidAmount(0)),
    ):
        rejects(vf.store, lambda msg=msg: vf.vault.execute(vf.env, info("alice"), msg), error)
    rejects(
        vf.store,
        lambda: vf.vault.execute(vf.env, info("alice", 1), StakeLocal(amount=coin(1), msg=TARGET)),
        NonPayable(),
    )


# -- stake_remote (P-26) and the reservation of P-13 ------------------------------------------


def test_stake_remote_prepares_the_lien_and_records_a_tx_P_13_P_26(vf: VaultFixture) -> None:
    vf.bond("alice", 1000)
    tx_id = vf.stake_remote("alice", 100)
    assert tx_id == 1
    # §8 cross-stake: lien (0, 100), free (C - 100, C)
    assert vf.lien("alice", EXT) == ValueRange(0, 100)
    _collateral, free, max_lien, slashable = vf.user("alice")
    assert free == ValueRange(900, 1000)
    assert max_lien == ValueRange(0, 100)
    assert slashable == ValueRange(0, 10)
    tx = vf.vault.query(vf.env, VaultPendingTxQuery(tx_id=1))
    assert tx == InFlightStaking(1, 100, Decimal18.parse("0.1"), "alice", EXT)
    assert vf.vault.query(vf.env, ActiveExternalStakingQuery()).contracts == (EXT,)


def test_stake_remote_refuses_more_than_the_collateral_P_26(vf: VaultFixture) -> None:
    vf.bond("alice", 100)
    vf.stake_remote("alice", 60)
    rejects(
        vf.store,
        lambda: vf.stake_remote("alice", 41),
        InsufficientBalance(),
    )
    # the in-flight 60 counts against free.low already; another holder may reuse it
    vf.stake_remote("alice", 100, EXT2)


def test_collateral_reuse_is_bounded_by_the_slashable_ratio_P_18_P_26() -> None:
    # informative §3.3: with a 5 % double-sign ratio, the same collateral can back 20 liens
    vf = VaultFixture(ext_ratio="0.05")
    vf.bond("alice", 100)
    holders = [f"ext-{i:02d}" for i in range(21)]
    for holder in holders:
        vf.querier.answers[(holder, "lien_holder.max_slash")] = ratios("0.05")
    for holder in holders[:20]:
        vf.stake_remote("alice", 100, holder)
    assert vf.user("alice")[3] == ValueRange(0, 100)
    rejects(vf.store, lambda: vf.stake_remote("alice", 100, holders[20]), InsufficientBalance())


def test_stake_remote_failing_max_slash_query_aborts_P_26(vf: VaultFixture) -> None:
    vf.bond("alice", 100)
    vf.querier.answers[("broken", "lien_holder.max_slash")] = NotFound("contract", "broken")
    rejects(
        vf.store, lambda: vf.stake_remote("alice", 10, "broken"), NotFound("contract", "broken")
    )


def test_tx_ids_count_from_one_P_10(vf: VaultFixture) -> None:
    vf.bond("alice", 1000)
    assert [vf.stake_remote("alice", 10) for _ in range(3)] == [1, 2, 3]


# -- commit / rollback (P-28, P-29) -----------------------------------------------------------


def test_commit_tx_makes_the_lien_final_P_28(vf: VaultFixture) -> None:
    vf.bond("alice", 1000)
    tx_id = vf.stake_remote("alice", 100)
    vf.vault.execute(vf.env, info(EXT), CommitTx(tx_id=tx_id))
    assert vf.lien("alice", EXT) == ValueRange(100, 100)
    _, free, max_lien, slashable = vf.user("alice")
    assert (free, max_lien, slashable) == (
        ValueRange(900, 900),
        ValueRange(100, 100),
        ValueRange(10, 10),
    )
    assert vf.vault.txs.get(tx_id) is None


def test_commit_and_rollback_errors_P_28_P_29(vf: VaultFixture) -> None:
    vf.bond("alice", 1000)
    tx_id = vf.stake_remote("alice", 100)
    for msg in (CommitTx(tx_id=tx_id), RollbackTx(tx_id=tx_id)):
        rejects(
            vf.store,
            lambda msg=msg: vf.vault.execute(vf.env, info(EXT2), msg),
            WrongContractTx(tx_id, EXT2),
        )
        rejects(
            vf.store,
            lambda msg=msg: vf.vault.execute(vf.env, info(EXT), type(msg)(tx_id=99)),
            NotFound("tx", "99"),
        )


def test_rollback_tx_deletes_an_emptied_lien_and_uses_the_tx_ratio_P_29(vf: VaultFixture) -> None:
    vf.bond("alice", 1000)
    tx_id = vf.stake_remote("alice", 100)
    vf.vault.execute(vf.env, info(EXT), RollbackTx(tx_id=tx_id))
    assert vf.lien("alice", EXT) is None
    _, free, max_lien, slashable = vf.user("alice")
    assert (free, max_lien, slashable) == (
        ValueRange(1000, 1000),
        ValueRange(0, 0),
        ValueRange(0, 0),
    )
    assert vf.vault.txs.get(tx_id) is None


def test_rollback_keeps_a_lien_that_still_has_stake_P_29(vf: VaultFixture) -> None:
    vf.bond("alice", 1000)
    first = vf.stake_remote("alice", 100)
    vf.vault.execute(vf.env, info(EXT), CommitTx(tx_id=first))
    second = vf.stake_remote("alice", 50)
    vf.vault.execute(vf.env, info(EXT), RollbackTx(tx_id=second))
    assert vf.lien("alice", EXT) == ValueRange(100, 100)
    assert vf.user("alice")[3] == ValueRange(10, 10)


def test_commit_and_rollback_saturate_after_a_slash_shrank_the_lien_P_16_P_28(
    vf: VaultFixture,
) -> None:
    vf.bond("alice", 100)
    tx_id = vf.stake_remote("alice", 100)
    # a capping slash from another holder could lower the high end below the pending amount
    lien = vf.vault.state.lien("alice", EXT)
    assert lien is not None
    vf.vault.state.save_lien("alice", EXT, type(lien)(ValueRange(0, 40), lien.slashable))
    vf.vault.execute(vf.env, info(EXT), CommitTx(tx_id=tx_id))
    assert vf.lien("alice", EXT) == ValueRange(100, 100)
    vf2 = VaultFixture()
    vf2.bond("alice", 100)
    tx_id = vf2.stake_remote("alice", 100)
    lien = vf2.vault.state.lien("alice", EXT)
    assert lien is not None
    vf2.vault.state.save_lien("alice", EXT, type(lien)(ValueRange(0, 40), lien.slashable))
    vf2.vault.execute(vf2.env, info(EXT), RollbackTx(tx_id=tx_id))
    assert vf2.lien("alice", EXT) is None


# -- releases (P-30, P-31) --------------------------------------------------------------------


def _committed(vf: VaultFixture, user: str, amount: int, holder: str = EXT) -> None:
    tx_id = vf.stake_remote(user, amount, holder)
    vf.vault.execute(vf.env, info(holder), CommitTx(tx_id=tx_id))


def test_release_cross_stake_frees_the_lien_not_the_collateral_P_30(vf: VaultFixture) -> None:
    vf.bond("alice", 1000)
    _committed(vf, "alice", 100)
    vf.vault.execute(vf.env, info(EXT), ReleaseCrossStake(owner="alice", amount=coin(40)))
    assert vf.lien("alice", EXT) == ValueRange(60, 60)
    collateral, free, max_lien, slashable = vf.user("alice")
    assert (collateral, free, max_lien, slashable) == (
        1000,
        ValueRange(940, 940),
        ValueRange(60, 60),
        ValueRange(6, 6),
    )
    vf.vault.execute(vf.env, info(EXT), ReleaseCrossStake(owner="alice", amount=coin(60)))
    assert vf.lien("alice", EXT) is None


def test_release_cross_stake_errors_P_30(vf: VaultFixture) -> None:
    vf.bond("alice", 1000)
    _committed(vf, "alice", 100)
    vf.stake_remote("alice", 50)  # in flight: lien (100, 150)
    cases = [
        (EXT, ReleaseCrossStake(owner="alice", amount=coin(1, "x")), UnexpectedDenom(DENOM)),
        (EXT2, ReleaseCrossStake(owner="alice", amount=coin(1)), UnknownLienholder("alice", EXT2)),
        (EXT, ReleaseCrossStake(owner="alice", amount=coin(101)), InsufficientLien(100, 101)),
    ]
    for sender, msg, error in cases:
        rejects(vf.store, lambda s=sender, m=msg: vf.vault.execute(vf.env, info(s), m), error)
    rejects(
        vf.store,
        lambda: vf.vault.execute(
            vf.env, info(EXT, 1), ReleaseCrossStake(owner="alice", amount=coin(1))
        ),
        NonPayable(),
    )


def test_release_saturates_total_slashable_at_zero_P_30() -> None:
    # two stakes of 15 at 10 % add 1 + 1; releasing 30 subtracts floor(3) = 3: the reference
    # rejects this with Underflow, this build saturates at 0 [rec]
    vf = VaultFixture()
    vf.bond("alice", 100)
    _committed(vf, "alice", 15)
    _committed(vf, "alice", 15)
    assert vf.user("alice")[3] == ValueRange(2, 2)
    vf.vault.execute(vf.env, info(EXT), ReleaseCrossStake(owner="alice", amount=coin(30)))
    assert vf.user("alice")[3] == ValueRange(0, 0)
    assert vf.lien("alice", EXT) is None


def test_release_local_stake_returns_tokens_keyed_by_caller_ref_quirk_P_31(
    vf: VaultFixture,
) -> None:
    vf.bond("alice", 200)
    vf.vault.execute(vf.env, info("alice"), StakeLocal(amount=coin(150), msg=TARGET))
    vf.vault.execute(vf.env, info(LOCAL, 50), ReleaseLocalStake(owner="alice"))
    assert vf.lien("alice", LOCAL) == ValueRange(100, 100)
    assert vf.user("alice")[0] == 200
    # [ref-quirk] any caller may call it, but only its own lien (caller = holder) is touched
    rejects(
        vf.store,
        lambda: vf.vault.execute(vf.env, info("mallory", 50), ReleaseLocalStake(owner="alice")),
        UnknownLienholder("alice", "mallory"),
    )
    rejects(
        vf.store,
        lambda: vf.vault.execute(vf.env, info(LOCAL), ReleaseLocalStake(owner="alice")),
        NoFunds(),
    )


# -- queries (P-11, P-34, P-35) ---------------------------------------------------------------


def test_account_queries_P_34(vf: VaultFixture) -> None:
    vf.bond("alice", 1000)
    vf.stake_remote("alice", 100)
    account = vf.vault.query(vf.env, VaultAccountQuery(account="alice"))
    assert (account.denom, account.bonded, account.free) == (DENOM, 1000, ValueRange(900, 1000))
    details = vf.vault.query(vf.env, VaultAccountDetailsQuery(account="alice"))
    assert details.max_lien == ValueRange(0, 100)
    assert details.total_slashable == ValueRange(0, 10)
    unknown = vf.vault.query(vf.env, VaultAccountQuery(account="nobody"))
    assert (unknown.bonded, unknown.free) == (0, ValueRange(0, 0))
    claim = vf.vault.query(vf.env, VaultClaimQuery(owner="alice", lienholder=EXT))
    assert claim.amount == ValueRange(0, 100)
    with pytest.raises(NoClaim):
        vf.vault.query(vf.env, VaultClaimQuery(owner="alice", lienholder=EXT2))
    vf.stake_remote("alice", 5, EXT2)
    claims = vf.vault.query(vf.env, VaultAccountClaimsQuery(account="alice"))
    assert [c.lienholder for c in claims.claims] == [EXT, EXT2]
    claims = vf.vault.query(vf.env, VaultAccountClaimsQuery(account="alice", start_after=EXT))
    assert [c.lienholder for c in claims.claims] == [EXT2]


def test_all_accounts_pagination_and_collateral_filter_P_34_P_35(vf: VaultFixture) -> None:
    for i in range(40):
        vf.bond(f"user{i:02d}", 10)
    vf.vault.execute(vf.env, info("user05"), VaultUnbond(amount=coin(10)))
    page = vf.vault.query(vf.env, VaultAllAccountsQuery()).accounts
    assert [a.user for a in page] == [f"user{i:02d}" for i in range(10)]
    page = vf.vault.query(vf.env, VaultAllAccountsQuery(limit=100)).accounts
    assert len(page) == 30  # [rec] capped at 30 (the reference: no cap)
    page = vf.vault.query(
        vf.env, VaultAllAccountsQuery(with_collateral=True, start_after="user03", limit=3)
    ).accounts
    assert [a.user for a in page] == ["user04", "user06", "user07"]


def test_pending_tx_queries_newest_first_P_11(vf: VaultFixture) -> None:
    vf.bond("alice", 1000)
    for _ in range(12):
        vf.stake_remote("alice", 1)
    txs = vf.vault.query(vf.env, VaultAllPendingTxsDescQuery())
    assert [t.id for t in txs] == list(range(12, 2, -1))
    txs = vf.vault.query(vf.env, VaultAllPendingTxsDescQuery(start_after=5, limit=2))
    assert [t.id for t in txs] == [4, 3]
    assert [t.id for t in vf.vault.txs.of_owner("alice")] == list(range(1, 13))
    with pytest.raises(NotFound):
        vf.vault.query(vf.env, VaultPendingTxQuery(tx_id=99))


def test_queries_never_write_P_4(vf: VaultFixture) -> None:
    vf.bond("alice", 100)
    vf.stake_remote("alice", 10)
    point = vf.store.savepoint()
    for query in (
        VaultConfigQuery(),
        VaultAccountQuery(account="nobody"),
        VaultAccountDetailsQuery(account="alice"),
        VaultAccountClaimsQuery(account="alice"),
        VaultAllAccountsQuery(with_collateral=True),
        ActiveExternalStakingQuery(),
        VaultPendingTxQuery(tx_id=1),
        VaultAllPendingTxsDescQuery(),
    ):
        vf.vault.query(vf.env, query)
    assert vf.store.journal_length == point.mark
    vf.store.release(point)
