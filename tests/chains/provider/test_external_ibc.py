"""External staking's IBC side: handshake and versions, close, packet decoding
(P-82, P-83, P-83a, P-91..P-93, I-40..I-49, I-100)."""

from __future__ import annotations

import pytest

from chains import Decimal18, Unauthorized
from chains.contract import (
    ChannelConnect,
    ChannelOpen,
    IbcChannelAlreadyOpen,
    IbcChannelNotMatch,
    IbcCloseChannel,
    IbcOrder,
    InvalidSlashRatio,
    ReplyOn,
    Store,
)
from chains.provider import (
    AuthorizedEndpoint,
    ChannelClosed,
    CloseControlChannel,
    ExternalStaking,
    ExternalStakingInstantiate,
    ExternalUnstake,
    IbcChannelCloseConfirmDisallowed,
    IbcChannelQuery,
    IbcOpenInitDisallowed,
    InvalidEndpoint,
    NoChannel,
    RollbackTx,
    SlashRatios,
    ValueRange,
)
from chains.wire import (
    InvalidChannelOrder,
    InvalidProtocol,
    InvalidVersion,
    PacketDecodeError,
    SemVer,
    VersionTooNew,
    VersionTooOld,
    build_response,
    channel_version,
    parse_channel_version,
    verify_compatibility,
)
from tests.chains.provider._ext_fixture import EXT, ExtFixture, channel, decoded, vault_calls
from tests.chains.provider._fakes import DENOM, FakeQuerier, coin, env, info, make, rejects

V = SemVer.parse


# -- versions (I-41..I-43) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("proposed", "answer"),
    [("1.2.3", "1.2.3"), ("1.3.0", "1.2.3"), ("1.0.7", "1.0.7")],
)
def test_build_response_examples_I_43(proposed: str, answer: str) -> None:
    assert build_response(V(proposed), V("1.2.3"), V("1.0.2")).text == answer


def test_build_response_errors_I_43() -> None:
    with pytest.raises(VersionTooNew):
        build_response(V("2.0.0-alpha.1"), V("1.2.3"), V("1.0.2"))
    with pytest.raises(VersionTooOld):
        build_response(V("1.0.0"), V("1.2.3"), V("1.0.2"))


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ("1.2.3", None),
        ("1.3.0", VersionTooNew),
        ("1.0.7", None),
        ("2.0.0-alpha.1", VersionTooNew),
        ("1.0.0", VersionTooOld),
    ],
)
def test_verify_compatibility_examples_I_43(answer: str, error: type | None) -> None:  # type: ignore[type-arg]
    if error is None:
        verify_compatibility(V(answer), V("1.2.3"), V("1.0.2"))
    else:
        with pytest.raises(error):
            verify_compatibility(V(answer), V("1.2.3"), V("1.0.2"))


def test_version_value_parsing_I_41() -> None:
    assert channel_version() == '{"protocol":"mesh-security","version":"0.11.0"}'
    parsed = parse_channel_version('{"protocol":"mesh-security","version":"0.11.0","x":1}')
    assert parsed.text == "0.11.0"
    with pytest.raises(InvalidProtocol):
        parse_channel_version('{"protocol":"ics20","version":"0.11.0"}')
    with pytest.raises(InvalidVersion):
        parse_channel_version('{"protocol":"mesh-security","version":"1.2.3a"}')
    with pytest.raises(InvalidVersion):
        parse_channel_version("not json")
    assert V("1.0.0-alpha") < V("1.0.0-alpha.1") < V("1.0.0-beta") < V("1.0.0")
    assert V("1.0.0-2") < V("1.0.0-10") < V("1.0.0-a")


# -- handshake (P-82, I-40, I-44, I-46, I-47) ----------------------------------------------------


def _fresh() -> tuple[ExternalStaking, Store]:
    store = Store()
    ext = make(ExternalStaking, store, EXT, FakeQuerier())
    ext.instantiate(
        env(EXT),
        info("c"),
        ExternalStakingInstantiate(
            denom=DENOM,
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
    return ext, store


def test_open_init_and_open_ack_are_refused_I_40() -> None:
    ext, store = _fresh()
    rejects(
        store,
        lambda: ext.ibc_channel_open(env(EXT), ChannelOpen(channel=channel())),
        IbcOpenInitDisallowed(),
    )
    rejects(
        store,
        lambda: ext.ibc_channel_connect(
            env(EXT), ChannelConnect(channel=channel(), counterparty_version=channel_version())
        ),
        IbcOpenInitDisallowed(),
    )


def test_open_try_checks_order_endpoint_and_version_P_82_I_44() -> None:
    ext, store = _fresh()

    def try_(ch: object, version: str | None = channel_version()) -> object:
        return ext.ibc_channel_open(env(EXT), ChannelOpen(channel=ch, counterparty_version=version))  # type: ignore[arg-type]

    rejects(store, lambda: try_(channel(order=IbcOrder.ORDERED)), InvalidChannelOrder())
    rejects(store, lambda: try_(channel(connection="connection-1")), Unauthorized())
    rejects(store, lambda: try_(channel(port="wasm.other")), Unauthorized())
    rejects(
        store, lambda: try_(channel(), '{"protocol":"x","version":"0.11.0"}'), InvalidProtocol("x")
    )
    rejects(store, lambda: try_(channel(), ""), InvalidVersion(""))
    rejects(
        store,
        lambda: try_(channel(), channel_version("0.10.0")),
        VersionTooOld("0.10.0", "0.11.0"),
    )
    rejects(
        store, lambda: try_(channel(), channel_version("1.0.0")), VersionTooNew("1.0.0", "0.11.0")
    )
    assert try_(channel(), channel_version("0.11.5")) == channel_version("0.11.0")


def test_open_confirm_stores_the_channel_once_I_46_I_47() -> None:
    ext, store = _fresh()
    with pytest.raises(NoChannel):
        ext.query(env(EXT), IbcChannelQuery())
    ext.ibc_channel_connect(env(EXT), ChannelConnect(channel=channel()))
    assert ext.query(env(EXT), IbcChannelQuery()) == channel()
    rejects(
        store,
        lambda: ext.ibc_channel_open(
            env(EXT), ChannelOpen(channel=channel(), counterparty_version=channel_version())
        ),
        IbcChannelAlreadyOpen(),
    )
    rejects(
        store,
        lambda: ext.ibc_channel_connect(env(EXT), ChannelConnect(channel=channel())),
        IbcChannelAlreadyOpen(),
    )


def test_instantiate_validation_P_49_5_1() -> None:
    store = Store()
    ext = make(ExternalStaking, store, EXT, FakeQuerier())

    def inst(conn: str, port: str, dsign: str) -> object:
        return ext.instantiate(
            env(EXT),
            info("c"),
            ExternalStakingInstantiate(
                denom=DENOM,
                rewards_denom="ucons",
                vault="vault",
                unbonding_period=10,
                remote_contact=AuthorizedEndpoint(connection_id=conn, port_id=port),
                slash_ratio=SlashRatios(
                    double_sign=Decimal18.parse(dsign), offline=Decimal18.parse("0")
                ),
            ),
        )

    rejects(store, lambda: inst("", "p", "0.1"), InvalidEndpoint())
    rejects(store, lambda: inst("c", "", "0.1"), InvalidEndpoint())
    rejects(store, lambda: inst("c", "p", "1.5"), InvalidSlashRatio())


def test_no_packets_before_the_handshake() -> None:
    ext, store = _fresh()
    rejects(
        store,
        lambda: ext.execute(
            env(EXT), info("alice"), ExternalUnstake(validator="v", amount=coin(1))
        ),
        NoChannel(),
    )


# -- packets in (P-92, P-93) ------------------------------------------------------------------


def test_malformed_packet_raises_for_an_error_ack_P_93_I_27() -> None:
    xf = ExtFixture()
    for data in (b"nope", b'{"unknown":{}}', b'{"distribute":{"validator":"v"}}'):
        with pytest.raises(PacketDecodeError):
            xf.receive(data)


# -- close (P-83, P-83a, I-100) ---------------------------------------------------------------


def test_close_requires_the_admin_or_governance_request_rec_P_83a() -> None:
    xf = ExtFixture()
    before = xf.store.snapshot()
    # an unrequested CloseInit is refused and changes nothing
    rejects(xf.store, lambda: xf.ext.ibc_channel_close(xf.env(), channel()), Unauthorized())
    assert xf.store.snapshot() == before
    rejects(
        xf.store,
        lambda: xf.ext.execute(xf.env(), info("mallory"), CloseControlChannel()),
        Unauthorized(),
    )
    response = xf.ext.execute(xf.env(), info("admin"), CloseControlChannel())
    assert response.messages[0].msg == IbcCloseChannel(channel_id="channel-0")
    assert xf.ext.state.close_requested()
    xf2 = ExtFixture()
    assert xf2.ext.sudo(xf2.env(), CloseControlChannel()).messages[0].msg == IbcCloseChannel(
        channel_id="channel-0"
    )


def test_close_confirm_and_other_channels_are_refused_P_83() -> None:
    xf = ExtFixture()
    xf.ext.execute(xf.env(), info("admin"), CloseControlChannel())
    rejects(
        xf.store,
        lambda: xf.ext.ibc_channel_close(xf.env(), channel(), confirm=True),
        IbcChannelCloseConfirmDisallowed(),
    )
    rejects(
        xf.store,
        lambda: xf.ext.ibc_channel_close(xf.env(), channel(channel_id="channel-5")),
        IbcChannelNotMatch(),
    )


def test_close_rolls_back_pending_txs_then_unbonds_everything_P_83_I_100() -> None:
    xf = ExtFixture()
    xf.staked("alice", "valA", 100, tx_id=1)
    xf.staked("bob", "valB", 50, tx_id=2)
    in_flight_stake = xf.stake("alice", "valA", 30, tx_id=3)
    in_flight_unstake = xf.unstake("bob", "valB", 20)
    xf.distribute(("valA", 10))
    transfer = xf.withdraw_rewards("alice", "valA")
    xf.ext.execute(xf.env(), info("admin"), CloseControlChannel())
    response = xf.ext.ibc_channel_close(xf.env(), channel())
    # step 1: pending txs resolved as by an error ack, ascending id (stake 3 first)
    assert vault_calls(list(response.messages)) == [RollbackTx(tx_id=3)]
    assert response.messages[0].reply_on is ReplyOn.ERROR
    assert len(xf.ext.txs) == 0
    # step 2: every stake becomes an unbond of its low released now
    for user, validator, amount in (("alice", "valA", 100), ("bob", "valB", 50)):
        stake = xf.stake_of(user, validator)
        assert stake.stake == ValueRange(0, 0)
        assert [(u.amount, u.release_at) for u in stake.pending_unbonds] == [(amount, xf.now)]
    assert (xf.total("valA"), xf.total("valB")) == (0, 0)
    assert xf.reward("alice", "valA") == 10  # the reward stays credited
    # step 3: closed; withdraw_unbonded still works
    for call in (
        lambda: xf.unstake("alice", "valA", 1),
        lambda: xf.withdraw_rewards("alice", "valA"),
        lambda: xf.stake("alice", "valA", 1, tx_id=9),
    ):
        with pytest.raises(ChannelClosed):
            call()
    assert xf.withdraw_unbonded("alice")[0].msg.msg.amount == coin(100)
    # late timeouts of the resolved packets find no pending tx (P-16)
    for packet in (in_flight_stake, in_flight_unstake, transfer):
        assert [e.type for e in xf.timeout(packet).events] == ["TxNotPending"]
    assert decoded(transfer).rewards.amount == 10
