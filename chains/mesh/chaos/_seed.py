"""Running one seed of a chaos run: a mesh, a fault plan and a workload on one timeline.

`run_seed` enters a fresh `Mesh` (virtual time, seeded), merges the plan's fault actions and
the workload's operations into one timeline and plays it: before each item the mesh runs
until the item's time, so faults and operations interleave the same way every time for a
seed. Afterwards it waits for the faults to heal, lets the mesh settle, asks each relayer
for its status, reads the quiescent invariants, and returns a `SeedRecord` for the
checkers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio

from chains.host._tx_result import TxResult
from chains.ibc._relayer_msgs import RelayerStats, RelayerStatus
from chains.mesh._mesh import Mesh
from chains.mesh._relaying import MeshLink
from chains.mesh._topology import Topology
from chains.mesh.chaos._history import History, HistoryEntry
from chains.mesh.chaos._plan import (
    ChainCrash,
    ChainHalt,
    ChaosPlan,
    ClockSkew,
    CompetingRelayers,
    LinkFaultWindow,
    PartitionWindow,
    RelayerCrash,
    RelayerLag,
    check_plan_supported,
)
from chains.mesh.chaos._record import (
    CapSample,
    LostBlock,
    RelayerAnswer,
    SeedRecord,
    Withdrawal,
)
from chains.mesh.chaos._workload import Operation, Workload, generate_operations
from mesh_actors import MeshActorsError

__all__ = ["Sabotage", "run_seed"]

Sabotage = Callable[[Mesh], Awaitable[None]]
"""A test's hook, called once the mesh runs: breaks a component on purpose."""

# cross-chain operations complete when their packet settles, the others with their tx
_CROSS_CHAIN = frozenset({"cross_stake", "unstake", "claim_rewards"})


@dataclass(frozen=True)
class _Action:
    time: float
    order: int  # faults before operations at the same time; heals before new faults
    kind: str
    fault: Any = None
    op: Operation | None = None


def _timeline(plan: ChaosPlan, operations: tuple[Operation, ...]) -> list[_Action]:
    actions: list[_Action] = []
    for fault in plan.faults:
        start, end = fault.window()
        actions.append(_Action(start, 1, "start", fault))
        # a clock skew is a step: it has no end to apply
        if end is not None and not isinstance(fault, ClockSkew):
            actions.append(_Action(end, 0, "end", fault))
    actions += [_Action(op.time, 2, "op", op=op) for op in operations]
    return sorted(actions, key=lambda a: (a.time, a.order))


class _Driver:
    """Applies one seed's timeline to a running mesh and records what happens.

    Runs in the task of `run_seed`, except `consume`, its background task."""

    def __init__(self, mesh: Mesh, record: SeedRecord) -> None:
        self.mesh = mesh
        self._events = mesh.events()
        self.record = record
        self.history = record.history
        self.pending: dict[str, int] = {}  # packet key -> op index
        self.active: list[Any] = []  # faults started and not yet ended, in start order
        self.by_index = {op.index: op for op in record.operations}
        self.withdrawn: dict[int, Withdrawal] = {}  # op index -> what it released
        # op index -> its invoke entry (`History.invocation` scans: quadratic over a run)
        self.invoked: dict[int, HistoryEntry] = {}

    # -- faults -----------------------------------------------------------------------------

    async def apply(self, action: _Action) -> None:
        """Start or end one fault. Link-level faults (windows, partitions) put every link
        of the fault's pair in the state the faults active now call for, so overlapping
        windows compose (the latest started link window wins while it lasts, partitions
        hold until their own end); the others call the mesh's fault hooks."""
        fault = action.fault
        start = action.kind == "start"
        if start:
            self.record.faults[fault.kind] = self.record.faults.get(fault.kind, 0) + 1
            self.active.append(fault)
        else:
            self.active.remove(fault)
        mesh = self.mesh
        if isinstance(fault, LinkFaultWindow | PartitionWindow):
            self._sync(mesh.link(*fault.chains))
        elif isinstance(fault, RelayerCrash):
            a, b = fault.chains
            if start:
                await mesh.crash_relayer(a, b, fault.index)
            else:
                mesh.restart_relayer(a, b, fault.index)
        elif isinstance(fault, ChainHalt):
            # overlapping halts of one chain: it resumes when the last of them ends
            if start:
                mesh.halt_chain(fault.chain)
            elif not self._still(ChainHalt, fault.chain):
                mesh.resume_chain(fault.chain)
        elif isinstance(fault, ChainCrash):
            if start:
                lost = await mesh.crash_chain(fault.chain)
                if lost is not None:
                    self.lose(fault.chain, lost)
            elif not self._still(ChainCrash, fault.chain):
                mesh.restart_chain(fault.chain)
        elif isinstance(fault, CompetingRelayers):
            a, b = fault.chains
            if start:
                own = len(mesh.link(a, b).relayers)
                mesh.add_relayers(a, b, max(1, fault.count - own))
            elif not any(
                isinstance(f, CompetingRelayers) and set(f.chains) == set(fault.chains)
                for f in self.active
            ):
                self.record.redundant += await mesh.remove_relayers(a, b)
        elif isinstance(fault, RelayerLag):
            a, b = fault.chains
            later = [
                f
                for f in self.active
                if isinstance(f, RelayerLag)
                and set(f.chains) == set(fault.chains)
                and f.index == fault.index
            ]
            # overlapping lags of one relayer: the latest started one holds
            mesh.lag_relayer(a, b, fault.index, later[-1].lag if later else 0.0)
        elif isinstance(fault, ClockSkew):
            mesh.skew_clock(fault.chain, fault.offset, fault.drift)
            self.active.remove(fault)  # a step, not a window

    def lose(self, chain: str, height: int) -> None:
        """Account for a crash of ``chain`` that lost its transactions after its block
        boundary at ``height``: the events they published are retracted, an operation
        they answered becomes ``info`` (``block_lost``: it was answered, its effect is
        gone), one whose ack or timeout they carried is pending again (the packet will
        be relayed again), and a withdrawal they made is forgotten."""
        history = self.history
        for event in self._events.drain():  # published before the crash: not yet seen
            history.observe(event)
        now = self.mesh.seconds
        self.record.lost_blocks.append(LostBlock(round(now, 6), chain, height))
        history.retract(chain, height)
        answered_here = [
            e.op
            for e in history.entries
            if e.type == "ok"
            and e.height is not None
            and e.height >= height
            and self.by_index[e.op].chain == chain
        ]
        packets = {index: key for key, index in self.record.op_packets.items()}
        for index in answered_here:
            if index not in packets:  # answered by its own transaction, now lost
                history.mark_lost(index, now)
                withdrawal = self.withdrawn.pop(index, None)
                if withdrawal is not None:
                    self.record.withdrawals.remove(withdrawal)
        for index, key in packets.items():
            if self.by_index[index].chain != chain:
                continue
            life = self._life(key)
            if life is None:
                # sent in the lost block: the packet never existed
                del self.record.op_packets[key]
                if self.pending.pop(key, None) is not None:
                    invoked = self.invoked.get(index)
                    assert invoked is not None
                    history.record(
                        index,
                        "info",
                        invoked.f,
                        invoked.process,
                        invoked.value,
                        now,
                        error="block_lost",
                    )
            elif not life.settled and key not in self.pending and history.reopen(index) is not None:
                # its ack or timeout was in the lost block: pending until it lands again
                self.pending[key] = index

    def _still(self, kind: type[Any], chain: str) -> bool:
        return any(isinstance(f, kind) and f.chain == chain for f in self.active)

    def _sync(self, link: MeshLink) -> None:
        network = self.mesh.network
        pair = frozenset((link.a, link.b))
        mine = [f for f in self.active if frozenset(f.chain_names()) == pair]
        windows = [f for f in mine if isinstance(f, LinkFaultWindow)]
        base = link.spec.faults.link_faults
        faults = windows[-1].link_faults if windows else (None if base.clean else base)
        for system in link.systems:
            for chain in (link.a, link.b):
                network.set_link(system, chain, faults)
                network.set_link(chain, system, faults)
                cut = any(
                    isinstance(f, PartitionWindow) and (f.side is None or f.side == chain)
                    for f in mine
                )
                if cut:
                    network.partition(system, chain)
                else:
                    network.heal(system, chain)

    # -- operations -------------------------------------------------------------------------

    async def invoke(self, op: Operation) -> None:
        mesh = self.mesh
        now = mesh.seconds
        self.invoked[op.index] = self.history.record(
            op.index, "invoke", op.f, op.process, dict(op.args), now
        )
        try:
            result = await self._call(op)
        except Exception as exc:  # a MeshError or a refused call: a definite failure
            self.history.record(
                op.index,
                "fail",
                op.f,
                op.process,
                dict(op.args),
                mesh.seconds,
                error=type(exc).__name__,
            )
            return
        if not result.ok:
            error = result.error.name if result.error is not None else "error"
            self.history.record(
                op.index,
                "fail",
                op.f,
                op.process,
                dict(op.args),
                mesh.seconds,
                height=result.height,
                error=error,
            )
            return
        if op.f == "withdraw_unbonded":
            for event in result.events:
                if event.type == "withdraw_unbonded":
                    amount = int(event.get("amount") or 0)
                    if amount:
                        pairing = f"{op.args['provider']}→{op.args['consumer']}"
                        withdrawal = Withdrawal(mesh.seconds, pairing, op.process, amount)
                        self.record.withdrawals.append(withdrawal)
                        self.withdrawn[op.index] = withdrawal
        packet = None
        if op.f in _CROSS_CHAIN:
            for event in result.events:
                if event.source == "ibc" and event.type == "send_packet":
                    packet = "/".join(
                        (
                            event.chain_id,
                            event.get("src_port") or "",
                            event.get("src_channel") or "",
                            event.get("seq") or "",
                        )
                    )
        if packet is None:
            self.history.record(
                op.index,
                "ok",
                op.f,
                op.process,
                dict(op.args),
                mesh.seconds,
                height=result.height,
            )
        else:
            self.pending[packet] = op.index
            self.record.op_packets[packet] = op.index

    async def _call(self, op: Operation) -> TxResult:
        m = self.mesh
        a = op.args
        f = op.f
        if f == "bond":
            return await m.bond(a["chain"], op.process, a["amount"])
        if f == "unbond":
            return await m.unbond(a["chain"], op.process, a["amount"])
        if f == "stake_local":
            return await m.stake_locally(a["chain"], op.process, a["validator"], a["amount"])
        if f == "cross_stake":
            return await m.cross_stake(
                a["provider"], a["consumer"], op.process, a["validator"], a["amount"]
            )
        if f == "unstake":
            return await m.unstake(
                a["provider"], a["consumer"], op.process, a["validator"], a["amount"]
            )
        if f == "withdraw_unbonded":
            return await m.withdraw_unbonded(a["provider"], a["consumer"], op.process)
        if f == "claim_rewards":
            return await m.claim_rewards(a["provider"], a["consumer"], op.process, a["validator"])
        if f == "move_price":
            return await m.move_price(a["provider"], a["consumer"], a["price"])
        if f in ("downtime", "double_sign"):
            return await m.misbehave(a["chain"], a["validator"], f)
        if f == "set_max_cap":
            return await m.set_max_cap(a["provider"], a["consumer"], a["amount"])
        raise ValueError(f"unknown operation kind {f!r}")

    async def consume(self) -> None:
        """Account for every event as it comes (a background task: the subscription's
        buffer would overflow over simulated days); ends when the mesh closes."""
        async for event in self._events:
            self.history.observe(event)

    def observe(self) -> None:
        """Account for the events buffered now and complete settled operations."""
        for event in self._events.drain():
            self.history.observe(event)
        self.record.events_dropped = self._events.dropped
        done = []
        for key, index in self.pending.items():
            life = self._life(key)
            if life is None or not life.settled:
                continue
            if life.timed_out:
                self._complete(index, "fail", life.timed_out_at, life.timed_out_height, "timeout")
                done.append(key)
            elif life.ack_success is not None:
                kind = "ok" if life.ack_success else "fail"
                error = None if life.ack_success else "error_ack"
                self._complete(index, kind, life.acked_at, life.acked_height, error)
                done.append(key)
        for key in done:
            del self.pending[key]

    def _life(self, key: str) -> Any:
        chain, port, channel, seq = key.rsplit("/", 3)
        return self.history.packets.get((chain, port, channel, int(seq)))

    def _complete(
        self, index: int, kind: str, time: float | None, height: int | None, error: str | None
    ) -> None:
        invoked = self.invoked.get(index)
        assert invoked is not None
        self.history.record(
            index,
            kind,
            invoked.f,
            invoked.process,
            invoked.value,
            time if time is not None else self.mesh.seconds,
            height=height,
            error=error,
        )

    def finish(self) -> None:
        """Operations still pending become ``info``; entries are put in time order."""
        for index in self.pending.values():
            invoked = self.invoked.get(index)
            assert invoked is not None
            self.history.record(
                index, "info", invoked.f, invoked.process, invoked.value, self.mesh.seconds
            )
        self.pending.clear()
        rank = {"invoke": 0, "ok": 1, "fail": 1, "info": 1}
        entries = sorted(self.history.entries, key=lambda e: (e.time, e.op, rank[e.type]))
        self.history.entries = [
            type(e)(i, e.op, e.type, e.f, e.process, e.value, e.time, e.height, e.error)
            for i, e in enumerate(entries)
        ]

    async def sample_caps(self) -> None:
        for pairing in self.mesh.pairings():
            p = pairing.spec
            if self.mesh.chain(p.consumer).crashed:
                continue  # nothing to read until it restarts
            status = await self.mesh.virtual_stake(p.provider, p.consumer)
            self.record.cap_samples.append(
                CapSample(
                    round(self.mesh.seconds, 6),
                    f"{p.provider}→{p.consumer}",
                    status.delegated.amount,
                    status.cap.amount,
                )
            )


async def run_seed(
    topology: Topology,
    plan: ChaosPlan,
    workload: Workload,
    seed: int,
    *,
    operations: tuple[Operation, ...] | None = None,
    sabotage: Sabotage | None = None,
) -> SeedRecord:
    """Run one seed (see the module docstring) and return its record.

    ``operations`` replaces the workload's generated ones (the shrinker's reduced lists);
    ``sabotage`` is called once the mesh runs (tests break a component with it). Raises
    `UnsupportedFault` or `ChaosPlanError` before starting anything for a plan the mesh
    cannot run, `WorkloadError` for a workload that does not fit the topology. On
    cancellation the mesh is closed and nothing is returned.
    """
    check_plan_supported(plan, topology)
    ops = operations if operations is not None else generate_operations(topology, workload, seed)
    heals = plan.heals_at()
    record = SeedRecord(
        seed=seed,
        operations=ops,
        history=History(),
        heals_at=heals,
        settle_bound=workload.settle_bound,
        status_bound=workload.status_bound,
    )
    for p in topology.pairings:
        name = f"{p.provider}→{p.consumer}"
        record.unbonding[name] = float(p.unbonding_period)
        consumer = topology.chain(p.consumer)
        record.cap_grace[name] = (consumer.epoch_blocks + 2) * consumer.block_time
    record.block_times = {c.id: c.block_time for c in topology.chains}
    async with Mesh(topology, seed=seed) as mesh:
        # block times are genesis time plus clock seconds; history times count from the
        # moment the mesh finished starting, as `Mesh.seconds` does
        record.history.start_time = topology.genesis_time + mesh.clock.now() - mesh.seconds
        # a crashed chain loses its open block: keep the committed state of those the
        # plan crashes (only those: the copy costs a little at every block)
        crashed = sorted({f.chain for f in plan.faults if isinstance(f, ChainCrash)})
        if crashed:
            mesh.keep_committed(*crashed)
        driver = _Driver(mesh, record)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(driver.consume, name="chaos history")
            await _play(mesh, driver, plan, workload, ops, topology, sabotage)
            tasks.cancel_scope.cancel()
        driver.observe()
        driver.finish()
        record.end_time = round(mesh.seconds, 6)
    return record


async def _play(
    mesh: Mesh,
    driver: _Driver,
    plan: ChaosPlan,
    workload: Workload,
    ops: tuple[Operation, ...],
    topology: Topology,
    sabotage: Sabotage | None,
) -> None:
    record = driver.record
    heals = record.heals_at
    if sabotage is not None:
        await sabotage(mesh)
    for action in _timeline(plan, ops):
        await mesh.advance_until(action.time)
        driver.observe()
        if action.op is not None:
            await driver.invoke(action.op)
            await driver.sample_caps()
        else:
            await driver.apply(action)
    await mesh.advance_until(max(workload.duration, heals or 0.0))
    settled = await mesh.settle(timeout=workload.settle_bound)
    driver.observe()
    if settled:
        record.settled_at = round(mesh.seconds, 6)
    await driver.sample_caps()
    record.violations = await mesh.check_invariants(quiescent=settled)
    for link in _links(mesh, topology):
        for index, relayer in enumerate(link.relayers):
            started = mesh.clock.now()
            try:
                stats = await relayer.ask(
                    RelayerStatus(), expect=RelayerStats, timeout=workload.status_bound
                )
                seconds: float | None = round(mesh.clock.now() - started, 6)
                record.redundant += stats.items_noop
            except (MeshActorsError, TimeoutError):
                seconds = None
            record.relayers.append(RelayerAnswer(link.name, index, seconds))
    driver.observe()


def _links(mesh: Mesh, topology: Topology) -> list[MeshLink]:
    return [mesh.link(a, b) for a, b in topology.links()]
