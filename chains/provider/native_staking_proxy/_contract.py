"""The per-user native staking proxy core (provider §4.4, §4.5).

Each user's collateral staked locally sits in a proxy contract owned by that user: the user
keeps full staking rights (choose and change validators, vote, withdraw rewards, unstake),
but unbonded tokens can only go back to the vault, through native staking (P-59, P-45).
Burns requested by the vault undelegate stake that is then never released (the ``burned``
counter, P-58).

**The 7-entry limit (P-61, P-62 [rec]).** The staking module allows at most
``max_entries`` (7) open unbonding entries per (delegator, validator); each proxy is its own
delegator. An unstake (or burn) towards a validator with fewer open entries undelegates at
once, keeping the reference timing; otherwise the amount joins a per-validator queue (no
longer available to the user) and all queued amounts go out as **one** undelegation as soon
as an entry has matured. The queue is processed at the start of every proxy entry point, by
the permissionless ``ProcessUnbondingQueue`` execute message, and by the same message as a
sudo call, which the provider chain module sends when one of the proxy's entries matures.

Redelegation (``restake``) emits ``StakingRedelegate``; the chain's staking module applies
the SDK rules (consumer.md C-22), including the 7-entry limit per (proxy, src, dst) (P-61).
"""

from __future__ import annotations

from typing import Any, ClassVar

from chains.contract._burn import distribute_burn
from chains.contract._coin import Coin, must_pay, nonpayable
from chains.contract._contract import (
    Contract,
    CosmosMsg,
    CustomMsg,
    DistributionSetWithdrawAddress,
    DistributionWithdrawReward,
    Env,
    Event,
    MessageInfo,
    Response,
    StakingDelegate,
    StakingRedelegate,
    StakingUndelegate,
    WasmExecute,
)
from chains.contract._errors import (
    InsufficientDelegations,
    InvalidAmount,
    InvalidDenom,
    Unauthorized,
    UnsupportedMessage,
)
from chains.contract._store import SortedJournaledMap
from chains.modules._gov_msgs import GovVote, GovVoteWeighted
from chains.modules._staking_reader import StakingReader, staking_reader
from chains.provider.native_staking._msgs import RecordDelegation, ReleaseProxyStake
from chains.provider.native_staking_proxy._errors import NotEnoughDelegation
from chains.provider.native_staking_proxy._msgs import (
    ProcessUnbondingQueue,
    ProxyBurn,
    ProxyConfigQuery,
    ProxyConfigResponse,
    ProxyInstantiate,
    ProxyReleaseUnbonded,
    ProxyRestake,
    ProxyStake,
    ProxyUnstake,
    ProxyVote,
    ProxyVoteWeighted,
    ProxyWithdrawRewards,
    QueuedUnbond,
    QueuedUnbondsQuery,
    QueuedUnbondsResponse,
)
from mesh_actors import Message

__all__ = ["NativeStakingProxy", "set_withdraw_address_msg"]


def set_withdraw_address_msg(address: str) -> CosmosMsg:
    """The message that points the emitter's reward payouts at ``address`` (P-52)."""
    return DistributionSetWithdrawAddress(address=address)


class NativeStakingProxy(Contract):
    """One user's staking proxy (P-52..P-62). See the module docstring."""

    code: ClassVar[str] = "mesh-native-staking-proxy"

    def __init__(self, deps: Any) -> None:
        super().__init__(deps)
        storage = deps.storage
        self._config = storage.item("config")
        self._burned = storage.item("burned")
        self._queue: SortedJournaledMap[str, int] = storage.sorted_map("unbond_queue")

    def config(self) -> ProxyConfigResponse:
        """The configuration with the current ``burned`` counter (P-60)."""
        config: ProxyConfigResponse = self._config.load()
        burned: int = self._burned.may_load() or 0
        return config.model_copy(update={"burned": burned})

    # -- entry points -------------------------------------------------------------------------

    def instantiate(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        """P-52: delegate the attached funds to ``validator``, send rewards to the owner,
        return ``{"owner": owner}`` as creation data. Raises payment errors."""
        if not isinstance(msg, ProxyInstantiate):
            raise UnsupportedMessage("instantiate", type(msg).__name__)
        amount = must_pay(info.funds, msg.denom)
        self._config.save(
            ProxyConfigResponse(denom=msg.denom, owner=msg.owner, parent=info.sender, burned=0)
        )
        self._burned.save(0)
        # a plain message: if the owner cannot receive the rewards the proxy must not exist,
        # since rewards must never accrue to the proxy (P-56)
        return Response.of(
            StakingDelegate(validator=msg.validator, amount=Coin(denom=msg.denom, amount=amount)),
            set_withdraw_address_msg(msg.owner),
            data={"owner": msg.owner},
        )

    def sudo(self, env: Env, msg: Message) -> Response:
        """``ProcessUnbondingQueue`` from the chain when one of the proxy's unbonding entries
        matured (P-62): submit the queued unbondings that fit now."""
        if not isinstance(msg, ProcessUnbondingQueue):
            raise UnsupportedMessage("sudo", type(msg).__name__)
        config = self.config()
        staking: StakingReader = staking_reader(self.deps.querier)
        return Response.of(*self._flush_queue(env, staking, config.denom))

    def execute(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        """Dispatch P-53..P-59 and ``ProcessUnbondingQueue``; queued unbondings whose
        validator has a free entry again are submitted first (P-62)."""
        config = self.config()
        staking: StakingReader = staking_reader(self.deps.querier)
        flushed = self._flush_queue(env, staking, config.denom)
        response = self._dispatch(env, info, msg, config, staking)
        if not flushed:
            return response
        return Response(
            messages=(*Response.of(*flushed).messages, *response.messages),
            events=response.events,
            data=response.data,
        )

    def query(self, env: Env, msg: Message) -> Any:
        """``config`` (P-60) and the queued unbondings (P-62)."""
        match msg:
            case ProxyConfigQuery():
                return self.config()
            case QueuedUnbondsQuery():
                return QueuedUnbondsResponse(
                    queued=tuple(
                        QueuedUnbond(validator=v, amount=a) for v, a in self._queue.raw_items()
                    )
                )
        raise UnsupportedMessage("query", type(msg).__name__)

    # -- handlers -----------------------------------------------------------------------------

    def _dispatch(
        self,
        env: Env,
        info: MessageInfo,
        msg: Message,
        config: ProxyConfigResponse,
        staking: StakingReader,
    ) -> Response:
        match msg:
            case ProxyStake():
                self._only(info, config.parent)
                amount = must_pay(info.funds, config.denom)
                return Response.of(
                    StakingDelegate(
                        validator=msg.validator, amount=Coin(denom=config.denom, amount=amount)
                    )
                )
            case ProxyRestake():
                return self._restake(env, info, msg, config, staking)
            case ProxyVote():
                self._only_owner(info, config)
                return Response.of(
                    CustomMsg(
                        module="gov", msg=GovVote(proposal_id=msg.proposal_id, option=msg.option)
                    )
                )
            case ProxyVoteWeighted():
                self._only_owner(info, config)
                return Response.of(
                    CustomMsg(
                        module="gov",
                        msg=GovVoteWeighted(proposal_id=msg.proposal_id, options=msg.options),
                    )
                )
            case ProxyWithdrawRewards():
                self._only_owner(info, config)
                delegations = staking.delegations_of(env.contract_address)
                return Response.of(
                    *(DistributionWithdrawReward(validator=d.validator) for d in delegations)
                )
            case ProxyUnstake():
                self._only_owner(info, config)
                amount = self._check_denom(msg.amount, config)
                self._require_available(env, staking, msg.validator, amount)
                return Response.of(*self._unbond(env, staking, config.denom, msg.validator, amount))
            case ProxyBurn():
                return self._burn(env, info, msg, config, staking)
            case ProxyReleaseUnbonded():
                return self._release_unbonded(env, info, config)
            case ProcessUnbondingQueue():
                nonpayable(info.funds)
                return Response()
        raise UnsupportedMessage("execute", type(msg).__name__)

    def _only(self, info: MessageInfo, allowed: str) -> None:
        if info.sender != allowed:
            raise Unauthorized()

    def _only_owner(self, info: MessageInfo, config: ProxyConfigResponse) -> None:
        """Owner only, even the parent is refused (P-55); non-payable."""
        self._only(info, config.owner)
        nonpayable(info.funds)

    def _check_denom(self, coin: Coin, config: ProxyConfigResponse) -> int:
        if coin.denom != config.denom:
            raise InvalidDenom(config.denom)
        return coin.amount

    def _available(self, env: Env, staking: StakingReader, validator: str) -> int:
        """The delegation's value minus what is queued for unbonding (P-62)."""
        bonded = staking.delegation_value(env.contract_address, validator)
        return max(bonded - self._queue.get(validator, 0), 0)

    def _require_available(
        self, env: Env, staking: StakingReader, validator: str, amount: int
    ) -> None:
        if amount == 0:
            raise InvalidAmount(0)
        available = self._available(env, staking, validator)
        if amount > available:
            raise NotEnoughDelegation(validator, available)

    def _restake(
        self,
        env: Env,
        info: MessageInfo,
        msg: ProxyRestake,
        config: ProxyConfigResponse,
        staking: StakingReader,
    ) -> Response:
        """P-54: redelegate and (P-50 [rec]) tell native staking to index ``dst``.

        Raises ``Unauthorized``, ``NonPayable``, ``InvalidDenom``, ``NotEnoughDelegation``.
        """
        self._only_owner(info, config)
        amount = self._check_denom(msg.amount, config)
        self._require_available(env, staking, msg.src_validator, amount)
        return Response.of(
            StakingRedelegate(
                src_validator=msg.src_validator,
                dst_validator=msg.dst_validator,
                amount=msg.amount,
            ),
            WasmExecute(
                contract_addr=config.parent, msg=RecordDelegation(validator=msg.dst_validator)
            ),
        )

    def _burn(
        self,
        env: Env,
        info: MessageInfo,
        msg: ProxyBurn,
        config: ProxyConfigResponse,
        staking: StakingReader,
    ) -> Response:
        """P-58: spread ``amount`` over the delegations (P-17), undelegate each part, and
        count it as ``burned``. Available per validator is the delegation minus what is
        already queued (P-62).

        Raises ``Unauthorized``, ``NonPayable``, ``InvalidDenom``,
        ``InsufficientDelegations(proxy, amount)``.
        """
        self._only(info, config.parent)
        nonpayable(info.funds)
        amount = self._check_denom(msg.amount, config)
        proxy = env.contract_address
        if msg.validator is not None:
            has = staking.delegation_value(proxy, msg.validator) > 0
            validators = [msg.validator] if has else []
        else:
            validators = [d.validator for d in staking.delegations_of(proxy)]
        if not validators:
            raise InsufficientDelegations(proxy, amount)
        entries = [(v, self._available(env, staking, v)) for v in validators]
        burned, parts = distribute_burn(entries, amount)
        if burned < amount:
            raise InsufficientDelegations(proxy, amount)
        messages: list[CosmosMsg] = []
        for validator, part in parts.items():
            messages.extend(self._unbond(env, staking, config.denom, validator, part))
        self._burned.save((self._burned.may_load() or 0) + amount)
        event = Event(type="proxy_burn", attributes=(("amount", str(amount)),))
        return Response.of(*messages, events=(event,))

    def _release_unbonded(
        self, env: Env, info: MessageInfo, config: ProxyConfigResponse
    ) -> Response:
        """P-59: send ``max(liquid - burned, 0)`` to ``parent.release_proxy_stake``; nothing
        to send is a successful no-op. Raises ``Unauthorized``, ``NonPayable``."""
        self._only_owner(info, config)
        liquid = self.deps.querier.balance(env.contract_address, config.denom)
        amount = max(liquid - config.burned, 0)
        if amount == 0:
            return Response()
        return Response.of(
            WasmExecute(
                contract_addr=config.parent,
                msg=ReleaseProxyStake(),
                funds=(Coin(denom=config.denom, amount=amount),),
            )
        )

    # -- the unbonding queue (P-61, P-62) -----------------------------------------------------

    def _has_free_entry(self, env: Env, staking: StakingReader, validator: str) -> bool:
        open_entries = staking.unbonding_entries(env.contract_address, validator)
        return len(open_entries) < staking.params.max_entries

    def _unbond(
        self, env: Env, staking: StakingReader, denom: str, validator: str, amount: int
    ) -> list[CosmosMsg]:
        """Undelegate now if an entry is free and nothing waits, else queue (P-62)."""
        if validator not in self._queue and self._has_free_entry(env, staking, validator):
            return [StakingUndelegate(validator=validator, amount=Coin(denom=denom, amount=amount))]
        self._queue[validator] = self._queue.get(validator, 0) + amount
        return []

    def _flush_queue(self, env: Env, staking: StakingReader, denom: str) -> list[CosmosMsg]:
        """Submit each queued validator's total as one undelegation once it has a free entry.

        The amount is capped at the delegation's current value: a slash may have shrunk the
        delegation since the request was queued.
        """
        messages: list[CosmosMsg] = []
        for validator, queued in list(self._queue.raw_items()):
            if not self._has_free_entry(env, staking, validator):
                continue
            del self._queue[validator]
            amount = min(queued, staking.delegation_value(env.contract_address, validator))
            if amount > 0:
                messages.append(
                    StakingUndelegate(validator=validator, amount=Coin(denom=denom, amount=amount))
                )
        return messages
