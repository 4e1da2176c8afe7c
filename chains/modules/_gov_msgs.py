"""Messages of the governance module (``_gov``): proposals, votes, queries, parameters.

Contracts reach the module with ``CustomMsg(module="gov", msg=...)``; the native staking
proxy casts its owner's votes this way (P-55). A proposal carries the messages that the
governance authority executes if it passes, each as a `ProposalMessage` (its stable type
name and its JSON form), so a proposal signed in another process arrives whole.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import to_jsonable_python

from chains.contract._contract import CustomMsg
from chains.contract._decimal import Decimal18
from chains.contract._signing import message_type_name
from mesh_actors import Message

__all__ = [
    "GovParams",
    "GovVote",
    "GovVoteWeighted",
    "Proposal",
    "ProposalMessage",
    "ProposalQuery",
    "SubmitProposal",
    "TallyQuery",
    "TallyResult",
    "Vote",
    "VoteQuery",
    "WeightedVoteOption",
    "proposal_message",
]


class ProposalMessage(Message):
    """One message of a proposal: ``type`` is its stable type name (`message_type_name`)
    and ``value`` its JSON form; the chain rebuilds the message when the proposal passes."""

    type_name = "gov.proposal_message"
    type: str
    value: Any


def proposal_message(msg: Any) -> ProposalMessage:
    """``msg`` (a `CosmosMsg`, a native or a module message) as a `ProposalMessage`; a
    `CustomMsg`'s own message keeps its type name too, as in a signed transaction."""
    value = _plain(msg)
    if isinstance(msg, CustomMsg) and isinstance(value, dict):
        value["msg"] = {"type": message_type_name(msg.msg), "value": value["msg"]}
    return ProposalMessage(type=message_type_name(msg), value=value)


def _plain(value: Any) -> Any:
    return to_jsonable_python(value, round_trip=True, serialize_as_any=True, bytes_mode="base64")


class GovParams(Message):
    """The governance parameters. ``quorum``, ``threshold`` and ``veto_threshold`` are the
    Cosmos SDK x/gov defaults (``DefaultQuorum = 0.334``, ``DefaultThreshold = 0.5``,
    ``DefaultVetoThreshold = 0.334``), and ``voting_period`` its default of 172,800 s
    (48 hours). ``min_deposit`` is in the bond denom; the SDK's default is 10,000,000 of it,
    but here it defaults to 0 so a test or a staking proxy can open a proposal without
    funds: set it for a deployment that wants the SDK's spam protection."""

    type_name = "gov.params"
    quorum: Decimal18 = Decimal18.parse("0.334")
    threshold: Decimal18 = Decimal18.parse("0.5")
    veto_threshold: Decimal18 = Decimal18.parse("0.334")
    min_deposit: int = 0
    voting_period: int = 172_800


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
    """Open a proposal for voting until ``now + voting_period`` (seconds; the parameters'
    period if ``None``); anyone may submit, with a ``deposit`` in the bond denom of at least
    the parameters' ``min_deposit`` (held by the governance account, returned when the
    proposal ends unless vetoed). If it passes, ``messages`` run in order as the
    governance authority (see `proposal_message`). The result data is the new proposal
    id (1, 2, ...)."""

    type_name = "gov.submit_proposal"
    title: str
    voting_period: int | None = 172_800
    messages: tuple[ProposalMessage, ...] = ()
    deposit: int = 0


class Proposal(Message):
    """A proposal record: votes are accepted while ``block time < voting_end_time``.

    ``status`` is ``"voting"``, then ``"passed"`` (its messages ran), ``"failed"`` (it
    passed but a message failed: none of its messages took effect, ``failure`` says why)
    or ``"rejected"`` (quorum, threshold or veto not met, ``failure`` says which);
    ``final_tally`` is the tally at the end of voting."""

    type_name = "gov.proposal"
    proposal_id: int
    title: str
    submit_time: int
    voting_end_time: int
    proposer: str = ""
    messages: tuple[ProposalMessage, ...] = ()
    deposit: int = 0
    status: str = "voting"
    failure: str = ""
    final_tally: TallyResult | None = None


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


Proposal.model_rebuild()
