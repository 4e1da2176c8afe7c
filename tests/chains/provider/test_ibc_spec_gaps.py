"""Provider-side requirements of ibc.md sections 2-10 that no other test named (issue 7).

Core level: external staking alone (``ExtFixture``) or with the vault on the contract kit
(``build_provider``, the real executor: a transaction that fails is rolled back as a whole,
and a failing receive gives an error ack with nothing changed, I-19).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from chains import Coin, Decimal18, InvalidDenom, Unauthorized
from chains.contract import (
    ChannelOpen,
    Env,
    IbcAcknowledgement,
    MissingDenom,
    Store,
    derive_address,
)
from chains.provider import (
    AuthorizedEndpoint,
    ExternalStaking,
    ExternalStakingInstantiate,
    ListActiveValidatorsQuery,
    ListValidatorsQuery,
    NoStake,
    SlashRatios,
    StakeRemote,
    ValidatorEntry,
    ValidatorState,
    ValueRange,
    VaultBond,
    encode_stake_target,
)
from chains.testing import state_of
from chains.wire import (
    MESH_VERSION_MIN,
    MESH_VERSION_SUPPORTED,
    DistributeBatchPacket,
    DistributePacket,
    InternalUnstakePacket,
    PacketDecodeError,
    RewardInfo,
    ValidatorInfo,
    ValidatorSlashInfo,
    ValsetUpdatePacket,
    VersionTooNew,
    VersionTooOld,
    channel_version,
    decode_consumer_packet,
    encode_packet,
)
from tests.chains.provider._deploy import PREFIX, Provider, build_provider
from tests.chains.provider._ext_fixture import (
    CONNECTION,
    CONVERTER_PORT,
    EXT,
    PERIOD,
    REWARDS,
    T0,
    VAULT,
    ExtFixture,
    channel,
)
from tests.chains.provider._fakes import DENOM, FakeQuerier, coin, env, info, make

SUCCESS_ACK = b'{"result":"e30="}'


def rewards(amount: int, denom: str = REWARDS) -> Coin:
    return Coin(denom=denom, amount=amount)


# -- I-42 version constants -------------------------------------------------------------------


def test_supported_and_minimum_version_are_0_11_0_on_the_provider_I_42() -> None:
    """I-42: supported = minimum = 0.11.0 (reference values). The provider answers an
    OpenTry with min(proposed, 0.11.0): 0.11.0 → 0.11.0, 0.11.5 → 0.11.0; 0.10.9 is too
    old and 1.0.0 (the design notes' "1.0.0") too new for a 0.x build."""
    assert MESH_VERSION_SUPPORTED == MESH_VERSION_MIN == "0.11.0"
    for proposed, answer in (("0.11.0", "0.11.0"), ("0.11.5", "0.11.0")):
        fresh = _fresh_ext()
        got = fresh.ext.ibc_channel_open(
            fresh.env(),
            ChannelOpen(channel=channel(), counterparty_version=channel_version(proposed)),
        )
        assert json.loads(got or "") == {"protocol": "mesh-security", "version": answer}
        assert got == channel_version(answer)
    for proposed, error in (("0.10.9", VersionTooOld), ("1.0.0", VersionTooNew)):
        fresh = _fresh_ext()
        with pytest.raises(error) as raised:
            fresh.ext.ibc_channel_open(
                fresh.env(),
                ChannelOpen(channel=channel(), counterparty_version=channel_version(proposed)),
            )
        assert raised.value.proposed == proposed  # type: ignore[attr-defined]
        assert raised.value.supported == "0.11.0"  # type: ignore[attr-defined]


@dataclass
class _Bare:
    """External staking instantiated, without a channel: the handshake is the test's."""

    ext: ExternalStaking

    def env(self) -> Env:
        return env(EXT, height=500, time_s=T0)


def _fresh_ext(
    ext_class: type[ExternalStaking] = ExternalStaking, connection: str = CONNECTION
) -> _Bare:
    bare = _Bare(make(ext_class, Store(), EXT, FakeQuerier()))
    bare.ext.instantiate(
        bare.env(),
        info("creator"),
        ExternalStakingInstantiate(
            denom=DENOM,
            rewards_denom=REWARDS,
            vault=VAULT,
            unbonding_period=PERIOD,
            remote_contact=AuthorizedEndpoint(connection_id=connection, port_id=CONVERTER_PORT),
            slash_ratio=SlashRatios(
                double_sign=Decimal18.parse("0.1"), offline=Decimal18.parse("0.05")
            ),
            admin="admin",
        ),
    )
    return bare


class _ExternalStaking1(ExternalStaking):
    """External staking configured for protocol 1.0.0 (the design notes' version)."""

    SUPPORTED_VERSION = "1.0.0"
    MIN_VERSION = "1.0.0"


def test_provider_versions_are_configurable_like_the_converters_I_42() -> None:
    """A deployment of protocol 1.0.0 configures both ends the same way (the converter's
    ``SUPPORTED_VERSION`` / ``MIN_VERSION``): the provider must then accept 1.0.0."""
    fresh = _fresh_ext(_ExternalStaking1)
    got = fresh.ext.ibc_channel_open(
        fresh.env(), ChannelOpen(channel=channel(), counterparty_version=channel_version("1.0.0"))
    )
    assert got == channel_version("1.0.0")


# -- I-55 consumer packet variants ------------------------------------------------------------


def test_consumer_packet_variants_have_the_wire_shapes_I_55() -> None:
    """I-55 with I-34: externally tagged, amounts as strings, u64 as numbers, coins as
    objects; each decodes back to the same packet; unknown variants and missing fields are
    decode errors."""
    valset = ValsetUpdatePacket(
        height=123,
        time=1_700_000_000,
        additions=(ValidatorInfo(valoper="val1", pub_key="pk1"),),
        removals=("val2",),
        updated=(ValidatorInfo(valoper="val3", pub_key="pk3"),),
        jailed=("val2",),
        unjailed=("val4",),
        tombstoned=("val5",),
        slashed=(
            ValidatorSlashInfo(
                address="val5",
                infraction_height=120,
                infraction_time=0,
                power=10,
                slash_amount=coin(19_822),
                slash_ratio="0.1",
            ),
        ),
    )
    internal = InternalUnstakePacket(
        delegator="osmo1alice",
        validator="val1",
        normalize_amount=Coin(denom="ujuno", amount=90_000),
        inverted_amount=coin(199_999),
    )
    single = DistributePacket(validator="val1", rewards=Coin(denom="ujuno", amount=71))
    batch = DistributeBatchPacket(
        rewards=(RewardInfo(validator="val1", reward=50), RewardInfo(validator="val2", reward=9)),
        denom="ujuno",
    )
    expected = {
        "valset_update": {
            "height": 123,
            "time": 1_700_000_000,
            "additions": [{"valoper": "val1", "pub_key": "pk1"}],
            "removals": ["val2"],
            "updated": [{"valoper": "val3", "pub_key": "pk3"}],
            "jailed": ["val2"],
            "unjailed": ["val4"],
            "tombstoned": ["val5"],
            "slashed": [
                {
                    "address": "val5",
                    "infraction_height": 120,
                    "infraction_time": 0,
                    "power": 10,
                    "slash_amount": {"denom": DENOM, "amount": "19822"},
                    "slash_ratio": "0.1",
                }
            ],
        },
        "internal_unstake": {
            "delegator": "osmo1alice",
            "validator": "val1",
            "normalize_amount": {"denom": "ujuno", "amount": "90000"},
            "inverted_amount": {"denom": DENOM, "amount": "199999"},
        },
        "distribute": {"validator": "val1", "rewards": {"denom": "ujuno", "amount": "71"}},
        "distribute_batch": {
            "rewards": [
                {"validator": "val1", "reward": "50"},
                {"validator": "val2", "reward": "9"},
            ],
            "denom": "ujuno",
        },
    }
    for packet in (valset, internal, single, batch):
        data = encode_packet(packet)
        ((variant, body),) = json.loads(data).items()
        assert body == expected[variant], variant
        assert decode_consumer_packet(data) == packet
    for bad in (
        b'{"stake": {"delegator": "a", "validator": "v", "stake": {"denom": "x", "amount": "1"},'
        b' "tx_id": 1}}',  # a provider variant is not a consumer packet
        b'{"distribute": {"validator": "val1"}}',
        b'{"distribute_batch": {"rewards": [{"validator": "v", "reward": 5}]}}',
        b'{"valset_update": {"time": 1}}',
    ):
        with pytest.raises(PacketDecodeError):
            decode_consumer_packet(bad)


def test_malformed_consumer_packet_gets_an_error_ack_and_changes_nothing_I_55() -> None:
    p = build_provider()
    before = state_of(p.chain.store)
    ack, result = p.chain.receive(p.ext, b'{"distribute": {"validator": "valA"}}')
    assert ack.error_text() is not None and not result.ok
    assert state_of(p.chain.store) == before


# -- I-58 / I-59 / I-86 rewards ---------------------------------------------------------------

USER = derive_address(PREFIX, "alice")
BOB = derive_address(PREFIX, "bob")


def _staked(amount: int = 200, user: str = USER, validator: str = "valA") -> Provider:
    p = build_provider()
    _stake(p, amount, user, validator)
    return p


def _stake(p: Provider, amount: int, user: str, validator: str) -> None:
    p.chain.fund(user, 10_000)
    assert p.chain.execute(user, p.vault, VaultBond(), (p.coin(amount),)).ok
    msg = StakeRemote(contract=p.ext, amount=p.coin(amount), msg=encode_stake_target(validator))
    result = p.chain.execute(user, p.vault, msg)
    assert result.ok, result.error
    assert p.chain.ack(result.packets[0]).ok


def _reward(p: Provider, user: str, validator: str) -> int:
    state = p.ext_core().state
    return int(state.pending_reward(validator, state.stake(user, validator)))


def test_single_distribute_credits_and_refuses_per_spec_I_58() -> None:
    """I-58: success ack ``{}``; a foreign denom is refused with ``MissingDenom(<received
    denom>)`` [ref-quirk naming], a validator without committed stake with
    ``NoStake(validator)`` (P-73; the reference divides by zero): error acks, nothing
    changed."""
    p = _staked()
    ack, result = p.chain.receive(
        p.ext, encode_packet(DistributePacket(validator="valA", rewards=rewards(50)))
    )
    assert result.ok and ack.data == SUCCESS_ACK
    assert _reward(p, USER, "valA") == 50
    before = state_of(p.chain.store)
    for packet, error in (
        (DistributePacket(validator="valA", rewards=rewards(50, "uother")), MissingDenom("uother")),
        (DistributePacket(validator="valB", rewards=rewards(50)), NoStake("valB")),
    ):
        ack, result = p.chain.receive(p.ext, encode_packet(packet))
        assert result.error == error
        assert ack.error_text() == str(error)
        assert state_of(p.chain.store) == before


def test_batch_distribute_is_all_or_nothing_I_59() -> None:
    """I-59: ``InvalidDenom(rewards_denom)`` for a foreign denom; one validator without
    committed stake refuses the **whole** packet (the entry credited before it is undone)."""
    p = _staked()
    before = state_of(p.chain.store)
    for packet, error in (
        (
            DistributeBatchPacket(
                rewards=(RewardInfo(validator="valA", reward=50),), denom="uother"
            ),
            InvalidDenom(REWARDS),
        ),
        (
            DistributeBatchPacket(
                rewards=(
                    RewardInfo(validator="valA", reward=50),
                    RewardInfo(validator="valB", reward=10),
                ),
                denom=REWARDS,
            ),
            NoStake("valB"),
        ),
    ):
        ack, result = p.chain.receive(p.ext, encode_packet(packet))
        assert result.error == error and ack.error_text() == str(error)
        assert state_of(p.chain.store) == before
        assert _reward(p, USER, "valA") == 0
    ok = DistributeBatchPacket(rewards=(RewardInfo(validator="valA", reward=50),), denom=REWARDS)
    ack, result = p.chain.receive(p.ext, encode_packet(ok))
    assert result.ok and ack.data == SUCCESS_ACK
    assert _reward(p, USER, "valA") == 50


def test_single_and_one_entry_batch_have_identical_effects_I_86() -> None:
    """I-86: the single form has the batch's semantics for one validator: the I-82 example
    (stakes 200 and 300; 50 then 71) gives the same points and claims either way."""
    states = []
    for form in ("single", "batch"):
        p = _staked(200)
        _stake(p, 300, BOB, "valA")
        for amount in (50, 71):
            packet: DistributePacket | DistributeBatchPacket
            if form == "single":
                packet = DistributePacket(validator="valA", rewards=rewards(amount))
            else:
                packet = DistributeBatchPacket(
                    rewards=(RewardInfo(validator="valA", reward=amount),), denom=REWARDS
                )
            ack, result = p.chain.receive(p.ext, encode_packet(packet))
            assert result.ok and ack.data == SUCCESS_ACK
        assert (_reward(p, USER, "valA"), _reward(p, BOB, "valA")) == (48, 72)
        ext = p.ext_core()
        states.append(ext.state.distribution("valA"))
    assert states[0] == states[1]


# -- I-60 ack payloads --------------------------------------------------------------------------


def test_every_consumer_packet_is_acked_with_the_empty_object_I_60() -> None:
    """I-60: ValsetUpdateAck, DistributeAck (and internal_unstake's reuse of it) are all
    ``{}``: the ICS-04 bytes ``{"result":"e30="}``."""
    p = _staked()
    packets = (
        ValsetUpdatePacket(height=200, time=p.chain.time_s, jailed=("valC",)),
        DistributePacket(validator="valA", rewards=rewards(5)),
        DistributeBatchPacket(rewards=(RewardInfo(validator="valA", reward=5),), denom=REWARDS),
        InternalUnstakePacket(
            delegator=USER,
            validator="valA",
            normalize_amount=Coin(denom=REWARDS, amount=9),
            inverted_amount=coin(20),
        ),
    )
    for packet in packets:
        ack, result = p.chain.receive(p.ext, encode_packet(packet))
        assert result.ok, result.error
        assert ack.data == SUCCESS_ACK
        assert ack == IbcAcknowledgement.success(b"{}")


# -- I-66 / I-67 / I-68 serializability --------------------------------------------------------


def test_in_flight_stake_reserves_only_the_lien_and_the_users_stake_I_66() -> None:
    """I-66: while a stake is in flight only two values move: the vault's lien of (user,
    external staking) and the stake of (user, validator), both as ranges (prepare); the
    validator's reward total and the reward shares are untouched until the commit, and
    the error ack (rollback) gives them back exactly."""
    p = _staked(200)
    ext = p.ext_core()
    vault = p.vault_core
    total_before = ext.state.distribution("valA")
    assert p.chain.execute(USER, p.vault, VaultBond(), (p.coin(300),)).ok
    msg = StakeRemote(contract=p.ext, amount=p.coin(300), msg=encode_stake_target("valA"))
    sent = p.chain.execute(USER, p.vault, msg)
    assert sent.ok
    assert ext.state.stake(USER, "valA").stake == ValueRange(200, 500)
    assert vault.state.lien(USER, p.ext).amount == ValueRange(200, 500)
    assert ext.state.distribution("valA") == total_before
    assert total_before.total_stake == 200
    # rewards received now go to the committed 200 only (I-68)
    ack, _ = p.chain.receive(
        p.ext, encode_packet(DistributePacket(validator="valA", rewards=rewards(20)))
    )
    assert ack.data == SUCCESS_ACK
    assert _reward(p, USER, "valA") == 20
    assert p.chain.error_ack(sent.packets[0]).ok
    assert ext.state.stake(USER, "valA").stake == ValueRange(200, 200)
    assert vault.state.lien(USER, p.ext).amount == ValueRange(200, 200)
    assert ext.state.distribution("valA").total_stake == 200
    assert _reward(p, USER, "valA") == 20


def _slash_all(xf: ExtFixture, validator: str, amount: int) -> None:
    response = xf.slash(validator, amount, infraction_height=150)
    assert [e.type for e in response.events if e.type == "slash"] == ["slash"]


def test_commit_and_rollback_saturate_after_a_slash_I_67() -> None:
    """I-67: a slash shrinks a range while an operation is in flight; commit and rollback
    then saturate instead of failing (never ``low > high``, never below 0)."""
    # stake: committed 100, +50 in flight ([100, 150]); a slash of 150 cuts everything
    for success, expected in ((True, ValueRange(50, 50)), (False, ValueRange(0, 0))):
        xf = ExtFixture()
        xf.staked("alice", "valA", 100, tx_id=1)
        packet = xf.stake("alice", "valA", 50, tx_id=2)
        assert xf.range("alice", "valA") == ValueRange(100, 150)
        _slash_all(xf, "valA", 150)
        assert xf.range("alice", "valA") == ValueRange(0, 0)
        xf.ack(packet, ok=success)
        # commit: low += 50, above high → high = low (I-51); rollback: high -= 50, never
        # below low
        assert xf.range("alice", "valA") == expected
    # unstake: committed 100, 60 in flight ([40, 100]); a slash of 100 cuts everything
    for outcome in ("ack", "error", "timeout"):
        xf = ExtFixture()
        xf.staked("alice", "valA", 100, tx_id=1)
        packet = xf.unstake("alice", "valA", 60)
        assert xf.range("alice", "valA") == ValueRange(40, 100)
        _slash_all(xf, "valA", 100)
        assert xf.range("alice", "valA") == ValueRange(0, 0)
        if outcome == "timeout":
            xf.timeout(packet)
        else:
            xf.ack(packet, ok=outcome == "ack")
        stake = xf.stake_of("alice", "valA")
        # commit: a = min(60, high = 0) = 0 unbonds; rollback: low += 60 capped at high
        assert stake.stake == ValueRange(0, 0), outcome
        assert sum(u.amount for u in stake.pending_unbonds) == 0
        assert xf.total("valA") == 0


def test_rewards_are_shared_by_the_committed_stakes_only_I_68() -> None:
    """I-68: reward shares change only on commit: bob's 300 in flight earns nothing of the
    first 50 (alice's 200 gets it all); committed, the I-82 split applies: 71 → 28 / 42."""
    xf = ExtFixture()
    xf.staked("alice", "valA", 200, tx_id=1)
    packet = xf.stake("bob", "valA", 300, tx_id=2)
    xf.distribute(("valA", 50))
    assert (xf.reward("alice", "valA"), xf.reward("bob", "valA")) == (50, 0)
    xf.ack(packet)
    xf.distribute(("valA", 71))
    assert (xf.reward("alice", "valA"), xf.reward("bob", "valA")) == (50 + 28, 42)
    # an unstake in flight still earns until its commit
    unstake = xf.unstake("bob", "valA", 300)
    xf.distribute(("valA", 50))
    assert (xf.reward("alice", "valA"), xf.reward("bob", "valA")) == (98, 72)
    xf.ack(unstake)
    xf.distribute(("valA", 50))
    assert (xf.reward("alice", "valA"), xf.reward("bob", "valA")) == (148, 72)


# -- I-76 slash eligibility ---------------------------------------------------------------------


def test_slash_eligibility_by_the_state_at_the_infraction_height_I_76() -> None:
    """I-76: a slash applies only if the validator was Active at the infraction height:
    at or above the tombstone height it is ignored; below it, it still applies after the
    tombstone (a delayed downtime slash); a slash entry delivered twice is applied twice
    (P-94). One staker of 100_000 and amounts that divide exactly (20_000 of 100_000, then
    of 80_000): every cut is the packet's amount (I-90)."""
    xf = ExtFixture()  # valA..valC active since 100
    xf.staked("alice", "valA", 100_000, tx_id=1)
    xf.receive(ValsetUpdatePacket(height=300, time=xf.now, tombstoned=("valA",)))
    assert xf.ext.valset.state("valA") is ValidatorState.TOMBSTONED
    for infraction in (300, 301):  # at and above the tombstone height
        xf.slash("valA", 20_000, infraction_height=infraction, height=600)
        assert xf.range("alice", "valA") == ValueRange(100_000, 100_000)
    xf.slash("valA", 20_000, infraction_height=299, height=600)  # below: applies
    assert xf.range("alice", "valA") == ValueRange(80_000, 80_000)
    xf.slash("valA", 20_000, infraction_height=299, height=600)  # the same entry again
    assert xf.range("alice", "valA") == ValueRange(60_000, 60_000)
    # Jailed at the infraction height: ignored; Active again later: applies
    xf.staked("alice", "valB", 100_000, tx_id=2)
    xf.receive(ValsetUpdatePacket(height=200, time=xf.now, jailed=("valB",)))
    xf.receive(
        ValsetUpdatePacket(
            height=250, time=xf.now, additions=(ValidatorInfo(valoper="valB", pub_key="pk"),)
        )
    )
    xf.slash("valB", 10_000, infraction_height=220, height=600)
    assert xf.range("alice", "valB") == ValueRange(100_000, 100_000)
    xf.slash("valB", 10_000, infraction_height=250, height=600)
    assert xf.range("alice", "valB") == ValueRange(90_000, 90_000)
    # never known at the infraction height (before the initial sync at 100): ignored
    xf.slash("valB", 10_000, infraction_height=99, height=600)
    assert xf.range("alice", "valB") == ValueRange(90_000, 90_000)


# -- I-78 validator identity ----------------------------------------------------------------------


def test_validator_identity_is_the_operator_and_keys_rotate_by_history_I_78() -> None:
    """I-78: the operator address is the identity: a new ``pub_key`` (``updated``) adds a
    history entry of the same validator — state, stakes and listing unchanged — and later
    entries carry the rotated key; the key itself is informational."""
    xf = ExtFixture()
    xf.staked("alice", "valA", 1_000, tx_id=1)
    xf.receive(
        ValsetUpdatePacket(
            height=200, time=xf.now, updated=(ValidatorInfo(valoper="valA", pub_key="pk2"),)
        )
    )
    xf.receive(ValsetUpdatePacket(height=300, time=xf.now, jailed=("valA",)))
    history = xf.ext.valset.history("valA")
    assert [(e.pub_key, e.start_height, e.state) for e in history] == [
        ("pk2", 300, ValidatorState.JAILED),
        ("pk2", 200, ValidatorState.ACTIVE),
        ("pk", 100, ValidatorState.ACTIVE),
    ]
    assert isinstance(history[0], ValidatorEntry)
    assert xf.range("alice", "valA") == ValueRange(1_000, 1_000)
    listed = xf.ext.query(xf.env(), ListValidatorsQuery())
    assert [v.validator for v in listed.validators] == ["valA", "valB", "valC"]
    # an addition with yet another key re-activates the same validator
    xf.receive(
        ValsetUpdatePacket(
            height=400, time=xf.now, additions=(ValidatorInfo(valoper="valA", pub_key="pk3"),)
        )
    )
    assert xf.ext.valset.state("valA") is ValidatorState.ACTIVE
    assert xf.stake("alice", "valA", 10, tx_id=2) is not None  # new stakes accepted (I-77)


# -- I-79 listings ------------------------------------------------------------------------------


def test_listings_give_the_current_state_paginated_by_address_I_79() -> None:
    """I-79: ``list_validators`` / ``list_active_validators`` return the **current** state
    (the first history entry, not the one at some height), ascending by operator address,
    paginated by ``start_after`` and ``limit``."""
    xf = ExtFixture(validators=())
    names = ("val-e", "val-a", "val-d", "val-b", "val-c")
    xf.receive(
        ValsetUpdatePacket(
            height=100,
            time=xf.now,
            additions=tuple(ValidatorInfo(valoper=v, pub_key="pk") for v in names),
        )
    )
    # val-b jailed at 200 then back at 300; val-d jailed at 300 (delivered first) and an
    # older addition at 250 delivered later: current Jailed
    xf.receive(ValsetUpdatePacket(height=200, time=xf.now, jailed=("val-b",)))
    xf.receive(
        ValsetUpdatePacket(
            height=300,
            time=xf.now,
            additions=(ValidatorInfo(valoper="val-b", pub_key="pk"),),
            jailed=("val-d",),
        )
    )
    xf.receive(
        ValsetUpdatePacket(
            height=250, time=xf.now, additions=(ValidatorInfo(valoper="val-d", pub_key="pk"),)
        )
    )
    xf.receive(ValsetUpdatePacket(height=310, time=xf.now, tombstoned=("val-e",)))

    def listed(query: ListValidatorsQuery | ListActiveValidatorsQuery) -> list[tuple[str, str]]:
        return [(v.validator, v.state) for v in xf.ext.query(xf.env(), query).validators]

    assert listed(ListValidatorsQuery()) == [
        ("val-a", "active"),
        ("val-b", "active"),
        ("val-c", "active"),
        ("val-d", "jailed"),
        ("val-e", "tombstoned"),
    ]
    assert listed(ListValidatorsQuery(limit=2)) == [("val-a", "active"), ("val-b", "active")]
    assert listed(ListValidatorsQuery(start_after="val-b", limit=2)) == [
        ("val-c", "active"),
        ("val-d", "jailed"),
    ]
    assert listed(ListValidatorsQuery(start_after="val-e")) == []
    assert [v for v, _ in listed(ListActiveValidatorsQuery())] == ["val-a", "val-b", "val-c"]
    assert [v for v, _ in listed(ListActiveValidatorsQuery(start_after="val-a", limit=1))] == [
        "val-b"
    ]


# -- I-106 authorized endpoint --------------------------------------------------------------------


def test_authorized_endpoint_compares_the_provider_local_connection_id_I_106() -> None:
    """I-106: the provider checks the channel's **local** connection id (its own end of the
    connection) against ``remote_contact.connection_id``; the consumer's id for the same
    connection plays no part (the reference tests only pass because both are
    ``connection-0``)."""
    fresh = _fresh_ext(connection="connection-7")
    # the provider's end of the connection is connection-7 (the consumer's may be anything)
    answer = fresh.ext.ibc_channel_open(
        fresh.env(),
        ChannelOpen(
            channel=channel(connection="connection-7"), counterparty_version=channel_version()
        ),
    )
    assert answer == channel_version()
    refused = _fresh_ext(connection="connection-7")
    with pytest.raises(Unauthorized):
        refused.ext.ibc_channel_open(
            refused.env(),
            ChannelOpen(
                channel=channel(connection="connection-0"), counterparty_version=channel_version()
            ),
        )
