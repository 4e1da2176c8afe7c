"""The relaying side of a mesh: one IBC connection per linked chain pair, and its relayers.

Every chain pair the topology links (a pairing, or a remote price feed) gets one
connection, shared by every channel between the two chains (both directions of a mutual
pairing use it). A clean *setup relayer* creates the clients and the connection and
completes the channel handshakes (I-49 step 4); it is then stopped, and the topology's
relayers take over with their batching and fault plan (I-22), each in an actor system of
its own so the transport's fault plan can apply to its links alone: faults start only once
the mesh is deployed, as the relayer's own setup expects a clean network. (Setup relayers
share one system, entered once: actor systems hold task groups, which must close in the
reverse order they opened, so a system per setup relayer could not be closed early.)
"""

from __future__ import annotations

from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass, field
from functools import partial

from chains.ibc._relayer import Relayer, RelayerMsg
from chains.ibc._relayer_msgs import (
    ClearNow,
    ClearReport,
    PathEnd,
    PathReady,
    PauseRelaying,
    RelayerConfig,
    RelayerStats,
    RelayerStatus,
    ResumeRelaying,
    SetClientLag,
    SetupPath,
)
from chains.mesh._errors import MeshSetupFailed
from chains.mesh._topology import RelayerSpec
from mesh_actors import ActorRef, ActorSystem, Clock, MeshActorsError
from transport import FaultyNetwork

__all__ = ["MeshLink"]

# clock seconds a setup step may take (block times are seconds; a handshake takes a few)
_SETUP_TIMEOUT = 3_600.0
# the longest quiet clearing period, in clear intervals (`RelayerConfig.quiet_backoff`): 64
# x Hermes' 100 blocks of 6 s is about 10.7 hours; on a link with faults 16 (2.7 hours)
_QUIET_BACKOFF = 64
_LOSSY_BACKOFF = 16


def relayer_system_name(a: str, b: str, index: int) -> str:
    """The actor system name of relayer ``index`` of the pair ``a``-``b``."""
    return f"relayer-{a}-{b}-{index}"


@dataclass
class MeshLink:
    """One linked chain pair: its connection ends and its relayers.

    ``a`` is the chain listed first by the topology (the consumer of the first pairing that
    links the two), ``b`` the other; ``gateways`` are the two IBC gateway addresses.
    """

    a: str
    b: str
    spec: RelayerSpec
    gateways: dict[str, str]
    ends: PathReady | None = None
    relayers: list[ActorRef[RelayerMsg]] = field(default_factory=list)
    systems: list[str] = field(default_factory=list)
    # competing relayers added while the mesh runs (`add_relayers`), in relayer 0's system
    extra: list[ActorRef[RelayerMsg]] = field(default_factory=list)
    _setup: tuple[ActorSystem, ActorRef[RelayerMsg]] | None = None
    _actor_systems: list[ActorSystem] = field(default_factory=list, repr=False)
    _seed: int = 0
    _crashed: set[int] = field(default_factory=set, repr=False)
    _lags: dict[int, float] = field(default_factory=dict, repr=False)
    _extra_made: int = 0

    @property
    def name(self) -> str:
        return f"{self.a}-{self.b}"

    def connection_on(self, chain_id: str) -> str:
        """The connection id on ``chain_id``'s side."""
        assert self.ends is not None
        end = self.ends.a if self.ends.a.chain_id == chain_id else self.ends.b
        return end.connection_id

    def _config(
        self, name: str, seed: int, *, faults: bool, poll_interval: float = 0.5
    ) -> RelayerConfig:
        spec = self.spec
        if self.ends is not None:
            a, b = self.ends.a, self.ends.b
        else:
            a = PathEnd(chain_id=self.a, gateway=self.gateways[self.a])
            b = PathEnd(chain_id=self.b, gateway=self.gateways[self.b])
        plan = spec.faults
        slow = plan.delay is not None or plan.reorder > 0
        return RelayerConfig(
            a=a,
            b=b,
            name=name,
            max_batch=spec.max_batch,
            batch_delay=spec.batch_delay,
            clear_interval=spec.clear_period,
            # a delayed link answers late: give queries time before counting them lost
            query_timeout=60.0 if slow else 5.0,
            drop_packets=plan.drop_packets if faults else 0.0,
            duplicate=plan.duplicate_batches if faults else 0.0,
            seed=seed,
            poll_interval=poll_interval,
            # a setup that polls often (a real clock, blocks ended on demand) retries
            # often too: a step refused for want of a committed block succeeds at once
            retry_delay=min(1.0, poll_interval * 10),
            # an idle path stops the clock for a clearing a few times a day, not every 100
            # blocks (issue 16); on a lossy link a lost last notice is found sooner
            quiet_backoff=_QUIET_BACKOFF if plan.link_faults.clean else _LOSSY_BACKOFF,
        )

    # -- setup ------------------------------------------------------------------------------

    async def setup(
        self, system: ActorSystem, *, seed: int, poll_interval: float = 0.5
    ) -> PathReady:
        """Spawn the setup relayer in ``system`` (shared by every link's setup relayer,
        clean of faults) and create clients and connection (ICS-03), looking for each
        committed step every ``poll_interval`` clock seconds. Raises `MeshSetupFailed`."""
        config = self._config(f"setup-{self.name}", seed, faults=False, poll_interval=poll_interval)
        relayer: ActorRef[RelayerMsg] = system.spawn(
            partial(Relayer, config), name=f"setup-{self.name}", mailbox=Relayer.mailbox
        )
        self._setup = (system, relayer)
        try:
            self.ends = await relayer.ask(SetupPath(), expect=PathReady, timeout=_SETUP_TIMEOUT)
        except Exception as exc:
            raise MeshSetupFailed(
                f"connection {self.name}", f"{type(exc).__name__}: {exc}"
            ) from exc
        return self.ends

    async def clear_setup(self) -> None:
        """Ask the setup relayer to clear now (handshake steps, initial packets)."""
        if self._setup is not None:
            await self._setup[1].ask(ClearNow(), expect=ClearReport, timeout=_SETUP_TIMEOUT)

    async def end_setup(self) -> None:
        """Stop the setup relayer (its system stays, for the other links)."""
        setup, self._setup = self._setup, None
        if setup is not None:
            await setup[0].stop(setup[1])

    # -- the topology's relayers ------------------------------------------------------------

    async def start_relayers(
        self, stack: AsyncExitStack, *, clock: Clock, transport: FaultyNetwork, seed: int
    ) -> None:
        """Spawn ``spec.count`` relayers (each in its own system, entered on ``stack``) and
        put the fault plan on their links to both chains."""
        link_faults = self.spec.faults.link_faults
        self._seed = seed
        for index in range(self.spec.count):
            name = relayer_system_name(self.a, self.b, index)
            system = await stack.enter_async_context(
                ActorSystem(name, clock=clock, transport=transport, ask_timeout=_SETUP_TIMEOUT)
            )
            if not link_faults.clean:
                for chain_id in (self.a, self.b):
                    transport.set_link(name, chain_id, link_faults)
                    transport.set_link(chain_id, name, link_faults)
            config = self._config(name, seed + index, faults=True)
            factory = partial(Relayer, config)
            self.relayers.append(system.spawn(factory, name="relayer", mailbox=Relayer.mailbox))
            self.systems.append(name)
            self._actor_systems.append(system)

    # -- faults (chaos runs) ----------------------------------------------------------------

    def _relayer_index(self, index: int) -> int:
        if not 0 <= index < len(self.relayers):
            raise IndexError(f"link {self.name} has {len(self.relayers)} relayer(s): no {index}")
        return index

    async def crash_relayer(self, index: int) -> None:
        """Crash relayer ``index``: its actor stops and everything it held in memory
        (notices, batches, retries) is lost; its status asks fail until `restart_relayer`.
        Idempotent. Raises ``IndexError`` for an index the link does not have."""
        index = self._relayer_index(index)
        if index in self._crashed:
            return
        self._crashed.add(index)
        await self._actor_systems[index].stop(self.relayers[index])

    def restart_relayer(self, index: int) -> None:
        """Start a fresh relayer ``index`` (no memory of its predecessor): it subscribes
        and clears at once, finding what is pending from the chains' queries (commitments,
        receipts, acks), as Hermes does after a restart. No-op if it is not crashed."""
        index = self._relayer_index(index)
        if index not in self._crashed:
            return
        self._crashed.discard(index)
        config = self._config(self.systems[index], self._seed + index, faults=True)
        system = self._actor_systems[index]
        self.relayers[index] = system.spawn(
            partial(Relayer, config), name="relayer", mailbox=Relayer.mailbox
        )
        lag = self._lags.get(index)
        if lag:  # a lag is the relayer's setting: its next incarnation lags too
            self.relayers[index].tell_nowait(SetClientLag(lag=lag))

    def lag_relayer(self, index: int, lag: float) -> None:
        """Make relayer ``index`` submit every batch (light-client updates and the proofs
        that need them) ``lag`` clock seconds after it planned it (0: at once again).
        Raises ``IndexError`` for an index the link does not have."""
        index = self._relayer_index(index)
        self._lags[index] = lag
        if index not in self._crashed:
            self.relayers[index].tell_nowait(SetClientLag(lag=lag))

    def crashed(self, index: int) -> bool:
        """Whether relayer ``index`` is crashed (`crash_relayer`)."""
        return index in self._crashed

    def add_relayers(self, count: int) -> list[ActorRef[RelayerMsg]]:
        """Start ``count`` extra relayers on this path, racing the others (in relayer 0's
        actor system, so on its links' faults; each with a seed of its own). Redundant
        deliveries are refused by the chains' receipts and counted as the relayers'
        ``items_noop``. Returns the new references."""
        system = self._actor_systems[0]
        made: list[ActorRef[RelayerMsg]] = []
        for _ in range(count):
            self._extra_made += 1
            k = self._extra_made
            config = self._config(
                f"{self.systems[0]}-extra{k}", self._seed + 1_000 + k, faults=True
            )
            ref: ActorRef[RelayerMsg] = system.spawn(
                partial(Relayer, config), name=f"relayer-extra{k}", mailbox=Relayer.mailbox
            )
            made.append(ref)
        self.extra.extend(made)
        return made

    async def remove_relayers(self) -> list[RelayerStats]:
        """Stop the extra relayers of `add_relayers`; returns the counters of those that
        answered before stopping."""
        extra, self.extra = self.extra, []
        stats: list[RelayerStats] = []
        system = self._actor_systems[0]
        for ref in extra:
            with suppress(MeshActorsError, TimeoutError):
                stats.append(await ref.ask(RelayerStatus(), expect=RelayerStats, timeout=60.0))
            await system.stop(ref)
        return stats

    async def statistics(self) -> list[RelayerStats]:
        """Each relayer's counters (a relayer that does not answer is left out)."""
        out: list[RelayerStats] = []
        for relayer in self.relayers:
            try:
                out.append(await relayer.ask(RelayerStatus(), expect=RelayerStats, timeout=60.0))
            except (MeshActorsError, TimeoutError):
                continue
        return out

    def pause(self) -> None:
        """Stop relaying (I-22 pause); in-flight packets wait (and may time out)."""
        for relayer in self.relayers:
            relayer.tell_nowait(PauseRelaying())

    def resume(self) -> None:
        """Resume relaying; the relayers clear at once."""
        for relayer in self.relayers:
            relayer.tell_nowait(ResumeRelaying())

    async def clear(self) -> None:
        """Ask every relayer to clear now (answers that do not come are ignored)."""
        for relayer in self.relayers:
            try:
                await relayer.ask(ClearNow(), expect=ClearReport, timeout=60.0)
            except (MeshActorsError, TimeoutError):
                continue
