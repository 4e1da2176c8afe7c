"""Driving a mesh of running processes from another one: `RemoteMesh`.

`RemoteMesh.connect(topology, data_dir)` joins the topology's transport as a client actor
system of its own (a free port over TCP), reads the genesis manifest and the users' key
files from ``data_dir``, and then signs each user action with the user's key at the
sequence the chain reports, and sends it to the chain's host, which verifies it as it
would any stranger's (signature, chain id, sequence). Reads go to each chain's node
service (`chains.mesh._node.NodeService`). Nothing runs in-process: the client holds no
chain state, so it can come and go while the mesh runs.

Check helpers for tests and scripts: `settled` (quiescence across every node),
`check_invariants` (each node's chain-local invariants, every channel's packets acked or
timed out once, and the provider/consumer agreement of every pairing at quiescence).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import anyio

from chains.consumer.mesh_security._msgs import BondStatusQuery, BondStatusResponse
from chains.contract._coin import Coin
from chains.contract._keys import KeyPair
from chains.host._config import ChainConfig
from chains.host._msgs import ExecuteTx
from chains.host._signed import signed_host_tx
from chains.host._tx_result import RemoteTxResult
from chains.mesh._deploy import chain_config
from chains.mesh._errors import MeshError, UnknownChain, UnknownPairing
from chains.mesh._genesis import Manifest, load_key_seed, load_manifest, process_topology
from chains.mesh._invariants import delegation_view_violations
from chains.mesh._network import build_transport
from chains.mesh._node import (
    AccountInfo,
    AccountRequest,
    ChannelsReply,
    ChannelsRequest,
    InvariantsReply,
    InvariantsRequest,
    NodeQueryReply,
    NodeQueryRequest,
    NodeStatus,
    NodeStatusRequest,
    PairingSideReply,
    PairingSideRequest,
    node_service_address,
)
from chains.mesh._state import ChannelStats, ConsumerSide, ProviderSide
from chains.mesh._topology import Topology, load_topology
from chains.provider._lien_holder import encode_stake_target
from chains.provider.external_staking._msgs import (
    AllPendingRewardsQuery,
    AllPendingRewardsResponse,
    ExternalUnstake,
    ExternalWithdrawRewards,
    StakeInfo,
    StakeQuery,
)
from chains.provider.vault._msgs import (
    StakeRemote,
    VaultAccountDetailsQuery,
    VaultAccountDetailsResponse,
    VaultBond,
    VaultUnbond,
)
from mesh_actors import ActorSystem, MeshActorsError, Message, RealClock

__all__ = ["RemoteMesh", "RemoteQueryFailed"]

T = TypeVar("T", bound=Message)

# seconds an ask to a node may take (blocks are a second or less; a restarting node answers
# once it is back, or the ask fails fast with NoRoute while it is down)
_ASK_TIMEOUT = 30.0
# seconds a new client waits to learn where the chains are (NATS presence); after that its
# asks to a chain that is down fail by name
_DISCOVERY = 10.0


class RemoteQueryFailed(MeshError):
    """A node answered a query with an error: ``error_name`` is its name, ``detail`` its
    text."""

    fields = ("chain_id", "error_name", "detail")
    chain_id: str
    error_name: str
    detail: str

    def __init__(self, chain_id: str, error_name: str, detail: str) -> None:
        super().__init__(chain_id, error_name, detail)


def _load_key(path: Path) -> KeyPair:
    return KeyPair.load(path)


class RemoteMesh:
    """A client of a running mesh of processes (see the module docstring)."""

    def __init__(
        self,
        topology: Topology,
        manifest: Manifest,
        system: ActorSystem,
        keys: Path,
        key_seed: bytes = b"",
    ) -> None:
        self.topology = topology
        self.manifest = manifest
        self.system = system
        self._keys_dir = keys
        self._keys: dict[str, KeyPair] = {}
        # stakes and unstakes submitted per pairing and (user, validator): the flooring
        # tolerance of the agreement check (as `Mesh` keeps them)
        self._operations: dict[tuple[str, str], dict[tuple[str, str], int]] = {}
        self._configs: dict[str, ChainConfig] = {
            # the genesis's key seed: the operator addresses of validators' names
            c.id: chain_config(c, topology.genesis_time, key_seed)
            for c in topology.chains
        }

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        topology: Topology | str | os.PathLike[str],
        data_dir: str | os.PathLike[str],
        *,
        base: Path | None = None,
        name: str | None = None,
    ) -> AsyncIterator[RemoteMesh]:
        """Join the running mesh of ``topology`` (a `Topology` or a TOML path; relative
        secret and TLS paths from ``base``, default the file's folder) whose genesis is in
        ``data_dir``. ``name`` is the client's actor system name (default: a fresh one).
        Addresses of names derive from the genesis's key seed (``data_dir/keys/seed``).

        Raises `TopologyError`, `GenesisError` (also for no usable key seed),
        `NetworkConfigError`, and what the
        transport raises on start (`transport.BrokerUnavailable` without a NATS server,
        `transport.UnsupportedBackend` for NATS under trio). Leaving the block closes the
        client; the mesh keeps running.
        """
        if not isinstance(topology, Topology):
            base = base if base is not None else Path(topology).parent
            topology = load_topology(Path(topology))
        manifest = load_manifest(data_dir, topology)
        topology = process_topology(topology, data_dir)
        key_seed = load_key_seed(data_dir, manifest.keys_dir)
        system_name = name or f"client-{uuid.uuid4().hex[:12]}"
        clock = RealClock()
        async with AsyncExitStack() as stack:
            network = await stack.enter_async_context(build_transport(topology, base=base))
            system = await stack.enter_async_context(
                ActorSystem(system_name, clock=clock, transport=network, ask_timeout=_ASK_TIMEOUT)
            )
            # NATS learns the other systems from their presence announcements, a moment
            # after connecting: asks before that would fail at once (no route)
            chains = {c.id for c in topology.chains}
            for _ in range(int(_DISCOVERY / 0.05)):
                if chains <= network.systems():
                    break
                await anyio.sleep(0.05)
            yield cls(topology, manifest, system, Path(data_dir) / manifest.keys_dir, key_seed)

    # -- identities ---------------------------------------------------------------------------

    def _config(self, chain_id: str) -> ChainConfig:
        config = self._configs.get(chain_id)
        if config is None:
            raise UnknownChain(chain_id)
        return config

    def key(self, user: str) -> KeyPair:
        """User ``user``'s key, from the genesis key files."""
        key = self._keys.get(user)
        if key is None:
            key = self._keys[user] = _load_key(self._keys_dir / f"{user}.key")
        return key

    def address(self, chain_id: str, user: str) -> str:
        """``user``'s account address on ``chain_id`` (its key's)."""
        return self.key(user).address(self._config(chain_id).prefix)

    def operator(self, chain_id: str, validator: str) -> str:
        """The operator address of ``validator`` on ``chain_id``."""
        return self._config(chain_id).operator(validator)

    # -- asks ---------------------------------------------------------------------------------

    async def _ask(self, chain_id: str, msg: Message, expect: type[T]) -> T:
        self._config(chain_id)
        ref = self.system.ref(node_service_address(chain_id))
        answer: T = await ref.ask(msg, expect=expect, timeout=_ASK_TIMEOUT)
        return answer

    async def status(self, chain_id: str) -> NodeStatus:
        """The node's height, time and pending work."""
        return await self._ask(chain_id, NodeStatusRequest(), NodeStatus)

    async def account(self, chain_id: str, user: str) -> AccountInfo:
        """``user``'s sequence and balances on ``chain_id``."""
        address = self.address(chain_id, user)
        return await self._ask(chain_id, AccountRequest(address=address), AccountInfo)

    async def query(
        self, chain_id: str, target: str, query: Message, expect: type[T], *, module: bool = False
    ) -> T:
        """Contract ``target``'s (or module's) answer to ``query``. Raises
        `RemoteQueryFailed` with the chain's error name."""
        request = NodeQueryRequest(
            target=target, module=module, query_type=query.type_name, body=query.model_dump_json()
        )
        reply = await self._ask(chain_id, request, NodeQueryReply)
        if not reply.ok:
            raise RemoteQueryFailed(chain_id, reply.error, reply.detail)
        return expect.model_validate_json(reply.body)

    async def submit(self, chain_id: str, user: str, tx: Message) -> RemoteTxResult:
        """Sign ``tx`` (a host transaction or a root message) as ``user`` at the sequence the
        chain reports, and send it to the chain's host; the host's verdict comes back."""
        config = self._config(chain_id)
        sequence = (await self.account(chain_id, user)).sequence
        signed = signed_host_tx(
            self.key(user), prefix=config.prefix, chain_id=chain_id, sequence=sequence, tx=tx
        )
        host = self.system.ref(f"{chain_id}/{chain_id}")
        result: RemoteTxResult = await host.ask(signed, expect=RemoteTxResult, timeout=_ASK_TIMEOUT)
        return result

    async def execute(
        self,
        chain_id: str,
        user: str,
        contract: str,
        msg: Message,
        funds: tuple[Coin, ...] = (),
    ) -> RemoteTxResult:
        """``user`` executes ``contract`` with ``msg`` (signed)."""
        sender = self.address(chain_id, user)
        tx = ExecuteTx(sender=sender, contract=contract, msg=msg, funds=funds)
        return await self.submit(chain_id, user, tx)

    # -- user actions -------------------------------------------------------------------------

    def _vault(self, chain_id: str) -> str:
        vault = self.manifest.chain(chain_id).vault
        if vault is None:
            raise UnknownChain(chain_id)
        return vault

    def _pairing(self, provider: str, consumer: str) -> Any:
        for entry in self.manifest.pairings:
            if (entry.provider, entry.consumer) == (provider, consumer):
                return entry
        raise UnknownPairing(provider, consumer)

    def _denom(self, chain_id: str) -> str:
        return self.topology.chain(chain_id).denom

    async def bond(self, chain_id: str, user: str, amount: int) -> RemoteTxResult:
        """``user`` deposits ``amount`` as collateral in the provider's vault (P-23)."""
        coin = Coin(denom=self._denom(chain_id), amount=amount)
        return await self.execute(chain_id, user, self._vault(chain_id), VaultBond(), (coin,))

    async def unbond(self, chain_id: str, user: str, amount: int) -> RemoteTxResult:
        """``user`` withdraws free collateral (P-24)."""
        msg = VaultUnbond(amount=Coin(denom=self._denom(chain_id), amount=amount))
        return await self.execute(chain_id, user, self._vault(chain_id), msg)

    async def cross_stake(
        self, provider: str, consumer: str, user: str, validator: str, amount: int
    ) -> RemoteTxResult:
        """``user`` cross-stakes ``amount`` to ``validator`` of ``consumer`` (P-26, I-51)."""
        pairing = self._pairing(provider, consumer)
        msg = StakeRemote(
            contract=pairing.external_staking,
            amount=Coin(denom=self._denom(provider), amount=amount),
            msg=encode_stake_target(self.operator(consumer, validator)),
        )
        result = await self.execute(provider, user, self._vault(provider), msg)
        self._count(provider, consumer, user, validator, result)
        return result

    def _count(
        self, provider: str, consumer: str, user: str, validator: str, result: RemoteTxResult
    ) -> None:
        if result.ok:
            key = (self.address(provider, user), self.operator(consumer, validator))
            counts = self._operations.setdefault((provider, consumer), {})
            counts[key] = counts.get(key, 0) + 1

    async def unstake(
        self, provider: str, consumer: str, user: str, validator: str, amount: int
    ) -> RemoteTxResult:
        """``user`` unstakes ``amount`` from ``validator`` of ``consumer`` (P-67, I-52)."""
        pairing = self._pairing(provider, consumer)
        msg = ExternalUnstake(
            validator=self.operator(consumer, validator),
            amount=Coin(denom=self._denom(provider), amount=amount),
        )
        result = await self.execute(provider, user, pairing.external_staking, msg)
        self._count(provider, consumer, user, validator, result)
        return result

    async def claim_rewards(
        self,
        provider: str,
        consumer: str,
        user: str,
        validator: str,
        recipient: str | None = None,
    ) -> RemoteTxResult:
        """``user`` sends its rewards on ``validator`` to ``recipient``'s consumer-chain
        address (default: its own; a full address is used as given) (P-75, I-82)."""
        pairing = self._pairing(provider, consumer)
        target = recipient or user
        if not target.startswith(f"{self._config(consumer).prefix}1"):
            target = self.address(consumer, target)
        msg = ExternalWithdrawRewards(
            validator=self.operator(consumer, validator), remote_recipient=target
        )
        return await self.execute(provider, user, pairing.external_staking, msg)

    # -- reads --------------------------------------------------------------------------------

    async def stake(self, provider: str, consumer: str, user: str, validator: str) -> StakeInfo:
        """``user``'s stake on ``validator`` as external staking records it."""
        pairing = self._pairing(provider, consumer)
        query = StakeQuery(
            user=self.address(provider, user), validator=self.operator(consumer, validator)
        )
        return await self.query(provider, pairing.external_staking, query, StakeInfo)

    async def collateral(self, chain_id: str, user: str) -> VaultAccountDetailsResponse:
        """``user``'s vault account (collateral, liens, free)."""
        query = VaultAccountDetailsQuery(account=self.address(chain_id, user))
        return await self.query(chain_id, self._vault(chain_id), query, VaultAccountDetailsResponse)

    async def virtual_stake(self, provider: str, consumer: str) -> BondStatusResponse:
        """The pairing's max cap and live virtual delegation on the consumer (C-45, C-49)."""
        pairing = self._pairing(provider, consumer)
        query = BondStatusQuery(contract=pairing.virtual_staking)
        return await self.query(consumer, "virtual_stake", query, BondStatusResponse, module=True)

    async def rewards(self, provider: str, consumer: str, user: str) -> dict[str, int]:
        """``user``'s withdrawable rewards per validator operator (consumer denom)."""
        pairing = self._pairing(provider, consumer)
        query = AllPendingRewardsQuery(user=self.address(provider, user), limit=30)
        answer = await self.query(
            provider, pairing.external_staking, query, AllPendingRewardsResponse
        )
        return {r.validator: r.rewards.amount for r in answer.rewards}

    async def balance(self, chain_id: str, user: str) -> int:
        """``user``'s balance of the chain's denom."""
        info = await self.account(chain_id, user)
        return info.balances.get(self._denom(chain_id), 0)

    async def channels(self, chain_id: str) -> tuple[ChannelStats, ...]:
        """Every channel end's counters on ``chain_id``."""
        return (await self._ask(chain_id, ChannelsRequest(), ChannelsReply)).channels

    # -- checks -------------------------------------------------------------------------------

    async def quiet(self) -> bool:
        """Whether no node has a packet in flight or a provider transaction pending."""
        for chain in self.topology.chains:
            status = await self.status(chain.id)
            if status.pending_packets or status.pending_txs:
                return False
        return True

    async def settled(self, timeout: float = 60.0, poll: float = 0.2) -> bool:
        """Wait until `quiet` (True) or ``timeout`` seconds of wall time pass (False)."""
        with anyio.move_on_after(timeout):
            while True:
                if await self.quiet():
                    return True
                await anyio.sleep(poll)
        return False

    async def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until every chain's node answers (after start-up or a restart: a link to
        a peer found down is re-dialled with backoff, and asks meanwhile fail at once with
        `mesh_actors.NoRoute`). Raises `TimeoutError` after ``timeout`` seconds."""
        with anyio.fail_after(timeout):
            for chain in self.topology.chains:
                while True:
                    try:
                        await self.status(chain.id)
                        break
                    except MeshActorsError:
                        await anyio.sleep(0.05)

    async def wait_committed(self, chain_id: str, height: int, timeout: float = 60.0) -> None:
        """Wait until ``chain_id`` has committed the block at ``height`` (a transaction's
        result comes back when it ran; its block is on disk once the next one began, so
        only then does it survive a crash of the node). A node that is down or restarting
        meanwhile is asked again. Raises `TimeoutError` after ``timeout`` seconds."""
        with anyio.fail_after(timeout):
            while True:
                try:
                    if (await self.status(chain_id)).height > height:
                        return
                except MeshActorsError:
                    pass  # down or restarting: ask again
                await anyio.sleep(0.05)

    async def _side(self, chain_id: str, provider: str, consumer: str) -> dict[str, Any]:
        request = PairingSideRequest(provider=provider, consumer=consumer)
        reply = await self._ask(chain_id, request, PairingSideReply)
        document: dict[str, Any] = json.loads(reply.side)
        return document

    async def check_invariants(self, *, quiescent: bool = False, attempts: int = 10) -> list[str]:
        """What is violated across the running mesh (empty if everything holds):

        - each node's chain-local invariants (provider P-18/P-20/P-21, caps C-45,
          conservation of the chain's denom against its genesis supply);
        - per channel, no packet both acknowledged and timed out more than it was sent, and
          the counterparty received no more than was sent; with ``quiescent``, every packet
          sent was acknowledged once or timed out once (nothing pending) and every packet
          acknowledged was received exactly once on the other side (I-11, I-17);
        - with ``quiescent``, each pairing's provider and consumer views agree
          (I-64..I-69, as `Mesh.check_invariants`).

        The nodes are read one after the other while the mesh runs: with ``quiescent`` a
        reading that caught something in flight (a consumer's epoch sends packets on its
        own) is taken again after the mesh settles, up to ``attempts`` times; what the last
        reading shows is returned.
        """
        out: list[str] = []
        for _ in range(max(1, attempts)):
            out, in_flight = await self._reading(quiescent)
            if not (quiescent and in_flight):
                return out
            await self.settled()
        return out

    async def _reading(self, quiescent: bool) -> tuple[list[str], bool]:
        out: list[str] = []
        in_flight = False
        ends: dict[tuple[str, str], ChannelStats] = {}
        for chain in self.topology.chains:
            reply = await self._ask(chain.id, InvariantsRequest(), InvariantsReply)
            out += [f"{chain.id}: {v}" for v in reply.violations]
            for end in await self.channels(chain.id):
                ends[(chain.id, end.channel_id)] = end
        counterparty = self._counterparties()
        for (chain_id, channel_id), end in ends.items():
            other_chain = counterparty.get(chain_id, {}).get(channel_id)
            other = ends.get((other_chain, end.counterparty_channel_id)) if other_chain else None
            where = f"{chain_id} {channel_id}"
            if end.acked + end.timed_out + end.pending != end.sent:
                out.append(
                    f"{where}: sent {end.sent} != acked {end.acked} + timed out "
                    f"{end.timed_out} + pending {end.pending}"
                )
            if other is not None and other.received > end.sent:
                out.append(f"{where}: {other.received} received of {end.sent} sent")
            if quiescent:
                if end.pending:
                    in_flight = True
                    out.append(f"{where}: {end.pending} packets pending at quiescence")
                if other is not None and other.received != end.acked:
                    in_flight = True
                    out.append(
                        f"{where}: {end.acked} acked but {other.received} received on "
                        f"{other_chain} (exactly once, I-11)"
                    )
        if quiescent:
            views = await self._view_violations()
            in_flight = in_flight or any("pending" in v for v in views)
            out += views
        return out, in_flight

    def _counterparties(self) -> dict[str, dict[str, str]]:
        # which chain is at the other end of each known channel (from the manifest)
        out: dict[str, dict[str, str]] = {}
        for p in self.manifest.pairings:
            out.setdefault(p.consumer, {})[p.consumer_channel] = p.provider
            out.setdefault(p.provider, {})[p.provider_channel] = p.consumer
        return out

    async def _view_violations(self) -> list[str]:
        out: list[str] = []
        for p in self.manifest.pairings:
            provider = await self._side(p.provider, p.provider, p.consumer)
            consumer = await self._side(p.consumer, p.provider, p.consumer)
            p_side = ProviderSide(
                stakes={(u, v): (lo, hi, r) for u, v, (lo, hi, r) in provider["stakes"]},
                validators=provider["validators"],
                pending_txs=provider["pending_txs"],
            )
            c_side = ConsumerSide(
                price=consumer["price"],
                adjustment=consumer["adjustment"],
                cap=consumer["cap"],
                delegated=consumer["delegated"],
                requested=consumer["requested"],
                records={(a, b): n for a, b, n in consumer["records"]},
                reserve=consumer["reserve"],
            )
            out += delegation_view_violations(
                f"{p.provider}→{p.consumer}",
                p_side,
                c_side,
                compare_amounts=True,
                operations=self._operations.get((p.provider, p.consumer), {}),
            )
        return out
