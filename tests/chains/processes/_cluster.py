"""A mesh of processes for the tests: genesis in this process, then `MeshProcesses`.

`cluster` writes the small test topology (`tests.chains.processes._topology`) over
``transport`` to a file, runs genesis into a data directory (in this process: the
deployment takes well under a second of wall time), starts one process per chain and per
relayer, waits until each writes its status, and stops them all on exit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from chains import ChainError, Topology, load_topology
from chains.mesh import MeshProcesses, RemoteMesh, run_genesis
from mesh_actors import MeshActorsError
from tests.chains.processes._topology import processes_text

P, C = "osmosis", "juno"
RELAYER = f"relayer-{C}-{P}"


@dataclass
class Cluster:
    """The running processes and where their files are."""

    topology_file: Path
    topology: Topology
    data: Path
    processes: MeshProcesses

    def remote(self) -> Any:
        """`RemoteMesh.connect` for this cluster (an async context manager)."""
        return RemoteMesh.connect(self.topology_file, self.data)


@contextmanager
def cluster(tmp: Path, transport: str = "tcp", **options: Any) -> Iterator[Cluster]:
    """See the module docstring; ``options`` go to `processes_text`."""
    topology_file = tmp / "mesh.toml"
    topology_file.write_text(processes_text(transport, **options), encoding="utf-8")
    topology = load_topology(topology_file)
    data = tmp / "data"
    anyio.run(run_genesis, topology, data)
    with MeshProcesses(topology_file, topology, data) as processes:
        processes.start()
        processes.wait_running(timeout=60)
        yield Cluster(topology_file, topology, data, processes)


async def eventually(check: Callable[[], Any], timeout: float = 60.0, poll: float = 0.1) -> Any:
    """``await check()`` until it returns something true (returned); `TimeoutError` after
    ``timeout`` seconds of wall time. A check that fails because a node is down or
    restarting (`MeshActorsError`, `ChainError`) is tried again."""
    with anyio.fail_after(timeout):
        while True:
            try:
                value = await check()
            except (MeshActorsError, ChainError):
                value = None
            if value:
                return value
            await anyio.sleep(poll)


async def committed(remote: RemoteMesh, chain_id: str, height: int) -> None:
    """`RemoteMesh.wait_committed`."""
    await remote.wait_committed(chain_id, height)
