"""Governance wired to a chain: the ``gov`` module that runs passed proposals' messages.

`governance_module` builds a `GovModule` over an executor (its staking for the tally, the
route of a transaction's root message to run a passed proposal's messages as the
governance authority, and `decode_proposal_message` to rebuild them), so
``chain.add_module(governance_module)`` or
``executor.add_module(governance_module(executor))`` gives a chain x/gov's path for
privileged messages: from another actor system, the only way to act as the authority is a
signed ``SubmitProposal`` that the bonded stake then votes through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chains.host._signed import decode_proposal_message
from chains.modules._gov import GovModule
from chains.modules._gov_msgs import GovParams

if TYPE_CHECKING:
    from chains.host._executor import TxExecutor

__all__ = ["governance_module"]


def governance_module(executor: TxExecutor, params: GovParams | None = None) -> GovModule:
    """A `GovModule` for ``executor``'s chain that executes passed proposals (see the
    module docstring); ``params`` defaults to `GovParams` (the SDK's quorum, threshold,
    veto threshold and voting period)."""
    return GovModule(
        executor.staking,
        host=executor,
        decode=decode_proposal_message,
        # the route a transaction's root message takes (natives such as `Mint` too)
        execute=executor._submit,
        params=params,
    )
