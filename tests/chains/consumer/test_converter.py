"""The converter (consumer.md §6, C-66..C-85) and its side of the control channel
(ibc.md I-40..I-49, I-56..I-62), on the contract kit (the real executor)."""

from __future__ import annotations

import json

import pytest

from chains import Coin, Decimal18, InvalidAddress, InvalidDenom, Unauthorized
from chains.consumer import (
    Converter,
    ConverterConfig,
    ConverterConfigQuery,
    ConverterInstantiate,
    ConverterInternalUnstake,
    ConverterValsetUpdate,
    DistributeReward,
    DistributeRewards,
    DistributeRewardsInvalidAmount,
    HandleValsetUpdate,
    IbcChannelCloseInitDisallowed,
    IbcOpenTryDisallowed,
    InsufficientBond,
    InvalidDiscount,
    InvalidPrice,
    InvalidReplyId,
    RewardPayment,
    SlashedValidator,
    ValsetChanges,
    ValsetValidator,
    VirtualStakingConfig,
    VirtualStakingConfigQuery,
    invert_amount,
    normalize_amount,
)
from chains.contract import (
    ChannelConnect,
    ChannelOpen,
    IbcAcknowledgement,
    IbcChannel,
    IbcChannelAlreadyOpen,
    IbcChannelNotMatch,
    IbcEndpoint,
    IbcOrder,
    MessageInfo,
    MissingDenom,
    MultipleDenoms,
    NoFunds,
    NonPayable,
    NotFound,
    Reply,
    ReplyOn,
    WasmInstantiate,
    WrongDenom,
    derive_address,
)
from chains.wire import (
    BurnPacket,
    DistributeBatchPacket,
    DistributePacket,
    InternalUnstakePacket,
    InvalidChannelOrder,
    InvalidProtocol,
    InvalidVersion,
    RewardInfo,
    SemVer,
    StakePacket,
    TransferRewardsPacket,
    UnstakePacket,
    ValidatorInfo,
    ValidatorSlashInfo,
    ValsetUpdatePacket,
    VersionTooNew,
    VersionTooOld,
    build_response,
    channel_version,
    decode_consumer_packet,
    parse_channel_version,
    verify_compatibility,
)
from tests.chains.consumer._deploy import (
    DENOM,
    REMOTE,
    Consumer,
    ConsumerKit,
    deploy_consumer,
)

D = Decimal18.parse
SUCCESS = IbcAcknowledgement.success(b"{}")


def remote(amount: int) -> Coin:
    return Coin(denom=REMOTE, amount=amount)


def local(amount: int) -> Coin:
    return Coin(denom=DENOM, amount=amount)


@pytest.fixture
def consumer(chain: ConsumerKit) -> Consumer:
    return deploy_consumer(chain, max_cap=10**9)


def stake(consumer: Consumer, validator: str, amount: int, tx_id: int = 1) -> IbcAcknowledgement:
    packet = StakePacket(
        delegator="osmo1user", validator=validator, stake=remote(amount), tx_id=tx_id
    )
    return consumer.receive(packet, sequence=tx_id)


def events(chain: ConsumerKit, kind: str) -> list[dict[str, str]]:
    return [dict(e.attributes) for e in chain.events if e.type == kind]


# -- C-2, C-69, C-70 normalization ---------------------------------------------------------------


def test_inverse_examples_C_2() -> None:
    assert str(D("0.9").inv()) == "1.111111111111111111"
    assert str(D("0.5").inv()) == "2"
    assert str(D("0.6").inv()) == "1.666666666666666666"


@pytest.mark.parametrize(
    ("amount", "price", "adjustment", "expected"),
    [
        (1000, "0.5", "0.6", 300),
        (4000, "0.5", "0.6", 1200),
        (2000, "0.5", "0.6", 600),
        (80_000_000, "0.5", "0.9", 36_000_000),
        (100, "18", "0.6", 1080),  # 100 PROV at 18 CONS/PROV, discount 0.4
    ],
)
def test_normalize_examples_C_69(amount: int, price: str, adjustment: str, expected: int) -> None:
    assert normalize_amount(amount, D(price), D(adjustment)) == expected


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (22_500_000, 49_999_999),
        (9_000_000, 19_999_999),
        (4_500_000, 9_999_999),
        (6_700_730, 14_890_511),
        (9_782_609, 21_739_131),
    ],
)
def test_invert_examples_C_70(amount: int, expected: int) -> None:
    assert invert_amount(amount, D("0.5"), D("0.9")) == expected


@pytest.mark.parametrize(
    ("amount", "price", "adjustment", "expected", "swapped"),
    [
        # floor(34 * 0.3) = 10, floor(10 * 0.7) = 7; adjustment first: 23 → 6 (lower)
        (34, "0.3", "0.7", 7, 6),
        # floor(6 * 0.3) = 1, floor(1 * 0.7) = 0; adjustment first: 4 → 1 (higher)
        (6, "0.3", "0.7", 0, 1),
        # floor(2 * 1.5) = 3, floor(3 * 0.9) = 2; adjustment first: 1 → 1 (lower)
        (2, "1.5", "0.9", 2, 1),
        # floor(9 * 1.5) = 13, floor(13 * 0.9) = 11; adjustment first: 8 → 12 (higher)
        (9, "1.5", "0.9", 11, 12),
    ],
)
def test_normalize_floors_price_first_then_adjustment_C_69(
    amount: int, price: str, adjustment: str, expected: int, swapped: int
) -> None:
    """C-69 with remainders: each product is floored, price first. The other order gives
    ``swapped`` (off by one either way), so a swap of the rounding order fails here."""
    assert normalize_amount(amount, D(price), D(adjustment)) == expected
    assert expected != swapped


@pytest.mark.parametrize(
    ("amount", "price", "adjustment", "expected", "swapped"),
    [
        # floor(1 * 3.333..) = 3, floor(3 * 1.428..) = 4; adjustment first: 1 → 3 (lower)
        (1, "0.3", "0.7", 4, 3),
        # floor(3 * 3.333..) = 9, floor(9 * 1.428..) = 12; adjustment first: 4 → 13 (higher)
        (3, "0.3", "0.7", 12, 13),
        # floor(17 * 0.666..) = 11, floor(11 * 1.111..) = 12; adjustment first: 18 → 11 (lower)
        (17, "1.5", "0.9", 12, 11),
        # floor(10 * 0.666..) = 6, floor(6 * 1.111..) = 6; adjustment first: 11 → 7 (higher)
        (10, "1.5", "0.9", 6, 7),
    ],
)
def test_invert_floors_inverse_price_first_then_inverse_adjustment_C_70(
    amount: int, price: str, adjustment: str, expected: int, swapped: int
) -> None:
    """C-70 with remainders: floored inverses, each product floored, inverse price first;
    the other order gives ``swapped``."""
    assert invert_amount(amount, D(price), D(adjustment)) == expected
    assert expected != swapped


def test_invert_of_zero_price_and_lossy_round_trip_C_70() -> None:
    with pytest.raises(InvalidPrice):
        invert_amount(5, D("0"), D("0.9"))
    with pytest.raises(InvalidDiscount):
        invert_amount(5, D("0.5"), D("0"))
    # 50_000_000 → 22_500_000 → 49_999_999: a round trip loses units, by design
    assert invert_amount(normalize_amount(50_000_000, D("0.5"), D("0.9")), D("0.5"), D("0.9")) == (
        49_999_999
    )


def test_valset_reports_share_their_lists_and_keep_their_names_C_79_C_94() -> None:
    """The module's report and the converter's carry the same six lists (one base); they
    differ in the slash record only, and their wire names stay apart."""
    lists = set(ValsetChanges.model_fields)
    assert lists == {"additions", "removals", "updated", "jailed", "unjailed", "tombstoned"}
    for report in (HandleValsetUpdate, ConverterValsetUpdate):
        assert issubclass(report, ValsetChanges)
        assert set(report.model_fields) == lists | {"slashed"}
    assert HandleValsetUpdate.type_name == "virtual_stake.handle_valset_update"
    assert ConverterValsetUpdate.type_name == "converter.valset_update"
    report = HandleValsetUpdate(removals=("v",), jailed=("v",))
    assert ConverterValsetUpdate(**report.changes()) == ConverterValsetUpdate(
        removals=("v",), jailed=("v",)
    )
    assert report.has_changes() and not HandleValsetUpdate().has_changes()


def test_normalize_and_invert_check_denoms_C_69_C_70(consumer: Consumer) -> None:
    core = consumer.converter_core
    assert core.normalize(remote(1000)) == local(450)
    with pytest.raises(WrongDenom) as info:
        core.normalize(local(1))
    assert info.value == WrongDenom(DENOM, REMOTE)
    with pytest.raises(WrongDenom):
        core.invert(remote(1))
    assert core.invert(local(4_500_000)) == remote(9_999_999)


# -- C-66..C-68 instantiate and config ------------------------------------------------------------


def _instantiate_msg(**update: object) -> ConverterInstantiate:
    msg = ConverterInstantiate(
        price_feed=derive_address("stars", "feed"),
        discount=D("0.4"),
        remote_denom=REMOTE,
        virtual_staking_code_id="mesh-virtual-staking",
        tombstoned_unbond_enable=True,
        admin=derive_address("stars", "admin"),
        max_retrieve=50,
    )
    return msg.model_copy(update=update)


def test_instantiate_creates_virtual_staking_with_reply_C_67(chain: ConsumerKit) -> None:
    address = derive_address("stars", "conv")
    core = Converter(chain.deps(address))
    info = MessageInfo(sender=chain.address("admin"))
    response = core.instantiate(chain.env(address), info, _instantiate_msg())
    (sub,) = response.messages
    assert sub.reply_on is ReplyOn.SUCCESS
    create = sub.msg
    assert isinstance(create, WasmInstantiate)
    assert create.code == "mesh-virtual-staking"
    assert create.label == "Virtual Staking: uosmo"
    assert create.admin == derive_address("stars", "admin")
    assert create.funds == ()
    assert (create.msg.max_retrieve, create.msg.tombstoned_unbond_enable) == (50, True)
    assert core.virtual_staking() is None
    core.reply(chain.env(address), Reply(id=sub.id, ok=True, data="stars1vs"))
    assert core.virtual_staking() == "stars1vs"
    with pytest.raises(InvalidReplyId):
        core.reply(chain.env(address), Reply(id=77, ok=True))
    config = core.config()
    assert (config.local_denom, config.remote_denom) == (DENOM, REMOTE)


def test_instantiate_refusals_C_67(chain: ConsumerKit) -> None:
    address = derive_address("stars", "conv")
    core = Converter(chain.deps(address))
    env, info = chain.env(address), MessageInfo(sender=chain.address("admin"))
    with pytest.raises(InvalidDiscount):
        core.instantiate(env, info, _instantiate_msg(discount=D("1")))
    with pytest.raises(InvalidDenom):
        core.instantiate(env, info, _instantiate_msg(remote_denom=""))
    with pytest.raises(InvalidAddress):
        core.instantiate(env, info, _instantiate_msg(price_feed="nonsense"))
    with pytest.raises(InvalidAddress):
        core.instantiate(env, info, _instantiate_msg(admin="osmo1bad"))
    paid = MessageInfo(sender=info.sender, funds=(local(1),))
    with pytest.raises(NonPayable):
        core.instantiate(env, paid, _instantiate_msg())


def test_config_and_vs_creator_C_68_C_86(chain: ConsumerKit) -> None:
    consumer = deploy_consumer(chain, discount="0.4")
    config = chain.query(consumer.converter, ConverterConfigQuery())
    assert config == ConverterConfig(
        adjustment=D("0.6"), price_feed=consumer.feed, virtual_staking=consumer.vs
    )
    assert str(config.adjustment) == "0.6"
    assert chain.query(consumer.vs, VirtualStakingConfigQuery()) == VirtualStakingConfig(
        denom=DENOM, converter=consumer.converter
    )


# -- C-71..C-75 provider packets -------------------------------------------------------------------


def test_stake_bonds_normalized_amount_C_71(chain: ConsumerKit, consumer: Consumer) -> None:
    v = chain.operator("a")
    ack = stake(consumer, v, 80_000_000)
    assert ack == SUCCESS
    assert ack.result() == b"{}"
    assert consumer.vs_core.bond_requests() == {v: 36_000_000}
    assert events(chain, "mesh-bond") == [{"validator": v, "amount": "36000000"}]
    records = chain.mesh.delegation_records(consumer.vs)
    assert [(r.delegator, r.amount) for r in records] == [("osmo1user", 36_000_000)]
    # nothing is delegated before the epoch (§8)
    assert chain.mesh.total_delegated(consumer.vs) == 0


def test_stake_failures_give_error_ack_and_revert_C_71_C_109(chain: ConsumerKit) -> None:
    consumer = deploy_consumer(chain)  # governance has not set a cap yet
    v = chain.operator("a")
    before = chain.store.snapshot()
    ack = stake(consumer, v, 1000)
    assert ack.error_text() == "Unauthorized"  # C-88, C-109
    assert chain.store.snapshot() == before
    chain.set_max_cap(consumer.vs, 10**6)
    wrong = StakePacket(delegator="u", validator=v, stake=local(5), tx_id=2)
    assert "WrongDenom" in (consumer.receive(wrong).error_text() or "")
    assert stake(consumer, v, 1000) == SUCCESS


def test_stale_price_fails_every_dependent_operation_C_59_C_71(chain: ConsumerKit) -> None:
    from chains.consumer import SimplePriceFeed, SimplePriceFeedInstantiate

    consumer = deploy_consumer(chain, max_cap=10**9)
    feed = chain.create(
        SimplePriceFeed.code,
        SimplePriceFeedInstantiate(native_per_foreign=D("0.5"), price_info_ttl_in_secs=10),
        sender=consumer.admin,
    )
    consumer.converter_core._config.save(
        consumer.converter_core.config().model_copy(update={"price_feed": feed})
    )
    v = chain.operator("a")
    assert stake(consumer, v, 1000) == SUCCESS
    chain.advance(blocks=2)
    assert "OutdatedPriceData" in (stake(consumer, v, 1000, tx_id=2).error_text() or "")


def test_unstake_unbonds_at_current_price_C_72(chain: ConsumerKit, consumer: Consumer) -> None:
    v = chain.operator("a")
    stake(consumer, v, 1000)  # 450
    consumer.set_price("0.6")  # a price rise: 1000 now converts to 540 > 450
    packet = UnstakePacket(delegator="osmo1user", validator=v, unstake=remote(1000), tx_id=2)
    ack = consumer.receive(packet, 2)
    assert ack.error_text() == str(InsufficientBond(v, 540))
    consumer.set_price("0.5")
    assert consumer.receive(packet, 3) == SUCCESS
    assert consumer.vs_core.bond_requests() == {v: 0}
    assert events(chain, "mesh-unbond") == [{"validator": v, "amount": "450"}]


def test_burn_normalizes_and_burns_C_73(chain: ConsumerKit, consumer: Consumer) -> None:
    a, b = chain.operator("a"), chain.operator("b")
    stake(consumer, a, 1000)
    stake(consumer, b, 1000, tx_id=2)
    packet = BurnPacket(validators=(a, b), burn=remote(200))  # 90 consumer tokens
    assert consumer.receive(packet, 3) == SUCCESS
    assert consumer.vs_core.bond_requests() == {a: 405, b: 405}
    assert events(chain, "mesh-burn") == [{"validators": f"{a},{b}", "amount": "90"}]
    too_much = BurnPacket(validators=(a,), burn=remote(100_000))
    assert "InsufficientDelegations" in (consumer.receive(too_much, 4).error_text() or "")


def test_transfer_rewards_pays_from_reserve_C_74(chain: ConsumerKit, consumer: Consumer) -> None:
    recipient = chain.address("alice")
    chain.fund(consumer.converter, 100)

    def packet(amount: int, denom: str = DENOM, to: str = recipient) -> TransferRewardsPacket:
        return TransferRewardsPacket(
            rewards=Coin(denom=denom, amount=amount), recipient=to, tx_id=5
        )

    assert consumer.receive(packet(60)) == SUCCESS
    assert chain.bank.balance(recipient, DENOM) == 60
    assert events(chain, "mesh-transfer-rewards") == [{"recipient": recipient, "rewards": "60"}]
    assert "InsufficientFunds" in (consumer.receive(packet(41), 2).error_text() or "")
    assert "WrongDenom" in (consumer.receive(packet(1, REMOTE), 3).error_text() or "")
    assert "InvalidAddress" in (
        consumer.receive(packet(1, to=derive_address("osmo", "x")), 4).error_text() or ""
    )
    assert chain.bank.balance(consumer.converter, DENOM) == 40


def test_malformed_packet_gets_error_ack_I_27_I_34(chain: ConsumerKit, consumer: Consumer) -> None:
    from chains.contract import IbcPacket, IbcTimeout

    before = chain.store.snapshot()
    for data in (b"not json", b'{"stake":{}}', b'{"unknown":{}}', b'{"valset_update":{}}'):
        packet = IbcPacket(
            sequence=9,
            src=IbcEndpoint(port_id="wasm.provider", channel_id="channel-7"),
            dest=IbcEndpoint(port_id=f"wasm.{consumer.converter}", channel_id="channel-0"),
            data=data,
            timeout=IbcTimeout(timestamp_ns=1),
        )
        ack = chain.receive(consumer.converter, packet).ack
        assert ack.result() is None
        assert (ack.error_text() or "").startswith("PacketDecodeError")
    assert chain.store.snapshot() == before


def test_tx_ids_are_never_stored_C_75(chain: ConsumerKit, consumer: Consumer) -> None:
    stake(consumer, chain.operator("a"), 1000, tx_id=424242)
    dump = repr(chain.store.snapshot())
    assert "424242" not in dump


# -- C-76..C-80 calls from the virtual staking contract --------------------------------------------


def test_calls_are_virtual_staking_only_C_76(chain: ConsumerKit, consumer: Consumer) -> None:
    intruder = chain.address("intruder")
    chain.fund(intruder, 100)
    for msg in (
        DistributeReward(validator="v"),
        DistributeRewards(payments=()),
        ConverterValsetUpdate(),
        ConverterInternalUnstake(delegator="d", validator="v", amount=local(1)),
    ):
        with pytest.raises(Unauthorized):
            # checked before the payment: the wrong funds do not matter
            chain.call(intruder, consumer.converter, msg, funds=(Coin(denom=DENOM, amount=1),))


def _sent(chain: ConsumerKit) -> list[object]:
    return [decode_consumer_packet(s.data) for s in chain.sent]


def test_distribute_reward_single_packet_C_77(chain: ConsumerKit, consumer: Consumer) -> None:
    chain.fund(consumer.vs, 100)
    chain.sent.clear()
    chain.call(consumer.vs, consumer.converter, DistributeReward(validator="v"), funds=(local(30),))
    (sent,) = chain.sent
    assert decode_consumer_packet(sent.data) == DistributePacket(validator="v", rewards=local(30))
    assert sent.timeout.timestamp_ns == (chain.time_s + 3600) * 10**9
    assert events(chain, "distribute_reward") == [{"validator": "v", "amount": "30"}]
    assert chain.bank.balance(consumer.converter, DENOM) == 30  # held in reserve
    for funds, error in (
        ((), NoFunds),
        ((local(1), Coin(denom="x" * 3, amount=1)), MultipleDenoms),
        ((Coin(denom="uosmo", amount=1),), MissingDenom),
    ):
        chain.fund(consumer.vs, 1, "uosmo")
        chain.fund(consumer.vs, 1, "xxx")
        with pytest.raises(error):
            chain.call(
                consumer.vs, consumer.converter, DistributeReward(validator="v"), funds=funds
            )


def test_distribute_rewards_batch_and_sum_check_C_78(
    chain: ConsumerKit, consumer: Consumer
) -> None:
    chain.fund(consumer.vs, 1000)
    payments = (RewardPayment(validator="v1", reward=33), RewardPayment(validator="v2", reward=53))
    msg = DistributeRewards(payments=payments)
    for sent_amount in (80, 90):
        with pytest.raises(DistributeRewardsInvalidAmount) as info:
            chain.call(consumer.vs, consumer.converter, msg, funds=(local(sent_amount),))
        assert info.value == DistributeRewardsInvalidAmount(86, sent_amount)
        assert info.value.to_dict() == {
            "error": "DistributeRewardsInvalidAmount",
            "sum": 86,
            "sent": sent_amount,
        }
    chain.sent.clear()
    chain.call(consumer.vs, consumer.converter, msg, funds=(local(86),))
    (packet,) = _sent(chain)
    assert packet == DistributeBatchPacket(
        rewards=(RewardInfo(validator="v1", reward=33), RewardInfo(validator="v2", reward=53)),
        denom=DENOM,
    )
    assert events(chain, "distribute_reward") == [
        {"validator": "v1", "amount": "33"},
        {"validator": "v2", "amount": "53"},
    ]


def test_valset_update_packet_with_inverted_slashes_and_pubkeys_C_79(
    chain: ConsumerKit, consumer: Consumer
) -> None:
    """Reference: the pub_key is the placeholder "TODO"."""
    a, b = chain.operator("a"), chain.operator("b")
    info = ValsetValidator(address=a, commission="0", max_commission="1", max_change_rate="1")
    update = ConverterValsetUpdate(
        additions=(info,),
        removals=(b,),
        updated=(info,),
        jailed=(b,),
        slashed=(
            SlashedValidator(
                address=b,
                infraction_height=8,
                infraction_time=0,
                power=46,
                slash_amount=local(4_500_000),
                slash_ratio="0.100000000000000000",
            ),
        ),
    )
    chain.sent.clear()
    chain.call(consumer.vs, consumer.converter, update)
    (sent,) = chain.sent
    assert sent.timeout.timestamp_ns == (chain.time_s + 86_400) * 10**9
    packet = decode_consumer_packet(sent.data)
    assert packet == ValsetUpdatePacket(
        height=chain.height,
        time=chain.time_s,
        additions=(ValidatorInfo(valoper=a, pub_key="pubkey-a"),),
        removals=(b,),
        updated=(ValidatorInfo(valoper=a, pub_key="pubkey-a"),),
        jailed=(b,),
        slashed=(
            ValidatorSlashInfo(
                address=b,
                infraction_height=8,
                infraction_time=0,
                power=46,
                slash_amount=remote(9_999_999),
                slash_ratio="0.100000000000000000",
            ),
        ),
    )
    (event,) = events(chain, "valset_update")
    assert event == {
        "additions": a,
        "removals": b,
        "updated": a,
        "jailed": b,
        "slashed": b,
        "ratios": "0.100000000000000000",
        "amounts": "4500000",
        "provider_amounts": "9999999",
    }


def test_empty_valset_update_sends_nothing_and_needs_a_channel_C_79(chain: ConsumerKit) -> None:
    consumer = deploy_consumer(chain, open_channel=False)
    with pytest.raises(NotFound):
        chain.call(consumer.vs, consumer.converter, ConverterValsetUpdate())
    chain.open_channel(consumer.converter, initiator=True)
    chain.sent.clear()
    chain.call(consumer.vs, consumer.converter, ConverterValsetUpdate())
    assert chain.sent == []
    assert events(chain, "valset_update") == [{}]


def test_internal_unstake_sends_packet_without_local_change_C_80(
    chain: ConsumerKit, consumer: Consumer
) -> None:
    v = chain.operator("a")
    stake(consumer, v, 50_000_000)
    before = consumer.vs_core.bond_requests()
    chain.sent.clear()
    msg = ConverterInternalUnstake(delegator="osmo1user", validator=v, amount=local(22_500_000))
    chain.call(consumer.vs, consumer.converter, msg)
    (sent,) = chain.sent
    assert sent.timeout.timestamp_ns == (chain.time_s + 3600) * 10**9
    assert decode_consumer_packet(sent.data) == InternalUnstakePacket(
        delegator="osmo1user",
        validator=v,
        normalize_amount=local(22_500_000),
        inverted_amount=remote(49_999_999),
    )
    assert consumer.vs_core.bond_requests() == before
    assert events(chain, "internal_unstake") == [
        {"action": "internal_unstake", "amount": "22500000", "owner": "osmo1user"}
    ]


# -- C-82, C-83 acks and timeouts ------------------------------------------------------------------


def _internal_unstake(chain: ConsumerKit, consumer: Consumer, amount: int) -> object:
    v = chain.operator("a")
    chain.sent.clear()
    msg = ConverterInternalUnstake(delegator="osmo1user", validator=v, amount=local(amount))
    chain.call(consumer.vs, consumer.converter, msg)
    return chain.sent[-1].packet


def test_internal_unstake_success_ack_unbonds_C_82(chain: ConsumerKit, consumer: Consumer) -> None:
    v = chain.operator("a")
    stake(consumer, v, 100_000_000)
    consumer.epoch()
    assert chain.staking.delegation_value(consumer.vs, v) == 45_000_000
    packet = _internal_unstake(chain, consumer, 45_000_000)
    chain.acknowledge(consumer.converter, packet, SUCCESS)  # type: ignore[arg-type]
    assert consumer.vs_core.bond_requests() == {v: 0}
    assert chain.staking.delegation(consumer.vs, v) is None
    assert chain.mesh.delegation_records(consumer.vs) == ()
    assert events(chain, "mesh_ibc_error") == []


def test_failing_internal_unbond_is_caught_C_82(chain: ConsumerKit, consumer: Consumer) -> None:
    """Reference: a plain message whose failure blocks the ack forever."""
    v = chain.operator("a")
    stake(consumer, v, 1000)
    packet = _internal_unstake(chain, consumer, 10_000)  # more than requested: InsufficientBond
    chain.acknowledge(consumer.converter, packet, SUCCESS)  # type: ignore[arg-type]
    (event,) = events(chain, "mesh_ibc_error")
    assert event["error"] == str(InsufficientBond(v, 10_000))
    assert event["channel"] == "channel-0" and event["sequence"] == str(packet.sequence)  # type: ignore[attr-defined]
    assert consumer.vs_core.bond_requests() == {v: 450}


def test_error_acks_are_logged_without_retry_C_82_I_56(
    chain: ConsumerKit, consumer: Consumer
) -> None:
    chain.fund(consumer.vs, 30)
    chain.sent.clear()
    chain.call(consumer.vs, consumer.converter, DistributeReward(validator="v"), funds=(local(30),))
    packet = chain.sent[0].packet
    chain.sent.clear()
    before = chain.bank.balance(consumer.converter, DENOM)
    chain.acknowledge(consumer.converter, packet, IbcAcknowledgement.error("NoStake(v)"))
    assert events(chain, "mesh_ibc_error") == [
        {"error": "NoStake(v)", "channel": "channel-0", "sequence": str(packet.sequence)}
    ]
    assert chain.sent == []
    assert chain.bank.balance(consumer.converter, DENOM) == before  # tokens stay (I-103)
    # other success acks do nothing
    chain.acknowledge(consumer.converter, packet, SUCCESS)
    assert chain.sent == []


def test_success_ack_of_a_reward_batch_needs_no_follow_up_C_78_C_82(
    chain: ConsumerKit, consumer: Consumer
) -> None:
    """The converter remembers the kind of the packets it encoded (issue 16: the epoch's
    reward batch is not decoded again on its ack); remembered or not, and for bytes it never
    sent, the ack's outcome is the decoding's."""
    chain.fund(consumer.vs, 1000)
    payments = (RewardPayment(validator="v1", reward=33), RewardPayment(validator="v2", reward=53))
    chain.sent.clear()
    chain.call(consumer.vs, consumer.converter, DistributeRewards(payments=payments), (local(86),))
    packet = chain.sent[0].packet
    chain.sent.clear()
    before = chain.bank.balance(consumer.converter, DENOM)
    chain.acknowledge(consumer.converter, packet, SUCCESS)  # remembered kind
    chain.acknowledge(consumer.converter, packet, SUCCESS)  # forgotten by then: decoded
    assert chain.sent == [] and events(chain, "mesh_ibc_error") == []
    assert chain.bank.balance(consumer.converter, DENOM) == before
    garbled = packet.model_copy(update={"data": packet.data[:-1]})
    chain.acknowledge(consumer.converter, garbled, SUCCESS)
    (event,) = events(chain, "mesh_ibc_error")
    assert event["error"].startswith("PacketDecodeError")


def test_timeout_resends_identical_data_C_83(chain: ConsumerKit, consumer: Consumer) -> None:
    packet = chain.sent[0].packet  # the initial valset sync
    chain.advance(blocks=3)
    chain.time_out(consumer.converter, packet)
    resent = chain.sent[-1]
    assert resent.data == packet.data
    assert resent.channel_id == "channel-0"
    assert resent.timeout.timestamp_ns == (chain.time_s + 86_400) * 10**9
    assert resent.sequence == 2


def test_timeout_after_close_reports_instead_of_resending_C_83_I_102(
    chain: ConsumerKit, consumer: Consumer
) -> None:
    """Reference: it re-sends, which fails on the closed channel and blocks the timeout."""
    packet = chain.sent[0].packet
    stored = consumer.converter_core.channel()
    assert stored is not None
    chain.close_confirm(consumer.converter, stored)  # the provider closed the channel
    count = len(chain.sent)
    chain.time_out(consumer.converter, packet)
    assert len(chain.sent) == count
    assert events(chain, "mesh_ibc_error") == [
        {"error": "channel closed", "channel": "channel-0", "sequence": "1"}
    ]


# -- C-84 close, C-81 / I-40..I-47 handshake -------------------------------------------------------


def _channel(
    contract: str,
    *,
    order: IbcOrder = IbcOrder.UNORDERED,
    version: str = "",
    cid: str = "channel-0",
) -> IbcChannel:
    return IbcChannel(
        endpoint=IbcEndpoint(port_id=f"wasm.{contract}", channel_id=cid),
        counterparty_endpoint=IbcEndpoint(port_id="wasm.anyone", channel_id="channel-3"),
        order=order,
        version=version,
        connection_id="connection-5",
    )


def test_close_init_refused_close_confirm_checks_channel_C_84_I_48(
    chain: ConsumerKit, consumer: Consumer
) -> None:
    """Reference: both callbacks are accepted without checks and the record is not marked."""
    core, env = consumer.converter_core, chain.env(consumer.converter)
    stored = core.channel()
    assert stored is not None
    with pytest.raises(IbcChannelCloseInitDisallowed):
        core.ibc_channel_close(env, stored)  # CloseInit
    with pytest.raises(IbcChannelCloseInitDisallowed):
        core.ibc_channel_close_init(env, stored)
    other = _channel(consumer.converter, cid="channel-9")
    with pytest.raises(IbcChannelNotMatch):
        core.ibc_channel_close(env, other, confirm=True)
    v = chain.operator("a")
    stake(consumer, v, 100_000_000)
    consumer.epoch()
    chain.close_confirm(consumer.converter, stored)
    assert core.channel_closed()
    assert chain.staking.delegation(consumer.vs, v) is None  # C-93 via handle_close_channel
    assert chain.mesh.delegation_records(consumer.vs) == ()
    assert not chain.mesh.has_repeating_epoch(consumer.vs)


def test_handshake_roles_and_single_channel_I_40_I_45_I_46_I_47_C_111(chain: ConsumerKit) -> None:
    consumer = deploy_consumer(chain, open_channel=False)
    core, env = consumer.converter_core, chain.env(consumer.converter)
    proposal = _channel(consumer.converter)
    with pytest.raises(IbcOpenTryDisallowed):
        core.ibc_channel_open(env, ChannelOpen(channel=proposal, counterparty_version="{}"))
    with pytest.raises(IbcOpenTryDisallowed):
        core.ibc_channel_connect(env, ChannelConnect(channel=proposal))  # OpenConfirm
    with pytest.raises(InvalidChannelOrder):
        core.ibc_channel_open(
            env, ChannelOpen(channel=_channel(consumer.converter, order=IbcOrder.ORDERED))
        )
    # an empty proposal gets the default version (I-45)
    version = core.ibc_channel_open(env, ChannelOpen(channel=proposal))
    assert version == '{"protocol":"mesh-security","version":"0.11.0"}'
    # C-111: any counterparty is accepted (here port wasm.anyone, connection-5)
    chain.sent.clear()
    chain.open_channel(consumer.converter, counterparty_version=version, initiator=True)
    with pytest.raises(IbcChannelAlreadyOpen):
        core.ibc_channel_open(env, ChannelOpen(channel=proposal))
    with pytest.raises(IbcChannelAlreadyOpen):
        core.ibc_channel_connect(
            env, ChannelConnect(channel=proposal, counterparty_version=version)
        )


def test_open_ack_sends_initial_validator_sync_I_46(chain: ConsumerKit) -> None:
    consumer = deploy_consumer(chain, open_channel=False)
    chain.sent.clear()
    chain.open_channel(consumer.converter, initiator=True)
    (sent,) = chain.sent
    packet = decode_consumer_packet(sent.data)
    assert isinstance(packet, ValsetUpdatePacket)
    bonded = {v.operator: v.consensus_pubkey for v in chain.staking.bonded_validators()}
    assert {i.valoper: i.pub_key for i in packet.additions} == bonded
    assert (packet.height, packet.time) == (chain.height, chain.time_s)
    assert packet.removals == packet.slashed == ()
    assert sent.timeout.timestamp_ns == (chain.time_s + 86_400) * 10**9


def test_open_ack_verifies_counterparty_version_I_46(chain: ConsumerKit) -> None:
    consumer = deploy_consumer(chain, open_channel=False)
    core, env = consumer.converter_core, chain.env(consumer.converter)
    proposal = _channel(consumer.converter, version=channel_version("0.11.0"))
    for answer, error in (
        (channel_version("0.10.0"), VersionTooOld),
        (channel_version("0.12.0"), VersionTooNew),
        ('{"protocol":"other","version":"0.11.0"}', InvalidProtocol),
        ("garbage", InvalidVersion),
    ):
        with pytest.raises(error):
            core.ibc_channel_connect(
                env, ChannelConnect(channel=proposal, counterparty_version=answer)
            )
        assert core.channel() is None


def test_version_string_and_parsing_I_41() -> None:
    assert channel_version("0.11.0") == '{"protocol":"mesh-security","version":"0.11.0"}'
    extra = '{"version":"1.2.3","protocol":"mesh-security","future":{"x":1}}'
    assert parse_channel_version(extra) == SemVer.parse("1.2.3")
    with pytest.raises(InvalidProtocol) as info:
        parse_channel_version('{"protocol":"ics20","version":"1.0.0"}')
    assert info.value == InvalidProtocol("ics20")
    with pytest.raises(InvalidVersion) as bad:
        parse_channel_version('{"protocol":"mesh-security","version":"1.2.3a"}')
    assert bad.value == InvalidVersion("1.2.3a")
    assert SemVer.parse("1.0.0-alpha") < SemVer.parse("1.0.0-alpha.1") < SemVer.parse("1.0.0-beta")
    assert SemVer.parse("1.0.0-beta.2") < SemVer.parse("1.0.0-beta.11") < SemVer.parse("1.0.0-rc.1")
    assert SemVer.parse("1.0.0-rc.1") < SemVer.parse("1.0.0") < SemVer.parse("1.0.1")
    assert not SemVer.parse("1.0.0+build") < SemVer.parse("1.0.0")
    assert str(SemVer.parse("2.0.0-alpha.1+b7")) == "2.0.0-alpha.1+b7"


@pytest.mark.parametrize(
    ("proposed", "response", "check"),
    [
        ("1.2.3", "1.2.3", None),
        ("1.3.0", "1.2.3", VersionTooNew),
        ("1.0.7", "1.0.7", None),
        ("2.0.0-alpha.1", VersionTooNew, VersionTooNew),
        ("1.0.0", VersionTooOld, VersionTooOld),
    ],
)
def test_build_response_and_verify_compatibility_I_43(
    proposed: str, response: object, check: object
) -> None:
    supported, minimum = SemVer.parse("1.2.3"), SemVer.parse("1.0.2")
    version = SemVer.parse(proposed)
    if isinstance(response, str):
        assert str(build_response(version, supported, minimum)) == response
    else:
        with pytest.raises(response):  # type: ignore[call-overload]
            build_response(version, supported, minimum)
    if check is None:
        verify_compatibility(version, supported, minimum)
    else:
        with pytest.raises(check):  # type: ignore[call-overload]
            verify_compatibility(version, supported, minimum)
    if proposed == "1.0.0":
        with pytest.raises(VersionTooOld) as info:
            build_response(version, supported, minimum)
        assert info.value == VersionTooOld("1.0.0", "1.0.2")


def test_open_init_negotiates_proposed_version_I_45(chain: ConsumerKit) -> None:
    consumer = deploy_consumer(chain, open_channel=False)
    core, env = consumer.converter_core, chain.env(consumer.converter)
    chosen = core.ibc_channel_open(
        env, ChannelOpen(channel=_channel(consumer.converter, version=channel_version("0.11.5")))
    )
    assert json.loads(chosen or "") == {"protocol": "mesh-security", "version": "0.11.0"}
    with pytest.raises(VersionTooOld):
        core.ibc_channel_open(
            env, ChannelOpen(channel=_channel(consumer.converter, version=channel_version("0.9.0")))
        )
