"""The example topologies and scenarios, run in full through the CLI (tens of seconds of wall
time each: multi-day runs of several chains with 5-6 s blocks), so out of the default run."""

from __future__ import annotations

import io
import json

import pytest

from chains.mesh import main
from tests.mesh._topologies import EXAMPLES

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("topology", "scenario"),
    [("one_to_one.toml", "stake_and_slash.toml"), ("seed.toml", "seed_tour.toml")],
)
def test_example_scenario_runs_with_every_invariant_holding(topology: str, scenario: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        [
            "run",
            str(EXAMPLES / "topologies" / topology),
            "--scenario",
            str(EXAMPLES / "scenarios" / scenario),
            "--json",
        ],
        stdout=out,
        stderr=err,
    )
    assert code == 0, err.getvalue()
    document = json.loads(out.getvalue())
    assert all(step["ok"] for step in document["steps"]), document["steps"]
    assert document["snapshot"]["invariant_violations"] == []
    assert all(c["timed_out"] == 0 for c in document["snapshot"]["channels"])


@pytest.mark.parametrize("topology", ["one_to_many.toml", "many_to_one.toml", "mutual.toml"])
def test_example_topology_starts_and_runs_a_day(topology: str) -> None:
    out = io.StringIO()
    code = main(
        ["run", str(EXAMPLES / "topologies" / topology), "--days", "1", "--json"], stdout=out
    )
    assert code == 0
    snapshot = json.loads(out.getvalue())["snapshot"]
    assert all(p["channel_state"] == "OPEN" for p in snapshot["pairings"])
