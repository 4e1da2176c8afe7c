"""The converter's reward batch written straight to bytes equals the model's encoding (C-78).

`encode_distribute_batch` skips the `RewardInfo` / `DistributeBatchPacket` models for the
per-epoch batch; these tests run it against `encode_packet` of the models on random batches
(any text, any integer) and on values the models coerce or refuse.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from chains.contract import PacketTooLarge
from chains.wire import (
    DistributeBatchPacket,
    RewardInfo,
    decode_consumer_packet,
    encode_distribute_batch,
    encode_packet,
)

_batch = st.lists(st.tuples(st.text(max_size=12), st.integers(-(2**130), 2**130)), max_size=8)


def _by_models(rewards: list[tuple[Any, Any]], denom: Any, limit: int = 64 * 1024) -> bytes:
    packet = DistributeBatchPacket(
        rewards=tuple(RewardInfo(validator=v, reward=r) for v, r in rewards), denom=denom
    )
    return encode_packet(packet, limit)


@given(rewards=_batch, denom=st.text(max_size=8))
def test_batch_bytes_equal_the_models_encoding_C_78(
    rewards: list[tuple[str, int]], denom: str
) -> None:
    data = encode_distribute_batch(rewards, denom)
    assert data == _by_models(rewards, denom)
    if all(r >= 0 for _, r in rewards):
        # and the provider decodes them back (amounts are digit strings on the wire)
        decoded = decode_consumer_packet(data)
        assert isinstance(decoded, DistributeBatchPacket)
        assert [(i.validator, i.reward) for i in decoded.rewards] == rewards


@given(rewards=_batch.filter(bool), denom=st.text(max_size=8))
def test_batch_over_the_limit_raises_as_the_models_do_I_37(
    rewards: list[tuple[str, int]], denom: str
) -> None:
    size = len(_by_models(rewards, denom))
    with pytest.raises(PacketTooLarge):
        encode_distribute_batch(rewards, denom, limit=size - 1)
    assert encode_distribute_batch(rewards, denom, limit=size) == _by_models(rewards, denom)


def test_batch_values_the_models_coerce_take_the_models_way() -> None:
    # a digit string and a bool are not exact ints: the models decide (coerce or refuse)
    coerced: list[tuple[Any, Any]] = [("val1", "12")]
    assert encode_distribute_batch(coerced, "ucosm") == _by_models(coerced, "ucosm")
    refusals: list[list[tuple[Any, Any]]] = [[("val1", 1.5)], [(3, 4)], [("val1", "x")]]
    for refused in refusals:
        with pytest.raises(ValidationError):
            encode_distribute_batch(refused, "ucosm")
        with pytest.raises(ValidationError):
            _by_models(refused, "ucosm")
