"""Block notices in pages, and written acks named by sequence (issue 16; I-22, I-12, I-29).

A chain with ``IbcConfig.notice_page = k`` tells at most ``k`` sent packets and written acks
per notice, the rest in the next blocks' notices (numbered like any notice, so a lost page
is a gap and brings a clearing). Relaying pages gives what relaying one notice per block
gives: the same packets delivered and acked, once each, with the same acks and app states.

A notice names each written ack by its packet's sequence and carries its bytes, not the
packet: the relayer builds the ack from its record of the packet it delivered (dropped once
the ack is submitted), and clears when it has no record (another relayer delivered it, or
it restarted). The compact fields are checked like every field from a peer, and a peer that
predates them refuses such a notice with a named error instead of misreading it.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, ValidationError

from chains.contract import IbcPacket
from chains.ibc import (
    ChannelActivity,
    ClearNow,
    ClearReport,
    IbcBlockNotice,
    IbcConfig,
    IbcHeader,
    MembershipProof,
    RelayerStats,
    RelayerStatus,
    WrittenAck,
)
from chains.testing import IbcAppSend, IbcAppState
from mesh_actors import Address, Envelope, MessageRegistry
from tests.chains.ibc._world import World, ibc_world
from transport import JsonCodec, LinkFaults, MalformedFrame

LONG = {"timeout_seconds": 600}


async def _stats(relayer: Any) -> RelayerStats:
    result: RelayerStats = await relayer.ask(RelayerStatus(), expect=RelayerStats)
    return result


def _resolved(world: World, channel: str, count: int) -> bool:
    module = world.a.ibc.module
    return module.next_sequence_send(channel) - 1 >= count and not module.pending_sequences(channel)


def _entries(notice: IbcBlockNotice) -> int:
    return sum(len(a.sent) + len(a.acks) + len(a.ack_sequences) for a in notice.activity)


class _Outcome(BaseModel):
    """What relaying a run of bursts ended with, on both chains and both apps."""

    model_config = ConfigDict(frozen=True)

    sender: IbcAppState
    receiver: IbcAppState
    outcomes: tuple[str | None, ...]
    acks: tuple[bytes | None, ...]
    received: tuple[bool, ...]


async def _relay_bursts(
    bursts: list[int], page: int | None, notices: list[IbcBlockNotice]
) -> _Outcome:
    """Send ``bursts[i]`` packets in block i, relay with one relayer until all are acked;
    the notices of both chains are appended to ``notices``."""
    config = None if page is None else IbcConfig(notice_page=page)
    async with ibc_world(config=config) as world:
        await world.a.deploy_app()
        await world.b.deploy_app()
        relayer = await world.spawn_relayer("relayer")
        await world.setup_path(relayer)
        a_channel, b_channel = await world.open_channel(relayer)
        world.a.ibc.module.add_listener(notices.append)
        world.b.ibc.module.add_listener(notices.append)
        total = 0
        for count in bursts:
            if count:
                send = IbcAppSend(channel_id=a_channel, count=count, **LONG)
                assert (await world.a.execute(send)).ok
                total += count
            await world.clock.sleep(1.0)
        await world.wait_until(lambda: _resolved(world, a_channel, total), 300.0)
        # a clearing that reads the source's whole pending list drops what a clearing in
        # flight may have recorded again after the ack: nothing is kept after
        await relayer.ask(ClearNow(), expect=ClearReport)
        stats = await _stats(relayer)
        assert stats.in_flight == 0
        assert stats.items_failed == 0
        a, b = world.a.ibc.module, world.b.ibc.module
        sequences = range(1, total + 1)
        return _Outcome(
            sender=await world.a.state(),
            receiver=await world.b.state(),
            outcomes=tuple(a.outcome(a_channel, s) for s in sequences),
            acks=tuple(b.acknowledgement(b_channel, s) for s in sequences),
            received=tuple(b.receipt(b_channel, s) is not None for s in sequences),
        )


def _told(notices: list[IbcBlockNotice]) -> list[tuple[str, str, int]]:
    told = [
        (kind, n.chain_id, s)
        for n in notices
        for a in n.activity
        for kind, seqs in (("sent", [p.sequence for p in a.sent]), ("ack", a.ack_sequences))
        for s in seqs
    ]
    return sorted(told)


def _check_numbers(notices: list[IbcBlockNotice]) -> None:
    last: dict[str, int] = {}
    for notice in notices:
        if notice.chain_id in last:
            assert notice.number == last[notice.chain_id] + 1
        last[notice.chain_id] = notice.number


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@settings(
    max_examples=4,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
@given(
    bursts=st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=4),
    page=st.integers(min_value=1, max_value=5),
)
def test_paged_notices_relay_what_one_notice_relays_I_22_I_29(
    backend: str, bursts: list[int], page: int
) -> None:
    whole: list[IbcBlockNotice] = []
    paged: list[IbcBlockNotice] = []
    one = anyio.run(_relay_bursts, bursts, None, whole, backend=backend)
    many = anyio.run(_relay_bursts, bursts, page, paged, backend=backend)
    assert many == one
    assert all(o == "acked" for o in one.outcomes)
    assert all(one.received)
    assert all(_entries(n) <= page for n in paged)
    _check_numbers(paged)
    _check_numbers(whole)
    # no packet or ack is told twice (a clearing racing the pages may resolve a packet
    # before its page: the page then leaves it out, its commitment having no proof)
    told = _told(paged)
    assert len(set(told)) == len(told)
    if max(bursts) > page:
        assert max(_entries(n) for n in whole) > page  # a whole block's notice was bigger


@pytest.mark.anyio
async def test_a_lost_page_is_found_by_the_gap_and_cleared_I_22() -> None:
    # pages of 2: a burst of 9 packets goes out in five notices, a block apart; the link
    # to the relayer is cut while the first pages go out, and the next page's number shows
    # the gap: the relayer clears at once, so every packet is acked long before the
    # periodic clearing (an hour away)
    async with ibc_world(faults=LinkFaults(), config=IbcConfig(notice_page=2)) as world:
        await world.a.deploy_app()
        await world.b.deploy_app()
        setup = await world.spawn_relayer("setup")
        await world.setup_path(setup)
        a_channel, b_channel = await world.open_channel(setup)
        await world.relayer_systems[0].stop(setup)
        relayer = await world.spawn_relayer("relayer", clear_interval=3600.0)
        await world.clock.sleep(1.0)
        assert world.faulty is not None
        world.faulty.partition("chain-a", "relayer-0")
        assert (await world.a.execute(IbcAppSend(channel_id=a_channel, count=9, **LONG))).ok
        await world.clock.sleep(1.5)  # the first page went out, and was lost
        world.faulty.heal("chain-a", "relayer-0")
        sent_at = world.clock.now()
        await world.wait_until(lambda: _resolved(world, a_channel, 9), 60.0, step=0.25)
        assert world.clock.now() - sent_at < 60.0
        stats = await _stats(relayer)
        assert stats.clears >= 2  # its start, and the gap
        assert stats.items_failed == 0
        assert (await world.b.state()).received_total == 9
        assert all(world.b.ibc.module.receipt(b_channel, s) for s in range(1, 10))


@pytest.mark.anyio
async def test_acks_are_built_from_the_relayers_records_and_dropped_I_12() -> None:
    async with ibc_world() as world:
        await world.a.deploy_app()
        await world.b.deploy_app()
        relayer = await world.spawn_relayer("relayer", clear_interval=3600.0)
        await world.setup_path(relayer)
        a_channel, _ = await world.open_channel(relayer)
        notices: list[IbcBlockNotice] = []
        world.b.ibc.module.add_listener(notices.append)
        await world.clock.sleep(5.0)  # the handshake's last clearings are done
        before = await _stats(relayer)
        assert (await world.a.execute(IbcAppSend(channel_id=a_channel, count=5, **LONG))).ok
        await world.wait_until(lambda: _resolved(world, a_channel, 5), 30.0, step=0.25)
        after = await _stats(relayer)
        # the acks came by sequence, without their packets
        acked = [a for n in notices for a in n.activity if a.ack_sequences]
        assert [s for a in acked for s in a.ack_sequences] == [1, 2, 3, 4, 5]
        assert all(not a.acks for n in notices for a in n.activity)
        assert after.in_flight == 0
        assert after.acks_cleared == before.acks_cleared
        assert after.clears == before.clears, "no clearing needed"
        assert (await world.a.state()).outcomes == dict.fromkeys(range(5), "ack")


@pytest.mark.anyio
async def test_an_ack_without_a_record_is_relayed_by_a_clearing_exactly_once_I_12_I_29() -> None:
    # two relayers on the path; the second never delivers a packet (drop_packets=1), so the
    # acks its notices name are of packets it has no record of: it clears, and the acks
    # (relayed by both) are processed once each
    async with ibc_world() as world:
        await world.a.deploy_app()
        await world.b.deploy_app()
        first = await world.spawn_relayer("relayer", clear_interval=3600.0)
        await world.setup_path(first)
        a_channel, _ = await world.open_channel(first)
        second = await world.spawn_relayer("relayer-2", 1, clear_interval=3600.0, drop_packets=1.0)
        await world.clock.sleep(1.0)
        before = await _stats(second)
        assert (await world.a.execute(IbcAppSend(channel_id=a_channel, count=4, **LONG))).ok
        await world.wait_until(lambda: _resolved(world, a_channel, 4), 30.0, step=0.25)
        await world.clock.sleep(5.0)
        after = await _stats(second)
        assert after.acks_cleared - before.acks_cleared == 4
        assert after.clears > before.clears
        sender = await world.a.state()
        assert sender.callbacks == dict.fromkeys(range(4), 1)
        assert sender.outcomes == dict.fromkeys(range(4), "ack")


@pytest.mark.anyio
async def test_a_restarted_relayer_relays_the_acks_of_packets_its_predecessor_delivered_I_22() -> (
    None
):
    async with ibc_world() as world:
        await world.a.deploy_app()
        await world.b.deploy_app()
        setup = await world.spawn_relayer("setup")
        await world.setup_path(setup)
        a_channel, b_channel = await world.open_channel(setup)
        await world.relayer_systems[0].stop(setup)
        relayer = await world.spawn_relayer("relayer", clear_interval=3600.0)
        await world.clock.sleep(1.0)
        assert (await world.a.execute(IbcAppSend(channel_id=a_channel, count=3, **LONG))).ok
        # delivered, and stopped before the acks' notice (at chain-b's next block)
        await world.wait_until(
            lambda: world.b.ibc.module.receipt(b_channel, 3) is not None, 10.0, step=0.05
        )
        await world.relayer_systems[0].stop(relayer)
        restarted = await world.spawn_relayer("relayer", clear_interval=3600.0)
        await world.wait_until(lambda: _resolved(world, a_channel, 3), 30.0, step=0.25)
        await restarted.ask(ClearNow(), expect=ClearReport)
        stats = await _stats(restarted)
        assert stats.in_flight == 0 and stats.items_failed == 0
        sender = await world.a.state()
        assert sender.callbacks == dict.fromkeys(range(3), 1)


# -- the compact fields on the wire ----------------------------------------------------------


def _activity_json(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "port_id": "wasm.b",
        "channel_id": "channel-1",
        "connection_id": "connection-0",
        "ack_sequences": [4, 5],
        "ack_data": ["eyJyZXN1bHQiOiJBUT09In0=", "eA=="],
    }
    raw.update(changes)
    return raw


def test_compact_acks_round_trip_through_json_I_22() -> None:
    activity = ChannelActivity.model_validate(_activity_json())
    assert activity.ack_sequences == (4, 5)
    assert activity.ack_data == (b'{"result":"AQ=="}', b"x")
    again = ChannelActivity.model_validate_json(activity.model_dump_json())
    assert again == activity


@pytest.mark.parametrize(
    "changes",
    [
        {"ack_data": ["eA=="]},  # not in step with the sequences
        {"ack_sequences": [4]},
        {"ack_data": ["not base64!", "eA=="]},
        {"ack_data": [7, "eA=="]},
        {"ack_sequences": ["four", 5]},
        {"ack_sequences": 4},
        {
            "acks": [
                {
                    "packet": {
                        "sequence": 4,
                        "src": {"port_id": "wasm.a", "channel_id": "channel-0"},
                        "dest": {"port_id": "wasm.b", "channel_id": "channel-1"},
                        "timeout": {"revision": 0, "height": 0, "timestamp_ns": 1},
                        "data": "eA==",
                    },
                    "ack": "eA==",
                }
            ]
        },  # both forms at once
        {"ack_refs": [4]},  # a field nobody knows
    ],
)
def test_tampered_compact_acks_are_refused_I_9(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ChannelActivity.model_validate(_activity_json(**changes))


class _OldActivity(BaseModel):
    """`ChannelActivity` as a peer from before issue 16 validates it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    port_id: str
    channel_id: str
    connection_id: str
    sent: tuple[IbcPacket, ...] = ()
    acks: tuple[WrittenAck, ...] = ()
    changed: bool = False
    sent_proofs: tuple[MembershipProof, ...] = ()
    ack_proofs: tuple[MembershipProof, ...] = ()


class _OldNotice(BaseModel):
    """The body of an `IbcBlockNotice` as a peer from before issue 16 validates it (not a
    `Message`: its type name is the real notice's)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    chain_id: str
    header: IbcHeader
    activity: tuple[_OldActivity, ...]
    connections_changed: bool = False
    number: int = 0


@pytest.mark.anyio
async def test_an_old_peer_refuses_a_compact_notice_and_an_old_notice_is_understood_I_22() -> None:
    notices: list[IbcBlockNotice] = []
    async with ibc_world() as world:
        await world.a.deploy_app()
        await world.b.deploy_app()
        relayer = await world.spawn_relayer("relayer")
        await world.setup_path(relayer)
        a_channel, _ = await world.open_channel(relayer)
        world.b.ibc.module.add_listener(notices.append)
        assert (await world.a.execute(IbcAppSend(channel_id=a_channel, count=2, **LONG))).ok
        await world.wait_until(lambda: _resolved(world, a_channel, 2), 30.0, step=0.25)
    notice = next(n for n in notices if any(a.ack_sequences for a in n.activity))
    codec = JsonCodec(MessageRegistry([IbcBlockNotice]))
    to = Address("relayer", "relayer-0")
    frame = codec.encode(Envelope(to, notice))
    assert codec.decode(frame).message == notice
    body = json.loads(frame)["body"]
    # a peer from before the compact fields refuses them (they are not its fields)
    with pytest.raises(ValidationError):
        _OldNotice.model_validate(body)
    # and a notice with a field this side does not know (a later peer's) is refused by
    # the codec with a named error, never misread
    later = json.loads(frame)
    later["body"]["activity"][0]["ack_refs"] = [1]
    with pytest.raises(MalformedFrame):
        codec.decode(json.dumps(later).encode())
    # an old peer's notice (acks with their packets) is read as it always was
    packet = IbcPacket.model_validate(
        {
            "sequence": 1,
            "src": {"port_id": "wasm.a", "channel_id": "channel-0"},
            "dest": {"port_id": "wasm.b", "channel_id": "channel-0"},
            "timeout": {"revision": 0, "height": 0, "timestamp_ns": 1},
            "data": b"x",
        }
    )
    legacy = _OldNotice(
        chain_id=notice.chain_id,
        header=notice.header,
        activity=(
            _OldActivity(
                port_id="wasm.b",
                channel_id="channel-0",
                connection_id="connection-0",
                acks=(WrittenAck(packet=packet, ack=b"ok"),),
            ),
        ),
        number=3,
    )
    old_frame = json.loads(frame)
    old_frame["body"] = json.loads(legacy.model_dump_json())
    understood = codec.decode(json.dumps(old_frame).encode()).message
    assert isinstance(understood, IbcBlockNotice)
    (activity,) = understood.activity
    assert activity.acks == (WrittenAck(packet=packet, ack=b"ok"),)
    assert activity.ack_sequences == ()
