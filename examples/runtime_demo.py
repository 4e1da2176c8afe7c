"""Demo: two actor systems talking over a faulty network, and supervision at work.

Run with ``make demo-runtime`` (or ``python -m examples.runtime_demo [--seed N]``).
Everything runs in virtual time, so a minute of simulated retries takes a fraction of a
second, and the same seed prints the same story.

1. ``osmosis/sender`` sends 20 numbered transfers to ``juno/ledger`` across a link that drops
   15% of envelopes, duplicates 10%, delays them 50-400 ms and reorders 20%, with every
   envelope forced through the JSON codec. The sender retries unacknowledged transfers on a
   timer; the ledger applies each transfer exactly once, whatever arrives twice or late.
2. ``juno/supervisor`` runs a worker that crashes on every 4th job; the worker is restarted
   with exponential backoff (its mailbox, and so its queued jobs, survive the restarts) until
   its restart budget runs out and the failure escalates to the supervisor.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

import anyio
import structlog

from mesh_actors import (
    Actor,
    ActorFailed,
    ActorRef,
    ActorRestarted,
    ActorSystem,
    Backoff,
    Message,
    MessageRegistry,
    SupervisorStrategy,
    VirtualClock,
    handler,
)
from transport import FaultyNetwork, InMemoryNetwork, JsonCodec, LinkFaults, Uniform

TRANSFERS = 20


class Transfer(Message):
    type_name = "demo.transfer"
    seq: int
    amount: int


class Applied(Message):
    type_name = "demo.applied"
    seq: int


class Retry(Message):
    type_name = "demo.retry"


class Sends(Message):
    type_name = "demo.sends"


class Balance(Message):
    type_name = "demo.balance"


class Job(Message):
    type_name = "demo.job"
    n: int


class Done(Message):
    type_name = "demo.done"


class Ledger(Actor[Transfer | Balance]):
    """Applies each transfer once (by sequence number) and acknowledges every copy."""

    def __init__(self) -> None:
        self.applied: set[int] = set()
        self.balance = 0
        self.duplicates = 0

    @handler
    def transfer(self, msg: Transfer) -> None:
        if msg.seq in self.applied:
            self.duplicates += 1
        else:
            self.applied.add(msg.seq)
            self.balance += msg.amount
        sender = self.ctx.sender
        if sender is not None:
            sender.tell_nowait(Applied(seq=msg.seq))

    @handler
    def get(self, _: Balance) -> tuple[int, int, int]:
        return self.balance, len(self.applied), self.duplicates


class Sender(Actor[Applied | Retry | Sends]):
    """Sends every transfer, then re-sends the unacknowledged ones every second."""

    def __init__(self, ledger: ActorRef[Transfer], finished: anyio.Event) -> None:
        self.ledger = ledger
        self.finished = finished
        self.unacked = {seq: 10 * seq for seq in range(1, TRANSFERS + 1)}
        self.sends = 0

    async def on_start(self) -> None:
        self._send_all()
        self.ctx.timers.send_periodic("retry", 1.0, Retry())

    def _send_all(self) -> None:
        for seq, amount in self.unacked.items():
            self.sends += 1
            self.ledger.tell_nowait(Transfer(seq=seq, amount=amount))

    @handler
    def applied(self, msg: Applied) -> None:
        self.unacked.pop(msg.seq, None)
        if not self.unacked:
            self.ctx.timers.cancel("retry")
            self.finished.set()

    @handler
    def count(self, _: Sends) -> int:
        return self.sends

    @handler
    def retry(self, _: Retry) -> None:
        now = self.ctx.clock.now()
        print(f"  t={now:5.2f}s  sender: {len(self.unacked)} unacknowledged, re-sending")
        self._send_all()


class Worker(Actor[Job]):
    @handler
    def job(self, msg: Job) -> None:
        if msg.n % 4 == 0:
            raise RuntimeError(f"job {msg.n} is cursed")


class Supervisor(Actor[Done]):
    def __init__(self) -> None:
        self.worker: ActorRef[Job] | None = None

    async def on_start(self) -> None:
        strategy = SupervisorStrategy(
            max_restarts=3, within=60.0, backoff=Backoff(initial=0.5, factor=2.0)
        )
        self.worker = self.ctx.spawn(Worker, name="worker", strategy=strategy)

    @handler
    def done(self, _: Done) -> None:
        pass


def _print_link_table(network: FaultyNetwork) -> None:
    print("\n  link                 sent  delivered  dropped  duplicated  reordered  delayed")
    for (source, target), stats in sorted(network.statistics().items()):
        print(
            f"  {source + ' -> ' + target:<20} {stats.sent:>4} {stats.delivered:>10}"
            f" {stats.dropped:>8} {stats.duplicated:>11} {stats.reordered:>10}"
            f" {stats.delayed:>8}"
        )


async def main(seed: int) -> None:
    clock = VirtualClock()
    registry = MessageRegistry.from_subclasses()
    faults = LinkFaults(
        drop=0.15, duplicate=0.10, delay=Uniform(0.05, 0.4), reorder=0.2, reorder_delay=0.3
    )
    inner = InMemoryNetwork(codec=JsonCodec(registry), force_codec=True)
    print(f"mesh-actors demo (seed {seed}): two actor systems over a faulty in-memory link")
    print("  faults on every link: 15% drop, 10% duplicate, 50-400 ms delay, 20% reorder")
    print("  every envelope is encoded to JSON and decoded again on the way\n")
    async with (
        clock.autojump(),
        FaultyNetwork(inner, clock=clock, seed=seed, default=faults) as network,
        ActorSystem("osmosis", clock=clock, transport=network) as osmosis,
        ActorSystem("juno", clock=clock, transport=network) as juno,
    ):
        print("1. exactly-once transfers over a lossy, reordering link")
        ledger = juno.spawn(Ledger, name="ledger")
        finished = anyio.Event()
        sender = osmosis.spawn(lambda: Sender(osmosis.ref(ledger.address), finished), name="sender")
        await finished.wait()
        balance, applied, duplicates = await ledger.ask(Balance())
        sends = await sender.ask(Sends(), expect=int)
        expected = sum(10 * seq for seq in range(1, TRANSFERS + 1))
        print(
            f"  t={clock.now():5.2f}s  all {TRANSFERS} transfers acknowledged after {sends} sends;"
            f" ledger applied {applied}, ignored {duplicates} duplicates;"
            f" balance {balance} (expected {expected})"
        )
        _print_link_table(network)

        print("\n2. supervision: a worker that crashes on every 4th job")
        events = juno.events.subscribe(ActorFailed, ActorRestarted)
        supervisor = juno.spawn(Supervisor, name="supervisor")
        await supervisor.ask(Done())
        worker: Any = juno.lookup("supervisor/worker")
        for n in range(1, 17):
            worker.tell_nowait(Job(n=n))
        await clock.sleep(30)
        for event in events.drain():
            if isinstance(event, ActorFailed):
                print(
                    f"  t={event.time:5.2f}s  {event.address} failed:"
                    f" {event.error} -> {event.directive}"
                )
            elif isinstance(event, ActorRestarted):
                print(f"  t={event.time:5.2f}s  {event.address} restarted (#{event.count})")
        print(f"\n  live actors on juno: {', '.join(juno.actors())}")


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    # The demo narrates on its own; the runtime's error logs (each crash) would repeat it.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    anyio.run(main, args.seed)


if __name__ == "__main__":
    run()
