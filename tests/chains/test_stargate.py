"""Raw protobuf ("stargate") messages: the host refuses what it cannot decode, and a contract
with a max cap may not emit one at all (consumer.md C-50)."""

from __future__ import annotations

import pytest

from chains import Coin
from chains.consumer import MeshSecurityModule, MsgSetVirtualStakingMaxCap, Unsupported
from chains.contract import (
    BankSend,
    CustomMsg,
    DistributionWithdrawReward,
    ReplyOn,
    StargateMsg,
    SubMsg,
)
from chains.host import UndecodableMessage
from chains.testing import Emit
from tests.chains.host._kit import ALICE, BOB, DENOM, PREFIX, HostKit

DELEGATE_URL = "/cosmos.staking.v1beta1.MsgDelegate"


def _stargate() -> StargateMsg:
    return StargateMsg(type_url=DELEGATE_URL, value=b"\x0a\x03abc")


@pytest.fixture
def kit() -> HostKit:
    return HostKit()


def test_stargate_is_a_contract_message_C_50() -> None:
    # part of the message model: a contract can put one in a response like any other
    sub = SubMsg(msg=_stargate())
    assert sub.msg == _stargate()
    assert SubMsg.trusted(1, _stargate(), ReplyOn.ERROR) == SubMsg(
        id=1, msg=_stargate(), reply_on=ReplyOn.ERROR
    )


def test_an_undecodable_stargate_message_fails_the_transaction_by_name_C_50(
    kit: HostKit,
) -> None:
    a = kit.contracts[0]
    log, bob = kit.log(a), kit.balance(BOB)
    send = BankSend(to_address=BOB, amount=(Coin(denom=DENOM, amount=3),))
    result = kit.ex.execute(ALICE, a, Emit(messages=(send, _stargate())))
    assert result.error == UndecodableMessage(DELEGATE_URL)
    # the send before it is rolled back with the rest of the transaction (C-8)
    assert kit.balance(BOB) == bob
    assert kit.log(a) == log


def test_a_root_stargate_message_is_refused_too_C_50(kit: HostKit) -> None:
    result = kit.ex.submit(ALICE, _stargate())
    assert result.error == UndecodableMessage(DELEGATE_URL)


def _with_mesh_module(kit: HostKit) -> MeshSecurityModule:
    mesh = MeshSecurityModule(kit.ex.staking, account_prefix=PREFIX)
    kit.ex.add_module(mesh)
    return mesh


def test_a_capped_contract_may_not_emit_stargate_messages_C_50(kit: HostKit) -> None:
    mesh = _with_mesh_module(kit)
    a = kit.contracts[0]
    # no max-cap entry: an ordinary contract; the host's own refusal applies
    result = kit.ex.execute(ALICE, a, Emit(messages=(_stargate(),)))
    assert result.error == UndecodableMessage(DELEGATE_URL)

    cap = MsgSetVirtualStakingMaxCap(
        authority=mesh.authority, contract=a, max_cap=Coin(denom=DENOM, amount=0)
    )
    assert kit.ex.submit(mesh.authority, CustomMsg(module=mesh.name, msg=cap)).ok
    result = kit.ex.execute(ALICE, a, Emit(messages=(_stargate(),)))
    # the integrity rule runs before routing: the module's named error, not the host's
    assert result.error == Unsupported("StargateMsg")
    # distribution messages stay allowed for a capped contract
    mesh.check_message(
        a, DistributionWithdrawReward(validator=kit.ex.staking.validators()[0].operator)
    )
