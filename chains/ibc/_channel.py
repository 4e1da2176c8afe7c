"""Channels (ibc-go's 04-channel, the handshake half): channel ends, their open and close
handshakes and the application callbacks those run.

Open (I-6): ``ChanOpenInit`` creates an end in INIT, ``ChanOpenTry`` one in TRYOPEN
answering the counterparty's INIT end, ``ChanOpenAck`` / ``ChanOpenConfirm`` open them on
proof of the other end (TRYOPEN, then OPEN). Each step runs the application's callback
(``ibc_channel_open`` may choose the version; ``ibc_channel_connect`` on open); a callback
error fails the step with no change (I-7). Channel ids are ``channel-N`` in creation order
(I-3); an end needs an OPEN connection to be tried. Close (I-20): ``ChanCloseInit`` (from a
relayer, or the owning contract's ``IbcCloseChannel``) and ``ChanCloseConfirm`` on proof of
the counterparty's CLOSED end; the close callbacks are ``ibc_channel_close_init`` /
``ibc_channel_close_confirm`` when the contract defines them, else
``ibc_channel_close(..., confirm=...)``. A repeated step is a ``noop``.

Channel ends are immutable records (``ChannelEnd``), replaced on every change; each change is
logged for the block notice while someone listens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from chains.contract._contract import ChannelConnect, ChannelOpen, IbcBasicResponse
from chains.contract._signing import canonical_json
from chains.ibc._commitment_paths import channel_key
from chains.ibc._errors import (
    IbcBadChannelState,
    IbcBadConnectionState,
    IbcCounterpartyMismatch,
    IbcUnknownChannel,
)
from chains.ibc._events import IbcEventType, channel_attributes
from chains.ibc._msgs import (
    ChanCloseConfirm,
    ChanCloseInit,
    ChannelState,
    ChannelView,
    ChanOpenAck,
    ChanOpenConfirm,
    ChanOpenInit,
    ChanOpenTry,
    ConnectionState,
    IbcBlockNotice,
    OpResult,
)
from chains.ibc._state import ChannelEnd, ConnectionEnd, IbcStore

if TYPE_CHECKING:
    from chains.contract._contract import Contract, Env
    from chains.host._executor import TxExecutor
    from chains.ibc._client import Clients
    from chains.ibc._port import Ports

__all__: list[str] = []

_OPEN: Final = ChannelState.OPEN
_CLOSED: Final = ChannelState.CLOSED
_OK_RESULT: Final = OpResult(status="ok")
_NOOP_RESULT: Final = OpResult(status="noop")


class Channels:
    """The channel layer of one chain's IBC module (see the module docstring).

    Shares the module's `IbcStore`, executor and listener list; reaches applications
    through the port layer and checks proofs and connections through the connection layer.
    The operations run *in a unit* of the executor.
    """

    def __init__(
        self,
        executor: TxExecutor,
        state: IbcStore,
        listeners: list[Callable[[IbcBlockNotice], None]],
        connection: Callable[[str], ConnectionEnd],
        proof_time: Callable[[str, int], int],
        ports: Ports,
        verifier: Clients | None = None,
    ) -> None:
        # the client layer when counterparty states are proven (issue 13), else None
        self._verifier = verifier
        self._executor = executor
        self._state = state
        self._listeners = listeners
        self._connection = connection
        self._proof_time = proof_time
        self._port_contract = ports.port_contract
        self._port_owner = ports.port_owner
        self._callback = ports.callback

    # -- channel ends -----------------------------------------------------------------------

    def prove_end(self, connection_id: str, height: int, view: ChannelView, proof: object) -> None:
        """Check that the counterparty's store held channel end ``view`` at ``height``
        (verified chains; raises `InvalidProof` and the client's errors)."""
        if self._verifier is not None:
            self._verifier.verify_membership(
                self._connection(connection_id).client_id,
                height,
                channel_key(view.port_id, view.channel_id),
                canonical_json(view),
                proof,
            )

    def channel(self, port_id: str, channel_id: str) -> ChannelEnd:
        """The channel end ``channel_id`` on ``port_id``; raises `IbcUnknownChannel`."""
        end = self._state.channels.get(channel_id)
        if end is None or end.port_id != port_id:
            raise IbcUnknownChannel(port_id, channel_id)
        return end

    def owned_channel(self, sender: str, channel_id: str) -> ChannelEnd:
        """The channel end ``channel_id`` if contract ``sender`` owns its port; raises
        `IbcUnknownChannel` otherwise (as if it did not exist on the sender's port)."""
        end = self._state.channels.get(channel_id)
        if end is None or self._port_owner(end.port_id) != sender:
            raise IbcUnknownChannel(f"wasm.{sender}", channel_id)
        return end

    def save(self, end: ChannelEnd) -> None:
        """Store ``end`` (a new end or a changed one) and log the change for the notice."""
        self._state.channels[end.channel_id] = end
        if self._listeners:
            self._state.log(("changed", end.channel_id))

    def event(self, type_: IbcEventType, end: ChannelEnd, *extra: tuple[str, str]) -> None:
        """Emit the channel event ``type_`` for ``end`` (I-25), with ``extra`` attributes."""
        attributes = channel_attributes(
            end.port_id,
            end.channel_id,
            end.counterparty_port_id,
            end.counterparty_channel_id,
            end.connection_id,
            end.version,
            end.ordering.value,
        )
        self._executor.emit_raw("ibc", type_.value, attributes + extra)

    def _check_view(self, end: ChannelEnd, view: ChannelView, state: ChannelState) -> None:
        """The proven counterparty view must be ``state`` and point back at ``end``."""
        if view.state is not state:
            raise IbcCounterpartyMismatch(f"counterparty end is {view.state}, not {state}")
        if view.counterparty_port_id != end.port_id or (
            view.counterparty_channel_id not in ("", end.channel_id)
        ):
            raise IbcCounterpartyMismatch("counterparty end does not point at this end")
        if view.port_id != end.counterparty_port_id or view.ordering is not end.ordering:
            raise IbcCounterpartyMismatch("counterparty end has another port or ordering")
        if end.counterparty_channel_id and view.channel_id != end.counterparty_channel_id:
            raise IbcCounterpartyMismatch("counterparty end is another channel")
        connection = self._connection(end.connection_id)
        if view.connection_id != connection.counterparty_connection_id:
            raise IbcCounterpartyMismatch("counterparty end is on another connection")

    # -- open handshake (I-6, I-7) ----------------------------------------------------------

    def chan_open_init(self, op: ChanOpenInit, signer: str) -> OpResult:
        """Step 1: a new end in INIT on ``op.port_id``, its version as the application's
        ``ibc_channel_open`` chooses; the result's value is the channel id.

        Raises `IbcUnknownConnection`, `IbcUnboundPort` or the callback's error.
        """
        state = self._state
        self._connection(op.connection_id)
        contract = self._port_contract(op.port_id)
        channel_id = f"channel-{state.next_id('channel')}"
        height = self._executor.height
        end = ChannelEnd.create(
            height,
            op.port_id,
            channel_id,
            ChannelState.INIT,
            op.ordering,
            op.counterparty_port_id,
            "",
            op.connection_id,
            op.version,
        )
        opening = ChannelOpen(channel=end.channel(), counterparty_version=None)
        version = self._executor.call_contract(
            contract, "ibc_channel_open", lambda core, env: _open(core, env, opening)
        )[0].value
        if version is not None and version != end.version:
            end = ChannelEnd.create(
                height,
                op.port_id,
                channel_id,
                ChannelState.INIT,
                op.ordering,
                op.counterparty_port_id,
                "",
                op.connection_id,
                str(version),
            )
        self.save(end)
        self.event(IbcEventType.CHANNEL_OPEN_INIT, end)
        return OpResult(status="ok", value=channel_id)

    def chan_open_try(self, op: ChanOpenTry, signer: str) -> OpResult:
        """Step 2: a new end in TRYOPEN answering the counterparty's INIT end (``noop`` with
        the existing id if it was already answered); the result's value is the channel id.

        Raises `IbcUnknownConnection`, `IbcBadConnectionState` (connection not OPEN),
        `IbcUnboundPort`, `IbcCounterpartyMismatch`, `IbcConsensusNotFound` or the
        callback's error.
        """
        state = self._state
        view = op.counterparty
        for existing in state.channels.values():
            if (
                existing.port_id == op.port_id
                and existing.connection_id == op.connection_id
                and existing.counterparty_port_id == view.port_id
                and existing.counterparty_channel_id == view.channel_id
            ):
                return OpResult(status="noop", value=existing.channel_id)
        connection = self._connection(op.connection_id)
        if connection.state is not ConnectionState.OPEN:
            raise IbcBadConnectionState(op.connection_id, connection.state.value, "OPEN")
        contract = self._port_contract(op.port_id)
        if view.state is not ChannelState.INIT:
            raise IbcCounterpartyMismatch(f"counterparty end is {view.state}, not INIT")
        if view.counterparty_port_id != op.port_id:
            raise IbcCounterpartyMismatch("counterparty end is for another port")
        if view.connection_id != connection.counterparty_connection_id:
            raise IbcCounterpartyMismatch("counterparty end is on another connection")
        self._proof_time(op.connection_id, op.proof_height)
        self.prove_end(op.connection_id, op.proof_height, view, op.proof)
        channel_id = f"channel-{state.next_id('channel')}"
        height = self._executor.height
        end = ChannelEnd.create(
            height,
            op.port_id,
            channel_id,
            ChannelState.TRYOPEN,
            view.ordering,
            view.port_id,
            view.channel_id,
            op.connection_id,
            view.version,
        )
        opening = ChannelOpen(channel=end.channel(), counterparty_version=view.version)
        version = self._executor.call_contract(
            contract, "ibc_channel_open", lambda core, env: _open(core, env, opening)
        )[0].value
        if version is not None and version != end.version:
            end = ChannelEnd.create(
                height,
                op.port_id,
                channel_id,
                ChannelState.TRYOPEN,
                view.ordering,
                view.port_id,
                view.channel_id,
                op.connection_id,
                str(version),
            )
        self.save(end)
        self.event(IbcEventType.CHANNEL_OPEN_TRY, end)
        return OpResult(status="ok", value=channel_id)

    def chan_open_ack(self, op: ChanOpenAck, signer: str) -> OpResult:
        """Step 3: the INIT end opens on proof of the counterparty's TRYOPEN end, learning
        its channel id and the final version; ``ibc_channel_connect`` runs.

        Raises `IbcUnknownChannel`, `IbcBadChannelState`, `IbcCounterpartyMismatch`,
        `IbcConsensusNotFound` or the callback's error.
        """
        end = self.channel(op.port_id, op.channel_id)
        view = op.counterparty
        if end.state is _OPEN and end.counterparty_channel_id == view.channel_id:
            return _NOOP_RESULT
        if end.state is not ChannelState.INIT:
            raise IbcBadChannelState(end.port_id, end.channel_id, end.state.value, "INIT")
        self._check_view(end, view, ChannelState.TRYOPEN)
        self._proof_time(end.connection_id, op.proof_height)
        self.prove_end(end.connection_id, op.proof_height, view, op.proof)
        # written before the callback: an app may send from its connect callback (the
        # converter's initial sync, I-46) and its packets need the counterparty channel id;
        # a refusal rolls the write back with everything else
        end = end.advanced(self._executor.height, _OPEN, view.channel_id, view.version)
        self.save(end)
        connect = ChannelConnect(channel=end.channel(), counterparty_version=view.version)
        self._callback(
            end.port_id,
            "ibc_channel_connect",
            lambda core, env: core.ibc_channel_connect(env, connect),
        )
        self.event(IbcEventType.CHANNEL_OPEN_ACK, end)
        return _OK_RESULT

    def chan_open_confirm(self, op: ChanOpenConfirm, signer: str) -> OpResult:
        """Step 4: the TRYOPEN end opens on proof of the counterparty's OPEN end (same
        version); ``ibc_channel_connect`` runs.

        Raises `IbcUnknownChannel`, `IbcBadChannelState`, `IbcCounterpartyMismatch`,
        `IbcConsensusNotFound` or the callback's error.
        """
        end = self.channel(op.port_id, op.channel_id)
        if end.state is _OPEN:
            return _NOOP_RESULT
        if end.state is not ChannelState.TRYOPEN:
            raise IbcBadChannelState(end.port_id, end.channel_id, end.state.value, "TRYOPEN")
        view = op.counterparty
        self._check_view(end, view, _OPEN)
        if view.version != end.version:
            raise IbcCounterpartyMismatch(
                f"counterparty version {view.version!r} is not {end.version!r}"
            )
        self._proof_time(end.connection_id, op.proof_height)
        self.prove_end(end.connection_id, op.proof_height, view, op.proof)
        end = end.advanced(self._executor.height, _OPEN)
        self.save(end)
        connect = ChannelConnect(channel=end.channel(), counterparty_version=None)
        self._callback(
            end.port_id,
            "ibc_channel_connect",
            lambda core, env: core.ibc_channel_connect(env, connect),
        )
        self.event(IbcEventType.CHANNEL_OPEN_CONFIRM, end)
        return _OK_RESULT

    # -- close handshake (I-20) -------------------------------------------------------------

    def close_init(self, end: ChannelEnd) -> None:
        """Close ``end`` from this side, if its application's close callback agrees.

        Raises `IbcBadChannelState` (already CLOSED), `IbcUnboundPort` or the callback's
        error.
        """
        if end.state is _CLOSED:
            raise IbcBadChannelState(end.port_id, end.channel_id, end.state.value, "not CLOSED")
        channel = end.channel()
        self._callback(
            end.port_id,
            "ibc_channel_close",
            lambda core, env: _close(core, env, channel, False),
        )
        end = end.advanced(self._executor.height, _CLOSED)
        self.save(end)
        self.event(IbcEventType.CHANNEL_CLOSE, end, ("step", "init"))

    def chan_close_init(self, op: ChanCloseInit, signer: str) -> OpResult:
        """A relayer's ``ChanCloseInit``: `close_init` of the named end.

        Raises `IbcUnknownChannel`, or what `close_init` raises.
        """
        self.close_init(self.channel(op.port_id, op.channel_id))
        return _OK_RESULT

    def chan_close_confirm(self, op: ChanCloseConfirm, signer: str) -> OpResult:
        """Close the end on proof of the counterparty's CLOSED end (``noop`` if already
        closed); the close callback runs with ``confirm=True``.

        Raises `IbcUnknownChannel`, `IbcCounterpartyMismatch`, `IbcConsensusNotFound` or
        the callback's error.
        """
        end = self.channel(op.port_id, op.channel_id)
        if end.state is _CLOSED:
            return _NOOP_RESULT
        self._check_view(end, op.counterparty, _CLOSED)
        self._proof_time(end.connection_id, op.proof_height)
        self.prove_end(end.connection_id, op.proof_height, op.counterparty, op.proof)
        channel = end.channel()
        self._callback(
            end.port_id,
            "ibc_channel_close",
            lambda core, env: _close(core, env, channel, True),
        )
        end = end.advanced(self._executor.height, _CLOSED)
        self.save(end)
        self.event(IbcEventType.CHANNEL_CLOSE, end, ("step", "confirm"))
        return _OK_RESULT


# -- entry-point invocations ----------------------------------------------------------------


def _open(core: Contract, env: Env, msg: ChannelOpen) -> Any:
    # ibc_channel_open answers a version (or None), not a response: wrap it so the executor
    # finds nothing to run
    return _Answer(core.ibc_channel_open(env, msg))


class _Answer:
    """A callback's plain return value, carried through ``call_contract`` untouched."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _close(core: Contract, env: Env, channel: Any, confirm: bool) -> IbcBasicResponse:
    # a core may split the one close callback of the contract model into two methods
    specific = getattr(
        core, "ibc_channel_close_confirm" if confirm else "ibc_channel_close_init", None
    )
    if callable(specific):
        response: IbcBasicResponse = specific(env, channel)
        return response
    return core.ibc_channel_close(env, channel, confirm=confirm)
