"""Connections (ibc-go's 03-connection): the connection handshake, and proofs through a
connection's client.

A connection binds a client of this chain (I-2) to the counterparty's client of this chain.
Its four-step handshake (``ConnOpenInit`` → ``ConnOpenTry`` → ``ConnOpenAck`` →
``ConnOpenConfirm``, ICS-03) mirrors the channel handshake of I-6: each step after the
first is proven by the counterparty's connection view at a height this chain's client
holds. Ids are ``connection-N`` in creation order (I-3). A repeated step is a ``noop``
(a relayer's redundant message). Everything a channel or a packet proves goes through its
connection: `proof_time` and `client_of`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from chains.contract._signing import canonical_json
from chains.ibc._commitment_paths import connection_key
from chains.ibc._errors import (
    IbcBadConnectionState,
    IbcCounterpartyMismatch,
    IbcUnknownClient,
    IbcUnknownConnection,
)
from chains.ibc._events import IbcEventType
from chains.ibc._msgs import (
    ConnectionState,
    ConnectionView,
    ConnOpenAck,
    ConnOpenConfirm,
    ConnOpenInit,
    ConnOpenTry,
    IbcBlockNotice,
    OpResult,
)
from chains.ibc._state import ClientState, ConnectionEnd, IbcStore

if TYPE_CHECKING:
    from chains.host._executor import TxExecutor
    from chains.ibc._client import Clients

__all__: list[str] = []

_OK_RESULT: Final = OpResult(status="ok")
_NOOP_RESULT: Final = OpResult(status="noop")
_CONNECTION_LOG: Final = ("conn",)


class Connections:
    """The connection layer of one chain's IBC module (see the module docstring).

    Shares the module's `IbcStore`, executor and listener list (a connection change is
    logged for the block notice only while someone listens); checks proofs with the
    client layer's ``consensus_time``. The operations run *in a unit* of the executor.
    """

    def __init__(
        self,
        executor: TxExecutor,
        state: IbcStore,
        listeners: list[Callable[[IbcBlockNotice], None]],
        consensus_time: Callable[[str, int], int],
        verifier: Clients | None = None,
    ) -> None:
        # the client layer when counterparty states are proven (issue 13), else None
        self._verifier = verifier
        self._executor = executor
        self._state = state
        self._listeners = listeners
        self._consensus_time = consensus_time
        self._chain_id = executor.chain_id

    def _prove(self, client_id: str, height: int, view: ConnectionView, proof: object) -> None:
        """Check that the counterparty's store held connection end ``view`` at ``height``
        (verified chains; raises `InvalidProof` and the client's errors)."""
        if self._verifier is not None:
            self._verifier.verify_membership(
                client_id, height, connection_key(view.connection_id), canonical_json(view), proof
            )

    # -- lookups ----------------------------------------------------------------------------

    def connection(self, connection_id: str) -> ConnectionEnd:
        """The connection end ``connection_id``; raises `IbcUnknownConnection`."""
        connection = self._state.connections.get(connection_id)
        if connection is None:
            raise IbcUnknownConnection(connection_id)
        return connection

    def client_of(self, connection_id: str) -> ClientState:
        """The client behind connection ``connection_id`` (what a send checks its timeout
        against, I-8); raises `IbcUnknownConnection` or `IbcUnknownClient`."""
        state = self._state
        connection = state.connections.get(connection_id)
        if connection is None:
            raise IbcUnknownConnection(connection_id)
        client = state.clients.get(connection.client_id)
        if client is None:
            raise IbcUnknownClient(connection.client_id)
        return client

    def proof_time(self, connection_id: str, height: int) -> int:
        """The counterparty's block time at ``height`` as held by the client of connection
        ``connection_id``: a fact proven at ``height`` is accepted only if this exists.

        Raises `IbcUnknownConnection`, `IbcUnknownClient` or `IbcConsensusNotFound`.
        """
        connection = self._state.connections.get(connection_id)
        if connection is None:
            raise IbcUnknownConnection(connection_id)
        return self._consensus_time(connection.client_id, height)

    # -- handshake (ICS-03) -----------------------------------------------------------------

    def _event(self, type_: IbcEventType, connection: ConnectionEnd) -> None:
        if self._listeners:
            self._state.log(_CONNECTION_LOG)
        self._executor.emit_raw(
            "ibc",
            type_.value,
            (
                ("connection_id", connection.connection_id),
                ("client_id", connection.client_id),
                ("counterparty_client_id", connection.counterparty_client_id),
                ("counterparty_connection_id", connection.counterparty_connection_id),
            ),
        )

    def conn_open_init(self, op: ConnOpenInit, signer: str) -> OpResult:
        """Step 1: a new connection in INIT on client ``op.client_id``; the result's value
        is its id. Raises `IbcUnknownClient`."""
        state = self._state
        client = state.clients.get(op.client_id)
        if client is None:
            raise IbcUnknownClient(op.client_id)
        connection_id = f"connection-{state.next_id('connection')}"
        height = self._executor.height
        connection = ConnectionEnd(
            connection_id,
            ConnectionState.INIT,
            op.client_id,
            client.chain_id,
            op.counterparty_client_id,
            "",
            ((height, ConnectionState.INIT, ""),),
        )
        state.connections[connection_id] = connection
        self._event(IbcEventType.CONNECTION_OPEN_INIT, connection)
        return OpResult(status="ok", value=connection_id)

    def conn_open_try(self, op: ConnOpenTry, signer: str) -> OpResult:
        """Step 2: a new connection in TRYOPEN answering the counterparty's INIT connection
        (``noop`` with the existing id if this client already answered it).

        Raises `IbcUnknownClient`, `IbcConsensusNotFound` or `IbcCounterpartyMismatch`.
        """
        state = self._state
        client = state.clients.get(op.client_id)
        if client is None:
            raise IbcUnknownClient(op.client_id)
        view = op.counterparty
        for existing in state.connections.values():
            if (
                existing.client_id == op.client_id
                and existing.counterparty_connection_id == view.connection_id
            ):
                return OpResult(status="noop", value=existing.connection_id)
        self._consensus_time(op.client_id, op.proof_height)
        self._prove(op.client_id, op.proof_height, view, op.proof)
        if view.state is not ConnectionState.INIT:
            raise IbcCounterpartyMismatch(f"counterparty connection is {view.state}, not INIT")
        if view.counterparty_client_id != op.client_id or view.counterparty_chain_id != (
            self._chain_id
        ):
            raise IbcCounterpartyMismatch("counterparty connection names another client")
        connection_id = f"connection-{state.next_id('connection')}"
        height = self._executor.height
        connection = ConnectionEnd(
            connection_id,
            ConnectionState.TRYOPEN,
            op.client_id,
            client.chain_id,
            view.client_id,
            view.connection_id,
            ((height, ConnectionState.TRYOPEN, view.connection_id),),
        )
        state.connections[connection_id] = connection
        self._event(IbcEventType.CONNECTION_OPEN_TRY, connection)
        return OpResult(status="ok", value=connection_id)

    def conn_open_ack(self, op: ConnOpenAck, signer: str) -> OpResult:
        """Step 3: the INIT connection opens on proof of the counterparty's TRYOPEN one.

        Raises `IbcUnknownConnection`, `IbcBadConnectionState`, `IbcCounterpartyMismatch`
        or `IbcConsensusNotFound`.
        """
        connection = self.connection(op.connection_id)
        view = op.counterparty
        if (
            connection.state is ConnectionState.OPEN
            and connection.counterparty_connection_id == view.connection_id
        ):
            return _NOOP_RESULT
        if connection.state is not ConnectionState.INIT:
            raise IbcBadConnectionState(op.connection_id, connection.state.value, "INIT")
        if view.state is not ConnectionState.TRYOPEN:
            raise IbcCounterpartyMismatch(f"counterparty connection is {view.state}, not TRYOPEN")
        if (
            view.counterparty_connection_id != op.connection_id
            or view.client_id != connection.counterparty_client_id
        ):
            raise IbcCounterpartyMismatch("counterparty connection is not ours")
        self._consensus_time(connection.client_id, op.proof_height)
        self._prove(connection.client_id, op.proof_height, view, op.proof)
        connection = connection.advanced(
            self._executor.height, ConnectionState.OPEN, view.connection_id
        )
        self._state.connections[op.connection_id] = connection
        self._event(IbcEventType.CONNECTION_OPEN_ACK, connection)
        return _OK_RESULT

    def conn_open_confirm(self, op: ConnOpenConfirm, signer: str) -> OpResult:
        """Step 4: the TRYOPEN connection opens on proof of the counterparty's OPEN one.

        Raises `IbcUnknownConnection`, `IbcBadConnectionState`, `IbcCounterpartyMismatch`
        or `IbcConsensusNotFound`.
        """
        connection = self.connection(op.connection_id)
        if connection.state is ConnectionState.OPEN:
            return _NOOP_RESULT
        if connection.state is not ConnectionState.TRYOPEN:
            raise IbcBadConnectionState(op.connection_id, connection.state.value, "TRYOPEN")
        view = op.counterparty
        if view.state is not ConnectionState.OPEN:
            raise IbcCounterpartyMismatch(f"counterparty connection is {view.state}, not OPEN")
        if (
            view.connection_id != connection.counterparty_connection_id
            or view.counterparty_connection_id != op.connection_id
        ):
            raise IbcCounterpartyMismatch("counterparty connection is not ours")
        self._consensus_time(connection.client_id, op.proof_height)
        self._prove(connection.client_id, op.proof_height, view, op.proof)
        connection = connection.advanced(
            self._executor.height, ConnectionState.OPEN, connection.counterparty_connection_id
        )
        self._state.connections[op.connection_id] = connection
        self._event(IbcEventType.CONNECTION_OPEN_CONFIRM, connection)
        return _OK_RESULT
