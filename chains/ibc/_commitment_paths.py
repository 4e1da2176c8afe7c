"""The keys of the provable IBC store (ICS-24 paths), as bytes for the `MerkleTree`.

One function per kind of record a counterparty must be able to prove, named for it, so the
module that writes a record and the relayer that proves it cannot disagree on its key.
"""

from __future__ import annotations

__all__ = [
    "ack_key",
    "channel_key",
    "commitment_key",
    "connection_key",
    "next_sequence_recv_key",
    "receipt_key",
]


def commitment_key(port_id: str, channel_id: str, sequence: int) -> bytes:
    """Where a sent packet's commitment lives (I-8), until its ack or timeout (I-13, I-14)."""
    return f"commitments/ports/{port_id}/channels/{channel_id}/sequences/{sequence}".encode()


def receipt_key(port_id: str, channel_id: str, sequence: int) -> bytes:
    """Where an UNORDERED channel's receipt lives (I-10.3); its absence proves a timeout."""
    return f"receipts/ports/{port_id}/channels/{channel_id}/sequences/{sequence}".encode()


def ack_key(port_id: str, channel_id: str, sequence: int) -> bytes:
    """Where the acknowledgement commitment ``H(ack)`` of a received packet lives (I-10.6)."""
    return f"acks/ports/{port_id}/channels/{channel_id}/sequences/{sequence}".encode()


def next_sequence_recv_key(port_id: str, channel_id: str) -> bytes:
    """An ORDERED channel's next receive sequence (its timeouts prove it, I-14)."""
    return f"nextSequenceRecv/ports/{port_id}/channels/{channel_id}".encode()


def channel_key(port_id: str, channel_id: str) -> bytes:
    """A channel end (I-4), proven to the counterparty at each handshake step (I-6, I-20)."""
    return f"channelEnds/ports/{port_id}/channels/{channel_id}".encode()


def connection_key(connection_id: str) -> bytes:
    """A connection end, proven during the connection handshake."""
    return f"connections/{connection_id}".encode()
