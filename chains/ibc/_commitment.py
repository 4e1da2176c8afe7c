"""Commitments (ibc-go's 23-commitment): the hashes a chain stores for what the counterparty
must be able to prove.

A sent packet is committed as ``H(timeout_timestamp ‖ timeout_height ‖ H(data))`` (I-8: the
data and the timeout, not the sequence, which is the key it is stored under); a written
acknowledgement as ``H(ack)`` (I-10.6). `packet_commitment` and `ack_commitment` are the pure
functions; `CommitmentCache` keeps the results an application repeats from packet to packet
(the same payload shape and timeout, the same few success acks), so the per-packet path pays
one dictionary lookup instead of two SHA-256 runs.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Final

from chains.contract._ibc_types import IbcAcknowledgement, IbcPacket

__all__ = ["ack_commitment", "packet_commitment"]

_PACK = struct.Struct(">QQQ").pack
_sha256 = hashlib.sha256

# packets with more data are hashed every time: keeping their bytes alive in a cache key
# would cost more memory than the hash costs time
_CACHED_DATA_SIZE: Final = 1024
_CACHE_ENTRIES: Final = 256
# the distinct acks an application writes are few (its success shapes); errors carry text
# that varies, so the cache stops growing instead of churning
_CACHED_ACKS: Final = 64


def packet_commitment(packet: IbcPacket) -> bytes:
    """I-8: ``H(timeout_timestamp ‖ timeout_height ‖ H(data))`` (ICS-04 byte layout, with the
    height as revision number and revision height)."""
    timeout = packet.timeout
    head = _PACK(timeout.timestamp_ns, timeout.revision, timeout.height)
    return _sha256(head + _sha256(packet.data).digest()).digest()


def ack_commitment(ack: bytes) -> bytes:
    """I-10.6: ``H(ack)``."""
    return _sha256(ack).digest()


class CommitmentCache:
    """The commitments of one IBC module's recent packets and acks (pure functions of their
    inputs, so a cached value is always the right one).

    ``known_ack`` is the ack cache's ``dict.get``, handed out so that the receive path costs
    one C call when the ack is known; on a miss the caller asks `ack_commitment_of`.
    """

    __slots__ = ("_acks", "_packets", "known_ack")

    def __init__(self) -> None:
        self._packets: dict[tuple[int, int, int, bytes], bytes] = {}
        # ack bytes -> (H(ack), whether it is a success ack)
        self._acks: dict[bytes, tuple[bytes, bool]] = {}
        self.known_ack = self._acks.get

    def packet(self, packet: IbcPacket) -> bytes:
        """`packet_commitment` of ``packet``, from the cache when its data and timeout were
        seen recently."""
        data = packet.data
        if len(data) > _CACHED_DATA_SIZE:
            return packet_commitment(packet)
        timeout = packet.timeout
        key = (timeout.timestamp_ns, timeout.revision, timeout.height, data)
        cache = self._packets
        commitment = cache.get(key)
        if commitment is None:
            if len(cache) >= _CACHE_ENTRIES:
                # emptied when full (in place: the dict is never replaced), so an app that
                # never repeats costs one failed lookup per packet
                cache.clear()
            commitment = cache[key] = packet_commitment(packet)
        return commitment

    def ack_commitment_of(self, ack: bytes) -> tuple[bytes, bool]:
        """``(ack_commitment(ack), succeeded)`` for ack bytes ``known_ack`` did not know,
        remembered while the cache has room. ``succeeded`` is what the
        ``write_acknowledgement`` event reports (I-11: not an ``{"error": ...}`` ack)."""
        # `ack_commitment` inlined: with acks that vary per packet this runs for every one
        known = (_sha256(ack).digest(), IbcAcknowledgement(data=ack).error_text() is None)
        if len(self._acks) < _CACHED_ACKS:
            self._acks[ack] = known
        return known
