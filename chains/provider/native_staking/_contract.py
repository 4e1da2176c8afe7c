"""The native staking contract core: the vault's local lien holder (provider §4.2, §4.3).

It receives real collateral tokens from the vault for a user and stakes them through a proxy
contract owned by that user (one per user, created on the first stake with
``WasmInstantiate`` and learned from the sub-message reply), forwards burns from the vault to
the proxy, returns unbonded tokens from a proxy to the vault, and turns the chain's
``jailing`` sudo calls into ``local_slash`` reports to the vault (P-48, with the [rec]s of
P-50 and P-51).
"""

from __future__ import annotations

from typing import Any, ClassVar

from chains.contract._coin import Coin, must_pay, nonpayable
from chains.contract._contract import (
    Contract,
    Env,
    Event,
    MessageInfo,
    Reply,
    ReplyOn,
    Response,
    SubMsg,
    WasmExecute,
    WasmInstantiate,
)
from chains.contract._decimal import Decimal18
from chains.contract._errors import InvalidSlashRatio, NotFound, Unauthorized, UnsupportedMessage
from chains.contract._store import SortedJournaledMap
from chains.modules._staking_reader import StakingReader, staking_reader
from chains.provider._lien_holder import (
    BurnStake,
    MaxSlash,
    MaxSlashResponse,
    ReceiveStake,
    decode_stake_target,
)
from chains.provider.native_staking._errors import NoProxy
from chains.provider.native_staking._msgs import (
    JailedValidator,
    Jailing,
    NativeStakingConfigQuery,
    NativeStakingConfigResponse,
    NativeStakingInstantiate,
    OwnerByProxyQuery,
    OwnerByProxyResponse,
    ProxyByOwnerQuery,
    ProxyByOwnerResponse,
    RecordDelegation,
    ReleaseProxyStake,
)
from chains.provider.native_staking_proxy._msgs import ProxyBurn, ProxyInstantiate, ProxyStake
from chains.provider.vault._contract import instantiated_address
from chains.provider.vault._msgs import LocalSlash, ReleaseLocalStake, SlashInfo
from mesh_actors import Message

__all__ = ["NativeStaking"]

_PROXY_REPLY_BASE = 1


def _event(kind: str, *attributes: tuple[str, object]) -> Event:
    return Event(type=kind, attributes=tuple((k, str(v)) for k, v in attributes))


class NativeStaking(Contract):
    """The native staking contract core (P-43..P-51). See the module docstring."""

    code: ClassVar[str] = "mesh-native-staking"

    def __init__(self, deps: Any) -> None:
        super().__init__(deps)
        storage = deps.storage
        self._config = storage.item("config")
        self._proxy_by_owner = storage.map("proxy_by_owner")
        self._owner_by_proxy = storage.map("owner_by_proxy")
        # (validator, owner) -> True: the index used only for slashing (P-42, P-50)
        self._delegators: SortedJournaledMap[tuple[str, str], bool] = storage.sorted_map(
            "delegators"
        )
        self._pending_proxies = storage.map("pending_proxies")
        self._reply_seq = storage.item("reply_seq")

    def config(self) -> NativeStakingConfigResponse:
        config: NativeStakingConfigResponse = self._config.load()
        return config

    # -- entry points -------------------------------------------------------------------------

    def instantiate(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        """P-43: the creator becomes ``vault``. Raises ``InvalidSlashRatio`` (ratio > 1)."""
        if not isinstance(msg, NativeStakingInstantiate):
            raise UnsupportedMessage("instantiate", type(msg).__name__)
        one = Decimal18.one()
        if msg.slash_ratio_dsign > one or msg.slash_ratio_offline > one:
            raise InvalidSlashRatio()
        self._config.save(
            NativeStakingConfigResponse(
                denom=msg.denom,
                proxy_code=msg.proxy_code,
                vault=info.sender,
                slash_ratio_dsign=msg.slash_ratio_dsign,
                slash_ratio_offline=msg.slash_ratio_offline,
            )
        )
        return Response()

    def execute(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        """Dispatch ``receive_stake``, ``release_proxy_stake``, ``burn_stake`` and the
        proxies' ``record_delegation``; each handler documents its errors."""
        match msg:
            case ReceiveStake():
                return self._receive_stake(env, info, msg)
            case ReleaseProxyStake():
                return self._release_proxy_stake(info)
            case BurnStake():
                return self._burn_stake(info, msg)
            case RecordDelegation():
                return self._record_delegation(info, msg)
        raise UnsupportedMessage("execute", type(msg).__name__)

    def sudo(self, env: Env, msg: Message) -> Response:
        """The chain's ``jailing`` call (P-48)."""
        if isinstance(msg, Jailing):
            return self._jailing(env, msg)
        raise UnsupportedMessage("sudo", type(msg).__name__)

    def reply(self, env: Env, reply: Reply) -> Response:
        """A proxy was created: store both maps (P-44). Raises ``NoInstantiateData``."""
        owner = self._pending_proxies.pop(reply.id, None)
        if owner is None:
            raise UnsupportedMessage("reply", str(reply.id))
        proxy, _ = instantiated_address(reply)
        self._proxy_by_owner[owner] = proxy
        self._owner_by_proxy[proxy] = owner
        return Response(events=(_event("proxy_created", ("owner", owner), ("proxy", proxy)),))

    def query(self, env: Env, msg: Message) -> Any:
        """``config``, ``proxy_by_owner``, ``owner_by_proxy`` (P-49) and ``max_slash`` (P-47)."""
        match msg:
            case NativeStakingConfigQuery():
                return self.config()
            case MaxSlash():
                config = self.config()
                return MaxSlashResponse(
                    slash_ratio_dsign=config.slash_ratio_dsign,
                    slash_ratio_offline=config.slash_ratio_offline,
                )
            case ProxyByOwnerQuery():
                proxy = self._proxy_by_owner.get(msg.owner)
                if proxy is None:
                    raise NotFound("proxy", msg.owner)
                return ProxyByOwnerResponse(proxy=proxy)
            case OwnerByProxyQuery():
                owner = self._owner_by_proxy.get(msg.proxy)
                if owner is None:
                    raise NotFound("owner", msg.proxy)
                return OwnerByProxyResponse(owner=owner)
        raise UnsupportedMessage("query", type(msg).__name__)

    # -- execute handlers ---------------------------------------------------------------------

    def _receive_stake(self, env: Env, info: MessageInfo, msg: ReceiveStake) -> Response:
        """P-44: stake through the owner's proxy, creating it first if needed.

        Raises ``Unauthorized`` (not the vault), payment errors, ``InvalidStakeMsg``.
        """
        config = self.config()
        if info.sender != config.vault:
            raise Unauthorized()
        amount = must_pay(info.funds, config.denom)
        validator = decode_stake_target(msg.msg)
        self._delegators[(validator, msg.owner)] = True
        funds = (Coin(denom=config.denom, amount=amount),)
        proxy = self._proxy_by_owner.get(msg.owner)
        if proxy is not None:
            return Response.of(
                WasmExecute(contract_addr=proxy, msg=ProxyStake(validator=validator), funds=funds)
            )
        reply_id = self._next_reply_id()
        self._pending_proxies[reply_id] = msg.owner
        create = WasmInstantiate(
            code=config.proxy_code,
            msg=ProxyInstantiate(denom=config.denom, owner=msg.owner, validator=validator),
            funds=funds,
            label=f"LSP for {msg.owner}",
            admin=env.contract_address,
        )
        return Response.of(SubMsg(id=reply_id, msg=create, reply_on=ReplyOn.SUCCESS))

    def _release_proxy_stake(self, info: MessageInfo) -> Response:
        """P-45: forward a proxy's tokens to ``vault.release_local_stake(owner)``.

        Raises ``NotFound`` (caller is not a proxy) or payment errors.
        """
        config = self.config()
        owner = self._owner_by_proxy.get(info.sender)
        if owner is None:
            raise NotFound("proxy", info.sender)
        amount = must_pay(info.funds, config.denom)
        return Response.of(
            WasmExecute(
                contract_addr=config.vault,
                msg=ReleaseLocalStake(owner=owner),
                funds=(Coin(denom=config.denom, amount=amount),),
            )
        )

    def _burn_stake(self, info: MessageInfo, msg: BurnStake) -> Response:
        """P-46: forward to the owner's proxy. Raises ``Unauthorized``, ``NonPayable``,
        ``NoProxy``."""
        config = self.config()
        if info.sender != config.vault:
            raise Unauthorized()
        nonpayable(info.funds)
        proxy = self._proxy_by_owner.get(msg.owner)
        if proxy is None:
            raise NoProxy(msg.owner)
        return Response.of(
            WasmExecute(
                contract_addr=proxy, msg=ProxyBurn(validator=msg.validator, amount=msg.amount)
            )
        )

    def _record_delegation(self, info: MessageInfo, msg: RecordDelegation) -> Response:
        """P-50 [rec]: a proxy restaked to ``validator``; index its owner there.

        Raises ``NotFound`` (caller is not a proxy) or ``NonPayable``.
        """
        nonpayable(info.funds)
        owner = self._owner_by_proxy.get(info.sender)
        if owner is None:
            raise NotFound("proxy", info.sender)
        self._delegators[(msg.validator, owner)] = True
        return Response()

    # -- slashing (P-48, P-50, P-51) ----------------------------------------------------------

    def _jailing(self, env: Env, msg: Jailing) -> Response:
        """P-48: tombstoned validators first with the double-sign ratio, then jailed ones with
        the offline ratio; one ``local_slash`` per validator with at least one slash.

        Per P-51 [rec] a user's slash is ``floor(bonded * ratio)`` plus
        ``floor(initial_balance * ratio)`` of each of its proxy's unbonding entries towards
        the validator created at or after the infraction height and not yet mature. The
        proxy's redelegations *out of* the validator count the same way (the chain slashes
        them too, C-22/C-28; an extension of P-51, since the reference has no restake-aware
        slashing). An index entry is dropped once the proxy has neither a delegation nor
        immature entries of either kind there.
        """
        config = self.config()
        staking: StakingReader = staking_reader(self.deps.querier)
        messages: list[WasmExecute] = []
        listed: list[tuple[str, object]] = []
        for group, items, ratio in (
            ("tombstoned", msg.tombstoned, config.slash_ratio_dsign),
            ("jailed", msg.jailed, config.slash_ratio_offline),
        ):
            for item in items:
                slashes = self._slashes_for(env, staking, item, ratio, listed, group)
                if slashes:
                    messages.append(
                        WasmExecute(
                            contract_addr=config.vault,
                            msg=LocalSlash(slashes=tuple(slashes), validator=item.validator),
                        )
                    )
        event = _event(
            "jailing",
            ("tombstoned", ",".join(v.validator for v in msg.tombstoned)),
            ("jailed", ",".join(v.validator for v in msg.jailed)),
            *listed,
        )
        return Response.of(*messages, events=(event,))

    def _slashes_for(
        self,
        env: Env,
        staking: StakingReader,
        item: JailedValidator,
        ratio: Decimal18,
        listed: list[tuple[str, object]],
        group: str,
    ) -> list[SlashInfo]:
        validator = item.validator
        slashes: list[SlashInfo] = []
        now = env.block.time_s
        for key in self._delegators.keys_between((validator,), (validator + "\x00",)):
            owner = key[1]
            proxy = self._proxy_by_owner.get(owner)
            if proxy is None:
                continue
            bonded = staking.delegation_value(proxy, validator)
            entries = [
                e for e in staking.unbonding_entries(proxy, validator) if e.completion_time > now
            ]
            moved = [
                e
                for _, red in staking.redelegations_from(proxy, validator)
                for e in red
                if e.completion_time > now
            ]
            qualifying = [e for e in entries if e.creation_height >= item.infraction_height]
            moved_qualifying = [e for e in moved if e.creation_height >= item.infraction_height]
            if bonded == 0 and not entries and not moved:
                del self._delegators[key]
                continue
            if bonded == 0 and not qualifying and not moved_qualifying:
                continue
            unbonding = sum(ratio.mul_floor(e.initial_balance) for e in qualifying)
            redelegated = sum(ratio.mul_floor(e.initial_balance) for e in moved_qualifying)
            slash = ratio.mul_floor(bonded) + unbonding + redelegated
            slashes.append(SlashInfo(user=owner, slash=slash))
            detail = f"bonded={ratio.mul_floor(bonded)},unbonding={unbonding}"
            if redelegated:
                detail += f",redelegated={redelegated}"
            listed.append((f"{group}:{validator}:{owner}", detail))
        return slashes

    def _next_reply_id(self) -> int:
        seq: int = self._reply_seq.may_load() or 0
        self._reply_seq.save(seq + 1)
        return _PROXY_REPLY_BASE + seq
