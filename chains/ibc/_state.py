"""The IBC module's state in the chain `Store` (I-4, I-26): the records and the named maps
every layer of the module reads and writes (the commitment hashes are in ``_commitment.py``).

Everything lives in journaled maps of the chain's store, so a failing transaction rolls the
IBC state back with everything else, and it is part of the chain's state dump (I-26). Records
are frozen dataclasses or named tuples (the store needs immutable values); each channel and
connection end keeps the short history of its state changes, so what was *provable* at a
past height (the state committed at the end of that block, I-2) can be answered exactly even
after later changes in the current, uncommitted block.

Packet state is keyed by ``(channel_id, sequence)``: channel ids are unique per chain (I-3),
so the port is implied (and checked against the channel end wherever a packet names it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Final

import msgspec

from chains.contract._ibc_types import IbcChannel, IbcEndpoint, IbcOrder, IbcPacket
from chains.contract._store import JournaledMap, SortedJournaledMap, Store
from chains.ibc._light_client import ConsensusState, LightClientState
from chains.ibc._msgs import ChannelState, ChannelView, ConnectionState, ConnectionView
from mesh_actors import construct_trusted

__all__ = [
    "ACKED",
    "TIMED_OUT",
    "AckRecord",
    "ChannelEnd",
    "ClientState",
    "ConnectionEnd",
    "IbcStore",
]

ACKED: Final = "acked"
TIMED_OUT: Final = "timed_out"

_CHANNEL_VIEW_FIELDS = frozenset(ChannelView.model_fields)
_CONNECTION_VIEW_FIELDS = frozenset(ConnectionView.model_fields)
_NO_DEFAULT: Final[Any] = object()


# -- records --------------------------------------------------------------------------------

# (height, state, counterparty channel id, version) of each change: the state as of the end
# of a height is the last entry at or below it.
_ChannelStep = tuple[int, ChannelState, str, str]


@dataclass(frozen=True, slots=True)
class ChannelEnd:
    """One channel end (I-4). ``endpoint``/``counterparty`` are prebuilt for packets."""

    port_id: str
    channel_id: str
    state: ChannelState
    ordering: IbcOrder
    counterparty_port_id: str
    counterparty_channel_id: str
    connection_id: str
    version: str
    endpoint: IbcEndpoint
    counterparty: IbcEndpoint
    history: tuple[_ChannelStep, ...]

    @classmethod
    def create(
        cls,
        height: int,
        port_id: str,
        channel_id: str,
        state: ChannelState,
        ordering: IbcOrder,
        counterparty_port_id: str,
        counterparty_channel_id: str,
        connection_id: str,
        version: str,
    ) -> ChannelEnd:
        """A new end, its history starting at ``height``."""
        return cls(
            port_id=port_id,
            channel_id=channel_id,
            state=state,
            ordering=ordering,
            counterparty_port_id=counterparty_port_id,
            counterparty_channel_id=counterparty_channel_id,
            connection_id=connection_id,
            version=version,
            endpoint=IbcEndpoint(port_id=port_id, channel_id=channel_id),
            counterparty=IbcEndpoint(
                port_id=counterparty_port_id, channel_id=counterparty_channel_id
            ),
            history=((height, state, counterparty_channel_id, version),),
        )

    def advanced(
        self,
        height: int,
        state: ChannelState,
        counterparty_channel_id: str | None = None,
        version: str | None = None,
    ) -> ChannelEnd:
        """This end moved to ``state`` at ``height`` (optionally learning the counterparty
        channel id and the final version)."""
        cp_channel = (
            self.counterparty_channel_id
            if counterparty_channel_id is None
            else counterparty_channel_id
        )
        final = self.version if version is None else version
        step = (height, state, cp_channel, final)
        history = self.history
        # several changes in one block: only the last is ever provable
        history = (*history[:-1], step) if history[-1][0] == height else (*history, step)
        counterparty = self.counterparty
        if cp_channel != counterparty.channel_id:
            counterparty = IbcEndpoint(port_id=self.counterparty_port_id, channel_id=cp_channel)
        return replace(
            self,
            state=state,
            counterparty_channel_id=cp_channel,
            version=final,
            counterparty=counterparty,
            history=history,
        )

    def channel(self) -> IbcChannel:
        """The channel as application callbacks see it."""
        return IbcChannel(
            endpoint=self.endpoint,
            counterparty_endpoint=self.counterparty,
            order=self.ordering,
            version=self.version,
            connection_id=self.connection_id,
        )

    def view(self) -> ChannelView:
        """The current state as a wire view."""
        return self._view(self.state, self.counterparty_channel_id, self.version)

    def view_at(self, height: int) -> ChannelView | None:
        """The end as committed at the end of block ``height`` (``None``: not yet created)."""
        for step_height, state, cp_channel, version in reversed(self.history):
            if step_height <= height:
                return self._view(state, cp_channel, version)
        return None

    def _view(self, state: ChannelState, cp_channel: str, version: str) -> ChannelView:
        # every value is a stored, typed field: no validation (a relayer's every clear asks)
        return construct_trusted(
            ChannelView,
            {
                "port_id": self.port_id,
                "channel_id": self.channel_id,
                "state": state,
                "ordering": self.ordering,
                "counterparty_port_id": self.counterparty_port_id,
                "counterparty_channel_id": cp_channel,
                "connection_id": self.connection_id,
                "version": version,
            },
            set(_CHANNEL_VIEW_FIELDS),
        )


_ConnectionStep = tuple[int, ConnectionState, str]


@dataclass(frozen=True, slots=True)
class ConnectionEnd:
    """One connection end (ICS-03), with its history for proofs at past heights."""

    connection_id: str
    state: ConnectionState
    client_id: str
    counterparty_chain_id: str
    counterparty_client_id: str
    counterparty_connection_id: str
    history: tuple[_ConnectionStep, ...]

    def advanced(
        self, height: int, state: ConnectionState, counterparty_connection_id: str
    ) -> ConnectionEnd:
        step = (height, state, counterparty_connection_id)
        history = self.history
        history = (*history[:-1], step) if history[-1][0] == height else (*history, step)
        return replace(
            self,
            state=state,
            counterparty_connection_id=counterparty_connection_id,
            history=history,
        )

    def view(self) -> ConnectionView:
        return self._view(self.state, self.counterparty_connection_id)

    def view_at(self, height: int) -> ConnectionView | None:
        for step_height, state, cp_connection in reversed(self.history):
            if step_height <= height:
                return self._view(state, cp_connection)
        return None

    def _view(self, state: ConnectionState, cp_connection: str) -> ConnectionView:
        return construct_trusted(
            ConnectionView,
            {
                "connection_id": self.connection_id,
                "state": state,
                "client_id": self.client_id,
                "counterparty_chain_id": self.counterparty_chain_id,
                "counterparty_client_id": self.counterparty_client_id,
                "counterparty_connection_id": cp_connection,
            },
            set(_CONNECTION_VIEW_FIELDS),
        )


@dataclass(frozen=True, slots=True)
class ClientState:
    """A light client of ``chain_id`` (I-2): its latest proven header and how many headers
    (consensus states) it holds."""

    client_id: str
    chain_id: str
    latest_height: int
    latest_time_ns: int
    count: int


class AckRecord(msgspec.Struct, frozen=True, gc=False):
    """An acknowledgement written on this chain: its commitment, its bytes (what a relayer
    reads from the chain's events) and the height it was written at; built positionally or
    by keyword, compared and hashed by value.

    A frozen ``msgspec.Struct`` the cyclic garbage collector does not track (issue 16), not a
    frozen dataclass like the other records: one is written per packet received and kept
    for good (I-29), and as a named tuple (always tracked) these records were most of what
    the collector's full collections scanned in a long run. It holds only bytes and an int,
    so it can never be part of a reference cycle. A durable store encodes it as the named
    tuple it once was (``canonical_bytes``)."""

    commitment: bytes
    ack: bytes
    height: int


# -- the maps -------------------------------------------------------------------------------


class _Tracked(JournaledMap[Any, Any]):
    """A journaled map of provable records that notes each key it writes in ``dirty`` (as
    ``(name, key)``), so the block's end re-proves only what changed. A write later rolled
    back leaves its key noted: harmless, the tree is set from the map's value then."""

    def __init__(self, store: Store, name: str, dirty: set[tuple[str, Any]]) -> None:
        super().__init__(store, name)
        self._dirty = dirty

    def __setitem__(self, key: Any, value: Any) -> None:
        self._dirty.add((self.name, key))
        super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        self._dirty.add((self.name, key))
        super().__delitem__(key)

    def pop(self, key: Any, /, default: Any = _NO_DEFAULT) -> Any:
        self._dirty.add((self.name, key))
        if default is _NO_DEFAULT:
            return super().pop(key)
        return super().pop(key, default)

    def set_many(self, items: list[tuple[Any, Any]]) -> None:
        name = self.name
        self._dirty.update([(name, key) for key, _ in items])
        super().set_many(items)

    def delete_many(self, keys: list[Any]) -> None:
        name = self.name
        self._dirty.update([(name, key) for key in keys])
        super().delete_many(keys)


class _SortedTracked(_Tracked, SortedJournaledMap[Any, Any]):
    """`_Tracked` for a sorted map (its writes reach the sorted map's through the MRO)."""


PacketRef = tuple[str, int]  # (channel_id, sequence)

# above every sequence and height: the upper bound of a per-channel or per-client key range
_KEY_MAX: Final = 1 << 62


class IbcStore:
    """The named maps of the IBC module in a chain's `Store` (all under ``ibc/``)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # (map name, key) of the provable records written since the tree last caught up
        # (see `chains.ibc._provable`); a plain set, not journaled (see `_Tracked`)
        self.dirty: set[tuple[str, Any]] = set()
        dirty = self.dirty
        # id counters: "client", "connection", "channel"
        self.counters: JournaledMap[str, int] = JournaledMap(store, "ibc/counters")
        self.clients: JournaledMap[str, ClientState] = JournaledMap(store, "ibc/clients")
        # (client_id, height) -> header time (ns)
        self.consensus: SortedJournaledMap[tuple[str, int], int] = SortedJournaledMap(
            store, "ibc/consensus"
        )
        # verifying light clients (issue 13): parameters by client id, consensus states by
        # (client id, height)
        self.light_states: JournaledMap[str, LightClientState] = JournaledMap(
            store, "ibc/light_states"
        )
        self.light_consensus: SortedJournaledMap[tuple[str, int], ConsensusState] = (
            SortedJournaledMap(store, "ibc/light_consensus")
        )
        self.connections: JournaledMap[str, ConnectionEnd] = _Tracked(
            store, "ibc/connections", dirty
        )
        self.channels: JournaledMap[str, ChannelEnd] = _Tracked(store, "ibc/channels", dirty)
        # port alias -> contract address (module ports bound to a contract, I-3)
        self.ports: JournaledMap[str, str] = JournaledMap(store, "ibc/ports")
        self.next_send: JournaledMap[str, int] = JournaledMap(store, "ibc/next_sequence_send")
        self.next_recv: JournaledMap[str, int] = _Tracked(store, "ibc/next_sequence_recv", dirty)
        self.next_ack: JournaledMap[str, int] = JournaledMap(store, "ibc/next_sequence_ack")
        # (channel, seq) -> (commitment, height written); sorted for per-channel scans
        self.commitments: SortedJournaledMap[PacketRef, tuple[bytes, int]] = _SortedTracked(
            store, "ibc/commitments", dirty
        )
        # (channel, seq) -> the packet, while its commitment exists (what a relayer reads
        # from the send_packet events; the sender app itself stores nothing, I-13)
        self.packets: JournaledMap[PacketRef, IbcPacket] = JournaledMap(store, "ibc/packets")
        # (channel, seq) -> height received (both orderings: exactly-once bookkeeping, I-29)
        self.receipts: JournaledMap[PacketRef, int] = _Tracked(store, "ibc/receipts", dirty)
        self.acks: JournaledMap[PacketRef, AckRecord] = _Tracked(store, "ibc/acks", dirty)
        # (channel, seq) -> ACKED | TIMED_OUT, for the I-29 invariants
        self.outcomes: JournaledMap[PacketRef, str] = JournaledMap(store, "ibc/outcomes")
        # "current" / "committed" -> (height, time ns) of this chain's blocks
        self.headers: JournaledMap[str, tuple[int, int]] = JournaledMap(store, "ibc/headers")
        # what the current block did, for the gateway's notices (only kept while listened to)
        self.block_log: JournaledMap[int, tuple[object, ...]] = JournaledMap(store, "ibc/block_log")

    def next_id(self, kind: str) -> int:
        """Allocate the next number of ``kind`` (from 0, in creation order, I-3)."""
        number = self.counters.get(kind, 0)
        self.counters[kind] = number + 1
        return number

    def log(self, item: tuple[object, ...]) -> None:
        """Record ``item`` in the current block's activity log (read and emptied by the
        module at the next block start; the layers log only while someone listens).

        Items: ``("conn",)`` a connection changed; ``("changed", channel_id)`` a channel end
        changed; ``("sent", channel_id, packet)`` a packet sent; ``("acks", channel_id,
        written_acks)`` the acks one relayer operation wrote on a channel.
        """
        log = self.block_log
        log[len(log)] = item

    def log_many(self, items: list[tuple[object, ...]]) -> None:
        """`log` of each of ``items`` in order, in one call."""
        log = self.block_log
        first = len(log)
        log.set_many([(first + index, item) for index, item in enumerate(items)])

    def commitment_refs(self, channel_id: str) -> list[PacketRef]:
        """The ``(channel_id, sequence)`` keys of ``channel_id``'s commitments, by sequence."""
        return self.commitments.keys_between((channel_id, 0), (channel_id, _KEY_MAX))

    def consensus_keys(self, client_id: str) -> list[tuple[str, int]]:
        """The ``(client_id, height)`` keys of a client's consensus states, by height."""
        return self.consensus.keys_between((client_id, 0), (client_id, _KEY_MAX))
