"""The governance module: proposals with messages and a deposit, weighted votes, a tally
with quorum, threshold and veto, and the execution of passed proposals as the authority.

As x/gov does it, in the parts this model needs:

- **Submit.** Anyone sends ``SubmitProposal`` (``CustomMsg(module="gov", ...)``) with a title,
  the messages to run if it passes (`ProposalMessage`, see `proposal_message`) and a
  deposit in the bond denom of at least ``GovParams.min_deposit``, which moves to the
  governance account. The proposal is open for voting at once until ``now +
  voting_period`` (no separate deposit period).
- **Vote.** ``GovVote`` / ``GovVoteWeighted`` record the sender's vote per (proposal,
  voter), a later vote replacing an earlier one (P-55).
- **Tally** (x/gov's ``Tally``): a voter's power is the token value of its delegations to
  bonded validators; a bonded validator whose operator account voted also votes, with
  its tokens less the value of the delegations to it whose delegators voted themselves
  (delegators inherit their validator's vote unless they vote).
- **End of voting.** At the first end-block at or after ``voting_end_time`` the proposal is
  tallied against the bonded tokens: it is *rejected* without quorum (turnout below
  ``quorum`` of the bonded tokens), if everyone abstained, with ``no_with_veto`` above
  ``veto_threshold`` of the turnout (the deposit is then burned) or with ``yes`` not above
  ``threshold`` of the non-abstaining turnout. Otherwise its messages run in order as the
  governance authority, all in one savepoint of their own: a failing message rolls back
  the proposal's messages and nothing else (the proposal is then *failed*). Except after
  a veto the deposit goes back to the proposer.

Messages are rebuilt from their JSON by ``decode`` (the host room's
``decode_proposal_message``) and run by ``execute`` (the host's route of a root message,
natives included) inside ``host.attempt``; a module built without them refuses proposals
with messages (`UnsupportedMessage`). State lives in the chain's `Store`, so a failed
transaction forgets its proposals and votes too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chains.contract._address import derive_address
from chains.contract._contract import BlockEnv, Event, Response
from chains.contract._decimal import Decimal18
from chains.contract._errors import ChainError, UnsupportedMessage
from chains.contract._store import JournaledMap, SortedJournaledMap
from chains.modules._errors import (
    InsufficientDeposit,
    InvalidVoteOption,
    InvalidWeightedVote,
    UnknownProposal,
    VotingClosed,
)
from chains.modules._gov_msgs import (
    GovParams,
    GovVote,
    GovVoteWeighted,
    Proposal,
    ProposalMessage,
    ProposalQuery,
    SubmitProposal,
    TallyQuery,
    TallyResult,
    Vote,
    VoteQuery,
    WeightedVoteOption,
)
from chains.modules._module import ModuleCall, ModuleHost, SudoCall
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

    Build it with the chain's staking module (for the tally) and, for proposals that carry
    messages, the host that runs them and the decoder that rebuilds them, e.g.
    ``chain.add_module(governance_module)`` (``chains.host``), or
    ``GovModule(ex.staking)`` for votes and tallies only.
    """

    name = "gov"

    def __init__(
        self,
        staking: StakingModule,
        *,
        host: ModuleHost | None = None,
        decode: Callable[[ProposalMessage], Any] | None = None,
        execute: Callable[[str, Any], Any] | None = None,
        params: GovParams | None = None,
    ) -> None:
        self._staking = staking
        self._host = host
        self._decode = decode
        self._execute_as = execute
        self.params = GovParams() if params is None else params
        store = staking.store
        # the governance account: the authority of privileged messages and the deposits'
        # holder, as x/gov's module account is both
        self.authority = (
            host.gov_address
            if host is not None
            else derive_address(staking.staking.account_prefix, "module/gov")
        )
        self._proposals: SortedJournaledMap[int, Proposal] = SortedJournaledMap(
            store, "gov/proposals"
        )
        self._votes: SortedJournaledMap[tuple[int, str], Vote] = SortedJournaledMap(
            store, "gov/votes"
        )
        self._counter: JournaledMap[str, int] = JournaledMap(store, "gov/counter")
        # proposals still in their voting period, by id (what end-blocks look at)
        self._active: SortedJournaledMap[int, int] = SortedJournaledMap(store, "gov/active")

    # -- messages -----------------------------------------------------------------------------

    def handle(self, call: ModuleCall, msg: Any) -> Response:
        """``SubmitProposal`` (data: the id), ``GovVote``, ``GovVoteWeighted`` (voter = the
        sender). Raises `InsufficientDeposit`, `InsufficientFunds`, `UnknownProposal`,
        `VotingClosed`, `InvalidVoteOption`, `InvalidWeightedVote` or `UnsupportedMessage`
        (also for a proposal with messages on a module built without host or decoder)."""
        match msg:
            case SubmitProposal():
                return self._submit(call, msg)
            case GovVote():
                if msg.option not in VOTE_OPTIONS:
                    raise InvalidVoteOption(msg.option)
                options = (WeightedVoteOption(option=msg.option, weight=_ONE),)
                return self._vote(call, msg.proposal_id, options)
            case GovVoteWeighted():
                check_weighted_vote(msg.options)
                return self._vote(call, msg.proposal_id, msg.options)
        raise UnsupportedMessage("gov", type(msg).__name__)

    def _submit(self, call: ModuleCall, msg: SubmitProposal) -> Response:
        if msg.messages and (
            self._host is None or self._decode is None or self._execute_as is None
        ):
            raise UnsupportedMessage("gov", "proposal messages (no host to run them)")
        if msg.deposit < self.params.min_deposit:
            raise InsufficientDeposit(self.params.min_deposit, msg.deposit)
        if msg.deposit < 0:
            raise InsufficientDeposit(0, msg.deposit)
        if msg.deposit:
            denom = self._staking.params.bond_denom
            self._staking.bank.transfer(call.sender, self.authority, denom, msg.deposit)
        period = self.params.voting_period if msg.voting_period is None else msg.voting_period
        proposal = self.create_proposal(
            msg.title,
            call.block.time_s,
            period,
            proposer=call.sender,
            messages=msg.messages,
            deposit=msg.deposit,
        )
        event = Event(type="submit_proposal", attributes=(("proposal_id", str(proposal)),))
        return Response(events=(event,), data=proposal)

    def create_proposal(
        self,
        title: str,
        now: int,
        voting_period: int = 172_800,
        *,
        proposer: str = "",
        messages: tuple[ProposalMessage, ...] = (),
        deposit: int = 0,
    ) -> int:
        """Open a proposal voting until ``now + voting_period``; return its id (1, 2, ...).
        The deposit, if any, must already be in the governance account."""
        proposal_id = self._counter.get("proposals", 0) + 1
        self._counter["proposals"] = proposal_id
        self._proposals[proposal_id] = Proposal(
            proposal_id=proposal_id,
            title=title,
            submit_time=now,
            voting_end_time=now + voting_period,
            proposer=proposer,
            messages=messages,
            deposit=deposit,
        )
        self._active[proposal_id] = now + voting_period
        return proposal_id

    def _vote(
        self, call: ModuleCall, proposal_id: int, options: tuple[WeightedVoteOption, ...]
    ) -> Response:
        proposal = self.proposal(proposal_id)
        if call.block.time_s >= proposal.voting_end_time or proposal.status != "voting":
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
        """The proposal's tally now (see the module docstring). Raises `UnknownProposal`."""
        self.proposal(proposal_id)
        staking = self._staking.staking
        totals = dict.fromkeys(VOTE_OPTIONS, 0)
        # bonded validators whose operator voted, and the value their voting delegators
        # take away from them (x/gov's ``DelegatorDeductions``)
        validator_votes: dict[str, Vote] = {}
        deducted: dict[str, int] = {}
        for vote in self.votes(proposal_id):
            operator = staking.operator_of(vote.voter)
            record = staking.validator(operator)
            if record is not None and record.status is BondStatus.BONDED:
                validator_votes[operator] = vote
            power = 0
            for delegation in staking.delegations_of(vote.voter):
                target = staking.validator(delegation.validator)
                if target is None or target.status is not BondStatus.BONDED:
                    continue
                value = staking.delegation_value(vote.voter, delegation.validator)
                deducted[delegation.validator] = deducted.get(delegation.validator, 0) + value
                power += value
            for item in vote.options:
                totals[item.option] += item.weight.mul_floor(power)
        for operator, vote in validator_votes.items():
            record = staking.validator(operator)
            assert record is not None
            power = max(record.tokens - deducted.get(operator, 0), 0)
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
        """`ScheduledModule`: now while a proposal is in its voting period (its end is a
        time, and only the end-block at or after it may close it), else never."""
        return block.height if self._active else None

    def begin_block(self, block: BlockEnv) -> list[Event]:
        """Nothing: proposals end at end-blocks."""
        return []

    def end_block(self, block: BlockEnv) -> list[SudoCall]:
        """End every proposal whose voting period is over (see the module docstring);
        returns no sudo calls (passed proposals run here, each in its own savepoint)."""
        ended = [pid for pid, end in self._active.raw_items() if end <= block.time_s]
        for proposal_id in sorted(ended):
            del self._active[proposal_id]
            self._end(self.proposal(proposal_id))
        return []

    def _end(self, proposal: Proposal) -> None:
        tally = self.tally(proposal.proposal_id)
        verdict, vetoed = self._verdict(tally)
        status, failure = "rejected", verdict
        if not verdict:
            status = "passed"
            error = self._execute(proposal)
            if error is not None:
                status, failure = "failed", f"{error.name}: {error}"
        if proposal.deposit:
            denom = self._staking.params.bond_denom
            if vetoed:
                self._staking.bank.burn(self.authority, denom, proposal.deposit, source="gov")
            else:
                self._staking.bank.transfer(
                    self.authority, proposal.proposer, denom, proposal.deposit
                )
        self._proposals[proposal.proposal_id] = proposal.model_copy(
            update={"status": status, "failure": failure, "final_tally": tally}
        )
        if self._host is not None:
            self._host.emit(
                self.name,
                Event(
                    type="proposal_ended",
                    attributes=(
                        ("proposal_id", str(proposal.proposal_id)),
                        ("status", status),
                        ("failure", failure),
                    ),
                ),
            )

    def _verdict(self, tally: TallyResult) -> tuple[str, bool]:
        """Why the tally rejects the proposal ("" if it passes), and whether by veto."""
        params = self.params
        bonded = sum(v.tokens for v in self._staking.staking.bonded_validators())
        turnout = tally.yes + tally.abstain + tally.no + tally.no_with_veto
        if bonded == 0 or turnout < params.quorum.mul_ceil(bonded):
            return "no quorum", False
        if turnout == tally.abstain:
            return "all abstained", False
        if tally.no_with_veto > params.veto_threshold.mul_floor(turnout):
            return "vetoed", True
        if tally.yes <= params.threshold.mul_floor(turnout - tally.abstain):
            return "threshold not reached", False
        return "", False

    def _execute(self, proposal: Proposal) -> ChainError | None:
        host, decode, execute = self._host, self._decode, self._execute_as
        if not proposal.messages:
            return None
        if host is None or decode is None or execute is None:
            return UnsupportedMessage("gov", "proposal messages (no host to run them)")

        def run() -> None:
            for item in proposal.messages:
                execute(self.authority, decode(item))

        _, error = host.attempt(run)
        return error
