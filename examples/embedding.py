"""Embedding a `Mesh` in an async application (the README's "Embedding a Mesh").

Run with ``python -m examples.embedding`` (asyncio and trio, one after the other). It
starts Osmosis → Juno in-process on a virtual clock, with a relayer whose links to the
chains drop 20% of messages and delay the rest by 0.5 s; bonds and cross-stakes, awaits
each cross-stake's fate through its handle (decided by the ack or timeout of its packet,
I-51, P-65/P-66), cuts the relayer off for a while, reads a snapshot, and shuts down (also
cleanly if cancelled at any point).
"""

from __future__ import annotations

import anyio

from chains import InvalidArgument, Mesh, parse_topology, render_snapshot

TOPOLOGY = """
name = "embedding"

[[chains]]
id = "osmosis"
prefix = "osmo"
denom = "uosmo"
block_time = 5
validators = [{ name = "val1", tokens = 10_000_000 }]
accounts = [{ name = "alice", balance = 1_000_000_000 }]

[[chains]]
id = "juno"
prefix = "juno"
denom = "ujuno"
block_time = 5
epoch_blocks = 12
validators = [
  { name = "val1", tokens = 10_000_000 },
  { name = "val2", tokens = 10_000_000 },
]

[[pairings]]
provider = "osmosis"
consumer = "juno"
discount = "0.1"
max_cap = 100_000_000
unbonding_period = 3_600
price_feed = { kind = "simple", price = "0.5" }

[[relayers]]
chains = ["osmosis", "juno"]
faults = { drop = 0.2, delay = 0.5 }   # between the relayer and both chains, both ways
"""


async def embed(*, seed: int = 7) -> dict[str, object]:
    """Run the embedding tour once; returns what it found (the tests check it)."""
    topology = parse_topology(TOPOLOGY, "embedding.toml")
    async with Mesh.from_topology(topology, seed=seed) as mesh:
        assert (await mesh.bond("osmosis", "alice", 1_000_000)).ok

        # a cross-stake commits on Osmosis at once (a pending transaction); its handle
        # settles when the packet's ack (or timeout) comes back, whatever the faults did
        stake = await mesh.cross_stake("osmosis", "juno", "alice", "val1", 200_000)
        assert stake.ok, stake.error
        first = await stake.settled()

        # the relayer is cut off from Juno: the next stake waits, then times out or goes
        # through once healed; either way the handle says which
        relayer = mesh.link("osmosis", "juno").systems[0]
        mesh.network.partition(relayer, "juno")
        second = await mesh.cross_stake("osmosis", "juno", "alice", "val2", 100_000)
        await mesh.advance(seconds=120)
        mesh.network.heal(relayer, "juno")
        with mesh.clock.fail_after(3_600):  # an hour of virtual time at most
            then = await second

        # bad arguments are named errors, not pydantic's
        try:
            await mesh.bond("osmosis", "alice", -5)
        except InvalidArgument as error:
            refused = error.detail

        await mesh.advance(hours=1)
        snapshot = await mesh.snapshot(invariants=True)
        table = render_snapshot(snapshot)
    # leaving the block stopped the relayers, the chains, their actor systems, the network
    return {
        "first": first,
        "second": then,
        "refused": refused,
        "snapshot": snapshot,
        "table": table,
    }


async def main() -> None:
    found = await embed()
    # the one place an example prints: it is the program's output
    print(f"first stake: {found['first']}, second stake: {found['second']}")
    print(f"bond(-5) refused: {found['refused']}")
    print(found["table"])


if __name__ == "__main__":
    for backend in ("asyncio", "trio"):
        anyio.run(main, backend=backend)
