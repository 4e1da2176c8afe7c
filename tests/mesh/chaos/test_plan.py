"""Fault plans as data: TOML and objects, located errors, composition, refusals (I-22)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chains.mesh import (
    ChainHalt,
    ChaosPlan,
    ChaosPlanError,
    LinkFaultWindow,
    PartitionWindow,
    RelayerCrash,
    check_plan_supported,
    load_chaos_plan,
    parse_chaos_plan,
)
from tests.mesh.chaos._chaos_fixtures import PLAN, PLAN_TEXT, TOPOLOGY


def test_toml_plan_is_the_same_as_python_objects() -> None:
    built = ChaosPlan(
        name="mixed",
        faults=(
            LinkFaultWindow(
                kind="link",
                chains=("juno", "osmosis"),
                start=20,
                end=200,
                drop=0.1,
                duplicate=0.05,
                reorder=0.05,
                delay={"uniform": (0.5, 3.0)},  # type: ignore[arg-type]
            ),
            PartitionWindow(
                kind="partition", chains=("juno", "osmosis"), side="juno", start=90, end=150
            ),
            RelayerCrash(kind="relayer_crash", chains=("juno", "osmosis"), at=160, restart=220),
        ),
    )
    assert parse_chaos_plan(PLAN_TEXT) == built
    assert PLAN.kinds() == {"link": 1, "partition": 1, "relayer_crash": 1}
    assert PLAN.heals_at() == 220


def test_errors_are_located_file_line_key_message() -> None:
    text = 'name = "bad"\n\n[[faults]]\nkind = "link"\nchains = ["juno", "osmosis"]\ndrop = 1.5\n'
    with pytest.raises(ChaosPlanError) as caught:
        parse_chaos_plan(text, "bad.toml")
    message = str(caught.value)
    assert message.startswith("bad.toml:6: faults[0].drop: ")
    assert "less than or equal to 1" in message


def test_unknown_kind_and_unknown_key_are_reported() -> None:
    text = (
        '[[faults]]\nkind = "meteor"\n\n'
        '[[faults]]\nkind = "partition"\nchains = ["a", "b"]\nsplit = 1\n'
    )
    with pytest.raises(ChaosPlanError) as caught:
        parse_chaos_plan(text, "p.toml")
    message = str(caught.value)
    assert "p.toml:1: faults[0]: Input tag 'meteor'" in message
    assert "p.toml:7: faults[1].split: unknown key 'split'" in message


def test_window_end_before_start_is_refused() -> None:
    with pytest.raises(ChaosPlanError, match=r"end 10\.0 is before start 20\.0"):
        parse_chaos_plan(
            '[[faults]]\nkind = "partition"\nchains = ["a","b"]\nstart = 20\nend = 10\n'
        )


def test_missing_file_is_a_plan_error(tmp_path: object) -> None:
    with pytest.raises(ChaosPlanError, match="cannot read"):
        load_chaos_plan("/nonexistent/plan.toml")


def test_compose_keeps_every_fault_in_order() -> None:
    halt = ChaosPlan(name="halt", faults=(ChainHalt(kind="chain_halt", chain="juno", end=5),))
    both = PLAN.compose(halt)
    assert both.name == "mixed + halt"
    assert both.faults == PLAN.faults + halt.faults
    assert both.kinds() == {"link": 1, "partition": 1, "relayer_crash": 1, "chain_halt": 1}


def test_a_fault_that_never_heals_has_no_heal_time() -> None:
    plan = parse_chaos_plan('[[faults]]\nkind = "partition"\nchains = ["juno","osmosis"]\n')
    assert plan.heals_at() is None


@pytest.mark.parametrize(
    "text",
    [
        'kind = "chain_halt"\nchain = "juno"\nstart = 1\nend = 2',
        'kind = "chain_crash"\nchain = "juno"\nat = 1\nrestart = 5',
        'kind = "competing_relayers"\nchains = ["juno", "osmosis"]\nend = 9',
        'kind = "clock_skew"\nchain = "juno"\nat = 3\noffset = -20\ndrift = 0.01',
        'kind = "relayer_crash"\nchains = ["juno", "osmosis"]\nat = 1\nrestart = 2',
        'kind = "relayer_lag"\nchains = ["juno", "osmosis"]\nstart = 1\nend = 9\nlag = 30',
    ],
)
def test_node_faults_are_supported(text: str) -> None:
    check_plan_supported(parse_chaos_plan(f"[[faults]]\n{text}\n"), TOPOLOGY)


def test_a_chain_down_at_the_end_of_the_run_is_refused() -> None:
    text = (
        '[[faults]]\nkind = "chain_crash"\nchain = "juno"\nat = 1\n\n'
        '[[faults]]\nkind = "chain_halt"\nchain = "osmosis"\nstart = 3\n'
    )
    with pytest.raises(ChaosPlanError) as caught:
        check_plan_supported(parse_chaos_plan(text), TOPOLOGY)
    message = str(caught.value)
    assert "faults[0].restart" in message and "faults[1].end" in message


def test_a_clock_skew_is_a_step_that_heals_at_once() -> None:
    plan = parse_chaos_plan('[[faults]]\nkind = "clock_skew"\nchain = "juno"\nat = 40\n')
    assert plan.heals_at() == 40


def test_plan_naming_unknown_chains_or_relayers_is_refused() -> None:
    text = (
        '[[faults]]\nkind = "link"\nchains = ["juno", "osmosiss"]\n\n'
        '[[faults]]\nkind = "relayer_crash"\nchains = ["juno", "osmosis"]\nindex = 3\nat = 1\n'
    )
    with pytest.raises(ChaosPlanError) as caught:
        check_plan_supported(parse_chaos_plan(text), TOPOLOGY)
    message = str(caught.value)
    assert "faults[0].chains[1]: unknown chain 'osmosiss'" in message
    assert "faults[1].index: the link has 1 relayer(s): no index 3" in message


windows = st.builds(
    lambda s, d, rate: LinkFaultWindow(
        kind="link", chains=("juno", "osmosis"), start=s, end=s + d, drop=rate
    ),
    st.floats(0, 1_000),
    st.floats(0, 1_000),
    st.floats(0, 1),
)


@given(st.lists(windows, max_size=5), st.lists(windows, max_size=5))
def test_composition_adds_faults_and_heals_at_the_latest_end(
    a: list[LinkFaultWindow], b: list[LinkFaultWindow]
) -> None:
    left = ChaosPlan(name="a", faults=tuple(a))
    right = ChaosPlan(name="b", faults=tuple(b))
    both = left.compose(right)
    assert len(both.faults) == len(a) + len(b)
    ends = [f.end for f in a + b if f.end is not None]
    assert both.heals_at() == max([0.0, *ends])


def test_the_readme_walkthrough_plan_is_valid() -> None:
    """The fault plan the README's chaos walkthrough has a user write parses, and runs
    on the example mesh (so the walkthrough cannot drift from the plan format)."""
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    match = re.search(r"```toml\n(# my-plan\.toml.*?)```", readme, re.S)
    assert match is not None, "the README's walkthrough plan is missing"
    plan = parse_chaos_plan(match.group(1), "README.md")
    kinds = [fault.kind for fault in plan.faults]
    assert kinds == ["link", "partition", "relayer_crash", "chain_crash"]
    check_plan_supported(plan, TOPOLOGY)
