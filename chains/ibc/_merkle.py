"""A sorted Merkle tree over byte keys, with membership and non-membership proofs.

What this protects against (issue 13): a relayer that delivers a packet never committed on
its source, an ack never written, or a timeout for a packet that was in fact received. With
the IBC store (commitments, receipts, acks, sequences, channel and connection ends) under one
Merkle root, and that root in a header the source's validators signed (`LightClient`), a
relayer must attach a proof that checks against that root: it can delay or drop, not forge
(I-17). `verify_membership` / `verify_non_membership` raise `InvalidProof` for anything else.

Shape. The tree is a crit-bit (binary Patricia) trie over the keys: each inner node splits
its keys on the first bit where they differ, so an in-order walk gives the keys sorted, and
the shape (hence the root) depends only on the key set, never on the order of writes. Keys are
read through a prefix-free bit encoding (each byte preceded by a 1 bit, the end of the key a
0 bit) so that a key and its extensions (``b"a"``, ``b"ab"``) are ordered as bytes are.
Hashing is SHA-256, domain separated: a leaf is ``H(0x00 || len(key) || key || H(value))``,
an inner node ``H(0x01 || bit || left || right)``, the empty tree ``H(0x02)``, so a leaf can
never pass for an inner node nor one split for another. A write dirties only the nodes above
it and the root is recomputed lazily, so the cost of a root after one write is one path
(about log2(n) hashes plus the walk), not the whole tree.

Proofs. A membership proof is the path from the leaf to the root (sibling hash, split bit and
side at each step); the verifier checks that the path agrees with the key's own bits, that
the split bits grow towards the leaf, and that it hashes to the root. A non-membership proof
is the membership of the missing key's two neighbours (or of the one neighbour at either end,
or nothing for the empty tree): they bracket the key and are adjacent, which their paths show
(they share their upper part, split at their lowest common ancestor, and below it the left
one always goes right and the right one always goes left).

On the wire (JSON) a path travels packed: one base64 string of 37 bytes a step (the split
bit as 4 bytes big-endian, the side 0 or 1, the sibling hash), read back one way only; a
step that does not pack (not a tree's own: a bit past 2^32, a sibling not of 32 bytes) makes
its path travel as the list of step objects, which is read as before.

Wiring (for the lead): the IBC module keeps one `MerkleTree` of its provable state, keyed
with the ICS-24 paths of `chains.ibc.commitment_key` and its siblings, with values the
commitment bytes (a receipt's value is ``b"\\x01"``; a channel or connection end its
canonical JSON), and puts ``tree.root()`` into the app hash of each block header. Apply each
block's writes once at commit (`set` / `delete`); the tree is not journaled, so it must not
be written inside a savepoint that may roll back. A relayer attaches the proof
(``prove_membership`` of the packet commitment at the header's height) to ``MsgRecvPacket``,
of the ack to ``MsgAcknowledgement``, of the receipt's absence to ``MsgTimeout``, of the
counterparty end to each handshake step; the receiving module verifies it with the light
client (`LightClient.verify_membership` / `verify_non_membership`).
"""

from __future__ import annotations

import binascii
import hashlib
import struct
from collections.abc import Iterable, Iterator
from functools import cache, lru_cache
from typing import Annotated, Any, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_serializer
from sortedcontainers import SortedList

from chains.contract._errors import ChainError
from mesh_actors import construct_trusted

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "InvalidProof",
    "MAX_KEY_SIZE",
    "MembershipProof",
    "MerkleTree",
    "NeighbourProof",
    "NonMembershipProof",
    "ProofStep",
    "ProofUnavailable",
    "leaf_hash",
    "verify_membership",
    "verify_non_membership",
]

HASH_SIZE = 32
# ICS-24 paths are well under this; a bound keeps a hostile proof's work bounded too.
MAX_KEY_SIZE = 1024
_LEAF = b"\x00"
_INNER = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"\x02").digest()


class InvalidProof(ChainError):
    """A Merkle proof that does not prove what it is offered for (``reason`` says why): a
    forged or tampered proof, a wrong key or value, or a proof against another root."""

    fields = ("reason",)
    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)


class ProofUnavailable(ChainError):
    """A proof was asked of the tree for something that is not so: membership of an absent
    key or non-membership of a present one (``key`` in hex)."""

    fields = ("key", "reason")
    key: str
    reason: str

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(key, reason)


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(key: bytes, value_hash: bytes) -> bytes:
    """The hash of the leaf holding ``key`` with a value whose SHA-256 is ``value_hash``."""
    return _sha256(_LEAF + len(key).to_bytes(4, "big") + key + value_hash)


def _inner_hash(bit: int, left: bytes, right: bytes) -> bytes:
    return _sha256(_INNER + bit.to_bytes(4, "big") + left + right)


def _bit(key: bytes, index: int) -> int:
    # Prefix-free encoding: byte j occupies bits 9j (a 1 "byte present" flag) .. 9j+8.
    byte, offset = divmod(index, 9)
    if byte >= len(key):
        return 0
    if offset == 0:
        return 1
    return (key[byte] >> (8 - offset)) & 1


def _crit_bit(a: bytes, b: bytes) -> int:
    # The first bit (in the prefix-free encoding) where two distinct keys differ. The first
    # differing byte is found with one big-integer XOR (keys share long ICS-24 prefixes, a
    # byte loop in Python was the tree's main cost); padding only shows past the shorter key.
    shorter = min(len(a), len(b))
    size = max(len(a), len(b))
    diff = int.from_bytes(a.ljust(size, b"\0"), "big") ^ int.from_bytes(b.ljust(size, b"\0"), "big")
    index = size - (diff.bit_length() + 7) // 8 if diff else size
    if index >= shorter:
        return 9 * shorter
    return 9 * index + 1 + (8 - (a[index] ^ b[index]).bit_length())


# -- proofs (wire values) ---------------------------------------------------------------------


_URLSAFE = str.maketrans("-_", "+/")


def _from_base64(value: Any) -> Any:
    # what the JSON codec hands back (it validates the parsed dict, not the JSON text)
    if isinstance(value, str):
        try:
            # pydantic's ``ser_json_bytes="base64"`` writes the URL-safe alphabet
            text = value.translate(_URLSAFE).encode("ascii")
            return binascii.a2b_base64(text, strict_mode=True)
        except (UnicodeEncodeError, binascii.Error) as exc:
            raise ValueError(f"not base64: {exc}") from None
    return value


WireBytes = Annotated[bytes, BeforeValidator(_from_base64)]
"""Bytes that travel as base64 in JSON, and are read back from base64 by the codec's
dict-level validation too (strict models refuse a ``str`` for ``bytes`` otherwise)."""


def as_tuple(value: Any) -> Any:
    """A JSON list as the tuple a strict model wants (the codec validates parsed JSON)."""
    return tuple(value) if isinstance(value, list) else value


_WIRE = ConfigDict(
    frozen=True, extra="forbid", strict=True, ser_json_bytes="base64", val_json_bytes="base64"
)


class ProofStep(BaseModel):
    """One step from a node up to its parent: the parent's split ``bit``, the other child's
    hash ``sibling``, and whether that sibling is the left child (so the path went right)."""

    model_config = _WIRE
    bit: int
    sibling: WireBytes
    sibling_left: bool


_STEP_FIELDS = frozenset({"bit", "sibling", "sibling_left"})
# One fields-set shared by every step the module builds, and one per proof model (issue
# 16): a set is 216 bytes, a proof some 20 steps, and a relay batch holds a proof per
# packet at once (the peak that sets the process's resident size). Safe to share: the
# models are frozen, so nothing adds to or removes from a model's fields-set, and
# ``model_copy`` copies it.
_STEP_FIELD_SET: Final[set[str]] = set(_STEP_FIELDS)
_PATH_FIELD_SET: Final[set[str]] = {"path"}
_NEIGHBOUR_FIELD_SET: Final[set[str]] = {"key", "value_hash", "path"}
_ABSENCE_FIELD_SET: Final[set[str]] = {"left", "right"}


def _step(cls: type[ProofStep], values: dict[str, Any], fields: frozenset[str]) -> ProofStep:
    # ``fields`` is `_STEP_FIELDS` (every step has all three)
    return construct_trusted(cls, values, _STEP_FIELD_SET)


@lru_cache(maxsize=4096)
def _decoded_step(bit: int, sibling: str, sibling_left: bool) -> ProofStep:
    # a step of the JSON form, decoded once: the proofs of a batch share their upper steps
    # (and the next batch's share most of them). A pure function of immutable values.
    # Raises ValueError for bad base64 (not memoised).
    return _step(
        ProofStep,
        {"bit": bit, "sibling": _from_base64(sibling), "sibling_left": sibling_left},
        _STEP_FIELDS,
    )


# A path's JSON form. Written as a list of step objects, a proof of some 20 steps was most
# of a verified batch's frame and of its cost (pydantic writing and reading 20 models, the
# JSON parser building 20 dicts). A path is written packed instead: one base64 string of
# 37 bytes a step (the bit as 4 bytes big-endian, the side 0 or 1, the sibling). A path
# that cannot be packed exactly (a bit out of 0..2^32-1, a sibling not of 32 bytes: never
# one the tree builds, but a test or a forger can make one) is written as the list, which
# is read back as before.
_PACKED_STEP: Final = struct.Struct(">IB32s")
_PACKED_SIZE: Final = _PACKED_STEP.size
_MAX_PACKED_BIT: Final = 2**32


def _packed_path(path: tuple[ProofStep, ...]) -> str | None:
    """``path`` in its packed JSON form, or ``None`` if it has a step that does not pack."""
    pack = _PACKED_STEP.pack
    try:
        chunks = [
            pack(step.bit, 1 if step.sibling_left else 0, step.sibling)
            for step in path
            if type(step.sibling) is bytes and len(step.sibling) == HASH_SIZE
        ]
    except struct.error:
        return None
    if len(chunks) != len(path):
        return None
    return binascii.b2a_base64(b"".join(chunks), newline=False).decode("ascii")


@lru_cache(maxsize=4096)
def _unpacked_step(chunk: bytes) -> ProofStep:
    # one packed step, decoded once (see `_decoded_step`); raises ValueError for a side
    # byte other than 0 or 1 (one form per step)
    bit, side, sibling = _PACKED_STEP.unpack(chunk)
    if side > 1:
        raise ValueError("a packed proof step's side is 0 or 1")
    return _step(
        ProofStep, {"bit": bit, "sibling": sibling, "sibling_left": side == 1}, _STEP_FIELDS
    )


def _unpacked_path(text: str) -> tuple[ProofStep, ...]:
    """The steps of a packed path. Raises ValueError (not base64, not whole steps, a bad
    side byte)."""
    try:
        raw = binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise ValueError(f"not a packed proof path: {exc}") from None
    size = len(raw)
    if size % _PACKED_SIZE:
        raise ValueError("a packed proof path is whole steps of 37 bytes")
    step = _unpacked_step
    return tuple([step(raw[at : at + _PACKED_SIZE]) for at in range(0, size, _PACKED_SIZE)])


def _steps_in(value: Any) -> Any:
    """A proof path as its validation takes it (the codec hands over parsed JSON): the
    packed form (a string, see above) unpacked; a list as a tuple, and each step of exactly
    the JSON form pydantic writes (``bit`` an int, ``sibling`` base64, ``sibling_left`` a
    bool: what the strict model accepts, and nothing else) as the `ProofStep` itself,
    memoised; any other item is left to the model's own validation, which reports it.
    Raises ValueError for a bad packed form."""
    if isinstance(value, str):
        return _unpacked_path(value)
    if not isinstance(value, list | tuple):
        return value
    out: list[Any] = []
    for item in value:
        if type(item) is dict and len(item) == 3:
            bit = item.get("bit")
            sibling = item.get("sibling")
            sibling_left = item.get("sibling_left")
            if type(bit) is int and type(sibling) is str and type(sibling_left) is bool:
                try:
                    out.append(_decoded_step(bit, sibling, sibling_left))
                    continue
                except ValueError:
                    pass  # its own validation says where
        out.append(item)
    return tuple(out)


_ProofPath = Annotated[tuple[ProofStep, ...], BeforeValidator(_steps_in)]


class MembershipProof(BaseModel):
    """The path from a key's leaf to the root, leaf first."""

    model_config = _WIRE
    path: _ProofPath

    @field_serializer("path", when_used="json")
    def _path_out(self, value: tuple[ProofStep, ...]) -> Any:
        packed = _packed_path(value)
        return value if packed is None else packed


class NeighbourProof(BaseModel):
    """A neighbour of a missing key: its key, its value's hash, and its path (leaf first)."""

    model_config = _WIRE
    key: WireBytes
    value_hash: WireBytes
    path: _ProofPath

    @field_serializer("path", when_used="json")
    def _path_out(self, value: tuple[ProofStep, ...]) -> Any:
        packed = _packed_path(value)
        return value if packed is None else packed


class NonMembershipProof(BaseModel):
    """The missing key's neighbours: the greatest key below it and the least above it
    (``None`` past either end; both ``None`` for the empty tree)."""

    model_config = _WIRE
    left: NeighbourProof | None
    right: NeighbourProof | None


# -- verification -----------------------------------------------------------------------------


def _check_key(key: bytes, what: str) -> None:
    if type(key) is not bytes or len(key) > MAX_KEY_SIZE:
        raise InvalidProof(f"{what} is not a key of at most {MAX_KEY_SIZE} bytes")


def _path_root(
    key: bytes,
    node_hash: bytes,
    path: tuple[ProofStep, ...],
    known: set[bytes] | None = None,
    seen: list[bytes] | None = None,
) -> bytes:
    # Split bits strictly decrease going up and never exceed the key's encoding, and each
    # side must be the one the key's own bit takes: one path per key, no choice for a forger.
    # With ``known`` (hashes of nodes of one tree, proven before): stop at the first of them
    # the path reaches and return it; ``seen`` collects the hashes the path passed (nodes
    # and siblings), which the caller adds to ``known`` once the path is proven.
    limit = 9 * len(key) + 1
    size = len(key)
    inner = _INNER
    sha = hashlib.sha256
    if known is not None and node_hash in known:
        return node_hash
    for step in path:
        bit = step.bit
        sibling = step.sibling
        if type(bit) is not int or not 0 <= bit < limit:
            raise InvalidProof("path splits out of order or beyond the key")
        if type(sibling) is not bytes or len(sibling) != HASH_SIZE:
            raise InvalidProof("a sibling is not a hash")
        # the key's bit ``bit`` in the prefix-free encoding (see `_bit`), inline: the
        # verifier's hot loop
        byte, offset = divmod(bit, 9)
        key_bit = 0 if byte >= size else 1 if offset == 0 else (key[byte] >> (8 - offset)) & 1
        if bool(key_bit) != step.sibling_left:
            raise InvalidProof("path does not follow the key's bits")
        if seen is not None:
            seen.append(node_hash)
            seen.append(sibling)
        if step.sibling_left:
            node_hash = sha(inner + bit.to_bytes(4, "big") + sibling + node_hash).digest()
        else:
            node_hash = sha(inner + bit.to_bytes(4, "big") + node_hash + sibling).digest()
        if known is not None and node_hash in known:
            return node_hash
        limit = bit
    return node_hash


def _neighbour_root(neighbour: NeighbourProof) -> bytes:
    _check_key(neighbour.key, "a neighbour's key")
    if type(neighbour.value_hash) is not bytes or len(neighbour.value_hash) != HASH_SIZE:
        raise InvalidProof("a neighbour's value hash is not a hash")
    return _path_root(neighbour.key, leaf_hash(neighbour.key, neighbour.value_hash), neighbour.path)


def _check_root(root: bytes) -> None:
    if type(root) is not bytes or len(root) != HASH_SIZE:
        raise InvalidProof("the root is not a hash")


# A memo of proven hashes stops growing here (issue 16): the upper nodes a batch shares are
# in it after its first proofs, and a memo kept per recent root that held every node of a
# batch of thousands of proofs (with the proofs' sibling hashes) was 0.4 KiB per stake.
_KNOWN_LIMIT: Final = 1024


def verify_membership(
    root: bytes,
    key: bytes,
    value: bytes,
    proof: MembershipProof,
    known: set[bytes] | None = None,
) -> None:
    """Check that the tree with ``root`` maps ``key`` to ``value``.

    ``known``, if given, is a memo of node hashes of the tree with ``root`` that earlier
    proofs showed (it must hold only such hashes; start it as ``{root}``): a path that
    reaches one of them is proven there, since a node's hash commits to everything below
    it, and the nodes this proof passes are added to it while it holds fewer than
    `_KNOWN_LIMIT` hashes. This is how the proofs of one relay batch under one header share
    the work of their common upper paths (which the first proofs of a batch put in).

    Raises `InvalidProof` if ``proof`` does not show exactly that.
    """
    _check_root(root)
    _check_key(key, "the key")
    if type(value) is not bytes:
        raise InvalidProof("the value is not bytes")
    if known is None:
        if _path_root(key, leaf_hash(key, _sha256(value)), proof.path) != root:
            raise InvalidProof("membership path does not lead to the root")
        return
    seen: list[bytes] = []
    reached = _path_root(key, leaf_hash(key, _sha256(value)), proof.path, known, seen)
    if reached != root and reached not in known:
        raise InvalidProof("membership path does not lead to the root")
    if len(known) < _KNOWN_LIMIT:
        known.update(seen)


def verify_non_membership(root: bytes, key: bytes, proof: NonMembershipProof) -> None:
    """Check that the tree with ``root`` has no entry for ``key``.

    Raises `InvalidProof` if ``proof`` does not show exactly that.
    """
    _check_root(root)
    _check_key(key, "the key")
    left, right = proof.left, proof.right
    if left is None and right is None:
        if root != EMPTY_ROOT:
            raise InvalidProof("no neighbours, but the tree is not empty")
        return
    if left is not None:
        if not left.key < key:
            raise InvalidProof("the left neighbour is not below the key")
        if _neighbour_root(left) != root:
            raise InvalidProof("the left neighbour's path does not lead to the root")
    if right is not None:
        if not key < right.key:
            raise InvalidProof("the right neighbour is not above the key")
        if _neighbour_root(right) != root:
            raise InvalidProof("the right neighbour's path does not lead to the root")
    if right is None:
        assert left is not None
        # the greatest key: every step up comes from a right child
        if not all(step.sibling_left for step in left.path):
            raise InvalidProof("the left neighbour is not the last key")
        return
    if left is None:
        if any(step.sibling_left for step in right.path):
            raise InvalidProof("the right neighbour is not the first key")
        return
    _check_adjacent(left.path, right.path)


def _check_adjacent(left: tuple[ProofStep, ...], right: tuple[ProofStep, ...]) -> None:
    # Both paths reach the same root; above their lowest common ancestor they are the same
    # steps. At that ancestor the left path comes from the left child and the right from the
    # right child; below it the left leaf is the rightmost of its subtree and the right leaf
    # the leftmost of its own, so no key lies between them.
    shared = 0
    while shared < len(left) and shared < len(right) and left[-1 - shared] == right[-1 - shared]:
        shared += 1
    if shared == len(left) or shared == len(right):
        raise InvalidProof("neighbour paths have no split")
    split_left, split_right = left[-1 - shared], right[-1 - shared]
    if split_left.bit != split_right.bit or split_left.sibling_left or not split_right.sibling_left:
        raise InvalidProof("neighbours do not split at their common ancestor")
    if not all(step.sibling_left for step in left[: len(left) - shared - 1]):
        raise InvalidProof("the left neighbour is not the last key of its side")
    if any(step.sibling_left for step in right[: len(right) - shared - 1]):
        raise InvalidProof("the right neighbour is not the first key of its side")


# -- the tree ---------------------------------------------------------------------------------

# Memory (issue 16): the trees hold a leaf and an inner node per receipt, ack and commitment
# of every packet, so their layout is per-stake memory. A leaf is only its key and value, in
# one dict (the key object is also the child in the trie); its hash is worked out when a
# parent is rehashed or a proof passes it, never kept. An inner node is four slots: its split
# (shared by every node splitting at that bit), its hash and its two children. Proof steps
# are memoised only while proofs are asked under one root (`MerkleTree._path`).

# a tree's memo of proof steps starts afresh past this many: a notice page's proofs (100
# at the mesh's default, some 2 steps each beyond the shared ones) fit many times over, and
# a big clearing's restarts cost a dozen shared top steps each; the memo is what stays
# alive after the last batch's proofs are gone (65,536 steps held up to ~13 MB)
_MEMO_STEPS: Final = 4096


@cache  # bounded: a split bit is below 9 * MAX_KEY_SIZE + 1
def _split(bit: int) -> tuple[int, int, int, bytes]:
    # ``(bit, byte, mask, hash prefix)`` of a split bit, worked out once: every write and
    # proof walks some 20 nodes, and a divmod per node was most of a walk's cost. A key
    # goes right at a node splitting at ``bit`` iff
    # ``len(key) > byte and (not mask or key[byte] & mask)`` (see `_bit`)
    byte, offset = divmod(bit, 9)
    mask = 0 if offset == 0 else 1 << (8 - offset)
    return bit, byte, mask, _INNER + bit.to_bytes(4, "big")


def _leaf_of(key: bytes, value: bytes) -> bytes:
    # `leaf_hash` of the value, inline (rehashing a path hashes the leaves beside it)
    sha = hashlib.sha256
    return sha(_LEAF + len(key).to_bytes(4, "big") + key + sha(value).digest()).digest()


class _Inner:
    __slots__ = ("hash", "left", "right", "split")

    def __init__(self, bit: int, left: _Node, right: _Node) -> None:
        self.split = _split(bit)
        self.left = left
        self.right = right
        self.hash: bytes | None = None  # None: dirty, recomputed by `root()`


_Node = _Inner | bytes
"""A node of the trie: an inner node, or a leaf as its key (its value is in the tree's dict)."""


class MerkleTree:
    """A sorted Merkle tree of ``bytes -> bytes`` (see the module docstring).

    Writes (`set`, `delete`) cost one walk from the root; `root` rehashes only the nodes
    above writes since the last call. Keys are at most `MAX_KEY_SIZE` bytes (``ValueError``
    otherwise: a programming error, the module chooses its keys).
    """

    def __init__(self, items: Iterable[tuple[bytes, bytes]] = ()) -> None:
        self._root: _Node | None = None
        self._values: dict[bytes, bytes] = {}
        # the keys in order, for the neighbours of a non-membership proof: a sorted list of
        # sublists, as a plain list's insort moved the whole list on every new key (12 us a
        # write at 40,000 keys, and receipts and acks are never deleted)
        self._sorted: SortedList[bytes] = SortedList()
        # the proof steps built under `_memo_root`, by their sibling's hash (a subtree
        # appears once in a tree, so its hash names its parent's split), one dict per side:
        # the proofs of a relay batch share every step above their leaves (k proofs of
        # neighbouring keys need some 2k steps, not 20k), and the memo is dropped when a
        # proof is asked under another root, so it holds one batch's steps at most
        self._memo_root = EMPTY_ROOT
        self._going_left: dict[bytes, ProofStep] = {}
        self._going_right: dict[bytes, ProofStep] = {}
        for key, value in items:
            self.set(key, value)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def get(self, key: bytes) -> bytes | None:
        """The value under ``key``, or ``None``."""
        return self._values.get(key)

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        """All entries in key order."""
        values = self._values
        for key in self._sorted:
            yield key, values[key]

    def set(self, key: bytes, value: bytes) -> None:
        """Map ``key`` to ``value`` (insert or replace)."""
        if type(key) is not bytes or len(key) > MAX_KEY_SIZE:
            raise ValueError(f"a key is bytes of at most {MAX_KEY_SIZE} bytes")
        if type(value) is not bytes:
            raise ValueError("a value is bytes")
        values = self._values
        existing = values.get(key)
        if existing is not None:
            if existing != value:
                values[key] = value
                self._dirty(key)
                self._forget_steps()
            return
        values[key] = value
        self._forget_steps()
        self._sorted.add(key)
        node = self._root
        if node is None:
            self._root = key
            return
        # The best match: the leaf the new key's bits lead to; it shares the longest prefix.
        # One walk (with `_bit` inline, as the node's precomputed test: it is the cost of
        # every write at catch-up); the nodes it passed above the new split are exactly
        # those whose bit is below it.
        size = len(key)
        passed: list[_Inner] = []
        append = passed.append
        while type(node) is _Inner:
            append(node)
            _, byte, mask, _ = node.split
            node = node.right if byte < size and (not mask or key[byte] & mask) else node.left
        assert type(node) is bytes  # (for the type checker: the walk ends at a leaf)
        crit = _crit_bit(key, node)
        goes_right = _bit(key, crit)
        parent: _Inner | None = None
        reached: _Node = node
        for inner in passed:
            if inner.split[0] >= crit:
                reached = inner
                break
            inner.hash = None
            parent = inner
        split = _Inner(crit, reached, key) if goes_right else _Inner(crit, key, reached)
        if parent is None:
            self._root = split
        elif parent.right is reached:
            parent.right = split
        else:
            parent.left = split

    def _forget_steps(self) -> None:
        # a write: the memoised steps are of the old root (dropped now, not at the next
        # proof, so that a batch's steps are not kept while no proof is asked)
        if self._going_left or self._going_right:
            self._going_left.clear()
            self._going_right.clear()

    def _dirty(self, key: bytes) -> None:
        # the nodes above the leaf of ``key`` (present) must be rehashed
        node = self._root
        size = len(key)
        while type(node) is _Inner:
            node.hash = None
            _, byte, mask, _ = node.split
            node = node.right if byte < size and (not mask or key[byte] & mask) else node.left

    def delete(self, key: bytes) -> bool:
        """Remove ``key``; return whether it was there."""
        if self._values.pop(key, None) is None:
            return False
        self._forget_steps()
        self._sorted.remove(key)
        grandparent: _Inner | None = None
        parent: _Inner | None = None
        node = self._root
        size = len(key)
        while type(node) is _Inner:
            node.hash = None
            grandparent, parent = parent, node
            _, byte, mask, _ = node.split
            node = node.right if byte < size and (not mask or key[byte] & mask) else node.left
        if parent is None:
            self._root = None
            return True
        sibling = parent.left if parent.right is node else parent.right
        if grandparent is None:
            self._root = sibling
        elif grandparent.right is parent:
            grandparent.right = sibling
        else:
            grandparent.left = sibling
        return True

    def root(self) -> bytes:
        """The root hash (`EMPTY_ROOT` for the empty tree)."""
        node = self._root
        if node is None:
            return EMPTY_ROOT
        return self._hash(node)

    def _hash(self, node: _Node) -> bytes:
        # Iterative post-order over the dirty nodes only: a tree of keys sharing long
        # prefixes can be deeper than Python's recursion limit. A leaf is hashed when its
        # parent is (its hash is not kept).
        if type(node) is bytes:
            return _leaf_of(node, self._values[node])
        assert type(node) is _Inner
        if node.hash is not None:
            return node.hash
        values = self._values
        stack: list[_Inner] = [node]
        sha = hashlib.sha256
        while stack:
            top = stack[-1]
            left, right = top.left, top.right
            pending = False
            if type(left) is _Inner and left.hash is None:
                stack.append(left)
                pending = True
            if type(right) is _Inner and right.hash is None:
                stack.append(right)
                pending = True
            if pending:
                continue
            # (a clean inner child's hash, or the leaf's worked out now)
            left_hash = left.hash if isinstance(left, _Inner) else _leaf_of(left, values[left])
            right_hash = right.hash if isinstance(right, _Inner) else _leaf_of(right, values[right])
            assert left_hash is not None and right_hash is not None
            # `_inner_hash` with the node's own prefix
            top.hash = sha(top.split[3] + left_hash + right_hash).digest()
            stack.pop()
        assert node.hash is not None
        return node.hash

    def _path(self, key: bytes) -> tuple[ProofStep, ...]:
        root = self.root()  # every inner hash on the path is clean afterwards
        going_left, going_right = self._going_left, self._going_right
        if root != self._memo_root or len(going_left) + len(going_right) > _MEMO_STEPS:
            self._memo_root = root
            going_left.clear()
            going_right.clear()
        values = self._values
        steps: list[ProofStep] = []
        node = self._root
        size = len(key)
        while type(node) is _Inner:
            bit, byte, mask, _ = node.split
            if byte < size and (not mask or key[byte] & mask):
                sibling, node, sibling_left, memo = node.left, node.right, True, going_right
            else:
                sibling, node, sibling_left, memo = node.right, node.left, False, going_left
            if isinstance(sibling, _Inner):
                sibling_hash = sibling.hash
                assert sibling_hash is not None  # (`root` above cleaned every node)
            else:
                sibling_hash = _leaf_of(sibling, values[sibling])
            step = memo.get(sibling_hash)
            if step is None:
                # built unvalidated: every field is the tree's own (int, digest, bool)
                step = memo[sibling_hash] = _step(
                    ProofStep,
                    {"bit": bit, "sibling": sibling_hash, "sibling_left": sibling_left},
                    _STEP_FIELDS,
                )
            steps.append(step)
        steps.reverse()
        return tuple(steps)

    def prove_membership(self, key: bytes) -> MembershipProof:
        """The proof that ``key`` maps to its current value under the current `root`.

        Raises `ProofUnavailable` if ``key`` is absent.
        """
        if key not in self._values:
            raise ProofUnavailable(key.hex(), "absent: prove its non-membership instead")
        # (every field given, of its exact type: the cheap unvalidated construction)
        return construct_trusted(MembershipProof, {"path": self._path(key)}, _PATH_FIELD_SET)

    def prove_non_membership(self, key: bytes) -> NonMembershipProof:
        """The proof that ``key`` is absent under the current `root`.

        Raises `ProofUnavailable` if ``key`` is present.
        """
        if key in self._values:
            raise ProofUnavailable(key.hex(), "present: prove its membership instead")
        ordered = self._sorted
        index = ordered.bisect_left(key)
        left = self._neighbour(ordered[index - 1]) if index > 0 else None
        right = self._neighbour(ordered[index]) if index < len(ordered) else None
        return construct_trusted(
            NonMembershipProof, {"left": left, "right": right}, _ABSENCE_FIELD_SET
        )

    def _neighbour(self, key: bytes) -> NeighbourProof:
        return construct_trusted(
            NeighbourProof,
            {
                "key": key,
                "value_hash": hashlib.sha256(self._values[key]).digest(),
                "path": self._path(key),
            },
            _NEIGHBOUR_FIELD_SET,
        )
