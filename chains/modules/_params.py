"""Parameters of the native staking, slashing, evidence and distribution modules (C-13)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chains.contract._decimal import SdkDec
from chains.contract._errors import InvalidValue

__all__ = ["DOUBLE_SIGN_JAIL_END", "StakingParams"]

# 9999-12-31T23:59:59Z: "jailed forever" for tombstoned validators (C-36), as in the SDK
DOUBLE_SIGN_JAIL_END = 253_402_300_799


class StakingParams(BaseModel):
    """Every parameter of consumer.md C-13, with its defaults.

    ``evidence_max_age`` is the pair ``evidence_max_age_duration`` (seconds) and
    ``evidence_max_age_num_blocks``; evidence is too old only when it exceeds **both** (C-36).
    Decimal parameters accept either string form. Invalid values raise pydantic's
    ``ValidationError``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    bond_denom: str = "stake"
    power_reduction: int = Field(default=1_000_000, gt=0)
    max_validators: int = Field(default=100, gt=0)
    unbonding_time: int = Field(default=1_814_400, ge=0)
    max_entries: int = Field(default=7, gt=0)
    signed_blocks_window: int = Field(default=100, gt=0)
    min_signed_per_window: SdkDec = SdkDec.parse("0.5")
    downtime_jail_duration: int = Field(default=600, ge=0)
    slash_fraction_double_sign: SdkDec = SdkDec.parse("0.05")
    slash_fraction_downtime: SdkDec = SdkDec.parse("0.01")
    evidence_max_age_duration: int = Field(default=172_800, ge=0)
    evidence_max_age_num_blocks: int = Field(default=100_000, ge=0)
    validator_update_delay: int = Field(default=1, ge=0)
    community_tax: SdkDec = SdkDec.parse("0.02")
    block_provision: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _fractions_in_unit_interval(self) -> StakingParams:
        one = SdkDec.one()
        for name in (
            "min_signed_per_window",
            "slash_fraction_double_sign",
            "slash_fraction_downtime",
            "community_tax",
        ):
            value: SdkDec = getattr(self, name)
            if value.is_negative() or value > one:
                raise InvalidValue(f"{name} must be between 0 and 1, got {value}")
        return self

    @classmethod
    def e2e_consumer(cls) -> StakingParams:
        """The reference e2e consumer profile of C-13 (slash fractions 0.1 and 0.1)."""
        return cls(
            slash_fraction_double_sign=SdkDec.parse("0.1"),
            slash_fraction_downtime=SdkDec.parse("0.1"),
        )

    @property
    def max_missed_blocks(self) -> int:
        """``window - round_half_even(window * min_signed_per_window)`` (C-35)."""
        window = self.signed_blocks_window
        return window - self.min_signed_per_window.mul(window).round_int()
