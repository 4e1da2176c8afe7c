"""A provider deployed on the contract kit (the real executor): vault, native staking and
external staking contracts, with the test as the consumer chain's end of each channel."""

from __future__ import annotations

from dataclasses import dataclass

from chains import ChainConfig, Coin, Decimal18, GenesisValidator
from chains.modules import StakingParams
from chains.provider import (
    AuthorizedEndpoint,
    ExternalStaking,
    ExternalStakingInstantiate,
    NativeStaking,
    NativeStakingInstantiate,
    NativeStakingProxy,
    NewLocalStaking,
    SlashRatios,
    Vault,
    VaultConfigQuery,
    VaultInstantiate,
)
from chains.testing import ContractKit
from chains.wire import ValidatorInfo, ValsetUpdatePacket, channel_version, encode_packet

PREFIX = "stars"
DENOM = "ustake"
CONNECTION = "connection-0"
CONVERTER_PORT = "wasm.converter"
BLOCK_SECONDS = 5


@dataclass
class Provider:
    """A vault with native staking and external staking contracts on one `ContractKit`."""

    chain: ContractKit
    vault: str
    native: str
    externals: list[str]
    native_validators: list[str]
    remote_validators: list[str]

    @property
    def ext(self) -> str:
        return self.externals[0]

    def coin(self, amount: int) -> Coin:
        return Coin(denom=DENOM, amount=amount)

    def user(self, name: str) -> str:
        return self.chain.address(name)

    @property
    def vault_core(self) -> Vault:
        return self.chain.core(self.vault, Vault)

    def ext_core(self, ext: str | None = None) -> ExternalStaking:
        return self.chain.core(ext or self.ext, ExternalStaking)


def provider_kit(
    *, unbonding_time: int = 1_814_400, max_entries: int = 7, native_validators: int = 2
) -> ContractKit:
    """The provider chain: ``native_validators`` genesis validators of 1_000_000 each
    (power reduction 1), blocks every 5 s, the provider codes registered."""
    config = ChainConfig(
        chain_id="provider",
        prefix=PREFIX,
        bond_denom=DENOM,
        block_time=BLOCK_SECONDS,
        staking=StakingParams(
            bond_denom=DENOM,
            unbonding_time=unbonding_time,
            max_entries=max_entries,
            power_reduction=1,
        ),
        validators=tuple(
            GenesisValidator(name=f"nv{i}", self_bond=1_000_000) for i in range(native_validators)
        ),
    )
    return ContractKit(
        config,
        codes=(Vault, NativeStaking, NativeStakingProxy, ExternalStaking),
        counterparty_port=CONVERTER_PORT,
        connection_id=CONNECTION,
    )


def build_provider(
    *,
    externals: int = 1,
    native_validators: int = 2,
    remote_validators: tuple[str, ...] = ("valA", "valB", "valC"),
    unbonding_period: int = 1_000,
    native_unbonding_time: int = 1_814_400,
    ext_dsign: str = "0.1",
    ext_offline: str = "0.05",
    native_dsign: str = "0.05",
    native_offline: str = "0.01",
    max_entries: int = 7,
) -> Provider:
    """Deploy vault + native staking (+ proxy code) + external staking contracts, open their
    channels and tell each external staking that ``remote_validators`` are active."""
    chain = provider_kit(
        unbonding_time=native_unbonding_time,
        max_entries=max_entries,
        native_validators=native_validators,
    )
    natives = [chain.operator(f"nv{i}") for i in range(native_validators)]
    deployer = chain.address("deployer")
    init = NativeStakingInstantiate(
        denom=DENOM,
        proxy_code=NativeStakingProxy.code,
        slash_ratio_dsign=Decimal18.parse(native_dsign),
        slash_ratio_offline=Decimal18.parse(native_offline),
    )
    vault = chain.deploy(
        deployer,
        Vault,
        VaultInstantiate(
            denom=DENOM, local_staking=NewLocalStaking(code=NativeStaking.code, init_msg=init)
        ),
    )
    local = chain.query(vault, VaultConfigQuery()).local_staking
    assert local is not None
    exts: list[str] = []
    for i in range(externals):
        ext = chain.deploy(
            deployer,
            ExternalStaking,
            ExternalStakingInstantiate(
                denom=DENOM,
                rewards_denom="ucons",
                vault=vault,
                unbonding_period=unbonding_period,
                remote_contact=AuthorizedEndpoint(connection_id=CONNECTION, port_id=CONVERTER_PORT),
                slash_ratio=SlashRatios(
                    double_sign=Decimal18.parse(ext_dsign), offline=Decimal18.parse(ext_offline)
                ),
                admin=chain.address("admin"),
            ),
            label=f"ext{i}",
        )
        chain.open_channel(ext, version=channel_version())
        update = ValsetUpdatePacket(
            height=100,
            time=chain.time_s,
            additions=tuple(ValidatorInfo(valoper=v, pub_key=f"pk-{v}") for v in remote_validators),
        )
        _ack, result = chain.receive(ext, encode_packet(update))
        assert result.ok, result.error
        exts.append(ext)
    return Provider(chain, vault, local, exts, natives, list(remote_validators))
