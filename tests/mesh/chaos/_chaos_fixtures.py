"""The chaos tests' mesh, plan and workload: the files of ``examples/chaos``.

Osmosis (provider, one validator, users alice and bob) secures Juno (consumer, one
validator, rewards every block), epochs every 6 blocks of 5 s, a 10-minute unbonding
period (so unstaked tokens can be withdrawn within a run), one relayer; the mixed plan
(lossy link window, partition, relayer crash); five minutes of operations. ``NODES`` is the
node-level plan (competing relayers, clock skew, chain halt, relayer crash, chain crash).
"""

from __future__ import annotations

from pathlib import Path

from chains import parse_topology
from chains.mesh import ChaosPlan, Workload, parse_chaos_plan, parse_workload

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "chaos"
TOPOLOGY_TEXT = (EXAMPLES / "small.toml").read_text(encoding="utf-8")
PLAN_TEXT = (EXAMPLES / "mixed.toml").read_text(encoding="utf-8")
WORKLOAD_TEXT = (EXAMPLES / "workload.toml").read_text(encoding="utf-8")
NODES_TEXT = (EXAMPLES / "nodes.toml").read_text(encoding="utf-8")

TOPOLOGY = parse_topology(TOPOLOGY_TEXT)
PLAN: ChaosPlan = parse_chaos_plan(PLAN_TEXT, "mixed.toml")
WORKLOAD: Workload = parse_workload(WORKLOAD_TEXT, "workload.toml")
NODES: ChaosPlan = parse_chaos_plan(NODES_TEXT, "nodes.toml")
