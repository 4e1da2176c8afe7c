"""Checkers: each judges one property of a `SeedRecord` and lists what is violated.

Every checker is a plain function ``(SeedRecord) -> list[str]`` (empty: the property held),
registered in `CHECKERS` under a stable name. They judge the run's history and final
state, never the mesh directly, so each can be shown to fail on a record broken on purpose.

- ``packets_once``: every packet is received at most once, and settles (ack or timeout)
  exactly once once the mesh is quiescent (I-25; ibc-go's receipts and commitments).
- ``agreement``: provider and consumer agree at quiescence (the mesh's I-64..I-69 checks,
  and its chain-local P-18..P-21 invariants).
- ``conservation``: per denom, balances add up to the supply and no foreign denom appears
  (C-58, I-80), from the mesh's supply invariants.
- ``rewards_once``: every rewards claim's packet is delivered at most once and a claim
  completes at most once (I-54).
- ``unbonding_not_early``: unbonded tokens released to a user never exceed what matured
  (unstakes acknowledged at least an unbonding period before, P-70).
- ``max_cap``: the virtual delegation never exceeds the max cap, except while a lowered
  cap drains (C-43, C-96).
- ``rewards_accrued``: rewards paid never above rewards accrued: x/distribution holds
  what it owes, and no external staking user is paid more than its stake earned nor a
  validator's stakers more than arrived over IBC (the mesh's issue-13 reward checks).
- ``liveness``: once the faults heal, every operation settles within the workload's
  bound, and every relayer answers a status request within its bound. An operation
  answered in a block that a chain crash lost is ``info`` (``block_lost``): indeterminate,
  nothing more is owed for it.
- ``lost_blocks``: the history agrees with the chain crashes that lost an open block
  (`LostBlock`): no operation stays ``ok`` (nor failed by a timeout or error ack) on the
  strength of a transaction the crash lost, and every ``block_lost`` operation was
  answered on a chain that lost a block at that time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from chains.mesh.chaos._record import SeedRecord

__all__ = ["CHECKERS", "Checker", "run_checkers"]

Checker = Callable[[SeedRecord], list[str]]

_SUPPLY_MARKS = ("supply", "foreign denom")
_BLOCK_LOST = "block_lost"
# failures decided by a packet's fate (on the sending chain), not by the operation's own tx
_BY_PACKET = frozenset({"timeout", "error_ack"})


def packets_once(record: SeedRecord) -> list[str]:
    """See the module docstring."""
    out: list[str] = []
    if record.events_dropped:
        out.append(f"history incomplete: {record.events_dropped} chain events were dropped")
    quiet = record.settled_at is not None
    for life in record.history.packets.values():
        name = "/".join(map(str, life.key))
        if life.received > 1:
            out.append(f"packet {name} received {life.received} times")
        settled = life.acked + life.timed_out
        if settled > 1:
            out.append(
                f"packet {name} settled {settled} times (acked {life.acked},"
                f" timed out {life.timed_out})"
            )
        elif quiet and settled == 0 and life.sent_at is not None:
            out.append(f"packet {name} neither acked nor timed out at quiescence")
    return out


def agreement(record: SeedRecord) -> list[str]:
    """See the module docstring."""
    return [v for v in record.violations if not any(m in v for m in _SUPPLY_MARKS)]


def conservation(record: SeedRecord) -> list[str]:
    """See the module docstring."""
    return [v for v in record.violations if any(m in v for m in _SUPPLY_MARKS)]


def rewards_once(record: SeedRecord) -> list[str]:
    """See the module docstring."""
    out: list[str] = []
    claims = {op.index for op in record.operations if op.f == "claim_rewards"}
    lives = {_key(p.key): p for p in record.history.packets.values()}
    for key, op in record.op_packets.items():
        if op not in claims:
            continue
        life = lives.get(key)
        if life is not None and life.received > 1:
            out.append(f"rewards claim #{op}: packet {key} delivered {life.received} times")
    completions: dict[int, int] = {}
    for entry in record.history.entries:
        if entry.op in claims and entry.type != "invoke":
            completions[entry.op] = completions.get(entry.op, 0) + 1
    out += [f"rewards claim #{op} completed {n} times" for op, n in completions.items() if n > 1]
    return out


_REWARD_MARKS = ("rewards paid above accrued", "rewards > earned", "received over IBC")


def rewards_accrued(record: SeedRecord) -> list[str]:
    """See the module docstring."""
    return [v for v in record.violations if any(m in v for m in _REWARD_MARKS)]


def _key(key: tuple[str, str, str, int]) -> str:
    return "/".join(map(str, key))


def unbonding_not_early(record: SeedRecord) -> list[str]:
    """See the module docstring."""
    out: list[str] = []
    unstakes: dict[tuple[str, str], list[tuple[float, int]]] = {}
    by_index = {op.index: op for op in record.operations}
    for entry in record.history.entries:
        op = by_index.get(entry.op)
        if op is None or op.f != "unstake" or entry.type != "ok":
            continue
        pairing = f"{op.args['provider']}→{op.args['consumer']}"
        period = record.unbonding.get(pairing, 0.0)
        unstakes.setdefault((pairing, op.process), []).append(
            (entry.time + period, int(op.args["amount"]))
        )
    released: dict[tuple[str, str], int] = {}
    for w in sorted(record.withdrawals, key=lambda w: w.time):
        key = (w.pairing, w.user)
        released[key] = released.get(key, 0) + w.amount
        matured = sum(a for when, a in unstakes.get(key, []) if when <= w.time + 1e-6)
        if released[key] > matured:
            out.append(
                f"{w.pairing} {w.user}: {released[key]} released by t={w.time:.1f}"
                f" but only {matured} matured (P-70)"
            )
    return out


def max_cap(record: SeedRecord) -> list[str]:
    """See the module docstring."""
    out: list[str] = []
    lowered: dict[str, list[float]] = {}
    by_index = {op.index: op for op in record.operations}
    for entry in record.history.entries:
        op = by_index.get(entry.op)
        if op is not None and op.f == "set_max_cap" and entry.type == "invoke":
            pairing = f"{op.args['provider']}→{op.args['consumer']}"
            lowered.setdefault(pairing, []).append(entry.time)
    for s in record.cap_samples:
        grace = record.cap_grace.get(s.pairing, 0.0)
        draining = any(t <= s.time <= t + grace for t in lowered.get(s.pairing, []))
        if s.delegated > s.cap and not draining:
            out.append(
                f"{s.pairing}: virtual stake {s.delegated} > max cap {s.cap} at t={s.time:.1f}"
            )
    return out


def liveness(record: SeedRecord) -> list[str]:
    """See the module docstring."""
    out: list[str] = []
    if record.heals_at is None:
        return out  # a fault that never heals: nothing is owed
    # one pass over the history (a lookup per operation would make long runs quadratic)
    invocations, completions = record.history.by_op()
    for op in record.operations:
        invoked = invocations.get(op.index)
        if invoked is None:
            continue
        done = completions.get(op.index)
        deadline = max(invoked.time, record.heals_at) + record.settle_bound
        if done is not None and done.type == "info" and done.error == _BLOCK_LOST:
            continue  # indeterminate by a crash: nothing is owed
        if done is None or done.type == "info":
            out.append(f"op #{op.index} {op.f} by {op.process} never settled")
        elif done.time > deadline + 1e-6:
            out.append(
                f"op #{op.index} {op.f} settled at t={done.time:.1f}, after its bound"
                f" t={deadline:.1f}"
            )
    for answer in record.relayers:
        if answer.seconds is None or answer.seconds > record.status_bound:
            out.append(
                f"relayer {answer.link}#{answer.index} did not answer a status request"
                f" within {record.status_bound:.0f} s"
            )
    return out


def lost_blocks(record: SeedRecord) -> list[str]:
    """See the module docstring."""
    out: list[str] = []
    by_index = {op.index: op for op in record.operations}
    entries = [e for e in record.history.entries if e.type != "invoke"]
    previous: dict[str, float] = {}
    for lost in sorted(record.lost_blocks, key=lambda b: b.time):
        since = previous.get(lost.chain, -1.0)
        previous[lost.chain] = lost.time
        for e in entries:
            op = by_index.get(e.op)
            if op is None or op.chain != lost.chain or e.height is None:
                continue
            decided = e.type == "ok" or (e.type == "fail" and e.error in _BY_PACKET)
            if decided and since < e.time <= lost.time + 1e-6 and e.height >= lost.height:
                out.append(
                    f"op #{e.op} {e.f} {e.type} at height {e.height} of {lost.chain}, a block"
                    f" its crash at t={lost.time:.1f} lost (resumed at {lost.height})"
                )
    for e in entries:
        if e.type != "info" or e.error != _BLOCK_LOST:
            continue
        op = by_index.get(e.op)
        if op is None or not any(
            b.chain == op.chain and abs(b.time - e.time) <= 1e-6 for b in record.lost_blocks
        ):
            out.append(f"op #{e.op} {e.f} marked {_BLOCK_LOST} with no crash of its chain then")
    return out


CHECKERS: Final[dict[str, Checker]] = {
    "packets_once": packets_once,
    "agreement": agreement,
    "conservation": conservation,
    "rewards_once": rewards_once,
    "rewards_accrued": rewards_accrued,
    "unbonding_not_early": unbonding_not_early,
    "max_cap": max_cap,
    "liveness": liveness,
    "lost_blocks": lost_blocks,
}


def run_checkers(
    record: SeedRecord, checkers: dict[str, Checker] | None = None
) -> dict[str, list[str]]:
    """Every checker's violations for ``record`` (name → list, empty if it held)."""
    chosen = CHECKERS if checkers is None else checkers
    return {name: check(record) for name, check in chosen.items()}
