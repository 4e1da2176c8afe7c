"""A consumer chain on the contract kit (the real executor) with the mesh-security module, and
a deployed consumer (price feed, converter, virtual staking), the test being the provider.

``ConsumerKit`` only adds the consumer's shorthands to `ContractKit` (the module, governance
messages, a raising ``call``); every unit runs on the executor."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from chains import ChainConfig, Coin, Decimal18
from chains.consumer import (
    Converter,
    ConverterInstantiate,
    HandleEpoch,
    IcqPriceHost,
    MeshParams,
    MeshSecurityModule,
    MsgSetVirtualStakingMaxCap,
    RemoteTwapPriceFeed,
    SimplePriceFeed,
    SimplePriceFeedInstantiate,
    UpdatePrice,
    VirtualStaking,
)
from chains.contract import (
    ContractStorage,
    CustomMsg,
    Deps,
    IbcAcknowledgement,
    IbcChannel,
    IbcPacket,
)
from chains.host import TxExecutor
from chains.modules import StakingParams
from chains.testing import ContractKit, KitResult, SentPacket
from chains.wire import channel_version, encode_packet

PREFIX = "stars"
DENOM = "stake"
REMOTE = "uosmo"
M = 1_000_000
PROVIDER_PORT = "wasm.provider"


class PacketLog:
    """The packets the chain's contracts sent in committed units since the last ``clear()``
    (a window on the kit's outbox; clearing it changes nothing on the chain)."""

    def __init__(self, kit: ContractKit) -> None:
        self._kit = kit
        self._start = 0

    def clear(self) -> None:
        self._start = len(self._kit.outbox)

    def _items(self) -> list[SentPacket]:
        return list(self._kit.outbox[self._start :])

    def __iter__(self) -> Iterator[SentPacket]:
        return iter(self._items())

    def __len__(self) -> int:
        return len(self._items())

    def __getitem__(self, index: int) -> SentPacket:
        return self._items()[index]

    def __eq__(self, other: object) -> bool:
        return self._items() == other

    __hash__ = None  # type: ignore[assignment]


class ConsumerKit(ContractKit):
    """A consumer chain: the consumer codes, the mesh-security module (``virtual_stake``)."""

    def __init__(
        self,
        params: StakingParams | None = None,
        mesh_params: MeshParams | None = None,
        chain_id: str = "consumer-1",
        fold_epochs: bool = False,
    ) -> None:
        config = ChainConfig(
            chain_id=chain_id,
            prefix=PREFIX,
            bond_denom=DENOM,
            block_time=5,
            staking=params or StakingParams.e2e_consumer(),
        )
        mesh = mesh_params or MeshParams(epoch_length=10)

        def build(ex: TxExecutor) -> MeshSecurityModule:
            return MeshSecurityModule(
                ex.staking,
                account_prefix=PREFIX,
                params=mesh,
                contract_exists=lambda address: ex.contract_info(address) is not None,
                validate_address=ex.validate,
                epoch_idle=ex.epoch_idle if fold_epochs else None,
            )

        super().__init__(
            config,
            codes=(Converter, VirtualStaking, SimplePriceFeed, RemoteTwapPriceFeed, IcqPriceHost),
            modules=(build,),
            counterparty_port=PROVIDER_PORT,
        )
        self.sent = PacketLog(self)

    @property
    def mesh(self) -> MeshSecurityModule:
        module = self.executor.module_object("virtual_stake")
        assert isinstance(module, MeshSecurityModule)
        return module

    def validate(self, address: str) -> str:
        return self.executor.validate(address)

    def deps(self, address: str) -> Deps:
        """Deps of a bare core at an address no contract uses, on this chain's store."""
        storage = ContractStorage(self.store, address)
        return Deps(storage, self.executor.querier, self.executor.validate, self.chain_id)

    @property
    def chain_id(self) -> str:
        return self.config.chain_id

    def call(self, sender: str, contract: str, msg: Any, funds: tuple[Coin, ...] = ()) -> Any:
        """`execute` and return its data; raises the unit's error."""
        return self.execute(sender, contract, msg, funds).unwrap()

    def create(
        self, code: str, msg: Any, sender: str, funds: tuple[Coin, ...] = (), label: str = ""
    ) -> str:
        """`deploy` with the code first; raises the unit's error."""
        return self.deploy(sender, code, msg, funds, label)

    def acknowledge(self, contract: str, packet: IbcPacket, ack: IbcAcknowledgement) -> None:
        """Deliver the provider's ack of a packet ``contract`` sent; raises the unit's error."""
        self.ack(SentPacket(contract, packet, self.height), ack).unwrap()

    def time_out(self, contract: str, packet: IbcPacket) -> None:
        """Deliver the timeout of a packet ``contract`` sent; raises the unit's error."""
        self.timeout(SentPacket(contract, packet, self.height)).unwrap()

    def close_confirm(self, contract: str, channel: IbcChannel) -> None:
        """The provider closed ``channel``: run ``contract``'s CloseConfirm (raising)."""
        self.close_channel(contract, channel, confirm=True).unwrap()

    def gov(self, msg: Any) -> KitResult:
        """A governance message to the mesh-security module, from the gov account."""
        return self.submit(self.executor.gov_address, CustomMsg(module=self.mesh.name, msg=msg))

    def set_max_cap(self, contract: str, amount: int) -> KitResult:
        msg = MsgSetVirtualStakingMaxCap(
            authority=self.executor.gov_address,
            contract=contract,
            max_cap=Coin(denom=DENOM, amount=amount),
        )
        result = self.gov(msg)
        assert result.ok, result.error
        return result

    def provider_packet(self, packet: Any, contract: str, sequence: int = 1) -> IbcPacket:
        """A packet from the provider to ``contract`` on its channel."""
        return self.inbound(contract, encode_packet(packet), sequence=sequence)


@dataclass
class Consumer:
    """A deployed consumer: feed, converter and virtual staking contract, with shortcuts."""

    chain: ConsumerKit
    feed: str
    converter: str
    vs: str
    admin: str

    @property
    def converter_core(self) -> Converter:
        return self.chain.core(self.converter, Converter)

    @property
    def vs_core(self) -> VirtualStaking:
        return self.chain.core(self.vs, VirtualStaking)

    def set_price(self, price: str) -> None:
        self.chain.call(
            self.admin, self.feed, UpdatePrice(native_per_foreign=Decimal18.parse(price))
        )

    def receive(self, packet: Any, sequence: int = 1) -> IbcAcknowledgement:
        return self.chain.receive(
            self.converter, self.chain.provider_packet(packet, self.converter, sequence)
        ).ack

    def epoch(self) -> None:
        """Run the VS epoch now, as the scheduler would (one atomic sudo)."""
        self.chain.sudo(self.vs, HandleEpoch()).unwrap()


def deploy_consumer(
    chain: ConsumerKit,
    *,
    price: str = "0.5",
    discount: str = "0.1",
    max_cap: int | None = None,
    open_channel: bool = True,
    max_retrieve: int = 100,
) -> Consumer:
    admin = chain.address("admin")
    feed = chain.deploy(
        admin,
        SimplePriceFeed.code,
        SimplePriceFeedInstantiate(native_per_foreign=Decimal18.parse(price)),
    )
    converter = chain.deploy(
        admin,
        Converter.code,
        ConverterInstantiate(
            price_feed=feed,
            discount=Decimal18.parse(discount),
            remote_denom=REMOTE,
            virtual_staking_code_id=VirtualStaking.code,
            max_retrieve=max_retrieve,
        ),
    )
    vs = chain.core(converter, Converter).virtual_staking()
    assert vs is not None
    if open_channel:
        chain.open_channel(converter, initiator=True, version=channel_version("0.11.0"))
    if max_cap is not None:
        chain.set_max_cap(vs, max_cap)
    return Consumer(chain=chain, feed=feed, converter=converter, vs=vs, admin=admin)
