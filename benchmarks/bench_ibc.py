"""IBC throughput: packets relayed and acknowledged per second, against a bare ping.

- **Baseline**: a pydantic packet → ack ping over two asyncio queues, 100 packets in flight
  (the sender keeps the window full, a server task answers each packet with an ack model).
- **IBC, in memory**: two chains (each its own actor system, blocks every clock second),
  one relayer in a third system, all joined by the in-memory transport, one UNORDERED
  channel between two instances of the lean benchmark app `IbcBenchApp`
  (``chains.testing._ibc_bench_app``: an echo/counter contract that answers every receive with one
  constant success ack and counts; its refill send is one prebuilt sub-message). The
  sending app keeps 100 packets in flight: 100 sent at start, and each ack (in the same
  unit) sends the next. Full IBC semantics on every packet — only the application's own work
  is minimal: the send (commitment) in the app's transaction, the receive on the
  destination (proof height checked against the light client, receipt, app callback in a
  savepoint, ack commitment), the acknowledgement on the source (commitment check and
  delete, app callback, each packet in a savepoint), every IBC event, the relayer
  forwarding block notices as batches with their client updates. A packet is relayed only
  once its block has ended (light-client lag), so each round trip costs two blocks. (The
  richer `IbcTestApp` of the IBC tests now runs at about the same rate: the app is not
  where the time goes.)
- The same with the codec forced on (every envelope JSON-encoded and decoded).

Rates are from the CPU time of the process (``time.process_time``), as in ``bench_chain``:
everything runs in virtual time, so the work is all there is. Each figure is the median of
three runs, the baseline measured just before.

Verification (issue 13) is on by default: each chain signs its headers with its bonded
validators (here the test chains have none, so 4 equal-power signers), over the Merkle root
of its IBC store; the relayer attaches a commitment proof to every receive and an ack proof
to every ack, and the counterparty's light client checks the signatures (once per header)
and each proof. The rows "verification off" run the same with
``IbcConfig(verify_proofs=False)`` (unsigned, trusted headers, no proofs).

Measured (issue 16, this round's batch path; 2-core VM shared by four helpers' full test
suites, load 10-18, 20,000 packets, unverified rows only, ``_bare_ping`` then ``_ibc`` per
run (``/tmp/ibcb2/rate2.py``), medians of three with the base ``09a8801`` and the batch path
alternating):

=====================================  =================  ==============================
row                                    09a8801            batch path
=====================================  =================  ==============================
bare ping (baseline)                   135k-220k acks/s   (199k on an idle VM)
verification off                       10.1k (0.059x)     11.6k (0.066x)
codec forced on, verification off      5.5k (0.029x)      5.4k (0.029x)
=====================================  =================  ==============================

At that load a row's rate and the ping vary by 30 % between runs: the CPU figures cannot
show a 10-20 % change. Load-independent (cProfile, 2,000 packets, ``/tmp/hp/ibcprof.py``):
function calls per packet **228 -> 185** in memory (Python-level 111 -> 90, built-ins 117
-> 95) and **381 -> 339** with the codec (Python-level 144 -> 125). The goals (0.25x in
memory, 0.1x with the codec) are not reached.

The batch path (``chains.ibc._packet``, on by default, ``IbcModule.batch_path = False`` for
the general path; ``tests/chains/ibc/test_batch_path.py`` compares the two byte for byte):
a receive batch for one UNORDERED channel is checked first, delivered to the app in one call
of its optional hook ``ibc_packet_receive_batch`` (the bench app has one), then its receipts,
ack commitments and events written per packet (any failure falls back to packet by packet,
so an error ack discards only its packet's changes); an ack batch checks the channel end,
proof height and port contract once per end, and the sends an ack callback answers with go
straight to ``send_packet`` (no response -> sub-message -> dispatch -> route).

Where the time goes now (in memory; cProfile's shares, taken under that load, so rough):
the acknowledgements about 40 %, two fifths of it the refill's ``send_packet`` (the
sequence, commitment, stored packet, block log and event per packet); the receives about
9 % (17 % before). What remains per packet is one
savepoint per ack (``nested``), one ``call_contract`` per ack callback, about nine journaled
writes (each a Python-level ``__setitem__``) and the actor/relayer plumbing. Next steps:
an ack batch hook (the callbacks of a batch in one call, its sends then recorded in bulk,
falling back to per-packet savepoints on any failure, as the receive hook does), a bulk
write on the journaled maps (``Store``: one journal extend per batch instead of a call per
write), and, with the codec, the packet carried in each written ack of a notice (the
relayer already has it from the send's notice: 4 packet encodes/decodes per packet today).
The verified rows add the proofs (built and checked per packet, about 300 us of the 430 a
verified packet costs; last measured on 5247709: 2,288 packets/s (0.016x) in memory, 1,020
(0.007x) with the codec).
"""

from __future__ import annotations

import asyncio
import statistics
import time

import anyio

from benchmarks._report import Report
from chains.ibc import IbcConfig
from chains.testing import BenchAppInit, BenchAppQuery, BenchAppState, BenchStart, IbcBenchApp
from tests.chains.ibc._world import ChainSide, ibc_world

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


async def _deploy_bench_app(side: ChainSide) -> None:
    chain = side.chain
    await chain.register_code(IbcBenchApp)
    side.app = await chain.instantiate(side.admin, IbcBenchApp.code, BenchAppInit())


async def _ibc(force_codec: bool, verify: bool = True) -> float:
    config = IbcConfig(verify_proofs=verify)
    async with ibc_world(force_codec=force_codec, config=config) as world:
        await _deploy_bench_app(world.a)
        await _deploy_bench_app(world.b)
        relayer = await world.spawn_relayer(clear_interval=3600.0, max_batch=WINDOW)
        await world.setup_path(relayer)
        a_channel, _ = await world.open_channel(relayer)
        module = world.a.ibc.module
        timeout_ns = (await world.a.chain.time() + 10**6) * 1_000_000_000

        def resolved() -> int:
            sent = module.next_sequence_send(a_channel) - 1
            return sent - len(module.pending_sequences(a_channel))

        started = time.process_time()
        sent = await world.a.execute(
            BenchStart(
                channel_id=a_channel,
                window=WINDOW,
                total=PACKETS,
                timeout_timestamp_ns=timeout_ns,
            )
        )
        assert sent.ok, sent.error
        await world.wait_until(lambda: resolved() >= PACKETS, 10_000.0, step=1.0)
        elapsed = time.process_time() - started
        b_state: BenchAppState = await world.b.chain.query(world.b.app, BenchAppQuery())
        a_state: BenchAppState = await world.a.chain.query(world.a.app, BenchAppQuery())
        assert b_state.received == PACKETS, b_state
        assert a_state.acked == PACKETS and a_state.sent == PACKETS, a_state
        assert module.invariant_violations() == []
        return PACKETS / elapsed


def _median_pair(subject: bool, verify: bool = True) -> tuple[float, float]:
    bases: list[float] = []
    rates: list[float] = []
    for _ in range(RUNS):
        bases.append(anyio.run(_bare_ping, backend="asyncio"))
        rates.append(anyio.run(_ibc, subject, verify, backend="asyncio"))
    return statistics.median(bases), statistics.median(rates)


def run(report: Report) -> None:
    base, plain = _median_pair(False)
    ping = "packet -> ack ping, two asyncio queues, window 100"
    report.baseline(ping, base, "acks/s")
    report.compare(
        "IBC packets relayed+acked, 1 unordered channel, in memory",
        plain,
        "packets/s",
        ping,
        note="window 100, full semantics, signed headers + Merkle proofs verified",
    )
    _, unverified = _median_pair(False, verify=False)
    report.compare(
        "IBC packets relayed+acked, verification off",
        unverified,
        "packets/s",
        ping,
        note="IbcConfig(verify_proofs=False): unsigned headers, no proofs",
    )
    _, coded = _median_pair(True)
    report.compare(
        "IBC packets relayed+acked, codec forced on",
        coded,
        "packets/s",
        ping,
        note="every envelope JSON-encoded, verification on",
    )
    _, coded_off = _median_pair(True, verify=False)
    report.compare(
        "IBC packets relayed+acked, codec forced on, verification off",
        coded_off,
        "packets/s",
        ping,
        note="every envelope JSON-encoded, IbcConfig(verify_proofs=False)",
    )
