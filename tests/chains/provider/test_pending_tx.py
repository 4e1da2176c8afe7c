"""The pending-tx records (P-9): one base, the spec's variant and field names kept (they are
what the ``pending_tx`` queries answer), and variants of one shape still told apart."""

from __future__ import annotations

import dataclasses

from chains import Decimal18
from chains.provider import (
    InFlightRemote,
    InFlightRemoteStaking,
    InFlightRemoteUnstaking,
    InFlightStaking,
    InFlightTransferFunds,
    InFlightTx,
)


def test_variants_have_the_fields_of_the_spec_table_P_9() -> None:
    fields = {
        cls.__name__: [f.name for f in dataclasses.fields(cls)]
        for cls in (
            InFlightStaking,
            InFlightRemoteStaking,
            InFlightRemoteUnstaking,
            InFlightTransferFunds,
        )
    }
    assert fields == {
        "InFlightStaking": ["id", "amount", "slashable", "user", "lienholder"],
        "InFlightRemoteStaking": ["id", "amount", "user", "validator"],
        "InFlightRemoteUnstaking": ["id", "amount", "user", "validator"],
        "InFlightTransferFunds": ["id", "amount", "staker", "validator"],
    }


def test_every_variant_is_an_in_flight_tx_with_an_owner_P_9_P_11() -> None:
    txs = (
        InFlightStaking(1, 10, Decimal18.parse("0.1"), "alice", "ext"),
        InFlightRemoteStaking(1, 10, "alice", "valA"),
        InFlightRemoteUnstaking(2**63, 10, "alice", "valA"),
        InFlightTransferFunds(2**63 + 1, 10, "alice", "valA"),
    )
    assert all(isinstance(tx, InFlightTx) for tx in txs)
    assert [tx.owner for tx in txs] == ["alice"] * 4


def test_remote_stake_and_unstake_share_a_shape_but_never_compare_equal_P_16() -> None:
    """The ack handler matches a tx to its packet kind by type: a stake record must not pass
    for an unstake of the same id and amount."""
    stake = InFlightRemoteStaking(7, 10, "alice", "valA")
    unstake = InFlightRemoteUnstaking(7, 10, "alice", "valA")
    assert isinstance(stake, InFlightRemote) and isinstance(unstake, InFlightRemote)
    assert stake != unstake
    assert not isinstance(stake, InFlightRemoteUnstaking)
    assert repr(stake) == "InFlightRemoteStaking(id=7, amount=10, user='alice', validator='valA')"
