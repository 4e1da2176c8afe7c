"""Topology texts for the mesh tests.

``SMALL``: Osmosis (provider) → Juno (consumer), price 0.5 JUNO per OSMO, discount 0.1 (so
200_000 uosmo become 90_000 ujuno of virtual stake, C-69), epochs every 12 blocks of 5 s,
unbonding period one hour, consumer slash fractions 0.1 (the e2e profile of C-13).

`topology` gives every relayer the stress clearing period ``STRESS_CLEAR`` unless the test
sets one: the tests count on lost packets being cleared within seconds, not within Hermes'
default 100 blocks.
"""

from __future__ import annotations

from pathlib import Path

from chains import RelayerSpec, Topology, parse_topology

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

CHAIN_OSMOSIS = """
[[chains]]
id = "osmosis"
prefix = "osmo"
denom = "uosmo"
block_time = 5
validators = [
  { name = "val1", tokens = 10_000_000, commission = "0.05" },
  { name = "val2", tokens = 10_000_000, commission = "0.05" },
]
accounts = [
  { name = "alice", balance = 1_000_000_000 },
  { name = "bob", balance = 1_000_000_000 },
]
"""

CHAIN_JUNO = """
[[chains]]
id = "juno"
prefix = "juno"
denom = "ujuno"
block_time = 5
block_provision = 1_000_000
epoch_blocks = 12
slash_fraction_double_sign = "0.1"
slash_fraction_downtime = "0.1"
validators = [
  { name = "val1", tokens = 10_000_000, commission = "0.1" },
  { name = "val2", tokens = 10_000_000, commission = "0.1" },
  { name = "val3", tokens = 10_000_000, commission = "0.1" },
]
accounts = [{ name = "carol", balance = 1_000_000_000 }]
"""

CHAIN_STARGAZE = """
[[chains]]
id = "stargaze"
prefix = "stars"
denom = "ustars"
block_time = 5
block_provision = 1_000_000
epoch_blocks = 12
validators = [
  { name = "val1", tokens = 10_000_000 },
  { name = "val2", tokens = 10_000_000 },
]
"""


def pairing(provider: str, consumer: str, price: str = "0.5", max_cap: int = 100_000_000) -> str:
    return f"""
[[pairings]]
provider = "{provider}"
consumer = "{consumer}"
discount = "0.1"
max_cap = {max_cap}
unbonding_period = 3_600
price_feed = {{ kind = "simple", price = "{price}" }}
"""


SMALL = 'name = "small"\n' + CHAIN_OSMOSIS + CHAIN_JUNO + pairing("osmosis", "juno")

ONE_TO_TWO = (
    'name = "one provider, two consumers"\n'
    + CHAIN_OSMOSIS
    + CHAIN_JUNO
    + CHAIN_STARGAZE
    + pairing("osmosis", "juno")
    + pairing("osmosis", "stargaze", price="2")
)

MUTUAL = (
    'name = "osmosis and juno secure each other"\n'
    + CHAIN_OSMOSIS.replace("block_time = 5\n", "block_time = 5\nepoch_blocks = 12\n")
    + CHAIN_JUNO
    + pairing("osmosis", "juno")
    + pairing("juno", "osmosis", price="2")
)


STRESS_CLEAR = 10.0
"""The relayers' clearing period of the test topologies, in seconds (the stress profile)."""


def topology(text: str, **relayers: object) -> Topology:
    """Parse ``text``; ``relayers`` (if any) become one ``[[relayers]]`` entry. Every relayer
    without a clearing period gets ``STRESS_CLEAR`` seconds (one ``[[relayers]]`` entry is
    added for each linked pair that has none)."""
    if relayers:
        lines = ["", "[[relayers]]"]
        for key, value in relayers.items():
            lines.append(f"{key} = {value}")
        text += "\n".join(lines) + "\n"
    parsed = parse_topology(text, "test.toml")
    given = {frozenset(r.chains) for r in parsed.relayers}
    specs = tuple(
        r
        if "clear_interval" in r.model_fields_set or "clear_blocks" in r.model_fields_set
        else r.model_copy(update={"clear_interval": STRESS_CLEAR})
        for r in parsed.relayers
    ) + tuple(
        RelayerSpec(chains=pair, clear_interval=STRESS_CLEAR)
        for pair in parsed.links()
        if frozenset(pair) not in given
    )
    return parsed.model_copy(update={"relayers": specs})
