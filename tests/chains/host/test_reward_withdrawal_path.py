"""The reward withdrawal path of every epoch (consumer.md C-95, C-99, C-9) against the plain one.

Issue 16 made each withdrawal sub-message and its reply cheaper: the executor's route calls
distribution without the module's own savepoint (the sub-message's savepoint undoes a
failure), the cascade's reply-always path routes and replies without the generic helpers and
builds the `Reply` unvalidated, and an empty reply response is not run. These tests run the
same random scenarios (delegations, blocks of rewards, withdrawals of which some fail for
want of a delegation, replies that return data, events or messages) twice: on an executor
as it is, and on one whose sub-messages take the plain path written out below (the route
through the staking module's atomic method, `dispatch`, validated reply events, the generic
`_run_response`). The state dumps, the results, the events and every reply the contract
saw must be byte-identical.
"""

from __future__ import annotations

import types
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chains import ChainError, Coin
from chains.contract import (
    Contract,
    DistributionWithdrawReward,
    Env,
    Event,
    MessageInfo,
    Reply,
    ReplyOn,
    Response,
    StakingDelegate,
    SubMsg,
    UnsupportedMessage,
)
from chains.host import TxExecutor
from chains.modules import StakingParams
from mesh_actors import Message
from tests.chains.host._kit import ALICE, DENOM, make_config


class Delegate(Message):
    type_name = "test.withdrawals.delegate"
    validator: str
    amount: int


class Withdraw(Message):
    """Withdraw from ``validators`` (reply-always); the reply to position ``i`` answers
    with ``answers[i]``: 0 nothing, 1 data, 2 an event, 3 a failure (the reply fails)."""

    type_name = "test.withdrawals.withdraw"
    validators: tuple[str, ...]
    answers: tuple[int, ...]


class Withdrawer(Contract):
    """Delegates its funds and withdraws, recording every reply it receives."""

    code = "test.withdrawer"

    def instantiate(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        self.deps.storage.item("seen").save(())
        return Response()

    def execute(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        if isinstance(msg, Delegate):
            coin = Coin(denom=DENOM, amount=msg.amount)
            return Response.of(StakingDelegate(validator=msg.validator, amount=coin))
        if isinstance(msg, Withdraw):
            self.deps.storage.item("answers").save(msg.answers)
            subs = [
                SubMsg(id=i, msg=DistributionWithdrawReward(validator=v), reply_on=ReplyOn.ALWAYS)
                for i, v in enumerate(msg.validators)
            ]
            return Response(messages=tuple(subs))
        raise UnsupportedMessage("execute", type(msg).__name__)

    def reply(self, env: Env, reply: Reply) -> Response:
        seen = self.deps.storage.item("seen")
        # everything a reply holds, the fields set included, and the amount now held
        record = (
            type(reply).__name__,
            repr(reply),
            reply.__struct_fields__,  # (a struct: every field is set)
            self.deps.querier.balance(env.contract_address, DENOM),
        )
        seen.save((*seen.load(), record))
        answer = self.deps.storage.item("answers").load()[reply.id]
        if answer == 1:
            return Response(data=f"reply-{reply.id}")
        if answer == 2:
            return Response(events=(Event(type="replied", attributes=(("id", str(reply.id)),)),))
        if answer == 3:
            raise UnsupportedMessage("reply", "refused on purpose")
        return Response()


def _plain_route(executor: TxExecutor) -> Any:
    def route(sender: str, msg: DistributionWithdrawReward) -> int:
        # the staking module's atomic method: its own savepoint inside the sub-message's
        amount = executor.staking.withdraw_delegator_reward(sender, msg.validator)
        attributes = (("validator", msg.validator), ("delegator", sender), ("amount", str(amount)))
        executor.emit_raw("distribution", "withdraw_rewards", attributes)
        return amount

    return route


def _plain_run_submsg(self: Any, emitter: str, sub: SubMsg) -> Any:
    """The cascade's sub-message step with the generic helpers (`dispatch`, `_core`,
    `_env`, `_run_response`) and the replies' events checked (`Event.trusted`)."""
    mode = sub.reply_on
    if mode is ReplyOn.NEVER:
        self.dispatch(emitter, sub.msg)
        return None
    events = self._events
    mark = len(events)
    if mode is ReplyOn.SUCCESS:
        result = self.dispatch(emitter, sub.msg)
    else:
        store = self._store
        point = store.savepoint()
        created = len(self._created)
        try:
            result = self.dispatch(emitter, sub.msg)
        except ChainError as exc:
            store.rollback_to(point)
            del events[mark:]
            del self._created[created:]
            return _plain_reply(self, emitter, Reply.trusted(sub.id, False, None, (), exc))
        except BaseException:
            store.rollback_to(point)
            raise
        store.release(point)
        if mode is ReplyOn.ERROR:
            return None
    recorded = tuple(Event.trusted(t, a) for _, t, a in events[mark:])
    return _plain_reply(self, emitter, Reply.trusted(sub.id, True, result, recorded, None))


def _plain_reply(self: Any, emitter: str, reply: Reply) -> Any:
    response = self._core(emitter).reply(self._env(emitter), reply)
    return self._run_response(emitter, "reply", response)


def _executor(plain: bool) -> tuple[TxExecutor, str, list[str]]:
    config = make_config(staking=StakingParams(bond_denom=DENOM, block_provision=1_234_567))
    executor = TxExecutor(config)
    executor.register_code(Withdrawer)
    if plain:
        executor._routes[DistributionWithdrawReward] = _plain_route(executor)
        executor._run_submsg = types.MethodType(_plain_run_submsg, executor)  # type: ignore[method-assign]
    executor.begin_block(config.first_block_time)
    funds = (Coin(denom=DENOM, amount=10**9),)
    init = Delegate(validator="", amount=0)
    contract = executor.instantiate(ALICE, "test.withdrawer", init, funds).unwrap()
    validators = [v.operator for v in executor.staking.bonded_validators()]
    return executor, contract, validators


# a step: ("blocks", n) | ("delegate", validator index, amount) | ("withdraw", picks, answers)
_step = st.one_of(
    st.tuples(st.just("blocks"), st.integers(1, 4)),
    st.tuples(st.just("delegate"), st.integers(0, 2), st.integers(1, 10**6)),
    st.tuples(
        st.just("withdraw"),
        st.lists(st.integers(0, 2), min_size=1, max_size=5),
        st.lists(st.integers(0, 3), min_size=5, max_size=5),
    ),
)


def _run(plain: bool, steps: list[tuple[Any, ...]]) -> list[Any]:
    executor, contract, validators = _executor(plain)
    # index 2 names a validator the contract never delegates to: NoDelegation, caught (C-9)
    names = [*validators[:2], "starsvaloper1nobody"]
    trace: list[Any] = []
    for step in steps:
        if step[0] == "blocks":
            for _ in range(step[1]):
                executor.end_block()
                executor.begin_block(executor.time_s + 5)
            continue
        if step[0] == "delegate":
            msg: Message = Delegate(validator=names[min(step[1], 1)], amount=step[2])
        else:
            msg = Withdraw(validators=tuple(names[i] for i in step[1]), answers=tuple(step[2]))
        result = executor.execute(ALICE, contract, msg)
        trace.append((result.ok, repr(result.data), repr(result.error), result.events))
    trace.append(executor.dump_state())
    return trace


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(_step, min_size=1, max_size=12))
def test_withdrawal_path_matches_the_plain_path_C_95_C_99_C_9(steps: list[tuple[Any, ...]]) -> None:
    fast = _run(False, steps)
    plain = _run(True, steps)
    assert fast == plain


def test_withdrawal_path_is_exercised_C_95() -> None:
    # the scenario the property relies on: rewards paid, a caught failure, replies seen
    steps: list[tuple[Any, ...]] = [
        ("delegate", 0, 500_000),
        ("blocks", 3),
        ("withdraw", [0, 2, 0], [0, 1, 2, 0, 0]),
    ]
    fast = _run(False, steps)
    assert fast == _run(True, steps)
    ok, _, _, events = fast[-2]
    assert ok
    paid = [e.get("amount") for e in events if e.type == "withdraw_rewards"]
    assert len(paid) == 2 and int(paid[0]) > 0 and paid[1] == "0"
    assert [e.type for e in events].count("replied") == 1


@settings(max_examples=30, deadline=None)
@given(
    amounts=st.lists(st.integers(1, 10**7), min_size=2, max_size=2),
    blocks=st.integers(1, 6),
)
def test_withdrawal_pays_the_truncated_pending_reward_C_26(amounts: list[int], blocks: int) -> None:
    # an oracle outside the module's atomics arithmetic: the SdkDec figures it reports
    executor, contract, validators = _executor(False)
    for validator, amount in zip(validators, amounts, strict=False):
        assert executor.execute(ALICE, contract, Delegate(validator=validator, amount=amount)).ok
    for _ in range(blocks):
        executor.end_block()
        executor.begin_block(executor.time_s + 5)
    distribution = executor.staking.distribution
    pending = [distribution.pending_rewards(contract, v) for v in validators[:2]]
    pool = distribution.community_pool()
    held = executor.bank.balance(contract, DENOM)

    result = executor.execute(
        ALICE, contract, Withdraw(validators=tuple(validators[:2]), answers=(0,) * 5)
    )

    assert result.ok
    paid = [int(e.get("amount") or "") for e in result.events if e.type == "withdraw_rewards"]
    assert paid == [p.truncate_int() for p in pending]
    assert executor.bank.balance(contract, DENOM) == held + sum(paid)
    rest = sum(p.atomics for p in pending) - sum(paid) * 10**18
    assert distribution.community_pool().atomics == pool.atomics + rest
    assert all(distribution.pending_rewards(contract, v).is_zero() for v in validators[:2])
