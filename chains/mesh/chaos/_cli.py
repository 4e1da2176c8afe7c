"""Entry points of the ``mesh chaos`` and ``mesh report`` commands (wired into ``mesh`` by
its CLI): argument parsing, the progress display, the summary table and exit codes.

::

    mesh chaos TOPOLOGY [--plan PLAN.toml] [--workload WORKLOAD.toml] [--seeds N]
               [--first-seed S | --seed S | --repro REPRO.json] [--jobs J]
               [--out RUN_DIR] [--no-shrink]
    mesh report RUN_DIR [--out DIR]

Exit status: 0 every check held for every seed; 1 a check failed (or the run was
interrupted by Ctrl-C: what was recorded is kept); 2 bad input (unreadable or invalid
topology, plan or workload, a fault the mesh cannot execute yet, a missing run directory).
Tables and progress use rich when it is installed, plain text otherwise.
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

import structlog

from chains.mesh._topology import load_topology
from chains.mesh._topology_errors import ConfigIssue, MeshConfigError
from chains.mesh.chaos._errors import ChaosPlanError, UnsupportedFault
from chains.mesh.chaos._figures import ReportUnavailable, write_report
from chains.mesh.chaos._plan import ChaosPlan, load_chaos_plan
from chains.mesh.chaos._runner import ChaosSummary, SeedOutcome, run_chaos
from chains.mesh.chaos._workload import Operation, Workload, load_workload

__all__ = ["run_chaos_cli", "run_report_cli"]

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_INVALID = 2


def _parse(
    parser: argparse.ArgumentParser, argv: Sequence[str], out: TextIO, err: TextIO
) -> argparse.Namespace | int:
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            return parser.parse_args(list(argv))
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_INVALID


def _quiet_logs(err: TextIO) -> None:
    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(file=err),
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
    )


def _rich() -> Any | None:
    try:
        import rich
    except ImportError:
        return None
    import rich.console

    return rich.console


def _chaos_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mesh chaos", description="run seeds of a fault plan and a workload"
    )
    parser.add_argument("topology", help="topology TOML file")
    parser.add_argument("--plan", help="fault plan TOML file (default: no faults)")
    parser.add_argument("--workload", help="workload TOML file (default: the default mix)")
    parser.add_argument("--seeds", type=int, default=100, help="how many seeds (default 100)")
    parser.add_argument("--first-seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument(
        "--seed",
        type=int,
        help="replay this one seed (a failing seed's number): the same histories, byte for byte",
    )
    parser.add_argument(
        "--repro",
        help="replay a failing seed's shrunk reproduction (its repro.json: seed, plan,"
        " workload and operations; --plan and --workload are then not needed)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--out", default="chaos-run", help="run directory (default chaos-run)")
    parser.add_argument("--no-shrink", action="store_true", help="do not shrink failures")
    return parser


def run_chaos_cli(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """``mesh chaos`` (see the module docstring); returns the exit status.

    ``argv`` defaults to the process arguments and then logging is set to warnings on
    stderr; ``stdout``/``stderr`` default to the process streams (tests pass their own).
    """
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    if argv is None:
        _quiet_logs(err)
        argv = sys.argv[1:]
    args = _parse(_chaos_parser(), argv, out, err)
    if isinstance(args, int):
        return args
    if args.seeds < 1 or args.jobs < 1:
        print("mesh chaos: --seeds and --jobs must be at least 1", file=err)
        return EXIT_INVALID
    try:
        topology = load_topology(args.topology)
        plan = load_chaos_plan(args.plan) if args.plan else ChaosPlan(name="no faults")
        workload = load_workload(args.workload) if args.workload else Workload()
        repro = _load_repro(args.repro) if args.repro else None
    except MeshConfigError as exc:
        print(str(exc), file=err)
        return EXIT_INVALID
    operations = None
    if repro is not None:
        seed, plan, workload, operations = repro
        seeds = range(seed, seed + 1)
    elif args.seed is not None:
        seeds = range(args.seed, args.seed + 1)
    else:
        seeds = range(args.first_seed, args.first_seed + args.seeds)
    progress = _Progress(err, len(seeds))
    try:
        with progress:
            summary = run_chaos(
                topology,
                plan,
                workload,
                seeds,
                args.jobs,
                run_dir=args.out,
                progress=progress.step,
                shrink=not args.no_shrink and repro is None,
                operations=operations,
            )
    except (UnsupportedFault, MeshConfigError) as exc:
        print(f"mesh chaos: {exc}", file=err)
        return EXIT_INVALID
    _print_summary(summary, out)
    if summary.failing and len(seeds) > 1:
        # the command that replays the first failing seed alone (same files, its own dir)
        seed = min(summary.failing)
        options = [f"--plan {args.plan}"] if args.plan else []
        options += [f"--workload {args.workload}"] if args.workload else []
        command = " ".join(["mesh chaos", args.topology, *options, f"--seed {seed}"])
        print(f"replay: {command} --out {args.out}-seed-{seed}", file=out)
    return EXIT_OK if summary.ok else EXIT_CHECK_FAILED


def _load_repro(path: str) -> tuple[int, ChaosPlan, Workload, tuple[Operation, ...]]:
    """The seed, plan, workload and operations of a ``repro.json``; raises
    `ChaosPlanError` for a file that is not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return (
            int(data["seed"]),
            ChaosPlan.model_validate(data["plan"]),
            Workload.model_validate(data["workload"]),
            tuple(Operation.from_json(op) for op in data["operations"]),
        )
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        # pydantic's ValidationError is a ValueError
        issue = ConfigIssue((), f"not a chaos reproduction: {type(exc).__name__}: {exc}")
        raise ChaosPlanError(path, (issue,)) from None


class _Progress:
    """A progress bar (rich) or a plain ``seeds done`` line per tenth of the run."""

    def __init__(self, err: TextIO, total: int) -> None:
        self.err = err
        self.total = total
        self.done = 0
        self.failed = 0
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        console = _rich()
        if console is not None:
            import rich.progress

            self._bar = rich.progress.Progress(console=console.Console(file=self.err))
            self._bar.__enter__()
            self._task = self._bar.add_task("seeds", total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

    def step(self, outcome: SeedOutcome) -> None:
        self.done += 1
        self.failed += bool(outcome.failed)
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=f"seeds ({self.failed} failing)")
        elif self.done == self.total or self.done % max(1, self.total // 10) == 0:
            print(f"{self.done}/{self.total} seeds, {self.failed} failing", file=self.err)


def _print_summary(summary: ChaosSummary, out: TextIO) -> None:
    rows = [
        (name, summary.passed.get(name, 0), summary.failed.get(name, 0))
        for name in sorted(set(summary.passed) | set(summary.failed))
    ]
    console = _rich()
    if console is not None:
        import rich.table

        table = rich.table.Table(title=f"chaos: {summary.plan or 'no plan'}")
        for column in ("check", "passed", "failed"):
            table.add_column(column)
        for name, passed, failed in rows:
            table.add_row(name, str(passed), str(failed))
        console.Console(file=out, width=100).print(table)
    else:
        print(f"chaos: {summary.plan or 'no plan'}", file=out)
        print(f"{'check':<22}{'passed':>8}{'failed':>8}", file=out)
        for name, passed, failed in rows:
            print(f"{name:<22}{passed:>8}{failed:>8}", file=out)
    faults = ", ".join(f"{k} {v}" for k, v in sorted(summary.faults.items())) or "none"
    print(f"seeds: {len(summary.seeds)}; faults injected: {faults}", file=out)
    if summary.redundant:
        print(
            f"redundant deliveries refused by receipts (counted, not failed): {summary.redundant}",
            file=out,
        )
    if summary.failing:
        for seed, names in sorted(summary.failing.items()):
            shrunk = summary.shrunk.get(seed)
            extra = f" (shrunk to {shrunk} operations)" if shrunk is not None else ""
            print(f"seed {seed} failed: {', '.join(names)}{extra}", file=out)
    if summary.interrupted:
        print("interrupted: the seeds above are what was recorded", file=out)
    if summary.run_dir is not None:
        print(f"run directory: {summary.run_dir}", file=out)


def run_report_cli(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """``mesh report RUN_DIR [--out DIR]``: write the latency report; returns the exit
    status (0 written, 2 not a run directory or matplotlib missing)."""
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    if argv is None:
        _quiet_logs(err)
        argv = sys.argv[1:]
    parser = argparse.ArgumentParser(prog="mesh report", description="chaos latency report")
    parser.add_argument("run_dir", help="a directory written by mesh chaos")
    parser.add_argument("--out", help="where to write (default RUN_DIR/report)")
    args = _parse(parser, argv, out, err)
    if isinstance(args, int):
        return args
    try:
        files = write_report(Path(args.run_dir), args.out)
    except ReportUnavailable as exc:
        print(f"mesh report: {exc}", file=err)
        return EXIT_INVALID
    print(f"wrote {files.markdown}", file=out)
    print(f"wrote {files.html}", file=out)
    for plot in files.plots:
        print(f"wrote {plot}", file=out)
    return EXIT_OK
