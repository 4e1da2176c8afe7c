"""Points-per-stake reward accounting of external staking (P-72..P-76, I-82).

Per validator: the committed ``total_stake``, ``points_per_stake`` and ``points_leftover``
with ``SCALE = 10**9``. Per (user, validator): a signed ``points_alignment`` moved on every
committed stake change, so only rewards distributed while the stake was committed count
("read committed", P-72). Fractions of a token stay with the users across distributions:
they accumulate in the floors of ``pending_reward``.
"""

from __future__ import annotations

from dataclasses import dataclass

from chains.provider.external_staking._errors import NoStake

__all__ = ["REWARD_SCALE", "RewardDistribution", "pending_reward"]

REWARD_SCALE = 10**9


@dataclass(frozen=True, slots=True)
class RewardDistribution:
    """Reward accounting of one validator (absent ⇒ zeros).

    ``received`` is every reward distributed to the validator's stakers over IBC so far: the
    ceiling of what its stakers can ever be paid (issue 13's rewards checker reads it).
    """

    total_stake: int = 0
    points_per_stake: int = 0
    points_leftover: int = 0
    received: int = 0

    def distribute(self, validator: str, amount: int) -> RewardDistribution:
        """P-73: ``points = amount * SCALE + leftover``; ``inc = points // total_stake``.

        Raises ``NoStake(validator)`` when nothing is staked (the reference divides by 0).
        """
        if self.total_stake == 0:
            raise NoStake(validator)
        total = self.total_stake
        points = amount * REWARD_SCALE + self.points_leftover
        inc = points // total
        # built through the slots' setters, not the frozen dataclass's __init__ (four
        # ``object.__setattr__`` calls): one per validator and epoch (P-73, C-95); the
        # fields are ints computed here, which is all __init__ would store
        made = object.__new__(RewardDistribution)
        _set_total(made, total)
        _set_points(made, self.points_per_stake + inc)
        _set_leftover(made, points - inc * total)
        _set_received(made, self.received + amount)
        return made

    def with_stake(self, delta: int) -> RewardDistribution:
        """The same accounting with ``total_stake`` moved by ``delta`` (floored at 0)."""
        return RewardDistribution(
            max(self.total_stake + delta, 0),
            self.points_per_stake,
            self.points_leftover,
            self.received,
        )


_set_total = RewardDistribution.__dict__["total_stake"].__set__
_set_points = RewardDistribution.__dict__["points_per_stake"].__set__
_set_leftover = RewardDistribution.__dict__["points_leftover"].__set__
_set_received = RewardDistribution.__dict__["received"].__set__


def pending_reward(
    points_per_stake: int, committed: int, alignment: int, withdrawn: int, in_flight: int
) -> int:
    """P-74 with its [rec]s: ``floor((pps * committed + alignment) / SCALE) - withdrawn``
    minus rewards already being transferred (P-76), clamped at 0.

    ``committed`` is the stake's committed weight (the figure ``total_stake`` counts), not
    the range's low end, so an in-flight unstake does not make the result underflow.
    """
    earned = (points_per_stake * committed + alignment) // REWARD_SCALE
    return max(earned - withdrawn - in_flight, 0)
