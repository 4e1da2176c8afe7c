"""Awaiting a cross-chain effect: the handle of a transaction that sent a packet.

`Mesh.cross_stake`, `Mesh.unstake` and `Mesh.claim_rewards` start work on the other chain:
the provider's transaction commits at once, with a pending transaction (P-7..P-17), and the
effect is decided when the packet's acknowledgement (or its timeout) comes back to the
provider. They return a `CrossChainTx`: the transaction's `TxResult` (so ``result.ok`` and
every other field read as before) that can also be awaited for that decision::

    stake = await mesh.cross_stake("osmosis", "juno", "alice", "val1", 500_000)
    outcome = await stake.settled()      # or: outcome = await stake
    assert outcome is Settlement.COMMITTED

The decision is read from the provider chain's committed events, not by polling: the IBC
module's ``acknowledge_packet`` / ``timeout_packet`` event of that packet (I-25, by source
channel and sequence) and the external staking contract's event in the same transaction
(``stake_committed`` / ``stake_rolled_back``, ``unstake_...``, ``rewards_...``, P-65,
P-66, P-68, P-69). A provider chain is followed only while a handle of it waits, so a mesh
whose embedder never awaits a handle pays nothing for them.
"""

from __future__ import annotations

import enum
from collections.abc import Generator
from typing import Any

import anyio
import anyio.abc
import anyio.lowlevel

from chains.host._chain import Chain
from chains.host._events import ChainEvent
from chains.host._tx_result import TxResult
from chains.mesh._errors import MeshNotRunning
from mesh_actors import Subscription

__all__ = ["CrossChainTx", "Settlement"]

_IBC = "ibc"
_SEND = "send_packet"
_ACK = "acknowledge_packet"
_TIMEOUT = "timeout_packet"
# the external staking contract's settlement events (P-65, P-66, P-68, P-69, P-75)
_COMMITTED_EVENTS = frozenset({"stake_committed", "unstake_committed", "rewards_transferred"})
_ROLLED_BACK_EVENTS = frozenset(
    {"stake_rolled_back", "unstake_rolled_back", "rewards_transfer_failed", "TxNotPending"}
)


class Settlement(enum.StrEnum):
    """How a cross-chain transaction ended.

    - ``COMMITTED``: a success ack came back and the provider committed (the stake counts,
      the unbonding started, the rewards left); also a successful transaction that sent no
      packet (nothing to wait for);
    - ``ROLLED_BACK``: an error ack came back and the provider rolled back (P-66, P-69);
    - ``TIMED_OUT``: the packet timed out (or its channel closed) and the provider rolled
      back (P-16, I-100);
    - ``FAILED``: the transaction itself failed (see ``error``): nothing was sent.
    """

    COMMITTED = "committed"
    ROLLED_BACK = "rolled_back"
    TIMED_OUT = "timed_out"
    FAILED = "failed"


class _Watch:
    """The mutable watch state of a `CrossChainTx` (the result itself is frozen)."""

    __slots__ = ("contract", "done", "event", "failure", "outcome", "packet", "settlement_events")

    def __init__(self, contract: str) -> None:
        self.contract = contract
        self.done = False
        # made by the first wait (issue 16: an event per handle was ~850 bytes per user
        # while a mesh's users' handles waited, most of them never awaited one by one)
        self.event: anyio.Event | None = None
        self.failure: BaseException | None = None
        self.outcome: Settlement | None = None
        self.packet: tuple[str, int] | None = None
        self.settlement_events: tuple[ChainEvent, ...] = ()


class CrossChainTx(TxResult, frozen=True, gc=True):
    """A `TxResult` whose cross-chain effect can be awaited (see the module docstring).

    ``packet`` is ``(source channel, sequence)`` of the packet the transaction sent on the
    provider chain (``None`` if it sent none); ``outcome`` is ``None`` until settled;
    ``settlement_events`` are the provider's events of the acknowledgement or timeout of
    that packet (the contract's settlement events, then the IBC event), empty before.
    """

    # the watch state, one field after the result's: a handle is tracked by the garbage
    # collector (its state holds an `anyio.Event` once awaited and, once abandoned, an
    # exception)
    _watch: _Watch

    @classmethod
    def _of(cls, result: TxResult, *, contract: str, channel: str) -> CrossChainTx:
        watch = _Watch(contract)
        handle = cls(
            result.ok,
            result.data,
            result.error,
            result.events,
            result.contracts,
            result.height,
            result.time,
            result.tx_index,
            watch,
        )
        if not result.ok:
            handle._settle(Settlement.FAILED)
            return handle
        for event in result.events:
            sent = event.type == _SEND and event.source == _IBC
            if sent and event.get("src_channel") == channel:
                watch.packet = (channel, int(event.get("seq") or 0))
                break
        if watch.packet is None:
            handle._settle(Settlement.COMMITTED)
        return handle

    @property
    def packet(self) -> tuple[str, int] | None:
        """``(source channel, sequence)`` of the packet sent, or ``None``."""
        return self._watch.packet

    @property
    def outcome(self) -> Settlement | None:
        """How the transaction ended; ``None`` until settled."""
        return self._watch.outcome

    @property
    def settlement_events(self) -> tuple[ChainEvent, ...]:
        """The provider's events that settled the transaction (empty before)."""
        return self._watch.settlement_events

    @property
    def done(self) -> bool:
        """Whether the outcome is known (or the mesh closed before it was)."""
        return self._watch.done

    async def settled(self) -> Settlement:
        """Wait until the provider decided the transaction's fate and return it.

        Raises `MeshNotRunning` if the mesh closed before the decision came. Cancellation
        only stops this wait: the handle keeps watching and can be awaited again.
        """
        watch = self._watch
        if watch.done:
            await anyio.lowlevel.checkpoint()  # as a wait on a set event does
        else:
            if watch.event is None:
                watch.event = anyio.Event()
            await watch.event.wait()
        if watch.failure is not None:
            raise watch.failure
        assert watch.outcome is not None
        return watch.outcome

    def __await__(self) -> Generator[Any, None, Settlement]:
        return self.settled().__await__()

    def _settle(self, outcome: Settlement, events: tuple[ChainEvent, ...] = ()) -> None:
        watch = self._watch
        if watch.done:
            return
        watch.outcome = outcome
        watch.settlement_events = events
        watch.done = True
        if watch.event is not None:
            watch.event.set()

    def _abandon(self, error: BaseException) -> None:
        watch = self._watch
        if watch.done:
            return
        watch.failure = error
        watch.done = True
        if watch.event is not None:
            watch.event.set()


def _decide(handle: CrossChainTx, event: ChainEvent, segment: list[ChainEvent]) -> None:
    """Settle ``handle`` from its packet's IBC ``event`` and the callback events before it."""
    mine = tuple(e for e in segment if e.source == handle._watch.contract)
    if event.type == _TIMEOUT:
        outcome = Settlement.TIMED_OUT
    elif any(e.type in _COMMITTED_EVENTS for e in mine):
        outcome = Settlement.COMMITTED
    else:
        # an error ack, or an ack whose callback found the pending tx already resolved (a
        # channel close fails every pending tx, P-83a): not committed
        outcome = Settlement.ROLLED_BACK
    handle._settle(outcome, (*mine, event))


class SettlementWatch:
    """Resolves the `CrossChainTx` handles of one mesh from its provider chains' events.

    `track` registers a handle and, if its chain is not followed yet, subscribes to the
    chain's events at once (before any later event can be committed) and starts a follower
    in ``start_soon``'s task group; a follower ends when no handle of its chain waits.
    """

    def __init__(self) -> None:
        self._waiting: dict[str, dict[tuple[str, int], CrossChainTx]] = {}
        self._following: dict[str, Subscription[ChainEvent]] = {}
        self._closed = False

    def track(
        self, chain: Chain, handle: CrossChainTx, tasks: anyio.abc.TaskGroup | None
    ) -> CrossChainTx:
        """Watch ``handle`` (a no-op if it is settled); returns it. ``tasks`` runs the
        follower (``None``: the mesh is closing, the handle is abandoned)."""
        if handle.done or handle.packet is None:
            return handle
        if self._closed or tasks is None:
            handle._abandon(MeshNotRunning())
            return handle
        chain_id = chain.config.chain_id
        self._waiting.setdefault(chain_id, {})[handle.packet] = handle
        if chain_id not in self._following:
            subscription = chain.events(buffer=1_000_000)
            self._following[chain_id] = subscription
            tasks.start_soon(self._follow, chain_id, subscription, name=f"settlements {chain_id}")
        return handle

    async def _follow(self, chain_id: str, subscription: Subscription[ChainEvent]) -> None:
        waiting = self._waiting.setdefault(chain_id, {})
        # the contract events of the packet callback being read: the module runs the
        # callback, then emits its acknowledge_packet / timeout_packet event, so a
        # packet's settlement event comes just before the IBC event that names the packet
        segment: list[ChainEvent] = []
        tx: tuple[int, int | None] = (-1, None)
        async with subscription:
            while True:
                try:
                    event = subscription.receive_nowait()
                except anyio.WouldBlock:
                    if not waiting:
                        # nothing left to decide: stop (a new handle subscribes anew)
                        self._following.pop(chain_id, None)
                        return
                    try:
                        event = await subscription.receive()
                    except anyio.EndOfStream:
                        return
                except anyio.EndOfStream:
                    return
                if (event.height, event.tx_index) != tx:
                    tx = (event.height, event.tx_index)
                    segment.clear()
                kind = event.type
                if event.source != _IBC:
                    if kind in _COMMITTED_EVENTS or kind in _ROLLED_BACK_EVENTS:
                        segment.append(event)
                    continue
                if kind != _ACK and kind != _TIMEOUT:
                    continue
                key = (event.get("src_channel") or "", int(event.get("seq") or 0))
                handle = waiting.pop(key, None)
                if handle is not None:
                    _decide(handle, event, segment)
                segment.clear()

    def close(self) -> None:
        """The mesh closes: every waiting handle raises `MeshNotRunning` when awaited."""
        self._closed = True
        for waiting in self._waiting.values():
            for handle in waiting.values():
                handle._abandon(MeshNotRunning())
            waiting.clear()
        for subscription in self._following.values():
            subscription.close()
        self._following.clear()
