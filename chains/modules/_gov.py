"""A minimal governance module: proposals, plain and weighted votes, a tally.

Enough of x/gov for the provider's staking proxy to vote with its delegations (P-55): a
contract (or account) sends ``CustomMsg(module="gov", msg=GovVote(...))`` or
``GovVoteWeighted(...)``; the module records the vote per (proposal, voter), a later vote
replacing an earlier one. Proposals are opened with ``SubmitProposal`` (tests submit them;
there is no deposit) and accept votes until their voting end time. A tally weighs each
voter's vote by the token value of its delegations to bonded validators at query time.
Not modelled: deposits, quorum and thresholds, execution of passed proposals, validators'
votes inherited by their delegators.

State lives in the chain's `Store`, so a failed transaction forgets its votes too.
"""

from __future__ import annotations

from typing import Any

from chains.contract._contract import BlockEnv, Event, Response
from chains.contract._decimal import Decimal18
from chains.contract._errors import UnsupportedMessage
from chains.contract._store import JournaledMap, SortedJournaledMap
from chains.modules._errors import (
    InvalidVoteOption,
    InvalidWeightedVote,
    UnknownProposal,
    VotingClosed,
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
from chains.modules._module import ModuleCall, SudoCall
from chains.modules._staking import BondStatus
from chains.modules._staking_module import StakingModule

__all__ = ["VOTE_OPTIONS", "GovModule", "check_weighted_vote"]

VOTE_OPTIONS = ("yes", "abstain", "no", "no_with_veto")
"""The valid vote options, as in x/gov (``VOTE_OPTION_YES`` ...), in snake case."""

_ONE = Decimal18.one()


def check_weighted_vote(options: tuple[WeightedVoteOption, ...]) -> None:
    """x/gov's ``ValidateBasic`` of a weighted vote. Raises `InvalidWeightedVote` or
    `InvalidVoteOption`."""
    if not options:
        raise InvalidWeightedVote("no options")
    seen: set[str] = set()
    total = 0
    for item in options:
        if item.option not in VOTE_OPTIONS:
            raise InvalidVoteOption(item.option)
        if item.option in seen:
            raise InvalidWeightedVote(f"duplicate option {item.option}")
        seen.add(item.option)
        if item.weight.is_zero() or item.weight > _ONE:
            raise InvalidWeightedVote(f"weight {item.weight} of {item.option} not in (0, 1]")
        total += item.weight.atomics
    if total != _ONE.atomics:
        raise InvalidWeightedVote("weights do not sum to 1")


class GovModule:
    """The ``"gov"`` chain module (see the module docstring).

    Build it with the chain's staking module (for the tally), e.g.
    ``chain.add_module(lambda ex: GovModule(ex.staking))``.
    """

    name = "gov"

    def __init__(self, staking: StakingModule) -> None:
        self._staking = staking
        store = staking.store
        self._proposals: SortedJournaledMap[int, Proposal] = SortedJournaledMap(
            store, "gov/proposals"
        )
        self._votes: SortedJournaledMap[tuple[int, str], Vote] = SortedJournaledMap(
            store, "gov/votes"
        )
        self._counter: JournaledMap[str, int] = JournaledMap(store, "gov/counter")

    # -- messages -----------------------------------------------------------------------------

    def handle(self, call: ModuleCall, msg: Any) -> Response:
        """``SubmitProposal`` (data: the id), ``GovVote``, ``GovVoteWeighted`` (voter = the
        sender). Raises `UnknownProposal`, `VotingClosed`, `InvalidVoteOption`,
        `InvalidWeightedVote` or `UnsupportedMessage`."""
        match msg:
            case SubmitProposal():
                proposal = self.create_proposal(msg.title, call.block.time_s, msg.voting_period)
                event = Event(type="submit_proposal", attributes=(("proposal_id", str(proposal)),))
                return Response(events=(event,), data=proposal)
            case GovVote():
                if msg.option not in VOTE_OPTIONS:
                    raise InvalidVoteOption(msg.option)
                options = (WeightedVoteOption(option=msg.option, weight=_ONE),)
                return self._vote(call, msg.proposal_id, options)
            case GovVoteWeighted():
                check_weighted_vote(msg.options)
                return self._vote(call, msg.proposal_id, msg.options)
        raise UnsupportedMessage("gov", type(msg).__name__)

    def create_proposal(self, title: str, now: int, voting_period: int = 172_800) -> int:
        """Open a proposal voting until ``now + voting_period``; return its id (1, 2, ...)."""
        proposal_id = self._counter.get("proposals", 0) + 1
        self._counter["proposals"] = proposal_id
        self._proposals[proposal_id] = Proposal(
            proposal_id=proposal_id,
            title=title,
            submit_time=now,
            voting_end_time=now + voting_period,
        )
        return proposal_id

    def _vote(
        self, call: ModuleCall, proposal_id: int, options: tuple[WeightedVoteOption, ...]
    ) -> Response:
        proposal = self.proposal(proposal_id)
        if call.block.time_s >= proposal.voting_end_time:
            raise VotingClosed(proposal_id)
        self._votes[(proposal_id, call.sender)] = Vote(
            proposal_id=proposal_id, voter=call.sender, options=options
        )
        text = ",".join(f"{o.option}={o.weight}" for o in options)
        event = Event(
            type="proposal_vote",
            attributes=(
                ("proposal_id", str(proposal_id)),
                ("voter", call.sender),
                ("option", text),
            ),
        )
        return Response(events=(event,))

    # -- queries ------------------------------------------------------------------------------

    def proposal(self, proposal_id: int) -> Proposal:
        """The proposal record. Raises `UnknownProposal`."""
        proposal = self._proposals.get(proposal_id)
        if proposal is None:
            raise UnknownProposal(proposal_id)
        return proposal

    def vote(self, proposal_id: int, voter: str) -> Vote | None:
        """``voter``'s vote on the proposal, or ``None``."""
        return self._votes.get((proposal_id, voter))

    def votes(self, proposal_id: int) -> tuple[Vote, ...]:
        """Every vote on the proposal, by voter."""
        keys = self._votes.keys_between((proposal_id,), (proposal_id + 1,))
        return tuple(self._votes[k] for k in keys)

    def voting_power(self, voter: str) -> int:
        """The token value of ``voter``'s delegations to bonded validators."""
        staking = self._staking.staking
        power = 0
        for delegation in staking.delegations_of(voter):
            record = staking.validator(delegation.validator)
            if record is not None and record.status is BondStatus.BONDED:
                power += staking.delegation_value(voter, delegation.validator)
        return power

    def tally(self, proposal_id: int) -> TallyResult:
        """The proposal's tally now (see `TallyResult`). Raises `UnknownProposal`."""
        self.proposal(proposal_id)
        totals = dict.fromkeys(VOTE_OPTIONS, 0)
        for vote in self.votes(proposal_id):
            power = self.voting_power(vote.voter)
            for item in vote.options:
                totals[item.option] += item.weight.mul_floor(power)
        return TallyResult(**totals)

    def query(self, block: BlockEnv, msg: Any) -> Any:
        """``ProposalQuery``, ``VoteQuery``, ``TallyQuery``. Raises `UnknownProposal` or
        `UnsupportedMessage`."""
        match msg:
            case ProposalQuery():
                return self.proposal(msg.proposal_id)
            case VoteQuery():
                return self.vote(msg.proposal_id, msg.voter)
            case TallyQuery():
                return self.tally(msg.proposal_id)
        raise UnsupportedMessage("gov_query", type(msg).__name__)

    # -- blocks -------------------------------------------------------------------------------

    def next_due_height(self, block: BlockEnv) -> int | None:
        """`ScheduledModule`: never (its block hooks do nothing)."""
        return None

    def begin_block(self, block: BlockEnv) -> list[Event]:
        """Nothing: voting periods are checked when a vote arrives."""
        return []

    def end_block(self, block: BlockEnv) -> list[SudoCall]:
        """Nothing (passed proposals are not executed in this model)."""
        return []
