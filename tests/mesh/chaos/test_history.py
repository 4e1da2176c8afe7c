"""Histories: packet lives from IBC events (I-25), Jepsen-style operations, EDN lines."""

from __future__ import annotations

import json
import re

from chains import BlockPhase, ChainEvent
from chains.mesh import History, to_edn

GENESIS = 1_700_000_000


def _event(chain: str, kind: str, time: int, **attrs: str) -> ChainEvent:
    return ChainEvent(
        chain, time // 5, GENESIS + time, 0, BlockPhase.TX, "ibc", kind, tuple(attrs.items())
    )


PACKET = {"seq": "4", "src_port": "wasm.ext", "src_channel": "channel-0"}
PACKET |= {"dst_port": "wasm.conv", "dst_channel": "channel-1"}


def _history() -> History:
    history = History(start_time=GENESIS)
    history.observe(_event("osmosis", "send_packet", 10, **PACKET))
    history.observe(_event("juno", "recv_packet", 15, **PACKET))
    ack = {"seq": "4", "dst_port": "wasm.conv", "dst_channel": "channel-1", "success": "true"}
    history.observe(_event("juno", "write_acknowledgement", 15, **ack))
    history.observe(_event("osmosis", "acknowledge_packet", 20, **PACKET))
    return history


def test_a_packet_life_is_read_from_the_chains_events_I_25() -> None:
    life = _history().packets[("osmosis", "wasm.ext", "channel-0", 4)]
    assert (life.sent_at, life.received_at, life.acked_at) == (10, 15, 20)
    assert (life.received, life.acked, life.timed_out) == (1, 1, 0)
    assert life.ack_success is True
    assert life.sent_height == 2 and life.acked_height == 4


def test_a_second_delivery_is_counted_not_merged() -> None:
    history = _history()
    history.observe(_event("juno", "recv_packet", 25, **PACKET))
    assert history.packets[("osmosis", "wasm.ext", "channel-0", 4)].received == 2


def test_acks_of_packets_sent_before_recording_are_ignored() -> None:
    history = History(start_time=GENESIS)
    assert history.observe(_event("osmosis", "acknowledge_packet", 20, **PACKET)) is None
    assert history.packets == {}


def test_operations_are_json_lines_and_edn_maps_for_elle() -> None:
    history = _history()
    value = {"provider": "osmosis", "amount": 5}
    history.record(0, "invoke", "cross_stake", "alice", value, 10.0)
    history.record(0, "ok", "cross_stake", "alice", value, 20.5, height=4)
    lines = history.operations_jsonl().splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["invoke", "ok"]
    assert History.entries_from_jsonl(history.operations_jsonl()) == history.entries
    edn = history.edn().splitlines()
    assert edn[1] == (
        '{:type :ok, :f :cross-stake, :process 0, :value {:provider "osmosis", :amount 5},'
        " :time 20500000000, :index 1}"
    )
    for line in edn:
        for key in (":type", ":process", ":f", ":value", ":time", ":index"):
            assert re.search(rf"{key} ", line)
    packets = [json.loads(line) for line in history.packets_jsonl().splitlines()]
    assert packets[0]["key"] == "osmosis/wasm.ext/channel-0/4"


def test_edn_values() -> None:
    assert to_edn({"a": [1, "x", None, True]}) == '{:a [1 "x" nil true]}'
    assert to_edn('say "hi"') == '"say \\"hi\\""'
