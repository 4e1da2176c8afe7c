"""Property tests of the epoch invariants on the real chain executor (consumer.md C-103,
C-104, section 7.6; the issue's "after every epoch" properties).

Random provider packets (stake, unstake, burn), governance cap changes, price changes,
downtime slashes and unjails, and acks of drain packets, interleaved with blocks; the mesh
module's scheduler runs the epochs in end-blocks. After every epoch of the virtual staking
contract: the total virtual delegation is within the max cap; no request is negative; the
module's ``total_delegated`` is the sum over validators of the contract's live delegations;
for every validator never burned nor slashed, the module's per-delegator records add up to
the contract's request. This runs at executor level (the same unit bodies as the actor
tests, on a bare `TxExecutor`): one example is a whole chain, and hypothesis needs many.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chains import Coin, Decimal18, TxResult
from chains.consumer import (
    Converter,
    ConverterConfig,
    ConverterConfigQuery,
    ConverterInstantiate,
    MsgSetVirtualStakingMaxCap,
    SimplePriceFeed,
    SimplePriceFeedInstantiate,
    TaskType,
    UpdatePrice,
    VirtualStaking,
)
from chains.contract import CustomMsg
from chains.host import TxExecutor
from chains.modules import ForceDowntime, SubmitEquivocation, Unjail
from chains.wire import BurnPacket, InternalUnstakePacket, StakePacket, UnstakePacket
from tests.chains.consumer_actors._kit import (
    ADMIN,
    CODES,
    REMOTE,
    SUCCESS_ACK,
    VALIDATORS,
    Body,
    CaptureIbc,
    Sent,
    acknowledge,
    connect,
    consumer_config,
    control_channel,
    ibc_of,
    inbound,
    local,
    mesh_factory,
    mesh_of,
    open_init,
    outbound,
    receive,
)

USER = "osmo1user"


class World:
    """One consumer chain on a bare executor, deployed as in I-49."""

    def __init__(self) -> None:
        ex = self.ex = TxExecutor(consumer_config())
        ex.add_module(mesh_factory(4)(ex))
        ex.add_module(CaptureIbc(ex.store))
        for code in CODES:
            ex.register_code(code)
        ex.begin_block(ex.config.first_block_time)
        self.feed = ex.instantiate(
            ADMIN,
            SimplePriceFeed.code,
            SimplePriceFeedInstantiate(native_per_foreign=Decimal18.parse("0.5")),
        ).unwrap()
        self.converter = ex.instantiate(
            ADMIN,
            Converter.code,
            ConverterInstantiate(
                price_feed=self.feed,
                discount=Decimal18.parse("0.1"),
                remote_denom=REMOTE,
                virtual_staking_code_id=VirtualStaking.code,
            ),
        ).unwrap()
        config = ex.query_contract(self.converter, ConverterConfigQuery())
        assert isinstance(config, ConverterConfig) and config.virtual_staking is not None
        self.vs = config.virtual_staking
        channel = control_channel(self.converter)
        version = self.unit(open_init(self.converter, channel)).unwrap()
        self.unit(connect(self.converter, channel.model_copy(update={"version": version}), version))
        self.set_cap(30_000_000).unwrap()
        # a downtime slash infracts at height - 2 (C-35): start where that is a real height
        ex.end_block()
        ex.begin_block(ex.time_s + 5)
        self.sequence = 0
        self.acked = 0
        self.epochs = 0
        # validators whose requests no longer follow the records (burns, slashes)
        self.touched: set[str] = set()

    def unit(self, body: Body) -> TxResult:
        ex = self.ex
        return ex.run(lambda: body(ex))

    def set_cap(self, amount: int) -> TxResult:
        ex = self.ex
        msg = MsgSetVirtualStakingMaxCap(
            authority=ex.gov_address, contract=self.vs, max_cap=local(amount)
        )
        return ex.submit(ex.gov_address, CustomMsg(module="virtual_stake", msg=msg))

    def deliver(self, packet: Any) -> None:
        self.sequence += 1
        wire = inbound(self.converter, packet, self.sequence, self.ex.time_s)
        self.unit(receive(self.converter, wire)).unwrap()

    def operator(self, name: str) -> str:
        return self.ex.config.operator(name)

    # -- reads --

    def state(self) -> dict[str, dict[Any, Any]]:
        return self.ex.contract_state(self.vs)

    def requests(self) -> dict[str, int]:
        return dict(self.state().get("bond_requests", {}))

    def bonded(self) -> dict[str, int]:
        return dict(self.state().get("bonded", {}).get("value", ()))

    def inactive(self) -> dict[str, bool]:
        return dict(self.state().get("inactive", {}))

    # -- blocks and the checks after each epoch --

    def blocks(self, count: int, seconds: int) -> None:
        ex = self.ex
        mesh = mesh_of(ex)
        for _ in range(count):
            due = any(
                kind is TaskType.HANDLE_EPOCH and height == ex.height and contract == self.vs
                for kind, height, contract, _ in mesh.scheduled_tasks()
            )
            result = ex.end_block()
            assert [r.error for r in result.sudo_results if not r.ok] == []
            assert result.failures == ()
            if due:
                self.epochs += 1
                self.check_after_epoch()
            ex.begin_block(ex.time_s + seconds)
        assert all(amount >= 0 for amount in self.requests().values())

    def check_after_epoch(self) -> None:
        ex = self.ex
        mesh = mesh_of(ex)
        cap = mesh.max_cap(self.vs)
        requests, bonded = self.requests(), self.bonded()
        assert all(amount >= 0 for amount in requests.values())
        live = {
            self.operator(n): ex.staking.delegation_value(self.vs, self.operator(n))
            for n in VALIDATORS
        }
        # the module's record of the virtual delegation is the sum over the validators
        assert mesh.total_delegated(self.vs) == sum(live.values())
        records: dict[str, int] = {}
        for record in mesh.delegation_records(self.vs):
            assert record.amount > 0
            records[record.validator] = records.get(record.validator, 0) + record.amount
        for validator, amount in requests.items():
            if validator not in self.touched:
                assert records.get(validator, 0) == amount
        if cap > 0:
            # C-103, C-104
            assert sum(live.values()) <= cap
            assert sum(bonded.values()) <= cap
            assert all(bonded[v] <= requests.get(v, 0) for v in bonded)
            for validator, tombstoned in self.inactive().items():
                if tombstoned:
                    assert bonded.get(validator, 0) == 0

    # -- operations --

    def apply(self, op: tuple[Any, ...]) -> None:
        kind = op[0]
        ex = self.ex
        if kind == "blocks":
            self.blocks(op[1], op[2])
        elif kind == "stake":
            coin = Coin(denom=REMOTE, amount=op[2])
            self.deliver(
                StakePacket(delegator=USER, validator=self.operator(op[1]), stake=coin, tx_id=1)
            )
        elif kind == "unstake":
            coin = Coin(denom=REMOTE, amount=op[2])
            self.deliver(
                UnstakePacket(delegator=USER, validator=self.operator(op[1]), unstake=coin, tx_id=1)
            )
        elif kind == "burn":
            validator = self.operator(op[1])
            before = self.requests()
            self.deliver(BurnPacket(validators=(validator,), burn=Coin(denom=REMOTE, amount=op[2])))
            if self.requests() != before:
                self.touched.add(validator)
        elif kind == "cap":
            assert self.set_cap(op[1]).ok
        elif kind == "price":
            update = UpdatePrice(native_per_foreign=Decimal18.parse(op[1]))
            assert ex.execute(ADMIN, self.feed, update).ok
        elif kind == "slash":
            validator = self.operator(op[1])
            if ex.submit(ex.gov_address, ForceDowntime(validator=validator)).ok:
                self.touched.add(validator)
        elif kind == "evidence":
            validator = self.operator(op[1])
            record = ex.staking.validator(validator)
            assert record is not None
            evidence = SubmitEquivocation(
                consensus_address=record.consensus_address,
                infraction_height=ex.height - 1,
                infraction_time=ex.time_s - 5,
                power=record.tokens // 1_000_000,
            )
            if ex.submit(ex.gov_address, evidence).ok:
                self.touched.add(validator)
        elif kind == "unjail":
            account = ex.config.address(op[1])
            ex.submit(account, Unjail(validator=self.operator(op[1])))
        elif kind == "ack":
            sent: tuple[Sent, ...] = ibc_of(ex).sent()
            for item in sent[self.acked :]:
                if isinstance(item.decoded(), InternalUnstakePacket):
                    self.unit(acknowledge(self.converter, outbound(item), SUCCESS_ACK)).unwrap()
            self.acked = len(sent)


_name = st.sampled_from(VALIDATORS)
_by_kind: dict[str, st.SearchStrategy[tuple[Any, ...]]] = {
    "blocks": st.tuples(st.just("blocks"), st.integers(1, 5), st.sampled_from([5, 5, 700])),
    "stake": st.tuples(st.just("stake"), _name, st.integers(1, 40_000_000)),
    "unstake": st.tuples(st.just("unstake"), _name, st.integers(1, 20_000_000)),
    "burn": st.tuples(st.just("burn"), _name, st.integers(1, 5_000_000)),
    "cap": st.tuples(st.just("cap"), st.sampled_from([0, 0, 1, 999, 10_000_000, 30_000_000])),
    "price": st.tuples(st.just("price"), st.sampled_from(["0.5", "0.37", "1", "2"])),
    "slash": st.tuples(st.just("slash"), _name),
    "evidence": st.tuples(st.just("evidence"), _name),
    "unjail": st.tuples(st.just("unjail"), _name),
    "ack": st.tuples(st.just("ack")),
}
_ops = st.sampled_from([*["blocks"] * 5, *["stake"] * 3, "ack", *_by_kind]).flatmap(
    lambda kind: _by_kind[kind]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ops, min_size=5, max_size=30))
# found by a fresh CI run: a tombstoned validator whose request the cap scales to 0 was
# unbonded by its slashed view (19), above its live value (18), failing every epoch
@example(
    [
        ("blocks", 1, 5),
        ("blocks", 1, 5),
        ("stake", "val-b", 48),
        ("blocks", 2, 5),
        ("cap", 1),
        ("evidence", "val-b"),
        ("stake", "val-a", 4),
    ]
)
# found by Hypothesis on another seed: the live value of a slashed delegation (1 token in
# 0.0000022 shares) unbonded nothing (the shares of 1 token rounded below the delegation's),
# so the module kept counting it and every later bond under the cap failed MaxCapExceeded
@example(
    [
        ("slash", "val-a"),
        ("blocks", 1, 5),
        ("stake", "val-a", 6),
        ("blocks", 5, 5),
        ("stake", "val-b", 4),
        ("cap", 1),
        ("blocks", 1, 5),
        ("evidence", "val-a"),
    ]
)
def test_every_epoch_keeps_the_cap_and_the_books_C_103_C_104(ops: list[tuple[Any, ...]]) -> None:
    world = World()
    for op in ops:
        world.apply(op)
    world.blocks(5, 5)  # at least one more epoch
    assert world.epochs >= 1
