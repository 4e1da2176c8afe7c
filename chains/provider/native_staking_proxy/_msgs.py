"""Messages of the per-user native staking proxy (P-52..P-60).

Votes go out to the chain's ``gov`` module as ``_gov_msgs.GovVote`` / ``GovVoteWeighted``.
"""

from __future__ import annotations

from chains.contract._coin import Coin
from chains.contract._contract import DistributionSetWithdrawAddress
from chains.modules._gov_msgs import GovVote as GovVote
from chains.modules._gov_msgs import GovVoteWeighted as GovVoteWeighted
from chains.modules._gov_msgs import WeightedVoteOption as WeightedVoteOption
from mesh_actors import Message

__all__ = [
    "ProcessUnbondingQueue",
    "ProxyBurn",
    "ProxyConfigQuery",
    "ProxyConfigResponse",
    "ProxyInstantiate",
    "ProxyStake",
    "QueuedUnbond",
    "QueuedUnbondsQuery",
    "QueuedUnbondsResponse",
    "ProxyReleaseUnbonded",
    "ProxyRestake",
    "ProxyUnstake",
    "ProxyVote",
    "ProxyVoteWeighted",
    "ProxyWithdrawRewards",
]


class ProxyInstantiate(Message):
    """P-52: by native staking, with the first stake attached."""

    type_name = "proxy.instantiate"
    denom: str
    owner: str
    validator: str


class ProxyStake(Message):
    """P-53: parent only, funds in the denom."""

    type_name = "proxy.stake"
    validator: str


class ProxyRestake(Message):
    """P-54: owner only; redelegate ``amount`` from ``src_validator`` to ``dst_validator``."""

    type_name = "proxy.restake"
    src_validator: str
    dst_validator: str
    amount: Coin


class ProxyVote(Message):
    """P-55: owner only; vote with all the proxy's delegations."""

    type_name = "proxy.vote"
    proposal_id: int
    option: str


class ProxyVoteWeighted(Message):
    """P-55: owner only."""

    type_name = "proxy.vote_weighted"
    proposal_id: int
    options: tuple[WeightedVoteOption, ...]


class ProxyWithdrawRewards(Message):
    """P-56: owner only; rewards go to the owner (the withdraw address)."""

    type_name = "proxy.withdraw_rewards"


class ProxyUnstake(Message):
    """P-57: owner only; undelegate, or queue when 7 entries are open (P-62)."""

    type_name = "proxy.unstake"
    validator: str
    amount: Coin


class ProxyBurn(Message):
    """P-58: parent only; undelegate ``amount`` and never release it."""

    type_name = "proxy.burn"
    validator: str | None = None
    amount: Coin


class ProxyReleaseUnbonded(Message):
    """P-59: owner only; send ``liquid - burned`` back through native staking to the vault."""

    type_name = "proxy.release_unbonded"


class ProcessUnbondingQueue(Message):
    """P-62: anyone (execute) or the chain (sudo); submit queued unbondings of validators
    that have a free entry again.

    Every other proxy entry point does the same first, so the queue also drains as the
    owner uses the proxy; the provider chain module (``_provider_module``) sends it as a
    sudo call when one of the proxy's unbonding entries matures.
    """

    type_name = "proxy.process_unbonding_queue"


class ProxyConfigQuery(Message):
    type_name = "proxy.query.config"


class ProxyConfigResponse(Message):
    """P-60, plus the ``burned`` counter of P-58."""

    type_name = "proxy.config"
    denom: str
    owner: str
    parent: str
    burned: int


class QueuedUnbondsQuery(Message):
    type_name = "proxy.query.queued_unbonds"


class QueuedUnbond(Message):
    type_name = "proxy.queued_unbond"
    validator: str
    amount: int


class QueuedUnbondsResponse(Message):
    type_name = "proxy.queued_unbonds"
    queued: tuple[QueuedUnbond, ...]


# Importable here (not exported) until ``chains/__init__.py`` is regenerated: the governance
# messages moved to ``_gov_msgs`` and the withdraw-address custom message became the
# ``DistributionSetWithdrawAddress`` CosmosMsg variant.
SetWithdrawAddress = DistributionSetWithdrawAddress
