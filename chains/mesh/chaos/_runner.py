"""Running many seeds: worker processes, shrinking, the run directory and its summary.

`run_chaos` runs each seed with `run_seed` (in this process for ``jobs=1``, else across a
``ProcessPoolExecutor`` of ``jobs`` workers; a seed's histories are the same either way),
judges it with the checkers, shrinks a failing seed's workload (drops operations while the
same checks keep failing), and writes everything under ``run_dir``::

    run_dir/
      summary.json              plan, workload, seeds, faults by kind, checks, failing seeds
      latency.jsonl             every flow latency sample (seed, op, seconds, blocks)
      seeds/<seed>/history.jsonl   operations (invoke/ok/fail/info)
      seeds/<seed>/history.edn     the same for Jepsen's Elle
      seeds/<seed>/packets.jsonl   every packet's life
      seeds/<seed>/record.json     the seed's summary and check results
      seeds/<seed>/repro.json      failing seeds: seed, plan, workload, shrunk operations

Ctrl-C (``KeyboardInterrupt``) stops the run: seeds already finished stay written and the
summary says ``interrupted``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from chains.mesh._topology import Topology
from chains.mesh.chaos._checks import CHECKERS, run_checkers
from chains.mesh.chaos._latency import LatencySample, LatencyTable, latency_samples
from chains.mesh.chaos._plan import ChaosPlan, check_plan_supported
from chains.mesh.chaos._seed import Sabotage, run_seed
from chains.mesh.chaos._workload import Operation, Workload, generate_operations

__all__ = ["ChaosSummary", "SeedOutcome", "replay_seed", "run_chaos", "shrink_operations"]

_MAX_SHRINK_RUNS = 40


@dataclass
class SeedOutcome:
    """What one seed produced, as plain data (it crosses process boundaries)."""

    seed: int
    checks: dict[str, list[str]]
    faults: dict[str, int]
    operations_jsonl: str
    packets_jsonl: str
    edn: str
    record: dict[str, Any]
    latencies: list[LatencySample]
    shrunk: list[Operation] | None = None
    timeline: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        """The names of the checks that failed."""
        return [name for name, found in self.checks.items() if found]


@dataclass
class ChaosSummary:
    """The outcome of a run: per check how many seeds held and failed, faults injected by
    kind, the failing seeds (with their shrunk workloads), latencies per flow."""

    plan: str
    seeds: list[int] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=dict)
    passed: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    failing: dict[int, list[str]] = field(default_factory=dict)
    shrunk: dict[int, int] = field(default_factory=dict)
    latency: LatencyTable = field(default_factory=LatencyTable)
    interrupted: bool = False
    run_dir: Path | None = None
    # deliveries the chains refused as redundant (receipts, I-25): counted, never failed
    redundant: int = 0

    @property
    def ok(self) -> bool:
        """Every check held for every seed (and the run was not interrupted)."""
        return not self.failing and not self.interrupted

    def add(self, outcome: SeedOutcome) -> None:
        """Account for one seed."""
        self.seeds.append(outcome.seed)
        for kind, n in outcome.faults.items():
            self.faults[kind] = self.faults.get(kind, 0) + n
        self.redundant += int(outcome.record.get("redundant_deliveries", 0))
        for name, found in outcome.checks.items():
            bucket = self.failed if found else self.passed
            bucket[name] = bucket.get(name, 0) + 1
            (self.passed if found else self.failed).setdefault(name, 0)
        if outcome.failed:
            self.failing[outcome.seed] = outcome.failed
            if outcome.shrunk is not None:
                self.shrunk[outcome.seed] = len(outcome.shrunk)
        for sample in outcome.latencies:
            self.latency.record(sample)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (written as ``summary.json``)."""
        return {
            "plan": self.plan,
            "seeds": len(self.seeds),
            "faults": dict(sorted(self.faults.items())),
            "redundant_deliveries": self.redundant,
            "checks": {
                name: {"passed": self.passed.get(name, 0), "failed": self.failed.get(name, 0)}
                for name in CHECKERS
            },
            "failing_seeds": {str(s): names for s, names in sorted(self.failing.items())},
            "shrunk_operations": {str(s): n for s, n in sorted(self.shrunk.items())},
            "interrupted": self.interrupted,
        }


def _timeline(plan: ChaosPlan) -> list[dict[str, Any]]:
    out = []
    for fault in plan.faults:
        start, end = fault.window()
        out.append({"kind": fault.kind, "start": start, "end": end})
    return out


async def _judge(
    topology: Topology,
    plan: ChaosPlan,
    workload: Workload,
    seed: int,
    operations: tuple[Operation, ...] | None,
    sabotage: Sabotage | None,
) -> tuple[Any, dict[str, list[str]]]:
    record = await run_seed(
        topology, plan, workload, seed, operations=operations, sabotage=sabotage
    )
    return record, run_checkers(record)


def shrink_operations(
    topology: Topology,
    plan: ChaosPlan,
    workload: Workload,
    seed: int,
    operations: tuple[Operation, ...],
    failing: list[str],
    *,
    sabotage: Sabotage | None = None,
    max_runs: int = _MAX_SHRINK_RUNS,
) -> tuple[Operation, ...]:
    """A smaller list of ``operations`` under which one of the ``failing`` checks still
    fails for ``seed``: chunks of halving size are dropped while the failure persists
    (at most ``max_runs`` reruns). Blocking: runs meshes on its own event loop."""
    current = operations
    chunk = max(1, len(current) // 2)
    runs = 0
    while chunk >= 1 and runs < max_runs:
        i = 0
        while i < len(current) and runs < max_runs:
            candidate = current[:i] + current[i + chunk :]
            runs += 1
            _, checks = anyio.run(_judge, topology, plan, workload, seed, candidate, sabotage)
            if any(checks.get(name) for name in failing):
                current = candidate
            else:
                i += chunk
        if chunk == 1:
            break
        chunk //= 2
    return current


def replay_seed(
    topology: Topology,
    plan: ChaosPlan,
    workload: Workload,
    seed: int,
    *,
    operations: tuple[Operation, ...] | None = None,
    sabotage: Sabotage | None = None,
    shrink: bool = True,
    histories: bool = True,
) -> SeedOutcome:
    """Run, judge and (if a check fails and ``shrink``) shrink one seed. Blocking; the same
    seed gives byte-identical histories. ``histories=False`` leaves the outcome's history
    texts empty (a run that writes no files need not serialise them). Raises what
    `run_seed` raises."""
    record, checks = anyio.run(_judge, topology, plan, workload, seed, operations, sabotage)
    history = record.history
    outcome = SeedOutcome(
        seed=seed,
        checks=checks,
        faults=dict(sorted(record.faults.items())),
        operations_jsonl=history.operations_jsonl() if histories else "",
        packets_jsonl=history.packets_jsonl() if histories else "",
        edn=history.edn() if histories else "",
        record=record.to_json(),
        latencies=latency_samples(record),
        timeline=_timeline(plan),
    )
    if outcome.failed and shrink:
        outcome.shrunk = list(
            shrink_operations(
                topology,
                plan,
                workload,
                seed,
                record.operations,
                outcome.failed,
                sabotage=sabotage,
            )
        )
    return outcome


def _write_seed(run_dir: Path, outcome: SeedOutcome, plan: ChaosPlan, workload: Workload) -> None:
    where = run_dir / "seeds" / str(outcome.seed)
    where.mkdir(parents=True, exist_ok=True)
    (where / "history.jsonl").write_text(outcome.operations_jsonl, encoding="utf-8")
    (where / "history.edn").write_text(outcome.edn, encoding="utf-8")
    (where / "packets.jsonl").write_text(outcome.packets_jsonl, encoding="utf-8")
    record = {**outcome.record, "checks": outcome.checks, "timeline": outcome.timeline}
    (where / "record.json").write_text(json.dumps(record, indent=1, sort_keys=True), "utf-8")
    if outcome.failed:
        repro = {
            "seed": outcome.seed,
            "failed": outcome.failed,
            "plan": plan.model_dump(mode="json"),
            "workload": workload.model_dump(mode="json"),
            "operations": [op.to_json() for op in outcome.shrunk or []],
        }
        (where / "repro.json").write_text(json.dumps(repro, indent=1), encoding="utf-8")
    with (run_dir / "latency.jsonl").open("a", encoding="utf-8") as out:
        for sample in outcome.latencies:
            out.write(json.dumps(sample.to_json(), sort_keys=True) + "\n")


def run_chaos(
    topology: Topology,
    plan: ChaosPlan,
    workload: Workload,
    seeds: Iterable[int],
    jobs: int = 1,
    *,
    run_dir: str | Path | None = None,
    progress: Callable[[SeedOutcome], None] | None = None,
    sabotage: Sabotage | None = None,
    shrink: bool = True,
    operations: tuple[Operation, ...] | None = None,
) -> ChaosSummary:
    """Run every seed of ``seeds`` (see the module docstring) and return the summary.

    ``jobs`` worker processes (1: this process); ``progress`` is called in this process
    after each seed; ``sabotage`` (a picklable coroutine function with ``jobs > 1``)
    breaks a component in every seed's mesh; ``operations`` replaces the workload's
    generated operations in every seed (a shrunk reproduction's, ``repro.json``).
    Raises `UnsupportedFault` / `ChaosPlanError` / `WorkloadError` before running
    anything for a plan or workload that cannot run.
    Blocking; on ``KeyboardInterrupt`` it returns the summary of the finished seeds with
    ``interrupted`` set.
    """
    check_plan_supported(plan, topology)
    generate_operations(topology, workload, 0)  # raises WorkloadError early
    summary = ChaosSummary(plan=plan.name)
    out_dir = Path(run_dir) if run_dir is not None else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "latency.jsonl").write_text("", encoding="utf-8")
        summary.run_dir = out_dir
    chosen = list(seeds)
    histories = out_dir is not None  # serialised only to be written

    def done(outcome: SeedOutcome) -> None:
        summary.add(outcome)
        if out_dir is not None:
            _write_seed(out_dir, outcome, plan, workload)
        if progress is not None:
            progress(outcome)

    try:
        if jobs <= 1:
            for seed in chosen:
                done(
                    replay_seed(
                        topology,
                        plan,
                        workload,
                        seed,
                        operations=operations,
                        sabotage=sabotage,
                        shrink=shrink,
                        histories=histories,
                    )
                )
        else:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                futures = [
                    pool.submit(
                        replay_seed,
                        topology,
                        plan,
                        workload,
                        seed,
                        operations=operations,
                        sabotage=sabotage,
                        shrink=shrink,
                        histories=histories,
                    )
                    for seed in chosen
                ]
                try:
                    for future in as_completed(futures):
                        done(future.result())
                except BaseException:
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
    except (KeyboardInterrupt, BrokenProcessPool):
        summary.interrupted = True
    if out_dir is not None:
        data = {
            **summary.to_json(),
            "plan_spec": plan.model_dump(mode="json"),
            "workload": workload.model_dump(mode="json"),
            "topology": topology.name,
        }
        (out_dir / "summary.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    return summary
