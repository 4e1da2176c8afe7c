"""The ``mesh`` subcommands of a mesh of processes: genesis, node, relayer, up, tx.

::

    mesh genesis TOPOLOGY [--data DIR]
    mesh node --topology FILE --chain ID [--data DIR]
    mesh relayer --topology FILE --path A:B [--data DIR]
    mesh up TOPOLOGY [--data DIR] [--no-table]
    mesh tx --topology FILE [--data DIR] ACTION ARGS...

``genesis`` deploys the topology once in virtual time and writes every chain's state file,
the manifest and the key files to ``DIR`` (`chains.mesh._genesis`); ``node`` runs one chain
in real time from its state file (running genesis first if ``DIR`` has none, once, under a
lock); ``relayer`` runs the relayers of one linked pair; ``up`` runs them all as local
processes with a live status table, restarts nothing, and stops them all on Ctrl-C; ``tx``
signs a user's action with the user's key from ``DIR/keys`` and sends it to a running node,
or reads (``status``, ``stake``, ``virtual-stake``, ``check``), printing JSON.

``DIR`` defaults to ``mesh-data/<topology file stem>`` under the working directory. The
topology's ``[network]`` section says how processes meet (TCP addresses and the secret's
variable or file, or a NATS url).

Exit status: 0 done (``node``/``relayer``/``up``: stopped by SIGTERM); 1 a transaction or a
check failed, a process failed; 2 bad input (topology, options, a data directory of
another topology); 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import anyio
from rich.console import Console
from rich.live import Live
from rich.table import Table

from chains.contract._errors import ChainError
from chains.mesh._genesis import (
    MANIFEST_NAME,
    GenesisError,
    load_manifest,
    run_genesis,
)
from chains.mesh._network import NetworkConfigError
from chains.mesh._node import run_node, run_relayer
from chains.mesh._processes import MeshProcesses, ProcessesFailed, ProcessRow
from chains.mesh._remote import RemoteMesh
from chains.mesh._topology import Topology, load_topology
from chains.mesh._topology_errors import MeshConfigError
from mesh_actors import MeshActorsError, Message

__all__ = [
    "run_genesis_cli",
    "run_node_cli",
    "run_relayer_cli",
    "run_tx_cli",
    "run_up_cli",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_INTERRUPTED = 130
_LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
# seconds a node waits for another process's genesis in the same directory
_GENESIS_WAIT = 120.0


def _default_data(topology_file: Path) -> Path:
    return Path("mesh-data") / topology_file.stem


def _common(parser: argparse.ArgumentParser, *, positional: bool = False) -> None:
    if positional:
        parser.add_argument("topology", type=Path, help="topology file (TOML)")
    else:
        parser.add_argument("--topology", type=Path, required=True, help="topology file (TOML)")
    parser.add_argument(
        "--data", type=Path, help="data directory (default: mesh-data/<topology stem>)"
    )
    parser.add_argument(
        "--backend", choices=("asyncio", "trio"), default="asyncio", help="event loop (asyncio)"
    )
    parser.add_argument("--log-level", choices=_LOG_LEVELS, default="warning")
    parser.add_argument("--log-json", action="store_true", help="log as JSON lines")


def _parse(
    parser: argparse.ArgumentParser, words: Sequence[str], out: TextIO, err: TextIO
) -> argparse.Namespace | int:
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            return parser.parse_args(list(words))
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else EXIT_INVALID


def _load(args: argparse.Namespace, err: TextIO) -> tuple[Topology, Path] | int:
    try:
        topology = load_topology(args.topology)
    except MeshConfigError as exc:
        err.write(f"{exc}\n")
        return EXIT_INVALID
    data = args.data if args.data is not None else _default_data(args.topology)
    return topology, data


@contextlib.contextmanager
def _logging(args: argparse.Namespace, err: TextIO) -> Iterator[None]:
    # the same configuration as `mesh run` (stdlib logging carries structlog's events)
    from chains.mesh._cli import _logging_to  # _cli imports this module: import late

    with _logging_to(err, args.log_level, args.log_json):
        yield


def _run_until_signal(body: Callable[[], Any], backend: str) -> int:
    """Run ``body`` until it returns (0) or SIGTERM (0) / SIGINT (130) cancels it."""
    received: list[int] = []

    async def main() -> None:
        async with anyio.create_task_group() as tg:

            async def watch() -> None:
                with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                    async for signum in signals:
                        received.append(signum)
                        tg.cancel_scope.cancel()
                        return

            tg.start_soon(watch)
            await body()
            tg.cancel_scope.cancel()

    anyio.run(main, backend=backend)
    if received and received[0] == signal.SIGINT:
        return EXIT_INTERRUPTED
    return EXIT_OK


# -- genesis --------------------------------------------------------------------------------------


def run_genesis_cli(words: Sequence[str], *, stdout: TextIO, stderr: TextIO) -> int:
    """``mesh genesis``: see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="mesh genesis",
        description="Deploy a topology once (virtual time) and write its chains' state "
        "files, manifest and key files, for 'mesh node', 'mesh relayer' and 'mesh up'.",
    )
    _common(parser, positional=True)
    args = _parse(parser, words, stdout, stderr)
    if isinstance(args, int):
        return args
    loaded = _load(args, stderr)
    if isinstance(loaded, int):
        return loaded
    topology, data = loaded
    started = time.perf_counter()
    try:
        with _logging(args, stderr):
            anyio.run(run_genesis, topology, data, backend=args.backend)
    except GenesisError as exc:
        stderr.write(f"mesh genesis: {exc.detail}\n")
        return EXIT_INVALID
    except ChainError as exc:
        stderr.write(f"mesh genesis: {type(exc).__name__}: {exc}\n")
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    took = time.perf_counter() - started
    stdout.write(f"genesis of {topology.name or args.topology} in {data} ({took:.2f} s)\n")
    return EXIT_OK


def _genesis_once(topology: Topology, data: Path, backend: str) -> None:
    """Genesis in ``data`` unless there is one; one process of several does it (an
    exclusive lock file), the others wait for its manifest."""
    if (data / MANIFEST_NAME).exists():
        return
    data.mkdir(parents=True, exist_ok=True)
    lock = data / "genesis.lock"
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        deadline = time.monotonic() + _GENESIS_WAIT
        while not (data / MANIFEST_NAME).exists():
            if time.monotonic() > deadline:
                raise GenesisError(f"no genesis in {data} after {_GENESIS_WAIT:.0f} s") from None
            time.sleep(0.1)
        return
    try:
        anyio.run(run_genesis, topology, data, backend=backend)
    finally:
        os.close(fd)
        lock.unlink()


# -- node and relayer -----------------------------------------------------------------------------


def run_node_cli(words: Sequence[str], *, stdout: TextIO, stderr: TextIO) -> int:
    """``mesh node``: see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="mesh node",
        description="Run one chain of a topology as this process, in real time, from its "
        "state file (genesis first if the data directory has none).",
    )
    _common(parser)
    parser.add_argument("--chain", required=True, help="the chain id to run")
    args = _parse(parser, words, stdout, stderr)
    if isinstance(args, int):
        return args
    loaded = _load(args, stderr)
    if isinstance(loaded, int):
        return loaded
    topology, data = loaded
    if args.chain not in {c.id for c in topology.chains}:
        stderr.write(f"mesh node: the topology has no chain {args.chain!r}\n")
        return EXIT_INVALID
    base = args.topology.parent
    try:
        with _logging(args, stderr):
            _genesis_once(topology, data, args.backend)
            return _run_until_signal(
                lambda: run_node(topology, args.chain, data, base=base), args.backend
            )
    except (GenesisError, NetworkConfigError) as exc:
        stderr.write(f"mesh node: {exc.detail}\n")
        return EXIT_INVALID
    except (ChainError, OSError) as exc:
        stderr.write(f"mesh node: {type(exc).__name__}: {exc}\n")
        return EXIT_FAILED


def run_relayer_cli(words: Sequence[str], *, stdout: TextIO, stderr: TextIO) -> int:
    """``mesh relayer``: see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="mesh relayer",
        description="Run the relayers of one linked chain pair as this process.",
    )
    _common(parser)
    parser.add_argument("--path", required=True, help="the linked pair, A:B")
    parser.add_argument("--seed", type=int, default=0, help="seed of the relayers' choices")
    args = _parse(parser, words, stdout, stderr)
    if isinstance(args, int):
        return args
    loaded = _load(args, stderr)
    if isinstance(loaded, int):
        return loaded
    topology, data = loaded
    a, _, b = str(args.path).partition(":")
    if {a, b} not in [set(link) for link in topology.links()]:
        stderr.write(f"mesh relayer: the topology links no pair {args.path!r}\n")
        return EXIT_INVALID
    base = args.topology.parent
    try:
        with _logging(args, stderr):
            return _run_until_signal(
                lambda: run_relayer(topology, a, b, data, base=base, seed=args.seed), args.backend
            )
    except (GenesisError, NetworkConfigError) as exc:
        stderr.write(f"mesh relayer: {exc.detail}\n")
        return EXIT_INVALID


# -- up -------------------------------------------------------------------------------------------


def _table(title: str, rows: list[ProcessRow]) -> Table:
    table = Table(title=title)
    for column in ("process", "kind", "pid", "state", "height", "pending", "last error"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.name,
            row.kind,
            "" if row.pid is None else str(row.pid),
            row.state,
            "" if row.height is None else str(row.height),
            "" if row.pending is None else str(row.pending),
            row.last_error[-60:],
        )
    return table


def run_up_cli(words: Sequence[str], *, stdout: TextIO, stderr: TextIO) -> int:
    """``mesh up``: see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="mesh up",
        description="Run a whole topology as local processes (one per chain and per linked "
        "pair) with a live status table; Ctrl-C stops them all.",
    )
    _common(parser, positional=True)
    parser.add_argument("--no-table", action="store_true", help="print a line per change")
    args = _parse(parser, words, stdout, stderr)
    if isinstance(args, int):
        return args
    loaded = _load(args, stderr)
    if isinstance(loaded, int):
        return loaded
    topology, data = loaded
    try:
        with _logging(args, stderr):
            _genesis_once(topology, data, args.backend)
        load_manifest(data, topology)
    except GenesisError as exc:
        stderr.write(f"mesh up: {exc.detail}\n")
        return EXIT_INVALID
    except ChainError as exc:
        stderr.write(f"mesh up: {type(exc).__name__}: {exc}\n")
        return EXIT_FAILED
    # SIGTERM stops the processes as Ctrl-C does; Ctrl-C itself even where the shell that
    # started us ignores SIGINT (a background job of a script)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    processes = MeshProcesses(args.topology, topology, data)
    title = f"mesh up: {topology.name or args.topology} ({data})"
    try:
        processes.start()
        console = Console(file=stdout)
        if args.no_table:
            shown: dict[str, str] = {}
            while True:
                for row in processes.rows():
                    if shown.get(row.name) != row.state:
                        shown[row.name] = row.state
                        stdout.write(f"{row.name}: {row.state}\n")
                        stdout.flush()
                time.sleep(0.5)
        with Live(_table(title, list(processes.rows())), console=console) as live:
            while True:
                time.sleep(0.5)
                live.update(_table(title, list(processes.rows())))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except ProcessesFailed as exc:
        stderr.write(f"mesh up: {exc.detail}\n")
        return EXIT_FAILED
    finally:
        processes.stop()
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


# -- tx -------------------------------------------------------------------------------------------

_ACTIONS: dict[str, tuple[str, ...]] = {
    "status": (),
    "bond": ("chain", "user", "amount"),
    "unbond": ("chain", "user", "amount"),
    "cross-stake": ("provider", "consumer", "user", "validator", "amount"),
    "unstake": ("provider", "consumer", "user", "validator", "amount"),
    "claim-rewards": ("provider", "consumer", "user", "validator"),
    "stake": ("provider", "consumer", "user", "validator"),
    "virtual-stake": ("provider", "consumer"),
    "collateral": ("chain", "user"),
    "check": (),
}


def _json(value: Any) -> Any:
    if isinstance(value, Message):
        return value.model_dump(mode="json")
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    return value


async def _tx(
    topology: Topology, data: Path, base: Path, action: str, values: list[str], quiescent: bool
) -> tuple[bool, Any]:
    async with RemoteMesh.connect(topology, data, base=base) as remote:
        if action == "status":
            statuses = [await remote.status(c.id) for c in topology.chains]
            return True, _json(statuses)
        if action == "check":
            if quiescent and not await remote.settled():
                return False, ["not quiescent within 60 s"]
            violations = await remote.check_invariants(quiescent=quiescent)
            return not violations, violations
        if action in ("bond", "unbond"):
            method = remote.bond if action == "bond" else remote.unbond
            result = await method(values[0], values[1], int(values[2]))
        elif action in ("cross-stake", "unstake"):
            method2 = remote.cross_stake if action == "cross-stake" else remote.unstake
            result = await method2(values[0], values[1], values[2], values[3], int(values[4]))
        elif action == "claim-rewards":
            result = await remote.claim_rewards(*values)
        elif action == "stake":
            return True, _json(await remote.stake(*values))
        elif action == "virtual-stake":
            return True, _json(await remote.virtual_stake(*values))
        else:  # collateral
            return True, _json(await remote.collateral(*values))
        return result.ok, _json(result)


def run_tx_cli(words: Sequence[str], *, stdout: TextIO, stderr: TextIO) -> int:
    """``mesh tx``: see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="mesh tx",
        description="Sign a user's action with its key and send it to a running node, or "
        "read from the running nodes; prints JSON. Actions: "
        + "; ".join(f"{a} {' '.join(v.upper() for v in p)}".strip() for a, p in _ACTIONS.items()),
    )
    _common(parser)
    parser.add_argument("action", choices=sorted(_ACTIONS))
    parser.add_argument("values", nargs="*")
    parser.add_argument("--quiescent", action="store_true", help="check: wait for quiescence")
    args = _parse(parser, words, stdout, stderr)
    if isinstance(args, int):
        return args
    wanted = _ACTIONS[args.action]
    if len(args.values) != len(wanted):
        stderr.write(f"mesh tx {args.action}: expected {' '.join(wanted).upper() or 'nothing'}\n")
        return EXIT_INVALID
    loaded = _load(args, stderr)
    if isinstance(loaded, int):
        return loaded
    topology, data = loaded
    try:
        with _logging(args, stderr):
            ok, document = anyio.run(
                _tx,
                topology,
                data,
                args.topology.parent,
                args.action,
                list(args.values),
                args.quiescent,
                backend=args.backend,
            )
    except (GenesisError, NetworkConfigError) as exc:
        stderr.write(f"mesh tx: {exc.detail}\n")
        return EXIT_INVALID
    except ValueError as exc:
        stderr.write(f"mesh tx: {exc}\n")
        return EXIT_INVALID
    except (ChainError, MeshActorsError, OSError, TimeoutError) as exc:
        stderr.write(f"mesh tx: {type(exc).__name__}: {exc}\n")
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    stdout.write(json.dumps(document, indent=2) + "\n")
    return EXIT_OK if ok else EXIT_FAILED
