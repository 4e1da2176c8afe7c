"""Demo: the Mesh Security seed topology, narrated step by step.

Run with ``make demo`` (or ``python -m examples.demo [--seed N]``). Four chains run in one
process in virtual time (``examples/topologies/demo.toml``: the seed topology with 5 s
blocks, one-minute epochs and a one-hour unbonding period): Osmosis provides security to
Juno and Stargaze, Akash provides to Juno, and Juno provides back to Osmosis. A few
simulated hours take a few seconds of wall time, and the same seed prints the same story.

1. Users bond collateral in their chain's vault.
2. They cross-stake it (one collateral backing two consumers at once); the packets are
   relayed, acknowledged, and the virtual stake appears on the consumers at their next epoch.
3. Rewards flow back: consumer epochs send them to the providers, a user claims hers.
4. A Juno validator double-signs: the slash reaches both of Juno's providers, and Osmosis's
   vault burns the excess of the other lien on Stargaze.
5. The Osmosis price on Stargaze halves: existing virtual stake stays, new stake is worth less.
6. A cross-stake is unstaked; an hour later its unbonding is released to the vault.
7. A summary: chains, channels, invariants.

The actor-runtime demo of earlier (a faulty network, supervision) is ``make demo-runtime``.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import structlog

from chains import ChainEvent, Mesh, MeshSnapshot, TxResult
from chains.mesh import render_table

TOPOLOGY = Path(__file__).resolve().parent / "topologies" / "demo.toml"

OSMOSIS, JUNO, STARGAZE, AKASH = "osmosis", "juno", "stargaze", "akash"

Echo = Callable[[str], object]


@dataclass
class DemoFigures:
    """The key figures of one run, for the test that keeps the demo from rotting.

    Amounts are in base units of the denom named in the comment; ``virtual_stake`` is keyed
    by ``"provider→consumer"``.
    """

    virtual_stake_after_staking: dict[str, int] = field(default_factory=dict)
    claimed_ustars: int = 0  # alice's rewards, withdrawn to her Stargaze address
    juno_val1_burned: int = 0  # ujuno burnt by the double-sign slash on Juno
    # provider → what its staker on juno-val1 lost, in provider tokens
    provider_slashes: dict[str, int] = field(default_factory=dict)
    stargaze_burn: int = 0  # ustars burnt on Stargaze by the vault's propagation
    alice_collateral_after_slash: int = 0  # uosmo
    juno_val1_view: dict[str, str] = field(default_factory=dict)  # provider → state
    virtual_stake_final: dict[str, int] = field(default_factory=dict)
    carol_lien_after_release: int = 0  # ujuno, once her unbonding is released
    packets_timed_out: int = 0
    invariant_violations: list[str] = field(default_factory=list)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A table of the narration (the `mesh` command's renderer, indented under the text)."""
    return render_table(headers, rows, indent="    ")


def _key(provider: str, consumer: str) -> str:
    return f"{provider}→{consumer}"


def chains_table(snapshot: MeshSnapshot) -> str:
    """Per chain: native bonded tokens, vault collateral, virtual stake received, caps,
    rewards held for the providers' stakers."""
    rows = []
    for chain in snapshot.chains:
        incoming = [p for p in snapshot.pairings if p.consumer == chain.id]
        rows.append(
            (
                chain.id,
                chain.denom,
                chain.bonded,
                chain.vault.collateral if chain.vault is not None else "-",
                sum(p.virtual_delegated for p in incoming) if incoming else "-",
                sum(p.max_cap for p in incoming) if incoming else "-",
                sum(p.rewards_reserve for p in incoming) if incoming else "-",
            )
        )
    return table(("chain", "denom", "stake", "collateral", "virtual stake", "cap", "rewards"), rows)


def pairings_table(snapshot: MeshSnapshot) -> str:
    """Per pairing: price, cross-stake (provider tokens), virtual stake and cap (consumer
    tokens), rewards held for the stakers, and the consumer validators the provider sees
    active."""
    return table(
        (
            "pairing",
            "price",
            "cross-staked",
            "virtual stake",
            "cap",
            "rewards",
            "validators",
        ),
        [
            (
                _key(p.provider, p.consumer),
                (p.price or "stale").rstrip("0").rstrip("."),
                p.cross_staked,
                p.virtual_delegated,
                p.max_cap,
                p.rewards_reserve,
                f"{p.active_validators}/{p.known_validators} active",
            )
            for p in snapshot.pairings
        ],
    )


def channels_table(snapshot: MeshSnapshot) -> str:
    """Per control channel end: packets sent, acknowledged, timed out, received."""
    ends: dict[tuple[str, str], tuple[str, str]] = {}
    for p in snapshot.pairings:
        ends[(p.consumer, p.consumer_channel)] = (_key(p.provider, p.consumer), "converter")
        ends[(p.provider, p.provider_channel)] = (_key(p.provider, p.consumer), "ext. staking")
    rows = []
    for c in snapshot.channels:
        pairing, role = ends.get((c.chain, c.channel_id), ("-", c.port_id))
        label = f"{c.channel_id} ({role})"
        rows.append((pairing, c.chain, label, c.state, c.sent, c.acked, c.timed_out, c.received))
    return table(
        ("pairing", "chain", "channel", "state", "sent", "acked", "timed out", "received"), rows
    )


def _attr(event: ChainEvent, key: str) -> str:
    return dict(event.attributes).get(key, "")


def _check(result: TxResult, what: str) -> TxResult:
    if not result.ok:
        raise RuntimeError(f"{what} failed: {result.error!r}")
    return result


async def main(seed: int = 7, *, echo: Echo = print) -> DemoFigures:
    """Run the demo, narrating through ``echo``; returns its key figures.

    Raises ``RuntimeError`` if a step the story relies on fails (the demo would be lying).
    """
    figures = DemoFigures()
    wall = time.perf_counter()

    def step(title: str) -> None:
        echo("")
        echo(title)

    def say(text: str) -> None:
        echo(f"  {text}")

    async with Mesh.from_topology(TOPOLOGY, seed=seed, check_invariants=True) as mesh:

        def clock() -> str:
            minutes, seconds = divmod(int(mesh.seconds), 60)
            hours, minutes = divmod(minutes, 60)
            return f"[t+{hours}h{minutes:02d}m{seconds:02d}s]"

        events = mesh.events()
        denoms = {chain.id: chain.denom for chain in mesh.topology.chains}
        echo(f"Mesh Security demo (seed {seed}): the seed topology, {len(mesh.chains())} chains")
        say("Osmosis provides to Juno and Stargaze, Akash to Juno, and Juno back to Osmosis.")
        say("Deployed in the spec's order (I-49): contracts, control channels, validator sync,")
        say("max caps set by governance. Virtual time: 5 s blocks, one-minute epochs.")
        echo(pairings_table(await mesh.snapshot()))

        step(f"1. {clock()} users bond collateral in their chain's vault")
        for chain, user, amount in (
            (OSMOSIS, "alice", 5_000_000),
            (AKASH, "dave", 10_000_000),
            (JUNO, "carol", 10_000_000),
        ):
            _check(await mesh.bond(chain, user, amount), f"{user} bonds")
            say(f"{user} bonds {amount:_} {denoms[chain]} on {chain}")

        step(f"2. {clock()} cross-staking (lien → packet → converter → virtual stake)")
        moves = (
            (OSMOSIS, JUNO, "alice", "juno-val1", 5_000_000),
            (OSMOSIS, STARGAZE, "alice", "stars-val1", 5_000_000),
            (AKASH, JUNO, "dave", "juno-val1", 3_000_000),
            (JUNO, OSMOSIS, "carol", "osmo-val1", 3_000_000),
        )
        for provider, consumer, user, validator, amount in moves:
            _check(
                await mesh.cross_stake(provider, consumer, user, validator, amount),
                f"{user} cross-stakes",
            )
            say(f"{user} cross-stakes {amount:_} from {provider} to {validator} on {consumer}")
        info = await mesh.stake(OSMOSIS, JUNO, "alice", "juno-val1")
        say(
            f"before relaying, alice's stake on juno-val1 is the range"
            f" [{info.stake.low:_}, {info.stake.high:_}] (I-65)"
        )
        say("alice's 5_000_000 of collateral backs both Juno and Stargaze: two liens (P-26)")
        await mesh.settle()
        info = await mesh.stake(OSMOSIS, JUNO, "alice", "juno-val1")
        say(
            f"{clock()} acks relayed back: committed at"
            f" [{info.stake.low:_}, {info.stake.high:_}] (I-51)"
        )
        await mesh.advance(seconds=65)
        say(f"{clock()} one epoch later the consumers delegate the virtual stake (C-56):")
        say("  price x (1 - discount): 0.5 x 0.9, 4 x 0.8, 1.5 x 0.75, 2 x 0.9 (C-69)")
        snapshot = await mesh.snapshot()
        figures.virtual_stake_after_staking = {
            _key(p.provider, p.consumer): p.virtual_delegated for p in snapshot.pairings
        }
        echo(pairings_table(snapshot))
        echo(chains_table(snapshot))

        step(f"3. {clock()} rewards flow: consumer epochs → distribute packets → providers")
        await mesh.advance(seconds=600)
        await mesh.settle()
        rewards = await mesh.rewards(OSMOSIS, STARGAZE, "alice")
        say(f"{clock()} ten epochs later alice may withdraw {rewards['stars-val1']:_} ustars")
        echo(pairings_table(await mesh.snapshot()))
        before = await mesh.balance(STARGAZE, "alice")
        _check(await mesh.claim_rewards(OSMOSIS, STARGAZE, "alice", "stars-val1"), "alice claims")
        await mesh.settle()
        figures.claimed_ustars = await mesh.balance(STARGAZE, "alice") - before
        say(f"{clock()} she claims them: a transfer packet later her Stargaze address holds")
        say(f"  {figures.claimed_ustars:_} ustars (I-54)")

        step(f"4. {clock()} juno-val1 double-signs on Juno")
        events.drain()
        stakes_before = {
            provider: (await mesh.stake(provider, JUNO, user, "juno-val1")).stake.low
            for provider, user in ((OSMOSIS, "alice"), (AKASH, "dave"))
        }
        result = _check(await mesh.misbehave(JUNO, "juno-val1", "double_sign"), "double sign")
        figures.juno_val1_burned = int(result.data)
        say(
            f"Juno burns 10 % of its tokens ({figures.juno_val1_burned:_} ujuno), jails and"
            " tombstones it (C-36)"
        )
        await mesh.advance(seconds=10)
        await mesh.settle()
        seen = events.drain()
        for event in seen:
            if event.type == "mesh-burn" and event.chain_id == STARGAZE:
                figures.stargaze_burn += int(_attr(event, "amount") or 0)
        say(f"{clock()} valset updates carry the slash to both providers (I-88, I-89):")
        account = await mesh.collateral(OSMOSIS, "alice")
        figures.alice_collateral_after_slash = account.bonded
        for provider, user in ((OSMOSIS, "alice"), (AKASH, "dave")):
            info = await mesh.stake(provider, JUNO, user, "juno-val1")
            figures.provider_slashes[provider] = stakes_before[provider] - info.stake.low
            view = (await mesh.provider_view(provider, JUNO))["juno-val1"]
            figures.juno_val1_view[provider] = view
            say(
                f"  {provider}: {user} loses {figures.provider_slashes.get(provider, 0):_}"
                f" {denoms[provider]} (stake now {info.stake.low:_}); juno-val1 is {view} (I-73)"
            )
        other = await mesh.stake(OSMOSIS, STARGAZE, "alice", "stars-val1")
        say(f"  alice's collateral fell to {account.bonded:_} uosmo, below her Stargaze lien:")
        say("  the vault burns the excess (I-91)")
        say(
            f"  and Stargaze burns {figures.stargaze_burn:_} ustars of virtual stake (I-92);"
            f" her stake there: {other.stake.low:_}"
        )
        await mesh.advance(seconds=65)
        say(f"{clock()} next epoch: Juno undelegates the virtual stake of juno-val1 (I-93)")
        echo(pairings_table(await mesh.snapshot()))

        step(f"5. {clock()} the price of OSMO on Stargaze drops from 4 to 2 ustars per uosmo")
        _check(await mesh.move_price(OSMOSIS, STARGAZE, "2"), "price move")
        _check(await mesh.bond(OSMOSIS, "bob", 2_000_000), "bob bonds")
        _check(
            await mesh.cross_stake(OSMOSIS, STARGAZE, "bob", "stars-val2", 2_000_000),
            "bob cross-stakes",
        )
        await mesh.settle()
        await mesh.advance(seconds=65)
        bob = await mesh.virtual_delegation(OSMOSIS, STARGAZE, "stars-val2")
        alice = await mesh.virtual_delegation(OSMOSIS, STARGAZE, "stars-val1")
        say("bob bonds and cross-stakes 2_000_000 uosmo to stars-val2")
        say(f"{clock()} his virtual stake: {bob:_} ustars (2_000_000 x 2 x 0.8); alice's")
        say(f"  keeps its value, {alice:_} ustars (C-70)")
        echo(pairings_table(await mesh.snapshot()))

        step(f"6. {clock()} carol unstakes from osmo-val1; unbonding takes an hour (I-52)")
        _check(await mesh.unstake(JUNO, OSMOSIS, "carol", "osmo-val1", 1_000_000), "unstake")
        await mesh.settle()
        info = await mesh.stake(JUNO, OSMOSIS, "carol", "osmo-val1")
        say(
            f"{clock()} acked: stake {info.stake.low:_}, {info.pending_unbonds[0].amount:_}"
            " unbonding; her lien stays until it is released"
        )
        await mesh.advance(hours=1)
        _check(await mesh.withdraw_unbonded(JUNO, OSMOSIS, "carol"), "withdraw unbonded")
        account = await mesh.collateral(JUNO, "carol")
        figures.carol_lien_after_release = account.max_lien.high
        say(
            f"{clock()} released (P-70): her lien is {account.max_lien.high:_} ujuno,"
            f" {account.free.low:_} of her collateral free"
        )
        snapshot = await mesh.snapshot()
        echo(pairings_table(snapshot))

        step(f"7. {clock()} summary")
        await mesh.settle()
        snapshot = await mesh.snapshot(invariants=True)
        figures.virtual_stake_final = {
            _key(p.provider, p.consumer): p.virtual_delegated for p in snapshot.pairings
        }
        figures.packets_timed_out = sum(c.timed_out for c in snapshot.channels)
        figures.invariant_violations = list(snapshot.invariant_violations)
        figures.invariant_violations += await mesh.check_invariants(quiescent=True)
        echo(chains_table(snapshot))
        echo(channels_table(snapshot))
        say("rewards: what the consumer holds for the providers' stakers (I-82)")
        say(
            f"{snapshot.seconds / 3_600:.1f} simulated hours,"
            f" {sum(c.height for c in snapshot.chains):_} blocks on 4 chains,"
            f" {sum(c.sent for c in snapshot.channels):_} packets,"
            f" {figures.packets_timed_out} timed out"
        )
        if figures.invariant_violations:
            say("invariants VIOLATED:")
            for violation in figures.invariant_violations:
                say(f"  {violation}")
        else:
            say("every invariant holds: vault, cap, supply after every block; both sides'")
            say("views of every delegation at quiescence (I-64..I-69)")
    say(f"wall time {time.perf_counter() - wall:.1f} s")
    return figures


def run() -> None:
    """The ``python -m examples.demo`` entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    # The demo narrates on its own; the chains' and relayers' logs would drown it.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    anyio.run(main, args.seed)


if __name__ == "__main__":
    run()
