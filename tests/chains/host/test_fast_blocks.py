"""Fast block production is exact.

- `TxExecutor.fast_forward` (a run of idle blocks in one step) leaves byte-identical state
  to the same blocks produced one by one (`end_block` / `begin_block`), across reward
  allocation segments (C-25, C-26: delegations, fees, commission changes, withdrawals),
  and refuses (changing nothing) where its closed form does not hold;
- `TxExecutor.block_due` / `next_due` see every boundary with work: units, active-set
  changes, maturities (C-27), epochs of a `ScheduledModule`, hinted modules;
- a `Chain` with ``lazy_blocks`` on a virtual clock gives the same states and events as
  one ticking every block, on asyncio and trio.
"""

from __future__ import annotations

import random
from typing import Any

import anyio
import pytest

from chains import Chain, ChainEvent, Coin
from chains.contract import BlockEnv, Event, JournaledMap, Response, SdkDec, Store
from chains.host import TxExecutor
from chains.modules import GovModule, ModuleCall, StakingParams, SudoCall
from chains.testing import RecordingModule
from mesh_actors import VirtualClock
from mesh_actors.testing import virtual_system
from tests.chains.host._kit import ALICE, BOB, DENOM, make_config

STEP = 5
UNBONDING = 600


class HeaderModule:
    """Keeps the last two block headers, like the IBC module: idle memory 2."""

    name = "headers"

    def __init__(self, store: Store) -> None:
        self.headers: JournaledMap[str, tuple[int, int]] = JournaledMap(store, "headers/h")

    def handle(self, call: ModuleCall, msg: Any) -> Response:
        return Response()

    def query(self, block: BlockEnv, msg: Any) -> Any:
        return dict(self.headers.raw_items())

    def begin_block(self, block: BlockEnv) -> list[Event]:
        current = self.headers.get("current")
        if current is not None:
            self.headers["committed"] = current
        self.headers["current"] = (block.height, block.time_s)
        return []

    def end_block(self, block: BlockEnv) -> list[SudoCall]:
        return []


def _config() -> Any:
    return make_config(
        staking=StakingParams(bond_denom=DENOM, block_provision=1_234, unbonding_time=UNBONDING)
    )


def _executor(*, hinted: bool = True) -> TxExecutor:
    ex = TxExecutor(_config())
    ex.add_module(GovModule(ex.staking))
    headers = HeaderModule(ex.store)
    ex.add_module(headers)
    if hinted:
        ex.set_block_hint(headers.name, lambda block: None, idle_memory=2)
    ex.begin_block(ex.config.first_block_time)
    return ex


def _plain(ex: TxExecutor, count: int) -> None:
    for _ in range(count):
        ex.end_block()
        ex.begin_block(ex.time_s + STEP)


def _fast(ex: TxExecutor, count: int) -> int:
    """Produce ``count`` blocks, fast-forwarding where possible; return the blocks that
    were fast-forwarded."""
    done = skipped = 0
    while done < count:
        times = [ex.time_s + STEP * (i + 1) for i in range(count - done)]
        if len(times) > 1 and not ex.block_due() and ex.fast_forward(times) is not None:
            return skipped + len(times)
        _plain(ex, 1)
        done += 1
    return skipped


def _unit(ex: TxExecutor, action: str, rng: random.Random) -> None:
    staking = ex.staking
    validator = staking.validators()[rng.randrange(2)].operator
    if action == "delegate":
        ex.run(lambda: staking.delegate(ALICE, validator, rng.randrange(1, 10**6)))
    elif action == "fee":
        ex.run(lambda: staking.collect_fee(ALICE, rng.randrange(1, 10**4)))
    elif action == "withdraw":
        ex.run(lambda: staking.withdraw_delegator_reward(ALICE, validator))
    elif action == "commission":
        ex.run(lambda: staking.set_commission(validator, SdkDec.parse("0.05")))
    elif action == "send":
        ex.run(lambda: ex.bank.transfer(ALICE, BOB, DENOM, 7))


def _script(seed: int) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    actions = ["delegate", "fee", "withdraw", "commission", "send", "none", "none"]
    return [(rng.choice(actions), rng.choice([1, 2, 3, 17, 100, 333])) for _ in range(30)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_forward_equals_block_by_block_C_25_C_26(seed: int) -> None:
    plain, fast = _executor(), _executor()
    plain_rng, fast_rng = random.Random(seed), random.Random(seed)
    skipped = 0
    for action, blocks in _script(seed):
        _unit(plain, action, plain_rng)
        _unit(fast, action, fast_rng)
        _plain(plain, blocks)
        skipped += _fast(fast, blocks)
        assert fast.dump_state() == plain.dump_state(), (action, blocks)
        assert fast.staking.distribution.community_pool() == (
            plain.staking.distribution.community_pool()
        )
    assert skipped > 1_000  # most blocks went the fast way


def test_fast_forward_refuses_where_it_is_not_exact_and_changes_nothing() -> None:
    ex = _executor()
    _plain(ex, 2)  # the reward allocation reaches its steady state
    times = [ex.time_s + STEP * (i + 1) for i in range(10)]
    # a unit ran in the block: its end is due
    ex.run(lambda: ex.bank.transfer(ALICE, BOB, DENOM, 1))
    assert ex.block_due()
    assert ex.fast_forward(times) is None
    # the active set changed: the next allocation was eager and closed the segment, so
    # reward allocation is not in its steady state for one block
    validator = ex.staking.validators()[0].operator
    ex.run(lambda: ex.staking.delegate(ALICE, validator, 10**6))
    _plain(ex, 1)
    assert not ex.block_due()
    before = ex.dump_state()
    times = [ex.time_s + STEP * (i + 1) for i in range(10)]
    assert ex.fast_forward(times) is None
    assert ex.dump_state() == before
    _plain(ex, 1)
    assert ex.fast_forward([ex.time_s + STEP * (i + 1) for i in range(10)]) is not None
    # a module that cannot tell when it has work: every boundary is due, no fast path
    other = _executor(hinted=False)
    _plain(other, 2)
    assert other.block_due()
    before = other.dump_state()
    assert other.fast_forward([other.time_s + STEP * (i + 1) for i in range(5)]) is None
    assert other.dump_state() == before


def test_maturities_are_due_at_their_time_C_27() -> None:
    ex = _executor()
    validator = ex.staking.validators()[0].operator
    ex.run(lambda: ex.staking.delegate(ALICE, validator, 1_000))
    ex.run(lambda: ex.staking.undelegate(ALICE, validator, 400))
    _plain(ex, 1)
    due_height, due_time = ex.next_due()
    assert due_height is None
    assert due_time is not None and due_time > ex.time_s
    assert not ex.block_due()
    # a run that crosses the completion time is refused; one that stops before is taken
    crossing = [ex.time_s + STEP * (i + 1) for i in range(UNBONDING // STEP + 5)]
    assert ex.fast_forward(crossing) is None
    short = [t for t in crossing if t < due_time]
    assert ex.fast_forward(short) is not None
    while not ex.block_due():
        _plain(ex, 1)
    assert ex.time_s >= due_time
    balance = ex.bank.balance(ALICE, DENOM)
    _plain(ex, 1)
    assert ex.bank.balance(ALICE, DENOM) == balance + 400
    assert ex.next_due() == (None, None)


def test_a_scheduled_module_is_due_at_its_height_only() -> None:
    ex = TxExecutor(_config())
    recorder = _Scheduled(ex.store)
    ex.add_module(recorder)
    ex.begin_block(ex.config.first_block_time)
    recorder.due = 7
    assert ex.next_due() == (7, None)
    _plain(ex, 10)
    # hooks ran at the due height only: end-block of 7, begin-block of 8
    assert recorder.hooks == [("end", 7), ("begin", 8)]


class _Scheduled(RecordingModule):
    due: int | None = None

    def next_due_height(self, block: BlockEnv) -> int | None:
        return self.due if self.due is not None and self.due >= block.height else None


async def _chain_run(lazy: bool) -> tuple[bytes, bytes, int]:
    rng = random.Random(11)
    async with (
        virtual_system("node", seed=5) as system,
        Chain(_config(), system, lazy_blocks=lazy) as chain,
    ):
        subscription = chain.events()
        validator = chain.operator("val-a")
        for step in range(30):
            await chain.delegate(ALICE, validator, rng.randrange(1, 10**6))
            if step % 3 == 0:
                await chain.undelegate(ALICE, validator, rng.randrange(1, 1_000))
            if step % 4 == 0:
                await chain.bank_send(ALICE, BOB, Coin(denom=DENOM, amount=rng.randrange(1, 99)))
            await system.clock.sleep(rng.choice([0.5, 4.0, 61.0, 333.3, 1_000.0]))
        await chain.produce_blocks(7)
        await system.clock.sleep(2 * UNBONDING + 0.5)
        await chain.force_downtime(validator)
        await system.clock.sleep(3_600.0)
        dump = await chain.dump_state()
        assert isinstance(system.clock, VirtualClock)
        log: list[ChainEvent] = subscription.drain()
        return dump, "\n".join(repr(e) for e in log).encode(), system.clock.jumps


def test_lazy_chain_equals_ticking_chain_on_both_backends_C_10() -> None:
    lazy = anyio.run(_chain_run, True, backend="asyncio")
    plain = anyio.run(_chain_run, False, backend="asyncio")
    assert lazy[:2] == plain[:2]
    assert lazy[2] * 3 < plain[2]  # far fewer clock stops
    assert anyio.run(_chain_run, True, backend="trio")[:2] == plain[:2]
