"""The contract kit (`chains.testing.ContractKit`) on the real executor: units are atomic
because the executor rolls them back (P-2, C-8), sub-message replies follow C-9, packets are
kept only if their unit commits, and `expect_rejected` can fail."""

from __future__ import annotations

import pytest

from chains import ChainConfig, Coin, GenesisAccount
from chains.contract import ChannelOpen, Env, IbcAcknowledgement, ReplyOn, derive_address
from chains.testing import (
    CascadeChild,
    CascadeContract,
    CascadeFailure,
    CascadeInit,
    CascadeNode,
    ContractKit,
    Echo,
    EchoContract,
    IbcAppConfigure,
    IbcAppInit,
    IbcTestApp,
    IbcTestAppError,
    LogQuery,
    RunNode,
    StateLeaked,
    UnexpectedOutcome,
    UnknownChannel,
    app_version,
    packet_receive,
)

PREFIX = "stars"
ALICE = derive_address(PREFIX, "alice")
SINK = derive_address(PREFIX, "sink")


class _IbcCascade(CascadeContract):
    """The cascade probe with a port: it accepts any channel (and sends on ``channel-0``)."""

    code = "test.cascade.ibc"

    def ibc_channel_open(self, env: Env, msg: ChannelOpen) -> str | None:
        return None


@pytest.fixture
def kit() -> ContractKit:
    config = ChainConfig(
        chain_id="kit-1",
        prefix=PREFIX,
        accounts=(GenesisAccount(address=ALICE, coins=(Coin(denom="stake", amount=10_000),)),),
    )
    return ContractKit(config, codes=(_IbcCascade, CascadeContract, EchoContract))


def _cascade(kit: ContractKit, funds: int = 100) -> str:
    return kit.deploy(ALICE, _IbcCascade, CascadeInit(), (kit.coin(funds),))


def test_a_core_that_writes_then_fails_leaves_nothing_the_executor_rolled_back_P_2_C_8(
    kit: ContractKit,
) -> None:
    contract = _cascade(kit)
    kit.open_channel(contract)
    failing = CascadeNode(target=contract, tag="x", send=40, sink=SINK, packet=True, fail="error")
    # the core logs (writes) and emits a send and a packet before it raises
    result = kit.expect_rejected(
        lambda: kit.execute(ALICE, contract, RunNode(node=failing)), CascadeFailure("x")
    )
    assert result.packets == () and kit.outbox == ()
    assert kit.balance(SINK) == 0
    assert kit.query(contract, LogQuery()) == (("init", ALICE),)


def test_expect_rejected_catches_a_leak_and_a_wrong_outcome(kit: ContractKit) -> None:
    """The check can fail: a call whose unit failed while something else wrote is caught, as
    are a success and another error."""
    contract = _cascade(kit)
    failing = RunNode(node=CascadeNode(target=contract, tag="x", fail="error"))

    def leaky() -> object:
        kit.fund(SINK, 1)  # a committed write beside the failing unit
        return kit.execute(ALICE, contract, failing)

    with pytest.raises(StateLeaked):
        kit.expect_rejected(leaky, CascadeFailure("x"))  # type: ignore[arg-type]
    with pytest.raises(UnexpectedOutcome):
        kit.expect_rejected(lambda: kit.execute(ALICE, contract, failing), CascadeFailure("y"))
    ok = RunNode(node=CascadeNode(target=contract, tag="ok"))
    with pytest.raises(UnexpectedOutcome):
        kit.expect_rejected(lambda: kit.execute(ALICE, contract, ok), CascadeFailure("ok"))


def test_a_caught_sub_message_failure_keeps_the_rest_and_drops_its_packet_C_9(
    kit: ContractKit,
) -> None:
    parent = _cascade(kit)
    kit.open_channel(parent)
    # the child (the same contract, called again) sends a packet, then its own child fails
    failing = CascadeChild(node=CascadeNode(target=parent, tag="g", fail="error"))
    child = CascadeNode(target=parent, tag="c", packet=True, children=(failing,))
    node = CascadeNode(
        target=parent,
        tag="p",
        packet=True,
        children=(CascadeChild(id=2, reply_on=ReplyOn.ERROR, node=child),),
    )
    result = kit.execute(ALICE, parent, RunNode(node=node))
    assert result.ok, result.error
    (sent,) = result.packets  # the child's packet went with its rolled-back sub-message
    assert (sent.contract, sent.data, sent.sequence) == (parent, b"p", 1)
    log = kit.query(parent, LogQuery())
    assert [entry[:2] for entry in log if entry[0] == "run"] == [("run", "p")]
    assert ("reply", 2, False, "CascadeFailure") in log


def test_counterparty_end_acks_times_out_and_receives(kit: ContractKit) -> None:
    contract = _cascade(kit)
    channel = kit.open_channel(contract, version="v1")
    assert kit.channel(contract) == channel and channel.version == "v1"
    sent = kit.execute(
        ALICE, contract, RunNode(node=CascadeNode(target=contract, tag="t", packet=True))
    )
    (packet,) = sent.packets
    assert (
        packet.packet.src == channel.endpoint
        and packet.packet.dest == channel.counterparty_endpoint
    )
    # the cascade contract has no IBC entry points beyond the defaults: acks and timeouts are
    # accepted, a receive fails and becomes an error ack (I-19)
    assert kit.ack(packet).ok and kit.timeout(packet).ok
    assert kit.error_ack(packet).ok
    ack, result = kit.receive(contract, b"hello")
    assert not result.ok and ack.error_text() == str(result.error)
    assert ack != IbcAcknowledgement.success(b"{}")
    with pytest.raises(UnknownChannel):
        kit.channel(_cascade(kit))


def test_blocks_advance_and_cores_are_the_executors(kit: ContractKit) -> None:
    echo = kit.deploy(ALICE, EchoContract, None)
    height, time_s = kit.height, kit.time_s
    kit.advance(seconds=7, blocks=3)
    assert (kit.height, kit.time_s) == (height + 3, time_s + 21)
    kit.run_until(height + 5)
    assert kit.height == height + 5
    assert kit.query(echo, Echo(value="hi")) == "hi"
    assert isinstance(kit.core(echo, EchoContract), EchoContract)
    with pytest.raises(TypeError):
        kit.core(echo, CascadeContract)


def test_packet_receive_writes_an_error_ack_and_discards_the_apps_changes_I_19(
    kit: ContractKit,
) -> None:
    """The delivery body as the IBC module runs it: the app writes, then fails; the unit
    commits with an error ack and none of the app's writes. Without ``error_ack`` the
    failure fails the unit (the kit's ``receive``)."""
    app = kit.deploy(ALICE, IbcTestApp, IbcAppInit())
    kit.open_channel(app, version=app_version(1))
    assert kit.execute(ALICE, app, IbcAppConfigure(fail_receive=True)).ok
    packet = kit.inbound(app, b'{"nonce":0,"amount":5}')
    before = kit.snapshot()
    delivered = kit.run(packet_receive(app, packet, kit.relayer))
    assert delivered.ok
    assert delivered.data == IbcAcknowledgement.error(str(IbcTestAppError("receive failed")))
    assert kit.snapshot() == before
    kit.expect_rejected(
        lambda: kit.run(packet_receive(app, packet, kit.relayer, error_ack=False)),
        IbcTestAppError("receive failed"),
    )
