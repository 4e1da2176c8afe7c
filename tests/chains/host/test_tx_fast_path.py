"""The short path of a root message (issue 16): the same outcome as the general path.

`TxExecutor.submit` runs a root message whose sender is known valid straight on its route,
and a one-coin `BankSend` without a savepoint (it checks everything before its only writes).
A module with a ``check_message`` filter forces every message down the general path (filter,
native route or dispatch, savepoint), so two executors, one with a pass-through filter, must
agree on every result and every byte of state, for transfers that succeed and for every way a
transfer fails (consumer.md C-8, provider.md P-2). Also: a unit's reused savepoint nests in a
caller's savepoint like a fresh one, and the host's `SubmitTx` handler refuses as `on_tx` does.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chains import Chain, Coin, InvalidAddress, TxResult, Unauthorized
from chains.contract import BankSend, BlockEnv, Event, InsufficientFunds, Response
from chains.host import ChainHalted, SubmitTx, TxExecutor
from chains.modules import Mint, ModuleCall, SudoCall
from mesh_actors.testing import virtual_system
from tests.chains.host._kit import ALICE, BOB, DENOM, SINK, make_config

OTHER = "uosmo"
NOT_AN_ADDRESS = "cosmos1notanaddress"


class PassThrough:
    """A module whose message filter accepts everything: its only effect is that every
    message takes the general path."""

    name = "pass_through"

    def __init__(self) -> None:
        self.seen = 0

    def check_message(self, sender: str, msg: Any) -> None:
        self.seen += 1

    def handle(self, call: ModuleCall, msg: Any) -> Response:
        return Response()

    def query(self, block: BlockEnv, msg: Any) -> Any:
        return None

    def begin_block(self, block: BlockEnv) -> list[Event]:
        return []

    def end_block(self, block: BlockEnv) -> list[SudoCall]:
        return []


def _executor(general: bool) -> TxExecutor:
    config = make_config()
    ex = TxExecutor(config)
    if general:
        ex.add_module(PassThrough())
    ex.begin_block(config.first_block_time)
    # a second denom for alice, so that multi-coin sends can fail on their second coin
    assert ex.submit(ex.gov_address, _mint(ALICE, OTHER, 10**6)).ok
    return ex


def _mint(to: str, denom: str, amount: int) -> Mint:
    return Mint(to_address=to, amount=(Coin(denom=denom, amount=amount),))


def _outcome(result: TxResult) -> tuple[Any, ...]:
    error = result.error
    return (
        result.ok,
        result.data,
        None if error is None else (type(error).__name__, str(error)),
        result.events,
        result.contracts,
        result.height,
        result.time,
        result.tx_index,
    )


senders = st.sampled_from([ALICE, BOB, SINK, NOT_AN_ADDRESS])
recipients = st.sampled_from([ALICE, BOB, SINK, NOT_AN_ADDRESS])
coins = st.builds(
    lambda denom, amount: Coin.model_construct(denom=denom, amount=amount),
    st.sampled_from([DENOM, OTHER, "x", "bad denom!"]),
    # 2**128 is refused by `Coin` validation; `model_construct` lets it reach the bank
    st.sampled_from([0, 1, 7, 10**6, 10**12, 10**13, 2**128]),
)
sends = st.tuples(senders, recipients, st.lists(coins, min_size=1, max_size=3))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(sends, min_size=1, max_size=12))
def test_short_path_matches_the_general_path_and_a_failed_send_changes_nothing_C_8_P_2(
    plan: list[tuple[str, str, list[Coin]]],
) -> None:
    fast, general = _executor(False), _executor(True)
    for sender, recipient, amount in plan:
        msg = BankSend.model_construct(to_address=recipient, amount=tuple(amount))
        before = fast.store.snapshot()
        mine, theirs = fast.submit(sender, msg), general.submit(sender, msg)
        assert _outcome(mine) == _outcome(theirs)
        after = fast.store.snapshot()
        assert after == general.store.snapshot()
        if not mine.ok:
            assert after == before  # nothing of a failed transaction stays (C-8)
        # no savepoint or undo record outlives a unit on either path
        assert fast.store.depth == general.store.depth == 0
        assert fast.store.journal_length == 0


def test_a_failed_one_coin_send_leaves_the_bank_as_it_was_P_2() -> None:
    ex = _executor(False)
    before = ex.store.snapshot()
    too_much = BankSend(to_address=BOB, amount=(Coin(denom=DENOM, amount=10**13),))
    result = ex.submit(ALICE, too_much)
    assert isinstance(result.error, InsufficientFunds) and result.events == ()
    invalid = BankSend.model_construct(
        to_address=NOT_AN_ADDRESS, amount=(Coin(denom=DENOM, amount=1),)
    )
    assert isinstance(ex.submit(ALICE, invalid).error, InvalidAddress)
    assert ex.store.snapshot() == before
    assert ex.tx_index == 3  # the mint and both failures used their unit index


def test_a_unit_inside_an_open_savepoint_is_undone_with_it() -> None:
    ex = _executor(False)
    before = ex.bank.balance(ALICE, DENOM)
    send = BankSend(to_address=BOB, amount=(Coin(denom=DENOM, amount=5),))
    multi = BankSend(
        to_address=BOB, amount=(Coin(denom=DENOM, amount=1), Coin(denom=OTHER, amount=1))
    )
    outer = ex.store.savepoint()
    assert ex.submit(ALICE, send).ok
    assert ex.submit(ALICE, multi).ok
    failed = ex.submit(ALICE, BankSend(to_address=BOB, amount=(Coin(denom=DENOM, amount=10**13),)))
    assert not failed.ok
    assert ex.store.depth == 1  # the units closed their own savepoints, not the caller's
    assert ex.bank.balance(ALICE, DENOM) == before - 6
    ex.store.rollback_to(outer)
    assert ex.bank.balance(ALICE, DENOM) == before
    assert ex.bank.balance(BOB, DENOM) == 0


@pytest.mark.anyio
async def test_submit_tx_is_refused_on_a_halted_chain_and_runs_after_resume() -> None:
    async with virtual_system("node") as system, Chain(make_config(), system) as chain:
        send = SubmitTx(
            sender=ALICE, msg=BankSend(to_address=BOB, amount=(Coin(denom=DENOM, amount=3),))
        )
        events = chain.events()
        chain.halt()
        refused = await chain.host.ask(send)
        assert isinstance(refused, TxResult) and refused.error == ChainHalted(chain.chain_id)
        assert await chain.balance(BOB, DENOM) == 0
        chain.resume()
        done = await chain.host.ask(send)
        assert isinstance(done, TxResult) and done.ok
        assert await chain.balance(BOB, DENOM) == 3
        # the committed transfer's event reached the subscriber, once
        published = events.drain()
        assert [e.type for e in published if e.tx_index == done.tx_index] == ["transfer"]
        assert not isinstance(refused.error, Unauthorized)
