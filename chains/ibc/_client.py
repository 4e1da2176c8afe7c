"""Clients (ibc-go's 02-client): this chain's light clients of its counterparties.

A client (I-2) holds the counterparty headers a relayer has proven to this chain, as
consensus states ``(client_id, height) -> time``: ``CreateClient`` starts one from a header,
``UpdateClient`` adds a header (a newer one moves the client's latest height; an older one
must fit between its neighbours in time; the same height twice must be the same header).
Anything proven about the counterparty is proven *at a height*, and is accepted only if the
client holds the header of exactly that height (`consensus_time`; `IbcConsensusNotFound` is
light-client lag: the relayer must update the client first). The oldest consensus states are
pruned beyond ``max_consensus_states``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from chains.ibc._errors import IbcBadHeader, IbcConsensusNotFound, IbcUnknownClient
from chains.ibc._events import IbcEventType
from chains.ibc._msgs import CreateClient, OpResult, UpdateClient
from chains.ibc._state import ClientState, IbcStore

if TYPE_CHECKING:
    from chains.host._executor import TxExecutor

__all__: list[str] = []

_OK_RESULT: Final = OpResult(status="ok")
_NOOP_RESULT: Final = OpResult(status="noop")
_CREATE_CLIENT: Final = IbcEventType.CREATE_CLIENT.value
_UPDATE_CLIENT: Final = IbcEventType.UPDATE_CLIENT.value


class Clients:
    """The client layer of one chain's IBC module: the ``CreateClient`` and ``UpdateClient``
    operations and the consensus-state lookup every proof goes through.

    Shares the module's `IbcStore` and executor; the operations run *in a unit* of that
    executor (inside the module's `run_ops`).
    """

    def __init__(self, executor: TxExecutor, state: IbcStore, max_consensus_states: int) -> None:
        self._executor = executor
        self._state = state
        self._max_consensus_states = max_consensus_states

    def create_client(self, op: CreateClient, signer: str) -> OpResult:
        """A new client of ``op.header``'s chain, trusting that header (I-2); the result's
        value is the client id (``07-tendermint-N``)."""
        state = self._state
        header = op.header
        client_id = f"07-tendermint-{state.next_id('client')}"
        state.clients[client_id] = ClientState(
            client_id, header.chain_id, header.height, header.time_ns, 1
        )
        state.consensus[(client_id, header.height)] = header.time_ns
        self._executor.emit_raw(
            "ibc",
            _CREATE_CLIENT,
            (
                ("client_id", client_id),
                ("chain_id", header.chain_id),
                ("height", str(header.height)),
            ),
        )
        return OpResult(status="ok", value=client_id)

    def update_client(self, op: UpdateClient, signer: str) -> OpResult:
        """Add ``op.header`` to the client (I-2); ``noop`` if it already holds it.

        Raises `IbcUnknownClient`, or `IbcBadHeader` for a header of another chain, one
        that conflicts with the header held at its height, or one whose time does not
        increase with height against its neighbours.
        """
        state = self._state
        client_id = op.client_id
        client = state.clients.get(client_id)
        if client is None:
            raise IbcUnknownClient(client_id)
        header = op.header
        if header.chain_id != client.chain_id:
            raise IbcBadHeader(client_id, f"header of {header.chain_id}, not {client.chain_id}")
        height, time_ns = header.height, header.time_ns
        consensus = state.consensus
        known = consensus.get((client_id, height))
        if known is not None:
            if known != time_ns:
                raise IbcBadHeader(client_id, f"conflicting header at height {height}")
            return _NOOP_RESULT
        if height > client.latest_height:
            if time_ns <= client.latest_time_ns:
                raise IbcBadHeader(client_id, "time does not increase with height")
            client = ClientState(client_id, client.chain_id, height, time_ns, client.count + 1)
        else:
            # an older header: it must fit between its neighbours
            keys = state.consensus_keys(client_id)
            below = [consensus[k] for k in keys if k[1] < height]
            above = [consensus[k] for k in keys if k[1] > height]
            if (below and below[-1] >= time_ns) or (above and above[0] <= time_ns):
                raise IbcBadHeader(client_id, "time does not increase with height")
            client = ClientState(
                client_id,
                client.chain_id,
                client.latest_height,
                client.latest_time_ns,
                client.count + 1,
            )
        consensus[(client_id, height)] = time_ns
        limit = self._max_consensus_states
        if client.count > limit + limit // 4:
            # prune in chunks, so the scan is paid once per limit/4 updates
            keys = state.consensus_keys(client_id)
            drop = len(keys) - limit
            for key in keys[:drop]:
                if key[1] != client.latest_height:
                    del consensus[key]
            client = ClientState(
                client_id,
                client.chain_id,
                client.latest_height,
                client.latest_time_ns,
                len(keys) - drop,
            )
        state.clients[client_id] = client
        self._executor.emit_raw(
            "ibc", _UPDATE_CLIENT, (("client_id", client_id), ("height", str(height)))
        )
        return _OK_RESULT

    def consensus_time(self, client_id: str, height: int) -> int:
        """The time of the counterparty header at ``height`` that the client holds: what a
        proof at ``height`` is checked against (I-2).

        Raises `IbcUnknownClient`, or `IbcConsensusNotFound` if the client does not hold
        that height (not yet updated to it, or pruned).
        """
        state = self._state
        time_ns = state.consensus.get((client_id, height))
        if time_ns is None:
            client = state.clients.get(client_id)
            if client is None:
                raise IbcUnknownClient(client_id)
            raise IbcConsensusNotFound(client_id, height, client.latest_height)
        return time_ns
