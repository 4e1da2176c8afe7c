"""Messages with contract decimals cross the JSON codec intact (C-2, C-59, C-60, C-65).

`Decimal18` and `SdkDec` are dataclasses with a string JSON form; the codec must write that
form (not the dataclass's fields), or the peer cannot validate the message back.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chains.consumer import PriceResponse, SetHostPrice, UpdatePrice
from chains.contract import Decimal18
from mesh_actors import Address, Envelope, MessageRegistry
from transport import JsonCodec

CODEC = JsonCodec(MessageRegistry([PriceResponse, SetHostPrice, UpdatePrice]))
TO = Address("juno", "price-feed")

atomics = st.integers(min_value=0, max_value=2**128 - 1)


@given(atomics)
def test_a_price_update_round_trips_with_its_decimal_as_a_string(value: int) -> None:
    message = UpdatePrice(native_per_foreign=Decimal18(value))
    frame = CODEC.encode(Envelope(TO, message))
    assert b'"native_per_foreign":"' in frame
    assert CODEC.decode(frame).message == message


@given(atomics, st.integers(min_value=0, max_value=2**64 - 1))
def test_a_price_host_setting_and_a_price_answer_round_trip(value: int, pool: int) -> None:
    for message in (
        SetHostPrice(pool_id=pool, twap=Decimal18(value)),
        PriceResponse(native_per_foreign=Decimal18(value)),
    ):
        assert CODEC.decode(CODEC.encode(Envelope(TO, message))).message == message
