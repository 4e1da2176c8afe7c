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

Validators: the chain's bonded validators with their staking power (the active set, C-15),
each signing with its consensus key, which the chain holds: `consensus_key` derives it from
the chain id and the validator's consensus public key string (``ValidatorSpec.pubkey`` where
given, else ``"pubkey-<name>"``) and the chain config's secret ``key_seed`` (empty in
simulations: then the keys are guessable, and runs repeat). A header is signed on demand (when a
relayer asks for it) and cached for its height; every member of the signing set signs, each
signature computed when the commit is first read (`deferred_commit`, issue 16: serialised
for another process, compared, copied; a light client in this process counts the votes of
the commit bound to exactly the header it verifies without them). When
the bonded set (or a power) changed since the last header handed out, the next header is
still signed by the set the last one announced and names the new set as its
``next_validators`` (CometBFT's header carries the same pair): a counterparty client
verifies it with the set it trusts and then trusts the new one (ICS-07), so its trust
follows the validator set through jailing, slashing and new delegations. A client that
skipped such headers accepts a later one if the signers hold more than the trust level
(1/3, ICS-07's default) of the power of the set it trusts: always after changes of power
alone (every remaining member signs); after members left, each header carries the latest
`_BRIDGE` headers where the membership changed (its ``bridge``), which the client verifies
first, one after the other. A chain with no bonded validator (a test chain without
staking) signs with ``IbcConfig.validators`` equal-power keys (`genesis_validator_keys`).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, Final

from chains.contract._keys import KeyPair, PublicKey
from chains.contract._signing import canonical_json
from chains.host._config import seeded_secret
from chains.ibc._commitment_paths import (
    ack_key,
    channel_key,
    commitment_key,
    connection_key,
    next_sequence_recv_key,
    receipt_key,
)
from chains.ibc._light_client import (
    ConsensusValidatorSet,
    Header,
    HeaderSigners,
    deferred_commit,
)
from chains.ibc._merkle import MembershipProof, MerkleTree, NonMembershipProof
from chains.ibc._msgs import IbcHeader, SignedHeader
from chains.ibc._state import IbcStore
from mesh_actors import construct_trusted

__all__ = ["ProvableStore", "consensus_key", "genesis_validator_keys"]

_RECEIPT: Final = b"\x01"
# transition headers a signed header carries: a client more changes behind than this
# accepts a later header only if its trusted set still holds over 1/3 of the signed power
_BRIDGE: Final = 16
_SEQ = struct.Struct(">Q").pack
_HEADER_FIELDS: Final = frozenset(Header.model_fields)
_SIGNED_FIELDS: Final = frozenset(SignedHeader.model_fields)


def genesis_validator_keys(chain_id: str, count: int, seed: bytes = b"") -> tuple[KeyPair, ...]:
    """The deterministic keys of ``count`` equal-power signers of a chain without bonded
    validators (``seed`` as for `consensus_key`)."""
    if seed:
        return tuple(
            KeyPair.from_private_bytes(seeded_secret(seed, f"mesh-validator/{chain_id}/{i}"))
            for i in range(count)
        )
    return tuple(KeyPair.from_seed(f"{chain_id}/validator/{i}") for i in range(count))


def consensus_key(chain_id: str, pubkey: str, seed: bytes = b"") -> KeyPair:
    """The consensus key pair of the validator of ``chain_id`` whose consensus public key
    string (its staking record's ``consensus_pubkey``) is ``pubkey``.

    With the empty ``seed`` a simulation key, derived from public names so runs repeat:
    anyone can derive it and sign headers the counterparty's light client accepts, fine
    in one process, never for chains reachable over a network. With the chain config's
    secret ``key_seed`` (a genesis of processes draws one) the secret is
    ``HMAC-SHA256(seed, "mesh-consensus/<chain_id>/<pubkey>")``: only holders of the seed
    can sign the chain's headers."""
    if seed:
        return KeyPair.from_private_bytes(
            seeded_secret(seed, f"mesh-consensus/{chain_id}/{pubkey}")
        )
    return KeyPair.from_seed(f"{chain_id}/consensus/{pubkey}")


BondedSet = Callable[[], tuple[tuple[str, int], ...]]
"""The chain's bonded validators now: ``(consensus pubkey string, power)`` each."""


class ProvableStore:
    """The Merkle tree of one IBC module's provable records and its signed headers.

    Not journaled itself: it follows the journaled maps at block starts (`catch_up`), when
    the ended block's writes are final.
    """

    def __init__(
        self,
        chain_id: str,
        state: IbcStore,
        validator_count: int,
        bonded: BondedSet | None = None,
        key_seed: bytes = b"",
    ) -> None:
        self.chain_id = chain_id
        # the secret its validators' keys derive from (`consensus_key`)
        self._key_seed = key_seed
        self._state = state
        self.tree = MerkleTree()
        self._bonded = bonded
        fallback = genesis_validator_keys(chain_id, validator_count, key_seed)
        self._fallback = ConsensusValidatorSet.of({key.public_key: 1 for key in fallback})
        self._keys: dict[PublicKey, KeyPair] = {key.public_key: key for key in fallback}
        self._bonded_memo: tuple[tuple[tuple[str, int], ...], ConsensusValidatorSet] | None = None
        # the set that signs the next header: the one the last header handed out announced
        self.validators = self._current()
        self._signed: SignedHeader | None = None
        # the latest headers that announced a new set (the bridge of later headers)
        self._transitions: list[SignedHeader] = []
        self._facts_memo: list[tuple[ConsensusValidatorSet, tuple[bytes, HeaderSigners]]] = []

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

    # -- validators --

    def _current(self) -> ConsensusValidatorSet:
        """The chain's bonded set now, as the light client sees it (memoised on the
        staking figures: most headers find the set unchanged)."""
        bonded = () if self._bonded is None else self._bonded()
        if not bonded:
            return self._fallback
        memo = self._bonded_memo
        if memo is not None and (memo[0] is bonded or memo[0] == bonded):
            return memo[1]
        members: dict[PublicKey, int] = {}
        for pubkey, power in bonded:
            key = consensus_key(self.chain_id, pubkey, self._key_seed)
            self._keys[key.public_key] = key
            members[key.public_key] = power
        found = ConsensusValidatorSet.of(members)
        self._bonded_memo = (bonded, found)
        return found

    def signing_keys(self) -> tuple[KeyPair, ...]:
        """The keys of the set that signs the next header, in the set's order (for tests
        that play a validator)."""
        return tuple(self._keys[v.public_key] for v in self.validators.validators)

    # -- headers --

    def _facts(self, vset: ConsensusValidatorSet) -> tuple[bytes, HeaderSigners]:
        """The set's hash and its members' keys, memoised per set object (the set rarely
        changes between headers). Every member signs: a client that trusts an older set
        then sees all of that set's remaining members sign, whatever the powers did."""
        memo = self._facts_memo
        for known, facts in memo:
            if known is vset:
                return facts
        facts = (
            vset.hash(),
            HeaderSigners(tuple(self._keys[v.public_key] for v in vset.validators)),
        )
        memo.append((vset, facts))
        del memo[:-2]
        return facts

    def signed(self, header: IbcHeader) -> IbcHeader:
        """``header`` (this chain's committed block) with its signed header: app hash the
        tree's root now (call after `catch_up`), signed by the set the last header
        announced, announcing the bonded set now (see the module docstring). Cached per
        height."""
        cached = self._signed
        if cached is None or cached.header.height != header.height:
            signers = self.validators
            upcoming = self._current()
            signers_hash, signing = self._facts(signers)
            fields = {
                "chain_id": self.chain_id,
                "height": header.height,
                "time_ns": header.time_ns,
                "app_hash": self.tree.root(),
                "validators_hash": signers_hash,
                "next_validators_hash": self._facts(upcoming)[0],
            }
            # this chain's own values (the height and time of a validated `IbcHeader`,
            # 32-byte hashes): nothing to validate again once they are plain ints
            raw = (
                construct_trusted(Header, fields, set(_HEADER_FIELDS))
                if type(header.height) is int and type(header.time_ns) is int
                else Header(**fields)
            )
            # every member's vote, each signed when first read (issue 16): in one process
            # nobody reads them (this process's clients count such a commit's votes by
            # construction), across a transport the encoder does, ed25519 signatures being
            # deterministic (the same bytes whenever they are made)
            commit = deferred_commit(signing, raw.sign_bytes())
            changed = upcoming is not signers
            cached = self._signed = construct_trusted(
                SignedHeader,
                {
                    "header": raw,
                    "commit": commit,
                    "validators": signers,
                    "next_validators": upcoming if changed else None,
                    "bridge": tuple(self._transitions),
                },
                set(_SIGNED_FIELDS),
            )
            if changed and {v.public_key for v in upcoming.validators} != {
                v.public_key for v in signers.validators
            }:
                # what a client that missed this header needs to follow the change: members
                # left (a change of powers alone is followed without it, every member signs)
                self._transitions = [*self._transitions, cached.model_copy(update={"bridge": ()})][
                    -_BRIDGE:
                ]
            self.validators = upcoming
        return header.model_copy(update={"signed": cached})
