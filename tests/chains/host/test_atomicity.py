"""Atomic dispatch over random cascades (consumer.md C-8, C-9; provider.md P-2, P-3).

Random plans of `CascadeNode`s run across three contracts: each node logs itself, may send
coins and an IBC packet, calls children with any reply mode (funds attached), and may fail
(a named error or a panic) after doing its writes; replies to odd ids fail. A small
reference interpreter computes what the chain must look like afterwards, with snapshots
standing in for savepoints. The executor must match it exactly, and a failed transaction must
leave every byte of state (every contract's storage, the bank, the IBC outbox) as before.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chains import Coin
from chains.contract import ReplyOn
from chains.testing import CascadeChild, CascadeNode, RunNode
from tests.chains.host._kit import ALICE, DENOM, SINK, HostKit

# -- the reference model ---------------------------------------------------------------------


class _Fail(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@dataclass
class Model:
    logs: dict[str, list[tuple[object, ...]]]
    balances: dict[str, int]
    outbox: list[tuple[str, str]] = field(default_factory=list)

    def move(self, sender: str, recipient: str, amount: int) -> None:
        if self.balances.get(sender, 0) < amount:
            raise _Fail("InsufficientFunds")
        self.balances[sender] -= amount
        self.balances[recipient] = self.balances.get(recipient, 0) + amount

    def run(self, sender: str, node: CascadeNode, funds: int) -> str:
        """Execute ``node``; return its data (the tag). Raises `_Fail`."""
        if funds:
            self.move(sender, node.target, funds)
        self.logs[node.target].append(("run", node.tag, sender, funds))
        if node.fail == "error":
            raise _Fail("CascadeFailure")
        if node.fail == "panic":
            raise _Fail("ContractPanic")
        # the response's messages, in order: bank send, packet, children (depth-first)
        if node.send:
            self.move(node.target, node.sink, node.send)
        if node.packet:
            self.outbox.append((node.target, node.tag))
        for child in node.children:
            self.submsg(node.target, child)
        return node.tag

    def submsg(self, emitter: str, child: CascadeChild) -> None:
        mode = child.reply_on
        saved = copy.deepcopy((self.logs, self.balances, self.outbox))
        try:
            data = self.run(emitter, child.node, child.funds)
        except _Fail as failure:
            if mode not in (ReplyOn.ERROR, ReplyOn.ALWAYS):
                raise
            self.logs, self.balances, self.outbox = saved
            self.reply(emitter, child.id, False, failure.name)
            return
        if mode in (ReplyOn.SUCCESS, ReplyOn.ALWAYS):
            self.reply(emitter, child.id, True, data)

    def reply(self, emitter: str, reply_id: int, ok: bool, detail: str) -> None:
        self.logs[emitter].append(("reply", reply_id, ok, detail))
        if reply_id % 2 == 1:
            raise _Fail("CascadeFailure")


# -- the observed state ----------------------------------------------------------------------


def observe(kit: HostKit) -> Model:
    watched = [*kit.contracts, ALICE, SINK]
    return Model(
        logs={c: list(kit.log(c)) for c in kit.contracts},
        balances={a: kit.balance(a) for a in watched},
        outbox=[(sender, msg.data.decode()) for sender, msg in kit.ibc.outbox()],
    )


# -- plans -----------------------------------------------------------------------------------

TARGETS = 3


def nodes(depth: int) -> st.SearchStrategy[tuple[object, ...]]:
    """A plan node as plain data (contract index instead of address), built lazily."""
    leaf = st.tuples(
        st.integers(0, TARGETS - 1),
        st.text("abcdef", min_size=1, max_size=3),
        st.integers(0, 30),
        st.booleans(),
        st.sampled_from(["", "", "", "error", "panic"]),
        st.just(()),
    )
    if depth == 0:
        return leaf
    child = st.tuples(
        st.integers(0, 5), st.sampled_from(list(ReplyOn)), st.integers(0, 30), nodes(depth - 1)
    )
    return st.tuples(
        st.integers(0, TARGETS - 1),
        st.text("abcdef", min_size=1, max_size=3),
        st.integers(0, 30),
        st.booleans(),
        st.sampled_from(["", "", "", "", "error", "panic"]),
        st.lists(child, max_size=3).map(tuple),
    )


def build(raw: tuple[object, ...], contracts: list[str]) -> CascadeNode:
    target, tag, send, packet, fail, children = raw
    assert isinstance(target, int) and isinstance(children, tuple)
    return CascadeNode(
        target=contracts[target],
        tag=str(tag),
        send=send,
        sink=SINK,
        packet=bool(packet),
        fail=fail,
        children=tuple(
            CascadeChild(id=i, reply_on=mode, funds=funds, node=build(sub, contracts))
            for i, mode, funds, sub in children
        ),
    )


def _chain_of(modes: tuple[ReplyOn, ...], fail: str) -> tuple[object, ...]:
    """A root whose descendants form one chain; the deepest node fails with ``fail``."""
    leaf: tuple[object, ...] = (0, "leaf", 1, True, fail, ())
    for depth, mode in enumerate(reversed(modes)):
        leaf = (depth % TARGETS, f"n{depth}", 2, True, "", ((depth * 2, mode, 1, leaf),))
    return leaf


# a failure four levels down under modes that do not catch it, and the same caught midway
DEEP_FAILURE = _chain_of((ReplyOn.SUCCESS, ReplyOn.NEVER, ReplyOn.SUCCESS, ReplyOn.NEVER), "error")
CAUGHT_FAILURE = _chain_of(
    (ReplyOn.SUCCESS, ReplyOn.ERROR, ReplyOn.SUCCESS, ReplyOn.NEVER), "panic"
)


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(plan=nodes(3), root_funds=st.integers(0, 20))
@example(plan=DEEP_FAILURE, root_funds=0)
@example(plan=CAUGHT_FAILURE, root_funds=0)
def test_random_cascade_matches_model_and_failures_restore_everything_C_8_C_9_P_2_P_3(
    plan: tuple[object, ...], root_funds: int
) -> None:
    kit = HostKit()
    node = build(plan, kit.contracts)
    before_dump = kit.ex.dump_state()
    model = observe(kit)
    try:
        model.run(ALICE, node, root_funds)
        expected_error = None
    except _Fail as failure:
        expected_error = failure.name
        model = observe(kit)

    funds = (Coin(denom=DENOM, amount=root_funds),) if root_funds else ()
    result = kit.ex.execute(ALICE, node.target, RunNode(node=node), funds)

    if expected_error is None:
        assert result.ok, result.error
        assert result.data == node.tag
    else:
        assert not result.ok
        assert result.error is not None and result.error.name == expected_error
        assert result.events == ()
        # every map of the store, byte for byte: storage, bank, staking, outbox (C-8, P-2)
        assert kit.ex.dump_state() == before_dump
    assert observe(kit) == model
