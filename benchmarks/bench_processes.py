"""Cross-stake latency through a mesh of OS processes over TCP, with 1 s blocks.

Osmosis → Juno, each chain its own ``mesh node`` process (durable SQLite state), one
``mesh relayer`` process, on loopback; a client (`chains.mesh.RemoteMesh`) in this process
signs each cross-stake with alice's key. Latency is from the user's call (before signing)
to the ack committed on the provider: external staking's stake range collapsed to the new
amount (I-51), seen by polling every 20 ms (so up to 20 ms plus one query round trip is
included). The block time is printed beside it: the floor, since the packet, its receipt
and its ack each wait for a block to end before the next chain can prove them (I-2).

Run with ``python -m benchmarks processes`` (about a minute: genesis, three processes,
``SAMPLES`` cross-stakes one after the other). With so few samples p99 is the maximum.
"""

from __future__ import annotations

import os
import secrets
import socket
import statistics
import tempfile
import time
from pathlib import Path

import anyio

from benchmarks._report import Report
from chains import load_topology
from chains.mesh import MeshProcesses, RemoteMesh, run_genesis

BLOCK_TIME = 1.0
SAMPLES = 20
POLL = 0.02
SECRET_ENV = "MESH_BENCH_SECRET"

_TOPOLOGY = """
name = "bench: processes over tcp"

[network]
transport = "tcp"
secret_env = "{secret_env}"

[[chains]]
id = "osmosis"
prefix = "osmo"
denom = "uosmo"
block_time = {block_time}
address = "127.0.0.1:{osmosis}"
validators = [{{ name = "val1", tokens = 10_000_000 }}]
accounts = [{{ name = "alice", balance = 1_000_000_000 }}]

[[chains]]
id = "juno"
prefix = "juno"
denom = "ujuno"
block_time = {block_time}
address = "127.0.0.1:{juno}"
epoch_blocks = 10
validators = [{{ name = "val1", tokens = 10_000_000 }}]

[[pairings]]
provider = "osmosis"
consumer = "juno"
discount = "0.1"
max_cap = 1_000_000_000
unbonding_period = 3_600
price_feed = {{ kind = "simple", price = "0.5" }}

[[relayers]]
chains = ["osmosis", "juno"]
count = 1
clear_interval = 10
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _latencies(topology_file: Path, data: Path) -> list[float]:
    samples: list[float] = []
    async with RemoteMesh.connect(topology_file, data) as remote:
        await remote.wait_ready()
        bonded = await remote.bond("osmosis", "alice", 100_000_000)
        assert bonded.ok, bonded
        total = 0
        # one warm-up: the relayer subscribes to the chains' packet notices once it reaches
        # them; until then it finds packets only at its periodic clears (every 10 s here)
        for index in range(SAMPLES + 1):
            total += 10_000
            started = time.perf_counter()
            result = await remote.cross_stake("osmosis", "juno", "alice", "val1", 10_000)
            assert result.ok, result
            while True:
                stake = (await remote.stake("osmosis", "juno", "alice", "val1")).stake
                if stake.low == stake.high == total:
                    break
                await anyio.sleep(POLL)
            if index:
                samples.append(time.perf_counter() - started)
    return samples


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(report: Report) -> None:
    os.environ.setdefault(SECRET_ENV, secrets.token_hex(16))
    with tempfile.TemporaryDirectory() as tmp:
        topology_file = Path(tmp) / "bench.toml"
        topology_file.write_text(
            _TOPOLOGY.format(
                secret_env=SECRET_ENV,
                block_time=BLOCK_TIME,
                osmosis=_free_port(),
                juno=_free_port(),
            ),
            encoding="utf-8",
        )
        topology = load_topology(topology_file)
        data = Path(tmp) / "data"
        started = time.perf_counter()
        anyio.run(run_genesis, topology, data)
        report.figure(
            "genesis (deployment in virtual time, state files)", time.perf_counter() - started, "s"
        )
        with MeshProcesses(topology_file, topology, data) as processes:
            started = time.perf_counter()
            processes.start()
            processes.wait_running(timeout=120)
            report.figure("3 processes started and serving", time.perf_counter() - started, "s")
            samples = anyio.run(_latencies, topology_file, data)
    note = f"{len(samples)} cross-stakes after a warm-up, one at a time; TCP, SQLite store"
    report.figure("block time (the floor)", BLOCK_TIME * 1000, "ms")
    report.figure("cross-stake to ack committed, p50", _percentile(samples, 0.5) * 1000, "ms", note)
    report.figure("cross-stake to ack committed, p99", _percentile(samples, 0.99) * 1000, "ms")
    report.figure("cross-stake to ack committed, mean", statistics.fmean(samples) * 1000, "ms")
