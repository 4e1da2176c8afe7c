"""The ``mesh`` command: run a topology in virtual time, inspect a saved mesh.

::

    mesh run TOPOLOGY [--scenario FILE] [--days N] [--seed S] [--json] [--save FILE]
             [--check-invariants] [--backend asyncio|trio] [--no-progress]
    mesh inspect STATE_FILE [--json]

``run`` starts the topology's mesh (deployment, channels, caps: I-49), runs the scenario's
steps at their times and lets the mesh run for ``--days`` (default: the scenario's
``days``, else 1) of virtual time, then prints a summary: per chain its validators, supply
and vault; per pairing price, cap, virtual stake, cross-stake and rewards; per channel the
packets sent, acknowledged and timed out. A progress bar goes to stderr when it is a
terminal (never with ``--json``). ``--save FILE`` writes the final state as JSON, which
``inspect`` prints again later. Inspecting a *running* mesh is not available: a mesh runs
inside the process that started it; save its state and inspect the file.

Exit status: 0; 1 if an invariant was found violated; 2 for a topology, scenario or state
file that does not validate (the message names the file, line and field).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import anyio
import structlog
from pydantic import ValidationError

from chains.mesh._mesh import Mesh
from chains.mesh._report import render_snapshot
from chains.mesh._scenario import Scenario, load_scenario
from chains.mesh._scenario_run import StepOutcome, run_scenario
from chains.mesh._state import MeshSnapshot
from chains.mesh._topology import Topology, load_topology
from chains.mesh._topology_errors import MeshConfigError

# the console script names `chains.mesh._cli:main` by its module path; nothing here is part of
# the `chains` package namespace
__all__ = ["main"]

STATE_FORMAT = "mesh-state/1"
_BAR = 30
EXIT_OK = 0
EXIT_VIOLATED = 1
EXIT_INVALID = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mesh",
        description="Run Mesh Security topologies in virtual time, and inspect saved runs.",
        epilog=(
            "Inspecting a running mesh is not available: a mesh lives in the process that "
            "runs it. Use 'mesh run ... --save FILE' and 'mesh inspect FILE'."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="run a topology (and a scenario) in virtual time and print a summary",
        description=(
            "Start the topology's chains, deploy the contracts, open the control channels, "
            "authorize the max caps, run the scenario's steps and the given number of days "
            "of virtual time, then print per chain, pairing, channel and relayer figures."
        ),
    )
    run.add_argument("topology", type=Path, help="topology file (TOML)")
    run.add_argument("--scenario", type=Path, help="scenario file (TOML) of timed steps")
    run.add_argument(
        "--days", type=float, help="days of virtual time to run (default: the scenario's, or 1)"
    )
    run.add_argument("--seed", type=int, default=0, help="seed of faults and relayers (0)")
    run.add_argument("--json", action="store_true", help="print the result as JSON")
    run.add_argument("--save", type=Path, help="also write the final state to this JSON file")
    run.add_argument(
        "--check-invariants",
        action="store_true",
        help="check the global invariants after every block (slower)",
    )
    run.add_argument(
        "--backend", choices=("asyncio", "trio"), default="asyncio", help="event loop (asyncio)"
    )
    run.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    inspect = commands.add_parser(
        "inspect",
        help="print the state a 'mesh run --save' wrote (not a running mesh)",
        description=(
            "Print the state of a mesh saved by 'mesh run --save FILE'. A running mesh "
            "cannot be inspected from another process."
        ),
    )
    inspect.add_argument("state", type=Path, help="state file written by 'mesh run --save'")
    inspect.add_argument("--json", action="store_true", help="print it as JSON")
    return parser


class _Progress:
    """A one-line progress bar on a terminal (redrawn with carriage returns)."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self._stream = stream
        self._enabled = enabled
        self._last = ""

    def __call__(self, seconds: float, total: float) -> None:
        if not self._enabled or total <= 0:
            return
        done = min(1.0, seconds / total)
        filled = int(done * _BAR)
        line = (
            f"\r[{'#' * filled}{'.' * (_BAR - filled)}] "
            f"day {seconds / 86_400:.2f} / {total / 86_400:.2f}"
        )
        if line != self._last:
            self._stream.write(line)
            self._stream.flush()
            self._last = line

    def close(self) -> None:
        if self._enabled and self._last:
            self._stream.write("\n")
            self._stream.flush()


def _outcome_json(outcome: StepOutcome) -> dict[str, Any]:
    return {
        "seconds": outcome.seconds,
        "action": outcome.action,
        "description": outcome.description,
        "ok": outcome.ok,
        "error": outcome.error,
        "height": outcome.height,
    }


def _outcome_line(outcome: StepOutcome) -> str:
    status = "ok" if outcome.ok else f"FAILED: {outcome.error}"
    return f"day {outcome.seconds / 86_400:6.2f}  {outcome.description}: {status}"


async def _run(
    topology: Topology,
    scenario: Scenario | None,
    args: argparse.Namespace,
    stdout: TextIO,
    progress: _Progress,
) -> tuple[MeshSnapshot, list[StepOutcome]]:
    def on_step(outcome: StepOutcome) -> None:
        if not args.json:
            if progress._last:
                progress.close()
                progress._last = ""
            stdout.write(_outcome_line(outcome) + "\n")

    mesh = Mesh.from_topology(topology, seed=args.seed, check_invariants=args.check_invariants)
    async with mesh:
        outcomes = await run_scenario(
            mesh,
            scenario,
            days=args.days,
            on_step=on_step,
            on_progress=progress,
            progress_every=3_600.0,
        )
        snapshot = await mesh.snapshot(invariants=True)
    return snapshot, outcomes


def _save(path: Path, snapshot: MeshSnapshot, outcomes: list[StepOutcome]) -> None:
    document = {
        "format": STATE_FORMAT,
        "snapshot": snapshot.model_dump(mode="json"),
        "steps": [_outcome_json(o) for o in outcomes],
    }
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def _command_run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    try:
        topology = load_topology(args.topology)
        scenario = load_scenario(args.scenario, topology) if args.scenario is not None else None
    except MeshConfigError as exc:
        stderr.write(f"{exc}\n")
        return EXIT_INVALID
    if args.days is not None and args.days <= 0:
        stderr.write("--days must be above 0\n")
        return EXIT_INVALID
    show = not args.json and not args.no_progress and stderr.isatty()
    progress = _Progress(stderr, show)
    try:
        snapshot, outcomes = anyio.run(
            _run, topology, scenario, args, stdout, progress, backend=args.backend
        )
    finally:
        progress.close()
    if args.save is not None:
        _save(args.save, snapshot, outcomes)
    if args.json:
        document = {
            "snapshot": snapshot.model_dump(mode="json"),
            "steps": [_outcome_json(o) for o in outcomes],
        }
        stdout.write(json.dumps(document, indent=1) + "\n")
    else:
        stdout.write(render_snapshot(snapshot) + "\n")
    return EXIT_VIOLATED if snapshot.invariant_violations else EXIT_OK


def _command_inspect(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    path: Path = args.state
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        stderr.write(f"{path}: cannot read a saved mesh: {exc}\n")
        return EXIT_INVALID
    if not isinstance(document, dict) or document.get("format") != STATE_FORMAT:
        stderr.write(f"{path}: not a state file of 'mesh run --save' ({STATE_FORMAT})\n")
        return EXIT_INVALID
    try:
        snapshot = MeshSnapshot.model_validate(document.get("snapshot"))
    except ValidationError as exc:
        stderr.write(f"{path}: damaged state file: {exc.error_count()} errors\n")
        return EXIT_INVALID
    if args.json:
        stdout.write(json.dumps(document, indent=1) + "\n")
        return EXIT_OK
    for step in document.get("steps", []):
        outcome = StepOutcome(**step)
        stdout.write(_outcome_line(outcome) + "\n")
    stdout.write(render_snapshot(snapshot) + "\n")
    return EXIT_OK


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """The ``mesh`` console script; returns the exit status (see the module docstring).

    ``argv`` defaults to the process arguments, and then (the console script) logging is
    set to warnings on stderr; ``stdout``/``stderr`` default to the process streams (tests
    pass their own).
    """
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    if argv is None:
        # the console script owns the process: logs (warnings and up) go to stderr, so
        # stdout carries only the summary (or the JSON). In-process callers keep theirs.
        structlog.configure(
            logger_factory=structlog.PrintLoggerFactory(file=err),
            wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        )
    parser = _parser()
    try:
        # argparse prints help and usage errors to the process streams: send them to ours
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_INVALID
    if args.command == "run":
        return _command_run(args, out, err)
    return _command_inspect(args, out, err)
