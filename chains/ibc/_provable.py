"""The provable IBC store (issue 13): a `MerkleTree` over this chain's IBC records, and the
block headers, signed by the chain's validators, that commit to its root.

What it protects against: a relayer (or anyone reaching a chain) that delivers a packet
never committed on its source, an ack never written, or a timeout for a packet that was
received. The counterparty's verifying client accepts only headers signed by more than 2/3
of this chain's validator power, and checks every packet, ack and timeout against the app
hash (the tree's root) of the header at the proof height: a relayer can delay or drop,
never forge (I-17).

The tree holds, under the ICS-24 paths of ``_commitment_paths.py``: packet commitments,
receipts (both orderings: the module keeps them for exactly-once bookkeeping, I-29, so a
timeout proves the receipt's absence whatever the ordering), ack commitments, next receive
sequences, and channel and connection ends (their canonical JSON views). The layers write
the journaled maps; the maps note the keys they write (`IbcStore.dirty`) and `catch_up`,
run at each block start, re-reads only those, so the tree is the state as of the end of the
last ended block (what the module calls *committed*), at a cost of one tree path per write.

Only the tree of the committed height is kept: a relayer reads a fact and its proof in one
answer at that height, and the counterparty's client keeps the header (root) of that height,
so a proof stays checkable for as long as the client keeps the header.

Validators: the chain's genesis validators with deterministic keys
(``KeyPair.from_seed(f"{chain_id}/validator/{i}")``, so runs repeat), equal power; a header
is signed on demand (when a relayer asks for it) and cached for its height.
"""

from __future__ import annotations

import struct
from typing import Any, Final

from chains.contract._keys import KeyPair
from chains.contract._signing import canonical_json
from chains.ibc._commitment_paths import (
    ack_key,
    channel_key,
    commitment_key,
    connection_key,
    next_sequence_recv_key,
    receipt_key,
)
from chains.ibc._light_client import Commit, CommitSignature, ConsensusValidatorSet, Header
from chains.ibc._merkle import MembershipProof, MerkleTree, NonMembershipProof
from chains.ibc._msgs import IbcHeader, SignedHeader
from chains.ibc._state import IbcStore

__all__ = ["ProvableStore", "genesis_validator_keys"]

_RECEIPT: Final = b"\x01"
_SEQ = struct.Struct(">Q").pack


def genesis_validator_keys(chain_id: str, count: int) -> tuple[KeyPair, ...]:
    """The deterministic consensus keys of ``chain_id``'s ``count`` genesis validators."""
    return tuple(KeyPair.from_seed(f"{chain_id}/validator/{i}") for i in range(count))


class ProvableStore:
    """The Merkle tree of one IBC module's provable records and its signed headers.

    Not journaled itself: it follows the journaled maps at block starts (`catch_up`), when
    the ended block's writes are final.
    """

    def __init__(self, chain_id: str, state: IbcStore, validator_count: int) -> None:
        self.chain_id = chain_id
        self._state = state
        self.tree = MerkleTree()
        self._keys = genesis_validator_keys(chain_id, validator_count)
        self.validators = ConsensusValidatorSet.of({key.public_key: 1 for key in self._keys})
        self._validators_hash = self.validators.hash()
        self._signed: SignedHeader | None = None

    # -- following the store --

    def catch_up(self) -> None:
        """Apply the records written since the last call to the tree (at a block start:
        the ended block's writes are final)."""
        state = self._state
        dirty = state.dirty
        if not dirty:
            return
        tree = self.tree
        channels = state.channels
        for name, key in dirty:
            path, value = self._entry(name, key, channels)
            if path is None:
                continue
            if value is None:
                tree.delete(path)
            else:
                tree.set(path, value)
        dirty.clear()

    def _entry(self, name: str, key: Any, channels: Any) -> tuple[bytes | None, bytes | None]:
        """The tree path of the record ``key`` of map ``name`` and its value now (``None``:
        absent), or ``(None, None)`` if it cannot be placed (a channel never created)."""
        state = self._state
        if name == "ibc/connections":
            connection = state.connections.get(key)
            path = connection_key(key)
            return path, None if connection is None else canonical_json(connection.view())
        if name == "ibc/channels":
            end = channels.get(key)
            if end is None:
                return None, None
            return channel_key(end.port_id, key), canonical_json(end.view())
        if name == "ibc/next_sequence_recv":
            end = channels.get(key)
            if end is None:
                return None, None
            sequence = state.next_recv.get(key)
            path = next_sequence_recv_key(end.port_id, key)
            return path, None if sequence is None else _SEQ(sequence)
        channel_id, sequence = key
        end = channels.get(channel_id)
        if end is None:
            return None, None
        port = end.port_id
        if name == "ibc/commitments":
            record = state.commitments.get(key)
            return (
                commitment_key(port, channel_id, sequence),
                None if record is None else record[0],
            )
        if name == "ibc/receipts":
            received = state.receipts.get(key)
            return receipt_key(port, channel_id, sequence), (None if received is None else _RECEIPT)
        ack = state.acks.get(key)
        return ack_key(port, channel_id, sequence), None if ack is None else ack.commitment

    def rebuild(self) -> None:
        """Build the tree afresh from every provable record in the maps (after the chain's
        state was loaded from a durable store), and forget the signed header."""
        state = self._state
        self.tree = MerkleTree()
        self._signed = None
        dirty = state.dirty
        dirty.clear()
        for journaled in (
            state.connections,
            state.channels,
            state.next_recv,
            state.commitments,
            state.receipts,
            state.acks,
        ):
            name = journaled.name
            dirty.update((name, key) for key in journaled)
        self.catch_up()

    # -- proofs (of the committed state) --

    def prove_key(self, key: bytes) -> MembershipProof:
        """The membership of ``key`` (any provable record) in the committed state; raises
        `ProofUnavailable`."""
        return self.tree.prove_membership(key)

    def prove_commitment(self, port_id: str, channel_id: str, sequence: int) -> MembershipProof:
        """The committed packet commitment's membership. Raises `ProofUnavailable` if it
        is not in the committed state."""
        return self.tree.prove_membership(commitment_key(port_id, channel_id, sequence))

    def prove_ack(self, port_id: str, channel_id: str, sequence: int) -> MembershipProof:
        """The committed ack commitment's membership (raises `ProofUnavailable`)."""
        return self.tree.prove_membership(ack_key(port_id, channel_id, sequence))

    def prove_no_receipt(self, port_id: str, channel_id: str, sequence: int) -> NonMembershipProof:
        """The receipt's absence from the committed state (raises `ProofUnavailable` if it
        is there)."""
        return self.tree.prove_non_membership(receipt_key(port_id, channel_id, sequence))

    # -- headers --

    def signed(self, header: IbcHeader) -> IbcHeader:
        """``header`` (this chain's committed block) with its signed header: app hash the
        tree's root now (call after `catch_up`), signed by every validator. Cached per
        height."""
        cached = self._signed
        if cached is None or cached.header.height != header.height:
            raw = Header(
                chain_id=self.chain_id,
                height=header.height,
                time_ns=header.time_ns,
                app_hash=self.tree.root(),
                validators_hash=self._validators_hash,
                next_validators_hash=self._validators_hash,
            )
            sign_bytes = raw.sign_bytes()
            commit = Commit(
                signatures=tuple(
                    CommitSignature(validator=key.public_key, signature=key.sign(sign_bytes))
                    for key in self._keys
                )
            )
            cached = self._signed = SignedHeader(
                header=raw, commit=commit, validators=self.validators
            )
        return header.model_copy(update={"signed": cached})
