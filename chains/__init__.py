"""Mesh Security, chain side.

The synchronous, deterministic (sans-IO) chain modules: errors, decimals, coins, addresses,
the journaled state store, the bank, and the native staking / distribution / slashing
modules. Time and height are always passed in; nothing here awaits.
"""

from __future__ import annotations

from chains._address import (
    address_bytes,
    consensus_prefix,
    convert_prefix,
    derive_address,
    encode_address,
    operator_prefix,
    validate_address,
)
from chains._bank import (
    Bank,
)
from chains._coin import (
    Coin,
    may_pay,
    must_pay,
    nonpayable,
)
from chains._decimal import (
    Decimal18,
    SdkDec,
)
from chains._distribution import (
    Distribution,
)
from chains._errors import (
    AlreadyJailed,
    ChainError,
    DecimalTooPrecise,
    DivideByZero,
    ExtraDenoms,
    InsufficientFunds,
    InvalidAddress,
    InvalidAmount,
    InvalidBlock,
    InvalidCommission,
    InvalidDecimal,
    InvalidDenom,
    InvalidExchangeRate,
    InvalidFraction,
    InvalidInfractionHeight,
    InvalidPower,
    InvalidSharesAmount,
    JailedUntilNotPassed,
    MissingDenom,
    MultipleDenoms,
    NegativeDecimal,
    NoDelegation,
    NoFunds,
    NonPayable,
    NotJailed,
    NoValidatorCommission,
    Overflow,
    PubkeyExists,
    SelfDelegationTooLow,
    Tombstoned,
    TooManyUnbondingEntries,
    Unauthorized,
    Underflow,
    ValidatorExists,
    ValidatorNotFound,
    WrongDenom,
)
from chains._hooks import (
    BaseStakingHooks,
    DelegationHooks,
    InfractionReason,
    SlashEvent,
    StakingHooks,
)
from chains._shares import (
    shares_from_tokens,
    token_value,
    tokens_from_shares,
)
from chains._slashing import (
    SigningInfo,
    Slashing,
)
from chains._staking import (
    ActiveSet,
    BondStatus,
    Delegation,
    Staking,
    UnbondingEntry,
    Validator,
)
from chains._staking_module import (
    StakingModule,
)
from chains._staking_params import (
    DOUBLE_SIGN_JAIL_END,
    StakingParams,
)
from chains._store import (
    JournaledMap,
    Savepoint,
    SortedJournaledMap,
    Store,
    atomic,
)

__all__ = [
    "ActiveSet",
    "AlreadyJailed",
    "Bank",
    "BaseStakingHooks",
    "BondStatus",
    "ChainError",
    "Coin",
    "DOUBLE_SIGN_JAIL_END",
    "Decimal18",
    "DecimalTooPrecise",
    "Delegation",
    "DelegationHooks",
    "Distribution",
    "DivideByZero",
    "ExtraDenoms",
    "InfractionReason",
    "InsufficientFunds",
    "InvalidAddress",
    "InvalidAmount",
    "InvalidBlock",
    "InvalidCommission",
    "InvalidDecimal",
    "InvalidDenom",
    "InvalidExchangeRate",
    "InvalidFraction",
    "InvalidInfractionHeight",
    "InvalidPower",
    "InvalidSharesAmount",
    "JailedUntilNotPassed",
    "JournaledMap",
    "MissingDenom",
    "MultipleDenoms",
    "NegativeDecimal",
    "NoDelegation",
    "NoFunds",
    "NoValidatorCommission",
    "NonPayable",
    "NotJailed",
    "Overflow",
    "PubkeyExists",
    "Savepoint",
    "SdkDec",
    "SelfDelegationTooLow",
    "SigningInfo",
    "SlashEvent",
    "Slashing",
    "SortedJournaledMap",
    "Staking",
    "StakingHooks",
    "StakingModule",
    "StakingParams",
    "Store",
    "Tombstoned",
    "TooManyUnbondingEntries",
    "Unauthorized",
    "UnbondingEntry",
    "Underflow",
    "Validator",
    "ValidatorExists",
    "ValidatorNotFound",
    "WrongDenom",
    "address_bytes",
    "atomic",
    "consensus_prefix",
    "convert_prefix",
    "derive_address",
    "encode_address",
    "may_pay",
    "must_pay",
    "nonpayable",
    "operator_prefix",
    "shares_from_tokens",
    "token_value",
    "tokens_from_shares",
    "validate_address",
]
