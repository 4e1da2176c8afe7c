"""The provider's decode of the per-epoch reward batch equals the models' decode (C-78, I-34).

`decode_consumer_packet` builds a `DistributeBatchPacket` without field-by-field validation
when the bytes are exactly what `encode_distribute_batch` writes; anything else takes the
models' way. These tests run it against the models' decode (``json.loads`` then
``model_validate``, the error text as `PacketDecodeError` words it) on the converter's own
batches and on bodies changed in every way the fast path must refuse.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from chains.wire import (
    DistributeBatchPacket,
    PacketDecodeError,
    RewardInfo,
    decode_consumer_packet,
    encode_distribute_batch,
)


def _by_models(data: bytes) -> Any:
    """What the general decode gives for a ``distribute_batch`` object: the packet, or the
    text of its `PacketDecodeError`."""
    outer = json.loads(data)
    ((key, body),) = outer.items()
    if not isinstance(body, dict):
        return f"variant {key!r} must hold an object"
    try:
        return DistributeBatchPacket.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{key}.{where}: {first['msg']}"


def _decoded(data: bytes) -> Any:
    try:
        return decode_consumer_packet(data)
    except PacketDecodeError as exc:
        return exc.reason


def _same(data: bytes) -> None:
    got, expected = _decoded(data), _by_models(data)
    assert got == expected
    if isinstance(expected, DistributeBatchPacket):
        assert isinstance(got, DistributeBatchPacket)
        assert got.model_fields_set == expected.model_fields_set
        assert got.model_dump() == expected.model_dump()
        assert all(type(r) is RewardInfo for r in got.rewards)
        assert [type(r.reward) for r in got.rewards] == [int] * len(got.rewards)
        assert hash(got) == hash(expected)


_text = st.text(max_size=10)
_rewards = st.lists(st.tuples(_text, st.integers(0, 2**140)), max_size=6)


@settings(max_examples=200, deadline=None)
@given(_rewards, _text)
def test_converter_batches_decode_as_the_models_do_C_78(
    rewards: list[tuple[str, int]], denom: str
) -> None:
    _same(encode_distribute_batch(rewards, denom))


# JSON values a field or a record may be changed to
_odd = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.sampled_from(["", "-1", "+1", "1.0", " 1", "1_000", "²", "٣", "0x10", "007", "9" * 90]),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.sampled_from(["validator", "reward", "x"]), st.text(max_size=3)),
)


@st.composite
def _changed(draw: st.DrawFn) -> bytes:
    rewards: list[Any] = [
        {"validator": v, "reward": str(r)} for v, r in draw(_rewards.filter(bool))
    ]
    body: dict[str, Any] = {"rewards": rewards, "denom": draw(_text)}
    where = draw(st.sampled_from(["reward", "validator", "record", "extra", "missing", "body"]))
    index = draw(st.integers(0, len(rewards) - 1))
    if where in ("reward", "validator"):
        rewards[index][where] = draw(_odd)
    elif where == "record":
        rewards[index] = draw(_odd)
    elif where == "extra":
        target = draw(st.sampled_from([body, rewards[index]]))
        target[draw(st.sampled_from(["x", "denom", "rewards"]))] = draw(_odd)
    elif where == "missing":
        target = draw(st.sampled_from([body, rewards[index]]))
        target.pop(draw(st.sampled_from(sorted(target))), None)
    else:
        body[draw(st.sampled_from(["rewards", "denom"]))] = draw(_odd)
    return json.dumps({"distribute_batch": body}, separators=(",", ":")).encode()


@settings(max_examples=400, deadline=None)
@given(_changed())
def test_changed_batches_decode_or_fail_as_the_models_do_I_34(data: bytes) -> None:
    _same(data)


def test_the_exact_batch_and_its_near_misses_I_34() -> None:
    """Explicit cases: a reward of non-ASCII digits, a float, an int, extra keys."""
    good = encode_distribute_batch([("val", 5)], "ustake")
    _same(good)
    assert decode_consumer_packet(good) == DistributeBatchPacket(
        rewards=(RewardInfo(validator="val", reward=5),), denom="ustake"
    )
    for body in (
        '{"rewards":[{"validator":"v","reward":"²"}],"denom":"d"}',
        '{"rewards":[{"validator":"v","reward":1.5}],"denom":"d"}',
        '{"rewards":[{"validator":"v","reward":7}],"denom":"d"}',
        '{"rewards":[{"validator":"v","reward":"7","x":1}],"denom":"d"}',
        '{"rewards":[],"denom":"d","x":1}',
        '{"rewards":[{"validator":"v","reward":"' + "9" * 5000 + '"}],"denom":"d"}',
    ):
        _same(b'{"distribute_batch":' + body.encode() + b"}")
