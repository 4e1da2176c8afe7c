"""A step-wise IBC coordinator over a running mesh: a test relays one packet, one ack, one
timeout, one client update at a time, in the order it chooses.

ibc-go gives Go tests a *coordinator* that drives two chains and a path by hand; this is
ours, over the linked pair of a running `Mesh` (``chains.mesh``), with the relayer's own
planner (`plan_path`) underneath: every step it submits is exactly what a relayer would
submit for that item (the same operation, proof height and light-client updates), only
chosen and ordered by the test. Randomised chaos runs find an interleaving; a coordinator
test pins it down::

    async with Mesh(topology) as mesh, IbcCoordinator(mesh, "osmosis", "juno") as coord:
        await mesh.cross_stake("osmosis", "juno", "alice", "val1", 100)
        await coord.commit()                              # end the blocks: provable now
        (packet,) = await coord.pending("osmosis")
        delivered = await coord.relay_packet(packet)      # juno receives it (I-10)
        again = await coord.submit(delivered.step)        # the same delivery once more:
        assert again.items == ("noop",)                   # refused by the receipt
        await coord.commit()
        await coord.relay_ack(packet)                     # osmosis commits the stake

Entering the coordinator pauses the link's own relayers (so the test has the path to
itself) and leaving it resumes them. Steps go straight to the chains' IBC gateways, inside
the mesh's process: no network faults apply to them.

**Commits.** IBC proves only what a chain's last *ended* block committed (I-2): after a
transaction the packet it sent is not provable until the block ends. `commit` ends the
open blocks (the mesh's clock moves one block time); `advance_chain` moves one chain's
clock alone (blocks produced on that chain only, its time runs ahead of the others': how
a test makes a packet time out on its destination while the source stands still, I-14,
I-23); `run_epoch` produces a consumer's blocks up to and past its next epoch boundary
(the virtual-staking epoch, C-45).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from chains.contract._errors import ChainError
from chains.contract._ibc_types import IbcPacket
from chains.ibc._msgs import (
    AcknowledgePackets,
    HeaderReply,
    IbcBatch,
    IbcBatchResult,
    IbcHeader,
    OpResult,
    QueryHeader,
    QueryRelayState,
    RecvPackets,
    RelayState,
    TimeoutPackets,
    UpdateClient,
)
from chains.ibc._relay_plan import GATEWAY, PathSide, RelayPlan, destination_keys, plan_path
from chains.mesh._mesh import Mesh
from chains.mesh._relaying import MeshLink

__all__ = [
    "CoordinatorError",
    "IbcCoordinator",
    "NotOnLink",
    "NotRelayable",
    "Step",
    "StepResult",
]

# clock seconds a gateway may take to answer (in-process: at once, unless the chain is down)
_ASK_TIMEOUT = 60.0
_SIGNER = "coordinator"


class CoordinatorError(ChainError):
    """Base of the coordinator's errors."""


class NotRelayable(CoordinatorError):
    """The relayer's planner has no ``what`` (``"packet"``, ``"ack"``, ``"timeout"``) for
    the packet ``key`` (``chain/channel/sequence`` on its source) now: it is not committed
    yet, already done, or not due (a receipt exists, the timeout has not passed)."""

    fields = ("what", "key")
    what: str
    key: str

    def __init__(self, what: str, key: str) -> None:
        super().__init__(what, key)

    def __str__(self) -> str:
        return f"the planner has no {self.what} to relay for packet {self.key} now"


class NotOnLink(CoordinatorError, ValueError):
    """``chain_id`` is not one of the coordinated link's two chains (``a``, ``b``)."""

    fields = ("chain_id", "a", "b")
    chain_id: str
    a: str
    b: str

    def __init__(self, chain_id: str, a: str, b: str) -> None:
        super().__init__(chain_id, a, b)


@dataclass(frozen=True)
class Step:
    """One transaction a relayer would submit: ``ops`` (light-client updates first) for the
    IBC actor ``actor`` (a channel id, or the gateway) of chain ``chain_id``."""

    chain_id: str
    actor: str
    ops: tuple[Any, ...]


@dataclass(frozen=True)
class StepResult:
    """What the chain answered to a `Step`."""

    step: Step
    result: IbcBatchResult

    @property
    def last(self) -> OpResult:
        """The result of the step's last operation (the packet operation, after updates)."""
        if not self.result.results:
            raise IndexError(f"the batch did not run: {self.result.error}")
        return self.result.results[-1]

    @property
    def items(self) -> tuple[str, ...]:
        """Per packet of the last operation: ``"ok"``, ``"noop"`` (redundant: refused by
        a receipt or an ack already processed, I-10.3, I-13) or the error's name."""
        return self.last.items

    @property
    def ok(self) -> bool:
        """Whether every operation ran (``ok`` or ``noop``) and every packet was applied."""
        return (
            not self.result.error
            and all(r.status != "error" for r in self.result.results)
            and all(item == "ok" for item in self.last.items)
        )


def _packet_name(packet: IbcPacket, chain_id: str) -> str:
    """``chain/channel/sequence`` of ``packet`` on its source chain ``chain_id``."""
    return f"{chain_id}/{packet.src.channel_id}/{packet.sequence}"


class IbcCoordinator:
    """Step-wise relaying on the link between chains ``a`` and ``b`` of ``mesh`` (see the
    module docstring). Use it as an async context manager (pauses the link's relayers).

    Every method may raise what the actor runtime raises for a chain that is down
    (`ActorNotFound`, `AskTimeout`); cancelling one abandons its wait (a step already sent
    still runs on its chain).
    """

    def __init__(self, mesh: Mesh, a: str, b: str, *, limit: int = 1000) -> None:
        self.mesh = mesh
        self.link: MeshLink = mesh.link(a, b)
        ends = self.link.ends
        if ends is None:  # a running mesh's links are set up
            raise RuntimeError(f"link {a}-{b} is not set up")
        self._ends = {ends.a.chain_id: ends.a, ends.b.chain_id: ends.b}
        self._sides = {
            end.chain_id: PathSide(end.chain_id, end.client_id, end.connection_id)
            for end in (ends.a, ends.b)
        }
        self.a, self.b = ends.a.chain_id, ends.b.chain_id
        self.limit = limit
        self._channels: dict[str, set[tuple[str, str]]] = {}

    async def __aenter__(self) -> IbcCoordinator:
        """Pause the link's relayers and wait until they have taken the pause."""
        self.link.pause()
        await self.link.statistics()  # answered after the pause, in mailbox order
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Resume the link's relayers."""
        self.link.resume()

    # -- reading ----------------------------------------------------------------------------

    def other(self, chain_id: str) -> str:
        """The other chain of the link. Raises `NotOnLink` for a chain not on it."""
        if chain_id not in self._sides:
            raise NotOnLink(chain_id, self.a, self.b)
        return self.b if chain_id == self.a else self.a

    async def _ask(self, chain_id: str, message: Any, expect: type[Any], actor: str = "") -> Any:
        gateway = self._ends[chain_id].gateway
        address = gateway if not actor or actor == GATEWAY else f"{gateway}/{actor}"
        ref = self.mesh.chain(chain_id).system.ref(address)
        return await ref.ask(message, expect=expect, timeout=_ASK_TIMEOUT)

    async def _state(self, chain_id: str, keys: tuple[Any, ...] = ()) -> RelayState:
        query = QueryRelayState(
            connection_id=self._sides[chain_id].connection_id, limit=self.limit, keys=keys
        )
        state: RelayState = await self._ask(chain_id, query, RelayState)
        return state

    async def plan(self) -> RelayPlan:
        """What a relayer clearing the path now would submit (`plan_path` over both chains'
        committed state: pending packets, receipts, acks, channel ends)."""
        a, b = self.a, self.b
        a_pending = await self._state(a)
        b_answer = await self._state(b, destination_keys(a_pending))
        a_status = await self._state(a, destination_keys(b_answer))
        return plan_path(self._sides[a], a_pending, a_status, self._sides[b], b_answer, b_answer)

    async def pending(self, chain_id: str) -> tuple[IbcPacket, ...]:
        """The packets ``chain_id`` sent on this link that are committed (provable) and
        neither acknowledged nor timed out yet, lowest sequences first."""
        self.other(chain_id)
        return (await self._state(chain_id)).pending

    async def header(self, chain_id: str) -> IbcHeader | None:
        """``chain_id``'s latest committed header (what a client update would carry)."""
        reply: HeaderReply = await self._ask(chain_id, QueryHeader(), HeaderReply)
        return reply.header

    # -- steps ------------------------------------------------------------------------------

    async def submit(self, step: Step) -> StepResult:
        """Send ``step`` as one transaction of its chain and return the chain's answer
        (also to send a step again: a duplicate delivery)."""
        batch = IbcBatch(ops=step.ops, signer=_SIGNER)
        result: IbcBatchResult = await self._ask(step.chain_id, batch, IbcBatchResult, step.actor)
        return StepResult(step, result)

    def _find(
        self, plan: RelayPlan, kind: type[Any], chain_id: str, packet: IbcPacket, source: str
    ) -> Step:
        for (chain, actor), ops in plan.ops.items():
            if chain != chain_id:
                continue
            for op in ops:
                if not isinstance(op, kind):
                    continue
                packets = (
                    [a.packet for a in op.acks]
                    if isinstance(op, AcknowledgePackets)
                    else list(op.packets)
                )
                if packet not in packets:
                    continue
                i = packets.index(packet)
                proofs = op.proofs[i : i + 1] if op.proofs else ()
                if isinstance(op, AcknowledgePackets):
                    one = op.model_copy(update={"acks": (op.acks[i],), "proofs": proofs})
                else:
                    one = op.model_copy(update={"packets": (packet,), "proofs": proofs})
                client = self._sides[chain_id].client_id
                updates = tuple(
                    UpdateClient(client_id=client, header=header)
                    for _, header in sorted(plan.headers[(chain, actor)].items())
                )
                return Step(chain_id, actor, (*updates, one))
        what: dict[type[Any], str] = {
            RecvPackets: "packet",
            AcknowledgePackets: "ack",
            TimeoutPackets: "timeout",
        }
        raise NotRelayable(what[kind], _packet_name(packet, source))

    async def _source_of(self, packet: IbcPacket) -> str:
        # the chain whose end of the link is the packet's source (port, channel): channel
        # ids repeat across chains, ports (contract addresses) do not
        src = (packet.src.port_id, packet.src.channel_id)
        for chain_id in self._sides:
            if chain_id not in self._channels:
                state = await self._state(chain_id)
                self._channels[chain_id] = {(v.port_id, v.channel_id) for v in state.channels}
            if src in self._channels[chain_id]:
                return chain_id
        self._channels.clear()  # a channel opened since: look again next time
        raise NotRelayable("packet", f"?/{packet.src.channel_id}/{packet.sequence}")

    async def packet_step(self, packet: IbcPacket) -> Step:
        """The step that delivers ``packet`` to its destination now, as the planner would
        build it (with the client update its proof needs), without sending it: a test may
        hold it back and send it later, stale. Raises `NotRelayable` if the planner would
        not deliver it now (not committed on its source yet, received already, timed out,
        I-10, I-14)."""
        source = await self._source_of(packet)
        return self._find(await self.plan(), RecvPackets, self.other(source), packet, source)

    async def ack_step(self, packet: IbcPacket) -> Step:
        """The step that carries ``packet``'s acknowledgement back to its source (I-13),
        not sent. Raises `NotRelayable` if no ack is written and committed yet."""
        source = await self._source_of(packet)
        return self._find(await self.plan(), AcknowledgePackets, source, packet, source)

    async def timeout_step(self, packet: IbcPacket) -> Step:
        """The step that times ``packet`` out on its source (I-14; on a closed channel
        I-15), not sent. Raises `NotRelayable` if the planner sees no timeout: the
        destination received it, or its committed time and height have not reached the
        packet's timeout."""
        source = await self._source_of(packet)
        return self._find(await self.plan(), TimeoutPackets, source, packet, source)

    async def relay_packet(self, packet: IbcPacket) -> StepResult:
        """Build (`packet_step`) and send the delivery of ``packet``; raises as that."""
        return await self.submit(await self.packet_step(packet))

    async def relay_ack(self, packet: IbcPacket) -> StepResult:
        """Build (`ack_step`) and send ``packet``'s acknowledgement; raises as that."""
        return await self.submit(await self.ack_step(packet))

    async def timeout_packet(self, packet: IbcPacket) -> StepResult:
        """Build (`timeout_step`) and send ``packet``'s timeout; raises as that."""
        return await self.submit(await self.timeout_step(packet))

    async def update_client(self, chain_id: str) -> StepResult:
        """Update ``chain_id``'s light client of the other chain to the other's latest
        committed header. Raises `NotRelayable` (``"client update"``) if the other chain
        has committed no block yet."""
        header = await self.header(self.other(chain_id))
        if header is None:
            raise NotRelayable("client update", self.other(chain_id))
        update = UpdateClient(client_id=self._sides[chain_id].client_id, header=header)
        return await self.submit(Step(chain_id, GATEWAY, (update,)))

    # -- time -------------------------------------------------------------------------------

    async def commit(self) -> None:
        """End the chains' open blocks: the mesh's clock moves one (slowest) block time,
        every chain produces its next block, what ran is provable (I-2). Relayers stay
        paused."""
        slowest = max(self.mesh.chain(c).config.block_time for c in (self.a, self.b))
        await self.mesh.advance(seconds=slowest)

    async def advance_chain(self, chain_id: str, seconds: float) -> int:
        """Move ``chain_id``'s clock alone by at least ``seconds``: its blocks are produced
        now, one block time apart, and its time stays that far ahead of the others'.
        Returns its new height."""
        self.other(chain_id)
        chain = self.mesh.chain(chain_id)
        blocks = max(1, math.ceil(seconds / max(1.0, chain.config.block_time)))
        return await chain.produce_blocks(blocks)

    async def run_epoch(self, consumer: str) -> int:
        """Produce ``consumer``'s blocks through its next virtual-staking epoch boundary
        (one epoch's worth: the boundary is crossed once, C-45). Returns its new height."""
        chain = self.mesh.chain(consumer)
        spec = next(c for c in self.mesh.topology.chains if c.id == consumer)
        return await chain.produce_blocks(spec.epoch_blocks)
