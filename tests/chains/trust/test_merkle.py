"""The sorted Merkle tree against a brute-force model (issue 13; what makes I-17 hold).

A relayer proves a packet commitment (I-8, I-10), an ack (I-13) or the absence of a receipt
(I-14) against the counterparty's root. The model: a plain dict, and a root computed from
scratch by a recursive split of the sorted keys. Proofs must verify iff what they claim is
true, and any one-byte or one-field change of a proof, key, value or root is refused.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chains.ibc import (
    EMPTY_ROOT,
    InvalidProof,
    MembershipProof,
    MerkleTree,
    NeighbourProof,
    NonMembershipProof,
    ProofStep,
    ProofUnavailable,
    commitment_key,
    receipt_key,
    verify_membership,
    verify_non_membership,
)

# A small alphabet gives shared prefixes, keys that are prefixes of others and empty keys.
KEYS = st.binary(max_size=4).map(lambda b: bytes(x % 4 for x in b))
VALUES = st.binary(max_size=6)


def _bits(key: bytes) -> str:
    # The prefix-free reading the tree documents: "1" + 8 bits per byte, then a "0".
    return "".join("1" + format(byte, "08b") for byte in key) + "0"


def _model_root(items: dict[bytes, bytes]) -> bytes:
    """The root from scratch (`_model_proofs`' recursive split, its proofs dropped)."""
    return _model_proofs(items)[0]


_OPS = st.lists(st.tuples(st.booleans(), KEYS, VALUES), max_size=40)


def _apply(ops: list[tuple[bool, bytes, bytes]]) -> tuple[MerkleTree, dict[bytes, bytes]]:
    tree, model = MerkleTree(), {}
    for insert, key, value in ops:
        if insert:
            tree.set(key, value)
            model[key] = value
        else:
            assert tree.delete(key) == (key in model)
            model.pop(key, None)
    return tree, model


@given(_OPS)
def test_root_is_the_model_root_whatever_the_history(ops: list[tuple[bool, bytes, bytes]]) -> None:
    tree, model = _apply(ops)
    assert tree.root() == _model_root(model)
    assert dict(tree.items()) == model
    assert [k for k, _ in tree.items()] == sorted(model)
    assert len(tree) == len(model)
    assert MerkleTree(reversed(list(model.items()))).root() == tree.root()


def _model_proofs(items: dict[bytes, bytes]) -> tuple[bytes, dict[bytes, MembershipProof]]:
    """The root and every key's membership proof from scratch (no caching, no laziness):
    split the sorted keys at their first differing bit, each key's path collected leaf
    first."""
    paths: dict[bytes, list[ProofStep]] = {key: [] for key in items}

    def build(keys: list[bytes]) -> bytes:
        if len(keys) == 1:
            key = keys[0]
            value_hash = hashlib.sha256(items[key]).digest()
            return hashlib.sha256(b"\x00" + len(key).to_bytes(4, "big") + key + value_hash).digest()
        encoded = [_bits(k) for k in keys]
        bit = 0
        while len({e[bit] if bit < len(e) else "0" for e in encoded}) == 1:
            bit += 1
        left = [k for k, e in zip(keys, encoded, strict=True) if bit >= len(e) or e[bit] == "0"]
        right = [k for k in keys if k not in left]
        left_hash, right_hash = build(left), build(right)
        for key in left:
            paths[key].append(ProofStep(bit=bit, sibling=right_hash, sibling_left=False))
        for key in right:
            paths[key].append(ProofStep(bit=bit, sibling=left_hash, sibling_left=True))
        return hashlib.sha256(b"\x01" + bit.to_bytes(4, "big") + left_hash + right_hash).digest()

    if not items:
        # written out, not `EMPTY_ROOT`: the empty tree's root is checked here too
        return hashlib.sha256(b"\x02").digest(), {}
    root = build(sorted(items))
    return root, {key: MembershipProof(path=tuple(path)) for key, path in paths.items()}


def _model_absence(
    items: dict[bytes, bytes], proofs: dict[bytes, MembershipProof], key: bytes
) -> NonMembershipProof:
    """The non-membership proof of ``key`` from the model: its two neighbours' proofs."""

    def neighbour(other: bytes) -> NeighbourProof:
        value_hash = hashlib.sha256(items[other]).digest()
        return NeighbourProof(key=other, value_hash=value_hash, path=proofs[other].path)

    below = [k for k in sorted(items) if k < key]
    above = [k for k in sorted(items) if k > key]
    return NonMembershipProof(
        left=neighbour(below[-1]) if below else None,
        right=neighbour(above[0]) if above else None,
    )


@given(st.lists(st.tuples(st.booleans(), KEYS, VALUES, st.booleans()), max_size=40))
@settings(max_examples=200)
def test_compact_tree_roots_and_proofs_equal_a_from_scratch_reference_I_17(
    ops: list[tuple[bool, bytes, bytes, bool]],
) -> None:
    """The tree keeps leaves as a dict, hashes lazily and memoises upper proof steps (issue
    16): over random set/delete sequences, asked at random points in between (so stale
    hashes or memoised steps would show), its root and every membership and
    non-membership proof are byte-identical to a reference built from scratch."""
    tree, model = MerkleTree(), {}
    probes = {b"", b"\x00", b"\x03\x03\x03\x03\x03"}
    for insert, key, value, ask in ops:
        probes.add(key)
        if insert:
            tree.set(key, value)
            model[key] = value
        else:
            tree.delete(key)
            model.pop(key, None)
        if not ask:
            continue
        root, proofs = _model_proofs(model)
        assert tree.root() == root
        for probe in sorted(probes):
            if probe in model:
                proof = tree.prove_membership(probe)
                assert proof == proofs[probe]
                assert proof.model_dump_json() == proofs[probe].model_dump_json()
            else:
                absence = tree.prove_non_membership(probe)
                assert absence == _model_absence(model, proofs, probe)
                assert tree.get(probe) is None
    assert dict(tree.items()) == model


@given(_OPS, st.lists(KEYS, max_size=8))
@settings(max_examples=150)
def test_proofs_verify_iff_truthful(
    ops: list[tuple[bool, bytes, bytes]], extra: list[bytes]
) -> None:
    """Every honest proof the tree gives, offered for every statement over the keys in play:
    it verifies exactly when the statement is true in the model."""
    tree, model = _apply(ops)
    root = tree.root()
    keys = sorted(set(model) | set(extra) | {b""})
    memberships = {k: tree.prove_membership(k) for k in model}
    absences = {k: tree.prove_non_membership(k) for k in keys if k not in model}
    values = set(model.values()) | {b"other"}
    for key in keys:
        for proof in memberships.values():
            for value in values:
                truthful = model.get(key) == value and proof == memberships[key]
                _check(truthful, verify_membership, root, key, value, proof)
        for proof_n in absences.values():
            # any neighbour pair that brackets an absent key proves it; nothing proves a
            # present key absent
            _check(
                key not in model and proof_n == absences[key],
                verify_non_membership,
                root,
                key,
                proof_n,
            )


def _check(truthful: bool, verify: Any, *args: Any) -> None:
    if truthful:
        verify(*args)
    else:
        with pytest.raises(InvalidProof):
            verify(*args)


def test_proofs_are_refused_where_the_tree_cannot_give_them() -> None:
    tree = MerkleTree([(b"a", b"1")])
    with pytest.raises(ProofUnavailable):
        tree.prove_membership(b"b")
    with pytest.raises(ProofUnavailable):
        tree.prove_non_membership(b"a")


def test_empty_tree_proves_every_absence_and_nothing_else() -> None:
    tree = MerkleTree()
    assert tree.root() == EMPTY_ROOT
    proof = tree.prove_non_membership(b"x")
    assert proof == NonMembershipProof(left=None, right=None)
    verify_non_membership(EMPTY_ROOT, b"x", proof)
    with pytest.raises(InvalidProof):
        verify_non_membership(MerkleTree([(b"x", b"")]).root(), b"x", proof)


def test_ibc_store_proofs_for_packets_receipts_and_timeouts_I_8_I_14() -> None:
    """A packet commitment proves, an uncommitted packet does not, a receipt's absence proves
    a timeout and a receipt present refuses one."""
    tree = MerkleTree()
    for seq in range(1, 50):
        tree.set(
            commitment_key("wasm.vault", "channel-0", seq), hashlib.sha256(b"%d" % seq).digest()
        )
    tree.set(receipt_key("wasm.vault", "channel-0", 7), b"\x01")
    root = tree.root()
    key = commitment_key("wasm.vault", "channel-0", 7)
    verify_membership(root, key, hashlib.sha256(b"7").digest(), tree.prove_membership(key))
    with pytest.raises(InvalidProof):  # the commitment of a forged packet
        verify_membership(root, key, hashlib.sha256(b"forged").digest(), tree.prove_membership(key))
    missing = commitment_key("wasm.vault", "channel-0", 50)
    with pytest.raises(InvalidProof):  # packet 50 was never sent
        verify_membership(root, missing, b"x", tree.prove_membership(key))
    no_receipt = receipt_key("wasm.vault", "channel-0", 8)
    verify_non_membership(root, no_receipt, tree.prove_non_membership(no_receipt))
    received = receipt_key("wasm.vault", "channel-0", 7)
    with pytest.raises(InvalidProof):  # a timeout for a packet that was received
        verify_non_membership(root, received, tree.prove_non_membership(no_receipt))


def test_proofs_cross_the_wire() -> None:
    tree = MerkleTree((bytes([i]), bytes([i, i])) for i in range(0, 200, 3))
    root = tree.root()
    proof = tree.prove_membership(bytes([9]))
    again = MembershipProof.model_validate_json(proof.model_dump_json())
    verify_membership(root, bytes([9]), bytes([9, 9]), again)
    absent = tree.prove_non_membership(bytes([10]))
    verify_non_membership(
        root, bytes([10]), NonMembershipProof.model_validate_json(absent.model_dump_json())
    )


def test_deep_trees_of_shared_prefixes_hash_without_recursion() -> None:
    tree = MerkleTree((b"a" * n, b"v") for n in range(1001))
    assert tree.root() == MerkleTree((b"a" * n, b"v") for n in reversed(range(1001))).root()
    verify_membership(tree.root(), b"a" * 1000, b"v", tree.prove_membership(b"a" * 1000))


# -- tampering --------------------------------------------------------------------------------


def _flip(data: bytes, index: int, mask: int) -> bytes:
    raw = bytearray(data)
    raw[index % len(raw)] ^= mask
    return bytes(raw)


def _tamper_step(step: ProofStep, data: st.DataObject) -> ProofStep:
    field = data.draw(st.sampled_from(["bit", "sibling", "sibling_left"]))
    if field == "bit":
        return step.model_copy(
            update={"bit": data.draw(st.integers(0, 2**20).filter(lambda b: b != step.bit))}
        )
    if field == "sibling":
        flipped = _flip(step.sibling, data.draw(st.integers(0, 31)), data.draw(st.integers(1, 255)))
        return step.model_copy(update={"sibling": flipped})
    return step.model_copy(update={"sibling_left": not step.sibling_left})


def _tamper_path(path: tuple[ProofStep, ...], data: st.DataObject) -> tuple[ProofStep, ...]:
    how = data.draw(st.sampled_from(["step", "drop", "add"] if path else ["add"]))
    if how == "step":
        index = data.draw(st.integers(0, len(path) - 1))
        return (*path[:index], _tamper_step(path[index], data), *path[index + 1 :])
    if how == "drop":
        index = data.draw(st.integers(0, len(path) - 1))
        return path[:index] + path[index + 1 :]
    extra = ProofStep(
        bit=data.draw(st.integers(0, 100)),
        sibling=data.draw(st.binary(min_size=32, max_size=32)),
        sibling_left=data.draw(st.booleans()),
    )
    index = data.draw(st.integers(0, len(path)))
    return (*path[:index], extra, *path[index:])


_TREES = st.dictionaries(KEYS, VALUES, min_size=1, max_size=30)


@given(_TREES, st.data())
def test_tampered_membership_is_refused(items: dict[bytes, bytes], data: st.DataObject) -> None:
    tree = MerkleTree(items.items())
    root = tree.root()
    key = data.draw(st.sampled_from(sorted(items)))
    value, proof = items[key], tree.prove_membership(key)
    verify_membership(root, key, value, proof)
    what = data.draw(st.sampled_from(["path", "key", "value", "root"]))
    if what == "path":
        proof = MembershipProof(path=_tamper_path(proof.path, data))
    elif what == "key":
        key = data.draw(KEYS.filter(lambda k: items.get(k) != value))
    elif what == "value":
        value = data.draw(VALUES.filter(lambda v: v != value))
    else:
        root = _flip(root, data.draw(st.integers(0, 31)), data.draw(st.integers(1, 255)))
    with pytest.raises(InvalidProof):
        verify_membership(root, key, value, proof)


def _tamper_neighbour(n: NeighbourProof, data: st.DataObject) -> NeighbourProof:
    field = data.draw(st.sampled_from(["key", "value_hash", "path"]))
    if field == "key":
        if n.key:
            mutated = _flip(n.key, data.draw(st.integers(0, 10)), data.draw(st.integers(1, 255)))
        else:
            mutated = b"\x00"
        return n.model_copy(update={"key": mutated})
    if field == "value_hash":
        mask = data.draw(st.integers(1, 255))
        return n.model_copy(
            update={"value_hash": _flip(n.value_hash, data.draw(st.integers(0, 31)), mask)}
        )
    return n.model_copy(update={"path": _tamper_path(n.path, data)})


@given(_TREES, KEYS, st.data())
def test_tampered_non_membership_is_refused(
    items: dict[bytes, bytes], missing: bytes, data: st.DataObject
) -> None:
    assume(missing not in items)
    tree = MerkleTree(items.items())
    root = tree.root()
    proof = tree.prove_non_membership(missing)
    verify_non_membership(root, missing, proof)
    sides = [s for s in ("left", "right") if getattr(proof, s) is not None]
    what = data.draw(st.sampled_from(["neighbour", "drop", "present key", "root"]))
    key = missing
    if what == "neighbour":
        side = data.draw(st.sampled_from(sides))
        proof = proof.model_copy(update={side: _tamper_neighbour(getattr(proof, side), data)})
    elif what == "drop":
        side = data.draw(st.sampled_from(sides))
        proof = proof.model_copy(update={side: None})
    elif what == "present key":
        key = data.draw(st.sampled_from(sorted(items)))
    else:
        root = _flip(root, data.draw(st.integers(0, 31)), data.draw(st.integers(1, 255)))
    with pytest.raises(InvalidProof):
        verify_non_membership(root, key, proof)


def test_malformed_inputs_are_invalid_proofs_not_crashes() -> None:
    tree = MerkleTree([(b"a", b"1"), (b"b", b"2")])
    root, proof = tree.root(), tree.prove_membership(b"a")
    with pytest.raises(InvalidProof):
        verify_membership(root[:31], b"a", b"1", proof)
    with pytest.raises(InvalidProof):
        verify_membership(root, b"a" * 2000, b"1", proof)
    short = ProofStep(bit=proof.path[0].bit, sibling=b"\x00", sibling_left=False)
    with pytest.raises(InvalidProof):
        verify_membership(root, b"a", b"1", MembershipProof(path=(short,)))
    with pytest.raises(ValueError):
        tree.set(b"x" * 2000, b"")


def _as_neighbour(tree: MerkleTree, key: bytes) -> NeighbourProof:
    value = tree.get(key)
    assert value is not None
    return NeighbourProof(
        key=key, value_hash=hashlib.sha256(value).digest(), path=tree.prove_membership(key).path
    )


@given(st.dictionaries(KEYS, VALUES, min_size=3, max_size=30), st.data())
def test_neighbours_that_are_not_adjacent_prove_nothing(
    items: dict[bytes, bytes], data: st.DataObject
) -> None:
    """Two genuine leaves with a key between them, or an end leaf that is not the end: the
    paths are valid, but they do not show that nothing lies between (I-14 timeouts)."""
    tree = MerkleTree(items.items())
    root, keys = tree.root(), sorted(items)
    low = data.draw(st.integers(0, len(keys) - 3))
    high = data.draw(st.integers(low + 2, len(keys) - 1))
    skipping = NonMembershipProof(
        left=_as_neighbour(tree, keys[low]), right=_as_neighbour(tree, keys[high])
    )
    between = data.draw(st.sampled_from(keys[low + 1 : high]))
    with pytest.raises(InvalidProof):
        verify_non_membership(root, between, skipping)
    above = keys[low] + b"\x00"  # the least key above keys[low]: absent, or keys[low + 1]
    if above not in items:
        with pytest.raises(InvalidProof):
            verify_non_membership(root, above, skipping)
    not_last = NonMembershipProof(left=_as_neighbour(tree, keys[low]), right=None)
    with pytest.raises(InvalidProof):
        verify_non_membership(root, keys[-1] + b"\x00", not_last)
    not_first = NonMembershipProof(left=None, right=_as_neighbour(tree, keys[high]))
    if keys[0]:
        with pytest.raises(InvalidProof):
            verify_non_membership(root, b"", not_first)


def test_a_path_that_leaves_the_keys_own_way_is_refused() -> None:
    tree = MerkleTree([(b"a", b"1"), (b"b", b"2")])
    (step,) = tree.prove_membership(b"a").path
    turned = MembershipProof(path=(step.model_copy(update={"sibling_left": True}),))
    with pytest.raises(InvalidProof, match="does not follow"):
        verify_membership(tree.root(), b"a", b"1", turned)
    with pytest.raises(InvalidProof, match="out of order"):
        verify_membership(tree.root(), b"a", b"1", MembershipProof(path=(step, step)))


@given(_TREES, st.data())
def test_a_memo_of_proven_nodes_never_proves_a_falsehood(
    items: dict[bytes, bytes], data: st.DataObject
) -> None:
    """Issue 13's batch verification: proofs under one root share a memo of the nodes they
    proved (`verify_membership`'s ``known``); with every node of the tree in it, honest
    claims still pass and a false one is refused, whatever path it comes with."""
    tree = MerkleTree(items.items())
    root = tree.root()
    known = {root}
    for key in sorted(items):
        verify_membership(root, key, items[key], tree.prove_membership(key), known)
    assert len(known) >= len(items)
    key = data.draw(st.sampled_from(sorted(items)))
    proof = tree.prove_membership(key)
    verify_membership(root, key, items[key], proof, known)
    claim_key, claim_value = data.draw(KEYS), data.draw(VALUES)
    assume(items.get(claim_key) != claim_value)
    path = proof.path if data.draw(st.booleans()) else _tamper_path(proof.path, data)
    with pytest.raises(InvalidProof):
        verify_membership(root, claim_key, claim_value, MembershipProof(path=path), known)
