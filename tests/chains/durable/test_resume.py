"""A chain resumed from its durable store is the chain that committed it (issue 15).

- random work (bank sends, delegations and undelegations, contract cascades with sub-message
  failures and rollbacks), committed block by block, closed and reopened: the same app hash,
  the same canonical state dump, height and time; and the resumed chain then evolves exactly
  as a twin that never stopped (same app hash after more blocks and work);
- the same through the `Chain` handle and its host actor, on asyncio and trio, with a virtual
  clock: the chain resumes at its committed height and time, block time continues from there;
- a rolled-back write leaves nothing on disk (the committed app hash is the in-memory one).
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chains import Chain, Coin
from chains.contract import BankSend
from chains.host import DurableStore, TxExecutor, state_app_hash
from chains.testing import CascadeContract, CascadeInit, FakeIbcModule, RecordingModule, RunNode
from mesh_actors.testing import virtual_system
from tests.chains.durable._kit import ALICE, BOB, DENOM, Op, apply, boundary, fresh_kit
from tests.chains.host._kit import make_config
from tests.chains.host.test_determinism import random_plan

ops = st.lists(
    st.one_of(
        st.builds(Op, st.just("send"), st.integers(1, 10**6)),
        st.builds(Op, st.just("delegate"), st.integers(1, 10**7)),
        st.builds(Op, st.just("undelegate"), st.integers(1, 10**7)),
        st.builds(Op, st.just("execute"), st.integers(0, 10**6)),
        st.builds(Op, st.just("block"), st.integers(1, 3)),
    ),
    min_size=1,
    max_size=25,
)


def _position(ex: TxExecutor) -> tuple[int, int, bool, int]:
    return ex.height, ex.time_s, ex.block_open, ex.tx_index


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(before=ops, after=ops)
def test_restart_is_byte_identical_and_continues_like_a_twin(
    before: list[Op], after: list[Op]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "chain.sqlite"
        kit = fresh_kit(contracts=3)
        first = DurableStore.open(path, kit.ex.chain_id)
        assert first.attach(kit.ex) is None  # a new file: the base
        for op in before:
            apply(kit.ex, kit.contracts, op, first)
        boundary(kit.ex, first)  # the last work is committed at a block boundary
        committed = first.app_hash
        assert committed == state_app_hash(kit.ex)
        first.close()

        resumed = fresh_kit(contracts=0)
        second = DurableStore.open(path, resumed.ex.chain_id)
        assert second.attach(resumed.ex) == kit.ex.height
        assert second.app_hash == committed == state_app_hash(resumed.ex)
        assert resumed.ex.dump_state() == kit.ex.dump_state()
        assert resumed.ex.store.snapshot() == kit.ex.store.snapshot()  # empty maps too
        assert _position(resumed.ex) == _position(kit.ex)
        # the never-stopped twin (kit, now without a store) and the resumed chain agree on
        # everything they do next
        for op in after:
            apply(kit.ex, kit.contracts, op, None)
            apply(resumed.ex, kit.contracts, op, second)
        boundary(kit.ex, None)
        boundary(resumed.ex, second)
        assert second.app_hash == state_app_hash(kit.ex)
        assert resumed.ex.dump_state() == kit.ex.dump_state()
        second.close()


def test_rolled_back_writes_leave_nothing_to_commit(tmp_path: Path) -> None:
    kit = fresh_kit(contracts=2)
    store = DurableStore.open(tmp_path / "c.sqlite", kit.ex.chain_id)
    store.attach(kit.ex)
    boundary(kit.ex, store)
    # a cascade that fails at its root: every write it made is rolled back
    failing = random_plan(random.Random(1), kit.contracts).model_copy(update={"fail": "error"})
    assert not kit.ex.execute(ALICE, failing.target, RunNode(node=failing)).ok
    changes = kit.ex.store.take_changes()
    assert changes, "the failed unit wrote (and rolled back) something"
    kit.ex.store.note_changes(changes)
    writes: list[None] = []
    store.pause = lambda: writes.append(None)  # called after each row write, and the block's
    assert store.commit(kit.ex) == state_app_hash(kit.ex)
    assert len(writes) == 1, "only the block record was written"
    # a successful unit does write rows
    assert kit.ex.submit(ALICE, BankSend(to_address=BOB, amount=(Coin(denom=DENOM, amount=7),))).ok
    store.commit(kit.ex)
    assert len(writes) > 2
    store.close()


async def _chain_setup(chain: Chain) -> None:
    await chain.register_code(CascadeContract)
    await chain.add_module(lambda ex: RecordingModule(ex.store))
    await chain.add_module(lambda ex: FakeIbcModule(ex.store))


async def _chain_work(chain: Chain, contracts: list[str], seed: int, steps: int) -> None:
    rng = random.Random(seed)
    validator = chain.operator("val-a")
    for step in range(steps):
        plan = random_plan(rng, contracts)
        await chain.execute(ALICE, plan.target, RunNode(node=plan))
        if step % 4 == 0:
            await chain.delegate(ALICE, validator, rng.randrange(1, 10**6))
            await chain.bank_send(ALICE, BOB, Coin(denom=DENOM, amount=rng.randrange(1, 99)))
        if step % 3 == 0:
            await chain.produce_blocks(rng.randrange(1, 3))
    await chain.produce_blocks(1)


@pytest.mark.anyio
async def test_chain_resumes_at_its_committed_block(tmp_path: Path) -> None:
    path = tmp_path / "stargaze.sqlite"
    async with virtual_system("node") as system, Chain(make_config(), system) as chain:
        await _chain_setup(chain)
        assert await chain.attach_store(path) is None
        contracts = [
            await chain.instantiate(
                ALICE, "test.cascade", CascadeInit(), (Coin(denom=DENOM, amount=40),)
            )
            for _ in range(3)
        ]
        await _chain_work(chain, contracts, seed=4, steps=24)
        committed = await chain.app_hash()
        dump = await chain.dump_state()
        height, time_s = await chain.height(), await chain.time()
        # the twin's next blocks, to compare with the resumed chain's
        await _chain_work(chain, contracts, seed=9, steps=9)
        twin = await chain.app_hash()
        twin_height = await chain.height()
    # the same first part again into a second file, stopped there, then resumed from it
    again = tmp_path / "again.sqlite"
    async with virtual_system("node") as system, Chain(make_config(), system) as chain:
        await _chain_setup(chain)
        await chain.attach_store(again)
        for _ in range(3):
            await chain.instantiate(
                ALICE, "test.cascade", CascadeInit(), (Coin(denom=DENOM, amount=40),)
            )
        await _chain_work(chain, contracts, seed=4, steps=24)
        assert await chain.app_hash() == committed
    async with virtual_system("node") as system, Chain(make_config(), system) as chain:
        await _chain_setup(chain)
        assert await chain.attach_store(again) == height
        assert await chain.app_hash() == committed
        assert await chain.dump_state() == dump
        assert (await chain.height(), await chain.time()) == (height, time_s)
        # contract actors are spawned for the loaded contracts
        assert len(await chain.read(lambda ex: ex.contracts())) == 3
        await _chain_work(chain, contracts, seed=9, steps=9)
        assert await chain.height() == twin_height
        assert await chain.app_hash() == twin


@pytest.mark.anyio
async def test_block_time_continues_from_the_committed_block_on_a_virtual_clock(
    tmp_path: Path,
) -> None:
    """On a virtual clock downtime does not exist: the resumed chain's blocks come one block
    time apart from its committed block's time, on the clock (not one second apart while
    the clock mapping catches up, nor from genesis)."""
    path = tmp_path / "stargaze.sqlite"
    config = make_config()
    async with virtual_system("node") as system, Chain(config, system) as chain:
        await chain.attach_store(path)
        await system.clock.sleep(config.block_time * 40 + 0.5)
        height, time_s = await chain.height(), await chain.time()
        assert height >= 40
    async with virtual_system("node") as system, Chain(config, system) as chain:
        assert await chain.attach_store(path) == height
        assert await chain.time() == time_s
        await system.clock.sleep(config.block_time * 3 + 0.5)
        assert await chain.height() == height + 3
        assert await chain.time() == time_s + 3 * int(config.block_time)
