"""A whole topology as local processes: the supervisor behind ``mesh up``.

`MeshProcesses` starts one ``mesh node`` process per chain and one ``mesh relayer`` process
per linked pair, each in a session of its own (so a Ctrl-C at the terminal reaches the
supervisor alone, which then stops its children in order), with their output in
``<data>/logs/<name>.log``. It restarts nothing by itself: a process that exits stays
down, and its row says so; `restart` brings one back (tests use it after a SIGKILL).
`rows` joins each process's state with the status file it writes
(`chains.mesh._node.status_path`): height, pending packets, last error.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from chains.mesh._errors import MeshError
from chains.mesh._node import status_path
from chains.mesh._topology import Topology

__all__ = ["MeshProcesses", "ProcessRow", "ProcessSpec", "ProcessesFailed", "mesh_command"]

# the folder `chains` was imported from
_CODE_ROOT = str(Path(__file__).resolve().parents[2])
# seconds a terminated child may take to stop before it is killed
_STOP_GRACE = 10.0
# a status file older than this many seconds is shown as stale
_STALE = 5.0


class ProcessesFailed(MeshError):
    """A process of the mesh could not be started or did not come up: ``detail`` says
    which and why (its log file has the rest)."""

    fields = ("detail",)
    detail: str

    def __init__(self, detail: str) -> None:
        super().__init__(detail)


def mesh_command(*words: str) -> list[str]:
    """The command line that runs ``mesh WORDS...`` with this interpreter (the console
    script may not be on ``PATH``; the interpreter is)."""
    bootstrap = "import sys; from chains.mesh._cli import main; sys.exit(main())"
    return [sys.executable, "-c", bootstrap, *words]


@dataclass(frozen=True)
class ProcessSpec:
    """One process of the mesh: its name (a chain id or ``relayer-A-B``), kind and
    ``mesh`` arguments."""

    name: str
    kind: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class ProcessRow:
    """What ``mesh up`` shows of one process."""

    name: str
    kind: str
    pid: int | None
    state: str
    height: int | None
    pending: int | None
    last_error: str


class MeshProcesses:
    """The processes of ``topology`` (a file, which the children read too) with their
    state in ``data_dir`` (see the module docstring). Use it as a context manager: leaving
    it stops every process (`stop`)."""

    def __init__(
        self,
        topology_file: str | os.PathLike[str],
        topology: Topology,
        data_dir: str | os.PathLike[str],
        *,
        env: dict[str, str] | None = None,
    ) -> None:
        self.topology_file = Path(topology_file)
        self.topology = topology
        self.data_dir = Path(data_dir)
        self._env = env
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: dict[str, IO[bytes]] = {}
        self.specs: dict[str, ProcessSpec] = {}
        common = ("--topology", str(self.topology_file), "--data", str(self.data_dir))
        for chain in topology.chains:
            self.specs[chain.id] = ProcessSpec(
                chain.id, "node", ("node", *common, "--chain", chain.id)
            )
        for a, b in topology.links():
            name = f"relayer-{a}-{b}"
            self.specs[name] = ProcessSpec(
                name, "relayer", ("relayer", *common, "--path", f"{a}:{b}")
            )

    def __enter__(self) -> MeshProcesses:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, names: Sequence[str] | None = None) -> None:
        """Start the named processes (default: all, chains first). Raises
        `ProcessesFailed` if one cannot be spawned."""
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for name in names if names is not None else list(self.specs):
            spec = self.specs[name]
            log = self._logs.get(name)
            if log is None:
                log = self._logs[name] = (logs / f"{name}.log").open("ab")
            env = dict(os.environ if self._env is None else self._env)
            # the children run the code this process runs, wherever it was imported from
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (_CODE_ROOT, env.get("PYTHONPATH", "")) if p
            )
            try:
                self._procs[name] = subprocess.Popen(
                    mesh_command(*spec.args),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
            except OSError as exc:
                raise ProcessesFailed(f"{name}: {exc}") from exc

    def pid(self, name: str) -> int | None:
        """The pid of process ``name`` while it runs."""
        proc = self._procs.get(name)
        return proc.pid if proc is not None and proc.poll() is None else None

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` (SIGKILL by default) to process ``name`` and reap it."""
        proc = self._procs.get(name)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        proc.wait()

    def restart(self, name: str) -> None:
        """Start process ``name`` again (after it exited or was killed)."""
        if self.pid(name) is not None:
            raise ProcessesFailed(f"{name} is still running (pid {self.pid(name)})")
        self.start([name])

    def stop(self) -> None:
        """Terminate every process (SIGTERM; SIGKILL after a grace period), relayers first,
        and wait for them; idempotent."""
        order = sorted(self._procs, key=lambda n: self.specs[n].kind != "relayer")
        for name in order:
            proc = self._procs[name]
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + _STOP_GRACE
        for name in order:
            proc = self._procs[name]
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self._logs.values():
            log.close()
        self._logs.clear()

    def exited(self) -> dict[str, int]:
        """The processes that exited, with their exit status."""
        out: dict[str, int] = {}
        for name, proc in self._procs.items():
            code = proc.poll()
            if code is not None:
                out[name] = code
        return out

    # -- status ---------------------------------------------------------------------------

    def _status(self, name: str) -> dict[str, Any]:
        try:
            document: dict[str, Any] = json.loads(
                status_path(self.data_dir, name).read_text(encoding="utf-8")
            )
        except (OSError, ValueError):
            return {}
        return document

    def rows(self) -> Iterator[ProcessRow]:
        """One row per process (see the module docstring)."""
        now = time.time()
        for name, spec in self.specs.items():
            proc = self._procs.get(name)
            code = None if proc is None else proc.poll()
            status = self._status(name)
            if proc is None:
                state = "not started"
            elif code is not None:
                state = f"exited {code}" if code >= 0 else f"killed ({signal.Signals(-code).name})"
            elif status.get("pid") != proc.pid:
                state = "starting"
            elif now - float(status.get("updated", 0)) > _STALE:
                state = "stale"
            else:
                state = "running"
            fresh = proc is not None and status.get("pid") == proc.pid
            yield ProcessRow(
                name=name,
                kind=spec.kind,
                pid=None if proc is None or code is not None else proc.pid,
                state=state,
                height=status.get("height") if fresh else None,
                pending=status.get("pending_packets") if fresh else None,
                last_error=str(status.get("last_error", "")) if fresh else "",
            )

    def wait_running(self, timeout: float = 60.0, names: Sequence[str] | None = None) -> None:
        """Block until the named processes (default: all) write their first status.
        Raises `ProcessesFailed` if one exits first or ``timeout`` seconds pass."""
        wanted = set(names if names is not None else self.specs)
        deadline = time.monotonic() + timeout
        while True:
            rows = {r.name: r for r in self.rows() if r.name in wanted}
            down = {n: r.state for n, r in rows.items() if r.state.startswith(("exited", "killed"))}
            if down:
                raise ProcessesFailed(
                    ", ".join(
                        f"{n} {s} (see {self.data_dir}/logs/{n}.log)" for n, s in down.items()
                    )
                )
            if all(r.state == "running" for r in rows.values()):
                return
            if time.monotonic() > deadline:
                late = sorted(n for n, r in rows.items() if r.state != "running")
                raise ProcessesFailed(f"not running after {timeout:.0f} s: {', '.join(late)}")
            time.sleep(0.1)
