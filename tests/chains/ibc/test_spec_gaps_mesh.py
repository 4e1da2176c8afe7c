"""Mesh Security channel requirements no other test named (ibc.md §2): ordering (I-31,
I-32), ack payloads (I-35), events (I-36), channel-record immutability (I-38) and identity
(I-39).

Where it matters, the real contracts run behind the real IBC module: a consumer chain (staking
with two validators, the mesh-security module, price feed, converter, virtual staking) and a
provider chain (external staking), joined by the synchronous relayer of
`tests.chains.ibc._sansio`. Rules that the module cannot reach (a callback the other end never
lets happen) are checked on the cores.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from chains import ChainConfig, Coin, Decimal18, GenesisAccount, GenesisValidator, Unauthorized
from chains.consumer import (
    ICQ_VERSION,
    Converter,
    ConverterConfigQuery,
    ConverterInstantiate,
    ConverterInternalUnstake,
    ConverterValsetUpdate,
    DistributeReward,
    DistributeRewards,
    IcqPriceHost,
    MeshParams,
    MeshSecurityModule,
    MsgSetVirtualStakingMaxCap,
    OnlyUnorderedChannel,
    PriceHostInstantiate,
    RemotePriceFeedInstantiate,
    RemoteTwapPriceFeed,
    RewardPayment,
    SimplePriceFeed,
    SimplePriceFeedInstantiate,
    TradingPair,
    ValsetValidator,
    VirtualStaking,
)
from chains.contract import (
    ChannelConnect,
    ChannelOpen,
    Contract,
    CustomMsg,
    Env,
    IbcAcknowledgement,
    IbcChannel,
    IbcChannelAlreadyOpen,
    IbcEndpoint,
    IbcOrder,
    Store,
    derive_address,
)
from chains.host import TxExecutor
from chains.ibc import ChannelState, ChanOpenInit, IbcModule, OpResult
from chains.modules import StakingParams
from chains.provider import (
    AuthorizedEndpoint,
    CloseControlChannel,
    ExternalStaking,
    ExternalStakingInstantiate,
    IbcChannelQuery,
    SlashRatios,
)
from chains.testing import IbcAppInit, IbcAppSend, IbcTestApp
from chains.wire import (
    ACK_SUCCESS_BYTES,
    BurnPacket,
    DistributePacket,
    InternalUnstakePacket,
    InvalidChannelOrder,
    StakePacket,
    TransferRewardsPacket,
    UnstakePacket,
    ValidatorInfo,
    ValsetUpdatePacket,
    channel_version,
    encode_packet,
)
from tests.chains.consumer._deploy import ConsumerKit, deploy_consumer
from tests.chains.ibc._sansio import Link, Side, port
from tests.chains.provider._ext_fixture import ExtFixture
from tests.chains.provider._ext_fixture import channel as ext_channel
from tests.chains.provider._fakes import FakeQuerier, info, make
from tests.chains.provider._fakes import env as fake_env

DENOM = "stake"
SUCCESS_ACK = b'{"result":"e30="}'  # I-35: {} inside the ICS-04 wrapper
MESH_VERSION = '{"protocol":"mesh-security","version":"0.11.0"}'


class Impostor(IbcTestApp):
    """A test app that speaks the mesh-security version: whoever it is, the handshake
    callbacks of the other end are what decide whether it is trusted (I-39)."""

    code = "test.mesh-impostor"

    def ibc_channel_open(self, env: Env, msg: ChannelOpen) -> str | None:
        self._check_order(msg.channel)
        return msg.counterparty_version or msg.channel.version or channel_version()


class MeshSide(Side):
    """A `Side` whose chain runs mesh contracts: the consumer (staking with validators, the
    mesh-security module) or the provider. ``events`` collects every relayed operation's
    events."""

    def __init__(self, chain_id: str, prefix: str, *, consumer: bool) -> None:
        self.admin = derive_address(prefix, "admin")
        validators = (
            tuple(GenesisValidator(name=n, self_bond=1_000_000) for n in ("v1", "v2"))
            if consumer
            else ()
        )
        config = ChainConfig(
            chain_id=chain_id,
            prefix=prefix,
            staking=StakingParams.e2e_consumer() if consumer else StakingParams(),
            accounts=(
                GenesisAccount(address=self.admin, coins=(Coin(denom=DENOM, amount=10**9),)),
            ),
            validators=validators,
        )
        self.ex = TxExecutor(config)
        self.events: list[Any] = []
        codes: list[type[Contract]] = [IbcTestApp, Impostor, RemoteTwapPriceFeed, IcqPriceHost]
        if consumer:
            executor = self.ex
            mesh = MeshSecurityModule(
                executor.staking,
                account_prefix=prefix,
                params=MeshParams(epoch_length=3),
                contract_exists=lambda address: executor.contract_info(address) is not None,
                validate_address=executor.validate,
            )
            executor.add_module(mesh)
            codes += [Converter, VirtualStaking, SimplePriceFeed]
        else:
            codes.append(ExternalStaking)
        for code in codes:
            self.ex.register_code(code)
        self.ibc = IbcModule(self.ex)
        self.ex.add_module(self.ibc)
        self.ex.begin_block(config.first_block_time)
        self.chain_id = chain_id

    def run(self, *ops: Any) -> tuple[OpResult, ...]:
        result = self.ex.run(lambda: self.ibc.run_ops(ops))
        assert result.ok, result.error
        self.events.extend(result.events)
        data: tuple[OpResult, ...] = result.data
        return data

    def instantiate(self, code: str, msg: Any) -> str:
        address: str = self.ex.instantiate(self.admin, code, msg).unwrap()
        return address

    def events_of(self, kind: str) -> list[dict[str, str]]:
        return [dict(e.attributes) for e in self.events if e.type == kind]


class MeshPair:
    """Consumer ``c`` and provider ``p`` with a connection, the consumer contracts and
    external staking authorized for (provider connection, converter port); no channel yet."""

    def __init__(self) -> None:
        self.c = MeshSide("consumer-1", "cons", consumer=True)
        self.p = MeshSide("provider-1", "prov", consumer=False)
        self.link = Link(self.c, self.p)
        self.feed = self.c.instantiate(
            SimplePriceFeed.code,
            SimplePriceFeedInstantiate(
                native_per_foreign=Decimal18.parse("0.5"), owner=self.c.admin
            ),
        )
        self.converter = self.c.instantiate(
            Converter.code,
            ConverterInstantiate(
                price_feed=self.feed,
                discount=Decimal18.parse("0.1"),
                remote_denom=DENOM,
                virtual_staking_code_id=VirtualStaking.code,
                max_retrieve=10,
                admin=self.c.admin,
            ),
        )
        vs = self.c.ex.query(self.converter, ConverterConfigQuery()).virtual_staking
        assert vs is not None
        self.vs: str = vs
        self.ext = self.p.instantiate(
            ExternalStaking.code,
            ExternalStakingInstantiate(
                denom=DENOM,
                rewards_denom=DENOM,
                vault=derive_address("prov", "vault"),
                unbonding_period=100,
                remote_contact=AuthorizedEndpoint(
                    connection_id=self.link.b_side.connection_id, port_id=port(self.converter)
                ),
                slash_ratio=SlashRatios(
                    double_sign=Decimal18.parse("0.1"), offline=Decimal18.parse("0")
                ),
                admin=self.p.admin,
            ),
        )

    def init(
        self,
        side: MeshSide,
        app: str,
        counterparty: str,
        *,
        ordering: IbcOrder = IbcOrder.UNORDERED,
        version: str = "",
        link: Link | None = None,
    ) -> OpResult:
        """``ChanOpenInit`` on ``side`` from ``app``'s port; then relay until quiet."""
        link = link or self.link
        path = link.a_side if side is link.a else link.b_side
        (result,) = side.run(
            ChanOpenInit(
                port_id=port(app),
                connection_id=path.connection_id,
                counterparty_port_id=port(counterparty),
                ordering=ordering,
                version=version,
            )
        )
        if result.status == "ok":
            side.next_block()
            link.settle()
        return result

    def open(self) -> tuple[str, str]:
        """The control channel, converter → external staking (I-40, I-49 step 4)."""
        result = self.init(self.c, self.converter, self.ext)
        assert result.status == "ok", result
        end = self.c.ibc.channel_end(result.value)
        assert end is not None and end.state is ChannelState.OPEN
        return end.channel_id, end.counterparty_channel_id

    def converter_record(self) -> Any:
        return self.c.ex.contract_state(self.converter).get("channel", {})

    def ext_record(self) -> Any:
        return self.p.ex.contract_state(self.ext)

    def provider_channel(self) -> IbcChannel | None:
        try:
            channel: IbcChannel = self.p.ex.query(self.ext, IbcChannelQuery())
        except Exception:
            return None
        return channel

    def set_max_cap(self, amount: int) -> None:
        gov = self.c.ex.gov_address
        cap = MsgSetVirtualStakingMaxCap(
            authority=gov, contract=self.vs, max_cap=Coin(denom=DENOM, amount=amount)
        )
        assert self.c.ex.submit(gov, CustomMsg(module="virtual_stake", msg=cap)).ok


def _failures(link: Link, chain_id: str) -> list[str]:
    """The names of every failed handshake or packet step relayed to ``chain_id``."""
    names = []
    for where, _, results in link.history:
        if where != chain_id:
            continue
        for result in results:
            if result.status == "error":
                names.append(result.error or "/".join(i for i in result.items if i != "ok"))
    return names


@pytest.fixture
def mesh() -> MeshPair:
    return MeshPair()


# -- I-31 the control channel is UNORDERED ----------------------------------------------------


def test_converter_refuses_an_ordered_control_channel_I_31(mesh: MeshPair) -> None:
    """I-31: OpenInit from the converter's port with ORDERED fails with
    ``IbcVersion(InvalidChannelOrder)``: no channel end, no record, nothing sent."""
    result = mesh.init(mesh.c, mesh.converter, mesh.ext, ordering=IbcOrder.ORDERED)
    assert (result.status, result.error) == ("error", InvalidChannelOrder.__name__)
    assert mesh.c.ibc.channel_ends() == () and mesh.p.ibc.channel_ends() == ()
    assert mesh.converter_record() == {}
    # the same request UNORDERED opens (the refusal was the ordering only)
    consumer_channel, provider_channel = mesh.open()
    assert mesh.c.ibc.channel_end(consumer_channel).ordering is IbcOrder.UNORDERED  # type: ignore[union-attr]
    assert mesh.p.ibc.channel_end(provider_channel).ordering is IbcOrder.UNORDERED  # type: ignore[union-attr]


def test_external_staking_refuses_an_ordered_control_channel_I_31(mesh: MeshPair) -> None:
    """I-31: an ORDERED OpenInit to external staking from the consumer chain (an app that allows
    ORDERED) is refused at OpenTry with ``InvalidChannelOrder``, before any other check."""
    impostor = mesh.c.instantiate(Impostor.code, IbcAppInit())
    result = mesh.init(mesh.c, impostor, mesh.ext, ordering=IbcOrder.ORDERED, version=MESH_VERSION)
    assert result.status == "ok"  # the initiator accepted ORDERED
    # the relayer retries the OpenTry each round; every attempt is refused the same way
    assert set(_failures(mesh.link, mesh.p.chain_id)) == {InvalidChannelOrder.__name__}
    assert mesh.p.ibc.channel_ends() == ()  # I-7: no end created
    assert mesh.provider_channel() is None


def test_the_connect_callbacks_refuse_ordered_too_I_31() -> None:
    """I-31: OpenAck (converter) and OpenConfirm (external staking) check the ordering again and
    store nothing when it is not UNORDERED (the module cannot reach these with an ORDERED
    channel once OpenInit/OpenTry refused it, so the cores are called directly)."""
    chain = ConsumerKit()
    chain.add_validator("a", 1_000_000)
    chain.next_block()
    consumer = deploy_consumer(chain, open_channel=False)
    core, env = consumer.converter_core, chain.env(consumer.converter)
    ordered = IbcChannel(
        endpoint=IbcEndpoint(port_id=f"wasm.{consumer.converter}", channel_id="channel-0"),
        counterparty_endpoint=IbcEndpoint(port_id="wasm.ext", channel_id="channel-0"),
        order=IbcOrder.ORDERED,
        version=MESH_VERSION,
        connection_id="connection-0",
    )
    with pytest.raises(InvalidChannelOrder) as refused:
        core.ibc_channel_connect(
            env, ChannelConnect(channel=ordered, counterparty_version=MESH_VERSION)
        )
    assert refused.value.name == "InvalidChannelOrder"
    assert core.channel() is None and chain.sent == []

    fresh = _fresh_external_staking()
    with pytest.raises(InvalidChannelOrder):
        fresh.ibc_channel_connect(
            fake_env("ext"), ChannelConnect(channel=ext_channel(order=IbcOrder.ORDERED))
        )
    with pytest.raises(InvalidChannelOrder):
        fresh.ibc_channel_open(
            fake_env("ext"),
            ChannelOpen(
                channel=ext_channel(order=IbcOrder.ORDERED), counterparty_version=MESH_VERSION
            ),
        )
    assert fresh.state.channel() is None


def _fresh_external_staking() -> ExternalStaking:
    """An instantiated external staking core without a channel."""
    ext = make(ExternalStaking, Store(), "ext", FakeQuerier())
    ext.instantiate(
        fake_env("ext"),
        info("creator"),
        ExternalStakingInstantiate(
            denom="ustake",
            rewards_denom="ucons",
            vault="vault",
            unbonding_period=10,
            remote_contact=AuthorizedEndpoint(
                connection_id="connection-0", port_id="wasm.converter"
            ),
            slash_ratio=SlashRatios(
                double_sign=Decimal18.parse("0.1"), offline=Decimal18.parse("0")
            ),
        ),
    )
    return ext


# -- I-32 price channels are UNORDERED ---------------------------------------------------------


class _IcqPair:
    """The remote TWAP feed on ``a`` (port ``wasm.<feed>``) and the ICQ host on ``b``, bound
    to the ``icqhost`` module port (I-3, I-96)."""

    def __init__(self, pair: tuple[Side, Side, Link]) -> None:
        self.a, self.b, self.link = pair
        for side in (self.a, self.b):
            side.ex.register_code(RemoteTwapPriceFeed)
            side.ex.register_code(IcqPriceHost)
        self.feed = self.a.ex.instantiate(
            self.a.admin,
            RemoteTwapPriceFeed.code,
            RemotePriceFeedInstantiate(
                trading_pair=TradingPair(pool_id=1, base_asset="uosmo", quote_asset="stake"),
                epoch_in_secs=60,
                price_info_ttl_in_secs=600,
            ),
        ).unwrap()
        self.host = self.b.ex.instantiate(
            self.b.admin, IcqPriceHost.code, PriceHostInstantiate()
        ).unwrap()
        host = self.host
        assert self.b.ex.run(lambda: self.b.ibc.bind_port("icqhost", host)).ok

    def init_from_feed(self, ordering: IbcOrder) -> OpResult:
        (result,) = self.a.run(
            ChanOpenInit(
                port_id=port(self.feed),
                connection_id=self.link.a_side.connection_id,
                counterparty_port_id="icqhost",
                ordering=ordering,
                version=ICQ_VERSION,
            )
        )
        if result.status == "ok":
            self.a.next_block()
            self.link.settle()
        return result


def test_remote_twap_feed_channel_must_be_unordered_I_32(pair: tuple[Side, Side, Link]) -> None:
    """I-32: the ``icq-1`` feed refuses ORDERED at OpenInit (``OnlyUnorderedChannel``), and
    so does the ICQ host at OpenTry; the same channel UNORDERED opens."""
    icq = _IcqPair(pair)
    result = icq.init_from_feed(IbcOrder.ORDERED)
    assert (result.status, result.error) == ("error", OnlyUnorderedChannel.__name__)
    assert icq.a.ibc.channel_ends() == () and icq.b.ibc.channel_ends() == ()
    # the host's own check, reached by an app on a that does accept ORDERED
    app = icq.a.deploy_app()
    (init,) = icq.a.run(
        ChanOpenInit(
            port_id=port(app),
            connection_id=icq.link.a_side.connection_id,
            counterparty_port_id="icqhost",
            ordering=IbcOrder.ORDERED,
        )
    )
    assert init.status == "ok"
    icq.a.next_block()
    icq.link.settle()
    assert set(_failures(icq.link, icq.b.chain_id)) == {OnlyUnorderedChannel.__name__}
    assert icq.b.ibc.channel_ends() == ()
    opened = icq.init_from_feed(IbcOrder.UNORDERED)
    assert opened.status == "ok"
    end = icq.a.ibc.channel_end(opened.value)
    assert end is not None and end.state is ChannelState.OPEN
    assert (end.ordering, end.version) == (IbcOrder.UNORDERED, ICQ_VERSION)


def test_remote_twap_feed_refuses_ordered_on_every_callback_I_32(
    pair: tuple[Side, Side, Link],
) -> None:
    """I-32 on the feed core: OpenTry and OpenAck/OpenConfirm refuse ORDERED as well, and
    nothing is stored. (The Band ``bandchain-1`` feed, C-64, is not built.)"""
    a, _, _ = pair
    icq = _IcqPair(pair)

    def channel(order: IbcOrder) -> IbcChannel:
        return IbcChannel(
            endpoint=IbcEndpoint(port_id=port(icq.feed), channel_id="channel-0"),
            counterparty_endpoint=IbcEndpoint(port_id="icqhost", channel_id="channel-0"),
            order=order,
            version=ICQ_VERSION,
            connection_id="connection-0",
        )

    ordered = channel(IbcOrder.ORDERED)
    calls = (
        lambda core, env: core.ibc_channel_open(
            env, ChannelOpen(channel=ordered, counterparty_version=ICQ_VERSION)
        ),
        lambda core, env: core.ibc_channel_connect(
            env, ChannelConnect(channel=ordered, counterparty_version=ICQ_VERSION)
        ),
        lambda core, env: core.ibc_channel_connect(env, ChannelConnect(channel=ordered)),
    )
    for call in calls:

        def unit(call: Any = call) -> Any:
            return a.ex.call_contract(icq.feed, "ibc", call)

        assert a.ex.run(unit).error == OnlyUnorderedChannel()
    assert "channel" not in a.ex.contract_state(icq.feed)
    unordered = channel(IbcOrder.UNORDERED)
    connected = a.ex.run(
        lambda: a.ex.call_contract(
            icq.feed,
            "ibc",
            lambda core, env: core.ibc_channel_connect(env, ChannelConnect(channel=unordered)),
        )
    )
    assert connected.ok, connected.error
    assert a.ex.contract_state(icq.feed)["channel"]


# -- I-35 ack payloads ---------------------------------------------------------------------------


def test_success_acks_are_exactly_the_empty_object_I_35(mesh: MeshPair) -> None:
    """I-35: every success ack is ``{"result": "e30="}`` byte for byte (``e30=`` is
    base64 of ``{}``): the provider's ack of the initial validator sync written by the real
    module, the converter's acks of every provider packet, external staking's acks of every
    consumer packet."""
    assert ACK_SUCCESS_BYTES == b"{}"
    assert IbcAcknowledgement.success(ACK_SUCCESS_BYTES).data == SUCCESS_ACK
    _, provider_channel = mesh.open()
    assert mesh.p.ibc.acknowledgement(provider_channel, 1) == SUCCESS_ACK

    chain = ConsumerKit()
    for name in "ab":
        chain.add_validator(name, 1_000_000)
    chain.next_block()
    consumer = deploy_consumer(chain, max_cap=10**9)
    v = chain.operator("a")
    chain.fund(consumer.converter, 100)
    remote = Coin(denom="uosmo", amount=1000)
    for packet in (
        StakePacket(delegator="osmo1u", validator=v, stake=remote, tx_id=1),
        UnstakePacket(
            delegator="osmo1u", validator=v, unstake=Coin(denom="uosmo", amount=10), tx_id=2
        ),
        BurnPacket(validators=(v,), burn=Coin(denom="uosmo", amount=10)),
        TransferRewardsPacket(
            rewards=Coin(denom="stake", amount=5), recipient=chain.address("u"), tx_id=3
        ),
    ):
        assert consumer.receive(packet).data == SUCCESS_ACK, packet

    ext = ExtFixture(validators=("valA",))
    user_stake = ext.stake("user", "valA", 100, tx_id=1)
    ext.ack(user_stake)
    for consumer_packet in (
        ValsetUpdatePacket(
            height=600, time=ext.now, additions=(ValidatorInfo(valoper="valB", pub_key="pk"),)
        ),
        DistributePacket(validator="valA", rewards=Coin(denom="ucons", amount=7)),
        InternalUnstakePacket(
            delegator="user",
            validator="valA",
            normalize_amount=Coin(denom="ucons", amount=5),
            inverted_amount=Coin(denom="ustake", amount=10),
        ),
    ):
        assert ext.receive(consumer_packet).ack.data == SUCCESS_ACK, consumer_packet
    assert ext.distribute(("valA", 3)).ack.data == SUCCESS_ACK


def test_error_acks_are_a_single_error_text_I_35(mesh: MeshPair) -> None:
    """I-35: an error ack is ``{"error": "<text>"}`` and nothing else, as the real module
    writes it for a refused distribute (no stake, P-73) on the provider (the consumer's
    refusals: `test_consumer_trusts_the_first_counterparty_the_cap_grants_power_I_39`)."""
    consumer_channel, provider_channel = mesh.open()
    vs = mesh.vs
    assert mesh.c.ex.run(lambda: mesh.c.ex.bank.mint(vs, DENOM, 50)).ok
    distributed = mesh.c.ex.execute(
        vs,
        mesh.converter,
        DistributeReward(validator="provaloper1nobody"),
        funds=(Coin(denom=DENOM, amount=50),),
    )
    assert distributed.ok, distributed.error
    mesh.c.next_block()
    mesh.link.settle()
    ack = mesh.p.ibc.acknowledgement(provider_channel, 2)
    assert ack is not None
    body = json.loads(ack)
    assert list(body) == ["error"] and isinstance(body["error"], str) and body["error"]
    assert IbcAcknowledgement(data=ack).result() is None
    assert mesh.c.ibc.outcome(consumer_channel, 2) == "acked"


# -- I-36 events for every packet handled --------------------------------------------------------


def test_packets_handled_by_the_real_chains_emit_their_events_I_36(mesh: MeshPair) -> None:
    """I-36 through the real module: external staking reports the validator sync it applied
    (``valset_update``, P-*), and the converter reports every error ack it receives with
    ``mesh_ibc_error {error, channel, sequence}`` (C-82), one per ack."""
    consumer_channel, _ = mesh.open()
    bonded = ",".join(v.operator for v in mesh.c.ex.staking.bonded_validators())
    assert mesh.p.events_of("valset_update") == [{"additions": bonded}]
    assert mesh.c.events_of("mesh_ibc_error") == []  # the sync was acknowledged with success
    vs = mesh.vs
    assert mesh.c.ex.run(lambda: mesh.c.ex.bank.mint(vs, DENOM, 20)).ok
    for validator in ("provaloper1nobody", "provaloper1noone"):
        sent = mesh.c.ex.execute(
            vs,
            mesh.converter,
            DistributeReward(validator=validator),
            funds=(Coin(denom=DENOM, amount=10),),
        )
        assert sent.ok, sent.error
    mesh.c.next_block()
    mesh.link.settle()
    errors = mesh.c.events_of("mesh_ibc_error")
    assert [(e["channel"], e["sequence"]) for e in errors] == [
        (consumer_channel, "2"),
        (consumer_channel, "3"),
    ]
    for event, sequence in zip(errors, (2, 3), strict=True):
        assert mesh.c.ibc.outcome(consumer_channel, sequence) == "acked"
        assert event["error"]  # the provider's error text, as written in the ack


def test_every_packet_kind_has_its_event_on_both_cores_I_36() -> None:
    """I-36 on the cores: the converter emits ``mesh-bond``/``mesh-unbond``/``mesh-burn``/
    ``mesh-transfer-rewards`` for the provider packets (C-71..C-74) and one ``mesh_ibc_error``
    for every error ack of each of its packet kinds; external staking emits an event for every
    consumer packet and for every ack or timeout of its own packets."""
    chain = ConsumerKit()
    for name in "ab":
        chain.add_validator(name, 1_000_000)
    chain.next_block()
    consumer = deploy_consumer(chain, max_cap=10**9)
    v = chain.operator("a")
    chain.fund(consumer.converter, 100)
    chain.fund(consumer.vs, 100)
    remote = Coin(denom="uosmo", amount=1000)
    provider_packets = (
        (StakePacket(delegator="osmo1u", validator=v, stake=remote, tx_id=1), "mesh-bond"),
        (
            UnstakePacket(
                delegator="osmo1u", validator=v, unstake=Coin(denom="uosmo", amount=10), tx_id=2
            ),
            "mesh-unbond",
        ),
        (BurnPacket(validators=(v,), burn=Coin(denom="uosmo", amount=10)), "mesh-burn"),
        (
            TransferRewardsPacket(
                rewards=Coin(denom="stake", amount=5), recipient=chain.address("u"), tx_id=3
            ),
            "mesh-transfer-rewards",
        ),
    )
    for sequence, (packet, kind) in enumerate(provider_packets, start=1):
        before = len(chain.events)
        assert consumer.receive(packet, sequence).data == SUCCESS_ACK
        assert [e.type for e in chain.events[before:] if e.type == kind] == [kind]

    chain.sent.clear()
    local = Coin(denom="stake", amount=10)
    info_a = ValsetValidator(address=v, commission="0", max_commission="1", max_change_rate="1")
    for msg, funds in (
        (ConverterValsetUpdate(additions=(info_a,)), ()),
        (DistributeReward(validator=v), (local,)),
        (DistributeRewards(payments=(RewardPayment(validator=v, reward=10),)), (local,)),
        (
            ConverterInternalUnstake(
                delegator="osmo1u", validator=v, amount=Coin(denom="stake", amount=1)
            ),
            (),
        ),
    ):
        chain.call(consumer.vs, consumer.converter, msg, funds=funds)
    sent = list(chain.sent)
    assert len(sent) == 4
    for one in sent:
        chain.acknowledge(
            consumer.converter, one.packet, IbcAcknowledgement.error(f"no {one.sequence}")
        )
    errors = [dict(e.attributes) for e in chain.events if e.type == "mesh_ibc_error"]
    assert errors == [
        {"error": f"no {s.sequence}", "channel": s.channel_id, "sequence": str(s.sequence)}
        for s in sent
    ]
    # an ack that is neither success nor error is reported too
    chain.acknowledge(consumer.converter, sent[0].packet, IbcAcknowledgement(data=b"{}"))
    last = [dict(e.attributes) for e in chain.events if e.type == "mesh_ibc_error"][-1]
    assert last["sequence"] == str(sent[0].sequence) and last["error"]

    ext = ExtFixture(validators=("valA",))

    def kinds(response: Any) -> list[str]:
        return [e.type for e in response.events]

    assert kinds(ext.ack(ext.stake("user", "valA", 100, tx_id=1))) == ["stake_committed"]
    assert kinds(ext.ack(ext.stake("user", "valA", 50, tx_id=2), ok=False)) == ["stake_rolled_back"]
    assert kinds(ext.timeout(ext.stake("user", "valA", 50, tx_id=3))) == ["stake_rolled_back"]
    assert kinds(ext.ack(ext.unstake("user", "valA", 10))) == ["unstake_committed"]
    assert kinds(ext.ack(ext.unstake("user", "valA", 10), ok=False)) == ["unstake_rolled_back"]
    assert "valset_update" in kinds(
        ext.receive(
            ValsetUpdatePacket(
                height=600, time=ext.now, additions=(ValidatorInfo(valoper="valB", pub_key="pk"),)
            )
        )
    )
    assert kinds(
        ext.receive(DistributePacket(validator="valA", rewards=Coin(denom="ucons", amount=700)))
    ) == ["distribute"]
    assert kinds(ext.distribute(("valA", 300))) == ["distribute_batch"]
    assert kinds(ext.ack(ext.withdraw_rewards("user", "valA"))) == ["rewards_transferred"]
    ext.distribute(("valA", 300))
    assert kinds(ext.ack(ext.withdraw_rewards("user", "valA"), ok=False)) == [
        "rewards_transfer_failed"
    ]
    assert kinds(
        ext.receive(
            InternalUnstakePacket(
                delegator="user",
                validator="valA",
                normalize_amount=Coin(denom="ucons", amount=5),
                inverted_amount=Coin(denom="ustake", amount=10),
            )
        )
    ) == ["internal_unstake"]


# -- I-38 the channel record is never replaced ---------------------------------------------------


def test_channel_records_are_never_replaced_I_38(mesh: MeshPair) -> None:
    """I-38: once each contract stored its record, no handshake replaces it: not another
    one from the converter (same or a new connection), not one from another app reaching
    external staking; closing marks the record closed but keeps it, and it still refuses."""
    consumer_channel, provider_channel = mesh.open()
    converter_record = mesh.converter_record()
    provider_record = mesh.provider_channel()
    assert provider_record is not None
    assert provider_record.endpoint.channel_id == provider_channel

    again = mesh.init(mesh.c, mesh.converter, mesh.ext)
    assert (again.status, again.error) == ("error", IbcChannelAlreadyOpen.__name__)
    second_link = Link(mesh.c, mesh.p)  # a second connection between the same chains
    other = mesh.init(mesh.c, mesh.converter, mesh.ext, link=second_link)
    assert (other.status, other.error) == ("error", IbcChannelAlreadyOpen.__name__)
    impostor = mesh.c.instantiate(Impostor.code, IbcAppInit())
    reached = mesh.init(mesh.c, impostor, mesh.ext, version=MESH_VERSION)
    assert reached.status == "ok"
    assert set(_failures(mesh.link, mesh.p.chain_id)) == {IbcChannelAlreadyOpen.__name__}
    assert mesh.converter_record() == converter_record
    assert mesh.provider_channel() == provider_record
    assert [e.channel_id for e in mesh.p.ibc.channel_ends()] == [provider_channel]

    # the provider closes (P-83a, after governance authorized the cap, I-49 step 5)
    mesh.set_max_cap(10**6)
    closed = mesh.p.ex.execute(mesh.p.admin, mesh.ext, CloseControlChannel())
    assert closed.ok, closed.error
    mesh.p.next_block()
    mesh.link.settle()
    assert mesh.c.ibc.channel_end(consumer_channel).state is ChannelState.CLOSED  # type: ignore[union-attr]
    kept = mesh.converter_record()["value"]
    assert kept.closed and kept.channel == converter_record["value"].channel
    assert mesh.provider_channel() == provider_record
    assert mesh.ext_record()["channel"]["value"].closed
    refused = mesh.init(mesh.c, mesh.converter, mesh.ext)
    assert (refused.status, refused.error) == ("error", IbcChannelAlreadyOpen.__name__)


def test_external_staking_keeps_its_first_record_on_the_core_I_38() -> None:
    """I-38 on the core: an OpenConfirm for another channel on the authorized endpoint is
    refused and the stored record is unchanged, open or closed."""
    ext = _fresh_external_staking()
    first = ext_channel(channel_id="channel-0")
    ext.ibc_channel_connect(fake_env("ext"), ChannelConnect(channel=first))
    for call in (
        lambda: ext.ibc_channel_connect(
            fake_env("ext"), ChannelConnect(channel=ext_channel(channel_id="channel-5"))
        ),
        lambda: ext.ibc_channel_open(
            fake_env("ext"),
            ChannelOpen(
                channel=ext_channel(channel_id="channel-5"), counterparty_version=MESH_VERSION
            ),
        ),
    ):
        with pytest.raises(IbcChannelAlreadyOpen):
            call()
        record = ext.state.channel()
        assert record is not None and record.channel == first and not record.closed


# -- I-39 identity -------------------------------------------------------------------------------


def test_provider_trusts_only_the_authorized_connection_and_port_I_39(mesh: MeshPair) -> None:
    """I-39 / I-44: external staking accepts the converter through the authorized provider
    connection only; another app on that connection, or the converter over another
    connection, is ``Unauthorized`` at OpenTry and leaves no channel."""
    impostor = mesh.c.instantiate(Impostor.code, IbcAppInit())
    assert mesh.init(mesh.c, impostor, mesh.ext, version=MESH_VERSION).status == "ok"
    assert set(_failures(mesh.link, mesh.p.chain_id)) == {Unauthorized.__name__}
    assert mesh.p.ibc.channel_ends() == ()

    second_link = Link(mesh.c, mesh.p)
    assert second_link.b_side.connection_id != mesh.link.b_side.connection_id
    assert mesh.init(mesh.c, mesh.converter, mesh.ext, link=second_link).status == "ok"
    assert set(_failures(second_link, mesh.p.chain_id)) == {Unauthorized.__name__}
    assert mesh.p.ibc.channel_ends() == ()
    assert mesh.provider_channel() is None
    assert mesh.converter_record() == {}  # the converter stores only at OpenAck

    # the converter's own half-open INIT end is harmless (I-7): the authorized path still opens
    consumer_channel, _ = mesh.open()
    stored = mesh.provider_channel()
    assert stored is not None
    assert stored.connection_id == mesh.link.b_side.connection_id
    assert stored.counterparty_endpoint.port_id == port(mesh.converter)
    assert mesh.converter_record()["value"].channel.endpoint.channel_id == consumer_channel


def test_consumer_trusts_the_first_counterparty_the_cap_grants_power_I_39(
    mesh: MeshPair,
) -> None:
    """I-39 / C-111: the converter completes a handshake with whoever answers first (here an
    impostor app on the provider chain, not external staking); what it may then do is bounded
    by governance's max cap (C-43): its stake is refused with an error ack until the cap is
    set (C-88), accepted after."""
    impostor = mesh.p.instantiate(Impostor.code, IbcAppInit())
    consumer_channel = mesh.init(mesh.c, mesh.converter, impostor).value
    end = mesh.c.ibc.channel_end(consumer_channel)
    assert end is not None and end.state is ChannelState.OPEN
    impostor_channel = end.counterparty_channel_id
    assert end.counterparty_port_id == port(impostor)
    assert mesh.converter_record()["value"].channel.counterparty_endpoint.port_id == port(impostor)
    validator = mesh.c.ex.staking.bonded_validators()[0].operator
    stake = StakePacket(
        delegator="prov1someone", validator=validator, stake=Coin(denom=DENOM, amount=1000), tx_id=1
    )

    def send_stake() -> bytes:
        result = mesh.p.ex.execute(
            mesh.p.admin,
            impostor,
            IbcAppSend(channel_id=impostor_channel, data=encode_packet(stake), timeout_seconds=600),
        )
        assert result.ok, result.error
        sequence = mesh.p.ibc.next_sequence_send(impostor_channel) - 1
        mesh.p.next_block()
        mesh.link.settle()
        ack = mesh.c.ibc.acknowledgement(consumer_channel, sequence)
        assert ack is not None
        return ack

    refused = send_stake()
    body = json.loads(refused)
    assert list(body) == ["error"] and body["error"] == "Unauthorized"  # I-35 shape, C-88
    assert mesh.c.events_of("mesh-bond") == []
    mesh.set_max_cap(10**6)
    assert send_stake() == SUCCESS_ACK
    # 1000 * 0.5 * (1 - 0.1) = 450 (C-69)
    assert mesh.c.events_of("mesh-bond") == [{"validator": validator, "amount": "450"}]
