"""Messages of the minimal governance module (``_gov_module``): proposals, votes, queries.

Contracts reach the module with ``CustomMsg(module="gov", msg=...)``; the native staking
proxy casts its owner's votes this way (P-55).
"""

from __future__ import annotations

from chains.contract._decimal import Decimal18
from mesh_actors import Message

__all__ = [
    "GovVote",
    "GovVoteWeighted",
    "Proposal",
    "ProposalQuery",
    "SubmitProposal",
    "TallyQuery",
    "TallyResult",
    "Vote",
    "VoteQuery",
    "WeightedVoteOption",
]


class WeightedVoteOption(Message):
    """One option of a weighted vote: ``option`` with ``weight`` in ``(0, 1]``."""

    type_name = "gov.weighted_vote_option"
    option: str
    weight: Decimal18


class GovVote(Message):
    """Vote ``option`` (``yes``, ``abstain``, ``no``, ``no_with_veto``) on ``proposal_id``
    with the sender's whole voting power; replaces the sender's earlier vote (P-55)."""

    type_name = "gov.vote"
    proposal_id: int
    option: str


class GovVoteWeighted(Message):
    """A weighted vote: distinct valid options, weights in ``(0, 1]`` summing to exactly 1
    (P-55)."""

    type_name = "gov.vote_weighted"
    proposal_id: int
    options: tuple[WeightedVoteOption, ...]


class SubmitProposal(Message):
    """Open a proposal for voting until ``now + voting_period`` (seconds); anyone may submit
    (no deposit in this model). The result data is the new proposal id (1, 2, ...)."""

    type_name = "gov.submit_proposal"
    title: str
    voting_period: int = 172_800


class Proposal(Message):
    """A proposal record: votes are accepted while ``block time < voting_end_time``."""

    type_name = "gov.proposal"
    proposal_id: int
    title: str
    submit_time: int
    voting_end_time: int


class Vote(Message):
    """A recorded vote (a plain vote is stored as one option of weight 1)."""

    type_name = "gov.recorded_vote"
    proposal_id: int
    voter: str
    options: tuple[WeightedVoteOption, ...]


class ProposalQuery(Message):
    """The proposal record; unknown ⇒ ``UnknownProposal``."""

    type_name = "gov.query.proposal"
    proposal_id: int


class VoteQuery(Message):
    """The voter's vote on a proposal, or ``None``."""

    type_name = "gov.query.vote"
    proposal_id: int
    voter: str


class TallyQuery(Message):
    """The current tally of a proposal; unknown ⇒ ``UnknownProposal``."""

    type_name = "gov.query.tally"
    proposal_id: int


class TallyResult(Message):
    """Voting power per option: each voter's power (the token value of its delegations to
    bonded validators) times the option's weight, floored, summed over voters."""

    type_name = "gov.tally"
    yes: int = 0
    abstain: int = 0
    no: int = 0
    no_with_veto: int = 0
