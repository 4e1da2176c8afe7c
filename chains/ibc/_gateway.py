"""The IBC gateway actor of one chain, and how to put IBC on a running chain.

`install_ibc(chain)` plugs an `IbcModule` into the chain and spawns its `IbcGateway` as a
component of the chain's host, at ``<chain>/ibc`` (`GATEWAY_NAME`), so the chain's actor
tree is the host, its contracts, and ``<chain>/ibc/channel-N``; the host respawns the gateway
if it restarts. The gateway is what relayers talk to
for chain-level operations and queries:

- `IbcBatch` of chain-level operations (client creation and updates, connection handshake,
  ``ChanOpenInit`` / ``ChanOpenTry``), run as one unit through the chain's host; channel
  operations belong to the channel actors and are refused here (`IbcWrongEndpoint`);
- queries of what is provable — the state committed in the last ended block (I-2):
  `QueryHeader`, `QueryChannels`, `QueryRelayState` — answered from the module's state
  directly: units run synchronously in the host's task, so no unit is ever seen half done;
- `Subscribe`: after each block with IBC activity the gateway tells every subscriber an
  `IbcBlockNotice` (subscriptions are leases: a relayer that stops renewing is forgotten).

It spawns one `ChannelActor` child per channel end (``<chain>/ibc/channel-N``), at start for
the ends already in the store and as ends are created. Holding no state of its own, it can be
stopped and restarted at will; the chain's state is untouched (I-26).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Final

from chains.host._chain import Chain
from chains.host._msgs import HostMsg
from chains.ibc._channel_actor import ChannelActor, run_ibc_batch, wrong_endpoint_result
from chains.ibc._module import IbcConfig, IbcModule
from chains.ibc._msgs import (
    ChannelsReply,
    ChanOpenInit,
    ChanOpenTry,
    ConnOpenAck,
    ConnOpenConfirm,
    ConnOpenInit,
    ConnOpenTry,
    CreateClient,
    HeaderReply,
    IbcBatch,
    IbcBatchResult,
    IbcBlockNotice,
    OpResult,
    QueryChannels,
    QueryHeader,
    QueryRelayState,
    RelayState,
    Subscribe,
    Unsubscribe,
    UpdateClient,
)
from mesh_actors import Actor, ActorRef, MailboxConfig, Message, handler

__all__ = ["GATEWAY_NAME", "GatewayMsg", "IbcGateway", "IbcHandle", "install_ibc"]

_CHAIN_OPS = (
    CreateClient,
    UpdateClient,
    ConnOpenInit,
    ConnOpenTry,
    ConnOpenAck,
    ConnOpenConfirm,
    ChanOpenInit,
    ChanOpenTry,
)


GATEWAY_NAME: Final = "ibc"
"""The gateway's name under the chain's host (``<chain>/ibc``)."""


class _Committed(Message):
    """Local only: the module's block notice, handed from the host's task to the gateway's."""

    type_name = "ibc.gateway.committed"
    notice: IbcBlockNotice


GatewayMsg = (
    IbcBatch | QueryHeader | QueryChannels | QueryRelayState | Subscribe | Unsubscribe | _Committed
)


class IbcGateway(Actor[GatewayMsg]):
    """One chain's IBC gateway (see the module docstring)."""

    mailbox = MailboxConfig(capacity=100_000)

    def __init__(self, module: IbcModule, host: ActorRef[HostMsg]) -> None:
        self._module = module
        self._host = host
        self._subscribers: dict[str, float] = {}  # address -> lease end (clock time)
        self._channels: set[str] = set()

    async def on_start(self) -> None:
        """Listen to the module and spawn the actors of the existing channel ends."""
        self._module.add_listener(self._listen)
        for end in self._module.channel_ends():
            self._ensure_channel(end.channel_id)

    async def on_stop(self) -> None:
        self._module.remove_listener(self._listen)

    def _listen(self, notice: IbcBlockNotice) -> None:
        # called in the chain host's task: hand over to our own task
        self.ctx.self_ref.tell_nowait(_Committed(notice=notice))

    def _ensure_channel(self, channel_id: str) -> None:
        if channel_id in self._channels:
            return
        self._channels.add(channel_id)
        factory = partial(ChannelActor, self._module, self._host, channel_id)
        self.ctx.spawn(factory, name=channel_id, mailbox=ChannelActor.mailbox)

    @handler
    async def on_batch(self, batch: IbcBatch) -> IbcBatchResult:
        """Run the chain-level operations of ``batch`` as one unit (others are refused)."""
        ops: list[Any] = []
        refused: dict[int, OpResult] = {}
        for index, op in enumerate(batch.ops):
            if isinstance(op, _CHAIN_OPS):
                ops.append(op)
            else:
                refused[index] = wrong_endpoint_result(op, "gateway")
        result = await run_ibc_batch(self, self._host, self._module, batch, tuple(ops), refused)
        for end in self._module.channel_ends():
            self._ensure_channel(end.channel_id)
        return result

    @handler
    def on_query_header(self, _: QueryHeader) -> HeaderReply:
        return HeaderReply(header=self._module.committed_header())

    @handler
    def on_query_channels(self, _: QueryChannels) -> ChannelsReply:
        return self._module.channels_reply()

    @handler
    def on_query_relay_state(self, query: QueryRelayState) -> RelayState:
        return self._module.relay_state(query)

    @handler
    def on_subscribe(self, msg: Subscribe) -> None:
        self._subscribers[msg.subscriber] = self.ctx.clock.now() + msg.lease

    @handler
    def on_unsubscribe(self, msg: Unsubscribe) -> None:
        self._subscribers.pop(msg.subscriber, None)

    @handler
    def on_committed(self, msg: _Committed) -> None:
        """Fan the notice out to the subscribers whose lease still runs."""
        notice = msg.notice
        for activity in notice.activity:
            self._ensure_channel(activity.channel_id)
        if not self._subscribers:
            return
        now = self.ctx.clock.now()
        system = self.ctx.system
        for address, until in list(self._subscribers.items()):
            if until < now:
                del self._subscribers[address]
                continue
            try:
                system.ref(address).tell_nowait(notice)
            except Exception as exc:  # a gone relayer must not stop the others' notices
                self.ctx.log.debug("notice not delivered", to=address, error=repr(exc))


@dataclass(frozen=True)
class IbcHandle:
    """IBC on one running chain: the module (state, inspection) and the gateway actor."""

    chain: Chain
    module: IbcModule
    gateway: ActorRef[GatewayMsg]

    @property
    def gateway_address(self) -> str:
        """The gateway's address (``system/path``), as relayers are configured with it."""
        return str(self.gateway.address)

    def channel_address(self, channel_id: str) -> str:
        """The address of a channel end's actor."""
        return str(self.gateway.address.child(channel_id))

    async def run(self, *ops: Any, signer: str = "user") -> IbcBatchResult:
        """Submit chain-level operations to the gateway and wait for their results."""
        result: IbcBatchResult = await self.gateway.ask(
            IbcBatch(ops=ops, signer=signer), expect=IbcBatchResult
        )
        return result

    async def run_on_channel(
        self, channel_id: str, *ops: Any, signer: str = "user"
    ) -> IbcBatchResult:
        """Submit operations to a channel end's actor and wait for their results."""
        ref = self.chain.system.ref(self.gateway.address.child(channel_id))
        result: IbcBatchResult = await ref.ask(
            IbcBatch(ops=ops, signer=signer), expect=IbcBatchResult
        )
        return result


async def install_ibc(chain: Chain, config: IbcConfig | None = None) -> IbcHandle:
    """Plug an IBC module into the running ``chain`` and spawn its gateway.

    Raises `ModuleExists` if the chain already has an ``"ibc"`` module.
    """
    await chain.add_module(partial(IbcModule, config=config))
    module = await chain.read(lambda ex: ex.module_object("ibc"))
    assert isinstance(module, IbcModule)
    # so that a chain producing lazy blocks stops only at blocks with IBC activity
    await chain.read(
        lambda ex: ex.set_block_hint(module.name, module.due_height, idle_memory=module.idle_memory)
    )
    gateway = await chain.spawn_component(
        GATEWAY_NAME, partial(IbcGateway, module, chain.host), mailbox=IbcGateway.mailbox
    )
    return IbcHandle(chain=chain, module=module, gateway=gateway)
