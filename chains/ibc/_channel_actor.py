"""Channel-end actors: the addressable endpoint of each IBC channel end (I-1).

Every channel end of a chain has an actor, a child of the chain's IBC gateway named by the
channel id (``<gateway>/channel-N``). Relayers send it `IbcBatch`\\ es of operations on that
channel (packets received on it, acks and timeouts of packets sent from it, handshake and
close steps, preceded by the client updates their proofs need). The actor turns each batch
into one unit run by the chain's host (`RunUnit`), so relayer operations run in the chain's
serial order with every other transaction (ARCHITECTURE rule 2); it answers with an
`IbcBatchResult`, and also tells it to the batch's ``reply_to`` so a relayer need not wait.

It holds no state of its own: everything is in the chain's store, so the actor can be
stopped and restarted at will.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from chains.host._msgs import HostMsg, RunUnit
from chains.host._tx_result import TxResult
from chains.ibc._errors import IbcWrongEndpoint
from chains.ibc._msgs import (
    AcknowledgePackets,
    ChanCloseConfirm,
    ChanCloseInit,
    ChanOpenAck,
    ChanOpenConfirm,
    IbcBatch,
    IbcBatchResult,
    OpResult,
    RecvPackets,
    TimeoutPackets,
    UpdateClient,
)
from mesh_actors import Actor, ActorRef, MailboxConfig, handler

if TYPE_CHECKING:
    from chains.host._executor import TxExecutor
    from chains.ibc._module import IbcModule

__all__ = ["ChannelActor", "run_ibc_batch", "wrong_endpoint_result"]


def _apply(module: IbcModule, ops: tuple[Any, ...], signer: str, executor: TxExecutor) -> Any:
    return module.run_ops(ops, signer)


async def run_ibc_batch(
    actor: Actor[Any],
    host: ActorRef[HostMsg],
    module: IbcModule,
    batch: IbcBatch,
    ops: tuple[Any, ...],
    refused: dict[int, OpResult],
) -> IbcBatchResult:
    """Run ``ops`` as one unit through ``host``; merge in the ``refused`` results (by index
    in the batch); tell the result to ``batch.reply_to`` if set; return it.

    Raises what the host ask raises (`AskTimeout`, `ActorSystemClosed`...): the batch may
    still run.
    """
    chain_id = module.chain_id
    if ops:
        unit = RunUnit.model_construct(body=partial(_apply, module, ops, batch.signer))
        tx: TxResult = await host.ask(unit, expect=TxResult)
        if tx.ok:
            ran: tuple[OpResult, ...] = tx.data
            result = IbcBatchResult(
                chain_id=chain_id, height=tx.height, results=_merge(ran, refused)
            )
        else:
            result = IbcBatchResult(
                chain_id=chain_id, height=tx.height, results=(), error=str(tx.error)
            )
    else:
        result = IbcBatchResult(chain_id=chain_id, height=0, results=_merge((), refused))
    if batch.reply_to is not None:
        try:
            actor.ctx.system.ref(batch.reply_to).tell_nowait(result)
        except Exception as exc:  # a relayer that went away must not fail the chain's actor
            actor.ctx.log.debug("batch result not delivered", to=batch.reply_to, error=repr(exc))
    return result


def _merge(ran: tuple[OpResult, ...], refused: dict[int, OpResult]) -> tuple[OpResult, ...]:
    if not refused:
        return ran
    out: list[OpResult] = []
    it = iter(ran)
    for index in range(len(ran) + len(refused)):
        out.append(refused[index] if index in refused else next(it))
    return tuple(out)


def wrong_endpoint_result(op: Any, endpoint: str) -> OpResult:
    """The result of an operation sent to an actor that does not own it."""
    error = IbcWrongEndpoint(type(op).__name__, endpoint)
    return OpResult(status="error", error=error.name, detail=str(error))


class ChannelActor(Actor[IbcBatch]):
    """The actor of channel end ``channel_id`` (see the module docstring)."""

    mailbox = MailboxConfig(capacity=100_000)

    def __init__(self, module: IbcModule, host: ActorRef[HostMsg], channel_id: str) -> None:
        self._module = module
        self._host = host
        self.channel_id = channel_id

    def _owns(self, op: Any) -> bool:
        channel_id = self.channel_id
        # set comprehensions rather than all(generator): one check per packet, no generator
        # frame switch per packet
        if isinstance(op, RecvPackets):
            return {p.dest.channel_id for p in op.packets} <= {channel_id}
        if isinstance(op, TimeoutPackets):
            return {p.src.channel_id for p in op.packets} <= {channel_id}
        if isinstance(op, AcknowledgePackets):
            return {a.packet.src.channel_id for a in op.acks} <= {channel_id}
        if isinstance(op, ChanOpenAck | ChanOpenConfirm | ChanCloseInit | ChanCloseConfirm):
            return op.channel_id == channel_id
        return isinstance(op, UpdateClient)

    @handler
    async def on_batch(self, batch: IbcBatch) -> IbcBatchResult:
        """Run the batch's operations on this channel (others are refused with
        `IbcWrongEndpoint`). On cancellation the ask to the host is abandoned; the unit may
        still run."""
        ops: list[Any] = []
        refused: dict[int, OpResult] = {}
        for index, op in enumerate(batch.ops):
            if self._owns(op):
                ops.append(op)
            else:
                refused[index] = wrong_endpoint_result(op, self.channel_id)
        return await run_ibc_batch(self, self._host, self._module, batch, tuple(ops), refused)
