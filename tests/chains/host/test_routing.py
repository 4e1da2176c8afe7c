"""Message routing, ordering, funds, instantiation, modules, panics and read-only queries.

consumer.md C-7, C-8, C-11; provider.md P-3, P-4, P-5, P-6.
"""

from __future__ import annotations

import pytest

from chains import Coin, ContractPanic, InvalidAddress
from chains.contract import (
    BankBurn,
    BankSend,
    DistributionWithdrawReward,
    IbcCloseChannel,
    ReplyOn,
    StakingDelegate,
    StakingRedelegate,
    StakingUndelegate,
    UnsupportedMessage,
    WasmExecute,
    WrongDenom,
    derive_address,
    validate_address,
)
from chains.host import (
    CodeExists,
    CodeNotFound,
    ContractNotFound,
    ModuleExists,
    ModulePanic,
    NestedUnit,
    NoIbcModule,
    QueryWrite,
    TxExecutor,
    UnknownModule,
)
from chains.modules import NoDelegation, SelfRedelegation
from chains.testing import (
    BalanceQuery,
    CallModule,
    CascadeChild,
    CascadeContract,
    CascadeFailure,
    CascadeInit,
    CascadeNode,
    CountQuery,
    Emit,
    LogQuery,
    QueryOther,
    RunNode,
    Spawn,
    WritingQuery,
)
from tests.chains.host._kit import ALICE, BOB, DENOM, PREFIX, SINK, HostKit, make_config


def _stake(amount: int) -> tuple[Coin, ...]:
    return (Coin(denom=DENOM, amount=amount),)


def _node(target: str, tag: str, *children: CascadeChild, **fields: object) -> CascadeNode:
    return CascadeNode.model_validate(
        {"target": target, "tag": tag, "children": children, "sink": SINK, **fields}
    )


def _child(node: CascadeNode, **fields: object) -> CascadeChild:
    return CascadeChild.model_validate({"node": node, **fields})


# -- ordering (C-8, P-3) ---------------------------------------------------------------------


def test_emitted_messages_run_depth_first_in_emission_order_C_8_P_3(kit: HostKit) -> None:
    a, b, c = kit.contracts
    plan = _node(
        a,
        "root",
        _child(_node(b, "x", _child(_node(c, "x1")), _child(_node(a, "x2")))),
        _child(_node(c, "y")),
    )
    result = kit.ex.execute(ALICE, a, RunNode(node=plan))
    assert result.ok
    assert [e.get("tag") for e in result.events if e.type == "node"] == [
        "root",
        "x",
        "x1",
        "x2",
        "y",
    ]
    # the tx's events come in execution order, each execute event before its contract's
    assert [e.type for e in result.events][:3] == ["execute", "node", "execute"]


def test_own_state_changes_happen_before_emitted_messages_run_P_3(kit: HostKit) -> None:
    a, b, _ = kit.contracts
    probe = WasmExecute(contract_addr=b, msg=QueryOther(contract=a, msg=LogQuery()))
    result = kit.ex.execute(ALICE, a, Emit(messages=(probe,)))
    assert result.ok
    # b's query of a saw a's own log entry written in the same execution
    kind, target, answer = kit.log(b)[-1]
    assert (kind, target) == ("queried", a)
    assert isinstance(answer, tuple) and answer[-1] == ("emit", 1)


# -- funds (C-4) -----------------------------------------------------------------------------


def test_wasm_execute_moves_funds_from_emitter_to_target_first(kit: HostKit) -> None:
    a, b, _ = kit.contracts
    plan = _node(a, "root", _child(_node(b, "paid"), funds=7))
    before_a, before_b = kit.balance(a), kit.balance(b)
    result = kit.ex.execute(ALICE, a, RunNode(node=plan), _stake(3))
    assert result.ok
    assert kit.balance(a) == before_a + 3 - 7
    assert kit.balance(b) == before_b + 7
    assert kit.log(b)[-1] == ("run", "paid", a, 7)  # the target saw the funds in info
    assert kit.log(a)[-1] == ("run", "root", ALICE, 3)


def test_funds_beyond_the_emitters_balance_fail_the_transaction(kit: HostKit) -> None:
    a, b, _ = kit.contracts
    before = kit.ex.dump_state()
    result = kit.ex.execute(ALICE, a, RunNode(node=_node(a, "r", _child(_node(b, "p"), funds=51))))
    assert result.error is not None and result.error.name == "InsufficientFunds"
    assert kit.ex.dump_state() == before


def test_bank_send_and_burn_from_a_contract(kit: HostKit) -> None:
    a = kit.contracts[0]
    supply = kit.ex.bank.supply(DENOM)
    msgs = (BankSend(to_address=BOB, amount=_stake(4)), BankBurn(amount=_stake(6)))
    result = kit.ex.execute(ALICE, a, Emit(messages=msgs))
    assert result.ok
    assert kit.balance(BOB) == 4
    assert kit.balance(a) == 50 - 10
    assert kit.ex.bank.supply(DENOM) == supply - 6
    transfer = next(e for e in result.events if e.type == "transfer")
    assert transfer.source == "bank"
    assert transfer.attributes == (("recipient", BOB), ("sender", a), ("amount", "4stake"))


# -- instantiation ---------------------------------------------------------------------------


def test_instantiate_addresses_are_deterministic_and_prefixed() -> None:
    first, second = HostKit(), HostKit()
    assert first.contracts == second.contracts
    assert len(set(first.contracts)) == 3
    for address in first.contracts:
        validate_address(address, PREFIX)
    assert first.contracts[0] == derive_address(PREFIX, "contract/test.cascade/1", length=32)
    info = first.ex.contract_info(first.contracts[0])
    assert info is not None and info.code == "test.cascade" and info.creator == ALICE


def test_failed_instantiation_leaves_no_contract_and_frees_the_address(kit: HostKit) -> None:
    failed = kit.ex.instantiate(ALICE, "test.cascade", CountQuery())  # wrong init message
    assert failed.error == UnsupportedMessage("instantiate", "CountQuery")
    assert failed.contracts == ()
    assert (
        kit.ex.contract_info(derive_address(PREFIX, "contract/test.cascade/4", length=32)) is None
    )
    again = kit.deploy()
    assert again == derive_address(PREFIX, "contract/test.cascade/4", length=32)


def test_wasm_instantiate_returns_the_address_as_reply_data(kit: HostKit) -> None:
    a = kit.contracts[0]
    result = kit.ex.execute(ALICE, a, Spawn(code="test.cascade", msg=CascadeInit(), label="kid"))
    assert result.ok
    (child,) = result.contracts
    assert kit.ex.contract_state(a)["spawned"] == {7: child}
    info = kit.ex.contract_info(child)
    assert info is not None and info.creator == a and info.label == "kid"
    assert kit.log(child) == (("init", a),)


def test_unknown_code_and_code_name_clash(kit: HostKit) -> None:
    assert kit.ex.instantiate(ALICE, "nope", CascadeInit()).error == CodeNotFound("nope")

    class Impostor(CascadeContract):
        code = "test.cascade"

    with pytest.raises(CodeExists):
        kit.ex.register_code(Impostor)
    kit.ex.register_code(CascadeContract)  # the same class again is fine


# -- modules (C-11) --------------------------------------------------------------------------


def test_custom_messages_are_routed_to_the_named_module_C_11(kit: HostKit) -> None:
    a = kit.contracts[0]
    result = kit.ex.execute(ALICE, a, CallModule(module="recorder", msg="hello"))
    assert result.ok
    assert kit.recorder.calls() == ((1, a, "hello"),)
    assert kit.ex.query_module("recorder", "calls") == ((1, a, "hello"),)


def test_module_failures_roll_back_and_panics_are_named(kit: HostKit) -> None:
    a = kit.contracts[0]
    assert kit.ex.execute(ALICE, a, CallModule(module="recorder", msg="fail")).error == (
        CascadeFailure("module")
    )
    panic = kit.ex.execute(ALICE, a, CallModule(module="recorder", msg="panic")).error
    assert panic == ModulePanic("recorder", "RuntimeError: module panic")
    missing = kit.ex.execute(ALICE, a, CallModule(module="nope", msg="x")).error
    assert missing == UnknownModule("nope")
    assert kit.recorder.calls() == ()
    with pytest.raises(ModuleExists):
        kit.ex.add_module(kit.recorder)


def test_ibc_messages_go_to_the_ibc_module_or_fail_without_one(kit: HostKit) -> None:
    a = kit.contracts[0]
    assert kit.ex.execute(ALICE, a, RunNode(node=_node(a, "pkt", packet=True))).ok
    ((sender, packet),) = kit.ibc.outbox()
    assert sender == a and packet.data == b"pkt"

    bare = TxExecutor(make_config())
    bare.register_code(CascadeContract)
    bare.begin_block(bare.config.first_block_time)
    contract = bare.instantiate(ALICE, "test.cascade", CascadeInit()).unwrap()
    closing = Emit(messages=(IbcCloseChannel(channel_id="channel-0"),))
    assert bare.execute(ALICE, contract, closing).error == NoIbcModule("IbcCloseChannel")


def test_module_message_filter_can_refuse_messages() -> None:
    kit = HostKit()

    class Guard:
        name = "guard"

        def handle(self, call: object, msg: object) -> None:
            raise AssertionError("not called")

        def query(self, block: object, msg: object) -> None:
            return None

        def begin_block(self, block: object) -> list[object]:
            return []

        def end_block(self, block: object) -> list[object]:
            return []

        def check_message(self, sender: str, msg: object) -> None:
            if isinstance(msg, BankSend):
                raise CascadeFailure(f"no sends from {sender}")

    kit.ex.add_module(Guard())  # type: ignore[arg-type]
    a = kit.contracts[0]
    result = kit.ex.execute(ALICE, a, Emit(messages=(BankSend(to_address=BOB, amount=_stake(1)),)))
    assert result.error == CascadeFailure(f"no sends from {a}")


# -- staking messages from contracts ---------------------------------------------------------


def test_staking_messages_use_the_emitting_contract_as_delegator(kit: HostKit) -> None:
    a = kit.contracts[0]
    validator = kit.config.operator("val-a")
    delegate = StakingDelegate(validator=validator, amount=Coin(denom=DENOM, amount=20))
    assert kit.ex.execute(ALICE, a, Emit(messages=(delegate,))).ok
    assert kit.ex.staking.delegation_value(a, validator) == 20
    undelegate = StakingUndelegate(validator=validator, amount=Coin(denom=DENOM, amount=5))
    result = kit.ex.execute(ALICE, a, Emit(messages=(undelegate,)))
    assert result.ok
    (entry,) = kit.ex.staking.unbonding_entries(a, validator)
    assert entry.initial_balance == 5
    assert entry.completion_time == kit.ex.time_s + kit.config.staking.unbonding_time
    withdraw = Emit(messages=(DistributionWithdrawReward(validator=validator),))
    assert kit.ex.execute(ALICE, a, withdraw).ok


def test_staking_message_errors(kit: HostKit) -> None:
    a = kit.contracts[0]
    validator = kit.config.operator("val-a")
    wrong = StakingDelegate(validator=validator, amount=Coin(denom="uatom", amount=1))
    assert kit.ex.execute(ALICE, a, Emit(messages=(wrong,))).error == WrongDenom("uatom", DENOM)
    redelegate = StakingRedelegate(
        src_validator=validator, dst_validator=validator, amount=Coin(denom=DENOM, amount=1)
    )
    error = kit.ex.execute(ALICE, a, Emit(messages=(redelegate,))).error
    assert error == SelfRedelegation(validator)
    withdraw = Emit(messages=(DistributionWithdrawReward(validator=validator),))
    assert kit.ex.execute(ALICE, a, withdraw).error == NoDelegation(a, validator)


# -- panics (P-6) ----------------------------------------------------------------------------


def test_a_panicking_core_is_reported_as_contract_panic_and_state_is_intact_P_6(
    kit: HostKit,
) -> None:
    a, b, _ = kit.contracts
    before = kit.ex.dump_state()
    plan = _node(a, "root", _child(_node(b, "deep", fail="panic")), send=3)
    result = kit.ex.execute(ALICE, a, RunNode(node=plan))
    assert result.error == ContractPanic(b, "execute", "RuntimeError: panic in deep")
    assert kit.ex.dump_state() == before
    # and the executor keeps working
    assert kit.ex.execute(ALICE, a, RunNode(node=_node(a, "after"))).ok


# -- queries (C-7, P-4) ----------------------------------------------------------------------


def test_queries_read_current_state(kit: HostKit) -> None:
    a, b, _ = kit.contracts
    assert kit.ex.query(a, CountQuery()) == 1
    assert kit.ex.query(a, BalanceQuery()) == 50
    assert kit.ex.execute(ALICE, b, QueryOther(contract=a, msg=BalanceQuery())).data == 50
    with pytest.raises(ContractNotFound):
        kit.ex.query(derive_address(PREFIX, "nobody", length=32), CountQuery())


def test_queries_cannot_write_P_4(kit: HostKit) -> None:
    a, b, _ = kit.contracts
    before = kit.ex.dump_state()
    with pytest.raises(QueryWrite) as refused:
        kit.ex.query(a, WritingQuery())
    assert refused.value == QueryWrite(a)
    with pytest.raises(QueryWrite):
        kit.ex.query_module("recorder", "write")
    # through another contract, inside a transaction: the transaction fails, nothing changes
    result = kit.ex.execute(ALICE, b, QueryOther(contract=a, msg=WritingQuery()))
    assert result.error == QueryWrite(a)
    assert kit.ex.dump_state() == before


def test_module_handles_from_the_querier_are_read_only_P_4(kit: HostKit) -> None:
    from chains.modules import ModuleCall

    handle = kit.ex.querier.module("recorder")
    assert handle.calls() == ()
    with pytest.raises(QueryWrite):
        handle.handle(ModuleCall(block=kit.ex.block_env, sender=ALICE), "sneaky")
    bank = kit.ex.querier.module("bank")
    assert bank.balance(ALICE, DENOM) == kit.balance(ALICE)
    with pytest.raises(QueryWrite):
        bank.mint(ALICE, DENOM, 1)
    staking = kit.ex.querier.module("staking")
    assert len(staking.validators()) == 2
    assert kit.ex.querier.bonded_denom() == DENOM
    assert len(kit.ex.querier.all_validators()) == 2
    with pytest.raises(UnknownModule):
        kit.ex.querier.module("nope")


# -- addresses -------------------------------------------------------------------------------


def test_invalid_addresses_are_refused_with_invalid_address(kit: HostKit) -> None:
    a = kit.contracts[0]
    foreign = derive_address("osmo", "alice")
    assert isinstance(kit.ex.execute(foreign, a, CountQuery()).error, InvalidAddress)
    assert isinstance(kit.ex.execute(ALICE, "not-an-address", CountQuery()).error, InvalidAddress)
    send = BankSend(to_address=foreign, amount=_stake(1))
    assert isinstance(kit.ex.submit(ALICE, send).error, InvalidAddress)
    assert isinstance(kit.ex.execute(ALICE, a, Emit(messages=(send,))).error, InvalidAddress)
    missing = derive_address(PREFIX, "no-contract", length=32)
    assert kit.ex.execute(ALICE, missing, CountQuery()).error == ContractNotFound(missing)
    assert isinstance(
        kit.ex.instantiate(ALICE, "test.cascade", CascadeInit(), admin="x").error, InvalidAddress
    )


def test_a_failing_submessage_deep_in_a_tree_with_no_reply_fails_everything_C_8(
    kit: HostKit,
) -> None:
    a, b, c = kit.contracts
    plan = _node(
        a,
        "root",
        _child(_node(b, "ok", packet=True), reply_on=ReplyOn.SUCCESS),
        _child(_node(c, "mid", _child(_node(a, "leaf", fail="error"))), reply_on=ReplyOn.NEVER),
        send=10,
        packet=True,
    )
    before = kit.ex.dump_state()
    result = kit.ex.execute(ALICE, a, RunNode(node=plan))
    assert result.error == CascadeFailure("leaf")
    assert kit.ex.dump_state() == before
    assert kit.ibc.outbox() == ()


def test_attempt_catches_a_failure_inside_a_custom_unit_C_9(kit: HostKit) -> None:
    a, b, _ = kit.contracts
    logs = kit.log(a), kit.log(b)

    def body() -> object:
        failing = RunNode(node=_node(a, "bad", packet=True, fail="error"))
        value, error = kit.ex.attempt(kit.ex.execute_contract, ALICE, a, failing)
        assert value is None and error == CascadeFailure("bad")
        good, none = kit.ex.attempt(kit.ex.execute_contract, ALICE, b, RunNode(node=_node(b, "ok")))
        assert none is None
        return (error.name, good)

    result = kit.ex.run(body)
    assert result.ok and result.data == ("CascadeFailure", "ok")
    assert kit.log(a) == logs[0]  # the failed part left nothing behind
    assert kit.log(b) == (*logs[1], ("run", "ok", ALICE, 0))
    assert kit.ibc.outbox() == ()
    assert [e.get("_contract_address") for e in result.events if e.type == "execute"] == [b]


def test_a_unit_started_inside_a_unit_fails_with_nested_unit_P_2(kit: HostKit) -> None:
    a = kit.contracts[0]
    logs = kit.log(a)

    def body() -> object:
        kit.ex.execute_contract(ALICE, a, RunNode(node=_node(a, "outer")))
        return kit.ex.run(lambda: None)  # units do not nest

    result = kit.ex.run(body)
    assert not result.ok and result.error == NestedUnit()
    assert kit.log(a) == logs  # the outer unit is rolled back whole (P-2)
