"""Genesis for a mesh of processes: deploy once in-process, hand each chain its state file.

A chain process cannot deploy the mesh by itself: deployment (I-49) needs every chain of a
link at once (clients, connection, channel handshakes, the first validator sync) and runs
local-only steps (codes, modules, governance). So `run_genesis` runs the ordinary `Mesh`
deployment once, in this process, in virtual time on the in-memory network, with every
chain's durable store in ``DIR`` (``DIR/<chain>.sqlite``); it lets the mesh settle (the
first validator sync acknowledged), and writes what the processes need that is not
on-chain configuration to ``DIR/manifest.json`` (`Manifest`): the topology's name and hash,
each chain's gateway and contracts, each link's client and connection ids, each pairing's
contracts and channels, and the genesis supply per chain (conservation checks), plus the
users' key files in ``DIR/keys/``. The chain processes (`chains.mesh._node`) then resume
from those files in real time.

**Keys.** An in-process `Mesh` derives every key from public names (simulation keys, so
runs repeat); chains that listen on sockets cannot: whoever reaches a node could derive
alice's key and sign as her, or a validator's consensus key and forge IBC headers. So
genesis draws a fresh random key seed (32 bytes, `ChainConfig.key_seed`) for its `Mesh`
and writes it to ``DIR/keys/seed`` (mode 0600, as the key files); the chain processes
(their validators' header-signing keys, the addresses of names) and the clients (the
addresses of names; they sign with the key files) read it back (`load_key_seed`). Two
geneses of the same topology thus have different keys and addresses.

**A topology without a network** (the in-memory default, as ``examples/topologies/seed.toml``)
cannot cross processes as it is. Run as processes, it runs over TCP on loopback: genesis picks
a free port per chain and a fresh secret, and keeps them in ``DIR/loopback.json`` and
``DIR/loopback.secret`` (mode 0600), so every process and client of that directory agrees
(`process_topology`). A topology with a ``[network]`` section runs as that section says.

What it costs: the deployment in virtual time takes well under a second of wall time
(the chains' time advances by the few dozen blocks deployment and settling take); each
process then starts by loading its SQLite file. Nothing here waits for a block time.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from chains.ibc._relayer_msgs import PathEnd
from chains.mesh._errors import MeshError
from chains.mesh._key_seed import KEY_SEED_NAME
from chains.mesh._mesh import Mesh
from chains.mesh._topology import NetworkSpec, Topology
from mesh_actors import VirtualClock

__all__ = [
    "MANIFEST_NAME",
    "ChainEntry",
    "GenesisError",
    "LinkEntry",
    "Manifest",
    "PairingEntry",
    "load_key_seed",
    "load_manifest",
    "mesh_manifest",
    "process_topology",
    "run_genesis",
    "save_manifest",
    "store_path",
    "topology_hash",
]

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "mesh-manifest/1"
KEYS_DIR = "keys"
# a topology on the in-memory network, run as processes: the loopback TCP network chosen at
# genesis (a port per chain) and its secret
LOOPBACK_NAME = "loopback.json"
LOOPBACK_SECRET = "loopback.secret"
# bytes of a genesis's key seed (as an ed25519 secret)
_KEY_SEED_BYTES = 32
# the shortest non-empty key seed a seed file may hold (a guessable seed guards nothing)
_MIN_KEY_SEED_BYTES = 16
# virtual seconds genesis may wait for the first validator sync to be acknowledged
_SETTLE = 3_600.0


class GenesisError(MeshError):
    """Genesis or a manifest is unusable: ``detail`` says why (a data directory that holds
    a genesis already, a missing or malformed manifest, a manifest of another topology)."""

    fields = ("detail",)
    detail: str

    def __init__(self, detail: str) -> None:
        super().__init__(detail)


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChainEntry(_Entry):
    """One chain: its IBC gateway actor, its deployer, its provider contracts (if any), and
    its total supply before deployment (the conservation baseline, see
    ``chains.mesh._invariants.supply_violations``)."""

    chain_id: str
    gateway: str
    deployer: str
    vault: str | None = None
    native_staking: str | None = None
    price_host: str | None = None
    genesis_supply: int
    height: int


class LinkEntry(_Entry):
    """One linked chain pair: its two ends with client and connection ids."""

    a: PathEnd
    b: PathEnd


class PairingEntry(_Entry):
    """One pairing's contracts and channel ends."""

    provider: str
    consumer: str
    price_feed: str
    converter: str
    virtual_staking: str
    external_staking: str
    consumer_connection: str
    provider_connection: str
    consumer_channel: str
    provider_channel: str
    feed_channel: str = ""


class Manifest(_Entry):
    """What a node, relayer or client process needs besides the topology and the state
    files (see the module docstring)."""

    format: str = MANIFEST_FORMAT
    topology_name: str
    topology_hash: str
    chains: tuple[ChainEntry, ...]
    links: tuple[LinkEntry, ...]
    pairings: tuple[PairingEntry, ...]
    keys_dir: str = KEYS_DIR

    def chain(self, chain_id: str) -> ChainEntry:
        """The entry of ``chain_id``; raises `GenesisError` if there is none."""
        for entry in self.chains:
            if entry.chain_id == chain_id:
                return entry
        raise GenesisError(f"the manifest has no chain {chain_id!r}")

    def link(self, a: str, b: str) -> LinkEntry:
        """The link between ``a`` and ``b`` (either order); raises `GenesisError`."""
        for entry in self.links:
            if {entry.a.chain_id, entry.b.chain_id} == {a, b}:
                return entry
        raise GenesisError(f"the manifest has no link {a}:{b}")

    def pairing(self, provider: str, consumer: str) -> PairingEntry:
        """The pairing ``provider → consumer``; raises `GenesisError`."""
        for entry in self.pairings:
            if (entry.provider, entry.consumer) == (provider, consumer):
                return entry
        raise GenesisError(f"the manifest has no pairing {provider}→{consumer}")


def topology_hash(topology: Topology) -> str:
    """The SHA-256 of what the chains' state depends on: the topology without its
    ``[network]`` section, addresses and relayers (the same genesis runs over TCP or NATS,
    with any relayers)."""
    document: Any = topology.model_dump(
        mode="json",
        exclude={"network": True, "relayers": True, "chains": {"__all__": {"address"}}},
    )
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def store_path(data_dir: str | os.PathLike[str], chain_id: str) -> Path:
    """Where chain ``chain_id`` keeps its state in ``data_dir``."""
    return Path(data_dir) / f"{chain_id}.sqlite"


def load_manifest(data_dir: str | os.PathLike[str], topology: Topology | None = None) -> Manifest:
    """The manifest of ``data_dir``, checked against ``topology`` if given. Raises
    `GenesisError` if it is missing, malformed, or of another topology."""
    path = Path(data_dir) / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GenesisError(f"no genesis in {data_dir} ({exc}); run 'mesh genesis'") from None
    try:
        manifest = Manifest.model_validate_json(text)
    except ValidationError as exc:
        raise GenesisError(f"{path}: not a manifest ({exc.error_count()} errors)") from None
    if manifest.format != MANIFEST_FORMAT:
        raise GenesisError(f"{path}: format {manifest.format!r}, expected {MANIFEST_FORMAT!r}")
    if topology is not None and manifest.topology_hash != topology_hash(topology):
        raise GenesisError(
            f"{path} was made for another topology ({manifest.topology_name!r}); "
            "use its topology file or a new data directory"
        )
    return manifest


def _prepare(topology: Topology, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    files = (out / MANIFEST_NAME, *(store_path(out, c.id) for c in topology.chains))
    taken = [p.name for p in files if p.exists()]
    if taken:
        raise GenesisError(f"{out} holds a genesis already ({', '.join(taken)})")
    return out


def _save_keys(mesh: Mesh, keys: Path) -> None:
    keys.mkdir(exist_ok=True)
    mesh.save_keys(keys)


def _write(path: Path, text: str) -> None:
    # whole or not at all: a process that reads a half-written manifest would refuse it
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


async def mesh_manifest(mesh: Mesh) -> Manifest:
    """The manifest of a running (deployed) ``mesh``: what processes of the same mesh need
    that is not on-chain configuration (see the module docstring)."""
    topology = mesh.topology
    chains = []
    for chain_id in mesh.chains():
        node = mesh._node(chain_id)
        chains.append(
            ChainEntry(
                chain_id=chain_id,
                gateway=node.ibc.gateway_address,
                deployer=node.deployer,
                vault=node.vault,
                native_staking=node.native_staking,
                price_host=node.price_host,
                genesis_supply=mesh._genesis_supply[chain_id],
                height=await node.chain.height(),
            )
        )
    links = []
    for a, b in topology.links():
        ends = mesh.link(a, b).ends
        assert ends is not None  # deployed
        links.append(LinkEntry(a=ends.a, b=ends.b))
    pairings = [
        PairingEntry(
            provider=p.spec.provider,
            consumer=p.spec.consumer,
            price_feed=p.price_feed,
            converter=p.converter,
            virtual_staking=p.virtual_staking,
            external_staking=p.external_staking,
            consumer_connection=p.consumer_connection,
            provider_connection=p.provider_connection,
            consumer_channel=p.consumer_channel,
            provider_channel=p.provider_channel,
            feed_channel=p.feed_channel,
        )
        for p in mesh.pairings()
    ]
    return Manifest(
        topology_name=topology.name,
        topology_hash=topology_hash(topology),
        chains=tuple(chains),
        links=tuple(links),
        pairings=tuple(pairings),
    )


async def run_genesis(
    topology: Topology, data_dir: str | os.PathLike[str], *, seed: int = 0
) -> Manifest:
    """Deploy ``topology`` in virtual time with every chain's store in ``data_dir``; write
    the manifest, the key files and a fresh random key seed (see the module docstring);
    return the manifest.

    Raises `GenesisError` if ``data_dir`` holds a genesis already (or any chain's state
    file), `MeshSetupFailed` if the deployment fails, ``OSError`` from the file system.
    Cancellation leaves a directory without a manifest (the processes refuse it).
    """
    out = _prepare(topology, Path(data_dir))
    memory = topology.model_copy(update={"network": NetworkSpec()})
    # every key of this genesis derives from it: unguessable keys for chains on sockets
    key_seed = secrets.token_bytes(_KEY_SEED_BYTES)
    mesh = Mesh(memory, clock=VirtualClock(), seed=seed, store_dir=out, key_seed=key_seed)
    async with mesh:
        await mesh.settle(timeout=_SETTLE)
        # a block is on disk once the next one began: end the blocks the deployment's last
        # transactions ran in (the cap authorization, the last acks), on every chain
        await mesh.advance(seconds=2 * max(c.block_time for c in topology.chains))
        for chain_id in mesh.chains():
            await mesh.chain(chain_id).produce_blocks(1)
        manifest = await mesh_manifest(mesh)
        _save_keys(mesh, out / KEYS_DIR)
    if not topology.network.sockets:
        _write_loopback(topology, out)
    # the manifest last: its presence says the genesis is whole
    save_manifest(out, manifest)
    return manifest


def _write_loopback(topology: Topology, out: Path) -> None:
    """Choose the loopback network of a memory topology run as processes (see the module
    docstring): a free port per chain (the kernel's choice at genesis; a port taken by
    something else later makes that chain's process fail to listen, with the address in
    its error) and a 32-byte secret readable by the owner only."""
    ports: dict[str, int] = {}
    held: list[socket.socket] = []
    try:
        for chain in topology.chains:
            # every port held open until all are chosen, so no two chains get the same one
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(probe)
            probe.bind(("127.0.0.1", 0))
            ports[chain.id] = probe.getsockname()[1]
    finally:
        for probe in held:
            probe.close()
    secret = out / LOOPBACK_SECRET
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(secrets.token_hex(32))
    _write(out / LOOPBACK_NAME, json.dumps({"host": "127.0.0.1", "ports": ports}, indent=2))


def process_topology(topology: Topology, data_dir: str | os.PathLike[str]) -> Topology:
    """``topology`` as the processes of the genesis in ``data_dir`` run it: unchanged if it
    has a ``[network]`` section with sockets; else (the in-memory default) over TCP on the
    loopback ports and secret chosen at genesis (see the module docstring).

    Raises `GenesisError` if ``data_dir`` has no such choice (a genesis made by an older
    version, or not made yet) or it is malformed.
    """
    if topology.network.sockets:
        return topology
    data = Path(data_dir)
    path = data / LOOPBACK_NAME
    try:
        chosen = json.loads(path.read_text(encoding="utf-8"))
        host = str(chosen["host"])
        ports = {str(k): int(v) for k, v in chosen["ports"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise GenesisError(
            f"the topology has no [network] section and {path} gives no loopback network"
            f" ({type(exc).__name__}: {exc}); give the topology a network or run a new genesis"
        ) from None
    missing = [c.id for c in topology.chains if c.id not in ports]
    if missing:
        raise GenesisError(f"{path} has no port for {', '.join(missing)}")
    chains = tuple(
        c.model_copy(update={"address": f"{host}:{ports[c.id]}"}) for c in topology.chains
    )
    network = NetworkSpec(
        transport="tcp", host=host, secret_file=str((data / LOOPBACK_SECRET).resolve())
    )
    return topology.model_copy(update={"chains": chains, "network": network})


def save_manifest(data_dir: str | os.PathLike[str], manifest: Manifest) -> Path:
    """Write ``manifest`` to ``data_dir/manifest.json`` (whole or not at all); returns the
    path. Raises ``OSError``."""
    path = Path(data_dir) / MANIFEST_NAME
    _write(path, manifest.model_dump_json(indent=2))
    return path


def load_key_seed(data_dir: str | os.PathLike[str], keys_dir: str = KEYS_DIR) -> bytes:
    """The key seed of the genesis in ``data_dir`` (``data_dir/<keys_dir>/seed``, written
    by `run_genesis` through `Mesh.save_keys`): what a chain process derives its
    validators' consensus keys and the addresses of names from, and a client the
    addresses of names (see the module docstring).

    Raises `GenesisError` if the file is missing or unreadable (a genesis made by an older
    version: run a new genesis), readable by group or others, or malformed (not hex, or a
    non-empty seed shorter than 16 bytes). An empty file is the empty seed of an
    in-process simulation served to clients (`serve_mesh`), whose keys are guessable.
    """
    path = Path(data_dir) / keys_dir / KEY_SEED_NAME
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii").strip()
    except (OSError, ValueError) as exc:
        raise GenesisError(
            f"no usable key seed at {path} ({type(exc).__name__}: {exc}); run a new genesis"
        ) from None
    if mode & 0o077:
        raise GenesisError(f"the key seed {path} is readable by others (chmod 600 it)")
    try:
        key_seed = bytes.fromhex(text)
    except ValueError:
        raise GenesisError(f"the key seed {path} is not hex") from None
    if 0 < len(key_seed) < _MIN_KEY_SEED_BYTES:
        raise GenesisError(
            f"the key seed {path} has {len(key_seed)} bytes (at least {_MIN_KEY_SEED_BYTES})"
        )
    return key_seed
