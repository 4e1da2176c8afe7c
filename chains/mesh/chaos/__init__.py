"""Failure injection and latency testing (issue 17): fault plans, workloads, histories,
checkers, the seed runner and latency reports.

A chaos run plays a `ChaosPlan` (faults per link and time window, crashes, partitions) and
a seeded `Workload` of users' operations against fresh meshes in virtual time, one per
seed, records every operation (Jepsen style) and every packet's life, and judges the
histories with `CHECKERS`; `run_chaos` runs many seeds across processes, `run_chaos_cli`
and `run_report_cli` are the ``mesh chaos`` and ``mesh report`` commands."""

from __future__ import annotations

from chains.mesh.chaos._checks import (
    CHECKERS,
    Checker,
    run_checkers,
)
from chains.mesh.chaos._cli import (
    run_chaos_cli,
    run_report_cli,
)
from chains.mesh.chaos._errors import (
    ChaosPlanError,
    UnsupportedFault,
    WorkloadError,
)
from chains.mesh.chaos._figures import (
    ReportFiles,
    ReportUnavailable,
    write_report,
)
from chains.mesh.chaos._history import (
    History,
    HistoryEntry,
    PacketLife,
    to_edn,
)
from chains.mesh.chaos._latency import (
    FLOWS,
    PERCENTILES,
    LatencySample,
    LatencyTable,
    latency_samples,
)
from chains.mesh.chaos._plan import (
    ChainCrash,
    ChainHalt,
    ChaosPlan,
    ClockSkew,
    CompetingRelayers,
    Fault,
    LinkFaultWindow,
    PartitionWindow,
    RelayerCrash,
    RelayerLag,
    check_plan_supported,
    load_chaos_plan,
    parse_chaos_plan,
    plan_issues,
)
from chains.mesh.chaos._record import (
    CapSample,
    LostBlock,
    RelayerAnswer,
    SeedRecord,
    Withdrawal,
)
from chains.mesh.chaos._runner import (
    ChaosSummary,
    SeedOutcome,
    replay_seed,
    run_chaos,
    shrink_operations,
)
from chains.mesh.chaos._seed import (
    Sabotage,
    run_seed,
)
from chains.mesh.chaos._workload import (
    OPERATION_KINDS,
    Operation,
    OperationMix,
    Workload,
    generate_operations,
    load_workload,
    parse_workload,
)

__all__ = [
    "CHECKERS",
    "CapSample",
    "ChainCrash",
    "ChainHalt",
    "ChaosPlan",
    "ChaosPlanError",
    "ChaosSummary",
    "Checker",
    "ClockSkew",
    "CompetingRelayers",
    "FLOWS",
    "Fault",
    "History",
    "HistoryEntry",
    "LatencySample",
    "LatencyTable",
    "LinkFaultWindow",
    "LostBlock",
    "OPERATION_KINDS",
    "Operation",
    "OperationMix",
    "PERCENTILES",
    "PacketLife",
    "PartitionWindow",
    "RelayerAnswer",
    "RelayerCrash",
    "RelayerLag",
    "ReportFiles",
    "ReportUnavailable",
    "Sabotage",
    "SeedOutcome",
    "SeedRecord",
    "UnsupportedFault",
    "Withdrawal",
    "Workload",
    "WorkloadError",
    "check_plan_supported",
    "generate_operations",
    "latency_samples",
    "load_chaos_plan",
    "load_workload",
    "parse_chaos_plan",
    "parse_workload",
    "plan_issues",
    "replay_seed",
    "run_chaos",
    "run_chaos_cli",
    "run_checkers",
    "run_report_cli",
    "run_seed",
    "shrink_operations",
    "to_edn",
    "write_report",
]
