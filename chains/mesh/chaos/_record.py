"""What one seed of a chaos run leaves behind: the facts the checkers judge.

A `SeedRecord` is plain data (JSON-able through `SeedRecord.to_json`), built by the runner
while the mesh runs and handed to the checkers afterwards, so that a checker can be tested
on a record broken on purpose without running a mesh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chains.mesh.chaos._history import History
from chains.mesh.chaos._workload import Operation

__all__ = ["CapSample", "LostBlock", "RelayerAnswer", "SeedRecord", "Withdrawal"]


@dataclass(frozen=True)
class CapSample:
    """A pairing's virtual delegation and max cap on the consumer at ``time``."""

    time: float
    pairing: str
    delegated: int
    cap: int


@dataclass(frozen=True)
class RelayerAnswer:
    """Whether relayer ``index`` of ``link`` answered a status request, and how fast
    (clock seconds; ``None`` if it did not answer within the bound)."""

    link: str
    index: int
    seconds: float | None


@dataclass(frozen=True)
class Withdrawal:
    """Unbonded tokens released to ``user``'s vault account at ``time`` (P-70)."""

    time: float
    pairing: str
    user: str
    amount: int


@dataclass(frozen=True)
class LostBlock:
    """A chain crash that lost an open block: at clock second ``time`` chain ``chain``
    went down and resumed from its last committed block, at ``height``; every transaction
    it had run in that block since its boundary (answered, but never committed) is gone."""

    time: float
    chain: str
    height: int


@dataclass
class SeedRecord:
    """Everything one seed produced (see the module docstring).

    ``heals_at``: when the plan's last fault ended (``None``: a fault never heals);
    ``settled_at``: when the mesh was quiescent after the workload (``None``: it did not
    settle within the bound); ``violations``: the mesh's own quiescent invariants
    (`Mesh.check_invariants`); ``unbonding``: each pairing's unbonding period; ``faults``:
    how many faults of each kind were injected.
    """

    seed: int
    operations: tuple[Operation, ...]
    history: History
    heals_at: float | None = 0.0
    settle_bound: float = 3_600.0
    status_bound: float = 60.0
    settled_at: float | None = None
    end_time: float = 0.0
    violations: list[str] = field(default_factory=list)
    cap_samples: list[CapSample] = field(default_factory=list)
    cap_grace: dict[str, float] = field(default_factory=dict)
    relayers: list[RelayerAnswer] = field(default_factory=list)
    withdrawals: list[Withdrawal] = field(default_factory=list)
    unbonding: dict[str, float] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    block_times: dict[str, float] = field(default_factory=dict)
    # chain events the history's subscription lost (its buffer was full): the history is
    # then incomplete, which the packets_once checker reports
    events_dropped: int = 0
    # packet key (as "chain/port/channel/seq") -> operation index, for cross-chain ops
    op_packets: dict[str, int] = field(default_factory=dict)
    # deliveries the chains refused as redundant (a receipt or ack already there, I-25),
    # counted by the competing relayers the plan added: expected, never a failure
    redundant: int = 0
    # chain crashes that lost transactions (operations answered in them are ``info``)
    lost_blocks: list[LostBlock] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able summary (the histories are written separately)."""
        return {
            "seed": self.seed,
            "heals_at": self.heals_at,
            "settled_at": self.settled_at,
            "end_time": self.end_time,
            "violations": list(self.violations),
            "events_dropped": self.events_dropped,
            "faults": dict(sorted(self.faults.items())),
            "redundant_deliveries": self.redundant,
            "relayers": [r.__dict__ for r in self.relayers],
            "lost_blocks": [b.__dict__ for b in self.lost_blocks],
            "operations": len(self.operations),
        }
