"""Scenario files: step shapes, timing, and names checked against a topology, with lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from chains import ScenarioError, load_scenario, parse_scenario
from chains.mesh import BondStep, CrossStakeStep, MisbehaveStep
from tests.mesh._topologies import EXAMPLES, SMALL, topology

GOOD = """
name = "stake, slash"
days = 2

[[steps]]
day = 1
action = "misbehave"
chain = "juno"
validator = "val1"
kind = "double_sign"

[[steps]]
second = 0
action = "bond"
chain = "osmosis"
user = "alice"
amount = 1_000

[[steps]]
action = "cross_stake"
provider = "osmosis"
consumer = "juno"
user = "alice"
validator = "val1"
amount = 500

[[steps]]
block = 13
on = "juno"
action = "set_max_cap"
provider = "osmosis"
consumer = "juno"
amount = 0
"""


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_steps_are_typed_and_ordered_in_time() -> None:
    t = topology(SMALL)
    scenario = parse_scenario(GOOD, "good.toml", t)
    assert scenario.days == 2
    timeline = scenario.timeline(t)
    assert [type(s) for _, s in timeline] == [
        BondStep,
        CrossStakeStep,
        type(scenario.steps[3]),
        MisbehaveStep,
    ]
    # a step without a time follows the previous one; block 13 of a 5 s chain is 60 s in
    assert [at for at, _ in timeline] == [0.0, 0.0, 60.0, 86_400.0]


def test_example_scenarios_validate_against_their_topologies() -> None:
    for topology_file, scenario_file in [
        ("one_to_one.toml", "stake_and_slash.toml"),
        ("seed.toml", "seed_tour.toml"),
    ]:
        t = topology((EXAMPLES / "topologies" / topology_file).read_text())
        load_scenario(EXAMPLES / "scenarios" / scenario_file, t)


def test_names_are_checked_against_the_topology_with_lines() -> None:
    text = (
        GOOD.replace('user = "alice"\namount = 1_000', 'user = "mallory"\namount = 1_000')
        .replace('validator = "val1"\namount = 500', 'validator = "val9"\namount = 500')
        .replace('chain = "juno"\nvalidator', 'chain = "junoo"\nvalidator')
    )
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "bad.toml", topology(SMALL))
    issues = {(i.path, i.line): i.message for i in caught.value.issues}
    assert "has no account on osmosis" in issues[(("steps", 1, "user"), line_of(text, "mallory"))]
    assert "no validator 'val9'" in issues[(("steps", 2, "validator"), line_of(text, "val9"))]
    assert "unknown chain 'junoo'" in issues[(("steps", 0, "chain"), line_of(text, "junoo"))]
    assert str(caught.value).splitlines()[0].startswith("bad.toml:")


def test_pairing_must_exist() -> None:
    text = GOOD.replace(
        'provider = "osmosis"\nconsumer = "juno"\nuser',
        'provider = "juno"\nconsumer = "osmosis"\nuser',
    )
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "bad.toml", topology(SMALL))
    (issue,) = caught.value.issues
    assert issue.path == ("steps", 2, "consumer")
    assert "no pairing juno → osmosis" in issue.message


def test_bond_on_a_chain_without_vault_is_refused() -> None:
    text = GOOD.replace('chain = "osmosis"\nuser = "alice"', 'chain = "juno"\nuser = "carol"')
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "bad.toml", topology(SMALL))
    (issue,) = caught.value.issues
    assert issue.path == ("steps", 1, "chain") and "has no vault" in issue.message


def test_shape_errors_point_at_the_step() -> None:
    text = GOOD.replace('action = "bond"', 'action = "bribe"').replace(
        'kind = "double_sign"', 'kind = "double_sign"\nhour = 3'
    )
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "bad.toml")
    issues = {i.path: (i.line, i.message) for i in caught.value.issues}
    assert issues[("steps", 1)][0] == line_of(text, "second = 0") - 1
    assert "'bond'" in issues[("steps", 1)][1]
    _, message = issues[("steps", 0)]
    assert "at most one of day, hour, second, block" in message


def test_amounts_must_be_positive_whole_numbers() -> None:
    text = GOOD.replace("amount = 500", "amount = 0.5")
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "bad.toml")
    (issue,) = caught.value.issues
    assert issue.path == ("steps", 2, "amount")
    assert issue.line == line_of(text, "amount = 0.5")


def test_unreadable_scenario(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError):
        load_scenario(tmp_path / "nope.toml")
