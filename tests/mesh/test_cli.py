"""The ``mesh`` command, run in-process through ``main([...])``."""

from __future__ import annotations

import io
import json
from pathlib import Path

from chains.mesh import main
from tests.mesh._topologies import CHAIN_JUNO, CHAIN_OSMOSIS, SMALL, pairing

SCENARIO = """
name = "stake"
days = 0.05

[[steps]]
second = 0
action = "bond"
chain = "osmosis"
user = "alice"
amount = 1_000_000

[[steps]]
action = "cross_stake"
provider = "osmosis"
consumer = "juno"
user = "alice"
validator = "val1"
amount = 200_000

[[steps]]
hour = 1
action = "misbehave"
chain = "juno"
validator = "val2"
kind = "downtime"
"""


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(*args: str, stderr: io.StringIO | None = None) -> tuple[int, str, str]:
    out = io.StringIO()
    err = stderr if stderr is not None else io.StringIO()
    code = main(list(args), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_run_prints_a_summary_per_chain_pairing_and_channel(tmp_path: Path) -> None:
    topo = write(tmp_path, "t.toml", SMALL)
    scenario = write(tmp_path, "s.toml", SCENARIO)
    code, out, err = run("run", topo, "--scenario", scenario)
    assert code == 0, err
    assert "alice cross-stakes 200000 from osmosis to juno/val1: ok" in out
    assert "juno/val2 goes offline: ok" in out
    for heading in ("chain osmosis", "chain juno", "pairings", "cross-stakes", "channels"):
        assert heading in out
    assert "osmosis→juno" in out and "invariants: all hold" in out
    assert err == ""  # stderr is not a terminal: no progress bar


def test_run_json_with_seed_and_days(tmp_path: Path) -> None:
    topo = write(tmp_path, "t.toml", SMALL)
    scenario = write(tmp_path, "s.toml", SCENARIO)
    code, out, _ = run(
        "run", topo, "--scenario", scenario, "--days", "0.1", "--seed", "3", "--json"
    )
    assert code == 0
    document = json.loads(out)
    snapshot = document["snapshot"]
    assert snapshot["seed"] == 3 and abs(snapshot["seconds"] - 8_640) < 10
    (p,) = snapshot["pairings"]
    assert p["cross_staked"] == 200_000 and p["virtual_delegated"] == 90_000
    assert [s["action"] for s in document["steps"]] == ["bond", "cross_stake", "misbehave"]
    assert all(s["ok"] for s in document["steps"])
    assert snapshot["invariants_checked"] and snapshot["invariant_violations"] == []


def test_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    topo = write(tmp_path, "t.toml", SMALL)
    tty = Tty()
    code, _, err = run("run", topo, "--days", "0.1", stderr=tty)
    assert code == 0
    assert "[" in err and "day 0.10 / 0.10" in err
    code, _, err = run("run", topo, "--days", "0.1", "--json", stderr=Tty())
    assert code == 0 and err == ""


def test_save_then_inspect(tmp_path: Path) -> None:
    topo = write(tmp_path, "t.toml", SMALL)
    scenario = write(tmp_path, "s.toml", SCENARIO)
    state = tmp_path / "state.json"
    code, _, _ = run("run", topo, "--scenario", scenario, "--save", str(state))
    assert code == 0 and state.exists()
    code, shown, _ = run("inspect", str(state))
    assert code == 0
    assert "alice cross-stakes 200000" in shown and "chain juno" in shown
    code, raw, _ = run("inspect", str(state), "--json")
    assert json.loads(raw)["snapshot"]["pairings"][0]["consumer"] == "juno"


def test_bad_topology_exits_2_with_file_and_line(tmp_path: Path) -> None:
    text = CHAIN_OSMOSIS + CHAIN_JUNO + pairing("osmosis", "junoo")
    topo = write(tmp_path, "bad.toml", text)
    code, out, err = run("run", topo)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "junoo" in t)
    assert code == 2 and out == ""
    assert err.startswith(f"{topo}:{line}: pairings[0].consumer: unknown chain 'junoo'")


def test_bad_scenario_exits_2_with_file_and_line(tmp_path: Path) -> None:
    topo = write(tmp_path, "t.toml", SMALL)
    scenario = write(tmp_path, "s.toml", SCENARIO.replace('validator = "val2"', 'validator = "v9"'))
    code, _, err = run("run", topo, "--scenario", scenario)
    line = next(i for i, t in enumerate(SCENARIO.splitlines(), 1) if 'validator = "val2"' in t)
    assert code == 2
    assert err.startswith(f"{scenario}:{line}: steps[2].validator: juno has no validator 'v9'")


def test_inspect_refuses_what_is_not_a_saved_mesh(tmp_path: Path) -> None:
    code, _, err = run("inspect", write(tmp_path, "x.json", '{"a": 1}'))
    assert code == 2 and "not a state file" in err
    code, _, err = run("inspect", str(tmp_path / "missing.json"))
    assert code == 2 and "cannot read" in err


def test_help_says_a_running_mesh_cannot_be_inspected() -> None:
    code, out, _ = run("--help")
    assert code == 0 and "Inspecting a running mesh is not available" in out
    code, out, _ = run("inspect", "--help")
    assert code == 0 and "cannot be inspected" in out
    code, _, err = run("run")
    assert code == 2 and "usage:" in err
