"""Chains and relayers as processes: ``mesh node`` and ``mesh relayer``.

`run_node` runs one chain of a topology (its host, contracts, IBC gateway and channel ends)
in real time on the topology's transport, listening where the topology says (TCP: the
chain's ``address``), resuming from its state file in the data directory (written by
genesis, `chains.mesh._genesis`, and by the chain itself one block at a time). Beside the
chain, a `NodeService` actor (``<chain>/mesh-node``) answers other processes: the node's
status, an account's sequence and balances, contract and module queries, channel counters,
the chain-local invariants. It only reads: transactions go to the host as signed
transactions (`chains.host.SignedTx`), which the host verifies as from any stranger.

`run_relayer` runs the relayers of one linked pair in their own process; on start they
clear at once, re-relaying whatever is pending (the IBC receipts make that exactly-once).

Both write a small JSON status file (``<data>/status/<name>.json``) every second, which
``mesh up`` shows; a file is replaced whole (write, then rename), never half-written.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from functools import partial
from pathlib import Path
from typing import Any

import anyio
from pydantic import ValidationError

from chains.host._executor import TxExecutor
from chains.ibc._msgs import ChannelState
from chains.ibc._relayer_msgs import ClearNow, ClearReport, PathReady, RelayerStats
from chains.mesh._deploy import MeshChain, start_chain
from chains.mesh._genesis import (
    GenesisError,
    Manifest,
    load_key_seed,
    load_manifest,
    mesh_manifest,
    process_topology,
    store_path,
)
from chains.mesh._invariants import cap_violations, provider_violations, supply_violations
from chains.mesh._mesh import Mesh
from chains.mesh._network import build_transport
from chains.mesh._relaying import MeshLink
from chains.mesh._state import ChannelStats, read_channels, read_consumer_side, read_provider_side
from chains.mesh._topology import Topology
from mesh_actors import (
    Actor,
    ActorRef,
    Message,
    MessageRegistry,
    RealClock,
    get_logger,
    handler,
)
from transport import FaultyNetwork

__all__ = [
    "AccountInfo",
    "AccountRequest",
    "ChannelsReply",
    "ChannelsRequest",
    "InvariantsReply",
    "InvariantsRequest",
    "NodeQueryReply",
    "NodeQueryRequest",
    "NodeMsg",
    "NodeService",
    "NodeStatus",
    "NodeStatusRequest",
    "PairingSideReply",
    "PairingSideRequest",
    "node_service_address",
    "run_node",
    "run_relayer",
    "serve_mesh",
    "spawn_node_service",
    "status_path",
]

NODE_SERVICE = "mesh-node"
STATUS_DIR = "status"
# seconds between two status files
_STATUS_EVERY = 1.0
# seconds an ask between the processes of a mesh may take (a node may be restarting)
_ASK_TIMEOUT = 30.0

_log = get_logger("chains.mesh.node")


def node_service_address(chain_id: str) -> str:
    """The actor address of chain ``chain_id``'s node service."""
    return f"{chain_id}/{NODE_SERVICE}"


def status_path(data_dir: str | os.PathLike[str], name: str) -> Path:
    """Where process ``name`` (a chain id, or ``relayer-A-B``) writes its status."""
    return Path(data_dir) / STATUS_DIR / f"{name}.json"


def _write_status(data_dir: Path, name: str, document: dict[str, Any]) -> None:
    path = status_path(data_dir, name)
    path.parent.mkdir(exist_ok=True)
    partial_path = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    partial_path.write_text(json.dumps(document), encoding="utf-8")
    os.replace(partial_path, path)


# -- the node service's messages ------------------------------------------------------------


class NodeStatusRequest(Message):
    """Ask a node for its `NodeStatus`."""

    type_name = "mesh.node.status_request"


class NodeStatus(Message):
    """A node's committed height and time, the packets its open channels have sent and not
    seen acknowledged or timed out (``pending_packets``), and the provider transactions
    still waiting for an ack (``pending_txs``)."""

    type_name = "mesh.node.status"
    chain_id: str
    height: int
    time: int
    pending_packets: int
    pending_txs: int


class AccountRequest(Message):
    """Ask for ``address``'s `AccountInfo`."""

    type_name = "mesh.node.account_request"
    address: str


class AccountInfo(Message):
    """The sequence the account's next signed transaction must carry, and its balances."""

    type_name = "mesh.node.account"
    address: str
    sequence: int
    balances: dict[str, int]


class NodeQueryRequest(Message):
    """A read-only query of contract ``target`` (or, with ``module``, of the module of that
    name): ``query_type`` is the query message's ``type_name``, ``body`` its JSON."""

    type_name = "mesh.node.query_request"
    target: str
    module: bool = False
    query_type: str
    body: str


class NodeQueryReply(Message):
    """The answer's ``type_name`` and JSON, or the error's name and text."""

    type_name = "mesh.node.query_reply"
    ok: bool
    answer_type: str = ""
    body: str = ""
    error: str = ""
    detail: str = ""


class ChannelsRequest(Message):
    """Ask for every channel end's counters."""

    type_name = "mesh.node.channels_request"


class ChannelsReply(Message):
    """Every channel end's packet counters (`ChannelStats`, I-29)."""

    type_name = "mesh.node.channels"
    channels: tuple[ChannelStats, ...]


class InvariantsRequest(Message):
    """Check the chain-local invariants (provider P-18/P-20/P-21, caps C-45, conservation
    of the chain's denom), as `Mesh.check_invariants` does in one process."""

    type_name = "mesh.node.invariants_request"


class InvariantsReply(Message):
    """What is violated (empty if everything holds)."""

    type_name = "mesh.node.invariants"
    violations: tuple[str, ...]


class PairingSideRequest(Message):
    """Ask a provider (or consumer) node for its side of the pairing's figures."""

    type_name = "mesh.node.pairing_side_request"
    provider: str
    consumer: str


class PairingSideReply(Message):
    """The side's figures as JSON (``stakes``/``records`` as lists of rows)."""

    type_name = "mesh.node.pairing_side"
    side: str


# -- the service ---------------------------------------------------------------------------

NodeMsg = (
    NodeStatusRequest
    | AccountRequest
    | NodeQueryRequest
    | ChannelsRequest
    | InvariantsRequest
    | PairingSideRequest
)


def _pending_packets(node: MeshChain, _: TxExecutor) -> int:
    module = node.ibc.module
    return sum(
        len(module.pending_sequences(end.channel_id))
        for end in module.channel_ends()
        if end.state is ChannelState.OPEN
    )


def _rows(mapping: dict[tuple[str, str], Any]) -> list[list[Any]]:
    return [[*key, value] for key, value in sorted(mapping.items())]


class NodeService(Actor[NodeMsg]):
    """Answers other processes about one chain (see the module docstring).

    Runs in the chain's actor system; each handler reads committed state through the host
    (between transactions). A failing read is answered as an error (queries) or raised to
    the asker (the runtime answers it with the failure); the service keeps running.
    """

    def __init__(self, node: MeshChain, manifest: Manifest, registry: MessageRegistry) -> None:
        self._node = node
        self._manifest = manifest
        self._registry = registry

    async def pending_txs(self) -> int:
        """The provider transactions waiting for their ack, over the chain's pairings."""
        entry = self._manifest.chain(self._node.chain_id)
        count = 0
        for pairing in self._manifest.pairings:
            if pairing.provider == self._node.chain_id and entry.vault is not None:
                side = await self._node.chain.read(
                    partial(read_provider_side, vault=entry.vault, ext=pairing.external_staking)
                )
                count += side.pending_txs
        return count

    @handler
    async def on_status(self, _: NodeStatusRequest) -> NodeStatus:
        chain = self._node.chain
        return NodeStatus(
            chain_id=chain.chain_id,
            height=await chain.height(),
            time=await chain.time(),
            pending_packets=await chain.read(partial(_pending_packets, self._node)),
            pending_txs=await self.pending_txs(),
        )

    @handler
    async def on_account(self, msg: AccountRequest) -> AccountInfo:
        def read(ex: TxExecutor) -> tuple[int, dict[str, int]]:
            balances = {c.denom: c.amount for c in ex.bank.all_balances(msg.address)}
            return ex.sequences.get(msg.address), balances

        sequence, balances = await self._node.chain.read(read)
        return AccountInfo(address=msg.address, sequence=sequence, balances=balances)

    @handler
    async def on_query(self, msg: NodeQueryRequest) -> NodeQueryReply:
        cls = self._registry.get(msg.query_type)
        if cls is None:
            return NodeQueryReply(ok=False, error="UnknownQuery", detail=msg.query_type)
        try:
            query = cls.model_validate_json(msg.body)
        except ValidationError as exc:
            return NodeQueryReply(ok=False, error="InvalidQuery", detail=str(exc))
        chain = self._node.chain
        try:
            if msg.module:
                answer = await chain.query_module(msg.target, query)
            else:
                answer = await chain.query(msg.target, query)
        except Exception as exc:  # the query's error goes back to the asker, by name
            return NodeQueryReply(ok=False, error=type(exc).__name__, detail=str(exc))
        if not isinstance(answer, Message):
            return NodeQueryReply(ok=True, answer_type="json", body=json.dumps(answer))
        return NodeQueryReply(ok=True, answer_type=answer.type_name, body=answer.model_dump_json())

    @handler
    async def on_channels(self, _: ChannelsRequest) -> ChannelsReply:
        return ChannelsReply(channels=await self._node.chain.read(read_channels))

    @handler
    async def on_invariants(self, _: InvariantsRequest) -> InvariantsReply:
        node = self._node
        entry = self._manifest.chain(node.chain_id)
        spec = node.spec
        out: list[str] = []
        if entry.vault is not None:
            externals = [
                p.external_staking for p in self._manifest.pairings if p.provider == spec.id
            ]
            out += await node.chain.read(
                partial(
                    provider_violations,
                    vault=entry.vault,
                    native_staking=entry.native_staking,
                    external=externals,
                )
            )
        capped = [p.virtual_staking for p in self._manifest.pairings if p.consumer == spec.id]
        if capped:
            out += await node.chain.read(partial(cap_violations, contracts=capped))
        out += await node.chain.read(
            partial(
                supply_violations,
                genesis_supply=entry.genesis_supply,
                provision=spec.block_provision,
            )
        )
        return InvariantsReply(violations=tuple(out))

    @handler
    async def on_pairing_side(self, msg: PairingSideRequest) -> PairingSideReply:
        pairing = self._manifest.pairing(msg.provider, msg.consumer)
        chain = self._node.chain
        if chain.chain_id == msg.provider:
            vault = self._manifest.chain(msg.provider).vault or ""
            p = await chain.read(
                partial(read_provider_side, vault=vault, ext=pairing.external_staking)
            )
            document: dict[str, Any] = {
                "stakes": _rows(p.stakes),
                "validators": p.validators,
                "pending_txs": p.pending_txs,
            }
        else:
            c = await chain.read(
                partial(
                    read_consumer_side,
                    feed=pairing.price_feed,
                    converter=pairing.converter,
                    vs=pairing.virtual_staking,
                )
            )
            document = {
                "price": c.price,
                "adjustment": c.adjustment,
                "cap": c.cap,
                "delegated": c.delegated,
                "requested": c.requested,
                "records": _rows(c.records),
                "reserve": c.reserve,
            }
        return PairingSideReply(side=json.dumps(document))


def spawn_node_service(node: MeshChain, manifest: Manifest) -> ActorRef[NodeMsg]:
    """Spawn the node service of ``node`` in its actor system (``<chain>/mesh-node``)."""
    registry = MessageRegistry.from_subclasses()
    return node.system.spawn(partial(NodeService, node, manifest, registry), name=NODE_SERVICE)


async def serve_mesh(mesh: Mesh) -> Manifest:
    """Let an in-process ``mesh`` answer `RemoteMesh` clients as a mesh of processes does:
    a node service in every chain's system; returns the mesh's manifest (save it with
    ``save_manifest`` for the clients, with the key files of ``Mesh.save_keys``). The
    services stop with the mesh."""
    manifest = await mesh_manifest(mesh)
    for chain_id in mesh.chains():
        spawn_node_service(mesh._node(chain_id), manifest)
    return manifest


# -- the processes ----------------------------------------------------------------------------


async def run_node(
    topology: Topology,
    chain_id: str,
    data_dir: str | os.PathLike[str],
    *,
    base: Path | None = None,
    ready: Callable[[NodeStatus], None] | None = None,
) -> None:
    """Run chain ``chain_id`` until cancelled (see the module docstring).

    ``data_dir`` holds the genesis (`chains.mesh._genesis.run_genesis`); ``base`` is where
    the topology's relative paths start. ``ready`` is called once the chain serves, with
    its first status. The chain's keys derive from the genesis's key seed
    (``data_dir/keys/seed``, `load_key_seed`). Raises `GenesisError` (no or another
    genesis, no usable key seed), `UnknownChain`-like ``KeyError`` for a chain the
    topology lacks, `NetworkConfigError`, ``OSError`` (the address is taken).
    Cancellation stops the chain after its current transaction; what it committed is on
    disk.
    """
    data = Path(data_dir)
    spec = topology.chain(chain_id)
    manifest = load_manifest(data, topology)
    topology = process_topology(topology, data)
    # the genesis's secret: the chain's addresses and its validators' header-signing keys
    key_seed = load_key_seed(data, manifest.keys_dir)
    entry = manifest.chain(chain_id)
    if not store_path(data, chain_id).exists():
        raise GenesisError(f"no state file for {chain_id} in {data}")
    clock = RealClock()
    async with AsyncExitStack() as stack:
        inner = build_transport(topology, listen=[chain_id], base=base)
        network = await stack.enter_async_context(FaultyNetwork(inner, clock=clock, seed=0))
        node = await start_chain(
            stack,
            topology,
            spec,
            clock=clock,
            transport=network,
            ask_timeout=_ASK_TIMEOUT,
            lazy_blocks=False,
            store_path=store_path(data, chain_id),
            key_seed=key_seed,
        )
        if node.ibc.gateway_address != entry.gateway:
            raise GenesisError(
                f"{chain_id}: gateway {node.ibc.gateway_address}, the manifest says {entry.gateway}"
            )
        node.vault, node.native_staking = entry.vault, entry.native_staking
        node.price_host = entry.price_host
        service = spawn_node_service(node, manifest)
        first = await service.ask(NodeStatusRequest(), expect=NodeStatus)
        _log.info("node serving", chain=chain_id, height=first.height)
        if ready is not None:
            ready(first)
        await _report_node(service, data, chain_id)


async def _report_node(service: ActorRef[NodeMsg], data: Path, chain_id: str) -> None:
    last_error = ""
    while True:
        document: dict[str, Any] = {"name": chain_id, "kind": "node", "pid": os.getpid()}
        try:
            status = await service.ask(NodeStatusRequest(), expect=NodeStatus)
            document |= status.model_dump(exclude={"chain_id"})
        except Exception as exc:  # shown in the status table; the node keeps running
            last_error = f"{type(exc).__name__}: {exc}"
        document["last_error"] = last_error
        document["updated"] = time.time()
        _write_status(data, chain_id, document)
        await anyio.sleep(_STATUS_EVERY)


async def run_relayer(
    topology: Topology,
    a: str,
    b: str,
    data_dir: str | os.PathLike[str],
    *,
    base: Path | None = None,
    seed: int = 0,
    ready: Callable[[], None] | None = None,
) -> None:
    """Run the relayers the topology gives the pair ``a``-``b`` until cancelled.

    They clear at once on start (re-relaying what is pending); then as the topology says.
    Raises `GenesisError`, `NetworkConfigError`; relaying errors are counted and shown in
    the status file, never raised. Cancellation stops the relayers between two batches.
    """
    data = Path(data_dir)
    manifest = load_manifest(data, topology)
    topology = process_topology(topology, data)
    entry = manifest.link(a, b)
    first, second = entry.a.chain_id, entry.b.chain_id
    clock = RealClock()
    name = f"relayer-{first}-{second}"
    async with AsyncExitStack() as stack:
        inner = build_transport(topology, listen=[], base=base, seed=seed)
        network = await stack.enter_async_context(FaultyNetwork(inner, clock=clock, seed=seed))
        link = MeshLink(
            a=first,
            b=second,
            spec=topology.relayers_of(first, second),
            gateways={first: entry.a.gateway, second: entry.b.gateway},
            ends=PathReady(a=entry.a, b=entry.b),
        )
        await link.start_relayers(stack, clock=clock, transport=network, seed=seed)
        # re-relay whatever is pending now (receipts make a repeat a no-op, I-11)
        last_error = ""
        for relayer in link.relayers:
            try:
                await relayer.ask(ClearNow(), expect=ClearReport, timeout=_ASK_TIMEOUT)
            except Exception as exc:  # a chain still down: the periodic clears retry
                last_error = f"first clear: {type(exc).__name__}: {exc}"
        _log.info("relayer running", pair=name, relayers=len(link.relayers))
        if ready is not None:
            ready()
        while True:
            stats: list[RelayerStats] = await link.statistics()
            document: dict[str, Any] = {"name": name, "kind": "relayer", "pid": os.getpid()}
            if stats:
                document["batches_sent"] = sum(s.batches_sent for s in stats)
                document["items_ok"] = sum(s.items_ok for s in stats)
                document["failed_clears"] = sum(s.failed_clears for s in stats)
            else:
                last_error = "no relayer answered its status"
            document["last_error"] = last_error
            document["updated"] = time.time()
            _write_status(data, name, document)
            await anyio.sleep(_STATUS_EVERY)
