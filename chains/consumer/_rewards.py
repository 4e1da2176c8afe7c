"""Per-validator reward records built on the epoch's hot path (C-78, C-99).

Every epoch builds one ``{validator, reward}`` record per validator twice over: virtual
staking's `RewardPayment` to the converter and the converter's `RewardInfo` on the wire.
Their Python-level field validators make the validated construction slow, so both go
through `validator_reward`, which skips validation only when the values already have the
exact types validation would produce.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from mesh_actors import construct_trusted

__all__: list[str] = []

R = TypeVar("R", bound=BaseModel)


def validator_reward(cls: type[R], validator: str, reward: int) -> R:
    """``cls(validator=..., reward=...)``, unvalidated when ``validator`` is a ``str`` and
    ``reward`` an ``int`` (exactly: a subclass could carry other behaviour); validated, and
    so raising pydantic's error for bad values, otherwise."""
    if type(validator) is not str or type(reward) is not int:
        return cls(validator=validator, reward=reward)
    # a fresh field set each time: the model keeps it as its fields-set
    return construct_trusted(
        cls, {"validator": validator, "reward": reward}, {"validator", "reward"}
    )
