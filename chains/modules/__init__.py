"""The native chain modules: bank, staking, slashing, distribution, governance.

Simplified Cosmos SDK modules (consumer.md §3) as sans-IO cores over the chain's `Store`,
the native messages users submit to them, the staking hooks other modules observe, and the
`ChainModule` interface through which the host routes custom messages, queries and block
hooks."""

from __future__ import annotations

from chains.modules._bank import (
    Bank,
)
from chains.modules._distribution import (
    Distribution,
)
from chains.modules._errors import (
    AlreadyJailed,
    InvalidBlock,
    InvalidCommission,
    InvalidExchangeRate,
    InvalidInfractionHeight,
    InvalidPower,
    InvalidSharesAmount,
    InvalidVoteOption,
    InvalidWeightedVote,
    JailedUntilNotPassed,
    NoDelegation,
    NotJailed,
    NoValidatorCommission,
    PubkeyExists,
    SelfDelegationTooLow,
    SelfRedelegation,
    TinyRedelegationAmount,
    Tombstoned,
    TooManyRedelegationEntries,
    TooManyUnbondingEntries,
    TransitiveRedelegation,
    UnknownProposal,
    ValidatorExists,
    ValidatorNotFound,
    VotingClosed,
)
from chains.modules._gov import (
    VOTE_OPTIONS,
    GovModule,
    check_weighted_vote,
)
from chains.modules._gov_msgs import (
    GovVote,
    GovVoteWeighted,
    Proposal,
    ProposalQuery,
    SubmitProposal,
    TallyQuery,
    TallyResult,
    Vote,
    VoteQuery,
    WeightedVoteOption,
)
from chains.modules._hooks import (
    DelegationHooks,
    InfractionReason,
    PendingSlash,
    SlashEvent,
    StakingHooks,
)
from chains.modules._module import (
    BlockHint,
    ChainModule,
    ModuleCall,
    ScheduledModule,
    SudoCall,
)
from chains.modules._msgs import (
    CreateValidator,
    ForceDowntime,
    Mint,
    NativeMsg,
    RecordLiveness,
    SetCommission,
    SubmitEquivocation,
    Unjail,
    WithdrawCommission,
)
from chains.modules._params import (
    DOUBLE_SIGN_JAIL_END,
    StakingParams,
)
from chains.modules._shares import (
    shares_from_tokens,
    token_value,
    tokens_from_shares,
)
from chains.modules._slashing import (
    SigningInfo,
    Slashing,
)
from chains.modules._staking import (
    ActiveSet,
    BondStatus,
    Delegation,
    RedelegationEntry,
    Staking,
    UnbondingEntry,
    Validator,
)
from chains.modules._staking_module import (
    StakingModule,
)
from chains.modules._staking_reader import (
    DelegationView,
    StakingParamsView,
    StakingReader,
    UnbondingEntryView,
    staking_reader,
)

__all__ = [
    "ActiveSet",
    "AlreadyJailed",
    "Bank",
    "BlockHint",
    "BondStatus",
    "ChainModule",
    "CreateValidator",
    "DOUBLE_SIGN_JAIL_END",
    "Delegation",
    "DelegationHooks",
    "DelegationView",
    "Distribution",
    "ForceDowntime",
    "GovModule",
    "GovVote",
    "GovVoteWeighted",
    "InfractionReason",
    "InvalidBlock",
    "InvalidCommission",
    "InvalidExchangeRate",
    "InvalidInfractionHeight",
    "InvalidPower",
    "InvalidSharesAmount",
    "InvalidVoteOption",
    "InvalidWeightedVote",
    "JailedUntilNotPassed",
    "Mint",
    "ModuleCall",
    "NativeMsg",
    "NoDelegation",
    "NoValidatorCommission",
    "NotJailed",
    "PendingSlash",
    "Proposal",
    "ProposalQuery",
    "PubkeyExists",
    "RecordLiveness",
    "RedelegationEntry",
    "ScheduledModule",
    "SelfDelegationTooLow",
    "SelfRedelegation",
    "SetCommission",
    "SigningInfo",
    "SlashEvent",
    "Slashing",
    "Staking",
    "StakingHooks",
    "StakingModule",
    "StakingParams",
    "StakingParamsView",
    "StakingReader",
    "SubmitEquivocation",
    "SubmitProposal",
    "SudoCall",
    "TallyQuery",
    "TallyResult",
    "TinyRedelegationAmount",
    "Tombstoned",
    "TooManyRedelegationEntries",
    "TooManyUnbondingEntries",
    "TransitiveRedelegation",
    "UnbondingEntry",
    "UnbondingEntryView",
    "Unjail",
    "UnknownProposal",
    "VOTE_OPTIONS",
    "Validator",
    "ValidatorExists",
    "ValidatorNotFound",
    "Vote",
    "VoteQuery",
    "VotingClosed",
    "WeightedVoteOption",
    "WithdrawCommission",
    "check_weighted_vote",
    "shares_from_tokens",
    "staking_reader",
    "token_value",
    "tokens_from_shares",
]
