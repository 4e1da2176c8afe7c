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

What runs today: ``link`` windows (the transport's `LinkFaults` on every link between the
pair's relayers and the two chains), ``partition`` windows (those links cut, then healed)
and ``relayer_crash`` (the relayer is cut off from the network and paused, then reconnected
and resumed: its memory survives, see `UnsupportedFault` for a true restart). Kinds the mesh
has no hook for (``chain_crash``, ``chain_halt``, ``competing_relayers``) parse, so that a
plan can be written ahead of the code, and are refused by `check_plan_supported` with
`UnsupportedFault` naming the hook.
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
    "CompetingRelayers",
    "Fault",
    "LinkFaultWindow",
    "PartitionWindow",
    "RelayerCrash",
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
    """The host actor of ``chain`` crashes ``at`` and restarts at ``restart`` (unsupported:
    needs a hook that stops and respawns a chain's host actor from its committed state)."""

    kind: Literal["chain_crash"]
    chain: str
    at: Time
    restart: Time | None = None

    def window(self) -> tuple[float, float | None]:
        return (self.at, self.restart)

    def chain_names(self) -> tuple[str, ...]:
        return (self.chain,)


class ChainHalt(_Windowed):
    """``chain`` produces no blocks from ``start`` to ``end`` (unsupported: needs a hook
    that pauses a chain's block production)."""

    kind: Literal["chain_halt"]
    chain: str

    def chain_names(self) -> tuple[str, ...]:
        return (self.chain,)


class CompetingRelayers(_Windowed):
    """``count`` relayers race on the path of ``chains`` during the window (unsupported
    beyond the topology's own ``count``: needs a hook that spawns extra relayers on a
    running link)."""

    kind: Literal["competing_relayers"]
    chains: Pair
    count: Annotated[int, Field(strict=True, ge=2, le=16)] = 2

    def chain_names(self) -> tuple[str, ...]:
        return self.chains


Fault = Annotated[
    LinkFaultWindow | PartitionWindow | RelayerCrash | ChainCrash | ChainHalt | CompetingRelayers,
    Field(discriminator="kind"),
]

_MISSING_HOOKS = {
    "chain_crash": "a Mesh hook that stops a chain's host actor and respawns it from its"
    " committed state (Mesh.crash_chain / Mesh.restart_chain)",
    "chain_halt": "a Mesh hook that pauses and resumes a chain's block production"
    " (Mesh.halt_chain / Mesh.resume_chain)",
    "competing_relayers": "a Mesh hook that spawns extra relayers on a running link"
    " (MeshLink.add_relayer)",
}


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
        if isinstance(fault, RelayerCrash) and set(names) <= ids:
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
