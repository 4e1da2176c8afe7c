"""Account keys (issue 13): deterministic derivation, addresses from keys, key files."""

from __future__ import annotations

import copy
import json
import os
import pickle
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from chains.contract import (
    InvalidPublicKey,
    InvalidSignature,
    KeyFileError,
    KeyNotPicklable,
    KeyPair,
    PublicKey,
    derive_address,
    validate_address,
)

PREFIX = "stars"


def test_from_seed_is_repeatable_and_seeds_differ() -> None:
    assert KeyPair.from_seed("alice") == KeyPair.from_seed(b"alice")
    assert KeyPair.from_seed("alice").private_bytes() == KeyPair.from_seed("alice").private_bytes()
    assert KeyPair.from_seed("alice") != KeyPair.from_seed("bob")
    assert KeyPair.generate() != KeyPair.generate()


def test_address_is_bech32_of_the_key_hash() -> None:
    key = KeyPair.from_seed("alice")
    address = key.address(PREFIX)
    assert validate_address(address, PREFIX) == address
    assert address == derive_address(PREFIX, key.public_key.raw)
    assert address != KeyPair.from_seed("bob").address(PREFIX)


@given(st.binary(max_size=200))
def test_signatures_verify_only_for_their_data_and_key(data: bytes) -> None:
    key, other = KeyPair.from_seed("alice"), KeyPair.from_seed("bob")
    signature = key.sign(data)
    key.public_key.verify(signature, data)
    with pytest.raises(InvalidSignature):
        other.public_key.verify(signature, data)
    with pytest.raises(InvalidSignature):
        key.public_key.verify(signature, data + b"x")
    with pytest.raises(InvalidSignature):
        key.public_key.verify(signature[:-1], data)


def test_keys_beyond_the_memo_of_key_objects_still_sign_and_verify_as_before() -> None:
    """A key pair keeps 32 bytes and builds OpenSSL's objects on use, memoised for 1,024
    keys (issue 16): a key used again after more keys than that were used signs the
    same (ed25519 is deterministic) and verifies."""
    first = KeyPair.from_seed("memo-0")
    signature = first.sign(b"data")
    keys = [KeyPair.from_seed(f"memo-{i}") for i in range(1, 1100)]
    for key in keys:
        key.public_key.verify(key.sign(b"data"), b"data")
    assert first.sign(b"data") == signature
    first.public_key.verify(signature, b"data")
    with pytest.raises(InvalidSignature):
        keys[0].public_key.verify(signature, b"data")
    rebuilt = KeyPair.from_private_bytes(first.private_bytes())
    assert rebuilt.public_key == first.public_key


def test_public_key_is_a_value_in_and_out_of_json() -> None:
    class Holder(BaseModel):
        key: PublicKey

    key = KeyPair.from_seed("alice").public_key
    text = Holder(key=key).model_dump_json()
    assert json.loads(text) == {"key": key.hex()}
    assert Holder.model_validate_json(text).key == key
    assert Holder(key=key.raw).key == key
    assert pickle.loads(pickle.dumps(key)) == key
    assert len({key, PublicKey.of(key.raw)}) == 1
    assert json.loads(key.model_dump_json()) == key.hex()
    with pytest.raises(ValidationError):
        key.raw = b"\x00" * 32  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Holder(key="ab")


@pytest.mark.parametrize("bad", [b"", b"\x01" * 31, b"\x01" * 33, "zz" * 32, "ab"])
def test_malformed_public_keys_are_refused(bad: bytes | str) -> None:
    with pytest.raises(InvalidPublicKey):
        PublicKey.of(bad) if isinstance(bad, bytes) else PublicKey.from_hex(bad)


def test_private_key_stays_out_of_repr() -> None:
    key = KeyPair.from_seed("alice")
    assert key.private_bytes().hex() not in repr(key)


# -- key files --------------------------------------------------------------------------------


def test_key_file_round_trip_is_owner_only(tmp_path: Path) -> None:
    key = KeyPair.from_seed("alice")
    path = tmp_path / "alice.key"
    key.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert KeyPair.load(path) == key
    assert KeyPair.load(path, expected=key.public_key).private_bytes() == key.private_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["alice.key"]  # no temporary left behind


def test_key_file_is_not_overwritten_by_accident(tmp_path: Path) -> None:
    path = tmp_path / "alice.key"
    KeyPair.from_seed("alice").save(path)
    with pytest.raises(KeyFileError, match="exists"):
        KeyPair.from_seed("bob").save(path)
    KeyPair.from_seed("bob").save(path, overwrite=True)
    assert KeyPair.load(path) == KeyPair.from_seed("bob")


def _write(path: Path, body: bytes, mode: int = 0o600) -> None:
    path.write_bytes(body)
    path.chmod(mode)


def _good_body() -> dict[str, object]:
    key = KeyPair.from_seed("alice")
    return {
        "kind": "mesh-actors/ed25519-key",
        "version": 1,
        "public_key": key.public_key.hex(),
        "private_key": key.private_bytes().hex(),
    }


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "corrupt"),
        (b"{not json", "corrupt"),
        (b"\xff\xfe", "corrupt"),
        (b"[]", "not a mesh-actors"),
        (json.dumps({**_good_body(), "kind": "ssh-rsa"}).encode(), "not a mesh-actors"),
        (json.dumps({**_good_body(), "version": 2}).encode(), "version"),
        (json.dumps({**_good_body(), "private_key": "00"}).encode(), "corrupt"),
        (json.dumps({**_good_body(), "private_key": "xyz"}).encode(), "corrupt"),
        (json.dumps({**_good_body(), "public_key": 5}).encode(), "corrupt"),
        (
            json.dumps(
                {**_good_body(), "public_key": KeyPair.from_seed("bob").public_key.hex()}
            ).encode(),
            "does not match",
        ),
        (b" " * 5000, "too large"),
    ],
)
def test_corrupt_or_inconsistent_key_files_are_refused(
    tmp_path: Path, body: bytes, reason: str
) -> None:
    path = tmp_path / "k.key"
    _write(path, body)
    with pytest.raises(KeyFileError, match=reason):
        KeyPair.load(path)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o777])
def test_key_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "k.key"
    _write(path, json.dumps(_good_body()).encode(), mode)
    with pytest.raises(KeyFileError, match="too open"):
        KeyPair.load(path)


def test_key_file_of_another_account_or_missing_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    KeyPair.from_seed("alice").save(path)
    with pytest.raises(KeyFileError, match="expected"):
        KeyPair.load(path, expected=KeyPair.from_seed("bob").public_key)
    with pytest.raises(KeyFileError, match="cannot open"):
        KeyPair.load(tmp_path / "missing.key")
    with pytest.raises(KeyFileError, match="regular file"):
        (tmp_path / "dir").mkdir(mode=0o700)
        KeyPair.load(tmp_path / "dir")


def test_a_key_pair_is_never_pickled_and_copies_are_itself() -> None:
    """A key pair's secret stays in its process: pickling it (a durable store's rows, a
    worker's pipe) is refused with `KeyNotPicklable`, still the ``TypeError`` pickle raises
    for what it cannot reduce; copies are the pair itself (an immutable value)."""
    pair = KeyPair.from_seed("no-pickle")
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(KeyNotPicklable):
            pickle.dumps(pair, protocol)
    with pytest.raises(TypeError):
        pickle.dumps({"key": pair})
    assert copy.copy(pair) is pair and copy.deepcopy([pair])[0] is pair
