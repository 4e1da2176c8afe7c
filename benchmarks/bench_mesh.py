"""The whole mesh at scale (issues 7 and 16): the seed topology, many users, many days.

The seed topology (examples/topologies/seed.toml: Osmosis → Juno, Osmosis → Stargaze,
Akash → Juno, Juno → Osmosis), with every chain's validator set replaced by ``V``
validators of 10,000,000 tokens and ``U`` users ``u0 .. u{U-1}`` spread round-robin over the
four pairings (a user is an account of its pairing's provider). Each user bonds 1,000,000
and cross-stakes 200,000 to a consumer validator (round-robin); after a warm-up of three
simulated hours (the users' packets relayed and acked, their stake bonded at the consumers'
first epochs: a one-time cost, timed and printed apart), the mesh runs ``D``
simulated days in virtual time (blocks every 6 s on four chains, rewards distributed and
relayed), with one double-sign of a Juno validator at mid-run whose slash propagates to
both of Juno's providers.

Two parameter profiles:

- **reference** (seed.toml): the reference deployments' defaults, epochs every 1,000 blocks
  (mesh-security-sdk's ``EpochLength``) and relayers clearing every 100 blocks (Hermes'
  ``clear_interval``);
- **stress** (stress.toml): epochs every 100 blocks and clears every 30 s.

Printed in one run, each next to its target (issue 16), as simulated days per CPU second:

- the reference profile at ``U`` users (default 10,000, the issue's figure, measured, not
  extrapolated) and ``V`` validators, the median of ``MESH_BENCH_REPEATS`` (3) runs, each
  in a fresh process, all of them in the note (target >= 1 day/s). An extrapolation from
  an idle run and a small one does not work: a day's cost is mostly per validator and
  epoch, not per user (1,000 users cost about as much per day as 10,000);
- beside each figure, the cyclic GC's collections inside its measured window
  (``gc.callbacks``: full and young, how many, CPU seconds): a full collection walks every
  object the GC tracks, and whether one falls into a one-day window is a matter of phase
  (the objects promoted since the last one pass a quarter of the old generation);
- the reference run's next ``MESH_BENCH_STEADY_DAYS`` (5) steady days right after the
  measured one, as s/day: the amortised steady cost, GC included (the headline stays the
  one-day window); and one timed full collection after the days, with the number of
  objects it walks;
- what doubling the users costs: the reference profile at ``U/2`` users, one run, against
  the median ``U`` run's day (target <= 2.2x; the whole run's ratio in the note);
- the same for the stress profile (target >= 0.3 day/s at 10,000 users);
- the idle seed topology (no users, reference profile; target >= 50 days/s), median of 3;
- an idle two-chain mesh with one validator each (examples/chaos/small.toml with the
  reference profile; target >= 200 days/s), median of 3;
- the setup, the users' transactions per second, peak RSS;
- a profile of the reference run at ``U`` users (``cProfile``, a separate run: not in the
  figures), top 15 functions by cumulative time.

Rates use CPU time (``time.process_time``): the runs are single-threaded and never sleep in
real time, and the machine is shared. Each run is in a fresh forked process, so that the
peak RSS ``ru_maxrss`` is that run's own.

Size knobs (environment variables)::

    MESH_BENCH_USERS       users U (default 10,000; the whole benchmark takes about 6 min)
    MESH_BENCH_REPEATS     runs at U users per profile, the figure their median (default 3)
    MESH_BENCH_VALIDATORS  validators per chain V (default 100)
    MESH_BENCH_DAYS        simulated days D of the user runs (default 1)
    MESH_BENCH_STEADY_DAYS simulated days of the reference run's second, longer steady
                           window, right after the measured days (default 5; ``0`` skips it)
    MESH_BENCH_IDLE_DAYS   simulated days of the idle runs (default 20)
    MESH_BENCH_WARMUP_HOURS  simulated hours between the users' transactions and the
                           timed days (default 3: their packets relayed and acked, their
                           stake bonded at the first epochs; timed apart, as "warm-up")
    MESH_BENCH_CLEAR       if set, every relayer's clear interval in seconds (both profiles)
    MESH_BENCH_PROFILE     path for the profile's stats (default: a temporary file);
                           ``0`` skips the profile

    .venv/bin/python -m benchmarks mesh

Measured now (issue 16, sixth session, commit after 415e1f8; Python 3.11, x86_64, idle
2-core machine, load 0.6; ``.venv/bin/python -m benchmarks mesh``, 243 s in all), days/s:

- reference profile, 100 validators, 10,000 users: **1.38** (median of 3; runs 0.62, 0.72,
  0.78 s/day; no full collection in the window, 64 young 0.08 s); the next 5 days 1.48
  (0.67 s/day amortised, one full collection 0.19 s among them); doubling 5,000 -> 10,000
  0.68x (a day's cost hardly depends on the users); a full collection after the days walks
  204,826 objects in 0.196 s (idle mesh 97,507, 0.089 s);
- stress profile, 10,000 users: 0.127 (7.90 s/day; runs 6.79, 8.09, 7.90; the GC 2 full
  0.47 s and 452 young 0.52 s of the day: target 0.3);
- idle seed topology 173 (target 50); idle two-chain one-validator mesh 448 (target 200).

The older paragraphs below extrapolated the 10,000-user figure from 1,000 users and an idle
run; the extrapolation read 0.16 days/s where the measured run reads 1.2-1.4, so this module
now measures 10,000 users directly.

Before (the same command at commit 93090e1: seed file with 100-block epochs and 30 s
clears, 10 validators, 2 days): idle 6.0 s/day (0.17 days/s); 100 / 200 users 7.8 / 7.6
s/day (0.13 days/s). The reference defaults alone make the idle seed topology about 20x
faster (0.17 -> 3.5-3.8 days/s; the stress profile's 0.18 is the old figure); what remains
of an idle day is the clears' clock stops (3 relayers x 144 a day, each waking the four
chains and the relayer's asks) and the epochs (3 consumers x 14.4 a day).

Folded epochs and proofless looks (issue 16, second session; medians of 3, CPU seconds, the
shared 2-core machine at load 5-6, so absolute figures are about 1.5-2x pessimistic; the
"before" runs are the same scripts on commit 6f5df4c in the same hour):

- idle seed topology, 100 validators, 20 days: 1.3 -> 3.5 days/s (target 50); idle two-chain
  one-validator mesh, 20 days: 2.9 -> 8.3 days/s (target 200);
- seed topology with 10,000 users, 100 validators, a steady day (after the three-hour
  warm-up, as this benchmark now times it): 0.54 -> 0.65 days/s (target 1);
- what changed: a virtual-staking epoch with nothing pending is not called but folded
  (`FoldingModule`, `IdleEpochContract`): ~15 clock stops per consumer and day fewer, and
  none of its sudo cascades; idle block times in closed form (the lazy fast-forward no
  longer builds a list of one time per block); a relayer's clearing after one that found
  nothing looks without proofs first (`QueryRelayState.proofs`), so an idle chain builds no
  Merkle proof and signs no header for it (that was ~70% of an idle seed day).
- what is left of an idle day: the periodic clearings themselves (every relayer, every
  100 blocks: a clock stop, every chain's fast-forward, two asks per relayer through the
  transport). The targets need clearings that do not happen when nothing is pending: a
  relayer whose last clearing found nothing stops its periodic timer, and the safety net
  moves to the chains (a gateway re-announces its pending packets per subscriber only while
  it has some; notices numbered per subscriber so a gap triggers a clearing).
- what is left of a loaded day: the epochs' per-validator reward withdrawals (C-95, C-99:
  ~6,000 sub-message/reply cascades a day, about 40% of the day under cProfile), packet
  delivery with verification (~15%), the clearings (~10%).

Quiet back-off and no duplicate header checks (issue 16, third session; CPU seconds, shared
2-core machine at load 4-6; "before" is the same script on commit 66f329f in the same
hour; the scripts call `run_mesh` as this module does, idle runs 20 days, user runs one
steady day after the three-hour warm-up):

- idle seed topology, 100 validators: 2.8 -> 115 days/s (target 50, medians of 3);
  idle two-chain one-validator mesh: 8.7 -> 510 days/s (target 200, medians of 3). A
  relayer whose clearings find nothing pending on either chain doubles its period up to
  ``quiet_backoff`` (64 in a mesh, 16 on links with faults) clear intervals: an idle
  chain is woken a few times a day, not 144; notices are numbered per chain, so a lost one
  is cleared at the next notice's gap (or, if it was the last, by the backed-off clearing);
- 1,000 users: 6.0 -> 4.6 s/day; 10,000 users: 4.5 s/day (0.22 days/s, target 1): a day's
  cost hardly depends on the users. With notices, a clearing looks without proofs first
  unless traffic was just noticed, so no header is signed for a clearing that submits
  nothing; and a header the client holds already (a relayer sends a block's header with
  each channel's batch of it) is a no-op without re-checking its 100 signatures, which
  was a third of the client updates;
- what is left of a loaded day (cProfile of the steady day at 1,000 users): checking
  commit signatures, ~36% (120 client updates a day, 100 signatures each: every epoch's
  reward packet and its ack cross each pairing with a fresh header); signing headers ~8%
  (90 a day); the epochs' reward withdrawals ~20% (C-95/C-99: 6,000 sub-message/reply
  cascades a day, of which the cascade itself, savepoint, reply and event capture, is
  under a tenth; the rest is the distribution module's payment and the contract's reply).

CometBFT's light-client commit checks (issue 16, fourth session; CPU seconds, medians of 3,
the shared 2-core machine at load 5-15 (five helpers), so absolute figures are pessimistic;
"before" is commit dbeca20 in the same hour, interleaved; a script calling `run_mesh` as
this module does, one steady day after the three-hour warm-up, 100 validators):

- reference profile: 10,000 users 4.96 -> 3.28 s/day (0.20 -> 0.31 days/s, target 1);
  5,000 users 5.22 -> 3.14 s/day; doubling the users (5,000 -> 10,000) costs 0.95x ->
  1.04x a day (target <= 2.2x); the whole run (setup, the users' transactions, warm-up and
  the day) 23.5 -> 38.0 s before, 22.4 -> 37.9 s after: 1.6x and 1.7x;
- stress profile, 10,000 users: 44.0 -> 34.2 s/day (0.023 -> 0.029 days/s,
  target 0.3);
- load-independent (cProfile call counts of the steady reference day, 1,000 users):
  signatures verified 11,978 -> 6,030 a day (the light client verifies votes in order of
  power and stops past 2/3 of the power, or past the 1/3 trust level of the trusted set
  and then 2/3 of the header's set when it skips heights; each signature once per
  update; a process memo of verified triples spares the second client that receives the
  same header, two of the eight updates of an epoch); header votes built unvalidated
  (8,985 model validations a day fewer); headers signed 90 a day, each once per height.
- what is left of a loaded reference day (timers around the parts, 1,000 users, about
  3.1 s/day at the time): client updates 37% (6,000 verifications at ~170 us each on this
  machine), the epochs' reward withdrawals 26% (C-95/C-99, 6,000 cascades), header signing
  19% (9,000 signatures at ~50 us), the rest (relayers, packets, actors) 18%; the stress
  profile splits alike (39%, 23%, 18%; 1,728 client updates and 864 headers a day). An
  epoch round (every consumer's epoch falls on the same height) needs six fresh headers
  (each chain's reward packets and the acks one block later), 600 signatures and ~400
  verifications: on this machine ~0.1 s of cryptography alone, 1.4 s/day at the reference
  rate and 14 s/day under stress, above both targets (1 s/day and 3.3 s/day). They need
  fewer headers per epoch (acks relayed with the next traffic rather than at once) or no
  verification of the triples a chain of the same process has just signed.

Commits signed on first read (issue 16, fifth session; CPU seconds, medians of 3, the shared
2-core machine at load 5-7 (five helpers), so absolute figures are pessimistic; "before" is
commit 5247709, where the lead measured 1.64 and 21.6 s/day at load 1-2, interleaved with
"after" in the same hour; a script calling ``run_mesh(10_000, 100, 1, None, SEED | STRESS)``
as this module does, one steady day after the three-hour warm-up):

- a chain's header commit holds its signers' keys and the header's sign bytes, and its
  votes are signed when first read (serialised by the codec, compared, copied, pickled:
  byte-identical, ed25519 being deterministic); a light client in the same process counts
  the votes of the commit bound to exactly the header it verifies, and verifies any other
  commit (moved onto another header, altered, decoded from the wire) vote by vote. Header
  signatures computed in a steady day (1,000 users, ``KeyPair.sign`` counted): reference
  8,985 -> 0, stress 86,257 -> 0. Also: the signing set memoised on the staking module's
  (immutable) active set, headers, consensus states and client updates built from typed
  values without validation, the header hash once per update, the unsigned header cached;
- reference profile, 10,000 users: 2.22 -> 1.21 s/day, **0.45 -> 0.83 days/s** (before
  2.22, 2.26, 2.09; after 1.60, 1.21, 0.83; target 1), and in a second series at load 3-4
  2.09 -> 1.37 s/day (0.48 -> 0.73 days/s; before 2.47, 1.70, 2.09; after 1.37, 1.07,
  1.40): about 0.6x the day; stress profile, 10,000 users:
  22.2 -> 10.5 s/day, **0.045 -> 0.095 days/s** (before 22.7, 21.6, 22.2; after 12.4, 9.5,
  10.5; target 0.3); peak RSS 239 MiB;
- what is left (cProfile of a steady day, 1,000 users; before -> after share of the day):
  the IBC module's begin-block 13-15% -> 3% (signing headers inside it was 11-13% of the
  day; what remains is the Merkle catch-up and the notices), client updates 4% -> 1%; the
  epochs' reward withdrawals are now ~60% of a reference day and ~55% of a stress day
  (C-95/C-99: ``_cascade.sudo_contract``), packet receive/ack units ~11% (the contracts'
  IBC entry points), the relayers' reads 5-7% (asks through the actor runtime). Closing
  the stress gap (3.3 s/day) needs the withdrawal cascades several times cheaper.

The cyclic GC in the measured day (issue 16, sixth session; CPU seconds, the shared 2-core
machine at load 4-7 (four helpers); a script calling ``run_mesh(10_000, 100, 1, None, SEED,
5)``, interleaved with /tmp/s5m/gcday.py on commit 55e7cc0):

- what a full collection walks, 10,000 users after the warm-up, ``gc.collect()`` then
  ``gc.get_objects()`` by type, the big groups by the map (or owner) that keeps them: 215,212
  tracked objects, one full collection 0.21-0.24 s (about 1 us an object: the heap's
  objects are scattered, each visit a cache miss), of which the imports alone are 78,000
  objects and 0.09-0.10 s, the idle mesh another 19,000::

      30,002 ValueRange      vault users (2 a user: max_lien, total_slashable), stakes (1)
      20,018 _Inner          the IBC Merkle trees' inner nodes (2 a stored ack/receipt)
      15,859 set             pydantic's fields-set of 10,004 AccountSpec; imports
      15,593 dict            imports (module, class, function dicts)
      15,104 function        imports
      10,679 tuple           imports
      10,004 AccountSpec     Mesh.topology (pydantic: itself and its fields-set)
      10,004 AckRecord       ibc/acks (a NamedTuple: a tuple subclass is never untracked)
      10,000 Stake           external staking's stakes (4 contracts x 2,500)
      10,000 Lien            vault liens
      10,000 UserInfo        vault users
       5,000 ProofStep       the Merkle tree's proof-step memo (the last relay batch)
       4,920 list            imports; SortedList sublists (~10 a map)
       4,048 weakref         imports
       3,114 cell            imports

  The store itself adds nothing per record (its maps are dicts of keys and values; keys
  are atomic tuples the GC untracks), so a full collection's cost is the records' own
  types: the provider's slotted dataclasses, the IBC records and trees, the topology.
  Measured on a scratch copy, UserInfo, Lien, Stake and the Merkle ``_Inner`` as
  ``msgspec.Struct(gc=False)``: 215,259 -> 165,140 objects, 0.210 -> 0.137 s a full
  collection (median of 5); ``gc.freeze()`` after the imports on top: 86,963 objects,
  0.099 s.
- when one falls in the window: a full collection runs when the objects promoted since the
  last one pass a quarter of the old generation (~54,000 here); a steady day promotes only
  ~4,000 (the epochs' sub-messages, decimals, a few records), so the in-day collection is
  the setup's and warm-up's growth carried into the day (11-12 full collections, ~3 s, in
  the whole run), and it lands in the one-day window or not by phase: 0, 1 or 2 in
  identical runs (hash randomisation moves the allocation counts);
- reference profile, 10,000 users, medians of 3: the one-day window 1.27 s/day (1.27, 1.37,
  1.05; one full collection in each, 0.20-0.28 s, and 65 young, 0.08-0.12 s), the next five
  days 0.84 s/day (0.84, 0.88, 0.73; no full collection, 216 young, 0.27-0.32 s); base
  55e7cc0 interleaved, one-day window 1.29 s/day (1.29, 1.83, 1.28; one full collection in
  each, 0.23-0.38 s); a full collection after the days 0.22 s over 216,053 objects.
- ``Event(...)`` now checks its values' exact types (12,443 events a steady day under
  cProfile, 0.3-0.7 us each: 4-9 ms a day, under 1% of it).

History (before issue 16's reference defaults; the seed file then had 100-block epochs and
30 s clears, what is now stress.toml):

Measured (Python 3.11, x86_64, shared 2-core machine, loaded by other jobs: figures vary by
+-20% between runs; CPU seconds). With lazy block production (``_host.py``: the chains'
idle blocks are produced in one step when the virtual clock moves past them, and the clock
stops only at block boundaries with observable work):

- 100/200 users, 100 validators, 1 day (``MESH_BENCH_USERS=100 MESH_BENCH_VALIDATORS=100
  MESH_BENCH_DAYS=1``): idle mesh 4.2 s per simulated day (0.24 days/s, 13,700 blocks/s over
  the four chains); 100 users 5.8 s/day, 200 users 7.4 s/day; 1,500 / 1,860 tx/s; peak RSS
  46 / 49 / 50 MiB. Before (same command, same machine, same hour): idle 20.5 s/day
  (2,800 blocks/s), 100 users 24.6 s/day, 200 users 22.4 s/day.
- default (100/200 users, 10 validators, 2 days): idle 4.9 s/day; 7.1 / 5.2 s/day (noise:
  the user-dependent part is small at this size); 3,000 tx/s. Before: 10.0 / 11.9 / 12.3 s/day.
- the full configuration (10,000 users, 100 validators), run directly with the same steps
  (``run_mesh(10_000, 100, 6)``): setup 1.3 s; 20,000 transactions in 11.5 s (1,740 tx/s);
  then 74.8 s for 6 simulated days = 12.5 s per day (0.080 days/s; the first hours include
  relaying the 20,000 transactions' packets), 11.5 s for a steady-state day; peak RSS
  125 MiB. Before: 186.8 s of transactions (107 tx/s) and 25.5 s per day (0.039 days/s).

- **the full configuration through this benchmark, 30 days each** (commit d2c4498,
  ``MESH_BENCH_USERS=10000 MESH_BENCH_VALIDATORS=100 MESH_BENCH_DAYS=30``, 794 s in all):
  idle 3.6 s/day (0.28 days/s, 16,200 blocks/s, 45.7 MiB); **10,000 users 9.3 s/day
  (0.108 days/s)**, 2,977 tx/s, peak RSS 114 MiB; **20,000 users 11.0 s/day (0.091
  days/s)**, 2,005 tx/s, peak RSS 178 MiB. Doubling the users: days phase 1.2x (the
  user-dependent part 1.3x: sublinear, a day costs per validator and per epoch once every
  validator has delegations), RSS above idle 1.9x (linear), transactions phase 3.0x. That
  last figure is the machine's load, not the code: measured directly (bond + cross-stake
  for 8,000 and 16,000 users in one process, timing each quarter), 2,040 and 2,000 tx/s,
  each quarter of the users costing the same: linear.
- **the relayers' clear interval** is the seed file's 30 s. With Hermes' default of 100
  blocks (600 s at 6 s blocks; ``MESH_BENCH_CLEAR=600``, 1,000/2,000 users, 1 day): idle
  0.3 s/day (3.6 days/s), 1,000 users 5.0 s/day, 2,000 users 5.6 s/day: nearly all of an
  idle day is the periodic clears (2 asks each to the chains, 11,520 clears a day).

So the target (1 simulated day per second at 10,000 users and 100 validators) is still
missed, by a factor of about 9 at the full size (about 5 with a 100-block clear interval);
an idle mesh is about 3.6x too slow with 30-second clears and meets it with 100-block ones.

Profile of a steady-state half day at 10,000 users and 100 validators (28.0 s under
cProfile, after the users' packets were relayed):

1. **Epochs, about 50%** (`TxExecutor.end_block` → the sudo ``HandleEpoch`` calls): four
   virtual-staking contracts (Juno consumes twice) run an epoch every 100 blocks, and each
   withdraws the rewards of every validator it delegates to, one ``SubMsg`` and reply per
   validator (C-95, C-99): 4 x 144 x 100 = 57,600 withdrawal cascades per simulated day,
   about 0.1 ms each under cProfile (the executor's sub-message/reply machinery, the
   distribution's settlement, the reply's bookkeeping, the ``DistributeRewards`` cascade).
   This is O(validators) per epoch and independent of the number of users once every
   validator has a delegation. Since made cheaper, with the same state and events: the
   withdrawal ``SubMsg`` built once per validator, ``Reply``/its events and the reward
   payments built without validation (``Reply.trusted``, ``Event.trusted``,
   ``SubMsg.trusted``), one community-pool write per withdrawal, a memo of the members'
   per-block shares, the bank's denom check memoised. Measured without a profiler on a
   consumer chain with 100 validators and one virtual-staking contract bonded on all of
   them (an epoch = 100 cascades + the rebalance): 5.3 ms -> 3.4 ms CPU per epoch
   (53 -> 34 us per cascade, median of 3); ``MESH_BENCH_USERS=1000
   MESH_BENCH_VALIDATORS=100 MESH_BENCH_DAYS=1``: 1,000 users 10.3 -> 9.25 s/day (median of
   2 runs each, idle 3.5 s/day; about 2 s/day of the rest is now the epochs). A
   spec-level batched withdrawal would be the next lever: what is left is ~10 journaled
   writes and ~15 Python calls per cascade. Since (issue #16, fifth session): ``Event`` and
   ``Reply`` are frozen msgspec structs, a sub-message's savepoint is a journal mark, the
   converter writes the batch's packet bytes directly (no ``RewardInfo`` per validator),
   ``SdkDec`` is built without the frozen dataclass's setattr (stress figure re-measured
   after the merge).
2. **Relayer clearing and its asks, about 20%** (`Relayer.on_clear_tick`, ~35,000 clears
   per simulated day for four relayers whose ``clear_interval`` is 30 s, mostly finding
   nothing): every clear is also a clock stop at which all four chains catch up.
3. **Block production, about 5%** (was 35%): ~3,800 clock stops per simulated day (the
   relayers' timers; an idle chain needs none of its own), at each of which every chain
   fast-forwards its idle blocks in one step (`TxExecutor.fast_forward`: reward allocation
   in closed form, the IBC module's begin-block replayed for the last two blocks only);
   due boundaries (a transaction in the block, an epoch, a valset update, an active-set
   change, a maturity, liveness work, IBC activity to announce) are produced one by one
   on time, as the timer did, with the hooks of modules that have nothing due skipped.
   The rest is actor messaging (mailboxes, asks, the network) around the relayers.

Transactions: `Mesh` now derives each user's and validator's address once per chain.
"""

from __future__ import annotations

import cProfile
import gc
import io
import multiprocessing
import os
import pstats
import resource
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from benchmarks._report import Report
from chains import AccountSpec, ChainSpec, Mesh, Topology, ValidatorSpec, load_topology

__all__ = ["GcWindow", "MeshRun", "build_topology", "run", "run_mesh"]

_ROOT = str(Path(__file__).resolve().parents[1]) + "/"
_EXAMPLES = Path(_ROOT) / "examples"
SEED = _EXAMPLES / "topologies" / "seed.toml"
STRESS = _EXAMPLES / "topologies" / "stress.toml"
SMALL = _EXAMPLES / "chaos" / "small.toml"
_DAY = 86_400.0
BOND = 1_000_000
CROSS_STAKE = 200_000
BALANCE = 10_000_000
VALIDATOR_TOKENS = 10_000_000
SLASHED_CHAIN = "juno"


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def build_topology(users: int, validators: int, base: Path = SEED) -> Topology:
    """The seed topology (or ``base``) with ``validators`` per chain and ``users`` accounts
    spread round-robin over the pairings' providers (user ``u{i}`` belongs to pairing
    ``i % 4``)."""
    seed = load_topology(base)
    accounts: dict[str, list[AccountSpec]] = {c.id: [] for c in seed.chains}
    for i in range(users):
        provider = seed.pairings[i % len(seed.pairings)].provider
        accounts[provider].append(AccountSpec(name=f"u{i}", balance=BALANCE))
    chains = tuple(
        chain.model_copy(
            update={
                "validators": tuple(
                    ValidatorSpec(
                        name=f"{chain.id}-val{j}",
                        tokens=VALIDATOR_TOKENS,
                        commission=chain.validators[0].commission,
                    )
                    for j in range(validators)
                ),
                "accounts": chain.accounts + tuple(accounts[chain.id]),
                "max_validators": max(chain.max_validators, validators),
            }
        )
        for chain in seed.chains
    )
    update: dict[str, object] = {"chains": chains}
    clear = os.environ.get("MESH_BENCH_CLEAR")
    if clear:
        update["relayers"] = tuple(
            relayer.model_copy(update={"clear_interval": float(clear)}) for relayer in seed.relayers
        )
    return seed.model_copy(update=update)


@dataclass(frozen=True)
class GcWindow:
    """The cyclic GC's collections inside one measured window: how many full (generation
    2) and young (generations 0 and 1) collections ran, and their CPU seconds."""

    full: int = 0
    full_s: float = 0.0
    young: int = 0
    young_s: float = 0.0

    def describe(self) -> str:
        """``"gc: 1 full 0.21 s, 60 young 0.02 s in window"``."""
        return (
            f"gc: {self.full} full {self.full_s:.2f} s, {self.young} young "
            f"{self.young_s:.2f} s in window"
        )


class _GcLog:
    """Every collection the GC runs while installed (``gc.callbacks``): when it ended and
    its CPU time, both by ``time.process_time``, and its generation."""

    def __init__(self) -> None:
        self._started = 0.0
        # (ended at, generation, CPU seconds)
        self.collections: list[tuple[float, int, float]] = []

    def _callback(self, phase: str, info: Mapping[str, Any]) -> None:
        # the GC calls this around each collection; it must not raise or allocate much
        now = time.process_time()
        if phase == "start":
            self._started = now
        else:
            self.collections.append((now, info["generation"], now - self._started))

    def install(self) -> None:
        """Start recording (appends to ``gc.callbacks``)."""
        gc.callbacks.append(self._callback)

    def remove(self) -> None:
        """Stop recording (removes the callback; a no-op if not installed)."""
        callback: Callable[[str, Mapping[str, Any]], None] = self._callback
        if callback in gc.callbacks:
            gc.callbacks.remove(callback)

    def window(self, start: float, end: float) -> GcWindow:
        """The collections that ended inside ``[start, end]`` (process-time seconds)."""
        inside = [(g, d) for t, g, d in self.collections if start <= t <= end]
        full = [d for g, d in inside if g == 2]
        young = [d for g, d in inside if g != 2]
        return GcWindow(len(full), sum(full, 0.0), len(young), sum(young, 0.0))


@dataclass(frozen=True)
class MeshRun:
    """CPU seconds of each phase of one run, the process's peak RSS (bytes), the GC's
    collections inside the measured days (``gc``), and, when asked for, a longer steady
    window after them (``steady_days`` simulated days in ``steady_s``, its own ``steady_gc``);
    at the end, with the mesh still up, the objects the GC tracks (``tracked``) and the CPU
    seconds of one full collection over them (``full_gc_s``)."""

    users: int
    validators: int
    days: float
    setup_s: float
    txs: int
    txs_s: float
    run_s: float
    peak_rss: int
    warmup_s: float = 0.0
    gc: GcWindow = GcWindow()
    steady_days: float = 0.0
    steady_s: float = 0.0
    steady_gc: GcWindow = GcWindow()
    tracked: int = 0
    full_gc_s: float = 0.0


def small_idle_topology() -> Topology:
    """Two chains, one validator each, no relayer settings: the chaos tests' mesh with the
    reference profile (its stress clearing period dropped, epochs at the default)."""
    small = load_topology(SMALL)
    default_epoch = ChainSpec.model_fields["epoch_blocks"].default
    chains = tuple(c.model_copy(update={"epoch_blocks": default_epoch}) for c in small.chains)
    return small.model_copy(update={"chains": chains, "relayers": ()})


def _topology_of(users: int, validators: int, base: Path) -> Topology:
    return small_idle_topology() if base == SMALL else build_topology(users, validators, base)


async def stake_users(mesh: Mesh, topology: Topology, users: int, validators: int) -> int:
    """Users ``u0 .. u{users-1}``, round-robin over the pairings, each bond `BOND` on the
    provider and cross-stake `CROSS_STAKE` to a consumer validator (round-robin); returns
    the transactions submitted (two per user). Asserts each one succeeded."""
    for i in range(users):
        pairing = topology.pairings[i % len(topology.pairings)]
        user = f"u{i}"
        assert (await mesh.bond(pairing.provider, user, BOND)).ok
        target = f"{pairing.consumer}-val{(i // len(topology.pairings)) % validators}"
        result = await mesh.cross_stake(
            pairing.provider, pairing.consumer, user, target, CROSS_STAKE
        )
        assert result.ok, result
    return 2 * users


async def _drive(
    users: int, validators: int, days: float, base: Path = SEED, steady_days: float = 0.0
) -> MeshRun:
    log = _GcLog()
    log.install()
    try:
        return await _drive_logged(users, validators, days, base, steady_days, log)
    finally:
        log.remove()


async def _drive_logged(
    users: int, validators: int, days: float, base: Path, steady_days: float, log: _GcLog
) -> MeshRun:
    topology = _topology_of(users, validators, base)
    warmup_hours = float(os.environ.get("MESH_BENCH_WARMUP_HOURS") or 3)
    steady_s = 0.0
    steady_gc = GcWindow()
    started = time.process_time()
    async with Mesh(topology, seed=7) as mesh:
        setup = time.process_time() - started
        started = time.process_time()
        txs = await stake_users(mesh, topology, users, validators)
        tx_time = time.process_time() - started
        # the warm-up: the users' packets relayed and acked, their stake bonded at the
        # consumers' first epochs (a one-time cost, timed apart from the days)
        started = time.process_time()
        await mesh.advance(hours=warmup_hours)
        warmup = time.process_time() - started
        started = time.process_time()
        await mesh.advance(days=days / 2)
        if users:
            # one slash, mid-run: Juno's validator 0 double-signs (C-36, I-88/I-89)
            assert (await mesh.misbehave(SLASHED_CHAIN, f"{SLASHED_CHAIN}-val0")).ok
        await mesh.advance(days=days / 2)
        ended = time.process_time()
        run_time = ended - started
        in_days = log.window(started, ended)
        if steady_days:
            # the longer steady window right after the measured days: a full collection
            # falls into a window now and then (when the objects promoted since the last
            # one pass a quarter of the old generation), so a one-day window sees all of
            # one or none; several days show its amortised share
            started = time.process_time()
            await mesh.advance(days=steady_days)
            ended = time.process_time()
            steady_s = ended - started
            steady_gc = log.window(started, ended)
        # what a full collection walks at this size: every object the GC tracks (the
        # first collection frees the garbage, the second is the walk of the live heap)
        gc.collect()
        tracked = len(gc.get_objects())
        started = time.process_time()
        gc.collect()
        full_gc = time.process_time() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return MeshRun(
        users,
        validators,
        days,
        setup,
        txs,
        tx_time,
        run_time,
        peak,
        warmup,
        in_days,
        steady_days,
        steady_s,
        steady_gc,
        tracked,
        full_gc,
    )


def run_mesh(
    users: int,
    validators: int,
    days: float,
    profile: str | None = None,
    base: Path = SEED,
    steady_days: float = 0.0,
) -> MeshRun:
    """One run of the benchmark in this process (on asyncio) on the topology ``base`` (seed,
    stress or the small idle mesh); with ``profile`` a path, under cProfile, the stats
    dumped there; with ``steady_days``, a second steady window of that many days after the
    measured ones (`MeshRun.steady_s`)."""
    if profile is None:
        return anyio.run(_drive, users, validators, days, base, steady_days)
    profiler = cProfile.Profile()
    result: MeshRun = profiler.runcall(
        anyio.run, _drive, users, validators, days, base, steady_days
    )
    profiler.dump_stats(profile)
    return result


def _in_child(
    users: int,
    validators: int,
    days: float,
    profile: str | None = None,
    base: Path = SEED,
    steady_days: float = 0.0,
) -> MeshRun:
    # a fresh forked process per run: ru_maxrss is then that run's own peak
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        result: MeshRun = pool.apply(
            run_mesh, (users, validators, days, profile, base, steady_days)
        )
    return result


def _median_idle(validators: int, days: float, base: Path) -> MeshRun:
    runs = sorted((_in_child(0, validators, days, base=base) for _ in range(3)), key=_rate)
    return runs[1]


def _rate(r: MeshRun) -> float:
    # simulated days per CPU second of the days phase
    return r.days / r.run_s if r.run_s > 0 else float("inf")


def _print_profile(path: str) -> None:
    # the whole top by cumulative time is the event loop's frames; the project's own
    # functions (chains, mesh_actors, transport) show where a simulated day goes
    for title, restriction in (
        ("all functions", ()),
        ("the project's functions", (r"/(chains|mesh_actors|transport)/",)),
    ):
        out = io.StringIO()
        stats = pstats.Stats(path, stream=out)
        stats.sort_stats("cumulative").print_stats(*restriction, 15)
        print(f"\n  -- profile, top 15 by cumulative time, {title} --")
        body = out.getvalue().splitlines()
        start = next((i for i, line in enumerate(body) if "ncalls" in line), 0)
        for line in body[start:]:
            if line.strip():
                print("  " + line.replace(_ROOT, ""))


def _profile_run(
    report: Report,
    label: str,
    base: Path,
    users: int,
    validators: int,
    days: float,
    steady_days: float = 0.0,
    repeats: int = 3,
) -> tuple[MeshRun, MeshRun]:
    """The idle run and ``repeats`` runs at ``users`` of one profile, each in a fresh
    process; the figure is the median of the ``users`` runs (all of them in the note), with
    the GC's collections inside its window; with ``steady_days``, the first run's longer
    steady window too. Returns the idle run and the median run."""
    idle = _in_child(0, validators, days, base=base)
    runs = [
        _in_child(users, validators, days, base=base, steady_days=steady_days if i == 0 else 0.0)
        for i in range(max(repeats, 1))
    ]
    loaded = sorted(runs, key=_rate)[len(runs) // 2]
    day = loaded.run_s / days
    target = 1.0 if base == SEED else 0.3
    aim = f"target >= {target:g} at 10,000 users; " if users == 10_000 else ""
    report.figure(
        f"{label}: idle seed, {validators} validators",
        _rate(idle),
        "days/s",
        note=idle.gc.describe(),
    )
    report.figure(
        f"{label}: {users:,} users, {validators} validators (median of {len(runs)})",
        _rate(loaded),
        "days/s",
        note=f"{aim}{day:.2f} s/day (runs: "
        + ", ".join(f"{r.run_s / days:.2f}" for r in runs)
        + f"); {loaded.gc.describe()}; {loaded.txs / loaded.txs_s:,.0f} tx/s; "
        f"warm-up {loaded.warmup_s:.2f} s; peak RSS {loaded.peak_rss / 2**20:.0f} MiB",
    )
    report.figure(
        f"{label}: {users:,} users, one full collection after the days",
        loaded.full_gc_s,
        "s",
        note=f"{loaded.tracked:,} objects tracked by the GC (idle: {idle.tracked:,}, "
        f"{idle.full_gc_s:.3f} s)",
    )
    first = runs[0]
    if first.steady_days:
        steady_day = first.steady_s / first.steady_days
        report.figure(
            f"{label}: {users:,} users, the next {first.steady_days:g} days",
            first.steady_days / first.steady_s if first.steady_s > 0 else float("inf"),
            "days/s",
            note=f"{steady_day:.2f} s/day amortised; {first.steady_gc.describe()}",
        )
    return idle, loaded


def _doubling(report: Report, single: MeshRun, double: MeshRun) -> None:
    """What doubling the users costs (issue 16: at most 2.2x): a simulated day's CPU time
    at ``2U`` users over ``U``, and, in the note, the whole run's (setup, transactions,
    warm-up and days)."""

    def whole(r: MeshRun) -> float:
        return r.setup_s + r.txs_s + r.warmup_s + r.run_s

    report.figure(
        f"reference: doubling users {single.users:,} -> {double.users:,}, a day's cost",
        double.run_s / single.run_s if single.run_s > 0 else float("inf"),
        "x",
        note=f"target <= 2.2; {single.run_s / single.days:.2f} -> "
        f"{double.run_s / double.days:.2f} s/day; whole run {whole(single):.1f} -> "
        f"{whole(double):.1f} s ({whole(double) / whole(single):.2f}x); peak RSS "
        f"{single.peak_rss / 2**20:.0f} -> {double.peak_rss / 2**20:.0f} MiB",
    )


def run(report: Report) -> None:
    users = _env_int("MESH_BENCH_USERS", 10_000)
    validators = _env_int("MESH_BENCH_VALIDATORS", 100)
    days = float(os.environ.get("MESH_BENCH_DAYS") or 1)
    steady_days = float(os.environ.get("MESH_BENCH_STEADY_DAYS") or 5)
    idle_days = float(os.environ.get("MESH_BENCH_IDLE_DAYS") or 20)
    repeats = _env_int("MESH_BENCH_REPEATS", 3)
    profile = os.environ.get("MESH_BENCH_PROFILE")
    print(
        f"  seed topology, {validators} validators per chain; user runs {days:g} simulated "
        f"days at {users:,} users, median of {repeats}; idle runs {idle_days:g} days"
    )
    _, reference = _profile_run(
        report, "reference", SEED, users, validators, days, steady_days, repeats
    )
    if users >= 2:
        _doubling(report, _in_child(users // 2, validators, days, base=SEED), reference)
    _profile_run(report, "stress", STRESS, users, validators, days, repeats=repeats)
    idle = _median_idle(validators, idle_days, SEED)
    report.figure(
        f"idle seed topology, {validators} validators (median of 3)",
        _rate(idle),
        "days/s",
        note=f"target >= 50; {idle.gc.describe()}",
    )
    small = _median_idle(1, idle_days, SMALL)
    report.figure(
        "idle two-chain one-validator mesh (median of 3)",
        _rate(small),
        "days/s",
        note=f"target >= 200; {small.gc.describe()}",
    )
    report.figure("reference: setup (deploy + handshakes)", reference.setup_s, "s")
    if profile == "0":
        return
    # a separate run: cProfile roughly doubles the cost, so it must not enter the figures
    path = profile or os.path.join(tempfile.mkdtemp(prefix="bench_mesh"), "reference.prof")
    _in_child(users, validators, days, path, SEED)
    print(f"\n  profile of the reference run ({users:,} users), stats in {path}")
    _print_profile(path)
