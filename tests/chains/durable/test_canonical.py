"""The canonical encoding under the app hash (issue 15): equal values give equal bytes
whatever the insertion order or ``PYTHONHASHSEED``, and values that differ in type or
content give different bytes (so two entries never share a row, and the app hash sees every
difference)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

import chains
from chains.contract import SdkDec
from chains.host import canonical_bytes
from chains.ibc import AckRecord, ChannelState

ROOT = Path(chains.__file__).resolve().parents[1]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**130), 2**130),
    st.text(max_size=8),
    st.binary(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.tuples(inner, inner),
        st.lists(inner, max_size=4).map(tuple),
        st.frozensets(scalars.filter(lambda v: v is None or not isinstance(v, bool)), max_size=5),
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=5), st.integers(), max_size=8), st.randoms())
def test_order_of_dicts_and_sets_does_not_matter(data: dict[str, int], rng: object) -> None:
    items = list(data.items())
    shuffled = items[:]
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    assert canonical_bytes(dict(items)) == canonical_bytes(dict(shuffled))
    assert canonical_bytes(frozenset(data)) == canonical_bytes(frozenset(reversed(list(data))))


def _typed(value: object) -> object:
    """``value`` with every member tagged by its type (``True`` and ``1`` then differ)."""
    if isinstance(value, tuple):
        return ("tuple", tuple(_typed(v) for v in value))
    if isinstance(value, frozenset):
        return ("frozenset", frozenset(_typed(v) for v in value))
    return (type(value).__name__, value)


@given(values, values)
def test_different_values_have_different_bytes(a: object, b: object) -> None:
    assert (canonical_bytes(a) == canonical_bytes(b)) == (_typed(a) == _typed(b))


@dataclass(frozen=True)
class _Point:
    x: int
    y: int


@dataclass(frozen=True)
class _Other:
    x: int
    y: int


def test_types_are_part_of_the_encoding() -> None:
    encoded = [
        canonical_bytes(v)
        for v in (
            1,
            True,
            "1",
            b"1",
            1.0,
            (1,),
            [1],
            frozenset({1}),
            {1: 1},
            SdkDec(1),
            _Point(1, 2),
            _Other(1, 2),
            ChannelState.OPEN,
            AckRecord(commitment=b"c", ack=b"a", height=1),
            (b"c", b"a", 1),
        )
    ]
    assert len(set(encoded)) == len(encoded)
    assert canonical_bytes(_Point(1, 2)) != canonical_bytes(_Point(2, 1))


def _hash_in_subprocess(seed: str) -> str:
    code = (
        "from chains.host import canonical_bytes; "
        "from tests.chains.durable._kit import replay_hashes; "
        "print(replay_hashes(5, 6)[7].hex()); "
        "print(canonical_bytes(frozenset(f'v{i}' for i in range(50))).hex()); "
        "print(list(frozenset(f'v{i}' for i in range(50)))[:3])"
    )
    env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout


def test_app_hash_does_not_depend_on_the_hash_seed() -> None:
    first = _hash_in_subprocess("1").splitlines()
    second = _hash_in_subprocess("2024").splitlines()
    assert first[:2] == second[:2]
    assert first[2] != second[2], "the set iterates in another order under another seed"
