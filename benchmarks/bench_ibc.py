"""IBC throughput: packets relayed and acknowledged per second, against a bare ping.

- **Baseline**: a pydantic packet → ack ping over two asyncio queues, 100 packets in flight
  (the sender keeps the window full, a server task answers each packet with an ack model).
- **IBC, in memory**: two chains (each its own actor system, blocks every clock second),
  one relayer in a third system, all joined by the in-memory transport, one UNORDERED
  channel between two test apps. The sending app keeps 100 packets in flight: 100 sent at
  start, and each ack (in the same unit) sends the next. Full semantics on every packet:
  the send (commitment) in the app's transaction, the receive on the destination (proof
  height checked against the light client, receipt, app callback, ack commitment), the
  acknowledgement on the source (commitment check and delete, app callback), the relayer
  forwarding block notices as batches with their client updates. A packet is relayed only
  once its block has ended (light-client lag), so each round trip costs two blocks.
- The same with the codec forced on (every envelope JSON-encoded and decoded).

Rates are from the CPU time of the process (``time.process_time``), as in ``bench_chain``:
everything runs in virtual time, so the work is all there is. Each figure is the median of
three runs, the baseline measured just before.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import anyio

from benchmarks._report import Report
from chains._ibc_test_app import IbcAppConfigure, IbcAppSend
from tests.chains.ibc._world import ibc_world

PACKETS = 20_000
WINDOW = 100
BASELINE_ACKS = 200_000
RUNS = 3


async def _bare_ping() -> float:
    from pydantic import BaseModel, ConfigDict

    class Packet(BaseModel):
        model_config = ConfigDict(frozen=True)
        sequence: int
        data: bytes

    class Ack(BaseModel):
        model_config = ConfigDict(frozen=True)
        sequence: int
        ok: bool

    packets: asyncio.Queue[Packet] = asyncio.Queue()
    acks: asyncio.Queue[Ack] = asyncio.Queue()

    async def server() -> None:
        while True:
            packet = await packets.get()
            acks.put_nowait(Ack(sequence=packet.sequence, ok=True))

    task = asyncio.ensure_future(server())
    started = time.process_time()
    sent = 0
    while sent < WINDOW:
        sent += 1
        packets.put_nowait(Packet(sequence=sent, data=b'{"nonce":1,"amount":1}'))
    done = 0
    while done < BASELINE_ACKS:
        await acks.get()
        done += 1
        if sent < BASELINE_ACKS:
            sent += 1
            packets.put_nowait(Packet(sequence=sent, data=b'{"nonce":1,"amount":1}'))
    rate = BASELINE_ACKS / (time.process_time() - started)
    task.cancel()
    return rate


async def _ibc(force_codec: bool) -> float:
    async with ibc_world(force_codec=force_codec) as world:
        await world.a.deploy_app()
        await world.b.deploy_app()
        relayer = await world.spawn_relayer(clear_interval=3600.0, max_batch=WINDOW)
        await world.setup_path(relayer)
        a_channel, _ = await world.open_channel(relayer)
        module = world.a.ibc.module
        await world.a.execute(IbcAppConfigure(refill=PACKETS - WINDOW))

        def resolved() -> int:
            sent = module.next_sequence_send(a_channel) - 1
            return sent - len(module.pending_sequences(a_channel))

        started = time.process_time()
        sent = await world.a.execute(
            IbcAppSend(channel_id=a_channel, count=WINDOW, amount=1, timeout_seconds=3600)
        )
        assert sent.ok, sent.error
        await world.wait_until(lambda: resolved() >= PACKETS, 10_000.0, step=1.0)
        elapsed = time.process_time() - started
        state = await world.b.state()
        assert state.received_total == PACKETS, state.received_total
        assert module.invariant_violations() == []
        return PACKETS / elapsed


def _median_pair(subject: bool) -> tuple[float, float]:
    bases: list[float] = []
    rates: list[float] = []
    for _ in range(RUNS):
        bases.append(anyio.run(_bare_ping, backend="asyncio"))
        rates.append(anyio.run(_ibc, subject, backend="asyncio"))
    return statistics.median(bases), statistics.median(rates)


def run(report: Report) -> None:
    base, plain = _median_pair(False)
    report.baseline("packet -> ack ping, two asyncio queues, window 100", base, "acks/s")
    report.compare(
        "IBC packets relayed+acked, 1 unordered channel, in memory",
        plain,
        "packets/s",
        "packet -> ack ping, two asyncio queues, window 100",
        note="window 100, full semantics",
    )
    _, coded = _median_pair(True)
    report.compare(
        "IBC packets relayed+acked, codec forced on",
        coded,
        "packets/s",
        "packet -> ack ping, two asyncio queues, window 100",
        note="every envelope JSON-encoded",
    )
