"""`Mesh` over a transport of the embedder's choice or the topology's ``[network]`` section.

The mesh wraps any transport in its `FaultyNetwork` (so message faults compose with
sockets); sockets run on the real clock only. A cross-stake over TCP (both backends) and
over NATS (asyncio) reaches the consumer as virtual stake (I-51, C-69).
"""

from __future__ import annotations

import anyio
import pytest

from chains import Mesh, TopologyError, parse_topology
from chains.mesh import NetworkConfigError, RealClockRequired
from mesh_actors import RealClock, VirtualClock
from tests.chains.processes._topology import SECRET_ENV, processes_text, processes_topology
from transport import NatsServer, TcpNetwork, UnsupportedBackend

pytestmark = pytest.mark.anyio

P, C = "osmosis", "juno"


async def _cross_stake_arrives(mesh: Mesh) -> None:
    assert (await mesh.bond(P, "alice", 1_000_000)).ok
    result = await mesh.cross_stake(P, C, "alice", "val1", 200_000)
    assert result.ok, result.error
    # 200_000 uosmo * 0.5 * (1 - 0.1): the virtual delegation of the next epoch (C-69)
    for _ in range(300):  # 30 s of polling at most; usually one epoch, about a second
        if (await mesh.virtual_stake(P, C)).delegated.amount:
            break
        await anyio.sleep(0.1)
    assert (await mesh.virtual_stake(P, C)).delegated.amount == 90_000
    stake = await mesh.stake(P, C, "alice", "val1")
    assert stake.stake.low == stake.stake.high == 200_000


async def test_mesh_over_tcp_from_the_topology_cross_stakes_I_51(anyio_backend: str) -> None:
    async with Mesh.from_topology(processes_topology("tcp")) as mesh:
        assert isinstance(mesh.clock, RealClock)
        assert "osmosis" in mesh.network.systems()
        await _cross_stake_arrives(mesh)


async def test_mesh_over_a_given_tcp_network_cross_stakes_C_69(anyio_backend: str) -> None:
    topology = processes_topology("memory")
    net = TcpNetwork(secret=b"0123456789abcdef-given")
    async with Mesh(topology, transport=net, seed=3) as mesh:
        assert isinstance(mesh.clock, RealClock)
        await _cross_stake_arrives(mesh)
    assert net.closed


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_mesh_over_nats_cross_stakes_I_51(
    anyio_backend: str, nats_server: NatsServer
) -> None:
    topology = processes_topology("nats", nats_url=nats_server.url, prefix="meshtransport")
    async with Mesh.from_topology(topology) as mesh:
        await _cross_stake_arrives(mesh)


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_mesh_over_nats_is_refused_under_trio(anyio_backend: str) -> None:
    topology = processes_topology("nats", nats_url="nats://127.0.0.1:1")
    with pytest.raises(UnsupportedBackend, match="asyncio"):
        async with Mesh.from_topology(topology):
            pass  # pragma: no cover - never entered


def test_a_socket_transport_on_a_virtual_clock_is_refused() -> None:
    with pytest.raises(RealClockRequired):
        Mesh(
            processes_topology("memory"),
            transport=TcpNetwork(secret=b"x" * 16),
            clock=VirtualClock(),
        )
    with pytest.raises(RealClockRequired):
        Mesh.from_topology(processes_topology("tcp"), clock=VirtualClock())


async def test_a_factory_is_checked_when_the_mesh_starts(anyio_backend: str) -> None:
    mesh = Mesh(
        processes_topology("memory"),
        transport=lambda: TcpNetwork(secret=b"x" * 16),
        clock=VirtualClock(),
    )
    with pytest.raises(RealClockRequired):
        async with mesh:
            pass  # pragma: no cover - never entered


async def test_tcp_without_a_secret_is_refused_by_name(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_ENV)
    with pytest.raises(NetworkConfigError, match=SECRET_ENV):
        async with Mesh.from_topology(processes_topology("tcp")):
            pass  # pragma: no cover - never entered


def test_a_secret_in_the_topology_file_is_refused() -> None:
    text = processes_text("tcp").replace(
        "[network]\n", '[network]\nsecret = "hunter2hunter2hunter2"\n'
    )
    with pytest.raises(TopologyError, match="secret"):
        parse_topology(text)


async def test_the_in_memory_default_keeps_virtual_time(anyio_backend: str) -> None:
    mesh = Mesh(processes_topology("memory"))
    assert isinstance(mesh.clock, VirtualClock)
