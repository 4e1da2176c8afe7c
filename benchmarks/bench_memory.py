"""Memory per stake (issue 16): retained heap and peak RSS of the seed mesh, per user.

The seed topology as ``bench_mesh`` builds it (reference defaults, ``V`` validators per
chain, users spread round-robin over the four pairings), in three runs: the idle mesh (no
users) and ``U1`` and ``U2`` users, each bonding 1,000,000 and cross-staking 200,000 (one
*stake* = one user's bond + one cross-stake), measured after the three-hour warm-up (the
users' packets relayed and acked, their stake bonded at the consumers' first epochs) with
the mesh still running. Target (issue 16): at most 1 KiB per stake above the idle mesh.

- **retained heap per stake**: ``tracemalloc``'s traced memory after ``gc.collect()``,
  in a run of its own (tracing slows the run and adds to RSS); the slope between ``U1``
  and ``U2`` and the ``U2`` run above idle, per user;
- **peak RSS per stake**: ``ru_maxrss`` of a fresh forked process per run (no tracing),
  the slope and above idle, per user; and the same for the RSS after the warm-up (what
  stays, against the peak, which includes what the relaying of every user's packet held at
  once);
- **RSS after malloc_trim**: the same after glibc's ``malloc_trim(0)`` (a measurement aid,
  not a fix): what glibc's malloc held free is then given back, the rest is in use or in
  Python's own allocator (pymalloc's arenas);
- **the next gap**: the top 20 allocation sites (file:line, one frame) by retained bytes
  per stake, the ``U2`` run minus the ``U1`` run divided by ``U2 - U1``.

Each run is a fresh forked process (``multiprocessing`` fork context): its peak RSS is its
own and nothing of one run is retained in the next.

Size knobs (environment variables)::

    MEM_BENCH_USERS        the two user counts, comma-separated (default 2000,4000)
    MEM_BENCH_VALIDATORS   validators per chain (default 100)
    MEM_BENCH_REPEATS      runs per size for the RSS figures, median taken (default 1)
    MEM_BENCH_FRAMES       frames tracemalloc keeps per allocation (default 12): a site
                           in a library is shown with the project's line that led to it

    .venv/bin/python -m benchmarks memory

Measured (issue 16, Python 3.11, x86_64; memory figures do not depend on the load;
``MEM_BENCH_USERS=2000,4000 .venv/bin/python -m benchmarks memory``), bytes per stake
(slope / above idle), target 1,024. At commit 55e7cc0: retained heap 3,186 / 3,664, peak
RSS 10,752 / 11,503 (idle 64.7 MiB, 4,000 users 108.6 MiB), after malloc_trim 10,068 /
10,910. With paged notices (``Topology.notice_page``, 100 by default: a busy block's
packets and acks go out a page per block, so the relaying of the users' stakes holds a
page's packets, proofs, results and acks at once, not the whole block's), acks named by
sequence in the notices (the relayer builds them from its record of what it delivered),
the proof-step memo capped at 4,096 steps, the validator names of decoded packets interned
and a `CrossChainTx` making its event only when awaited: retained heap 3,063 / 3,426, peak
RSS 7,811 / 8,642 (idle 65.1 MiB, 4,000 users 98.0 MiB), after malloc_trim 7,690 / 8,639.
(Paging and the compact acks alone, measured between: peak RSS 8,833 / 9,709.)

Where the peak is now (``tracemalloc`` of a 2,000-user run, its peak per phase): the users'
transactions themselves hold ~6 KiB per user at once when ``stake_users`` returns (their
pending transactions in the vault and external staking, the packets awaiting their acks,
the executor's unit records, the results), and the first half hour's relaying adds ~1.9
KiB on top; the RSS then stays at that high-water mark (pymalloc's arenas, which the
long-lived records allocated among the transient ones keep). Where the retained heap per
stake is (the top 20 above): the store's maps' dict slots ~520; the IBC trees ~650 (the
ICS-24 keys of a receipt and an ack ~295, inner nodes and their hashes ~255, the leaf dict
~100); the provider's records ~430 (value ranges, external stake, lien); the account-key
memo ~120; the consumer's copy of the delegator string ~90 and its stake keys ~60; the
address string ~90; the mesh's op counts ~90; the ack record ~70.
"""

from __future__ import annotations

import ctypes
import gc
import linecache
import multiprocessing
import os
import re
import resource
import statistics
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from benchmarks._report import Report
from benchmarks.bench_mesh import build_topology, stake_users
from chains import Mesh

__all__ = ["MemoryRun", "measure_memory", "run"]

_ROOT = str(Path(__file__).resolve().parents[1]) + "/"
_TARGET = 1024.0  # bytes per stake above the idle mesh (issue 16)
_TOP = 20
_OWN = re.compile(r"/(chains|mesh_actors|transport)/")


@dataclass(frozen=True)
class MemoryRun:
    """One run's figures: users, peak RSS (bytes), retained heap (bytes, 0 untraced), the
    RSS at the measurement (bytes, after the warm-up, the mesh still running), the
    retained bytes and blocks per allocation site (``file:line``; empty untraced) and the
    CPU seconds of the users' transactions."""

    users: int
    peak_rss: int
    heap: int
    rss: int = 0
    sites: dict[str, tuple[int, int]] = field(default_factory=dict)
    txs_s: float = 0.0
    trimmed: int = 0


async def _drive(users: int, validators: int, trace: bool) -> MemoryRun:
    topology = build_topology(users, validators)
    warmup_hours = float(os.environ.get("MESH_BENCH_WARMUP_HOURS") or 3)
    if trace:
        tracemalloc.start(_frames())
    async with Mesh(topology, seed=7) as mesh:
        started = time.process_time()
        await stake_users(mesh, topology, users, validators)
        txs_s = time.process_time() - started
        await mesh.advance(hours=warmup_hours)
        heap = 0
        sites: dict[str, tuple[int, int]] = {}
        gc.collect()
        rss = _resident()
        trimmed = _trimmed() if not trace else 0
        if trace:
            gc.collect()
            snapshot = tracemalloc.take_snapshot()
            heap = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            for record in snapshot.traces:
                name = _site(record.traceback)
                size, count = sites.get(name, (0, 0))
                sites[name] = (size + record.size, count + 1)
            del snapshot
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return MemoryRun(users, peak, heap, rss, sites, txs_s, trimmed)


def _trimmed() -> int:
    # a measurement aid, not a fix: the resident pages once glibc's malloc gave its free
    # memory back to the system (``malloc_trim(0)``), so the RSS splits into what is in
    # use and what the allocator holds free; 0 where that is not glibc
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        return 0
    return _resident()


def _resident() -> int:
    # resident pages now (Linux); 0 where /proc is missing
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize()
    except OSError:
        return 0


def _frames() -> int:
    return int(os.environ.get("MEM_BENCH_FRAMES") or 12)


def _where(frame: tracemalloc.Frame) -> str:
    return f"{frame.filename.replace(_ROOT, '')}:{frame.lineno}"


def _site(traceback: tracemalloc.Traceback) -> str:
    # the allocating line, and, when that is in a library or the standard library, the
    # innermost line of the project's own code that led to it: that is where a change goes
    frames = list(traceback)  # oldest first
    site = _where(frames[-1])
    for frame in reversed(frames):
        if _OWN.search(frame.filename):
            own = _where(frame)
            return site if own == site else f"{own} <- {site}"
    return site


def measure_memory(users: int, validators: int, trace: bool) -> MemoryRun:
    """One run in this process (on asyncio): ``users`` users bond and cross-stake on the
    seed topology with ``validators`` per chain, then three simulated hours pass; with
    ``trace``, the retained heap and its allocation sites are measured (tracemalloc)."""
    return anyio.run(_drive, users, validators, trace)


def _in_child(users: int, validators: int, trace: bool) -> MemoryRun:
    # a fresh forked process per run: ru_maxrss is then that run's own peak
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        result: MemoryRun = pool.apply(measure_memory, (users, validators, trace))
    return result


def _rss(users: int, validators: int, repeats: int) -> tuple[int, int, int]:
    runs = [_in_child(users, validators, False) for _ in range(repeats)]
    return (
        int(statistics.median(r.peak_rss for r in runs)),
        int(statistics.median(r.rss for r in runs)),
        int(statistics.median(r.trimmed for r in runs)),
    )


def _per_stake(report: Report, what: str, idle: int, low: int, high: int, u1: int, u2: int) -> None:
    slope = (high - low) / (u2 - u1)
    above = (high - idle) / u2
    report.figure(
        f"{what}: slope {u1:,} -> {u2:,} users",
        slope,
        "B/stake",
        note=f"target <= {_TARGET:,.0f}; {slope / _TARGET:.1f}x",
    )
    report.figure(
        f"{what}: {u2:,} users above idle",
        above,
        "B/stake",
        note=f"idle {idle / 2**20:.1f} MiB, {u1:,} users {low / 2**20:.1f} MiB, "
        f"{u2:,} users {high / 2**20:.1f} MiB",
    )


def _top_sites(low: MemoryRun, high: MemoryRun) -> None:
    users = high.users - low.users
    rows = []
    for name, (size, count) in high.sites.items():
        size0, count0 = low.sites.get(name, (0, 0))
        rows.append(((size - size0) / users, (count - count0) / users, name))
    rows.sort(reverse=True)
    print(
        f"\n  -- top {_TOP} allocation sites by retained bytes per stake "
        f"({high.users:,} users minus {low.users:,}) --"
    )
    print(f"  {'B/stake':>9} {'blocks':>7}  site")
    for per_stake, blocks, name in rows[:_TOP]:
        path, _, line = name.split(" <- ")[0].rpartition(":")
        source = linecache.getline(path if path.startswith("/") else _ROOT + path, int(line))
        print(f"  {per_stake:9.1f} {blocks:7.2f}  {name}\n  {'':18}{source.strip()[:90]}")


def run(report: Report) -> None:
    sizes = os.environ.get("MEM_BENCH_USERS") or "2000,4000"
    u1, u2 = (int(s) for s in sizes.split(","))
    validators = int(os.environ.get("MEM_BENCH_VALIDATORS") or 100)
    repeats = int(os.environ.get("MEM_BENCH_REPEATS") or 1)
    print(
        f"  seed topology, reference profile, {validators} validators per chain; idle, "
        f"{u1:,} and {u2:,} users (bond + cross-stake each), after the three-hour warm-up"
    )
    traced = [_in_child(n, validators, True) for n in (0, u1, u2)]
    idle, low, high = traced
    _per_stake(report, "retained heap", idle.heap, low.heap, high.heap, u1, u2)
    rss = [_rss(n, validators, repeats) for n in (0, u1, u2)]
    _per_stake(report, "peak RSS", rss[0][0], rss[1][0], rss[2][0], u1, u2)
    # the peak includes what the warm-up's relaying held at once (a batch of every
    # user's packet with its proof, their acks); the RSS after it is what stays
    _per_stake(report, "RSS after the warm-up", rss[0][1], rss[1][1], rss[2][1], u1, u2)
    if all(r[2] for r in rss):
        # the same, once malloc gave its free memory back: the rest is memory in use
        _per_stake(report, "RSS after malloc_trim", rss[0][2], rss[1][2], rss[2][2], u1, u2)
    _top_sites(low, high)
