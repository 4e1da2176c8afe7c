"""Failure injection and latency testing (issue 17): fault plans, workloads, histories,
checkers, the seed runner and latency reports.

A chaos run plays a `ChaosPlan` (faults per link and time window, crashes, partitions) and
a seeded `Workload` of users' operations against fresh meshes in virtual time, one per
seed, records every operation (Jepsen style) and every packet's life, and judges the
histories with `CHECKERS`; `run_chaos` runs many seeds across processes, `run_chaos_cli`
and `run_report_cli` are the ``mesh chaos`` and ``mesh report`` commands."""
