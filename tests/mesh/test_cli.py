"""The ``mesh`` command, run in-process through ``main([...])`` (and once as a process, for
Ctrl-C).

Exit status: 0 all held, 1 a step or check failed, 2 bad input, 130 interrupted."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chains.mesh import MeshLink, RelayerView, main, render_table
from tests.mesh._topologies import CHAIN_JUNO, CHAIN_OSMOSIS, SMALL, pairing

ROOT = Path(__file__).resolve().parents[2]

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
    # stderr is not a terminal: plain progress lines, at tenths of the run's virtual time
    assert err == "day 0.04 / 0.05 (80%)\nday 0.05 / 0.05 (100%)\n"
    assert run("run", topo, "--scenario", scenario)[2] == err  # the same lines each time
    assert run("run", topo, "--scenario", scenario, "--no-progress")[2] == ""


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


def test_live_progress_bar_with_rate_and_eta_on_a_terminal_only(tmp_path: Path) -> None:
    topo = write(tmp_path, "t.toml", SMALL)
    code, _, err = run("run", topo, "--days", "0.2", stderr=Tty())
    assert code == 0
    # rich's live bar: redrawn in place, done, percentage, rate, time left
    assert "day 0.20 / 0.20" in err and "100%" in err and "days/s" in err
    assert "0:00:00" in err and "\x1b[" in err
    assert "(100%)" not in err  # not the plain lines
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


# -- exit status: 0, 1, 2 (issue 12) -----------------------------------------------------------


def test_help_documents_the_exit_status() -> None:
    for args in (("--help",), ("run", "--help")):
        code, out, _ = run(*args)
        assert code == 0
        assert "exit status:" in out
        assert "0    the run finished" in out and "1    a scenario step failed" in out
        assert "2    bad input" in out and "130  interrupted by Ctrl-C" in out


BIG = 2**128


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        (
            '{ name = "carol", balance = 1_000_000_000 }',
            f'{{ name = "carol", balance = {BIG} }}',
            "chains[1].accounts[0].balance",
        ),
        (
            '{ name = "val3", tokens = 10_000_000, commission = "0.1" }',
            f'{{ name = "val3", tokens = {BIG}, commission = "0.1" }}',
            "chains[1].validators[2].tokens",
        ),
        ("max_cap = 100000000", f"max_cap = {BIG}", "pairings[0].max_cap"),
        ("block_provision = 1_000_000", f"block_provision = {BIG}", "chains[1].block_provision"),
    ],
)
def test_topology_amount_of_2_pow_128_exits_2_at_load_not_a_crash_C_1(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    text = SMALL.replace(old, new)
    assert text != SMALL
    topo = write(tmp_path, "big.toml", text)
    code, out, err = run("run", topo)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if str(BIG) in t)
    assert code == 2 and out == ""
    assert err.startswith(f"{topo}:{line}: {key}: must be below 2**128")
    assert str(BIG) in err


def test_topology_genesis_supply_of_2_pow_128_exits_2_C_1(tmp_path: Path) -> None:
    half = 2**127
    text = SMALL.replace(
        '"alice", balance = 1_000_000_000 },\n  { name = "bob", balance = 1_000_000_000 }',
        f'"alice", balance = {half} }},\n  {{ name = "bob", balance = {half} }}',
    )
    assert text != SMALL
    topo = write(tmp_path, "supply.toml", text)
    code, _, err = run("run", topo)
    assert code == 2
    assert "chains[0].accounts: the genesis supply of osmosis" in err
    assert "must be below 2**128" in err


def test_negative_commission_exits_2_saying_what_was_written(tmp_path: Path) -> None:
    text = SMALL.replace('commission = "0.1"', 'commission = "-1"', 1)
    topo = write(tmp_path, "neg.toml", text)
    code, _, err = run("run", topo)
    assert code == 2
    assert "chains[1].validators[0].commission: commission must be between 0 and 1, got -1\n" in err


def test_decimal_errors_name_the_text_written_not_an_object_repr(tmp_path: Path) -> None:
    topo = write(tmp_path, "t.toml", SMALL)
    for price, meaning in (
        ("-1", '"-1" must not be negative'),
        ("abc", '"abc" is not a decimal number'),
        ("0." + "1" * 19, f'"0.{"1" * 19}" has more than 18 decimal places'),
    ):
        scenario = write(
            tmp_path,
            "p.toml",
            f'[[steps]]\naction = "move_price"\nprovider = "osmosis"\nconsumer = "juno"\n'
            f'price = "{price}"\n',
        )
        code, _, err = run("run", topo, "--scenario", scenario)
        assert code == 2
        assert err == f"{scenario}:5: steps[0].price: {meaning}\n"
        assert "Decimal(" not in err


def test_scenario_amount_of_2_pow_128_exits_2(tmp_path: Path) -> None:
    topo = write(tmp_path, "t.toml", SMALL)
    scenario = write(tmp_path, "s.toml", SCENARIO.replace("amount = 1_000_000", f"amount = {BIG}"))
    code, _, err = run("run", topo, "--scenario", scenario)
    assert code == 2
    line = next(i for i, t in enumerate(SCENARIO.splitlines(), 1) if "amount = 1_000_000" in t)
    assert err.startswith(f"{scenario}:{line}: steps[0].amount: must be below 2**128")


def test_a_failed_step_makes_the_run_fail_with_1(tmp_path: Path) -> None:
    topo = write(tmp_path, "t.toml", SMALL)
    # alice holds 1_000_000_000 uosmo: bonding more fails on the chain (not at load time)
    scenario = write(
        tmp_path, "s.toml", SCENARIO.replace("amount = 1_000_000", "amount = 5_000_000_000")
    )
    code, out, err = run("run", topo, "--scenario", scenario)
    assert "alice bonds 5000000000 on osmosis: FAILED: " in out
    assert code == 1
    # the bond fails, and so does the cross-stake that needed its collateral
    assert "mesh: 2 scenario step(s) failed" in err
    code, out, _ = run("run", topo, "--scenario", scenario, "--json")
    assert code == 1 and json.loads(out)["steps"][0]["ok"] is False


@pytest.mark.parametrize("days", ["inf", "-inf", "nan", "0", "-1", "1e300", "x"])
def test_days_that_never_end_or_never_start_are_refused_with_2(tmp_path: Path, days: str) -> None:
    topo = write(tmp_path, "t.toml", SMALL)
    code, out, err = run("run", topo, f"--days={days}")
    assert code == 2 and out == ""
    assert "argument --days:" in err and repr(days) in err


@pytest.mark.parametrize("days", ["inf", "nan", "1e300"])
def test_scenario_days_that_never_end_are_refused_with_2(tmp_path: Path, days: str) -> None:
    topo = write(tmp_path, "t.toml", SMALL)
    scenario = write(tmp_path, "s.toml", SCENARIO.replace("days = 0.05", f"days = {days}"))
    code, _, err = run("run", topo, "--scenario", scenario)
    assert code == 2
    assert err.startswith(f"{scenario}:3: days: ")


def test_step_time_of_inf_is_refused_with_2(tmp_path: Path) -> None:
    topo = write(tmp_path, "t.toml", SMALL)
    scenario = write(tmp_path, "s.toml", SCENARIO.replace("hour = 1", "hour = inf"))
    code, _, err = run("run", topo, "--scenario", scenario)
    assert code == 2 and "steps[2].hour: must be a finite number, got inf" in err


# -- relayers that do not answer (issue 12) ----------------------------------------------------


def test_a_relayer_that_does_not_report_is_an_error_not_a_missing_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def silent(self: MeshLink) -> list[object]:
        return []  # every status request timed out

    monkeypatch.setattr(MeshLink, "statistics", silent)
    topo = write(tmp_path, "t.toml", SMALL)
    state = tmp_path / "state.json"
    code, out, err = run("run", topo, "--days", "0.01", "--save", str(state))
    assert code == 1
    message = "relayers of juno-osmosis: 1 of 1 did not answer a status request"
    assert "\nrelayers\n" in out and f"ERROR: {message}" in out
    assert f"mesh: error: {message}" in err
    code, shown, _ = run("inspect", str(state))
    assert code == 0 and f"ERROR: {message}" in shown
    code, out, _ = run("run", topo, "--days", "0.01", "--json")
    assert code == 1 and json.loads(out)["errors"][0].startswith(message)


def test_relayer_table_when_every_relayer_reports(tmp_path: Path) -> None:
    topo = write(tmp_path, "t.toml", SMALL)
    code, out, _ = run("run", topo, "--days", "0.01")
    assert code == 0
    relayers = out.split("\nrelayers\n", 1)[1]
    assert "juno-osmosis" in relayers and "ERROR" not in out


# -- tables (rich) -----------------------------------------------------------------------------


def test_render_table_aligns_numbers_right_and_never_reads_markup() -> None:
    text = render_table(
        ("name", "tokens", "jailed"),
        [("[bold]val1[/bold]", 10_000_000, True), ("v2", 5, False)],
        indent="  ",
    )
    lines = text.splitlines()
    assert lines[0].split() == ["name", "tokens", "jailed"]
    assert set(lines[1].strip()) == {"─"}
    assert lines[2].startswith("  [bold]val1[/bold]") and "10_000_000" in lines[2]
    assert lines[3].index("5") == lines[2].index("10_000_000") + len("10_000_000") - 1
    assert lines[2].rstrip().endswith("yes") and lines[3].rstrip().endswith("-")
    assert all(line == line.rstrip() for line in lines)


def test_render_snapshot_names_missing_relayers_even_without_a_table() -> None:
    from chains.mesh import MeshSnapshot, render_snapshot

    snapshot = MeshSnapshot(name="m", seed=0, seconds=0.0, chains=(), pairings=(), channels=())
    assert "relayers" not in render_snapshot(snapshot)
    text = render_snapshot(snapshot, expected_relayers={"a-b": 2})
    assert "\nrelayers\n" in text
    assert "ERROR: relayers of a-b: 2 of 2 did not answer a status request" in text
    answered = snapshot.model_copy(
        update={
            "relayers": (
                RelayerView(link="a-b", index=0, batches=1, ok=1, noop=0, failed=0, clears=0),
            )
        }
    )
    assert "1 of 2 did not answer" in render_snapshot(answered, expected_relayers={"a-b": 2})


# -- logging (issue 12) ------------------------------------------------------------------------


def test_log_level_and_json_configure_logging_for_the_run_only(tmp_path: Path) -> None:
    import logging

    topo = write(tmp_path, "t.toml", SMALL)
    root = logging.getLogger()
    before = (root.level, list(root.handlers))
    code, _, err = run(
        "run", topo, "--days", "0.01", "--no-progress", "--log-level", "info", "--log-json"
    )
    assert code == 0
    records = [json.loads(line) for line in err.splitlines()]
    assert records, "no log record at info level"
    assert all({"event", "level", "timestamp"} <= set(r) for r in records)
    assert any(r["event"].startswith("run started") for r in records)
    assert any(r.get("logger") != "chains.mesh.cli" for r in records)  # the library's too
    assert (root.level, list(root.handlers)) == before
    code, _, err = run("run", topo, "--days", "0.01", "--no-progress", "--log-level", "info")
    assert code == 0 and "run started" in err and not err.lstrip().startswith("{")
    code, _, err = run("run", topo, "--days", "0.01", "--no-progress", "--log-level", "error")
    assert code == 0 and err == ""


# -- Ctrl-C (issue 12) -------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_ctrl_c_prints_the_partial_summary_and_keeps_the_saved_state(
    tmp_path: Path, backend: str
) -> None:
    topo = write(tmp_path, "t.toml", SMALL)
    scenario = write(tmp_path, "s.toml", SCENARIO)
    state = tmp_path / "state.json"
    # a run far longer than the test: only Ctrl-C can end it
    command = [
        sys.executable, "-u", "-c",
        "import sys; from chains.mesh import main; sys.exit(main(sys.argv[1:]))",
        "run", topo, "--scenario", scenario, "--days", "100000", "--save", str(state),
        "--backend", backend, "--no-progress",
    ]  # fmt: skip
    child = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        assert child.stdout is not None
        seen = []
        for line in child.stdout:
            seen.append(line)
            if "alice bonds" in line:
                break
        child.send_signal(signal.SIGINT)
        rest, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    out = "".join(seen) + rest
    assert child.returncode == 130, err
    assert "alice bonds 1000000 on osmosis: ok" in out
    assert "chain osmosis" in out and "invariants:" in out
    assert "interrupted at day" in out and "Traceback" not in err
    saved = json.loads(state.read_text())
    assert saved["interrupted"] is True and saved["steps"][0]["ok"] is True
    assert saved["snapshot"]["seconds"] < 100_000 * 86_400


def test_chaos_and_report_are_subcommands_of_mesh(tmp_path: Path) -> None:
    """``mesh chaos`` and ``mesh report`` reach their own parsers (issue 17), and bad input
    to them is exit status 2 like the rest of the command."""
    out, err = io.StringIO(), io.StringIO()
    assert main(["chaos", "--help"], stdout=out, stderr=err) == 0
    assert "usage: mesh chaos" in out.getvalue()
    out = io.StringIO()
    assert main(["--help"], stdout=out, stderr=err) == 0
    assert "chaos" in out.getvalue() and "report" in out.getvalue()
    assert main(["report", str(tmp_path / "missing")], stdout=out, stderr=err) == 2
    assert main(["chaos", str(tmp_path / "missing.toml")], stdout=out, stderr=err) == 2
