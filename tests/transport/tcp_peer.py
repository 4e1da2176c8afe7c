"""A peer process for the two-process TCP tests, and the messages both sides speak.

Run as a script it attaches one actor system to a `TcpNetwork`, spawns a `Bank` actor named
``bank`` and prints ``READY <port> <incarnation>`` once it serves; it runs until killed or
until its standard input closes::

    python tests/transport/tcp_peer.py --name b --port 0 --secret 6d65... [--peer a=127.0.0.1:7001]

The tests load this file as a module (``load_peer_module``) to share the message classes.
"""

from __future__ import annotations

import argparse
import sys

import anyio
import structlog

from mesh_actors import Actor, ActorSystem, Message, MessageRegistry, handler
from transport import JsonCodec, TcpNetwork


class Deposit(Message):
    """Told: add ``amount`` to ``account``."""

    type_name = "tests.tcp.Deposit"
    account: str
    amount: int


class GetBalance(Message):
    """Asked: answered with a `Balance`."""

    type_name = "tests.tcp.GetBalance"
    account: str


class Balance(Message):
    type_name = "tests.tcp.Balance"
    account: str
    amount: int


class Stall(Message):
    """Asked: the bank sleeps ``seconds`` before answering with a `Balance` of 0."""

    type_name = "tests.tcp.Stall"
    seconds: float


class Blob(Message):
    """Told: a message of any size; `Bank` records its tag in its log."""

    type_name = "tests.tcp.Blob"
    tag: str
    data: str


class GetLog(Message):
    type_name = "tests.tcp.GetLog"


class Log(Message):
    type_name = "tests.tcp.Log"
    entries: list[str]


PEER_MESSAGES: tuple[type[Message], ...] = (
    Deposit,
    GetBalance,
    Balance,
    Stall,
    Blob,
    GetLog,
    Log,
)


def codec(max_frame_size: int = 8 * 1024 * 1024) -> JsonCodec:
    """The codec both sides of the tests use."""
    return JsonCodec(MessageRegistry(PEER_MESSAGES), max_frame_size=max_frame_size)


class Bank(Actor[Deposit | GetBalance | Stall | Blob | GetLog]):
    def __init__(self) -> None:
        self._balances: dict[str, int] = {}
        self._log: list[str] = []

    @handler
    def on_deposit(self, message: Deposit) -> None:
        self._balances[message.account] = self._balances.get(message.account, 0) + message.amount
        self._log.append(f"deposit:{message.account}:{message.amount}")

    @handler
    def on_balance(self, message: GetBalance) -> Balance:
        return Balance(account=message.account, amount=self._balances.get(message.account, 0))

    @handler
    async def on_stall(self, message: Stall) -> Balance:
        await anyio.sleep(message.seconds)
        return Balance(account="", amount=0)

    @handler
    def on_blob(self, message: Blob) -> None:
        self._log.append(message.tag)

    @handler
    def on_log(self, message: GetLog) -> Log:
        return Log(entries=list(self._log))


async def _serve(args: argparse.Namespace) -> None:
    peers = {}
    for spec in args.peer:
        name, _, address = spec.partition("=")
        host, _, port = address.rpartition(":")
        peers[name] = (host, int(port))
    network = TcpNetwork(
        secret=bytes.fromhex(args.secret),
        ports={args.name: args.port},
        peers=peers,
        codec=codec(),
        heartbeat_interval=0.2,
        heartbeat_timeout=2.0,
        backoff_initial=0.02,
        backoff_max=0.2,
    )
    async with network, ActorSystem(args.name, transport=network) as system:
        system.spawn(Bank, name="bank")
        port = network.address(args.name)[1]
        print(f"READY {port} {network.incarnation(args.name)}", flush=True)
        # Until the parent closes our stdin (or kills us).
        await anyio.to_thread.run_sync(sys.stdin.read, abandon_on_cancel=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--secret", required=True, help="the shared secret, in hex")
    parser.add_argument("--peer", action="append", default=[], help="name=host:port")
    parser.add_argument("--backend", default="asyncio", choices=["asyncio", "trio"])
    args = parser.parse_args(argv)
    # Stdout carries READY to the parent, which reads nothing after it: logs go to stderr.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=sys.stderr))
    anyio.run(_serve, args, backend=args.backend)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
