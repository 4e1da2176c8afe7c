"""The chain host actor and the embedder API, on both anyio backends, in virtual time.

consumer.md C-8, C-10, C-34; provider.md P-2, P-5, P-6; ARCHITECTURE rule 2.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from chains import (
    BlockPhase,
    Chain,
    ChainEvent,
    Coin,
    ContractPanic,
    InvalidAddress,
    QueryResult,
    TxResult,
    Unauthorized,
)
from chains.contract import BankSend, Event, SdkDec, UnsupportedMessage
from chains.host import (
    ChainNotRunning,
    ExecuteContract,
    ExecuteTx,
    InternalError,
    ModuleExists,
    QueryContract,
    QueryWrite,
    SubmitTx,
    TxExecutor,
)
from chains.modules import SudoCall
from chains.testing import (
    CascadeContract,
    CascadeInit,
    CascadeNode,
    CountQuery,
    Emit,
    LogQuery,
    RecordingModule,
    RunNode,
    Spawn,
)
from mesh_actors import VirtualClock
from mesh_actors.testing import virtual_system
from tests.chains.host._kit import ALICE, BOB, DENOM, make_config

pytestmark = pytest.mark.anyio

FIRST = make_config().first_block_time


@asynccontextmanager
async def running_chain(**overrides: Any) -> AsyncIterator[Chain]:
    async with virtual_system("node") as system, Chain(make_config(**overrides), system) as chain:
        await chain.register_code(CascadeContract)
        yield chain


async def _deploy(chain: Chain, funds: int = 50) -> str:
    return await chain.instantiate(
        ALICE, "test.cascade", CascadeInit(denom=DENOM), (Coin(denom=DENOM, amount=funds),)
    )


def _recorder_factory(holder: list[RecordingModule]) -> Any:
    def factory(ex: TxExecutor) -> RecordingModule:
        module = RecordingModule(ex.store)
        module.begin_events = [Event(type="tick")]
        holder.append(module)
        return module

    return factory


async def test_blocks_follow_the_clock_with_strictly_increasing_heights_and_times_C_10() -> None:
    async with running_chain() as chain:
        holder: list[RecordingModule] = []
        await chain.add_module(_recorder_factory(holder))
        events = chain.events()
        assert (await chain.height(), await chain.time()) == (1, FIRST)
        await chain.system.clock.sleep(5 * 20 + 1)
        assert await chain.height() == 21
        assert await chain.time() == FIRST + 100
        ticks = [e for e in events.drain() if e.type == "tick"]
        assert [(e.height, e.time) for e in ticks] == [
            (h, FIRST + 5 * (h - 1)) for h in range(2, 22)
        ]
        assert all(e.phase is BlockPhase.BEGIN_BLOCK and e.tx_index is None for e in ticks)
        # begin/end hooks alternate, one pair per block (C-10)
        hooks = holder[0].hooks
        assert hooks == [x for h in range(2, 22) for x in (("end", h - 1), ("begin", h))]


async def test_transactions_between_ticks_run_in_the_current_block() -> None:
    # sleeps end between ticks: at the very instant of a tick the order is unspecified
    async with running_chain() as chain:
        contract = await _deploy(chain)
        first = await chain.execute(ALICE, contract, Emit())
        second = await chain.execute(ALICE, contract, Emit())
        assert (first.height, first.tx_index, second.tx_index) == (1, 1, 2)
        await chain.system.clock.sleep(5.5)
        third = await chain.execute(ALICE, contract, Emit())
        assert (third.height, third.time, third.tx_index) == (2, FIRST + 5, 0)


async def test_produce_blocks_fast_path_keeps_time_consistent() -> None:
    async with running_chain() as chain:
        height = await chain.produce_blocks(1_000)
        assert height == 1_001
        assert await chain.time() == FIRST + 5 * 1_000
        await chain.system.clock.sleep(5.5)
        assert await chain.height() == 1_002
        assert await chain.time() == FIRST + 5 * 1_001


async def test_contract_actors_forward_executes_and_answer_queries() -> None:
    async with running_chain() as chain:
        contract = await _deploy(chain)
        actor = chain.contract(contract)
        result = await actor.ask(
            ExecuteContract(sender=ALICE, msg=Emit(data="hi")), expect=TxResult
        )
        assert result.ok and result.data == "hi"
        answer = await actor.ask(QueryContract(msg=CountQuery()), expect=QueryResult)
        assert answer.unwrap() == 2
        refused = await actor.ask(QueryContract(msg=Emit()), expect=QueryResult)
        assert not refused.ok and refused.error is not None
        # a contract instantiated inside a cascade gets its actor too
        spawned = await chain.execute(
            ALICE, contract, Spawn(code="test.cascade", msg=CascadeInit())
        )
        (child,) = spawned.contracts
        log = await chain.contract(child).ask(QueryContract(msg=LogQuery()), expect=QueryResult)
        assert log.unwrap() == (("init", contract),)
        path = f"{chain.chain_id}/{child}"
        assert path in chain.system.actors()


async def test_a_panicking_contract_leaves_the_host_running_and_state_intact_P_6() -> None:
    async with running_chain() as chain:
        contract = await _deploy(chain)
        before = await chain.dump_state()
        node = CascadeNode(target=contract, tag="boom", fail="panic", send=5)
        result = await chain.execute(ALICE, contract, RunNode(node=node))
        assert result.error == ContractPanic(contract, "execute", "RuntimeError: panic in boom")
        assert await chain.dump_state() == before
        assert (await chain.execute(ALICE, contract, Emit())).ok
        assert f"{chain.chain_id}" in chain.system.actors()


async def test_event_stream_carries_committed_events_only_C_8() -> None:
    async with running_chain() as chain:
        contract = await _deploy(chain)
        events = chain.events()
        ok = await chain.bank_send(ALICE, BOB, Coin(denom=DENOM, amount=9))
        node = CascadeNode(target=contract, tag="x", fail="error")
        failed = await chain.execute(ALICE, contract, RunNode(node=node))
        assert not failed.ok
        received = events.drain()
        assert received == list(ok.events)
        (transfer,) = received
        assert isinstance(transfer, ChainEvent)
        assert (transfer.chain_id, transfer.height, transfer.tx_index) == (chain.chain_id, 1, 1)
        assert transfer.event == Event(
            type="transfer",
            attributes=(("recipient", BOB), ("sender", ALICE), ("amount", "9stake")),
        )


async def test_end_block_sudo_calls_through_the_actor_are_isolated_C_52() -> None:
    async with running_chain() as chain:
        holder: list[RecordingModule] = []
        await chain.add_module(_recorder_factory(holder))
        with pytest.raises(ModuleExists):
            await chain.add_module(holder[0])
        good, bad = await _deploy(chain), await _deploy(chain)
        holder[0].schedule(
            SudoCall(
                contract=bad, msg=RunNode(node=CascadeNode(target=bad, tag="b", fail="error"))
            ),
            SudoCall(contract=good, msg=RunNode(node=CascadeNode(target=good, tag="g"))),
        )
        await chain.system.clock.sleep(5.5)
        assert (await chain.query(good, LogQuery()))[-1] == ("run", "g", "sudo", 0)
        assert (await chain.query(bad, CountQuery())) == 1
        assert [ok for _, ok in ((c.contract, r.ok) for c, r in holder[0].sudo_results)] == [
            False,
            True,
        ]


async def test_invalid_addresses_and_governance_authorization_P_5() -> None:
    async with running_chain() as chain:
        contract = await _deploy(chain)
        with pytest.raises(InvalidAddress):
            await chain.balance("cosmos1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq")
        bad_sender = await chain.execute("stars1invalid", contract, Emit())
        assert isinstance(bad_sender.error, InvalidAddress)
        denied = await chain.gov_execute(ALICE, contract, Emit())
        assert denied.error == Unauthorized()
        assert (await chain.gov_sudo(chain.gov_address, contract, Emit(data=1))).data == 1
        assert (await chain.gov_execute(chain.gov_address, contract, Emit(data=2))).data == 2


async def test_staking_control_surface_through_the_chain_C_34() -> None:
    async with running_chain() as chain:
        val_a = chain.operator("val-a")
        assert len(await chain.bonded_validators()) == 2
        assert (await chain.delegate(ALICE, val_a, 1_000_000)).ok
        assert await chain.delegation_value(ALICE, val_a) == 1_000_000
        assert (await chain.undelegate(ALICE, val_a, 400_000)).ok
        ((validator, entry),) = await chain.unbondings(ALICE)
        assert validator == val_a and entry.balance == 400_000
        assert len(await chain.delegations(ALICE)) == 1
        assert (await chain.withdraw_rewards(ALICE, val_a)).ok
        assert (await chain.mint(BOB, Coin(denom=DENOM, amount=2_000_000))).ok
        bob_op = chain.operator("bob")
        created = await chain.create_validator(bob_op, "pk-bob", 2_000_000, SdkDec.parse("0.05"))
        assert created.ok and created.data == bob_op
        assert (await chain.set_commission(bob_op, SdkDec.parse("0.06"))).ok
        assert (await chain.record_liveness(val_a, signed=False)).ok
        burned = await chain.force_downtime(val_a)
        # power 46 in the active set x 1_000_000 x 0.01 = 460_000, minus the 4_000 that the
        # 400_000 unbonding entry takes on (C-28 step 2)
        assert burned.data == 456_000
        record = await chain.validator(val_a)
        assert record is not None and record.jailed
        early = await chain.unjail(val_a)
        assert early.error is not None and early.error.name == "JailedUntilNotPassed"
        await chain.system.clock.sleep(601)
        assert (await chain.unjail(val_a)).ok
        assert await chain.contract_info(ALICE) is None
        assert await chain.supply() > 0


async def test_batches_and_raw_host_messages() -> None:
    async with running_chain() as chain:
        contract = await _deploy(chain)
        send = SubmitTx(
            sender=ALICE, msg=BankSend(to_address=BOB, amount=(Coin(denom=DENOM, amount=1),))
        )
        results = await chain.submit_batch(
            [send, ExecuteTx(sender=ALICE, contract=contract, msg=Emit()), send]
        )
        assert [r.ok for r in results] == [True, True, True]
        assert [r.tx_index for r in results] == [1, 2, 3]
        assert await chain.balance(BOB) == 2
        odd = await chain.submit_batch([send, Emit(), send])  # type: ignore[list-item]
        assert [r.ok for r in odd] == [True, False, True]
        assert odd[1].error == UnsupportedMessage("transaction", "Emit")
        unit = await chain.run_unit(lambda ex: ex.execute_contract(ALICE, contract, Emit(data=5)))
        assert unit.data == 5


async def test_a_buggy_or_writing_read_is_an_error_value_and_the_host_carries_on_P_4() -> None:
    async with running_chain() as chain:
        with pytest.raises(InternalError):
            await chain.read(lambda ex: 1 // 0)
        with pytest.raises(QueryWrite):
            await chain.read(lambda ex: ex.bank.mint(ALICE, DENOM, 1))
        assert await chain.balance(ALICE) == 10**12
        assert await chain.height() == 1


async def test_chain_start_runs_in_a_system_of_its_own() -> None:
    clock = VirtualClock()
    async with clock.autojump(), Chain.start(make_config(), clock=clock) as chain:
        assert chain.system.name == chain.chain_id
        await clock.sleep(10.5)
        assert await chain.height() == 3
    with pytest.raises(ChainNotRunning):
        _ = chain.host
