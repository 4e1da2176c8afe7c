"""Fault plans as data: what goes wrong, where, and when, in a chaos run.

A plan is a frozen pydantic model, usually loaded from TOML (`load_chaos_plan`)::

    name = "mixed"

    [[faults]]                      # a lossy, slow window on the osmosis-juno link
    kind = "link"
    chains = ["juno", "osmosis"]
    start = 60                      # seconds after the mesh started
    end = 600                       # the link is clean again (heals) here
    drop = 0.05
    duplicate = 0.02
    reorder = 0.05
    delay = { uniform = [0.5, 3.0] }

    [[faults]]                      # the relayers lose juno for two minutes
    kind = "partition"
    chains = ["juno", "osmosis"]
    side = "juno"
    start = 300
    end = 420

    [[faults]]
    kind = "relayer_crash"
    chains = ["juno", "osmosis"]
    at = 200
    restart = 260

Times are clock seconds after the mesh finished starting; a window without ``end`` lasts
the whole run (and never heals: liveness is then not judged). Plans compose
(`ChaosPlan.compose`: the union of the faults) and are driven by the run's single seed (the
mesh's `FaultyNetwork` draws every envelope's fate from it).

    [[faults]]                      # juno produces no blocks for a minute
    kind = "chain_halt"
    chain = "juno"
    start = 100
    end = 160

    [[faults]]                      # osmosis' node crashes, restarts from its state
    kind = "chain_crash"
    chain = "osmosis"
    at = 230
    restart = 250

    [[faults]]                      # a second relayer races the first
    kind = "competing_relayers"
    chains = ["juno", "osmosis"]
    count = 2
    start = 0
    end = 300

    [[faults]]                      # juno's block time jumps 30 s ahead, then drifts
    kind = "clock_skew"
    chain = "juno"
    at = 50
    offset = 30
    drift = 0.01

What each kind does (the `Mesh` fault hooks): ``link`` windows put the transport's
`LinkFaults` on every link between the pair's relayers and the two chains; ``partition``
windows cut those links, then heal them; ``relayer_crash`` stops the relayer's actor (its
memory is lost) and starts a fresh one at ``restart`` (`Mesh.crash_relayer`);
``chain_halt`` stops a chain's blocks and refuses its transactions (`Mesh.halt_chain`);
``chain_crash`` stops a chain's node and restarts it from its committed state, so the
transactions of its open block are lost (`Mesh.crash_chain`; the operations they answered
become ``info`` in the history); ``competing_relayers`` starts extra relayers on a path for the
window (`Mesh.add_relayers`); ``clock_skew`` shifts a chain's block time (and its rate)
from ``at`` on, for the rest of the run (`Mesh.skew_clock`). A chain crash must restart and
a chain halt must end within the run (the checkers need the chain back to judge it).
``relayer_lag`` makes a relayer's batches (its light-client updates, and the proofs that
need them) land ``lag`` seconds after it planned them, for the window
(`Mesh.lag_relayer`). A kind the mesh had no hook for would be refused by
`check_plan_supported` with `UnsupportedFault` naming the hook; every kind above has one.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chains.mesh._config_file import load_toml_model
from chains.mesh._topology import DelaySpec, Topology
from chains.mesh._topology_errors import ConfigIssue
from chains.mesh.chaos._errors import ChaosPlanError, UnsupportedFault
from transport import LinkFaults

__all__ = [
    "ChainCrash",
    "ChainHalt",
    "ChaosPlan",
    "ClockSkew",
    "CompetingRelayers",
    "Fault",
    "LinkFaultWindow",
    "PartitionWindow",
    "RelayerCrash",
    "RelayerLag",
    "check_plan_supported",
    "load_chaos_plan",
    "parse_chaos_plan",
    "plan_issues",
]

Rate = Annotated[float, Field(ge=0.0, le=1.0)]
Time = Annotated[float, Field(ge=0.0)]
Pair = tuple[str, str]


class _Fault(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def window(self) -> tuple[float, float | None]:
        """``(start, end)`` of the fault in clock seconds (``end`` ``None``: never heals)."""
        raise NotImplementedError

    def chain_names(self) -> tuple[str, ...]:
        """The chains the fault names (checked against the topology)."""
        raise NotImplementedError


class _Windowed(_Fault):
    start: Time = 0.0
    end: Time | None = None

    @model_validator(mode="after")
    def _ordered(self) -> _Windowed:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    def window(self) -> tuple[float, float | None]:
        return (self.start, self.end)


class LinkFaultWindow(_Windowed):
    """Transport faults on the link of chain pair ``chains`` (every relayer of it, both
    chains, both directions) from ``start`` to ``end``; outside windows the topology's own
    relayer fault plan applies. Overlapping windows on one link: the latest started wins."""

    kind: Literal["link"]
    chains: Pair
    drop: Rate = 0.0
    duplicate: Rate = 0.0
    reorder: Rate = 0.0
    reorder_delay: Annotated[float, Field(gt=0)] = 0.1
    delay: DelaySpec | None = None

    @field_validator("delay", mode="before")
    @classmethod
    def _number_is_fixed(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"fixed": value}
        return value

    @property
    def link_faults(self) -> LinkFaults:
        """The transport's `LinkFaults` of this window."""
        return LinkFaults(
            drop=self.drop,
            duplicate=self.duplicate,
            delay=None if self.delay is None else self.delay.to_delay(),
            reorder=self.reorder,
            reorder_delay=self.reorder_delay,
        )

    def chain_names(self) -> tuple[str, ...]:
        return self.chains


class PartitionWindow(_Windowed):
    """The relayers of ``chains`` lose ``side`` (one of the two; default: both) from
    ``start`` until the partition heals at ``end``."""

    kind: Literal["partition"]
    chains: Pair
    side: str | None = None

    @model_validator(mode="after")
    def _side_in_pair(self) -> PartitionWindow:
        if self.side is not None and self.side not in self.chains:
            raise ValueError(f"side {self.side!r} is not one of {list(self.chains)}")
        return self

    def chain_names(self) -> tuple[str, ...]:
        return self.chains


class RelayerCrash(_Fault):
    """Relayer ``index`` of ``chains`` crashes ``at`` and restarts at ``restart`` (never,
    if ``None``)."""

    kind: Literal["relayer_crash"]
    chains: Pair
    index: Annotated[int, Field(strict=True, ge=0)] = 0
    at: Time
    restart: Time | None = None

    @model_validator(mode="after")
    def _ordered(self) -> RelayerCrash:
        if self.restart is not None and self.restart < self.at:
            raise ValueError(f"restart {self.restart} is before the crash at {self.at}")
        return self

    def window(self) -> tuple[float, float | None]:
        return (self.at, self.restart)

    def chain_names(self) -> tuple[str, ...]:
        return self.chains


class ChainCrash(_Fault):
    """The node of ``chain`` crashes ``at`` and restarts from its committed state at
    ``restart`` (`Mesh.crash_chain`, `Mesh.restart_chain`)."""

    kind: Literal["chain_crash"]
    chain: str
    at: Time
    restart: Time | None = None

    @model_validator(mode="after")
    def _ordered(self) -> ChainCrash:
        if self.restart is not None and self.restart < self.at:
            raise ValueError(f"restart {self.restart} is before the crash at {self.at}")
        return self

    def window(self) -> tuple[float, float | None]:
        return (self.at, self.restart)

    def chain_names(self) -> tuple[str, ...]:
        return (self.chain,)


class ChainHalt(_Windowed):
    """``chain`` produces no blocks (and refuses transactions) from ``start`` to ``end``
    (`Mesh.halt_chain`, `Mesh.resume_chain`)."""

    kind: Literal["chain_halt"]
    chain: str

    def chain_names(self) -> tuple[str, ...]:
        return (self.chain,)


class CompetingRelayers(_Windowed):
    """``count`` relayers race on the path of ``chains`` during the window: the topology's
    own, and as many extra ones as that takes (`Mesh.add_relayers`; at least one extra)."""

    kind: Literal["competing_relayers"]
    chains: Pair
    count: Annotated[int, Field(strict=True, ge=2, le=16)] = 2

    def chain_names(self) -> tuple[str, ...]:
        return self.chains


class ClockSkew(_Fault):
    """From ``at`` on, ``chain``'s block time runs ``offset`` seconds further ahead of the
    clock (negative: it stands still until the clock catches up), and ``drift`` extra
    seconds per clock second (`Mesh.skew_clock`). It lasts the rest of the run but does
    not hold up liveness: a skewed chain still makes progress."""

    kind: Literal["clock_skew"]
    chain: str
    at: Time
    offset: Annotated[int, Field(strict=True, ge=-86_400, le=86_400)] = 0
    drift: Annotated[float, Field(gt=-0.5, lt=0.5)] | None = None

    def window(self) -> tuple[float, float | None]:
        return (self.at, self.at)

    def chain_names(self) -> tuple[str, ...]:
        return (self.chain,)


class RelayerLag(_Windowed):
    """Relayer ``index`` of ``chains`` updates its light clients ``lag`` seconds late
    during the window: every batch it plans lands that much later (`Mesh.lag_relayer`)."""

    kind: Literal["relayer_lag"]
    chains: Pair
    index: Annotated[int, Field(strict=True, ge=0)] = 0
    lag: Annotated[float, Field(gt=0)] = 60.0

    def chain_names(self) -> tuple[str, ...]:
        return self.chains


Fault = Annotated[
    LinkFaultWindow
    | PartitionWindow
    | RelayerCrash
    | ChainCrash
    | ChainHalt
    | CompetingRelayers
    | ClockSkew
    | RelayerLag,
    Field(discriminator="kind"),
]

# fault kinds that parse but that the mesh cannot run yet -> the hook they would need
_MISSING_HOOKS: dict[str, str] = {}


class ChaosPlan(BaseModel):
    """A named set of faults (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = ""
    faults: tuple[Fault, ...] = ()

    def compose(self, *others: ChaosPlan) -> ChaosPlan:
        """A plan with this plan's faults and then each of ``others``' (names joined)."""
        names = [p.name for p in (self, *others) if p.name]
        faults = list(self.faults)
        for other in others:
            faults.extend(other.faults)
        return ChaosPlan(name=" + ".join(names), faults=tuple(faults))

    def kinds(self) -> dict[str, int]:
        """How many faults of each kind the plan holds."""
        return dict(Counter(f.kind for f in self.faults))

    def heals_at(self) -> float | None:
        """When the last fault is over (0 for a plan without faults); ``None`` if a fault
        never heals."""
        last = 0.0
        for fault in self.faults:
            start, end = fault.window()
            if end is None:
                return None
            last = max(last, start, end)
        return last


def plan_issues(plan: ChaosPlan, topology: Topology) -> list[ConfigIssue]:
    """Where ``plan`` names chains or links ``topology`` does not have (key paths)."""
    issues: list[ConfigIssue] = []
    ids = {c.id for c in topology.chains}
    links = {frozenset(pair) for pair in topology.links()}
    for i, fault in enumerate(plan.faults):
        names = fault.chain_names()
        for k, name in enumerate(names):
            if name not in ids:
                key: tuple[str | int, ...] = ("faults", i, "chains", k)
                if len(names) == 1:
                    key = ("faults", i, "chain")
                issues.append(ConfigIssue(key, f"unknown chain {name!r}"))
        if len(names) == 2 and set(names) <= ids and frozenset(names) not in links:
            issues.append(
                ConfigIssue(("faults", i, "chains"), f"no link joins {names[0]} and {names[1]}")
            )
        if isinstance(fault, ChainCrash) and fault.restart is None:
            issues.append(
                ConfigIssue(("faults", i, "restart"), "a crashed chain must restart within the run")
            )
        if isinstance(fault, ChainHalt) and fault.end is None:
            issues.append(
                ConfigIssue(("faults", i, "end"), "a halted chain must resume within the run")
            )
        if isinstance(fault, RelayerCrash | RelayerLag) and set(names) <= ids:
            count = topology.relayers_of(*fault.chains).count
            if fault.index >= count:
                issues.append(
                    ConfigIssue(
                        ("faults", i, "index"),
                        f"the link has {count} relayer(s): no index {fault.index}",
                    )
                )
    return issues


def check_plan_supported(plan: ChaosPlan, topology: Topology | None = None) -> None:
    """Raise `UnsupportedFault` for the first fault the mesh cannot execute yet, and (with
    ``topology``) `ChaosPlanError` for faults naming chains or links it does not have."""
    if topology is not None:
        issues = plan_issues(plan, topology)
        if issues:
            raise ChaosPlanError(plan.name, tuple(issues))
    for fault in plan.faults:
        hook = _MISSING_HOOKS.get(fault.kind)
        if hook is not None:
            raise UnsupportedFault(fault.kind, hook)


def parse_chaos_plan(text: str, source: str = "") -> ChaosPlan:
    """Validate TOML ``text`` as a fault plan; raises `ChaosPlanError` (``file:line: key:
    message`` per issue) naming ``source``."""
    return load_toml_model(ChaosPlan, text, source, ChaosPlanError)


def load_chaos_plan(path: str | Path) -> ChaosPlan:
    """Read and validate a fault plan file; raises `ChaosPlanError` (also for a file that
    cannot be read)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ChaosPlanError(str(path), (ConfigIssue((), f"cannot read: {exc}"),)) from None
    return parse_chaos_plan(text, str(path))
