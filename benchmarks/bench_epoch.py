"""The virtual staking epoch at scale (consumer.md C-95..C-99 with the mesh module, C-46/C-47).

For N validators (100, 1,000, 10,000): a consumer chain with N bonded validators and a
virtual staking contract that already holds a delegation on each of them (one epoch run),
then 100,000 bond/unbond requests from the converter spread over the validators, a few
blocks of rewards, and the measured epoch: the reward withdrawal from every target with its
reply, the cap query, and the rebalance executed through the mesh module and staking (each
message in its own savepoint, as a host runs it).

Printed: the time to accumulate the requests, the epoch's core computation alone, the whole
epoch with its messages, and the growth of the whole epoch from 100 to 10,000 validators
against the 100-validator run. The converter is reduced to a sink for the reward batch, and
the messages run through this module's own small dispatcher, not a chain host's cascade (the
host's withdrawal path is measured by the mesh benchmark's stress profile, ~100
withdrawals per consumer epoch).

Measured (issue 16, shared 2-core machine at load 5-7, so wall figures move by ~30%): the
whole epoch with 100 / 1,000 / 10,000 validators took 89 / 1,508 / 15,334 ms before the
withdrawal path was trimmed (distribution's payout without ``div_trunc`` calls, the virtual
staking reply through its maps, cheaper unvalidated model construction) and 49 / 830 /
7,396 ms after; the accumulate rate moved from 3,887 to 5,139 req/s between the two runs
(load, and the cheaper construction), so part of the difference is the load's.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from typing import Any

from benchmarks._report import Report
from chains import ChainError, Coin
from chains.consumer import (
    HandleEpoch,
    MeshParams,
    MeshSecurityModule,
    MsgSetVirtualStakingMaxCap,
    VirtualStaking,
    VirtualStakingBond,
    VirtualStakingInstantiate,
    VirtualStakingUnbond,
)
from chains.contract import (
    BlockEnv,
    ContractStorage,
    CustomMsg,
    Deps,
    DistributionWithdrawReward,
    Env,
    MessageInfo,
    Reply,
    ReplyOn,
    Response,
    SdkDec,
    Store,
    SubMsg,
    WasmExecute,
    derive_address,
)
from chains.modules import Bank, ModuleCall, StakingModule, StakingParams

PREFIX = "stars"
DENOM = "stake"
REQUESTS = 100_000
M = 1_000_000


class _Querier:
    def __init__(self, chain: _Chain) -> None:
        self._chain = chain

    def balance(self, address: str, denom: str) -> int:
        return self._chain.bank.balance(address, denom)

    def smart(self, contract_addr: str, msg: Any) -> Any:
        raise ChainError()

    def bonded_denom(self) -> str:
        return DENOM

    def custom(self, module: str, msg: Any) -> Any:
        return self._chain.mesh.query(self._chain.block, msg)

    def module(self, name: str) -> Any:
        return self._chain.staking

    def all_validators(self) -> tuple[Any, ...]:
        return tuple(self._chain.staking.bonded_validators())

    def validator(self, operator: str) -> Any:
        return self._chain.staking.validator(operator)


class _Chain:
    """A consumer chain reduced to what the epoch touches."""

    def __init__(self, validators: int) -> None:
        self.store = Store()
        self.bank = Bank(self.store)
        params = StakingParams(max_validators=validators, block_provision=1_000_000)
        self.staking = StakingModule(self.store, self.bank, params, account_prefix=PREFIX)
        self.mesh = MeshSecurityModule(
            self.staking,
            account_prefix=PREFIX,
            params=MeshParams(epoch_length=10**6, total_contracts_max_cap=10**15),
        )
        self.converter = derive_address(PREFIX, "converter")
        self.vs_address = derive_address(PREFIX, "vs")
        self.height, self.time_s = 1, 1_700_000_000
        self.staking.begin_block(self.height, self.time_s)
        self.validators: list[str] = []
        for i in range(validators):
            account = derive_address(PREFIX, f"validator-{i}")
            operator = self.staking.staking.operator_of(account)
            self.bank.mint(account, DENOM, 10 * M)
            self.staking.create_validator(operator, f"pk-{i}", 10 * M, SdkDec.parse("0.05"))
            self.validators.append(operator)
        deps = Deps(ContractStorage(self.store, self.vs_address), _Querier(self), str, "c")
        self.vs = VirtualStaking(deps)
        self.vs.instantiate(
            self.env(),
            MessageInfo(sender=self.converter),
            VirtualStakingInstantiate(max_retrieve=100, tombstoned_unbond_enable=True),
        )
        self.mesh.handle(
            ModuleCall(block=self.block, sender=self.mesh.authority),
            MsgSetVirtualStakingMaxCap(
                authority=self.mesh.authority,
                contract=self.vs_address,
                max_cap=Coin(denom=DENOM, amount=10**12),
            ),
        )
        self.next_block()

    @property
    def block(self) -> BlockEnv:
        return BlockEnv(chain_id="c", height=self.height, time_s=self.time_s)

    def env(self) -> Env:
        return Env(block=self.block, contract_address=self.vs_address)

    def next_block(self) -> None:
        self.staking.end_block(self.height, self.time_s)
        self.height += 1
        self.time_s += 5
        self.staking.begin_block(self.height, self.time_s)

    def request(self, validator: str, amount: int, bond: bool) -> None:
        coin = Coin(denom=DENOM, amount=amount)
        msg: Any = (
            VirtualStakingBond(delegator="osmo1user", validator=validator, amount=coin)
            if bond
            else VirtualStakingUnbond(delegator="osmo1user", validator=validator, amount=coin)
        )
        point = self.store.savepoint()
        try:
            response = self.vs.execute(self.env(), MessageInfo(sender=self.converter), msg)
            self._run(response)
        except ChainError:
            self.store.rollback_to(point)
            return
        self.store.release(point)

    def epoch(self) -> Response:
        point = self.store.savepoint()
        response = self.vs.sudo(self.env(), HandleEpoch())
        self._run(response)
        self.store.release(point)
        return response

    def _run(self, response: Response) -> None:
        for sub in response.messages:
            self._submsg(sub)

    def _submsg(self, sub: SubMsg) -> None:
        point = self.store.savepoint()
        try:
            data = self._dispatch(sub.msg)
        except ChainError as err:
            self.store.rollback_to(point)
            if sub.reply_on not in (ReplyOn.ERROR, ReplyOn.ALWAYS):
                raise
            self._run(self.vs.reply(self.env(), Reply(id=sub.id, ok=False, error=err)))
            return
        self.store.release(point)
        if sub.reply_on in (ReplyOn.SUCCESS, ReplyOn.ALWAYS):
            self._run(self.vs.reply(self.env(), Reply(id=sub.id, ok=True, data=data)))

    def _dispatch(self, msg: Any) -> Any:
        if isinstance(msg, CustomMsg):
            call = ModuleCall(block=self.block, sender=self.vs_address)
            return self.mesh.handle(call, msg.msg).data
        if isinstance(msg, DistributionWithdrawReward):
            return self.staking.withdraw_delegator_reward(self.vs_address, msg.validator)
        if isinstance(msg, WasmExecute):  # the reward batch to the converter: a sink
            self.bank.send(self.vs_address, self.converter, msg.funds)
            return None
        raise TypeError(type(msg).__name__)


def _prepare(validators: int, seed: int) -> tuple[_Chain, float]:
    """A chain ready for the measured epoch, and the seconds the requests took."""
    chain = _Chain(validators)
    rng = random.Random(seed)
    for v in chain.validators:  # an existing delegation on every validator
        chain.request(v, 1_000_000, bond=True)
    chain.epoch()
    for _ in range(3):  # rewards to withdraw at the measured epoch
        chain.next_block()
    started = time.perf_counter()
    for _ in range(REQUESTS):
        v = chain.validators[rng.randrange(validators)]
        chain.request(v, rng.randrange(1, 20_000), bond=rng.random() < 0.6)
    return chain, time.perf_counter() - started


def _measure(validators: int, repeats: int) -> dict[str, float]:
    """Medians over ``repeats`` fresh chains: accumulate (s), core, frozen, whole (ms), and
    the epoch's message count. ``frozen`` is the whole epoch with the state built so far
    moved out of the cyclic garbage collector's reach (``gc.freeze``), which shows how much
    of the time is the collector scanning the long-lived chain state."""
    samples: dict[str, list[float]] = {"accumulate": [], "core": [], "frozen": [], "whole": []}
    messages = 0
    for seed in range(repeats):
        chain, seconds = _prepare(validators, seed)
        samples["accumulate"].append(seconds)
        point = chain.store.savepoint()
        started = time.perf_counter()
        response = chain.vs.sudo(chain.env(), HandleEpoch())
        samples["core"].append((time.perf_counter() - started) * 1000)
        chain.store.rollback_to(point)
        messages = len(response.messages)
        point = chain.store.savepoint()
        gc.collect()
        gc.freeze()
        started = time.perf_counter()
        chain.epoch()
        samples["frozen"].append((time.perf_counter() - started) * 1000)
        gc.unfreeze()
        chain.store.rollback_to(point)
        started = time.perf_counter()
        chain.epoch()
        samples["whole"].append((time.perf_counter() - started) * 1000)
    figures = {name: statistics.median(values) for name, values in samples.items()}
    figures["messages"] = messages
    return figures


def run(report: Report) -> None:
    """Print the epoch figures for 100, 1,000 and 10,000 validators."""
    baseline = ""
    for validators, repeats in ((100, 3), (1_000, 3), (10_000, 1)):
        f = _measure(validators, repeats)
        n = f"{validators:,} validators"
        report.figure(
            f"accumulate {REQUESTS:,} bond/unbond requests, {n}",
            REQUESTS / f["accumulate"],
            "req/s",
        )
        report.figure(f"epoch core only (no messages run), {n}", f["core"], "ms")
        label = f"epoch with its {int(f['messages']):,} messages, {n}"
        if not baseline:
            baseline = label
            report.baseline(label, f["whole"], "ms", note="growth baseline")
        else:
            report.compare(label, f["whole"], "ms", baseline, note="growth vs 100 validators")
        report.figure(f"  same, state frozen out of the GC, {n}", f["frozen"], "ms")
