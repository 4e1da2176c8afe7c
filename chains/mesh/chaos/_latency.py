"""Latency of the protocol's flows, from a seed's history, recorded in HdrHistograms.

Flows (the time from the user's or the world's action to its effect on the other chain):

- ``cross_stake_committed``: a cross-stake's invoke → its ack on the provider (P-26, I-51);
- ``unstake_committed``: an unstake's invoke → its ack (the unbonding starts there, I-52;
  the release itself waits the unbonding period, a constant of the pairing);
- ``rewards_delivered``: a rewards claim's invoke → its ack (I-54);
- ``slash_propagated``: a validator's misbehaviour on a consumer → the first packet that
  chain sends afterwards being received by the provider (the valset update carrying the
  slash, I-88; an earlier unrelated packet would make this an underestimate);
- ``price_update_applied``: a price move → its transaction (the simple feed applies it at
  once; C-60).

Blocks are the flow's seconds divided by the block time of the chain where it completes
(rounded up). `LatencyTable` keeps one HdrHistogram per flow and unit (3 significant
digits; seconds recorded as whole milliseconds) and reads p50, p90, p99, p99.9 and max.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from chains.mesh.chaos._record import SeedRecord

__all__ = ["FLOWS", "PERCENTILES", "LatencySample", "LatencyTable", "latency_samples"]

FLOWS = (
    "cross_stake_committed",
    "unstake_committed",
    "rewards_delivered",
    "slash_propagated",
    "price_update_applied",
)
PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99.9", 99.9))

_OP_FLOWS = {
    "cross_stake": "cross_stake_committed",
    "unstake": "unstake_committed",
    "claim_rewards": "rewards_delivered",
    "move_price": "price_update_applied",
}
# HdrHistogram range: 1 ms .. 10^7 s, 3 significant digits
_HIGHEST = 10**10


@dataclass(frozen=True)
class LatencySample:
    """One flow's latency in one seed (``op``: the operation that started it)."""

    flow: str
    seconds: float
    blocks: int
    seed: int
    op: int

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {
            "flow": self.flow,
            "seconds": self.seconds,
            "blocks": self.blocks,
            "seed": self.seed,
            "op": self.op,
        }


def _blocks(seconds: float, block_time: float) -> int:
    return max(0, math.ceil(seconds / block_time - 1e-9))


def latency_samples(record: SeedRecord) -> list[LatencySample]:
    """The flows' latencies in ``record`` (successful operations only)."""
    out: list[LatencySample] = []
    history = record.history
    invocations, completions = history.by_op()
    for op in record.operations:
        invoked = invocations.get(op.index)
        done = completions.get(op.index)
        if invoked is None:
            continue
        if op.f in ("downtime", "double_sign"):
            chain = str(op.args["chain"])
            after = [
                p.received_at
                for p in history.packets.values()
                if p.chain == chain
                and p.sent_at is not None
                and p.sent_at >= invoked.time
                and p.received_at is not None
            ]
            if after:
                seconds = min(after) - invoked.time
                others = [b for c, b in record.block_times.items() if c != chain] or [1.0]
                out.append(
                    LatencySample(
                        "slash_propagated",
                        round(seconds, 6),
                        _blocks(seconds, others[0]),
                        record.seed,
                        op.index,
                    )
                )
            continue
        flow = _OP_FLOWS.get(op.f)
        if flow is None or done is None or done.type != "ok":
            continue
        seconds = max(0.0, done.time - invoked.time)
        chain = str(op.args.get("provider", op.args.get("chain", "")))
        if op.f == "move_price":
            chain = str(op.args["consumer"])
        block_time = record.block_times.get(chain, 1.0)
        out.append(
            LatencySample(
                flow, round(seconds, 6), _blocks(seconds, block_time), record.seed, op.index
            )
        )
    return out


class LatencyTable:
    """One HdrHistogram per flow for seconds and for blocks (see the module docstring).

    Needs the ``hdrhistogram`` package (a dependency of mesh-actors)."""

    def __init__(self) -> None:
        self._seconds: dict[str, Any] = {}
        self._blocks: dict[str, Any] = {}

    @staticmethod
    def _new() -> Any:
        from hdrh.histogram import HdrHistogram  # lazy: only chaos reports need it

        return HdrHistogram(1, _HIGHEST, 3)

    def record(self, sample: LatencySample) -> None:
        """Add one sample."""
        if sample.flow not in self._seconds:
            self._seconds[sample.flow] = self._new()
            self._blocks[sample.flow] = self._new()
        millis = min(_HIGHEST, max(0, round(sample.seconds * 1000)))
        self._seconds[sample.flow].record_value(millis)
        self._blocks[sample.flow].record_value(min(_HIGHEST, sample.blocks))

    def flows(self) -> list[str]:
        """The flows with samples, in `FLOWS` order."""
        return [f for f in FLOWS if f in self._seconds]

    def count(self, flow: str) -> int:
        """How many samples ``flow`` has."""
        histogram = self._seconds.get(flow)
        return 0 if histogram is None else int(histogram.get_total_count())

    def percentiles(self, flow: str, unit: str = "seconds") -> dict[str, float]:
        """p50, p90, p99, p99.9 and max of ``flow`` in ``unit`` (``"seconds"`` or
        ``"blocks"``); raises ``KeyError`` for a flow without samples."""
        histogram = (self._seconds if unit == "seconds" else self._blocks)[flow]
        scale = 1000.0 if unit == "seconds" else 1.0
        out = {name: histogram.get_value_at_percentile(p) / scale for name, p in PERCENTILES}
        out["max"] = histogram.get_max_value() / scale
        return out

    def markdown(self) -> str:
        """The percentile table as Markdown (one row per flow, seconds and blocks)."""
        names = [n for n, _ in PERCENTILES] + ["max"]
        head = "| flow | n | " + " | ".join(f"{n} s" for n in names)
        head += " | " + " | ".join(f"{n} blocks" for n in names) + " |"
        rule = "|" + "---|" * (2 + 2 * len(names))
        rows = [head, rule]
        for flow in self.flows():
            secs = self.percentiles(flow, "seconds")
            blocks = self.percentiles(flow, "blocks")
            row = f"| {flow} | {self.count(flow)} | "
            row += " | ".join(f"{secs[n]:.3f}" for n in names) + " | "
            row += " | ".join(f"{blocks[n]:.0f}" for n in names) + " |"
            rows.append(row)
        return "\n".join(rows) + "\n"
