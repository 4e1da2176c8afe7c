"""`TxResult` and `ChainEvent` are records the cyclic garbage collector does not track (issue
16: as named tuples they were most of what the collector scanned and promoted on the
transaction path), yet they keep the fields, equality and hashing of the named tuples they
were."""

from __future__ import annotations

import gc
import pickle

from chains import ChainEvent, Coin, TxResult
from chains.contract import BankSend
from chains.host import BlockPhase, TxExecutor
from tests.chains.host._kit import ALICE, BOB, DENOM, make_config


def _send(amount: int) -> TxResult:
    ex = TxExecutor(make_config())
    ex.begin_block(ex.config.first_block_time)
    return ex.submit(ALICE, BankSend(to_address=BOB, amount=(Coin(denom=DENOM, amount=amount),)))


def test_results_and_events_of_a_unit_are_not_tracked_C_8() -> None:
    result = _send(5)
    assert result.ok and len(result.events) == 1
    assert not gc.is_tracked(result)
    assert not gc.is_tracked(result.events[0])
    failed = _send(10**30)
    assert not failed.ok and not gc.is_tracked(failed)


def test_records_keep_their_fields_equality_hashing_and_pickling_C_9() -> None:
    assert TxResult._fields == (
        "ok",
        "data",
        "error",
        "events",
        "contracts",
        "height",
        "time",
        "tx_index",
    )
    assert ChainEvent._fields[-1] == "attributes"
    event = ChainEvent("c-1", 3, 15, 0, BlockPhase.TX, "bank", "transfer", (("a", "1"),))
    same = ChainEvent("c-1", 3, 15, 0, BlockPhase.TX, "bank", "transfer", (("a", "1"),))
    assert event == same and hash(event) == hash(same) and event.get("a") == "1"
    assert event != ChainEvent("c-1", 3, 15, 1, BlockPhase.TX, "bank", "transfer")
    assert pickle.loads(pickle.dumps(event)) == event
    result = _send(5)
    assert pickle.loads(pickle.dumps(result)) == result
    assert repr(event).startswith("ChainEvent(chain_id='c-1', height=3")
