"""The provider chain: stake / unstake / withdraw-rewards transactions per second.

A vault and one external staking contract on a provider chain; 100 validators on the
consumer (known to external staking through a ``valset_update``), users spread over them,
the IBC side answered at once: each transaction's packet is acknowledged by the very next
unit (``ibc_packet_ack`` delivered as the IBC module would, in its own atomic unit), so one
*operation* below is two units: the user's transaction and its ack.

- **Per-operation cost against the population** (the executor alone, sans-IO): with
  1,000, 10,000 and 100,000 users already cross-staked, the rate of a stake (a further
  stake of an existing user: vault lien prepare/commit, external stake range, pending
  txs), an unstake and a reward withdrawal (after a ``distribute_batch`` to all 100
  validators). Flat means that no per-user operation scans all users. The first bond and
  stake of a *new* user is shown too (it inserts into sorted indexes).
- **Through the actors** with 10,000 users: the same operations through the chain host
  actor, one ask per unit (latency-bound) and in batches of 100 operations per ask
  (``submit_batch``), against the executor-alone rate as baseline.

The same list of host transactions (``ExecuteTx``, ``RunUnit``) drives both paths. Rates
are computed from CPU time (``time.process_time``), as in ``bench_chain``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

import anyio

from benchmarks._report import Report
from chains import Chain, ChainConfig, Coin, Decimal18, GenesisAccount, GenesisValidator, TxResult
from chains.contract import (
    BlockEnv,
    ChannelConnect,
    ChannelOpen,
    Event,
    IbcAcknowledgement,
    IbcChannel,
    IbcEndpoint,
    IbcOrder,
    IbcPacket,
    IbcTimeout,
    JournaledMap,
    Response,
    derive_address,
)
from chains.host import ExecuteTx, HostTx, InstantiateTx, RunUnit, TxExecutor
from chains.modules import ModuleCall, StakingParams, SudoCall
from chains.provider import (
    AuthorizedEndpoint,
    ExternalStaking,
    ExternalStakingInstantiate,
    ExternalUnstake,
    ExternalWithdrawRewards,
    SlashRatios,
    StakeRemote,
    Vault,
    VaultBond,
    VaultInstantiate,
    encode_stake_target,
)
from chains.wire import (
    ACK_SUCCESS_BYTES,
    ConsumerPacket,
    DistributeBatchPacket,
    RewardInfo,
    ValidatorInfo,
    ValsetUpdatePacket,
    channel_version,
    encode_packet,
)
from mesh_actors.testing import virtual_system

PREFIX = "prov"
DENOM = "ustake"
REWARDS = "ucons"
VALIDATORS = tuple(f"cosmosvaloper1v{i:03d}" for i in range(100))
POPULATIONS = (1_000, 10_000, 100_000)
SAMPLE = 3_000  # operations measured per kind and population (3 runs of 1,000)
RUNS = 3
ACTOR_USERS = 10_000
ACTOR_SAMPLE = 1_000
BATCH = 100  # operations per ask in the batched actor path
DEPLOYER = derive_address(PREFIX, "deployer")
CONNECTION = "connection-0"
CONVERTER_PORT = "wasm.converter"
SUCCESS = IbcAcknowledgement.success(ACK_SUCCESS_BYTES)
FAR = IbcTimeout(timestamp_ns=2**62)


def _cpu() -> float:
    return time.process_time()


def _user(i: int) -> str:
    return derive_address(PREFIX, f"user{i}")


def _coin(amount: int) -> Coin:
    return Coin(denom=DENOM, amount=amount)


def _config(users: int) -> ChainConfig:
    return ChainConfig(
        chain_id="provider-bench",
        prefix=PREFIX,
        bond_denom=DENOM,
        staking=StakingParams(power_reduction=1),
        accounts=(
            GenesisAccount(address=DEPLOYER, coins=(_coin(10**6),)),
            *(GenesisAccount(address=_user(i), coins=(_coin(10_000),)) for i in range(users)),
        ),
        validators=(GenesisValidator(name="val", self_bond=10**6),),
    )


def _channel(ext: str) -> IbcChannel:
    return IbcChannel(
        endpoint=IbcEndpoint(port_id=f"wasm.{ext}", channel_id="channel-0"),
        counterparty_endpoint=IbcEndpoint(port_id=CONVERTER_PORT, channel_id="channel-9"),
        order=IbcOrder.UNORDERED,
        version=channel_version(),
        connection_id=CONNECTION,
    )


class AnsweringIbc:
    """An ``"ibc"`` module that keeps the packets sent and not yet acknowledged."""

    name = "ibc"

    def __init__(self, ex: TxExecutor) -> None:
        self._pending: JournaledMap[int, tuple[str, Any]] = JournaledMap(ex.store, "ibc/pending")
        self._sequence: JournaledMap[str, int] = JournaledMap(ex.store, "ibc/sequence")

    def handle(self, call: ModuleCall, msg: Any) -> Response:
        sequence = self._sequence.get("next", 1)
        self._sequence["next"] = sequence + 1
        self._pending[sequence] = (call.sender, msg)
        return Response()

    def take(self) -> list[tuple[int, str, Any]]:
        """The unacknowledged packets (forgotten: the caller acknowledges them)."""
        items = [(seq, sender, msg) for seq, (sender, msg) in self._pending.raw_items()]
        self._pending.clear()
        return items

    def query(self, block: BlockEnv, msg: Any) -> Any:
        return len(self._pending)

    def begin_block(self, block: BlockEnv) -> list[Event]:
        return []

    def end_block(self, block: BlockEnv) -> list[SudoCall]:
        return []


# -- unit bodies (run by `TxExecutor.run` or as `RunUnit`) -------------------------------------


def ack_pending(ex: TxExecutor) -> int:
    """Acknowledge (success) every packet sent and not yet acknowledged."""
    module = ex.module_object("ibc")
    assert isinstance(module, AnsweringIbc)
    items = module.take()
    for sequence, sender, msg in items:
        channel = _channel(sender)
        packet = IbcPacket(
            sequence=sequence,
            src=channel.endpoint,
            dest=channel.counterparty_endpoint,
            data=msg.data,
            timeout=msg.timeout,
        )
        ex.call_contract(
            sender,
            "ibc_packet_ack",
            partial(_ack_entry, packet),
        )
    return len(items)


def _ack_entry(packet: IbcPacket, core: Any, env: Any) -> Any:
    return core.ibc_packet_ack(env, SUCCESS, packet, "relayer")


def _open(ext: str, confirm: bool, ex: TxExecutor) -> None:
    channel = _channel(ext)
    if confirm:
        ex.call_contract(
            ext,
            "ibc_channel_connect",
            lambda core, env: core.ibc_channel_connect(env, ChannelConnect(channel=channel)),
        )
    else:
        ex.call_contract(
            ext,
            "ibc_channel_open",
            lambda core, env: core.ibc_channel_open(
                env, ChannelOpen(channel=channel, counterparty_version=channel_version())
            ),
        )


def _receive(ext: str, packet: ConsumerPacket, ex: TxExecutor) -> None:
    channel = _channel(ext)
    ibc_packet = IbcPacket(
        sequence=1,
        src=channel.counterparty_endpoint,
        dest=channel.endpoint,
        data=encode_packet(packet),
        timeout=FAR,
    )
    ex.call_contract(
        ext, "ibc_packet_receive", lambda core, env: core.ibc_packet_receive(env, ibc_packet, "r")
    )


ACK = RunUnit(body=ack_pending)


# -- the transactions of a run -----------------------------------------------------------------


def _vault_init() -> VaultInstantiate:
    return VaultInstantiate(denom=DENOM)


def _ext_init(vault: str) -> ExternalStakingInstantiate:
    return ExternalStakingInstantiate(
        denom=DENOM,
        rewards_denom=REWARDS,
        vault=vault,
        unbonding_period=1_814_400,
        remote_contact=AuthorizedEndpoint(connection_id=CONNECTION, port_id=CONVERTER_PORT),
        slash_ratio=SlashRatios(
            double_sign=Decimal18.parse("0.1"), offline=Decimal18.parse("0.05")
        ),
    )


def setup_txs(vault: str, ext: str, users: int) -> list[HostTx]:
    """Open the channel, learn 100 validators, cross-stake 100 for each user (bond 1_000;
    the stake is acked), then distribute rewards to every validator."""
    update = ValsetUpdatePacket(
        height=10,
        time=1,
        additions=tuple(ValidatorInfo(valoper=v, pub_key=f"pk-{v}") for v in VALIDATORS),
    )
    txs: list[HostTx] = [
        RunUnit(body=partial(_open, ext, False)),
        RunUnit(body=partial(_open, ext, True)),
        RunUnit(body=partial(_receive, ext, update)),
    ]
    for i in range(users):
        user = _user(i)
        txs.append(ExecuteTx(sender=user, contract=vault, msg=VaultBond(), funds=(_coin(1_000),)))
        txs.append(ExecuteTx(sender=user, contract=vault, msg=_stake_msg(ext, i, 100)))
        if i % 100 == 99 or i == users - 1:
            # setup only: one unit acknowledges the last 100 stakes (the measured
            # operations below acknowledge each transaction in its own unit)
            txs.append(ACK)
    txs.append(distribute_tx(ext))
    return txs


def distribute_tx(ext: str) -> RunUnit:
    """A ``distribute_batch`` of 1_000_000 reward tokens to each of the 100 validators."""
    rewards = tuple(RewardInfo(validator=v, reward=10**6) for v in VALIDATORS)
    distribute = DistributeBatchPacket(rewards=rewards, denom=REWARDS)
    return RunUnit(body=partial(_receive, ext, distribute))


def new_user_txs(vault: str, ext: str, i: int) -> list[HostTx]:
    user = _user(i)
    return [
        ExecuteTx(sender=user, contract=vault, msg=VaultBond(), funds=(_coin(1_000),)),
        ExecuteTx(sender=user, contract=vault, msg=_stake_msg(ext, i, 100)),
        ACK,
    ]


def _stake_msg(ext: str, i: int, amount: int) -> StakeRemote:
    validator = VALIDATORS[i % len(VALIDATORS)]
    return StakeRemote(contract=ext, amount=_coin(amount), msg=encode_stake_target(validator))


def op_txs(vault: str, ext: str, kind: str, users: Sequence[int]) -> list[HostTx]:
    """One operation of ``kind`` (transaction + ack) for each user index."""
    txs: list[HostTx] = []
    for i in users:
        validator = VALIDATORS[i % len(VALIDATORS)]
        msg: Any
        if kind == "stake":
            contract, msg = vault, _stake_msg(ext, i, 10)
        elif kind == "unstake":
            contract, msg = ext, ExternalUnstake(validator=validator, amount=_coin(5))
        else:
            contract = ext
            msg = ExternalWithdrawRewards(validator=validator, remote_recipient="consumer1x")
        txs.append(ExecuteTx(sender=_user(i), contract=contract, msg=msg))
        txs.append(ACK)
    return txs


def apply(ex: TxExecutor, tx: HostTx) -> TxResult:
    """Run one host transaction on the executor, as the host actor would."""
    if isinstance(tx, ExecuteTx):
        return ex.execute(tx.sender, tx.contract, tx.msg, tx.funds)
    if isinstance(tx, InstantiateTx):
        return ex.instantiate(tx.sender, tx.code, tx.msg, tx.funds, tx.label, tx.admin)
    assert isinstance(tx, RunUnit)
    return ex.run(partial(tx.body, ex))


# -- the executor alone ------------------------------------------------------------------------


class ExecutorRun:
    """A provider chain on its executor, deployed and populated with ``users`` users."""

    def __init__(self, users: int, extra: int) -> None:
        self.ex = ex = TxExecutor(_config(users + extra))
        ex.register_code(Vault)
        ex.register_code(ExternalStaking)
        ex.add_module(AnsweringIbc(ex))
        ex.begin_block(ex.config.first_block_time)
        self.vault: str = ex.instantiate(DEPLOYER, Vault.code, _vault_init()).unwrap()
        ext_init = _ext_init(self.vault)
        self.ext: str = ex.instantiate(DEPLOYER, ExternalStaking.code, ext_init).unwrap()
        self.users = users
        for tx in setup_txs(self.vault, self.ext, users):
            apply(ex, tx).unwrap()

    def rate(self, txs: list[HostTx]) -> float:
        """Operations (two units each) per CPU second."""
        ex = self.ex
        started = _cpu()
        for tx in txs:
            apply(ex, tx).unwrap()
        return len(txs) // 2 / (_cpu() - started)


def _population_figures(report: Report) -> dict[str, float]:
    first_population = POPULATIONS[0]
    at_actor_size: dict[str, float] = {}
    for population in POPULATIONS:
        started = time.perf_counter()
        run = ExecutorRun(population, SAMPLE)
        setup = time.perf_counter() - started
        per_run = SAMPLE // RUNS
        step = max(population // SAMPLE, 1)
        for kind in ("stake", "unstake", "withdraw"):
            rates = []
            for r in range(RUNS):
                users = [(r * per_run + k) * step % population for k in range(per_run)]
                if kind == "withdraw":
                    # a user withdraws everything: new rewards for the users sampled again
                    apply(run.ex, distribute_tx(run.ext)).unwrap()
                rates.append(run.rate(op_txs(run.vault, run.ext, kind, users)))
            _figure(report, kind, population, first_population, statistics.median(rates))
            if population == ACTOR_USERS:
                at_actor_size[kind] = statistics.median(rates)
        newcomers = range(population, population + SAMPLE)
        txs = [tx for i in newcomers for tx in new_user_txs(run.vault, run.ext, i)]
        started_cpu = _cpu()
        for tx in txs:
            apply(run.ex, tx).unwrap()
        _figure(report, "new user", population, first_population, SAMPLE / (_cpu() - started_cpu))
        report.figure(f"  setup of {population:,} users (wall time)", setup, "s")
    return at_actor_size


def _figure(report: Report, kind: str, population: int, first: int, rate: float) -> None:
    name = f"{kind} (tx + ack), executor, {population:,} users"
    note = f"{1e6 / rate:,.0f} us per operation"
    if population == first:
        report.baseline(name, rate, "ops/s", note=note)
    else:
        report.compare(name, rate, "ops/s", f"{kind} (tx + ack), executor, {first:,} users", note)


# -- through the actors ------------------------------------------------------------------------


async def _actor_rates() -> dict[str, tuple[float, float]]:
    """(one ask per unit, batched) operations per CPU second, per kind."""
    out: dict[str, tuple[float, float]] = {}
    async with (
        virtual_system("provider-bench") as system,
        Chain(_config(ACTOR_USERS), system) as chain,
    ):
        for cls in (Vault, ExternalStaking):
            await chain.register_code(cls)
        await chain.add_module(AnsweringIbc)
        vault = await chain.instantiate(DEPLOYER, Vault.code, _vault_init())
        ext = await chain.instantiate(DEPLOYER, ExternalStaking.code, _ext_init(vault))
        setup = setup_txs(vault, ext, ACTOR_USERS)
        for start in range(0, len(setup), 3_000):
            for result in await chain.submit_batch(setup[start : start + 3_000]):
                result.unwrap()
        for n, kind in enumerate(("stake", "unstake", "withdraw")):
            base = 2 * n * ACTOR_SAMPLE
            txs = op_txs(vault, ext, kind, range(base, base + ACTOR_SAMPLE))
            started = _cpu()
            for tx in txs:
                (await chain.submit_batch([tx]))[0].unwrap()
            one_by_one = ACTOR_SAMPLE / (_cpu() - started)
            users = range(base + ACTOR_SAMPLE, base + 2 * ACTOR_SAMPLE)
            txs = op_txs(vault, ext, kind, users)
            started = _cpu()
            for start in range(0, len(txs), 2 * BATCH):
                for result in await chain.submit_batch(txs[start : start + 2 * BATCH]):
                    result.unwrap()
            out[kind] = (one_by_one, ACTOR_SAMPLE / (_cpu() - started))
    return out


def run(report: Report) -> None:
    """Print the figures (see the module docstring)."""
    executor = _population_figures(report)
    for backend in ("asyncio", "trio"):
        rates = anyio.run(_actor_rates, backend=backend)
        for kind, (one_by_one, batched) in rates.items():
            base = executor.get(kind)
            for label, value in (
                ("one ask per unit", one_by_one),
                (f"{BATCH} ops per ask", batched),
            ):
                note = f"{1e6 / value:,.0f} us per operation"
                if base:
                    note += f"; {value / base:.2f}x of the executor alone at {ACTOR_USERS:,} users"
                report.figure(
                    f"{kind} (tx + ack), host actor, {label} [{backend}]", value, "ops/s", note
                )
