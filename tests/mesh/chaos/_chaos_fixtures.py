"""A small topology, a mixed fault plan and a short workload for the chaos tests.

Osmosis (provider, one validator, users alice and bob) secures Juno (consumer, one
validator, rewards every block), epochs every 6 blocks of 5 s, a 10-minute unbonding
period (so unstaked tokens can be withdrawn within a run), one relayer.
"""

from __future__ import annotations

from chains import parse_topology
from chains.mesh import ChaosPlan, OperationMix, Workload, parse_chaos_plan

TOPOLOGY_TEXT = """
name = "chaos-small"

[[chains]]
id = "osmosis"
prefix = "osmo"
denom = "uosmo"
block_time = 5
validators = [{ name = "val1", tokens = 10_000_000, commission = "0.05" }]
accounts = [
  { name = "alice", balance = 1_000_000_000 },
  { name = "bob", balance = 1_000_000_000 },
]

[[chains]]
id = "juno"
prefix = "juno"
denom = "ujuno"
block_time = 5
block_provision = 1_000_000
epoch_blocks = 6
validators = [{ name = "val1", tokens = 10_000_000, commission = "0.1" }]

[[pairings]]
provider = "osmosis"
consumer = "juno"
discount = "0.1"
max_cap = 100_000_000
unbonding_period = 600
price_feed = { kind = "simple", price = "0.5" }
"""

PLAN_TEXT = """
name = "mixed"

[[faults]]
kind = "link"
chains = ["juno", "osmosis"]
start = 20
end = 200
drop = 0.1
duplicate = 0.05
reorder = 0.05
delay = { uniform = [0.5, 3.0] }

[[faults]]
kind = "partition"
chains = ["juno", "osmosis"]
side = "juno"
start = 90
end = 150

[[faults]]
kind = "relayer_crash"
chains = ["juno", "osmosis"]
at = 160
restart = 220
"""

TOPOLOGY = parse_topology(TOPOLOGY_TEXT)
PLAN: ChaosPlan = parse_chaos_plan(PLAN_TEXT, "mixed.toml")

# bonds first in weight so that stakes find collateral; no validator faults (one validator)
MIX = OperationMix(
    bond=4.0,
    unbond=0.3,
    stake_local=0.5,
    cross_stake=4.0,
    unstake=2.0,
    withdraw_unbonded=1.0,
    claim_rewards=1.0,
    move_price=0.3,
    set_max_cap=0.2,
)
WORKLOAD = Workload(duration=300.0, rate=120.0, amount=(10_000, 100_000), mix=MIX)
