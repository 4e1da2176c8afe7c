"""Scenarios: a declarative list of timed user and chain actions on a mesh.

A scenario file (TOML) names a topology's chains, users and validators::

    name = "stake, get slashed"
    days = 3                        # how long to run (the CLI's --days overrides it)

    [[steps]]
    day = 0
    action = "bond"
    chain = "osmosis"
    user = "alice"
    amount = 1_000_000

    [[steps]]
    hour = 2
    action = "cross_stake"
    provider = "osmosis"
    consumer = "juno"
    user = "alice"
    validator = "val1"
    amount = 500_000

    [[steps]]
    block = 2000                    # block 2000 of `on` (default: the step's chain)
    on = "juno"
    action = "misbehave"
    chain = "juno"
    validator = "val1"
    kind = "double_sign"

Each step happens at one of ``day``, ``hour``, ``second`` (numbers, from the mesh's start)
or ``block`` (a height of chain ``on``); a step with none happens right after the previous
one. Steps run in time order (a stable sort: steps at the same time keep file order).

Validation has two layers: the file's shape (`load_scenario`) and its names against a
topology (`check_scenario`): unknown chains, pairings, users or validators are
`ScenarioError`\\ s pointing at the line that names them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chains.contract._decimal import Decimal18
from chains.mesh._config_file import MAX_AMOUNT, load_toml_model
from chains.mesh._topology import Topology
from chains.mesh._topology_errors import ConfigIssue, ScenarioError

__all__ = [
    "BondStep",
    "ClaimRewardsStep",
    "CloseChannelStep",
    "CrossStakeStep",
    "MisbehaveStep",
    "MovePriceStep",
    "Scenario",
    "ScenarioStep",
    "SetMaxCapStep",
    "StakeLocallyStep",
    "UnbondStep",
    "UnjailStep",
    "UnstakeStep",
    "WithdrawUnbondedStep",
    "check_scenario",
    "load_scenario",
    "parse_scenario",
]

Amount = Annotated[int, Field(strict=True, gt=0, le=MAX_AMOUNT)]
Name = Annotated[str, Field(min_length=1, max_length=64)]
_DAY = 86_400.0
_HOUR = 3_600.0
# a bound on how long a run may be, so that every time in seconds is a finite float (a
# million days of virtual time is far beyond any run that finishes)
MAX_DAYS = 1_000_000.0
# inf and nan are valid TOML floats; no time of a scenario means either
_FINITE = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class _Step(BaseModel):
    """Timing shared by every step (see the module docstring)."""

    model_config = _FINITE

    day: Annotated[float, Field(ge=0, le=MAX_DAYS)] | None = None
    hour: Annotated[float, Field(ge=0, le=MAX_DAYS * 24)] | None = None
    second: Annotated[float, Field(ge=0, le=MAX_DAYS * _DAY)] | None = None
    block: Annotated[int, Field(strict=True, ge=1)] | None = None
    on: str | None = None

    @model_validator(mode="after")
    def _one_time(self) -> _Step:
        given = [n for n in ("day", "hour", "second", "block") if getattr(self, n) is not None]
        if len(given) > 1:
            raise ValueError(f"give at most one of day, hour, second, block (got {given})")
        if self.on is not None and self.block is None:
            raise ValueError("'on' only goes with 'block'")
        return self

    def clock_chain(self) -> str | None:
        """The chain whose height ``block`` counts (``on``, else the step's own chain)."""
        if self.on is not None:
            return self.on
        chain: str | None = getattr(self, "chain", None) or getattr(self, "consumer", None)
        return chain

    def offset(self, topology: Topology) -> float | None:
        """Seconds from the mesh's start, or ``None`` for "right after the previous step".

        Block ``n`` of a chain begins ``(n - 1)`` block times after the start (blocks come
        from the clock).
        """
        if self.day is not None:
            return self.day * _DAY
        if self.hour is not None:
            return self.hour * _HOUR
        if self.second is not None:
            return self.second
        if self.block is not None:
            chain = self.clock_chain()
            block_time = topology.chain(chain).block_time if chain else 5.0
            return (self.block - 1) * block_time
        return None


class BondStep(_Step):
    """``user`` deposits ``amount`` as vault collateral on provider ``chain`` (P-23)."""

    action: Literal["bond"]
    chain: str
    user: Name
    amount: Amount


class UnbondStep(_Step):
    """``user`` withdraws free collateral from the vault (P-24)."""

    action: Literal["unbond"]
    chain: str
    user: Name
    amount: Amount


class StakeLocallyStep(_Step):
    """``user`` stakes collateral on a validator of the provider ``chain`` itself (P-25)."""

    action: Literal["stake_locally"]
    chain: str
    user: Name
    validator: Name
    amount: Amount


class CrossStakeStep(_Step):
    """``user`` cross-stakes collateral to ``validator`` of ``consumer`` (P-26, I-51)."""

    action: Literal["cross_stake"]
    provider: str
    consumer: str
    user: Name
    validator: Name
    amount: Amount


class UnstakeStep(_Step):
    """``user`` unstakes from ``validator`` of ``consumer`` (P-67, I-52)."""

    action: Literal["unstake"]
    provider: str
    consumer: str
    user: Name
    validator: Name
    amount: Amount


class WithdrawUnbondedStep(_Step):
    """``user`` releases matured unbondings back to the vault (P-70)."""

    action: Literal["withdraw_unbonded"]
    provider: str
    consumer: str
    user: Name


class ClaimRewardsStep(_Step):
    """``user`` withdraws rewards of ``validator`` to ``recipient`` on the consumer (I-54;
    default recipient: the same name's consumer account)."""

    action: Literal["claim_rewards"]
    provider: str
    consumer: str
    user: Name
    validator: Name
    recipient: Name | None = None


class MovePriceStep(_Step):
    """The pairing's price feed now says ``price`` consumer tokens per provider token."""

    action: Literal["move_price"]
    provider: str
    consumer: str
    price: Decimal18


class MisbehaveStep(_Step):
    """``validator`` of ``chain`` double-signs (slash, jail forever, tombstone, C-36) or is
    offline (downtime slash and jail, C-35)."""

    action: Literal["misbehave"]
    chain: str
    validator: Name
    kind: Literal["double_sign", "downtime"]


class UnjailStep(_Step):
    """``validator`` of ``chain`` unjails itself (C-29)."""

    action: Literal["unjail"]
    chain: str
    validator: Name


class SetMaxCapStep(_Step):
    """The consumer's governance sets the pairing's max cap (C-43; 0 drains, C-96)."""

    action: Literal["set_max_cap"]
    provider: str
    consumer: str
    amount: Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT)]


class CloseChannelStep(_Step):
    """The provider's admin closes the pairing's control channel (P-83a, I-100)."""

    action: Literal["close_channel"]
    provider: str
    consumer: str


ScenarioStep = Annotated[
    BondStep
    | UnbondStep
    | StakeLocallyStep
    | CrossStakeStep
    | UnstakeStep
    | WithdrawUnbondedStep
    | ClaimRewardsStep
    | MovePriceStep
    | MisbehaveStep
    | UnjailStep
    | SetMaxCapStep
    | CloseChannelStep,
    Field(discriminator="action"),
]


class Scenario(BaseModel):
    """A named list of steps and how many days to run (see the module docstring)."""

    model_config = _FINITE

    name: str = ""
    days: Annotated[float, Field(gt=0, le=MAX_DAYS)] = 1.0
    steps: tuple[ScenarioStep, ...] = ()

    def timeline(self, topology: Topology) -> tuple[tuple[float, ScenarioStep], ...]:
        """``(seconds from start, step)`` in execution order."""
        out: list[tuple[float, int, ScenarioStep]] = []
        last = 0.0
        for index, step in enumerate(self.steps):
            at = step.offset(topology)
            at = last if at is None else at
            last = at
            out.append((at, index, step))
        out.sort(key=lambda item: (item[0], item[1]))
        return tuple((at, step) for at, _, step in out)


def _known(names: list[str]) -> str:
    return ", ".join(sorted(names)) or "none"


def check_scenario(scenario: Scenario, topology: Topology) -> list[ConfigIssue]:
    """Every name in ``scenario`` that ``topology`` does not have (an empty list if none)."""
    issues: list[ConfigIssue] = []
    chains = {c.id: c for c in topology.chains}
    pairings = {p.key for p in topology.pairings}

    def chain_ok(path: tuple[str | int, ...], chain_id: str) -> bool:
        if chain_id in chains:
            return True
        issues.append(
            ConfigIssue(path, f"unknown chain {chain_id!r} (chains: {_known(list(chains))})")
        )
        return False

    def user_ok(path: tuple[str | int, ...], chain_id: str, user: str) -> None:
        accounts = [a.name for a in chains[chain_id].accounts]
        if user not in accounts:
            issues.append(
                ConfigIssue(
                    path, f"{user!r} has no account on {chain_id} (accounts: {_known(accounts)})"
                )
            )

    def validator_ok(path: tuple[str | int, ...], chain_id: str, name: str) -> None:
        validators = [v.name for v in chains[chain_id].validators]
        if name not in validators:
            issues.append(
                ConfigIssue(
                    path, f"{chain_id} has no validator {name!r} (validators: {_known(validators)})"
                )
            )

    for i, step in enumerate(scenario.steps):
        at: tuple[str | int, ...] = ("steps", i)
        if step.on is not None:
            chain_ok((*at, "on"), step.on)
        if isinstance(step, BondStep | UnbondStep | StakeLocallyStep):
            if chain_ok((*at, "chain"), step.chain):
                if step.chain not in topology.providers():
                    issues.append(
                        ConfigIssue(
                            (*at, "chain"), f"{step.chain} provides to no chain: it has no vault"
                        )
                    )
                user_ok((*at, "user"), step.chain, step.user)
                if isinstance(step, StakeLocallyStep):
                    validator_ok((*at, "validator"), step.chain, step.validator)
        elif isinstance(step, MisbehaveStep | UnjailStep):
            if chain_ok((*at, "chain"), step.chain):
                validator_ok((*at, "validator"), step.chain, step.validator)
        else:
            ok = chain_ok((*at, "provider"), step.provider) & chain_ok(
                (*at, "consumer"), step.consumer
            )
            if not ok:
                continue
            if (step.provider, step.consumer) not in pairings:
                issues.append(
                    ConfigIssue(
                        (*at, "consumer"),
                        f"no pairing {step.provider} → {step.consumer} in the topology",
                    )
                )
                continue
            if isinstance(
                step, CrossStakeStep | UnstakeStep | WithdrawUnbondedStep | ClaimRewardsStep
            ):
                user_ok((*at, "user"), step.provider, step.user)
            if isinstance(step, CrossStakeStep | UnstakeStep | ClaimRewardsStep):
                validator_ok((*at, "validator"), step.consumer, step.validator)
    return issues


def parse_scenario(text: str, source: str = "", topology: Topology | None = None) -> Scenario:
    """Validate TOML ``text`` as a scenario (and against ``topology`` if given); raises
    `ScenarioError` naming ``source``."""
    check = None if topology is None else (lambda s: check_scenario(s, topology))
    return load_toml_model(Scenario, text, source, ScenarioError, check)


def load_scenario(path: str | Path, topology: Topology | None = None) -> Scenario:
    """Read and validate a scenario file; raises `ScenarioError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(path), (ConfigIssue((), f"cannot read: {exc}"),)) from None
    return parse_scenario(text, str(path), topology)
