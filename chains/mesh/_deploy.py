"""Building a mesh's chains and deploying its contracts (ibc.md I-49).

The pieces `Mesh` assembles, each a plain async function of running chains:

- `chain_config`: a `ChainSpec` as the chain's genesis (`ChainConfig`);
- `start_chain`: the chain in an actor system of its own on the shared transport, with its
  IBC module and gateway, the mesh-security module if it consumes (C-40), the provider
  module if it provides (P-51, P-62), and the contract codes its roles need;
- `deploy_price_host`, `deploy_consumer_side`, `deploy_vault`, `deploy_external_staking`:
  the contracts of I-49 steps 1-3;
- `open_channel` (step 4, through the consumer's gateway: the converter initiates, I-40),
  `authorize_max_cap` (step 5, a governance message, C-43) and `subscribe_price_feed`
  (step 6, C-44).

Every contract is deployed by the chain's *deployer* account (``"mesh-deployer"``), which
stays the admin of external staking (so the mesh can request a channel close, P-83a) and
the owner of the simple price feeds and price hosts (so it can move prices).
"""

from __future__ import annotations

import os
import sys
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from chains.consumer.converter._contract import Converter
from chains.consumer.converter._msgs import (
    ConverterConfig,
    ConverterConfigQuery,
    ConverterInstantiate,
)
from chains.consumer.mesh_security._module import MeshParams, MeshSecurityModule
from chains.consumer.mesh_security._msgs import MsgSetPriceFeedContract, MsgSetVirtualStakingMaxCap
from chains.consumer.price_feeds._contract import RemoteTwapPriceFeed, SimplePriceFeed
from chains.consumer.price_feeds._msgs import (
    PriceHostInstantiate,
    RemotePriceFeedInstantiate,
    SetHostPrice,
    SimplePriceFeedInstantiate,
    TradingPair,
)
from chains.consumer.price_feeds._price_host import IcqPriceHost
from chains.consumer.virtual_staking._contract import VirtualStaking
from chains.contract._coin import Coin
from chains.contract._contract import Contract, CustomMsg
from chains.contract._decimal import Decimal18, SdkDec
from chains.contract._ibc_types import IbcOrder
from chains.host._chain import Chain
from chains.host._config import ChainConfig, GenesisAccount, GenesisValidator, account_key
from chains.host._executor import TxExecutor
from chains.host._governance import governance_module
from chains.host._tx_result import TxResult
from chains.ibc._gateway import IbcHandle, install_ibc
from chains.ibc._module import IbcConfig
from chains.ibc._msgs import ChanOpenInit
from chains.mesh._errors import MeshSetupFailed
from chains.mesh._topology import ChainSpec, PairingSpec, RemotePriceFeedSpec, Topology
from chains.modules._params import StakingParams
from chains.provider._module import ProviderModule, SetNativeStaking
from chains.provider.external_staking._contract import ExternalStaking
from chains.provider.external_staking._msgs import (
    AuthorizedEndpoint,
    ExternalStakingInstantiate,
    SlashRatios,
)
from chains.provider.native_staking._contract import NativeStaking
from chains.provider.native_staking._msgs import NativeStakingInstantiate
from chains.provider.native_staking_proxy._contract import NativeStakingProxy
from chains.provider.vault._contract import Vault
from chains.provider.vault._msgs import NewLocalStaking, VaultConfigQuery, VaultInstantiate
from mesh_actors import ActorSystem, Clock
from transport import Transport

# the deployment functions serve `Mesh` only
__all__ = ["MeshChain", "MeshPairing"]

MESH_DEPLOYER = "mesh-deployer"
ICQ_HOST_PORT = "icqhost"
_MESH_MODULE = "virtual_stake"


@dataclass
class MeshChain:
    """One running chain of a mesh and the contracts the mesh deployed on it."""

    spec: ChainSpec
    system: ActorSystem
    chain: Chain
    ibc: IbcHandle
    deployer: str
    vault: str | None = None
    native_staking: str | None = None
    price_host: str | None = None
    price_host_channels: list[str] = field(default_factory=list)
    # The operator addresses of the topology's validators, derived once: a derivation is a
    # pure-Python bech32 encoding, and user actions check names against this set.
    _operators: frozenset[str] | None = field(default=None, repr=False)
    # name -> address and name -> operator address, derived once per name (same reason)
    _addresses: dict[str, str] = field(default_factory=dict, repr=False)
    _operator_of: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def known_operators(self) -> frozenset[str]:
        """Operator addresses of every validator the topology declares on this chain."""
        if self._operators is None:
            self._operators = frozenset(self.chain.operator(v.name) for v in self.spec.validators)
        return self._operators

    @property
    def chain_id(self) -> str:
        return self.spec.id

    @property
    def denom(self) -> str:
        return self.spec.denom

    def address(self, name: str) -> str:
        """The account address of user ``name`` on this chain: the address of the key the
        chain handle holds for it (``Chain.key(name)``), so it can sign as the user."""
        address = self._addresses.get(name)
        if address is None:
            address = self._addresses[name] = self.chain.signer_address(name)
        return address

    def operator(self, name: str) -> str:
        """The operator address of validator ``name``; full operator addresses pass
        through."""
        operator = self._operator_of.get(name)
        if operator is None:
            prefix = f"{self.spec.prefix}valoper1"
            operator = name if name.startswith(prefix) else self.chain.operator(name)
            self._operator_of[name] = operator
        return operator

    def account_name(self, address: str) -> str:
        """The topology name of an account address (the address if unknown)."""
        for account in self.spec.accounts:
            if self.address(account.name) == address:
                return account.name
        return address

    def validator_name(self, operator: str) -> str:
        """The topology name of a validator operator address (the address if unknown)."""
        for v in self.spec.validators:
            if self.chain.operator(v.name) == operator:
                return v.name
        return operator


@dataclass
class MeshPairing:
    """The contracts and channel of one pairing (I-30)."""

    spec: PairingSpec
    price_feed: str
    converter: str
    virtual_staking: str
    external_staking: str = ""
    consumer_connection: str = ""
    provider_connection: str = ""
    consumer_channel: str = ""
    provider_channel: str = ""
    feed_channel: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return self.spec.key


def chain_config(spec: ChainSpec, genesis_time: int, key_seed: bytes = b"") -> ChainConfig:
    """The genesis of ``spec``: its staking parameters, validators and funded accounts,
    whose keys derive from ``key_seed`` (`ChainConfig.key_seed`: empty, guessable
    simulation keys)."""
    staking = StakingParams(
        bond_denom=spec.denom,
        unbonding_time=spec.unbonding_time,
        max_validators=spec.max_validators,
        slash_fraction_double_sign=spec.slash_fraction_double_sign,
        slash_fraction_downtime=spec.slash_fraction_downtime,
        community_tax=spec.community_tax,
        block_provision=spec.block_provision,
    )
    return ChainConfig(
        chain_id=spec.id,
        prefix=spec.prefix,
        bond_denom=spec.denom,
        block_time=spec.block_time,
        genesis_time=genesis_time,
        staking=staking,
        key_seed=key_seed,
        accounts=tuple(
            GenesisAccount(
                # the address of the user's key (`NodeHandle.address`), interned as that
                # one is: one string per user in the state, not one per way it was derived
                address=sys.intern(account_key(a.name, key_seed).address(spec.prefix)),
                coins=(Coin(denom=spec.denom, amount=a.balance),),
            )
            for a in spec.accounts
            if a.balance > 0
        ),
        validators=tuple(
            GenesisValidator(
                name=v.name,
                self_bond=v.tokens,
                commission=v.commission,
                max_rate=max(v.commission, SdkDec.parse("0.2")),
                max_change_rate=SdkDec.parse("0.01"),
            )
            for v in spec.validators
        ),
    )


def _codes(topology: Topology, chain_id: str) -> list[type[Contract]]:
    codes: list[type[Contract]] = []
    if chain_id in topology.consumers():
        codes += [Converter, VirtualStaking, SimplePriceFeed, RemoteTwapPriceFeed]
    if chain_id in topology.providers():
        codes += [Vault, NativeStaking, NativeStakingProxy, ExternalStaking]
    hosts = {
        p.price_feed.host
        for p in topology.pairings
        if isinstance(p.price_feed, RemotePriceFeedSpec)
    }
    if chain_id in hosts:
        codes.append(IcqPriceHost)
    return codes


def _mesh_module_factory(spec: ChainSpec) -> Any:
    def build(executor: TxExecutor) -> MeshSecurityModule:
        return MeshSecurityModule(
            executor.staking,
            account_prefix=spec.prefix,
            params=MeshParams(epoch_length=spec.epoch_blocks),
            authority=executor.gov_address,
            contract_exists=lambda address: executor.contract_info(address) is not None,
            validate_address=executor.validate,
            epoch_idle=executor.epoch_idle,
        )

    return build


async def start_chain(
    stack: AsyncExitStack,
    topology: Topology,
    spec: ChainSpec,
    *,
    clock: Clock,
    transport: Transport,
    ask_timeout: float,
    lazy_blocks: bool = True,
    store_path: str | os.PathLike[str] | None = None,
    key_seed: bytes = b"",
) -> MeshChain:
    """Start ``spec``'s chain (entered on ``stack``, so it stops with it) with IBC, the
    mesh-security module if it consumes, and the codes its roles need; ``lazy_blocks`` as
    for `Chain`. With ``store_path`` the chain then keeps its state there
    (`Chain.attach_store`: resumed from the file's last committed block if it has one;
    its errors propagate, after the chain is stopped with ``stack``). ``key_seed``: the
    secret its keys derive from (`chain_config`)."""
    system = await stack.enter_async_context(
        ActorSystem(spec.id, clock=clock, transport=transport, ask_timeout=ask_timeout)
    )
    chain = await stack.enter_async_context(
        Chain(
            chain_config(spec, topology.genesis_time, key_seed),
            system,
            lazy_blocks=lazy_blocks,
        )
    )
    ibc = await install_ibc(
        chain,
        IbcConfig(verify_proofs=topology.verify_proofs, notice_page=topology.notice_page),
    )
    # x/gov: from another actor system, a signed proposal is the only way to act as the
    # governance authority (issue 13); the staking proxies vote through it (P-55)
    await chain.add_module(governance_module)
    if spec.id in topology.consumers():
        await chain.add_module(_mesh_module_factory(spec))
    if spec.id in topology.providers():
        # the chain-side half of local staking: jailing before slashes, proxy queues
        # (P-51, P-62); pointed at native staking once the vault created it
        await chain.add_module(ProviderModule)
    for code in _codes(topology, spec.id):
        await chain.register_code(code)
    if store_path is not None:
        await chain.attach_store(store_path)
    return MeshChain(
        spec=spec, system=system, chain=chain, ibc=ibc, deployer=chain.signer_address(MESH_DEPLOYER)
    )


def _ok(result: TxResult, step: str) -> TxResult:
    if not result.ok:
        raise MeshSetupFailed(step, str(result.error))
    return result


async def _instantiate(node: MeshChain, code: str, msg: Any, step: str, label: str = "") -> str:
    try:
        address: str = await node.chain.instantiate(
            node.deployer, code, msg, label=label or code, admin=node.deployer
        )
    except Exception as exc:
        raise MeshSetupFailed(step, f"{type(exc).__name__}: {exc}") from exc
    return address


async def deploy_price_host(node: MeshChain) -> str:
    """The simulated ICQ host on ``node``, bound to the ``icqhost`` port (C-65, I-96)."""
    if node.price_host is not None:
        return node.price_host
    host = await _instantiate(
        node, IcqPriceHost.code, PriceHostInstantiate(), f"{node.chain_id}: price host"
    )
    module = node.ibc.module

    def bind(_: TxExecutor) -> None:
        module.bind_port(ICQ_HOST_PORT, host)

    _ok(await node.chain.run_unit(bind), f"{node.chain_id}: bind {ICQ_HOST_PORT}")
    node.price_host = host
    return host


async def deploy_consumer_side(
    consumer: MeshChain, spec: PairingSpec, provider_denom: str, host: MeshChain | None
) -> MeshPairing:
    """I-49 steps 1-2 on the consumer: the price feed, then the converter, which
    instantiates its virtual staking contract (C-67)."""
    where = f"{spec.provider}→{spec.consumer}"
    feed_spec = spec.price_feed
    if isinstance(feed_spec, RemotePriceFeedSpec):
        assert host is not None and host.price_host is not None
        _ok(
            await host.chain.execute(
                host.deployer,
                host.price_host,
                SetHostPrice(pool_id=feed_spec.pool_id, twap=feed_spec.price),
            ),
            f"{where}: initial TWAP",
        )
        feed = await _instantiate(
            consumer,
            RemoteTwapPriceFeed.code,
            RemotePriceFeedInstantiate(
                trading_pair=TradingPair(
                    pool_id=feed_spec.pool_id,
                    base_asset=provider_denom,
                    quote_asset=consumer.denom,
                ),
                epoch_in_secs=feed_spec.epoch_secs,
                price_info_ttl_in_secs=feed_spec.ttl_secs,
            ),
            f"{where}: remote price feed",
        )
    else:
        feed = await _instantiate(
            consumer,
            SimplePriceFeed.code,
            SimplePriceFeedInstantiate(native_per_foreign=feed_spec.price, owner=consumer.deployer),
            f"{where}: price feed",
        )
    converter = await _instantiate(
        consumer,
        Converter.code,
        ConverterInstantiate(
            price_feed=feed,
            discount=spec.discount,
            remote_denom=provider_denom,
            virtual_staking_code_id=VirtualStaking.code,
            tombstoned_unbond_enable=spec.tombstoned_unbond_enable,
            admin=consumer.deployer,
            max_retrieve=spec.max_retrieve,
        ),
        f"{where}: converter",
    )
    config = await consumer.chain.query(converter, ConverterConfigQuery())
    assert isinstance(config, ConverterConfig)
    if config.virtual_staking is None:
        raise MeshSetupFailed(f"{where}: converter", "the converter has no virtual staking")
    return MeshPairing(
        spec=spec, price_feed=feed, converter=converter, virtual_staking=config.virtual_staking
    )


async def deploy_vault(provider: MeshChain) -> str:
    """I-49 step 3 (first half): the vault with a new native staking contract as its local
    staking (P-22, P-43), once per provider chain."""
    if provider.vault is not None:
        return provider.vault
    spec = provider.spec
    init = NativeStakingInstantiate(
        denom=spec.denom,
        proxy_code=NativeStakingProxy.code,
        slash_ratio_dsign=Decimal18.parse(str(spec.slash_fraction_double_sign)),
        slash_ratio_offline=Decimal18.parse(str(spec.slash_fraction_downtime)),
    )
    vault = await _instantiate(
        provider,
        Vault.code,
        VaultInstantiate(
            denom=spec.denom,
            local_staking=NewLocalStaking(
                code=NativeStaking.code, init_msg=init, admin=provider.deployer
            ),
        ),
        f"{spec.id}: vault",
    )
    config = await provider.chain.query(vault, VaultConfigQuery())
    provider.vault = vault
    provider.native_staking = config.local_staking
    if config.local_staking is not None:
        gov = provider.chain.gov_address
        msg = CustomMsg(module="provider", msg=SetNativeStaking(contract=config.local_staking))
        _ok(await provider.chain.submit(gov, msg), f"{spec.id}: native staking hooks")
    return vault


async def deploy_external_staking(
    provider: MeshChain, pairing: MeshPairing, consumer_denom: str
) -> str:
    """I-49 step 3 (second half): external staking for one consumer, whose authorized
    endpoint is the provider-side connection and the converter's port (I-44)."""
    assert provider.vault is not None
    spec = pairing.spec
    ext = await _instantiate(
        provider,
        ExternalStaking.code,
        ExternalStakingInstantiate(
            denom=provider.denom,
            rewards_denom=consumer_denom,
            vault=provider.vault,
            unbonding_period=spec.unbonding_period,
            remote_contact=AuthorizedEndpoint(
                connection_id=pairing.provider_connection, port_id=f"wasm.{pairing.converter}"
            ),
            slash_ratio=SlashRatios(
                double_sign=spec.slash_ratio_double_sign, offline=spec.slash_ratio_offline
            ),
            admin=provider.deployer,
        ),
        f"{spec.provider}→{spec.consumer}: external staking",
    )
    pairing.external_staking = ext
    return ext


async def open_channel(
    node: MeshChain,
    *,
    port: str,
    connection: str,
    counterparty_port: str,
    version: str,
    step: str,
) -> str:
    """``ChanOpenInit`` on ``node`` (the relayers complete the handshake, I-6); returns
    the new channel id. Raises `MeshSetupFailed` if the application refuses (I-7)."""
    result = await node.ibc.run(
        ChanOpenInit(
            port_id=port,
            connection_id=connection,
            counterparty_port_id=counterparty_port,
            ordering=IbcOrder.UNORDERED,
            version=version,
        ),
        signer=node.deployer,
    )
    (outcome,) = result.results or (None,)
    if outcome is None or outcome.status != "ok":
        detail = result.error if outcome is None else f"{outcome.error}: {outcome.detail}"
        raise MeshSetupFailed(step, detail)
    channel: str = outcome.value
    return channel


async def _gov(consumer: MeshChain, msg: Any, step: str) -> TxResult:
    return _ok(
        await consumer.chain.submit(
            consumer.chain.gov_address, CustomMsg(module=_MESH_MODULE, msg=msg)
        ),
        step,
    )


async def authorize_max_cap(consumer: MeshChain, pairing: MeshPairing, amount: int) -> TxResult:
    """Consumer governance: ``MsgSetVirtualStakingMaxCap`` (C-43, I-49 step 5)."""
    gov = consumer.chain.gov_address
    msg = MsgSetVirtualStakingMaxCap(
        authority=gov,
        contract=pairing.virtual_staking,
        max_cap=Coin(denom=consumer.denom, amount=amount),
    )
    return await consumer.chain.submit(gov, CustomMsg(module=_MESH_MODULE, msg=msg))


async def subscribe_price_feed(consumer: MeshChain, pairing: MeshPairing) -> TxResult:
    """Consumer governance: ``MsgSetPriceFeedContract`` for a remote feed (C-44, I-49
    step 6)."""
    gov = consumer.chain.gov_address
    msg = MsgSetPriceFeedContract(authority=gov, contract=pairing.price_feed)
    step = f"{pairing.spec.provider}→{pairing.spec.consumer}: price feed epochs"
    return await _gov(consumer, msg, step)
