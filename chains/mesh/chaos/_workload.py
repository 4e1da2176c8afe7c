"""Workloads: a seeded stream of users' operations that drives a chaos run.

A `Workload` says how fast operations come (``rate`` per hour of clock time, exponential
gaps: a Poisson stream), for how long (``duration`` seconds), with which mix (relative
weights per kind) and amounts; `generate_operations` turns it and a seed into the same list
of `Operation`\\ s every time. Operations are chosen without looking at the mesh's state, so
some fail (unstaking what was never staked): failures are recorded, not avoided, as in a
Jepsen client.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chains.mesh._config_file import load_toml_model
from chains.mesh._topology import Topology
from chains.mesh._topology_errors import ConfigIssue
from chains.mesh.chaos._errors import WorkloadError

__all__ = [
    "OPERATION_KINDS",
    "Operation",
    "OperationMix",
    "Workload",
    "generate_operations",
    "load_workload",
    "parse_workload",
]

Weight = Annotated[float, Field(ge=0.0)]
_BOND_FACTOR = 5
PositiveInt = Annotated[int, Field(strict=True, gt=0)]

OPERATION_KINDS = (
    "bond",
    "unbond",
    "stake_local",
    "cross_stake",
    "unstake",
    "withdraw_unbonded",
    "claim_rewards",
    "move_price",
    "downtime",
    "double_sign",
    "set_max_cap",
)


class OperationMix(BaseModel):
    """Relative weights of each operation kind (0: never)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bond: Weight = 3.0
    unbond: Weight = 0.5
    stake_local: Weight = 0.5
    cross_stake: Weight = 4.0
    unstake: Weight = 2.0
    withdraw_unbonded: Weight = 1.0
    claim_rewards: Weight = 1.0
    move_price: Weight = 0.3
    downtime: Weight = 0.0
    double_sign: Weight = 0.0
    set_max_cap: Weight = 0.2

    @model_validator(mode="after")
    def _something(self) -> OperationMix:
        if not any(getattr(self, k) for k in OPERATION_KINDS):
            raise ValueError("every weight is 0: the workload would do nothing")
        return self


class Workload(BaseModel):
    """How users act during a run (see the module docstring).

    ``users``: account names of provider chains (default: every account of every provider);
    ``amount``: ``[low, high]`` base units per stake, unstake or unbond (a bond is five
    times a drawn amount); ``settle_bound``: clock
    seconds after the faults heal within which every operation must settle (the liveness
    checker's bound); ``status_bound``: clock seconds within which each relayer must
    answer a status request at the end.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    duration: Annotated[float, Field(gt=0)] = 600.0
    rate: Annotated[float, Field(gt=0)] = 120.0
    users: tuple[str, ...] = ()
    amount: tuple[PositiveInt, PositiveInt] = (10_000, 200_000)
    mix: OperationMix = OperationMix()
    settle_bound: Annotated[float, Field(gt=0)] = 3_600.0
    status_bound: Annotated[float, Field(gt=0)] = 60.0

    @model_validator(mode="after")
    def _ordered(self) -> Workload:
        if self.amount[0] > self.amount[1]:
            raise ValueError(f"amount needs low <= high, got {list(self.amount)}")
        return self


# operations answered by a consumer's transaction (the price feed, governance's max cap)
_ON_CONSUMER = frozenset({"move_price", "set_max_cap"})


@dataclass(frozen=True)
class Operation:
    """One user operation: ``index`` in the run, ``time`` (clock seconds after start),
    ``f`` (one of `OPERATION_KINDS`), ``process`` (the user, or ``"world"`` for price,
    validator and governance operations) and its arguments."""

    index: int
    time: float
    f: str
    process: str
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def chain(self) -> str:
        """The chain whose transaction answers the operation (for a cross-chain one, the
        provider's, which also settles it: its ack or timeout lands there)."""
        named = self.args.get("chain")
        if named is not None:
            return str(named)
        if self.f in _ON_CONSUMER:
            return str(self.args["consumer"])
        return str(self.args["provider"])

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (`from_json` reads it back)."""
        return {
            "index": self.index,
            "time": self.time,
            "f": self.f,
            "process": self.process,
            "args": dict(self.args),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Operation:
        """The operation `to_json` wrote."""
        return cls(
            index=int(data["index"]),
            time=float(data["time"]),
            f=str(data["f"]),
            process=str(data["process"]),
            args=dict(data["args"]),
        )


def workload_issues(workload: Workload, topology: Topology) -> list[ConfigIssue]:
    """Users that are no provider's accounts (key paths)."""
    accounts = _provider_accounts(topology)
    return [
        ConfigIssue(("users", i), f"{user!r} is no account of a provider chain")
        for i, user in enumerate(workload.users)
        if user not in accounts
    ]


def _provider_accounts(topology: Topology) -> dict[str, str]:
    out: dict[str, str] = {}
    for chain_id in topology.providers():
        for account in topology.chain(chain_id).accounts:
            out.setdefault(account.name, chain_id)
    return out


def generate_operations(topology: Topology, workload: Workload, seed: int) -> tuple[Operation, ...]:
    """The operations of ``workload`` on ``topology`` for ``seed`` (deterministic).

    Raises `WorkloadError` if the topology has no pairing or the users are unknown."""
    if not topology.pairings:
        raise WorkloadError("", (ConfigIssue((), "the topology has no pairing to drive"),))
    issues = workload_issues(workload, topology)
    if issues:
        raise WorkloadError("", tuple(issues))
    accounts = _provider_accounts(topology)
    users = list(workload.users) or sorted(accounts)
    if not users:
        raise WorkloadError("", (ConfigIssue(("users",), "no provider chain has accounts"),))
    rng = random.Random(f"workload:{seed}")
    kinds = [k for k in OPERATION_KINDS if getattr(workload.mix, k) > 0]
    weights = [getattr(workload.mix, k) for k in kinds]
    mean_gap = 3_600.0 / workload.rate
    low, high = workload.amount
    out: list[Operation] = []
    now = 0.0
    while True:
        now += rng.expovariate(1.0 / mean_gap)
        if now >= workload.duration:
            break
        kind = rng.choices(kinds, weights)[0]
        user = rng.choice(users)
        provider = accounts[user]
        pairings = [p for p in topology.pairings if p.provider == provider]
        pairing = rng.choice(pairings) if pairings else rng.choice(topology.pairings)
        consumer = topology.chain(pairing.consumer)
        home = topology.chain(pairing.provider)
        validator = rng.choice(consumer.validators).name
        amount = rng.randint(low, high)
        args: dict[str, Any] = {"provider": pairing.provider, "consumer": pairing.consumer}
        process = user
        if kind == "bond":
            # collateral for several stakes, so that stakes find it more often than not
            args = {"chain": provider, "amount": amount * _BOND_FACTOR}
        elif kind == "unbond":
            args = {"chain": provider, "amount": amount}
        elif kind == "stake_local":
            args = {"chain": provider, "validator": rng.choice(home.validators).name}
            args["amount"] = amount
        elif kind in ("cross_stake", "unstake"):
            args.update(validator=validator, amount=amount)
        elif kind == "claim_rewards":
            args.update(validator=validator)
        elif kind == "move_price":
            process = "world"
            args.update(price=f"{rng.uniform(0.2, 2.0):.4f}")
        elif kind in ("downtime", "double_sign"):
            process = "world"
            args = {"chain": pairing.consumer, "validator": validator}
        elif kind == "set_max_cap":
            process = "world"
            args.update(amount=rng.randint(pairing.max_cap // 2, pairing.max_cap * 2))
        out.append(Operation(len(out), round(now, 3), kind, process, args))
    return tuple(out)


def parse_workload(text: str, source: str = "") -> Workload:
    """Validate TOML ``text`` as a workload; raises `WorkloadError` naming ``source``."""
    return load_toml_model(Workload, text, source, WorkloadError)


def load_workload(path: str | Path) -> Workload:
    """Read and validate a workload file; raises `WorkloadError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkloadError(str(path), (ConfigIssue((), f"cannot read: {exc}"),)) from None
    return parse_workload(text, str(path))
