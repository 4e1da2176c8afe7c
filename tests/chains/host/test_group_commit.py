"""The host's group commit of `SubmitTx` tells (issue 16): a run of consecutive tells runs
through `ChainHost.on_submit_run` in one call, with the outcome of `on_submit` one by one.

Each transaction stays its own unit (P-2: a failing one changes nothing, the others commit),
in order; an ask, a batch or a block in between sees every earlier tell. The reference path
is the same host with its run handlers switched off: every byte of state, every event and
every answer must agree (C-10: the block boundaries fall between the same transactions).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chains import Chain, ChainEvent, Coin
from chains.contract import BankSend, StakingDelegate
from chains.host import ChainHost, RemoteTxResult, SubmitTx
from mesh_actors import ActorSystem, VirtualClock
from mesh_actors.testing import virtual_system
from tests.chains.host._kit import ALICE, BOB, DENOM, SINK, make_config
from transport import InMemoryNetwork

pytestmark = pytest.mark.anyio

ACCOUNTS = (ALICE, BOB, SINK)


@contextmanager
def _runs(handler: Callable[..., Any] | None) -> Iterator[None]:
    # the host's run handlers for the duration: ``None`` switches them off (every tell then
    # goes through `on_submit`); the cell reads them at the start of each batch
    saved = ChainHost.__runs__
    ChainHost.__runs__ = {} if handler is None else {SubmitTx: handler}
    try:
        yield
    finally:
        ChainHost.__runs__ = saved


def _counting(sizes: list[int]) -> Callable[..., Any]:
    def run(host: ChainHost, txs: deque[SubmitTx]) -> None:
        sizes.append(len(txs))
        host.on_submit_run(txs)

    return run


def _send(sender: str, to: str, amount: int) -> SubmitTx:
    return SubmitTx(
        sender=sender, msg=BankSend(to_address=to, amount=(Coin(denom=DENOM, amount=amount),))
    )


Op = tuple[Any, ...]


def _txs() -> st.SearchStrategy[SubmitTx]:
    # sends that succeed and sends that fail (bob and sink start empty; amounts beyond a
    # balance), and delegations (a different message in the same `SubmitTx` class)
    send = st.builds(
        _send,
        st.sampled_from(ACCOUNTS),
        st.sampled_from(ACCOUNTS),
        st.sampled_from([1, 7, 10**6, 10**13]),
    )
    delegate = st.integers(1, 10**6).map(lambda n: ("delegate", n))
    return st.one_of(send, send, delegate)  # type: ignore[return-value]


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("tell"), _txs()),
        st.tuples(st.just("tell"), _txs()),
        st.tuples(st.just("ask"), _txs()),
        st.tuples(st.just("batch"), st.lists(_txs(), min_size=1, max_size=4)),
        st.tuples(st.just("block")),
    ),
    max_size=40,
)


async def _replay(ops: list[Op]) -> tuple[bytes, list[str], list[str]]:
    answers: list[str] = []
    async with virtual_system(seed=1) as system, Chain(make_config(), system) as chain:
        events = chain.events()
        host = chain.host
        validator = chain.operator("val-a")

        def tx(item: Any) -> SubmitTx:
            if isinstance(item, tuple):
                amount = Coin(denom=DENOM, amount=item[1])
                return SubmitTx(
                    sender=ALICE, msg=StakingDelegate(validator=validator, amount=amount)
                )
            assert isinstance(item, SubmitTx)
            return item

        for op in ops:
            if op[0] == "tell":
                host.tell_nowait(tx(op[1]))
            elif op[0] == "ask":
                answers.append(repr(await host.ask(tx(op[1]))))
            elif op[0] == "batch":
                answers.append(repr(await chain.submit_batch([tx(t) for t in op[1]])))
            else:
                answers.append(repr(await chain.produce_blocks(1)))
        answers.append(repr(await chain.height()))
        dump = await chain.dump_state()
        published: list[ChainEvent] = events.drain()
    return dump, [repr(e) for e in published], answers


async def test_a_run_of_tells_is_one_call_and_an_ask_sees_all_of_it() -> None:
    sizes: list[int] = []
    with _runs(_counting(sizes)):
        async with virtual_system() as system, Chain(make_config(), system) as chain:
            for _ in range(5):
                chain.host.tell_nowait(_send(ALICE, BOB, 3))
            result = await chain.submit(
                BOB, BankSend(to_address=SINK, amount=(Coin(denom=DENOM, amount=15),))
            )
            assert result.ok  # bob received all five sends first
            chain.host.tell_nowait(_send(BOB, SINK, 1))  # fails: bob is empty (P-2)
            chain.host.tell_nowait(_send(ALICE, SINK, 2))
            balances = await chain.read(
                lambda ex: (ex.bank.balance(BOB, DENOM), ex.bank.balance(SINK, DENOM))
            )
            assert balances == (0, 17)
    assert sizes == [5, 2]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS)
async def test_group_commit_agrees_with_one_by_one_on_every_interleaving(ops: list[Op]) -> None:
    """Random interleavings of tells, asks, batches and blocks: byte-identical state dumps,
    the same events in the same order and the same answers as the per-message path."""
    with _runs(None):
        reference = await _replay(ops)
    sizes: list[int] = []
    with _runs(_counting(sizes)):
        grouped = await _replay(ops)
    assert grouped == reference
    tells = sum(1 for op in ops if op[0] == "tell")
    assert sum(sizes) == tells  # every tell went through a run


async def test_unsigned_tells_from_another_system_run_nothing() -> None:
    """A run of `SubmitTx` tells that came through a transport is refused as `on_submit`
    refuses each (ARCHITECTURE rule 3; P-5: only the authorised caller): nothing runs."""
    sizes: list[int] = []
    clock = VirtualClock()
    net = InMemoryNetwork(force_codec=True)
    with _runs(_counting(sizes)):
        async with (
            clock.autojump(),
            net,
            ActorSystem("node", clock=clock, transport=net) as node,
            ActorSystem("mallory", clock=clock, transport=net) as mallory,
            Chain(make_config(), node) as chain,
        ):
            before = await chain.dump_state()
            host = mallory.ref(f"node/{chain.config.chain_id}")
            host.tell_many_nowait([_send(ALICE, SINK, 5)] * 3)
            host.tell_nowait(_send(ALICE, SINK, 5))
            # an ask after them (in order over the wire): refused too, so all were handled
            answer = await host.ask(_send(ALICE, SINK, 5), timeout=30)
            assert isinstance(answer, RemoteTxResult) and answer.error == "Unauthorized"
            assert await chain.dump_state() == before
    assert sum(sizes) == 4  # they came as runs (one or more), and were refused there
