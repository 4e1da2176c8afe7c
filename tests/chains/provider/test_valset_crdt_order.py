"""Delivery order of ``valset_update`` packets does not matter (I-17, I-71..I-76, P-85..P-88).

External staking's core receives sequences of consumer reports shaped like the consumer's
real ones (C-57: a downtime jail is ``removals, updated, jailed, slashed``; a double sign adds
``tombstoned``; an unjail with re-entry is ``additions, unjailed``; a validator outranked
out of the set is ``removals``; one entering is ``additions``), each at its own consumer
height, after the initial sync (I-46, which the consumer sends first and re-sends until it
arrives, I-75). Hypothesis delivers them in every order, with re-sent duplicates (I-71), and
compares with in-order delivery.

Two documented limits of the spec's operations are shown too: a slash whose validator was
re-activated by a packet that has not arrived yet is judged against the older state
(I-75/I-76 say `remove`/`jail`/`update` only commute once what they depend on has arrived),
and a standalone ``updated`` entry (a commission change of a jailed validator) arriving
before the state change below it: taken literally, I-73 copies the state once and the orders
diverge (P-87's [ref-quirk]); this build takes P-87's optional [rec] instead (copied fields
are re-taken when older history arrives, chains/_validator_crdt.py) and the tests below show
the orders converge.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from chains.provider import (
    History,
    ValidatorEntry,
    ValidatorState,
    ValueRange,
    op_add,
    op_jail,
    op_remove,
    op_tombstone,
    op_update,
)
from chains.wire import ValidatorInfo, ValidatorSlashInfo, ValsetUpdatePacket
from tests.chains.provider._ext_fixture import T0, ExtFixture
from tests.chains.provider._fakes import coin

VALIDATORS = ("v1", "v2", "v3")
INITIAL_HEIGHT = 100
STAKE = 1_000_000


def _time(height: int) -> int:
    """Consumer block time of ``height``: inside the provider's unbonding window (1_000 s),
    so the drain step (P-88 step 7) keeps every entry and whole histories can be compared."""
    return T0 - 900 + (height - INITIAL_HEIGHT)


def _info(validator: str) -> ValidatorInfo:
    return ValidatorInfo(valoper=validator, pub_key=f"pk-{validator}")


def _slash(validator: str, infraction_height: int, amount: int) -> ValidatorSlashInfo:
    return ValidatorSlashInfo(
        address=validator,
        infraction_height=infraction_height,
        infraction_time=0,
        power=10,
        slash_amount=coin(amount),
        slash_ratio="0.1",
    )


@dataclass(frozen=True)
class Change:
    """One validator's transition in a report (C-57)."""

    validator: str
    kind: str  # jail | tombstone | leave | unjail_enter | unjail_only | enter
    infraction_height: int = 0
    slash: int = 0


def _report(height: int, changes: tuple[Change, ...]) -> ValsetUpdatePacket:
    """The consumer's report of ``changes`` in the block at ``height`` (C-55, C-57)."""
    additions: list[ValidatorInfo] = []
    removals: list[str] = []
    updated: list[ValidatorInfo] = []
    jailed: list[str] = []
    unjailed: list[str] = []
    tombstoned: list[str] = []
    slashed: list[ValidatorSlashInfo] = []
    for change in changes:
        v = change.validator
        if change.kind in ("jail", "tombstone"):
            removals.append(v)
            updated.append(_info(v))
            jailed.append(v)
            slashed.append(_slash(v, change.infraction_height, change.slash))
            if change.kind == "tombstone":
                tombstoned.append(v)
        elif change.kind == "leave":
            removals.append(v)
        elif change.kind == "unjail_enter":
            additions.append(_info(v))
            unjailed.append(v)
        elif change.kind == "unjail_only":
            unjailed.append(v)
        else:
            additions.append(_info(v))
    return ValsetUpdatePacket(
        height=height,
        time=_time(height),
        additions=tuple(additions),
        removals=tuple(removals),
        updated=tuple(updated),
        jailed=tuple(jailed),
        unjailed=tuple(unjailed),
        tombstoned=tuple(tombstoned),
        slashed=tuple(slashed),
    )


# what the consumer can report next for a validator in each of its states
_NEXT = {
    "active": ("jail", "tombstone", "leave"),
    "jailed": ("unjail_enter", "unjail_only"),
    "unbonded": ("enter",),
    "tombstoned": (),
}
_AFTER = {
    "jail": "jailed",
    "tombstone": "tombstoned",
    "leave": "unbonded",
    "unjail_enter": "active",
    "unjail_only": "unbonded",
    "enter": "active",
}


@st.composite
def histories(draw: st.DrawFn, *, delayed_evidence: bool = False) -> list[ValsetUpdatePacket]:
    """A consistent sequence of consumer reports at increasing heights (the send order).

    Slashes carry the infraction height the consumer reports for a fresh infraction (two
    blocks back), or, with ``delayed_evidence``, an infraction in the validators' first
    active period (before every later report): evidence that arrives late (I-76).
    """
    consumer_state = dict.fromkeys(VALIDATORS, "active")
    reports: list[ValsetUpdatePacket] = []
    height = INITIAL_HEIGHT
    for _ in range(draw(st.integers(1, 7))):
        height += draw(st.integers(3, 6))
        movable = [v for v in VALIDATORS if _NEXT[consumer_state[v]]]
        if not movable:
            break
        chosen = draw(st.lists(st.sampled_from(movable), min_size=1, max_size=2, unique=True))
        changes: list[Change] = []
        for v in chosen:
            kind = draw(st.sampled_from(_NEXT[consumer_state[v]]))
            infraction = (
                draw(st.integers(INITIAL_HEIGHT, INITIAL_HEIGHT + 2))
                if delayed_evidence
                else height - 2
            )
            changes.append(Change(v, kind, infraction, draw(st.integers(1, 5)) * 1_000))
            consumer_state[v] = _AFTER[kind]
        reports.append(_report(height, tuple(changes)))
    return reports


def _provider() -> ExtFixture:
    """External staking after the initial sync, alice staking ``STAKE`` on every validator."""
    xf = ExtFixture(validators=())
    xf.receive(
        ValsetUpdatePacket(
            height=INITIAL_HEIGHT,
            time=_time(INITIAL_HEIGHT),
            additions=tuple(_info(v) for v in VALIDATORS),
        )
    )
    for tx_id, v in enumerate(VALIDATORS, start=1):
        xf.staked("alice", v, STAKE, tx_id)
    return xf


def _apply(packets: list[ValsetUpdatePacket]) -> tuple[ExtFixture, list[tuple[str, str]]]:
    """Deliver ``packets`` in this order; the provider and the slashes it applied."""
    xf = _provider()
    applied: list[tuple[str, str]] = []
    for packet in packets:
        response = xf.receive(packet)
        applied += [
            (dict(e.attributes)["validator"], dict(e.attributes)["amount"])
            for e in response.events
            if e.type == "slash"
        ]
    return xf, applied


@settings(max_examples=150, deadline=None)
@given(data=st.data(), reports=histories())
def test_any_delivery_order_gives_the_in_order_validator_states_I_75_P_87(
    data: st.DataObject, reports: list[ValsetUpdatePacket]
) -> None:
    """Issue 7 (core level): whatever order the reports arrive in, and with re-sent copies
    of slash-free reports (I-71: identical data), every validator's current state equals
    the in-order one; the whole history too unless the validator was tombstoned (a
    tombstone erases what is above it and absorbs later-arriving entries below it, I-73,
    so only the current state is order-free there)."""
    order = data.draw(st.permutations(reports), label="order")
    resend = [r for r in reports if not r.slashed]
    copies = data.draw(st.lists(st.sampled_from(resend), max_size=3) if resend else st.just([]))
    delivered = list(order)
    for copy in copies:
        delivered.insert(data.draw(st.integers(0, len(delivered)), label="at"), copy)
    expected, _ = _apply(reports)
    got, _ = _apply(delivered)
    for v in VALIDATORS:
        want = expected.ext.valset.history(v)
        have = got.ext.valset.history(v)
        assert got.ext.valset.state(v) is expected.ext.valset.state(v), (v, have, want)
        if expected.ext.valset.state(v) is not ValidatorState.TOMBSTONED:
            assert have == want, v


@settings(max_examples=100, deadline=None)
@given(data=st.data(), reports=histories(delayed_evidence=True))
def test_late_evidence_slashes_the_same_in_any_order_I_76_P_88(
    data: st.DataObject, reports: list[ValsetUpdatePacket]
) -> None:
    """Slashes for infractions in the validators' first active period (evidence that
    arrives late, I-76) are applied — once each, with the packet's amount — in every
    delivery order, including after the tombstone and before the jail reported with them
    in an earlier packet."""
    order = data.draw(st.permutations(reports), label="order")
    _, in_order = _apply(reports)
    _, shuffled = _apply(list(order))
    assert sorted(shuffled) == sorted(in_order)
    expected = [(s.address, str(s.slash_amount.amount)) for r in reports for s in r.slashed]
    assert sorted(in_order) == sorted(expected)


# -- explicit orders (kept as examples) --------------------------------------------------------


def test_unjail_before_jail_removal_before_addition_slash_before_jail_I_75_I_76() -> None:
    """The orders issue 7 names, on one validator: jail at 110 (slash 5_000 for 108),
    re-entry at 120, jail again at 130 (slash 3_000 for 128), delivered 130, 120, 110: the
    later removal before the addition, the unjail before the jail, the second slash before
    the first jail. Same history and the same stake as in order: one staker, so the first
    cut is the packet's amount exactly and the second ``floor(high * floor18(amount /
    high))``, one unit short (I-90): 1_000_000 - 5_000 - 2_999 in order, 1_000_000 - 3_000 -
    4_999 reversed, 992_001 both."""
    reports = [
        _report(110, (Change("v1", "jail", 108, 5_000),)),
        _report(120, (Change("v1", "unjail_enter"),)),
        _report(130, (Change("v1", "jail", 128, 3_000),)),
    ]
    forward, applied_forward = _apply(reports)
    backward, applied_backward = _apply(list(reversed(reports)))
    expected = [("jailed", 130), ("active", 120), ("jailed", 110), ("active", 100)]
    for xf in (forward, backward):
        assert [(e.state.value, e.start_height) for e in xf.ext.valset.history("v1")] == expected
        assert xf.range("alice", "v1") == ValueRange(992_001, 992_001)
    assert sorted(applied_forward) == sorted(applied_backward) == [("v1", "3000"), ("v1", "5000")]


def test_tombstone_first_then_older_reports_I_73_I_75_I_76() -> None:
    """A double sign at 130 (slash 2_000 for 128) delivered before a jail at 110 (slash
    1_000 for 108) and the re-entry at 120: Tombstoned at once and for good (I-73: later
    additions are ignored), the older slash still applies (I-76: an earlier infraction
    height than the tombstone), and the entries below 130 that arrive after the tombstone
    are not recorded — so only the current state is order-free. Stake: 1_000_000 - 1_000 -
    1_999 in order, 1_000_000 - 2_000 - 999 reversed (the second cut one unit short, as
    above)."""
    reports = [
        _report(110, (Change("v2", "jail", 108, 1_000),)),
        _report(120, (Change("v2", "unjail_enter"),)),
        _report(130, (Change("v2", "tombstone", 128, 2_000),)),
    ]
    forward, _ = _apply(reports)
    backward, applied = _apply(list(reversed(reports)))
    assert sorted(applied) == [("v2", "1000"), ("v2", "2000")]
    for xf in (forward, backward):
        assert xf.ext.valset.state("v2") is ValidatorState.TOMBSTONED
        assert xf.range("alice", "v2") == ValueRange(997_001, 997_001)
    assert [(e.state.value, e.start_height) for e in backward.ext.valset.history("v2")] == [
        ("tombstoned", 130),
        ("active", 100),
    ]
    assert [(e.state.value, e.start_height) for e in forward.ext.valset.history("v2")] == [
        ("tombstoned", 130),
        ("active", 120),
        ("jailed", 110),
        ("active", 100),
    ]


def test_slash_is_judged_by_what_has_arrived_I_75_I_76() -> None:
    """Documented limit (spec behaviour, not a bug): the second jail's slash (infraction 128,
    after the re-entry at 120) is ignored when the first jail (110) has arrived and the
    re-entry has not — the provider sees Jailed at 128 — and applied in order. I-75: a
    change that depends on an earlier packet only commutes once that packet has arrived."""
    jail = _report(110, (Change("v1", "jail", 108, 5_000),))
    enter = _report(120, (Change("v1", "unjail_enter"),))
    rejail = _report(130, (Change("v1", "jail", 128, 3_000),))
    _, in_order = _apply([jail, enter, rejail])
    late, applied = _apply([jail, rejail, enter])
    assert sorted(in_order) == [("v1", "3000"), ("v1", "5000")]
    assert applied == [("v1", "5000")]
    assert late.range("alice", "v1") == ValueRange(995_000, 995_000)
    # the validator states still converge
    assert late.ext.valset.state("v1") is ValidatorState.JAILED


def test_standalone_update_before_an_older_jail_keeps_the_jail_I_75() -> None:
    """A jail at 110, then (in a later block, still jailed) a commission change reported as
    ``updated=[v1]`` at 120. In order: ``[Jailed@120, Jailed@110, Active@100]`` (Jailed).
    Update first: it copies the state at 120 known then (Active@100), so the later jail at
    110 ends below an ``Active@120`` entry and the provider believes the jailed validator
    is Active (new stakes accepted, I-77) — P-87's [ref-quirk]. This build takes P-87's
    optional [rec]: the update entry takes the state again when the jail arrives below it."""
    jail = _report(110, (Change("v1", "jail", 108, 5_000),))
    update = ValsetUpdatePacket(height=120, time=_time(120), updated=(_info("v1"),))
    in_order, _ = _apply([jail, update])
    reordered, _ = _apply([update, jail])
    assert in_order.ext.valset.state("v1") is ValidatorState.JAILED
    assert reordered.ext.valset.state("v1") is ValidatorState.JAILED


_OPS = ("add", "update", "jail", "remove")


def _run_ops(ops: list[tuple[int, str, str]]) -> History:
    history: History = op_add((), "pk0", INITIAL_HEIGHT, _time(INITIAL_HEIGHT))
    for height, kind, key in ops:
        time = _time(height)
        if kind == "add":
            history = op_add(history, key, height, time)
        elif kind == "update":
            history = op_update(history, key, height, time)
        elif kind == "jail":
            history = op_jail(history, height, time)
        elif kind == "remove":
            history = op_remove(history, height, time)
        else:
            history = op_tombstone(history, height, time)
    return history


@given(
    data=st.data(),
    ops=st.lists(
        st.tuples(
            st.integers(INITIAL_HEIGHT + 1, INITIAL_HEIGHT + 60),
            st.sampled_from(_OPS),
            st.sampled_from(("pk0", "pk1", "pk2")),
        ),
        max_size=8,
        unique_by=lambda op: op[0],
    ),
)
def test_copied_state_and_keys_follow_late_history_in_any_order_I_73_I_75(
    data: st.DataObject, ops: list[tuple[int, str, str]]
) -> None:
    """P-87 [rec], as built: key rotations (add/update with a new key), jails and removals at
    distinct heights above the initial add, delivered in any order, give exactly the
    in-order history; entries that copied a field (update: the state; jail/remove: the key)
    take it again when an older entry arrives below them. (Tombstones are left out: entries
    below one that arrive after it are dropped, as P-87 says.)"""
    in_order = _run_ops(sorted(ops))
    shuffled = data.draw(st.permutations(ops), label="order")
    assert _run_ops(list(shuffled)) == in_order


def test_a_late_key_rotation_reaches_the_jail_above_it_I_73_I_75() -> None:
    """In order: the key rotates to pk1 at 120, the jail at 130 copies pk1. Jail first: it
    copies pk0 (all that is known), then the rotation arrives below it and the jail entry
    takes pk1 (I-73 literally would keep pk0 for good)."""
    jail_first = _run_ops([(130, "jail", ""), (120, "add", "pk1")])
    assert jail_first[0] == ValidatorEntry("pk1", 130, _time(130), ValidatorState.JAILED)
    assert jail_first == _run_ops([(120, "add", "pk1"), (130, "jail", "")])
