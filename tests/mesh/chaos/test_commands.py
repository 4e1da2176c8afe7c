"""``mesh chaos`` and ``mesh report`` through their entry functions: exit codes, files."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from chains.mesh import run_chaos_cli, run_report_cli
from tests.mesh.chaos._chaos_fixtures import PLAN_TEXT, TOPOLOGY_TEXT, WORKLOAD_TEXT


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, text in (
        ("topology", TOPOLOGY_TEXT),
        ("plan", PLAN_TEXT),
        ("workload", WORKLOAD_TEXT),
    ):
        path = tmp_path / f"{name}.toml"
        path.write_text(text)
        out[name] = path
    return out


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_chaos_cli(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _chaos_argv(files: dict[str, Path], run_dir: Path, *extra: str) -> list[str]:
    return [
        str(files["topology"]),
        "--plan",
        str(files["plan"]),
        "--workload",
        str(files["workload"]),
        "--out",
        str(run_dir),
        *extra,
    ]


def test_all_checks_held_exits_0_and_prints_the_table(
    files: dict[str, Path], tmp_path: Path
) -> None:
    code, out, err = _run(_chaos_argv(files, tmp_path / "run", "--seeds", "6"))
    assert code == 0, err
    assert "liveness" in out and "packets_once" in out
    assert "seeds: 6; faults injected: link 6, partition 6, relayer_crash 6" in out
    assert (tmp_path / "run" / "summary.json").is_file()


def test_a_failed_check_exits_1_naming_the_seed(files: dict[str, Path], tmp_path: Path) -> None:
    text = WORKLOAD_TEXT.replace("rate = 120", "rate = 120\nsettle_bound = 1.0")
    files["workload"].write_text(text)
    code, out, _ = _run(_chaos_argv(files, tmp_path / "run", "--seeds", "4", "--no-shrink"))
    assert code == 1
    assert re.search(r"seed \d+ failed: .*liveness", out)


def test_a_failing_seed_replays_identically_with_seed_and_its_repro(
    files: dict[str, Path], tmp_path: Path
) -> None:
    text = WORKLOAD_TEXT.replace("rate = 120", "rate = 120\nsettle_bound = 1.0")
    files["workload"].write_text(text)
    code, out, _ = _run(_chaos_argv(files, tmp_path / "run", "--seeds", "3", "--no-shrink"))
    assert code == 1
    seed = int(re.findall(r"seed (\d+) failed", out)[0])
    assert f"--seed {seed}" in out.split("replay: ")[1]  # the command to replay it
    code, again, _ = _run(_chaos_argv(files, tmp_path / "one", "--seed", str(seed)))
    assert code == 1 and "seeds: 1;" in again and "replay:" not in again
    for name in ("history.jsonl", "history.edn", "packets.jsonl"):
        first = (tmp_path / "run" / "seeds" / str(seed) / name).read_bytes()
        assert (tmp_path / "one" / "seeds" / str(seed) / name).read_bytes() == first
    # the shrunk reproduction replays alone (its file carries plan, workload, operations)
    repro = tmp_path / "one" / "seeds" / str(seed) / "repro.json"
    shrunk = json.loads(repro.read_text())["operations"]
    assert shrunk
    code, replayed, _ = _run(
        [str(files["topology"]), "--repro", str(repro), "--out", str(tmp_path / "r")]
    )
    assert code == 1 and f"seed {seed} failed: liveness" in replayed
    record = json.loads((tmp_path / "r" / "seeds" / str(seed) / "record.json").read_text())
    assert record["operations"] == len(shrunk)


def test_a_file_that_is_no_reproduction_exits_2(files: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "repro.json"
    bad.write_text("{}")
    code, _, err = _run([str(files["topology"]), "--repro", str(bad)])
    assert code == 2 and "not a chaos reproduction" in err


def test_bad_input_exits_2_with_a_located_error(files: dict[str, Path], tmp_path: Path) -> None:
    files["plan"].write_text('[[faults]]\nkind = "link"\nchains = ["juno", "osmosis"]\ndrop = 2\n')
    code, _, err = _run(_chaos_argv(files, tmp_path / "run"))
    assert code == 2
    assert f"{files['plan']}:4: faults[0].drop:" in err


def test_a_chain_left_down_exits_2_naming_the_key(files: dict[str, Path], tmp_path: Path) -> None:
    files["plan"].write_text('[[faults]]\nkind = "chain_crash"\nchain = "juno"\nat = 60\n')
    code, _, err = _run(_chaos_argv(files, tmp_path / "run"))
    assert code == 2
    assert "faults[0].restart" in err and "restart within the run" in err


def test_bad_usage_exits_2(tmp_path: Path) -> None:
    assert _run(["--seeds", "x"])[0] == 2
    assert _run([str(tmp_path / "missing.toml")])[0] == 2


def _percentile_rows(markdown: str) -> dict[str, list[str]]:
    rows = {}
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 12 and cells[0] not in ("flow",) and not cells[0].startswith("---"):
            rows[cells[0]] = cells[1:]
    return rows


def test_the_report_writes_plots_markdown_and_html(files: dict[str, Path], tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    assert _run(_chaos_argv(files, run_dir, "--seeds", "8"))[0] == 0
    out, err = io.StringIO(), io.StringIO()
    assert run_report_cli([str(run_dir)], stdout=out, stderr=err) == 0, err.getvalue()
    report = run_dir / "report"
    for name in ("latency_cdf.png", "latency_hist.png", "timeline.png", "rate.png"):
        assert (report / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    markdown = (report / "report.md").read_text()
    rows = _percentile_rows(markdown)
    assert "cross_stake_committed" in rows
    n, p50, p90, p99, p999, top = (float(x) for x in rows["cross_stake_committed"][:6])
    assert n > 0
    assert 0 < p50 <= p90 <= p99 <= p999 <= top
    samples = [
        json.loads(line)
        for line in (run_dir / "latency.jsonl").read_text().splitlines()
        if '"cross_stake_committed"' in line
    ]
    assert n == len(samples)
    assert top == pytest.approx(max(s["seconds"] for s in samples), rel=1e-3)
    page = (report / "report.html").read_text()
    assert '<img src="latency_cdf.png"' in page and "cross_stake_committed" in page


def test_report_of_a_directory_that_is_no_run_exits_2(tmp_path: Path) -> None:
    err = io.StringIO()
    assert run_report_cli([str(tmp_path)], stdout=io.StringIO(), stderr=err) == 2
    assert "not a chaos run directory" in err.getvalue()
