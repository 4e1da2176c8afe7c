"""The validator-set CRDT (P-85..P-90, I-72..I-77)."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from chains.provider import (
    History,
    ListActiveValidatorsQuery,
    ListValidatorsQuery,
    ValidatorEntry,
    ValidatorState,
    active_at,
    at_height,
    current_state,
    drain_older,
    insert,
    op_add,
    op_jail,
    op_remove,
    op_tombstone,
    op_update,
)
from chains.wire import ValidatorInfo, ValsetUpdatePacket
from tests.chains.provider._ext_fixture import ExtFixture

A, U, J, T = (
    ValidatorState.ACTIVE,
    ValidatorState.UNBONDED,
    ValidatorState.JAILED,
    ValidatorState.TOMBSTONED,
)


def states(history: History) -> list[tuple[str, int]]:
    return [(e.state.value, e.start_height) for e in history]


def test_insert_keeps_height_descending_and_ignores_identical_entries_P_85() -> None:
    h: History = ()
    for height in (50, 80, 60):
        h = insert(h, ValidatorEntry("pk", height, height, A))
    assert [e.start_height for e in h] == [80, 60, 50]
    assert insert(h, ValidatorEntry("pk", 60, 60, A)) == h


def test_equal_heights_last_processed_wins_tie_rule_P_85_P_87() -> None:
    # history [Active@50], packet at 80 with additions=[v], jailed=[v]
    # ⇒ [Jailed@80, Active@80, Active@50], current Jailed (the reference yields Active:
    # [ref-quirk] it keeps the first-processed entry of a height in front)
    h = op_add((), "pk", 50, 50)
    h = op_add(h, "pk", 80, 80)
    h = op_jail(h, 80, 80)
    assert states(h) == [("jailed", 80), ("active", 80), ("active", 50)]
    assert current_state(h) is J


def test_queries_over_history_P_85() -> None:
    h = op_remove(op_add((), "pk", 100, 1), 200, 2)
    assert current_state(()) is ValidatorState.UNKNOWN
    assert at_height(h, 99) is None
    assert at_height(h, 150) == ValidatorEntry("pk", 100, 1, A)
    assert active_at(h, 150) and not active_at(h, 200) and not active_at(h, 50)


def test_operations_before_the_first_add_are_dropped_ref_quirk_P_86_P_87() -> None:
    for op in (
        lambda h: op_remove(h, 100, 1),
        lambda h: op_jail(h, 100, 1),
        lambda h: op_update(h, "pk2", 100, 1),
    ):
        assert op(()) == ()
    # and an op below the first known height is dropped too
    h = op_add((), "pk", 100, 1)
    assert op_jail(h, 90, 1) == h


def test_update_copies_the_state_at_its_height_P_86() -> None:
    h = op_jail(op_add((), "pk", 100, 1), 150, 2)
    h = op_update(h, "pk2", 160, 3)
    assert h[0] == ValidatorEntry("pk2", 160, 3, J)
    h = op_remove(h, 170, 4)
    assert h[0] == ValidatorEntry("pk2", 170, 4, U)


def test_tombstone_is_terminal_and_erases_later_history_P_86_I_75() -> None:
    # add at 200 then tombstone at 199 → Tombstoned (later entry erased)
    h = op_tombstone(op_add((), "pk", 200, 1), 199, 2)
    assert states(h) == [("tombstoned", 199)]
    # tombstone at 199 then add at 200 → Tombstoned
    h2 = op_add(op_tombstone((), 199, 2), "pk", 200, 1)
    assert states(h2) == [("tombstoned", 199)]
    for op in (
        lambda h: op_add(h, "pk", 300, 3),
        lambda h: op_jail(h, 300, 3),
        lambda h: op_tombstone(h, 100, 3),
        lambda h: op_update(h, "x", 300, 3),
    ):
        assert op(h) == h


def test_tombstone_order_changes_active_at_below_it_P_87() -> None:
    # add@100 then tombstone@200 ⇒ active at 150; reversed ⇒ not active
    forward = op_tombstone(op_add((), "pk", 100, 1), 200, 2)
    backward = op_add(op_tombstone((), 200, 2), "pk", 100, 1)
    assert active_at(forward, 150)
    assert not active_at(backward, 150)
    assert current_state(forward) is current_state(backward) is T


def test_drain_older_keeps_first_and_newer_entries_P_86() -> None:
    h = op_add(op_remove(op_add((), "pk", 100, 10), 200, 20), "pk", 300, 30)
    assert drain_older(h, 20) == (h[0],)
    assert drain_older(h, 15) == h[:2]
    assert drain_older(h[:1], 10**9) == h[:1]


ops = st.sampled_from(["add", "remove", "jail"])


@given(
    st.lists(
        st.tuples(ops, st.integers(101, 200)), min_size=2, max_size=2, unique_by=lambda t: t[1]
    )
)
def test_state_changes_at_different_heights_commute_after_the_add_P_87(
    changes: list[tuple[str, int]],
) -> None:
    base = op_add((), "pk", 100, 0)

    def apply(h: History, change: tuple[str, int]) -> History:
        kind, height = change
        if kind == "add":
            return op_add(h, "pk", height, height)
        if kind == "remove":
            return op_remove(h, height, height)
        return op_jail(h, height, height)

    results = set()
    for order in itertools.permutations(changes):
        h = base
        for change in order:
            h = apply(h, change)
        results.add(current_state(h))
    assert len(results) == 1


@given(st.integers(1, 300), st.lists(st.integers(1, 300), max_size=4))
def test_tombstone_commutes_for_the_current_state_and_duplicates_are_idempotent_P_87(
    tomb: int, adds: list[int]
) -> None:
    finals = set()
    for position in range(len(adds) + 1):
        h: History = ()
        seq = [("add", a) for a in adds]
        seq.insert(position, ("tomb", tomb))
        for kind, height in seq:
            h = (
                op_tombstone(h, height, height)
                if kind == "tomb"
                else op_add(h, "pk", height, height)
            )
        finals.add(current_state(h))
        again = op_add(h, "pk", adds[0], adds[0]) if adds else h
        assert again == h or current_state(again) is T
    assert finals == {T}


# -- processing order inside one packet (P-88) and listings (P-89) ----------------------------


def test_packet_processing_order_P_88_I_74() -> None:
    xf = ExtFixture(validators=())
    xf.receive(
        ValsetUpdatePacket(
            height=100,
            time=xf.now,
            additions=tuple(ValidatorInfo(valoper=v, pub_key="pk") for v in ("a", "b", "c", "d")),
        )
    )
    response = xf.receive(
        ValsetUpdatePacket(
            height=200,
            time=xf.now,
            additions=(
                ValidatorInfo(valoper="a", pub_key="pk"),
                ValidatorInfo(valoper="e", pub_key="pk"),
            ),
            tombstoned=("a",),
            jailed=("b", "c"),
            removals=("b", "d"),
            unjailed=("d",),
        )
    )
    valset = xf.ext.valset
    # tombstoned and added ⇒ Tombstoned; jailed and removed ⇒ Jailed
    assert [valset.state(v).value for v in "abcde"] == [
        "tombstoned",
        "jailed",
        "jailed",
        "unbonded",
        "active",
    ]
    (event,) = [e for e in response.events if e.type == "valset_update"]
    assert [k for k, _ in event.attributes] == [
        "additions",
        "removals",
        "jailed",
        "unjailed",
        "tombstoned",
    ]
    listed = xf.ext.query(xf.env(), ListValidatorsQuery())
    assert [(v.validator, v.state) for v in listed.validators][:2] == [
        ("a", "tombstoned"),
        ("b", "jailed"),
    ]
    active = xf.ext.query(xf.env(), ListActiveValidatorsQuery())
    assert [v.validator for v in active.validators] == ["e"]
    page = xf.ext.query(xf.env(), ListValidatorsQuery(start_after="b", limit=2))
    assert [v.validator for v in page.validators] == ["c", "d"]


def test_drain_step_prunes_history_older_than_the_unbonding_period_P_88() -> None:
    xf = ExtFixture(validators=())
    t = xf.now
    xf.receive(
        ValsetUpdatePacket(
            height=100, time=t - 5000, additions=(ValidatorInfo(valoper="a", pub_key="pk"),)
        )
    )
    # naming "a" drains entries with start_time <= now - 1000 (provider clock), but the
    # first entry always stays
    xf.receive(ValsetUpdatePacket(height=110, time=t - 4000, jailed=("a",)))
    assert states(xf.ext.valset.history("a")) == [("jailed", 110)]
    xf.receive(
        ValsetUpdatePacket(
            height=120, time=t, additions=(ValidatorInfo(valoper="a", pub_key="pk"),)
        )
    )
    assert states(xf.ext.valset.history("a")) == [("active", 120)]


def test_duplicate_valset_update_adds_no_history_P_94() -> None:
    xf = ExtFixture()
    packet = ValsetUpdatePacket(height=300, time=xf.now, jailed=("valA",))
    xf.receive(packet)
    history = xf.ext.valset.history("valA")
    xf.receive(packet)
    assert xf.ext.valset.history("valA") == history
