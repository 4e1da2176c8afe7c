"""Errors of the minimal governance module (``_gov_module``)."""

from __future__ import annotations

from chains.contract._errors import ChainError

__all__ = ["InvalidVoteOption", "InvalidWeightedVote", "UnknownProposal", "VotingClosed"]


class UnknownProposal(ChainError):
    """No proposal has this id."""

    fields = ("proposal_id",)
    proposal_id: int

    def __init__(self, proposal_id: int) -> None:
        super().__init__(proposal_id)


class VotingClosed(ChainError):
    """The proposal's voting period has ended."""

    fields = ("proposal_id",)
    proposal_id: int

    def __init__(self, proposal_id: int) -> None:
        super().__init__(proposal_id)


class InvalidVoteOption(ChainError):
    """Not one of ``yes``, ``abstain``, ``no``, ``no_with_veto``."""

    fields = ("option",)
    option: str

    def __init__(self, option: str) -> None:
        super().__init__(option)


class InvalidWeightedVote(ChainError):
    """A weighted vote that is empty, repeats an option, has a weight outside ``(0, 1]`` or
    weights that do not sum to exactly 1 (``reason`` says which)."""

    fields = ("reason",)
    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
