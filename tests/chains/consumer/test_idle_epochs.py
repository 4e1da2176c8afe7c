"""No-op epochs are folded, exactly (issue 16; consumer.md C-51, C-52, C-95..C-98).

A virtual-staking epoch with nothing pending (no reward target, a cap above 0, no slash
request, a rebalance that changes nothing) is not called: the mesh-security module only
moves its repeating task on by one epoch, and a run of idle blocks moves it on by whole
epochs in one step (`TxExecutor.fast_forward` through `FoldingModule.fold_idle`). These
tests hold the fold to the reference, where every epoch is called block by block:

- the chain states are byte-identical (`TxExecutor.dump_state`) between a chain that folds
  and fast-forwards and one that calls every epoch one block at a time, over random
  workloads (stakes, unstakes, cap changes, slashes, idle gaps of any length);
- an epoch with work is still called on time, and `epoch_is_idle` is false exactly when
  the call would change something (a wrongly idle answer would show in the state dumps).
"""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chains import Coin
from chains.consumer import HandleEpoch, MeshParams
from chains.contract import ChainError
from chains.wire import StakePacket, UnstakePacket
from tests.chains.consumer._deploy import REMOTE, Consumer, ConsumerKit, M, deploy_consumer

EPOCH = 10


def _chain(*, fold: bool) -> Consumer:
    kit = ConsumerKit(mesh_params=MeshParams(epoch_length=EPOCH), fold_epochs=fold)
    for name in "abcd":
        kit.add_validator(name, M)
    # the kit's simulated IBC module does nothing at block boundaries and keeps nothing
    # per block: say so, so that idle runs can be fast-forwarded
    kit.executor.set_block_hint(kit.ibc.name, lambda block: None, idle_memory=1)
    kit.next_block()
    return deploy_consumer(kit, max_cap=10**9)


def _blocks(c: Consumer, count: int, *, fast: bool) -> int:
    """Produce ``count`` blocks (fast-forwarding idle runs if ``fast``); return how many
    were fast-forwarded."""
    ex = c.chain.executor
    step = max(1, int(c.chain.config.block_time))
    done = folded = 0
    while done < count:
        if fast and count - done > 1 and not ex.block_due():
            due_height, due_time = ex.next_due()
            # the run must stop before the next due boundary (as the host's driver does)
            run = count - done
            if due_height is not None:
                run = min(run, due_height - ex.height)
            times = [ex.time_s + step * (i + 1) for i in range(run)]
            if due_time is not None:
                times = [t for t in times if t < due_time]
            if len(times) > 1 and ex.fast_forward(times) is not None:
                done += len(times)
                folded += len(times)
                continue
        c.chain.next_block()
        done += 1
    return folded


def _act(c: Consumer, action: tuple[str, int, int], seq: int) -> None:
    kind, who, amount = action
    validator = c.chain.operator("abcd"[who % 4])
    remote = Coin(denom=REMOTE, amount=amount)
    if kind == "stake":
        packet = StakePacket(delegator="osmo1user", validator=validator, stake=remote, tx_id=seq)
        c.receive(packet, seq)
    elif kind == "unstake":
        packet = UnstakePacket(
            delegator="osmo1user", validator=validator, unstake=remote, tx_id=seq
        )
        c.receive(packet, seq)
    elif kind == "cap":
        c.chain.set_max_cap(c.vs, amount * 1_000)
    elif kind == "downtime" or kind == "double_sign":
        staking = c.chain.staking
        record = staking.validator(validator)
        if record is None or record.jailed:
            return
        try:
            if kind == "downtime":
                staking.force_downtime(validator)
            else:
                staking.submit_equivocation(
                    record.consensus_address,
                    c.chain.height - 1,
                    c.chain.time_s - 5,
                    record.tokens // M,
                )
        except ChainError:
            pass  # not slashable now (e.g. tombstoned): nothing happened


_ACTIONS = st.tuples(
    st.sampled_from(["stake", "unstake", "cap", "downtime", "double_sign", "none", "none"]),
    st.integers(0, 3),
    st.integers(0, 2_000_000),
)


def _tasks(c: Consumer) -> list[tuple[str, int, str, bool]]:
    return [(t.value, h, contract, r) for t, h, contract, r in c.chain.mesh.scheduled_tasks()]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.lists(
        st.tuples(_ACTIONS, st.sampled_from([1, 2, 3, 9, 10, 11, 25, 97, 1_000])),
        min_size=1,
        max_size=12,
    )
)
@example([(("none", 0, 0), 1_000), (("stake", 1, 500_000), 37), (("none", 0, 0), 2_000)])
@example([(("cap", 0, 0), 55), (("none", 0, 0), 300), (("cap", 0, 5), 301)])
@example([(("stake", 1, 500_000), 25), (("unstake", 1, 500_000), 25), (("none", 0, 0), 999)])
@example([(("stake", 2, 900_000), 12), (("double_sign", 2, 0), 3), (("none", 0, 0), 400)])
@example([(("stake", 0, 900_000), 12), (("downtime", 0, 0), 30), (("stake", 0, 9), 99)])
def test_folded_epochs_leave_the_state_of_called_epochs_C_51_C_52_C_98(
    script: list[tuple[tuple[str, int, int], int]],
) -> None:
    """Folding and fast-forwarding give byte-identical states to calling every epoch in
    every block, after every step of a random workload with random idle gaps."""
    folded, called = _chain(fold=True), _chain(fold=False)
    assert folded.chain.executor.dump_state() == called.chain.executor.dump_state()
    skipped = 0
    for seq, (action, gap) in enumerate(script, start=1):
        _act(folded, action, seq)
        _act(called, action, seq)
        skipped += _blocks(folded, gap, fast=True)
        _blocks(called, gap, fast=False)
        assert folded.chain.height == called.chain.height
        assert _tasks(folded) == _tasks(called), (seq, action, gap)
        assert folded.chain.executor.dump_state() == called.chain.executor.dump_state(), (
            seq,
            action,
            gap,
        )
    assert folded.chain.sudo_failures == called.chain.sudo_failures == []


def test_idle_epochs_fold_into_one_fast_forward_and_busy_ones_still_run_C_51() -> None:
    """With nothing pending, thousands of blocks (hundreds of epochs) go by in one step;
    a stake makes the next epoch due again, and it runs (bonds) on time."""
    c = _chain(fold=True)
    _blocks(c, 3 * EPOCH, fast=False)  # the first epochs store the empty targets
    assert c.chain.executor.epoch_idle(c.vs)
    ex = c.chain.executor
    assert ex.next_due() == (None, None)
    start = ex.height
    (task,) = [t for t in _tasks(c) if t[0] == "handle_epoch"]
    assert ex.fast_forward([ex.time_s + 5 * (i + 1) for i in range(5_000)]) is not None
    assert ex.height == start + 5_000
    (moved,) = [t for t in _tasks(c) if t[0] == "handle_epoch"]
    # phase-anchored: the same residue, the first epoch height not yet ended
    assert moved[1] % EPOCH == task[1] % EPOCH
    assert ex.height <= moved[1] < ex.height + EPOCH
    # a stake: the epoch has work again, is due at its height, and bonds
    validator = c.chain.operator("b")
    packet = StakePacket(
        delegator="osmo1user", validator=validator, stake=Coin(denom=REMOTE, amount=80 * M), tx_id=1
    )
    assert c.receive(packet, 1).error_text() is None
    assert not ex.epoch_idle(c.vs)
    assert ex.block_due()
    c.chain.run_until(moved[1])
    assert ex.next_due()[0] == moved[1]
    c.chain.next_block()
    assert c.chain.staking.delegation_value(c.vs, validator) == 36 * M


def test_an_epoch_with_work_is_never_idle_C_95_C_96_C_97() -> None:
    """Reward targets (C-95), a zero cap (C-96) and a bond request not yet bonded (C-98)
    each make the epoch a real one; calling an idle one changes nothing."""
    c = _chain(fold=True)
    ex = c.chain.executor
    assert ex.epoch_idle(c.vs)  # instantiated with empty targets: nothing pending
    before = ex.dump_state()
    c.chain.sudo(c.vs, HandleEpoch()).unwrap()
    assert ex.dump_state() == before  # an idle epoch, called anyway, changes nothing
    c.chain.set_max_cap(c.vs, 0)
    assert not ex.epoch_idle(c.vs)  # C-96: a zero cap unwinds (and drops the task)
    c.chain.set_max_cap(c.vs, 10**9)
    assert ex.epoch_idle(c.vs)
    validator = c.chain.operator("a")
    packet = StakePacket(
        delegator="osmo1user", validator=validator, stake=Coin(denom=REMOTE, amount=M), tx_id=1
    )
    assert c.receive(packet, 1).error_text() is None
    assert not ex.epoch_idle(c.vs)  # C-98: a request to bond
    c.epoch()
    assert not ex.epoch_idle(c.vs)  # C-95: now a reward target
