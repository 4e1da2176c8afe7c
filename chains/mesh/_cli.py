"""The ``mesh`` command: run a topology in virtual time, inspect a saved mesh.

::

    mesh run TOPOLOGY [--scenario FILE] [--days N] [--seed S] [--json] [--save FILE]
             [--check-invariants] [--backend asyncio|trio] [--no-progress]
             [--log-level LEVEL] [--log-json]
    mesh inspect STATE_FILE [--json]
    mesh genesis | node | relayer | up | tx ...   (a mesh of processes: chains.mesh._process_cli)

``run`` starts the topology's mesh (deployment, channels, caps: I-49), runs the scenario's
steps at their times and lets the mesh run for ``--days`` (default: the scenario's
``days``, else 1) of virtual time, then prints a summary: per chain its validators, supply
and vault; per pairing price, cap, virtual stake, cross-stake and rewards; per channel the
packets sent, acknowledged and timed out; per relayer its counters. Progress goes to stderr
(never with ``--json`` or ``--no-progress``): on a terminal a live bar with the rate and the
time left, elsewhere a plain line at every tenth of the run (the same lines for the same
run). ``--save FILE`` writes the final state as JSON, which ``inspect`` prints again later.
Inspecting a *running* mesh is not available: a mesh runs inside the process that started
it; save its state and inspect the file.

Ctrl-C stops the run between two slices of virtual time: the summary of what ran so far is
printed (and saved with ``--save``); a second Ctrl-C abandons the summary.

Logging is the application's to configure, so the command configures it: records of the
library's loggers (stdlib ``logging`` and structlog alike) at ``--log-level`` and above go to
stderr, as console lines or, with ``--log-json``, one JSON object per line.

Exit status (`EXIT_OK` ...): 0 the run finished, every step succeeded and every check held;
1 a scenario step failed, an invariant was violated, or a relayer did not report its
counters; 2 bad input (a topology, scenario or state file that does not validate, named with
its file, line and key; bad options); 130 interrupted by Ctrl-C (after the partial summary).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

import anyio
import structlog
from anyio.abc import TaskStatus
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from chains.mesh._mesh import Mesh
from chains.mesh._process_cli import (
    run_genesis_cli,
    run_node_cli,
    run_relayer_cli,
    run_tx_cli,
    run_up_cli,
)
from chains.mesh._report import missing_relayers, render_snapshot
from chains.mesh._scenario import MAX_DAYS, Scenario, load_scenario
from chains.mesh._scenario_run import StepOutcome, run_scenario
from chains.mesh._state import MeshSnapshot
from chains.mesh._topology import Topology, load_topology
from chains.mesh._topology_errors import MeshConfigError
from chains.mesh.chaos._cli import run_chaos_cli, run_report_cli

# the console script names `chains.mesh._cli:main` by its module path; nothing here is part of
# the `chains` package namespace
__all__ = ["main"]

STATE_FORMAT = "mesh-state/1"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a process that Ctrl-C stopped
_DAY = 86_400.0
_LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
_log = logging.getLogger("chains.mesh.cli")

_EXIT_HELP = """\
exit status:
  0    the run finished, every scenario step succeeded and every check held
  1    a scenario step failed, an invariant was violated, or a relayer did not
       report its counters
  2    bad input: a topology, scenario or state file that does not validate
       (file:line: key: message), or bad options
  130  interrupted by Ctrl-C (the partial summary is printed and saved)
"""


def _days(text: str) -> float:
    # argparse's type=float takes "inf" (a run that never ends) and "nan" (a run of 0 days)
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}") from None
    if not math.isfinite(value) or not 0 < value <= MAX_DAYS:
        raise argparse.ArgumentTypeError(
            f"days must be a number above 0 and at most {MAX_DAYS:,.0f}, got {text!r}"
        )
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mesh",
        description="Run Mesh Security topologies in virtual time, and inspect saved runs.",
        epilog=(
            "Inspecting a running mesh is not available: a mesh lives in the process that "
            "runs it. Use 'mesh run ... --save FILE' and 'mesh inspect FILE'.\n\n" + _EXIT_HELP
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="run a topology (and a scenario) in virtual time and print a summary",
        description=(
            "Start the topology's chains, deploy the contracts, open the control channels, "
            "authorize the max caps, run the scenario's steps and the given number of days "
            "of virtual time, then print per chain, pairing, channel and relayer figures. "
            "Ctrl-C stops the run and prints what ran so far."
        ),
        epilog=_EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("topology", type=Path, help="topology file (TOML)")
    run.add_argument("--scenario", type=Path, help="scenario file (TOML) of timed steps")
    run.add_argument(
        "--days", type=_days, help="days of virtual time to run (default: the scenario's, or 1)"
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
    run.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    run.add_argument(
        "--log-level",
        choices=_LOG_LEVELS,
        help="log records of this level and above to stderr (default: warning)",
    )
    run.add_argument("--log-json", action="store_true", help="log as JSON, one object per line")
    for name, summary in (
        ("chaos", "run many seeds of a topology under a fault plan and check every run"),
        ("report", "write latency plots and a summary of a 'mesh chaos' run directory"),
        ("genesis", "deploy a topology once and write its chains' state files"),
        ("node", "run one chain of a topology as this process, in real time"),
        ("relayer", "run the relayers of one linked chain pair as this process"),
        ("up", "run a whole topology as local processes, with a live status table"),
        ("tx", "send a signed user action to running nodes, or read from them"),
    ):
        commands.add_parser(name, help=f"{summary} ('mesh {name} --help')", add_help=False)
    inspect = commands.add_parser(
        "inspect",
        help="print the state a 'mesh run --save' wrote (not a running mesh)",
        description=(
            "Print the state of a mesh saved by 'mesh run --save FILE'. A running mesh "
            "cannot be inspected from another process."
        ),
        epilog=_EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    inspect.add_argument("state", type=Path, help="state file written by 'mesh run --save'")
    inspect.add_argument("--json", action="store_true", help="print it as JSON")
    return parser


# -- logging ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _logging_to(stream: TextIO, level: str, as_json: bool) -> Iterator[None]:
    """Send every log record at ``level`` and above to ``stream`` while the block runs.

    stdlib ``logging`` carries everything: structlog is configured to hand its events to
    stdlib loggers, and one handler formats both kinds with structlog's
    ``ProcessorFormatter`` (console lines, or JSON). The previous configuration of both is
    restored afterwards, so an in-process caller (a test) keeps its own.
    """
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        timestamper,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    numeric = logging.getLevelNamesMapping()[level.upper()]
    handler.setLevel(numeric)
    root = logging.getLogger()
    saved_structlog = structlog.get_config()
    saved_level, saved_handlers = root.level, list(root.handlers)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    root.handlers = [handler]
    root.setLevel(numeric)
    try:
        yield
    finally:
        handler.flush()
        root.handlers = saved_handlers
        root.setLevel(saved_level)
        structlog.configure(**saved_structlog)


# -- progress ---------------------------------------------------------------------------------


class _RateColumn(ProgressColumn):
    """Simulated days per wall-clock second."""

    def render(self, task: Task) -> Text:
        speed = task.speed
        return Text("" if speed is None else f"{speed:,.2f} days/s")


class _Progress:
    """Progress of a run on stderr: a live rich bar on a terminal (rate and time left), plain
    lines elsewhere (one per tenth of the run, with no wall-clock figure, so the same run
    prints the same lines), or nothing."""

    def __init__(self, stream: TextIO, mode: Literal["live", "plain", "off"]) -> None:
        self._stream = stream
        self.mode = mode
        self._bar: Progress | None = None
        self._task: Any = None
        self._tenths = -1

    def __call__(self, seconds: float, total: float) -> None:
        if self.mode == "off" or total <= 0:
            return
        done, whole = seconds / _DAY, total / _DAY
        if self.mode == "plain":
            tenths = min(10, int(10 * seconds / total))
            if tenths > self._tenths:
                self._tenths = tenths
                self._stream.write(f"day {done:.2f} / {whole:.2f} ({tenths * 10}%)\n")
                self._stream.flush()
            return
        if self._bar is None:
            self._bar = Progress(
                TextColumn("day {task.completed:.2f} / {task.total:.2f}"),
                BarColumn(),
                TaskProgressColumn(),
                _RateColumn(),
                TimeRemainingColumn(),
                console=Console(file=self._stream),
                auto_refresh=False,  # redrawn on each update: no thread of its own
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task("run", total=whole)
        self._bar.update(self._task, completed=min(done, whole), refresh=True)

    def print_above(self, line: str) -> bool:
        """Print ``line`` above a live bar (same terminal); ``False`` if no bar is live."""
        if self._bar is None:
            return False
        self._bar.console.print(line, markup=False, highlight=False, soft_wrap=True)
        return True

    def close(self) -> None:
        """Stop the live bar (its last state stays on the terminal)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


# -- run --------------------------------------------------------------------------------------


@dataclass
class _RunResult:
    snapshot: MeshSnapshot | None = None
    outcomes: list[StepOutcome] = field(default_factory=list)
    interrupted: bool = False


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
    return f"day {outcome.seconds / _DAY:6.2f}  {outcome.description}: {status}"


async def _run(
    topology: Topology,
    scenario: Scenario | None,
    args: argparse.Namespace,
    stdout: TextIO,
    progress: _Progress,
) -> _RunResult:
    """Start the mesh, run the scenario, take the snapshot; Ctrl-C (SIGINT) cancels the run
    part only, so the snapshot of what ran is still taken (a second one abandons it)."""
    result = _RunResult()
    run_scope = anyio.CancelScope()

    def on_step(outcome: StepOutcome) -> None:
        result.outcomes.append(outcome)
        if not args.json:
            line = _outcome_line(outcome)
            if not (stdout.isatty() and progress.print_above(line)):
                stdout.write(line + "\n")

    async with anyio.create_task_group() as tasks:
        # signal handlers can only be installed from the main thread (an embedder may call
        # main() from another one: Ctrl-C then stays the embedder's business)
        if threading.current_thread() is threading.main_thread():
            await tasks.start(_watch_interrupts, run_scope, tasks.cancel_scope, result)
        mesh = Mesh.from_topology(topology, seed=args.seed, check_invariants=args.check_invariants)
        async with mesh:
            _log.info("run started: topology %r, seed %d", topology.name, args.seed)
            with run_scope:
                await run_scenario(
                    mesh,
                    scenario,
                    days=args.days,
                    on_step=on_step,
                    on_progress=progress,
                    progress_every=3_600.0,
                )
            progress.close()
            result.snapshot = await mesh.snapshot(invariants=True)
        tasks.cancel_scope.cancel()
    return result


async def _watch_interrupts(
    run_scope: anyio.CancelScope,
    everything: anyio.CancelScope,
    result: _RunResult,
    *,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """First SIGINT: stop the run (the summary follows); second: stop everything.

    Runs until cancelled (by `_run` once the snapshot is taken)."""
    with anyio.open_signal_receiver(signal.SIGINT) as signals:
        task_status.started()
        async for _ in signals:
            if result.interrupted:
                everything.cancel()
                return
            result.interrupted = True
            run_scope.cancel()


def _save(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps({"format": STATE_FORMAT, **document}, indent=1) + "\n", "utf-8")


def _command_run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    try:
        topology = load_topology(args.topology)
        scenario = load_scenario(args.scenario, topology) if args.scenario is not None else None
    except MeshConfigError as exc:
        stderr.write(f"{exc}\n")
        return EXIT_INVALID
    if args.json or args.no_progress:
        mode: Literal["live", "plain", "off"] = "off"
    else:
        mode = "live" if stderr.isatty() else "plain"
    progress = _Progress(stderr, mode)
    try:
        result = anyio.run(_run, topology, scenario, args, stdout, progress, backend=args.backend)
    except KeyboardInterrupt:
        # Ctrl-C outside the run's own handling (before the event loop ran, say)
        stderr.write("mesh: interrupted: no summary\n")
        return EXIT_INTERRUPTED
    finally:
        progress.close()
    snapshot = result.snapshot
    if snapshot is None:
        stderr.write("mesh: interrupted before the mesh could be read: no summary\n")
        return EXIT_INTERRUPTED
    expected = {f"{a}-{b}": topology.relayers_of(a, b).count for a, b in topology.links()}
    errors = missing_relayers(snapshot, expected)
    document: dict[str, Any] = {
        "snapshot": snapshot.model_dump(mode="json"),
        "steps": [_outcome_json(o) for o in result.outcomes],
        "relayers_expected": expected,
        "errors": errors,
        "interrupted": result.interrupted,
    }
    if args.save is not None:
        _save(args.save, document)
    if args.json:
        stdout.write(json.dumps(document, indent=1) + "\n")
    else:
        stdout.write(render_snapshot(snapshot, expected_relayers=expected) + "\n")
        if result.interrupted:
            stdout.write(f"interrupted at day {snapshot.days:.2f}: the figures above are partial\n")
    for error in errors:
        stderr.write(f"mesh: error: {error}\n")
    failed_steps = [o for o in result.outcomes if not o.ok]
    if failed_steps:
        stderr.write(f"mesh: {len(failed_steps)} scenario step(s) failed\n")
    if result.interrupted:
        return EXIT_INTERRUPTED
    if failed_steps or errors or snapshot.invariant_violations:
        return EXIT_FAILED
    return EXIT_OK


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
        steps = [StepOutcome(**step) for step in document.get("steps", [])]
    except (ValidationError, TypeError) as exc:
        count = exc.error_count() if isinstance(exc, ValidationError) else 1
        stderr.write(f"{path}: damaged state file: {count} errors\n")
        return EXIT_INVALID
    if args.json:
        stdout.write(json.dumps(document, indent=1) + "\n")
        return EXIT_OK
    for outcome in steps:
        stdout.write(_outcome_line(outcome) + "\n")
    expected = document.get("relayers_expected")
    if not isinstance(expected, dict):
        expected = None  # saved before the relayer check existed
    stdout.write(render_snapshot(snapshot, expected_relayers=expected) + "\n")
    if document.get("interrupted"):
        stdout.write(f"interrupted at day {snapshot.days:.2f}: the figures above are partial\n")
    return EXIT_OK


_DELEGATED: dict[str, Callable[..., int]] = {
    "chaos": run_chaos_cli,
    "report": run_report_cli,
    # a mesh of processes (chains.mesh._process_cli)
    "genesis": run_genesis_cli,
    "node": run_node_cli,
    "relayer": run_relayer_cli,
    "up": run_up_cli,
    "tx": run_tx_cli,
}


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """The ``mesh`` console script; returns the exit status (see the module docstring).

    ``argv`` defaults to the process arguments; ``stdout``/``stderr`` default to the process
    streams (tests pass their own). Logging is configured for the run (to ``stderr``, at
    ``--log-level``, warning by default) when this is the console script (``argv`` is
    ``None``) or when ``--log-level``/``--log-json`` is given, and restored afterwards.
    Raises nothing for bad input (exit status 2); Ctrl-C during a run gives status 130.
    """
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    words = list(sys.argv[1:] if argv is None else argv)
    # `mesh chaos` and `mesh report` have parsers of their own (chains.mesh.chaos)
    if words and words[0] in _DELEGATED:
        return _DELEGATED[words[0]](words[1:], stdout=out, stderr=err)
    parser = _parser()
    try:
        # argparse prints help and usage errors to the process streams: send them to ours
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_INVALID
    if args.command == "inspect":
        return _command_inspect(args, out, err)
    configure = argv is None or args.log_level is not None or args.log_json
    with contextlib.ExitStack() as stack:
        if configure:
            stack.enter_context(_logging_to(err, args.log_level or "warning", args.log_json))
        return _command_run(args, out, err)
