"""Errors of the IBC module (spec ibc.md I-1..I-29, I-33).

They join the flat `ChainError` hierarchy (value semantics: equal by name and data). Raised
inside a relayer operation they roll that operation back (its own savepoint) and come back to
the relayer as the operation's outcome; raised while a contract sends a packet they abort the
contract's transaction (I-8: "if the transaction reverts, no packet exists").
"""

from __future__ import annotations

from chains.contract._errors import ChainError

__all__ = [
    "IbcBadChannelState",
    "IbcBadConnectionState",
    "IbcBadHeader",
    "IbcCommitmentMismatch",
    "IbcConsensusNotFound",
    "IbcCounterpartyMismatch",
    "IbcExecutionAborted",
    "IbcNoTimeout",
    "IbcPacketExpired",
    "IbcPacketOutOfOrder",
    "IbcPacketTimedOut",
    "IbcTimeoutNotReached",
    "IbcTransferUnsupported",
    "IbcUnboundPort",
    "IbcUnknownChannel",
    "IbcUnknownClient",
    "IbcUnknownConnection",
    "IbcWrongEndpoint",
]


class IbcUnknownChannel(ChainError):
    """No channel end ``(port_id, channel_id)`` exists on this chain."""

    fields = ("port_id", "channel_id")
    port_id: str
    channel_id: str

    def __init__(self, port_id: str, channel_id: str) -> None:
        super().__init__(port_id, channel_id)


class IbcBadChannelState(ChainError):
    """The channel end is in ``state`` where the step needs ``expected`` (I-5, I-13, I-20).

    ``expected`` names the acceptable states, e.g. ``"OPEN"`` or ``"not CLOSED"``.
    """

    fields = ("port_id", "channel_id", "state", "expected")
    port_id: str
    channel_id: str
    state: str
    expected: str

    def __init__(self, port_id: str, channel_id: str, state: str, expected: str) -> None:
        super().__init__(port_id, channel_id, state, expected)


class IbcUnknownConnection(ChainError):
    """No connection ``connection_id`` exists on this chain."""

    fields = ("connection_id",)
    connection_id: str

    def __init__(self, connection_id: str) -> None:
        super().__init__(connection_id)


class IbcBadConnectionState(ChainError):
    """The connection is in ``state`` where the step needs ``expected``."""

    fields = ("connection_id", "state", "expected")
    connection_id: str
    state: str
    expected: str

    def __init__(self, connection_id: str, state: str, expected: str) -> None:
        super().__init__(connection_id, state, expected)


class IbcUnknownClient(ChainError):
    """No light client ``client_id`` exists on this chain (I-2)."""

    fields = ("client_id",)
    client_id: str

    def __init__(self, client_id: str) -> None:
        super().__init__(client_id)


class IbcConsensusNotFound(ChainError):
    """Light-client lag (I-2): the client has no counterparty header at ``height``.

    A proof at a height the destination's client has not seen cannot be checked; the relayer
    must update the client first. ``latest`` is the client's latest height.
    """

    fields = ("client_id", "height", "latest")
    client_id: str
    height: int
    latest: int

    def __init__(self, client_id: str, height: int, latest: int) -> None:
        super().__init__(client_id, height, latest)


class IbcBadHeader(ChainError):
    """A client update that cannot be accepted: wrong chain, or inconsistent with the
    headers the client already holds (time must grow with height)."""

    fields = ("client_id", "reason")
    client_id: str
    reason: str

    def __init__(self, client_id: str, reason: str) -> None:
        super().__init__(client_id, reason)


class IbcUnboundPort(ChainError):
    """``port_id`` is bound to no IBC-enabled contract (I-3: ``wasm.<address>``)."""

    fields = ("port_id",)
    port_id: str

    def __init__(self, port_id: str) -> None:
        super().__init__(port_id)


class IbcCounterpartyMismatch(ChainError):
    """A packet or a proven counterparty view does not match this channel end (I-10.1)."""

    fields = ("reason",)
    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)


class IbcPacketTimedOut(ChainError):
    """Receive refused: the receiving block (``height``, ``time_ns``) is at or past the
    packet's timeout (I-10.2); the packet can now only be timed out on its source."""

    fields = ("sequence", "height", "time_ns")
    sequence: int
    height: int
    time_ns: int

    def __init__(self, sequence: int, height: int, time_ns: int) -> None:
        super().__init__(sequence, height, time_ns)


class IbcTimeoutNotReached(ChainError):
    """Timeout refused: the proven counterparty header (``proof_height``, ``time_ns``) is
    before the packet's timeout (I-14)."""

    fields = ("sequence", "proof_height", "time_ns")
    sequence: int
    proof_height: int
    time_ns: int

    def __init__(self, sequence: int, proof_height: int, time_ns: int) -> None:
        super().__init__(sequence, proof_height, time_ns)


class IbcNoTimeout(ChainError):
    """A packet must have a non-zero timeout height or timestamp (I-8)."""


class IbcPacketExpired(ChainError):
    """Send refused: the timeout has already passed according to the sender's client view
    of the counterparty (I-8). ``client_height``/``client_time_ns`` are that view."""

    fields = ("timeout_height", "timeout_timestamp", "client_height", "client_time_ns")
    timeout_height: int
    timeout_timestamp: int
    client_height: int
    client_time_ns: int

    def __init__(
        self, timeout_height: int, timeout_timestamp: int, client_height: int, client_time_ns: int
    ) -> None:
        super().__init__(timeout_height, timeout_timestamp, client_height, client_time_ns)


class IbcPacketOutOfOrder(ChainError):
    """ORDERED channel: ``sequence`` arrived (or was acknowledged) before its predecessors;
    the channel expects ``expected`` next (I-10.3, I-13, I-24)."""

    fields = ("sequence", "expected")
    sequence: int
    expected: int

    def __init__(self, sequence: int, expected: int) -> None:
        super().__init__(sequence, expected)


class IbcCommitmentMismatch(ChainError):
    """The packet relayed is not the packet committed under its sequence (I-13, I-14)."""

    fields = ("sequence",)
    sequence: int

    def __init__(self, sequence: int) -> None:
        super().__init__(sequence)


class IbcTransferUnsupported(ChainError):
    """ICS-20 transfers are not modelled: Mesh Security never uses them (I-33)."""

    fields = ("channel_id",)
    channel_id: str

    def __init__(self, channel_id: str) -> None:
        super().__init__(channel_id)


class IbcExecutionAborted(ChainError):
    """An unrecoverable fault of the receiving chain's execution (the analogue of out of
    gas or a VM abort, I-19): the receive operation fails as a whole, with no receipt and no
    acknowledgement, and the packet stays pending. Never turned into an error ack."""

    fields = ("reason",)
    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)


class IbcWrongEndpoint(ChainError):
    """An operation was sent to an IBC actor that does not own it (e.g. a packet of
    ``channel-1`` to the actor of ``channel-0``, or a chain-level step to a channel)."""

    fields = ("operation", "endpoint")
    operation: str
    endpoint: str

    def __init__(self, operation: str, endpoint: str) -> None:
        super().__init__(operation, endpoint)
