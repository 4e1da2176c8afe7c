"""Running a `Scenario` on a `Mesh`: each step at its time, then the rest of the run.

Time moves with `Mesh.advance` in slices of at most ``progress_every`` clock seconds, so a
long run can report progress (the CLI's progress bar) and be cancelled between slices.
A step whose transaction fails does not stop the run (the steps after it, and the figures at
the end, still say what the mesh did), but it is a failure of the run: its `StepOutcome` has
``ok`` false, and the ``mesh`` command then exits with status 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chains.host._tx_result import TxResult
from chains.mesh._mesh import Mesh
from chains.mesh._scenario import (
    BondStep,
    ClaimRewardsStep,
    CloseChannelStep,
    CrossStakeStep,
    MisbehaveStep,
    MovePriceStep,
    Scenario,
    ScenarioStep,
    SetMaxCapStep,
    StakeLocallyStep,
    UnbondStep,
    UnjailStep,
    UnstakeStep,
    WithdrawUnbondedStep,
)

__all__ = ["StepOutcome", "run_scenario"]

_DAY = 86_400.0


@dataclass(frozen=True)
class StepOutcome:
    """What one step did: when (clock seconds since the mesh started), what, and the
    transaction's outcome (``error`` is the chain error's text)."""

    seconds: float
    action: str
    description: str
    ok: bool
    error: str = ""
    height: int = 0


def describe_step(step: ScenarioStep) -> str:
    """A one-line human description of ``step``."""
    match step:
        case BondStep():
            return f"{step.user} bonds {step.amount} on {step.chain}"
        case UnbondStep():
            return f"{step.user} unbonds {step.amount} on {step.chain}"
        case StakeLocallyStep():
            return f"{step.user} stakes {step.amount} locally on {step.chain}/{step.validator}"
        case CrossStakeStep():
            return (
                f"{step.user} cross-stakes {step.amount} from {step.provider}"
                f" to {step.consumer}/{step.validator}"
            )
        case UnstakeStep():
            return (
                f"{step.user} unstakes {step.amount} from {step.consumer}/{step.validator}"
                f" ({step.provider})"
            )
        case WithdrawUnbondedStep():
            return f"{step.user} withdraws unbonded stake ({step.provider}→{step.consumer})"
        case ClaimRewardsStep():
            to = step.recipient or step.user
            return (
                f"{step.user} claims rewards of {step.consumer}/{step.validator}"
                f" to {to} on {step.consumer}"
            )
        case MovePriceStep():
            return f"price {step.provider}→{step.consumer} moves to {step.price}"
        case MisbehaveStep():
            what = "double-signs" if step.kind == "double_sign" else "goes offline"
            return f"{step.chain}/{step.validator} {what}"
        case UnjailStep():
            return f"{step.chain}/{step.validator} unjails"
        case SetMaxCapStep():
            return f"{step.consumer} governance sets max cap of {step.provider} to {step.amount}"
        case CloseChannelStep():
            return f"{step.provider} closes the control channel to {step.consumer}"
    raise AssertionError(f"unknown step {step!r}")  # pragma: no cover


async def _apply(mesh: Mesh, step: ScenarioStep) -> TxResult:
    match step:
        case BondStep():
            return await mesh.bond(step.chain, step.user, step.amount)
        case UnbondStep():
            return await mesh.unbond(step.chain, step.user, step.amount)
        case StakeLocallyStep():
            return await mesh.stake_locally(step.chain, step.user, step.validator, step.amount)
        case CrossStakeStep():
            return await mesh.cross_stake(
                step.provider, step.consumer, step.user, step.validator, step.amount
            )
        case UnstakeStep():
            return await mesh.unstake(
                step.provider, step.consumer, step.user, step.validator, step.amount
            )
        case WithdrawUnbondedStep():
            return await mesh.withdraw_unbonded(step.provider, step.consumer, step.user)
        case ClaimRewardsStep():
            return await mesh.claim_rewards(
                step.provider, step.consumer, step.user, step.validator, step.recipient
            )
        case MovePriceStep():
            return await mesh.move_price(step.provider, step.consumer, step.price)
        case MisbehaveStep():
            return await mesh.misbehave(step.chain, step.validator, step.kind)
        case UnjailStep():
            return await mesh.unjail(step.chain, step.validator)
        case SetMaxCapStep():
            return await mesh.set_max_cap(step.provider, step.consumer, step.amount)
        case CloseChannelStep():
            return await mesh.close_channel(step.provider, step.consumer)
    raise AssertionError(f"unknown step {step!r}")  # pragma: no cover


async def run_scenario(
    mesh: Mesh,
    scenario: Scenario | None = None,
    *,
    days: float | None = None,
    on_step: Callable[[StepOutcome], None] | None = None,
    on_progress: Callable[[float, float], None] | None = None,
    progress_every: float = 3_600.0,
) -> list[StepOutcome]:
    """Run ``scenario``'s steps on the running ``mesh`` at their times, then let the mesh
    run until ``days`` (default: the scenario's ``days``, or 1) after its start.

    ``on_step(outcome)`` is called after each step, ``on_progress(seconds, total)`` after
    each slice of time. Steps scheduled after the end are not run. Raises what the mesh
    raises (`MeshError` for names the topology lacks: validate the scenario against the
    topology first, `check_scenario`). Cancellation stops the run between two awaits; the
    mesh stays usable.
    """
    total = (days if days is not None else scenario.days if scenario else 1.0) * _DAY
    outcomes: list[StepOutcome] = []

    async def run_to(target: float) -> None:
        while mesh.seconds < target:
            await mesh.advance_until(min(target, mesh.seconds + progress_every))
            if on_progress is not None:
                on_progress(mesh.seconds, total)

    steps = scenario.timeline(mesh.topology) if scenario is not None else ()
    for at, step in steps:
        if at > total:
            break
        await run_to(at)
        result = await _apply(mesh, step)
        outcome = StepOutcome(
            seconds=mesh.seconds,
            action=step.action,
            description=describe_step(step),
            ok=result.ok,
            error="" if result.error is None else str(result.error),
            height=result.height,
        )
        outcomes.append(outcome)
        if on_step is not None:
            on_step(outcome)
    await run_to(total)
    if on_progress is not None:
        on_progress(mesh.seconds, total)
    return outcomes
