"""A provider chain run by its host actor, with the provider contracts deployed.

``provider_chain()`` starts a `Chain` in a virtual-time actor system, plugs in the modules a
provider needs (a packet-capturing ``"ibc"`` module, ``"gov"``, ``"provider"``) and deploys
the contracts in the spec's order (I-49 step 3): the vault, which instantiates native
staking, then each external staking contract. The consumer side is the test: ``ProviderKit``
turns the packets external staking sent into `IbcPacket` values and delivers acks, error
acks, timeouts and consumer packets back as units (``Chain.run_unit`` with the deliveries
of `chains.testing`), exactly as an IBC module would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from chains import Chain, ChainConfig, Coin, Decimal18, GenesisAccount, GenesisValidator, TxResult
from chains.contract import (
    CustomMsg,
    IbcAcknowledgement,
    IbcChannel,
    IbcEndpoint,
    IbcOrder,
    IbcPacket,
    IbcTimeout,
    SdkDec,
    derive_address,
)
from chains.host import TxExecutor
from chains.modules import GovModule, StakingParams
from chains.provider import (
    AuthorizedEndpoint,
    ExternalStaking,
    ExternalStakingInstantiate,
    NativeStaking,
    NativeStakingInstantiate,
    NativeStakingProxy,
    NewLocalStaking,
    ProviderModule,
    ProxyByOwnerQuery,
    SetNativeStaking,
    SlashRatios,
    StakeInfo,
    StakeLocal,
    StakeQuery,
    StakeRemote,
    Vault,
    VaultAccountDetailsQuery,
    VaultAccountDetailsResponse,
    VaultBond,
    VaultConfigQuery,
    VaultInstantiate,
    encode_stake_target,
)
from chains.testing import (
    FakeIbcModule,
    channel_connect,
    channel_open,
    packet_ack,
    packet_receive,
    packet_timeout,
)
from chains.wire import (
    ACK_SUCCESS_BYTES,
    ConsumerPacket,
    ProviderPacket,
    ValidatorInfo,
    ValsetUpdatePacket,
    channel_version,
    decode_provider_packet,
    encode_packet,
)
from mesh_actors.testing import virtual_system

PREFIX = "prov"
DENOM = "ustake"
REWARDS = "ucons"
CONNECTION = "connection-0"
CONVERTER_PORT = "wasm.consumer1converter"
DAY = 86_400
UNBONDING = 21 * DAY  # 1_814_400 s: the chain's and external staking's unbonding period
BLOCK_TIME = 600.0
REMOTE_VALIDATORS = ("cosmosvaloper1a", "cosmosvaloper1b", "cosmosvaloper1c")


def address(name: str) -> str:
    return derive_address(PREFIX, name)


ALICE = address("alice")
BOB = address("bob")
DEPLOYER = address("deployer")
ADMIN = address("admin")
RELAYER = address("relayer")


def make_config(
    *,
    dsign: str = "0.05",
    offline: str = "0.01",
    block_provision: int = 0,
    accounts: Sequence[str] = (ALICE, BOB, DEPLOYER),
) -> ChainConfig:
    """The provider chain: two genesis validators of 1_000_000 ustake each (power_reduction
    1, so small stakes carry power), 21-day unbonding, blocks every 10 minutes."""
    return ChainConfig(
        chain_id="provider-1",
        prefix=PREFIX,
        bond_denom=DENOM,
        block_time=BLOCK_TIME,
        staking=StakingParams(
            power_reduction=1,
            unbonding_time=UNBONDING,
            slash_fraction_double_sign=SdkDec.parse(dsign),
            slash_fraction_downtime=SdkDec.parse(offline),
            block_provision=block_provision,
        ),
        accounts=tuple(
            GenesisAccount(address=a, coins=(Coin(denom=DENOM, amount=10**9),)) for a in accounts
        ),
        validators=(
            GenesisValidator(name="val-a", self_bond=1_000_000),
            GenesisValidator(name="val-b", self_bond=1_000_000),
        ),
    )


def coin(amount: int, denom: str = DENOM) -> Coin:
    return Coin(denom=denom, amount=amount)


@dataclass
class Sent:
    """A packet an external staking contract sent, as the IBC module would have framed it."""

    contract: str
    packet: IbcPacket

    @property
    def decoded(self) -> ProviderPacket:
        return decode_provider_packet(self.packet.data)


@dataclass
class ProviderKit:
    chain: Chain
    vault: str = ""
    native: str = ""
    externals: list[str] = field(default_factory=list)
    channels: dict[str, IbcChannel] = field(default_factory=dict)
    delivered: int = 0
    sequence: int = 0

    # -- identities ---------------------------------------------------------------------------

    @property
    def ext(self) -> str:
        return self.externals[0]

    @property
    def val_a(self) -> str:
        return self.chain.operator("val-a")

    @property
    def val_b(self) -> str:
        return self.chain.operator("val-b")

    # -- deployment (I-49 step 3) -------------------------------------------------------------

    async def deploy(
        self,
        *,
        externals: int = 1,
        native_dsign: str = "0.05",
        native_offline: str = "0.01",
        ext_dsign: str = "0.1",
        ext_offline: str = "0.05",
        ext_unbonding: int = UNBONDING,
    ) -> None:
        chain = self.chain
        for cls in (Vault, NativeStaking, NativeStakingProxy, ExternalStaking):
            await chain.register_code(cls)
        await chain.add_module(_fake_ibc)
        await chain.add_module(_gov)
        await chain.add_module(ProviderModule)
        init = NativeStakingInstantiate(
            denom=DENOM,
            proxy_code=NativeStakingProxy.code,
            slash_ratio_dsign=Decimal18.parse(native_dsign),
            slash_ratio_offline=Decimal18.parse(native_offline),
        )
        self.vault = await chain.instantiate(
            DEPLOYER,
            Vault.code,
            VaultInstantiate(
                denom=DENOM, local_staking=NewLocalStaking(code=NativeStaking.code, init_msg=init)
            ),
            label="vault",
        )
        native = (await chain.query(self.vault, VaultConfigQuery())).local_staking
        assert native is not None
        self.native = native
        set_native = CustomMsg(module="provider", msg=SetNativeStaking(contract=native))
        (await chain.submit(chain.gov_address, set_native)).unwrap()
        for index in range(externals):
            ext = await chain.instantiate(
                DEPLOYER,
                ExternalStaking.code,
                ExternalStakingInstantiate(
                    denom=DENOM,
                    rewards_denom=REWARDS,
                    vault=self.vault,
                    unbonding_period=ext_unbonding,
                    remote_contact=AuthorizedEndpoint(
                        connection_id=CONNECTION, port_id=CONVERTER_PORT
                    ),
                    slash_ratio=SlashRatios(
                        double_sign=Decimal18.parse(ext_dsign),
                        offline=Decimal18.parse(ext_offline),
                    ),
                    admin=ADMIN,
                ),
                label=f"external staking {index}",
            )
            self.externals.append(ext)
            await self.open_channel(ext, index)
            update = ValsetUpdatePacket(
                height=100,
                time=await chain.time(),
                additions=tuple(
                    ValidatorInfo(valoper=v, pub_key=f"pk-{v}") for v in REMOTE_VALIDATORS
                ),
            )
            ack, _ = await self.receive(ext, update)
            assert ack.result() is not None, ack.error_text()

    async def open_channel(self, ext: str, index: int) -> None:
        """OpenTry then OpenConfirm, each its own unit (the provider end is the responder)."""
        channel = IbcChannel(
            endpoint=IbcEndpoint(port_id=f"wasm.{ext}", channel_id=f"channel-{index}"),
            counterparty_endpoint=IbcEndpoint(
                port_id=CONVERTER_PORT, channel_id=f"channel-{index + 7}"
            ),
            order=IbcOrder.UNORDERED,
            version=channel_version(),
            connection_id=CONNECTION,
        )
        opened = await self.chain.run_unit(channel_open(ext, channel, channel_version()))
        opened.unwrap()
        confirmed = await self.chain.run_unit(channel_connect(ext, channel))
        confirmed.unwrap()
        self.channels[channel.endpoint.channel_id] = channel

    # -- user operations ----------------------------------------------------------------------

    async def bond(self, user: str, amount: int) -> TxResult:
        return await self.chain.execute(user, self.vault, VaultBond(), (coin(amount),))

    async def stake_local(self, user: str, amount: int, validator: str | None = None) -> TxResult:
        target = encode_stake_target(validator or self.val_a)
        return await self.chain.execute(
            user, self.vault, StakeLocal(amount=coin(amount), msg=target)
        )

    async def stake_remote(
        self, user: str, amount: int, validator: str = REMOTE_VALIDATORS[0], ext: str | None = None
    ) -> TxResult:
        msg = StakeRemote(
            contract=ext or self.ext, amount=coin(amount), msg=encode_stake_target(validator)
        )
        return await self.chain.execute(user, self.vault, msg)

    async def proxy_of(self, user: str) -> str:
        response = await self.chain.query(self.native, ProxyByOwnerQuery(owner=user))
        proxy: str = response.proxy
        return proxy

    async def account(self, user: str) -> VaultAccountDetailsResponse:
        details: VaultAccountDetailsResponse = await self.chain.query(
            self.vault, VaultAccountDetailsQuery(account=user)
        )
        return details

    async def stake(
        self, user: str, validator: str = REMOTE_VALIDATORS[0], ext: str | None = None
    ) -> StakeInfo:
        info: StakeInfo = await self.chain.query(
            ext or self.ext, StakeQuery(user=user, validator=validator)
        )
        return info

    # -- the consumer side --------------------------------------------------------------------

    async def new_packets(self) -> list[Sent]:
        """Packets sent since the last call, framed with sequences and the channel ends."""
        outbox = await self.chain.read(lambda ex: _ibc(ex).outbox())
        fresh = outbox[self.delivered :]
        self.delivered = len(outbox)
        sent: list[Sent] = []
        for sender, msg in fresh:
            channel = self.channels[msg.channel_id]
            self.sequence += 1
            packet = IbcPacket(
                sequence=self.sequence,
                src=channel.endpoint,
                dest=channel.counterparty_endpoint,
                data=msg.data,
                timeout=msg.timeout,
            )
            sent.append(Sent(sender, packet))
        return sent

    async def one_packet(self) -> Sent:
        (sent,) = await self.new_packets()
        return sent

    async def ack(self, sent: Sent, ack: IbcAcknowledgement | None = None) -> TxResult:
        """Deliver a success ack (or ``ack``) as its own unit."""
        answer = ack or IbcAcknowledgement.success(ACK_SUCCESS_BYTES)
        return await self.chain.run_unit(packet_ack(sent.contract, sent.packet, answer, RELAYER))

    async def error_ack(self, sent: Sent, text: str = "consumer failed") -> TxResult:
        return await self.ack(sent, IbcAcknowledgement.error(text))

    async def timeout(self, sent: Sent) -> TxResult:
        return await self.chain.run_unit(packet_timeout(sent.contract, sent.packet, RELAYER))

    async def receive(
        self, ext: str, packet: ConsumerPacket
    ) -> tuple[IbcAcknowledgement, TxResult]:
        """Deliver a consumer packet; a failing handler's changes are discarded and an error
        ack is written, as the IBC module does (P-93)."""
        channel = next(c for c in self.channels.values() if c.endpoint.port_id == f"wasm.{ext}")
        self.sequence += 1
        ibc_packet = IbcPacket(
            sequence=self.sequence,
            src=channel.counterparty_endpoint,
            dest=channel.endpoint,
            data=encode_packet(packet),
            timeout=IbcTimeout(timestamp_ns=(await self.chain.time() + DAY) * 10**9),
        )
        result = await self.chain.run_unit(packet_receive(ext, ibc_packet, RELAYER))
        assert result.ok, result.error
        ack: IbcAcknowledgement = result.data
        return ack, result


def _fake_ibc(ex: TxExecutor) -> FakeIbcModule:
    return FakeIbcModule(ex.store)


def _gov(ex: TxExecutor) -> GovModule:
    return GovModule(ex.staking)


def _ibc(ex: TxExecutor) -> FakeIbcModule:
    module = ex.module_object("ibc")
    assert isinstance(module, FakeIbcModule)
    return module


@asynccontextmanager
async def provider_chain(
    config: ChainConfig | None = None, **deploy: Any
) -> AsyncIterator[ProviderKit]:
    """A running provider chain with the contracts deployed (see the module docstring)."""
    async with (
        virtual_system("provider") as system,
        Chain(config or make_config(), system) as chain,
    ):
        kit = ProviderKit(chain)
        await kit.deploy(**deploy)
        yield kit
