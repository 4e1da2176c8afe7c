"""Hypothesis stateful tests: users' operations and faults, interleaved by Hypothesis on a
live two-chain mesh in virtual time, with the invariants checked after every step and at
quiescence; a failure shrinks to a minimal sequence of steps.

The mesh runs in an event loop of its own (an anyio blocking portal, asyncio or trio); each
rule is one call into it. Time moves only in the ``advance`` rule (the mesh runs with
``autojump`` off once started), so a sequence replays identically.

What is checked:

- after every step, the chain-local invariants (P-18..P-21 vault, C-43 cap, supply) on the
  chains that are up, and every received packet's origin (I-17);
- the vault's collateral of each user is exactly what its accepted bonds and unbonds left
  (a model kept beside the mesh: a halted chain refuses, a crashed one fails the call, and
  a crash takes back what was answered in the block it lost, `Mesh.keep_committed`);
- at the end, with every fault healed (chains resumed and restarted, relayers restarted,
  partitions healed), the mesh settles (every packet acked or timed out, no pending
  provider transaction, I-25, P-65/P-66) and the quiescent cross-chain checks hold
  (I-64..I-69).

The default profile is small (a few sequences of a dozen steps); ``-m slow`` runs a bigger
one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, asynccontextmanager
from typing import Any

import anyio
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from chains.mesh import Mesh
from mesh_actors import MeshActorsError, VirtualClock
from tests.mesh.chaos._chaos_fixtures import TOPOLOGY

P, C = "osmosis", "juno"
USERS = ("alice", "bob")
CHAINS = (P, C)
amounts = st.integers(min_value=1, max_value=200_000)


@asynccontextmanager
async def running_mesh(seed: int) -> AsyncIterator[Mesh]:
    """A started mesh whose clock moves only when a step advances it: the deployment runs
    under an autojump of its own, stopped once the mesh is up."""
    clock = VirtualClock()
    async with anyio.create_task_group() as jumping:
        started = anyio.Event()
        scope = anyio.CancelScope()

        async def jump() -> None:
            with scope:
                async with clock.autojump():
                    started.set()
                    await anyio.sleep_forever()

        jumping.start_soon(jump)
        await started.wait()
        async with Mesh(TOPOLOGY, clock=clock, seed=seed, autojump=False) as mesh:
            scope.cancel()
            yield mesh


async def while_time_runs(mesh: Mesh, func: Any, *args: Any) -> Any:
    """``await func(*args)`` while the clock moves a second at a time: stopping a relayer
    waits for its current step, which may wait on an ask lost to a partition until its
    query timeout (the clock only moves when a step moves it here)."""
    result: list[Any] = []
    done = anyio.Event()

    async def run() -> None:
        result.append(await func(*args))
        done.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(run)
        while not done.is_set():
            await mesh.advance(seconds=1.0)
    return result[0]


async def jump_forever(clock: Any) -> None:
    """Let ``clock`` jump to its next deadline whenever every task waits, until cancelled."""
    async with clock.autojump():
        await anyio.sleep_forever()


class MeshMachine(RuleBasedStateMachine):
    """Operations and faults on the small mesh (see the module docstring)."""

    backend = "asyncio"

    def __init__(self) -> None:
        super().__init__()
        self._portal_cm: AbstractContextManager[BlockingPortal] | None = None
        self._mesh_cm: AbstractContextManager[Mesh] | None = None
        self.portal: BlockingPortal | None = None
        self.mesh: Mesh | None = None
        self.collateral = dict.fromkeys(USERS, 0)
        # accepted bonds and unbonds: (height, user, change); a crash may take some back
        self.answered: list[tuple[int, str, int]] = []
        self.crashed: set[str] = set()
        self.halted: set[str] = set()
        self.relayer_down = False
        self.extra_relayers = 0
        self.partitioned = False

    def call(self, func: Any, *args: Any) -> Any:
        """Run ``func(*args)`` (async or not) in the mesh's event loop and return its result:
        everything that touches the mesh's actors or clock must run there."""
        assert self.portal is not None
        return self.portal.call(func, *args)

    @initialize(seed=st.integers(min_value=0, max_value=2**16))
    def start(self, seed: int) -> None:
        self._portal_cm = start_blocking_portal(self.backend)
        self.portal = self._portal_cm.__enter__()
        self._mesh_cm = self.portal.wrap_async_context_manager(running_mesh(seed))
        self.mesh = self._mesh_cm.__enter__()
        # a crash loses the open block, as a real node's does
        self.call(self.mesh.keep_committed)

    def teardown(self) -> None:
        try:
            if self.mesh is not None:
                self._heal_and_settle()
        finally:
            if self._mesh_cm is not None and self.portal is not None:
                # closing stops relayers after their current step: let time jump meanwhile
                assert self.mesh is not None
                jumper = self.portal.start_task_soon(jump_forever, self.mesh.clock)
                try:
                    self._mesh_cm.__exit__(None, None, None)
                finally:
                    jumper.cancel()
            if self._portal_cm is not None:
                self._portal_cm.__exit__(None, None, None)

    def _heal_and_settle(self) -> None:
        mesh = self.mesh
        assert mesh is not None
        for chain in CHAINS:
            self.call(mesh.restart_chain, chain)
            self.call(mesh.resume_chain, chain)
        self.call(mesh.restart_relayer, P, C, 0)
        self.call(mesh.lag_relayer, P, C, 0, 0.0)
        if self.partitioned:
            self._heal()
        if self.extra_relayers:
            self.call(while_time_runs, mesh, mesh.remove_relayers, P, C)
        settled = self.call(lambda: mesh.settle(timeout=7_200.0))
        assert settled, "the mesh did not settle once every fault healed"
        assert self.call(lambda: mesh.check_invariants(quiescent=True)) == []

    # -- operations -------------------------------------------------------------------------

    def _provider_tx(self, func: Any, *args: Any) -> int | None:
        """Run a provider transaction: the height it was accepted at (``None``: refused,
        or the chain is down and the call failed without running)."""
        try:
            result = self.call(func, *args)
        except MeshActorsError:
            assert P in self.crashed
            return None
        if P in self.halted:
            assert not result.ok
        return int(result.height) if result.ok else None

    def _collateral(self, height: int | None, user: str, change: int) -> None:
        if height is not None:
            self.collateral[user] += change
            self.answered.append((height, user, change))

    @rule(user=st.sampled_from(USERS), amount=amounts)
    def bond(self, user: str, amount: int) -> None:
        assert self.mesh is not None
        self._collateral(self._provider_tx(self.mesh.bond, P, user, amount), user, amount)

    @rule(user=st.sampled_from(USERS), amount=amounts)
    def unbond(self, user: str, amount: int) -> None:
        assert self.mesh is not None
        self._collateral(self._provider_tx(self.mesh.unbond, P, user, amount), user, -amount)

    @rule(user=st.sampled_from(USERS), amount=amounts)
    def cross_stake(self, user: str, amount: int) -> None:
        assert self.mesh is not None
        self._provider_tx(self.mesh.cross_stake, P, C, user, "val1", amount)

    @rule(user=st.sampled_from(USERS), amount=amounts)
    def unstake(self, user: str, amount: int) -> None:
        assert self.mesh is not None
        self._provider_tx(self.mesh.unstake, P, C, user, "val1", amount)

    @rule(price=st.sampled_from(["0.4", "0.5", "0.75"]))
    def move_price(self, price: str) -> None:
        assert self.mesh is not None
        try:
            result = self.call(self.mesh.move_price, P, C, price)
        except MeshActorsError:
            assert C in self.crashed
            return
        assert result.ok == (C not in self.halted)

    @rule(seconds=st.sampled_from([5.0, 30.0, 120.0, 900.0]))
    def advance(self, seconds: float) -> None:
        assert self.mesh is not None
        self.call(lambda: self.mesh.advance(seconds=seconds))  # type: ignore[union-attr]

    # -- faults -----------------------------------------------------------------------------

    @precondition(lambda self: len(self.crashed | self.halted) < 2)
    @rule(chain=st.sampled_from(CHAINS))
    def halt(self, chain: str) -> None:
        assert self.mesh is not None
        self.call(self.mesh.halt_chain, chain)
        self.halted.add(chain)

    @rule(chain=st.sampled_from(CHAINS))
    def resume(self, chain: str) -> None:
        assert self.mesh is not None
        self.call(self.mesh.resume_chain, chain)
        self.halted.discard(chain)

    @precondition(lambda self: len(self.crashed | self.halted) < 2)
    @rule(chain=st.sampled_from(CHAINS))
    def crash(self, chain: str) -> None:
        assert self.mesh is not None
        lost = self.call(self.mesh.crash_chain, chain)
        self.crashed.add(chain)
        if chain == P and lost is not None:
            # what the provider answered after its last boundary never happened
            for height, user, change in self.answered:
                if height >= lost:
                    self.collateral[user] -= change
            self.answered = [a for a in self.answered if a[0] < lost]

    @rule(chain=st.sampled_from(CHAINS))
    def restart(self, chain: str) -> None:
        assert self.mesh is not None
        self.call(self.mesh.restart_chain, chain)
        self.crashed.discard(chain)

    @rule()
    def crash_relayer(self) -> None:
        assert self.mesh is not None
        self.call(while_time_runs, self.mesh, self.mesh.crash_relayer, P, C, 0)
        self.relayer_down = True

    @rule()
    def restart_relayer(self) -> None:
        assert self.mesh is not None
        self.call(self.mesh.restart_relayer, P, C, 0)
        self.relayer_down = False

    @precondition(lambda self: self.extra_relayers < 2)
    @rule()
    def add_relayer(self) -> None:
        assert self.mesh is not None
        self.extra_relayers = self.call(self.mesh.add_relayers, P, C, 1)

    @rule()
    def partition(self) -> None:
        assert self.mesh is not None
        network = self.mesh.network
        for system in self.mesh.link(P, C).systems:
            self.call(network.partition, system, C)
        self.partitioned = True

    @precondition(lambda self: self.partitioned)
    @rule()
    def heal(self) -> None:
        self._heal()

    def _heal(self) -> None:
        assert self.mesh is not None
        network = self.mesh.network
        for system in self.mesh.link(P, C).systems:
            self.call(network.heal, system, C)
        self.partitioned = False

    @rule(lag=st.sampled_from([0.0, 60.0, 300.0]))
    def lag_relayer(self, lag: float) -> None:
        assert self.mesh is not None
        self.call(self.mesh.lag_relayer, P, C, 0, lag)

    @rule(chain=st.sampled_from(CHAINS), offset=st.integers(min_value=-60, max_value=600))
    def skew(self, chain: str, offset: int) -> None:
        assert self.mesh is not None
        self.call(self.mesh.skew_clock, chain, offset)

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def chain_local_invariants_hold(self) -> None:
        if self.mesh is None or self.crashed:
            return  # a crashed chain cannot be read; checked again once it restarts
        assert self.call(self.mesh.check_invariants) == []

    @invariant()
    def collateral_is_what_accepted_bonds_left_P_23_P_24(self) -> None:
        if self.mesh is None or P in self.crashed:
            return
        for user, expected in self.collateral.items():
            details = self.call(self.mesh.collateral, P, user)
            assert details.bonded == expected, (user, details, expected)


class TrioMeshMachine(MeshMachine):
    backend = "trio"


_SMALL = settings(
    max_examples=4,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
_BIG = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.parametrize("machine", [MeshMachine, TrioMeshMachine], ids=["asyncio", "trio"])
def test_operations_and_faults_keep_the_invariants(machine: type[MeshMachine]) -> None:
    run_state_machine_as_test(machine, settings=_SMALL)


@pytest.mark.slow
def test_operations_and_faults_keep_the_invariants_long() -> None:
    run_state_machine_as_test(MeshMachine, settings=_BIG)
