"""The minimal governance module: proposals, plain and weighted votes, tally (P-55)."""

from __future__ import annotations

from chains import Coin, Decimal18
from chains.contract import CustomMsg, StakingDelegate
from chains.modules import (
    GovModule,
    GovVote,
    GovVoteWeighted,
    InvalidVoteOption,
    InvalidWeightedVote,
    ProposalQuery,
    SubmitProposal,
    TallyQuery,
    UnknownProposal,
    VoteQuery,
    VotingClosed,
    WeightedVoteOption,
)
from tests.chains.host._kit import ALICE, BOB, HostKit


def _kit() -> HostKit:
    kit = HostKit()
    kit.ex.add_module(GovModule(kit.ex.staking))
    return kit


def _gov(msg: object) -> CustomMsg:
    return CustomMsg(module="gov", msg=msg)


def _w(option: str, weight: str) -> WeightedVoteOption:
    return WeightedVoteOption(option=option, weight=Decimal18.parse(weight))


def test_proposals_votes_and_tally_by_delegated_power_P_55() -> None:
    kit = _kit()
    ex = kit.ex
    assert ex.submit(ALICE, _gov(SubmitProposal(title="a", voting_period=100))).data == 1
    proposal = ex.query_module("gov", ProposalQuery(proposal_id=1))
    assert proposal.voting_end_time == ex.time_s + 100
    assert ex.delegate if hasattr(ex, "delegate") else True
    val_a = kit.config.operator("val-a")

    ex.submit(ALICE, StakingDelegate(validator=val_a, amount=Coin(denom="stake", amount=1_000)))
    assert ex.submit(ALICE, _gov(GovVote(proposal_id=1, option="no"))).ok
    # a later vote replaces the earlier one
    weighted = GovVoteWeighted(proposal_id=1, options=(_w("yes", "0.7"), _w("abstain", "0.3")))
    assert ex.submit(ALICE, _gov(weighted)).ok
    vote = ex.query_module("gov", VoteQuery(proposal_id=1, voter=ALICE))
    assert [o.option for o in vote.options] == ["yes", "abstain"]
    assert ex.submit(BOB, _gov(GovVote(proposal_id=1, option="no_with_veto"))).ok
    tally = ex.query_module("gov", TallyQuery(proposal_id=1))
    assert (tally.yes, tally.abstain, tally.no, tally.no_with_veto) == (700, 300, 0, 0)


def test_vote_errors_P_55() -> None:
    kit = _kit()
    ex = kit.ex
    ex.submit(ALICE, _gov(SubmitProposal(title="a", voting_period=10))).unwrap()
    assert ex.submit(ALICE, _gov(GovVote(proposal_id=2, option="yes"))).error == UnknownProposal(2)
    assert ex.submit(ALICE, _gov(GovVote(proposal_id=1, option="maybe"))).error == (
        InvalidVoteOption("maybe")
    )
    cases = {
        (): "no options",
        (_w("yes", "0.5"), _w("yes", "0.5")): "duplicate option yes",
        (_w("yes", "0"), _w("no", "1")): "weight 0 of yes not in (0, 1]",
        (_w("yes", "0.5"), _w("no", "0.4")): "weights do not sum to 1",
    }
    for options, reason in cases.items():
        msg = _gov(GovVoteWeighted(proposal_id=1, options=options))
        assert ex.submit(ALICE, msg).error == InvalidWeightedVote(reason)
    assert ex.query_module("gov", VoteQuery(proposal_id=1, voter=ALICE)) is None
    kit.next_block()
    kit.next_block()
    closed = ex.submit(ALICE, _gov(GovVote(proposal_id=1, option="yes")))
    assert closed.error == VotingClosed(1)
