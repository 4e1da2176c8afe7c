"""The block lifecycle of the executor (consumer.md C-10, C-27, C-31, C-52) and the native
control surface (C-28, C-29, C-34, C-35, C-36)."""

from __future__ import annotations

from typing import Any

import pytest

from chains import BlockPhase, Coin, Unauthorized
from chains.contract import BlockEnv, Event, Response, SdkDec
from chains.modules import (
    BondStatus,
    CreateValidator,
    ForceDowntime,
    InvalidBlock,
    Mint,
    ModuleCall,
    NotJailed,
    RecordLiveness,
    SetCommission,
    StakingHooks,
    StakingParams,
    SubmitEquivocation,
    SudoCall,
    Unjail,
)
from chains.testing import CascadeFailure, CascadeNode, Emit, RunNode
from tests.chains.host._kit import ALICE, BOB, DENOM, HostKit, make_config


def test_heights_and_times_strictly_increase_C_10(kit: HostKit) -> None:
    ex = kit.ex
    assert (ex.height, ex.time_s) == (1, kit.config.first_block_time)
    with pytest.raises(InvalidBlock):
        ex.begin_block(ex.time_s + 5)  # block 1 is still open
    ex.end_block()
    with pytest.raises(InvalidBlock):
        ex.end_block()  # nothing open
    with pytest.raises(InvalidBlock):
        ex.begin_block(ex.time_s)  # time must increase
    ex.begin_block(ex.time_s + 1)
    assert ex.height == 2
    ex.end_block()
    result = ex.execute(ALICE, kit.contracts[0], Emit())
    assert result.error == InvalidBlock("no block is open")


def test_genesis_bonds_validators_and_funds_accounts() -> None:
    kit = HostKit()
    validators = kit.ex.staking.bonded_validators()
    assert [v.tokens for v in validators] == [46_000_000, 10_000_000]
    assert all(v.status is BondStatus.BONDED for v in validators)
    assert kit.ex.bank.balance(ALICE, DENOM) == 10**12 - 3 * 50


class _Order(StakingHooks):
    def __init__(self, log: list[tuple[str, Any]]) -> None:
        self.log = log

    def after_validator_bonded(self, validator: str) -> None:
        self.log.append(("bonded", validator))


class _Observer:
    """A module that logs its hooks next to the staking hooks and the staking height."""

    name = "observer"

    def __init__(self, kit: HostKit, log: list[tuple[str, Any]]) -> None:
        self.kit = kit
        self.log = log
        self.calls: list[SudoCall] = []

    def handle(self, call: ModuleCall, msg: Any) -> Response:
        return Response()

    def query(self, block: BlockEnv, msg: Any) -> Any:
        return None

    def begin_block(self, block: BlockEnv) -> list[Event]:
        # staking's begin-block already ran: it is at this block's height (C-10)
        self.log.append(("module_begin", (block.height, self.kit.ex.staking.height)))
        return [Event(type="began", attributes=(("height", str(block.height)),))]

    def end_block(self, block: BlockEnv) -> list[SudoCall]:
        self.log.append(("module_end", block.height))
        calls, self.calls = self.calls, []
        return calls

    def on_sudo_result(self, call: SudoCall, result: Any) -> None:
        self.log.append(("sudo_result", (call.contract, result.ok)))


def test_block_lifecycle_order_C_10() -> None:
    kit = HostKit()
    log: list[tuple[str, Any]] = []
    kit.ex.staking.add_hooks(_Order(log))
    observer = _Observer(kit, log)
    kit.ex.add_module(observer)
    a = kit.contracts[0]
    operator = kit.ex.staking.staking.operator_of(BOB)
    kit.ex.submit(
        kit.ex.gov_address, Mint(to_address=BOB, amount=(Coin(denom=DENOM, amount=5_000_000),))
    )
    assert (
        kit.ex.submit(BOB, CreateValidator(pubkey="pk-bob", self_bond=5_000_000)).data == operator
    )
    observer.calls.append(SudoCall(contract=a, msg=RunNode(node=CascadeNode(target=a, tag="eb"))))

    end = kit.ex.end_block()
    begin = kit.ex.begin_block(kit.ex.time_s + 5)

    # end: staking set changes (hooks) first, then the module's end-blocker, then its sudo calls
    assert log == [
        ("bonded", operator),
        ("module_end", 1),
        ("sudo_result", (a, True)),
        ("module_begin", (2, 2)),
    ]
    (sudo,) = end.sudo_results
    assert sudo.ok and sudo.tx_index == 5  # after the 3 deployments and 2 transactions
    assert [e.type for e in end.events] == ["sudo", "node"]
    assert all(e.phase is BlockPhase.END_BLOCK and e.height == 1 for e in end.events)
    (began,) = begin.events
    assert (began.type, began.source, began.tx_index, began.height) == (
        "began",
        "observer",
        None,
        2,
    )
    assert began.phase is BlockPhase.BEGIN_BLOCK


def test_end_block_sudo_calls_are_isolated_from_each_other_C_52(kit: HostKit) -> None:
    a, b, c = kit.contracts
    logs = {x: kit.log(x) for x in (a, b, c)}
    kit.recorder.schedule(
        SudoCall(contract=a, msg=RunNode(node=CascadeNode(target=a, tag="one"))),
        SudoCall(contract=b, msg=RunNode(node=CascadeNode(target=b, tag="two", fail="error"))),
        SudoCall(contract=c, msg=RunNode(node=CascadeNode(target=c, tag="three", packet=True))),
    )
    end = kit.ex.end_block()
    assert [r.ok for r in end.sudo_results] == [True, False, True]
    assert end.sudo_results[1].error == CascadeFailure("two")
    assert kit.log(a) == (*logs[a], ("run", "one", "sudo", 0))
    assert kit.log(b) == logs[b]
    assert kit.log(c) == (*logs[c], ("run", "three", "sudo", 0))
    failed = [e for e in end.events if e.type == "sudo_failed"]
    assert len(failed) == 1 and failed[0].source == "recorder"
    assert failed[0].get("contract") == b and failed[0].get("error") == "CascadeFailure"
    assert kit.recorder.hooks[-1] == ("end", 1)
    assert len(kit.recorder.sudo_results) == 3


def test_a_failing_block_hook_is_rolled_back_and_the_block_goes_on() -> None:
    kit = HostKit()

    class Broken(_Observer):
        name = "broken"

        def begin_block(self, block: BlockEnv) -> list[Event]:
            kit.ex.bank.mint(BOB, DENOM, 1)  # written, then rolled back
            raise RuntimeError("boom")

        def end_block(self, block: BlockEnv) -> list[SudoCall]:
            raise CascadeFailure("end")

    kit.ex.add_module(Broken(kit, []))
    end = kit.ex.end_block()
    assert end.failures == (("broken", CascadeFailure("end")),)
    begin = kit.ex.begin_block(kit.ex.time_s + 5)
    assert [name for name, _ in begin.failures] == ["broken"]
    assert begin.failures[0][1].name == "ModulePanic"
    assert kit.ex.bank.balance(BOB, DENOM) == 0
    assert kit.ex.height == 2 and kit.ex.block_open
    assert kit.recorder.hooks[-1] == ("begin", 2)  # modules after it still ran


def test_tx_index_counts_units_in_the_block_and_restarts_each_block(kit: HostKit) -> None:
    a = kit.contracts[0]
    first = kit.ex.execute(ALICE, a, Emit())
    failed = kit.ex.execute(ALICE, a, RunNode(node=CascadeNode(target=a, tag="x", fail="error")))
    third = kit.ex.execute(ALICE, a, Emit())
    assert [first.tx_index, failed.tx_index, third.tx_index] == [3, 4, 5]  # after 3 deployments
    kit.next_block()
    again = kit.ex.execute(ALICE, a, Emit())
    assert (again.height, again.tx_index) == (2, 0)
    assert {e.height for e in again.events} == {2}


# -- the native control surface (C-34) --------------------------------------------------------


def _e2e() -> HostKit:
    return HostKit(make_config(staking=StakingParams.e2e_consumer()))


def test_force_downtime_slashes_the_spec_figures_and_jails_C_28_C_35() -> None:
    kit = _e2e()
    validator = kit.config.operator("val-a")
    result = kit.ex.submit(kit.ex.gov_address, ForceDowntime(validator=validator))
    # tokens 46_000_000 (power 46), fraction 0.1 -> burn 4_600_000 (C-28 example)
    assert result.data == 4_600_000
    record = kit.ex.staking.validator(validator)
    assert record is not None and record.jailed and record.tokens == 41_400_000
    assert any(e.type == "slash" and e.get("burned") == "4600000" for e in result.events)


def test_double_sign_evidence_slashes_by_evidence_power_and_tombstones_C_36() -> None:
    kit = _e2e()
    validator = kit.config.operator("val-a")
    record = kit.ex.staking.validator(validator)
    assert record is not None
    kit.next_block()
    evidence = SubmitEquivocation(
        consensus_address=record.consensus_address,
        infraction_height=kit.ex.height,
        infraction_time=kit.ex.time_s,
        power=100,
    )
    # tokens 46_000_000, evidence power 100, fraction 0.1 -> burn 10_000_000 (C-36 example)
    assert kit.ex.submit(kit.ex.gov_address, evidence).data == 10_000_000
    after = kit.ex.staking.validator(validator)
    assert after is not None and after.tokens == 36_000_000 and after.jailed
    assert kit.ex.staking.signing_info(validator).tombstoned


def test_unjail_and_commission_need_the_operator_account_C_29(kit: HostKit) -> None:
    validator = kit.config.operator("val-b")
    operator_account = kit.config.address("val-b")
    assert kit.ex.submit(ALICE, Unjail(validator=validator)).error == Unauthorized()
    assert kit.ex.submit(operator_account, Unjail(validator=validator)).error == NotJailed(
        validator
    )
    rate = SdkDec.parse("0.1")
    assert kit.ex.submit(ALICE, SetCommission(validator=validator, rate=rate)).error == (
        Unauthorized()
    )
    assert kit.ex.submit(operator_account, SetCommission(validator=validator, rate=rate)).ok
    liveness = RecordLiveness(validator=validator, signed=False)
    assert kit.ex.submit(kit.ex.gov_address, liveness).ok


def test_governance_calls_need_the_gov_authority(kit: HostKit) -> None:
    a = kit.contracts[0]
    before = kit.ex.dump_state()
    assert kit.ex.gov_execute(ALICE, a, Emit()).error == Unauthorized()
    assert kit.ex.gov_sudo(ALICE, a, Emit()).error == Unauthorized()
    assert kit.ex.dump_state() == before
    assert kit.ex.gov_execute(kit.ex.gov_address, a, Emit()).ok
    assert kit.log(a)[-1] == ("emit", 0)
    assert kit.ex.gov_sudo(kit.ex.gov_address, a, Emit(data="sudo")).data == "sudo"
